"""Minimal safetensors reader/writer (stdlib struct + json, NumPy).

Format: 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__"?: {str: str}},
then the data blob; offsets are relative to the start of the blob, tensors are
row-major little-endian.
"""

import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def dtype_name(array):
    """The safetensors dtype name of a NumPy array."""
    dt = np.dtype(array.dtype)
    for name, d in _DTYPES.items():
        if d.kind == dt.kind and d.itemsize == dt.itemsize:
            return name
    raise ValueError(f"unsupported dtype {array.dtype}")


def save(path, tensors, metadata=None):
    """Writes {name: ndarray} to `path` (tensors stored in name order)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        dt = dtype_name(a)
        data = np.ascontiguousarray(a, dtype=_DTYPES[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the blob starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def load(path, with_metadata=False):
    """Reads a safetensors file into {name: ndarray} (and its metadata if asked)."""
    with open(path, "rb") as f:
        raw = f.read()
    assert len(raw) >= 8, f"{path}: too short for a safetensors header"
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), f"{path}: header length {n} past the end of the file"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    assert isinstance(header, dict), f"{path}: header is not a JSON object"
    blob = memoryview(raw)[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dt = _DTYPES.get(info["dtype"])
        assert dt is not None, f"{path}: {name}: unsupported dtype {info['dtype']}"
        shape = tuple(int(s) for s in info["shape"])
        begin, end = (int(x) for x in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64))
        assert 0 <= begin <= end <= len(blob), f"{path}: {name}: offsets out of range"
        assert end - begin == count * dt.itemsize, f"{path}: {name}: size mismatch"
        tensors[name] = np.frombuffer(blob[begin:end], dtype=dt).reshape(shape).copy()
    return (tensors, metadata) if with_metadata else tensors
