#!/usr/bin/env python3
"""Checks a safetensors file written by the C++ runtime, independently of it.

Reads the file with struct and json (stdlib only) and checks that it holds
exactly EXPECTED_TENSORS and EXPECTED_METADATA of write_safetensors_fixtures
and follows the layout the Python library writes and its strict reader
requires: header padded with spaces to a multiple of 8, __metadata__ first,
a blob covered by the tensors with no gaps, tensors ordered by element size
(largest first) then name, so that each starts aligned to its element size.

Usage: check_safetensors_file.py FILE        (exit status 0 when it passes)
"""

import json
import struct
import sys

from write_safetensors_fixtures import EXPECTED_METADATA, EXPECTED_TENSORS

ELEMENT_SIZES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2,
                 "BF16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class CheckFailure(Exception):
    pass


def expect(condition, message):
    # Not `assert`, which python -O would drop.
    if not condition:
        raise CheckFailure(message)


def check(path):
    with open(path, "rb") as file:
        contents = file.read()
    (header_length,) = struct.unpack("<Q", contents[:8])
    expect(header_length % 8 == 0, f"header length {header_length} % 8 != 0")
    header_bytes = contents[8:8 + header_length]
    expect(len(header_bytes) == header_length, "truncated header")
    text = header_bytes.decode("utf-8")
    body = text.rstrip(" ")
    expect(body.endswith("}") and len(text) - len(body) < 8,
           "the header is not a JSON object padded with fewer than 8 spaces")
    header = json.loads(body)
    blob = contents[8 + header_length:]

    keys = list(header)
    expect(keys[0] == "__metadata__", f"__metadata__ is not first: {keys}")
    expect(header.pop("__metadata__") == EXPECTED_METADATA, "metadata differs")

    expected = {name: (dtype, shape, data)
                for name, dtype, shape, data in EXPECTED_TENSORS}
    expect(sorted(header) == sorted(expected),
           f"tensor names differ: {sorted(header)}")

    end_of_previous = 0
    by_offset = sorted(header.items(), key=lambda item: item[1]["data_offsets"])
    for name, info in by_offset:
        dtype, shape, data = expected[name]
        begin, end = info["data_offsets"]
        expect(info["dtype"] == dtype, f"{name}: dtype {info['dtype']}")
        expect(info["shape"] == shape, f"{name}: shape {info['shape']}")
        expect(begin == end_of_previous, f"{name}: gap or overlap at {begin}")
        expect(begin % ELEMENT_SIZES[dtype] == 0, f"{name}: misaligned")
        expect(blob[begin:end] == data, f"{name}: data differs")
        end_of_previous = end
    expect(end_of_previous == len(blob), "bytes after the last tensor")

    order = [name for name, _ in by_offset]
    wanted = sorted(order, key=lambda name: (-ELEMENT_SIZES[expected[name][0]],
                                             name))
    expect(order == wanted, f"blob order {order}, expected {wanted}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_safetensors_file.py FILE")
    try:
        check(sys.argv[1])
    except CheckFailure as error:
        sys.exit(f"{sys.argv[1]}: {error}")
    print(f"{sys.argv[1]}: OK")


if __name__ == "__main__":
    main()
