#!/usr/bin/env python3
"""Writes safetensors files for the runtime's unit tests.

Independent of the C++ code on purpose: it builds every file byte by byte
with struct and json (stdlib only), so the C++ reader is checked against a
second implementation of the format, not against itself.

Usage: write_safetensors_fixtures.py OUTPUT_DIR

Good files hold EXPECTED_TENSORS and EXPECTED_METADATA (also used by
check_safetensors_file.py); each bad file has exactly one problem, named by
the file.
"""

import json
import os
import struct
import sys

# (name, dtype, shape, little-endian bytes). Float16 and bfloat16 values are
# given as bit patterns, since struct has no bfloat16.
EXPECTED_TENSORS = [
    ("encoder.0.w", "F32", [2, 3],
     struct.pack("<6f", 0.0, 1.0, -2.5, 3.25, 1024.0, -0.125)),
    # 1.0, -3.0, 3.140625, 0.0
    ("encoder.0.bf16", "BF16", [4],
     struct.pack("<4H", 0x3F80, 0xC040, 0x4049, 0x0000)),
    # 1.0, -2.0, 0.333251953125, 65504.0 (the largest finite f16)
    ("encoder.0.f16", "F16", [2, 2],
     struct.pack("<4H", 0x3C00, 0xC000, 0x3555, 0x7BFF)),
    ("counts", "I32", [3], struct.pack("<3i", -1, 0, 2147483647)),
    ("step_ids", "I64", [2],
     struct.pack("<2q", -9223372036854775808, 1234567890123)),
    ("f64", "F64", [2], struct.pack("<2d", 0.1, -1e300)),
    ("i8", "I8", [3], struct.pack("<3b", -128, 0, 127)),
    ("u8", "U8", [3], bytes([0, 128, 255])),
    ("mask", "BOOL", [3], bytes([1, 0, 1])),
    ("scalar", "F32", [], struct.pack("<f", 42.5)),
    ("empty", "F32", [0, 4], b""),
]

# The non-ASCII characters reach the file as \\u escapes (json.dumps escapes
# by default), including a surrogate pair for the emoji.
EXPECTED_METADATA = {
    "format": "pt",
    "step": "100",
    "note": "h\u00e9llo \u2603 \U0001F600 \"quoted\"\n",
}


def pack_file(header, blob, pad=True):
    """The bytes of a safetensors file; header is a str or a dict."""
    if not isinstance(header, str):
        header = json.dumps(header)
    header_bytes = header.encode("utf-8")
    if pad:
        header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + blob


def good_file():
    """EXPECTED_TENSORS with the blob in reverse header order, so that a
    reader that ignores data_offsets fails."""
    header = {"__metadata__": EXPECTED_METADATA}
    blob = b""
    for name, dtype, shape, data in reversed(EXPECTED_TENSORS):
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    header = dict(sorted(header.items()))
    return pack_file(header, blob)


def entry(dtype="F32", shape=(4,), offsets=(0, 16)):
    """A tensor entry; json writes tuples as arrays and other values as is."""
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


def one_tensor(name="a", blob_size=16, **fields):
    return pack_file({name: entry(**fields)}, bytes(range(blob_size)))


def good_files():
    return {
        "good.safetensors": good_file(),
        "no_tensors.safetensors": pack_file({}, b""),
        "metadata_only.safetensors":
            pack_file({"__metadata__": {"k": "v"}}, b""),
        # Padding is what writers do, not what readers may require.
        "unpadded_header.safetensors": pack_file(
            '{"x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}',
            struct.pack("<i", 7), pad=False),
    }


def bad_files():
    good = good_file()
    duplicate = ('{"a": ' + json.dumps(entry()) + ', "a": '
                 + json.dumps(entry()) + '}')
    return {
        "too_short.safetensors": b"\x10\x00\x00",
        "header_truncated.safetensors":
            struct.pack("<Q", 200) + b'{"a": {"dtype": "F32"',
        "header_length_absurd.safetensors":
            struct.pack("<Q", 1 << 40) + b"{}      ",
        "bad_json.safetensors": pack_file(
            '{"a": {"dtype": "F32", "shape": [4] "data_offsets": [0, 16]}}',
            bytes(16)),
        "bad_json_unterminated.safetensors":
            pack_file('{"a": {"dtype": "F32', b""),
        "empty_header.safetensors": struct.pack("<Q", 0),
        "deep_nesting.safetensors":
            pack_file('{"a": ' + "[" * 100000, b""),
        "header_not_object.safetensors": pack_file("[1, 2, 3]", b""),
        "entry_not_object.safetensors": pack_file({"a": 5}, b""),
        "missing_dtype.safetensors": pack_file(
            {"a": {"shape": [4], "data_offsets": [0, 16]}}, bytes(16)),
        "missing_data_offsets.safetensors": pack_file(
            {"a": {"dtype": "F32", "shape": [4]}}, bytes(16)),
        "dtype_not_string.safetensors": one_tensor(dtype=4),
        "shape_not_array.safetensors": one_tensor(shape="4"),
        "shape_not_integers.safetensors": one_tensor(shape=(2, 2.5)),
        "offsets_wrong_arity.safetensors": one_tensor(offsets=(0,)),
        "offsets_negative.safetensors": one_tensor(offsets=(-4, 12)),
        "unknown_dtype.safetensors": one_tensor(dtype="Q4"),
        "negative_dim.safetensors": one_tensor(shape=(-2, 2)),
        "shape_overflow.safetensors":
            one_tensor(shape=(1 << 62, 1 << 62)),
        "offsets_out_of_range.safetensors": one_tensor(
            name="encoder.0.w", shape=(25,), offsets=(0, 100), blob_size=64),
        "truncated_blob.safetensors": good[:-10],
        "begin_after_end.safetensors": one_tensor(shape=(0,), offsets=(8, 4)),
        "size_mismatch.safetensors": one_tensor(shape=(2,), offsets=(0, 12)),
        "overlapping.safetensors": pack_file(
            {"a": entry(offsets=(0, 16)), "b": entry(offsets=(8, 24))},
            bytes(24)),
        "duplicate_key.safetensors": pack_file(duplicate, bytes(16)),
        "metadata_not_object.safetensors":
            pack_file({"__metadata__": ["step", "100"]}, b""),
        "non_string_metadata.safetensors":
            pack_file({"__metadata__": {"step": 100}}, b""),
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: write_safetensors_fixtures.py OUTPUT_DIR")
    output_dir = sys.argv[1]
    os.makedirs(output_dir, exist_ok=True)
    files = {**good_files(), **bad_files()}
    for name, contents in files.items():
        with open(os.path.join(output_dir, name), "wb") as output:
            output.write(contents)
    print(f"wrote {len(files)} files to {output_dir}")


if __name__ == "__main__":
    main()
