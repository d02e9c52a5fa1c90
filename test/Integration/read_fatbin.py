#!/usr/bin/env python3
"""Lists the GPU code embedded in an executable, without cuobjdump.

smxc --target=cuda embeds the kernels as a CUDA fatbin: a header (magic
0xBA55ED50, version, header size, payload size) followed by entries, each
with a kind (1 PTX, 2 ELF cubin), its header size, its payload size and the
architecture it targets. For each cubin this reads the ELF itself (machine
EM_CUDA = 190, the SM version in bits 8-15 of e_flags, as readelf shows
it) and prints one line per entry: "cubin sm_90 (ELF, EM_CUDA)" or
"ptx sm_90". Exits 1 if the file holds no fatbin.
"""

import struct
import sys

FATBIN_MAGIC = 0xBA55ED50
KIND_PTX, KIND_ELF = 1, 2
EM_CUDA = 190


def entries(data, start):
    _, _, header_size, size = struct.unpack_from("<IHHQ", data, start)
    offset, end = start + header_size, start + header_size + size
    while offset < end:
        kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, offset)
        arch = struct.unpack_from("<I", data, offset + 28)[0]
        body = data[offset + entry_header: offset + entry_header + payload]
        yield kind, arch, body
        offset += entry_header + payload


def describe(kind, arch, body):
    if kind == KIND_PTX:
        return f"ptx sm_{arch}"
    if kind != KIND_ELF:
        return f"entry of kind {kind} for sm_{arch}"
    if body[:4] != b"\x7fELF":
        return f"cubin sm_{arch} (compressed: ELF not readable)"
    machine = struct.unpack_from("<H", body, 18)[0]
    flags = struct.unpack_from("<I", body, 48)[0]
    elf_arch = (flags >> 8) & 0xFF
    kind_name = "EM_CUDA" if machine == EM_CUDA else f"machine {machine}"
    return f"cubin sm_{elf_arch} (ELF, {kind_name}; fatbin entry sm_{arch})"


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} EXECUTABLE")
    data = open(sys.argv[1], "rb").read()
    start = data.find(struct.pack("<I", FATBIN_MAGIC))
    if start < 0:
        sys.exit(f"{sys.argv[1]}: no CUDA fatbin in this file")
    while start >= 0:
        for kind, arch, body in entries(data, start):
            print(describe(kind, arch, body))
        _, _, header_size, size = struct.unpack_from("<IHHQ", data, start)
        start = data.find(struct.pack("<I", FATBIN_MAGIC),
                          start + header_size + size)


if __name__ == "__main__":
    main()
