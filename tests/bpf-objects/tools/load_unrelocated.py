#!/usr/bin/env python3
"""Load one program section exactly as the ELF file has it (no relocations,
no CO-RE) and report whether the kernel accepts it.

verify.sh uses it to show that core_reloc.o is only correct after CO-RE
patching: unpatched, its context load is at offset 0 and must be rejected.
A developer aid only (run as root).

Usage: load_unrelocated.py OBJECT SECTION {accept|reject}
"""

import sys

import bpfsys as b
from load_legacy import sections


def main(path, section, want):
    elf = open(path, "rb").read()
    secs, _ = sections(elf)
    sec = next(s for s in secs if s["name"] == section)
    insns = elf[sec["off"]:sec["off"] + sec["size"]]
    try:
        b.prog_load(b.PROG_TYPE_SK_LOOKUP, insns, b"GPL", b.ATTACH_SK_LOOKUP)
        got, why = "accept", ""
    except b.BpfError as e:
        lines = [l for l in e.log.splitlines() if l.strip()]
        got, why = "reject", f"{e.strerror}: {lines[-2] if len(lines) > 1 else ''}"
    print(f"{section} as compiled: {got} {why}")
    sys.exit(0 if got == want else 1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
