#!/usr/bin/env python3
"""Load legacy_maps.o the old way and run it once, to show the kernel accepts it.

libbpf 1.0+ (so bpftool) refuses objects with a legacy "maps" section, so
verify.sh uses this instead: it reads the ELF by hand, creates each map from
its 20-byte struct bpf_map_def, patches the ld_imm64 instructions that the
R_BPF_64_64 relocations point at (src_reg = BPF_PSEUDO_MAP_FD, imm = map fd),
loads the program as BPF_PROG_TYPE_SK_LOOKUP and test-runs it once.

A developer aid only (run as root); it creates no link and pins nothing.
"""

import struct
import sys

import bpfsys as b


def sections(elf):
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    hdrs = []
    for i in range(shnum):
        name, typ, _flags, _addr, off, size, link, info, _align, entsize = \
            struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize)
        hdrs.append(dict(name=name, type=typ, off=off, size=size, link=link,
                         info=info, entsize=entsize))
    strtab = hdrs[shstrndx]

    def cstr(tab, off):
        start = tab["off"] + off
        return elf[start:elf.index(b"\0", start)].decode()

    for h in hdrs:
        h["name"] = cstr(strtab, h["name"])
    return hdrs, cstr


def main(path):
    elf = open(path, "rb").read()
    secs, cstr = sections(elf)
    by_name = {s["name"]: (i, s) for i, s in enumerate(secs)}
    symtab = next(s for s in secs if s["type"] == 2)   # SHT_SYMTAB
    strtab = secs[symtab["link"]]
    syms = []
    for off in range(symtab["off"], symtab["off"] + symtab["size"], 24):
        name, info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", elf, off)
        syms.append(dict(name=cstr(strtab, name), shndx=shndx, value=value, size=size))

    maps_idx, maps = by_name["maps"]
    map_fds = {}
    for s in syms:
        if s["shndx"] == maps_idx and s["size"] == 20:
            mtype, ksize, vsize, maxent, flags = struct.unpack_from(
                "<5I", elf, maps["off"] + s["value"])
            map_fds[s["name"]] = b.map_create(mtype, ksize, vsize, maxent, flags)
            print(f"map {s['name']}: type {mtype} key {ksize} value {vsize} "
                  f"max {maxent} -> fd {map_fds[s['name']]}")

    prog_idx, prog = by_name["sk_lookup/legacy_select"]
    insns = bytearray(elf[prog["off"]:prog["off"] + prog["size"]])
    _, rel = by_name[".relsk_lookup/legacy_select"]
    for off in range(rel["off"], rel["off"] + rel["size"], 16):
        r_offset, r_info = struct.unpack_from("<QQ", elf, off)
        sym, rtype = syms[r_info >> 32], r_info & 0xFFFFFFFF
        assert rtype == 1, f"unexpected relocation type {rtype}"   # R_BPF_64_64
        insns[r_offset + 1] = (insns[r_offset + 1] & 0x0F) | (b.PSEUDO_MAP_FD << 4)
        struct.pack_into("<i", insns, r_offset + 4, map_fds[sym["name"]])

    _, lic = by_name["license"]
    license_ = elf[lic["off"]:lic["off"] + lic["size"]].rstrip(b"\0")
    try:
        fd = b.prog_load(b.PROG_TYPE_SK_LOOKUP, bytes(insns), license_,
                         b.ATTACH_SK_LOOKUP, b"legacy_select")
    except b.BpfError as e:
        print(e.log[-2000:])
        raise
    print(f"legacy_select loaded: fd {fd}")

    ctx = bytearray(72)
    struct.pack_into("<II", ctx, 8, 2, 6)            # AF_INET, TCP
    struct.pack_into("<I", ctx, 60, 7007)             # local_port
    verdict, _ = b.test_run(fd, bytes(ctx))
    hits, = struct.unpack("<Q", b.map_lookup(map_fds["legacy_hits"], bytes(4), 8))
    print(f"test run: verdict {verdict}, legacy_hits[0] = {hits}")
    if verdict != 1 or hits != 1:
        sys.exit("unexpected result")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "legacy_maps.o")
