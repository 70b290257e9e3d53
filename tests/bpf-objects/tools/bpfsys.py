"""Minimal bpf(2) wrappers over ctypes, for checking the test objects by hand.

A developer aid only: the product and its tests never use this. It knows just
the commands that verify.sh and check_scenarios.py need, with the bpf_attr
layouts written out by offset (see include/uapi/linux/bpf.h).
"""

import ctypes
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

NR_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]

# Commands
MAP_CREATE, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM = 0, 1, 2
PROG_LOAD, OBJ_GET, PROG_TEST_RUN = 5, 7, 10
OBJ_GET_INFO_BY_FD, PROG_QUERY = 15, 16
LINK_CREATE, LINK_DETACH = 28, 34

# Types and constants
PROG_TYPE_SK_LOOKUP = 30
ATTACH_SK_LOOKUP = 36
MAP_TYPE_ARRAY, MAP_TYPE_SOCKMAP = 2, 15
ANY, NOEXIST = 0, 1
PSEUDO_MAP_FD = 1

ATTR_SIZE = 128


class BpfError(OSError):
    """A failed bpf(2) call; .log holds the verifier log for PROG_LOAD."""

    def __init__(self, errno_, what, log=""):
        super().__init__(errno_, f"{what}: {os.strerror(errno_)}")
        self.log = log


def _buf(data):
    b = ctypes.create_string_buffer(bytes(data), max(len(data), 1))
    return b, ctypes.addressof(b)


def bpf(cmd, attr, what="bpf", log=""):
    """Run bpf(cmd, attr). attr is a bytearray, updated in place on return."""
    raw = ctypes.create_string_buffer(bytes(attr), len(attr))
    r = _libc.syscall(NR_BPF, cmd, raw, len(attr))
    attr[:] = raw.raw
    if r < 0:
        e = ctypes.get_errno()
        raise BpfError(e, what, log() if callable(log) else log)
    return r


def map_create(map_type, key_size, value_size, max_entries, flags=0):
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<5I", a, 0, map_type, key_size, value_size, max_entries, flags)
    return bpf(MAP_CREATE, a, "MAP_CREATE")


def map_update(fd, key, value, flags=ANY):
    kb, ka = _buf(key)
    vb, va = _buf(value)
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<I4xQQQ", a, 0, fd, ka, va, flags)
    bpf(MAP_UPDATE_ELEM, a, "MAP_UPDATE_ELEM")


def map_lookup(fd, key, value_size):
    kb, ka = _buf(key)
    vb, va = _buf(bytes(value_size))
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<I4xQQ", a, 0, fd, ka, va)
    bpf(MAP_LOOKUP_ELEM, a, "MAP_LOOKUP_ELEM")
    return vb.raw[:value_size]


def obj_get(path):
    pb, pa = _buf(path.encode() + b"\0")
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<Q", a, 0, pa)
    return bpf(OBJ_GET, a, f"OBJ_GET {path}")


def prog_load(prog_type, insns, license_=b"GPL", attach_type=0, name=b""):
    """Load raw instructions. Raises BpfError with the verifier log on rejection."""
    ib, ia = _buf(insns)
    lb, la = _buf(license_ + b"\0")
    logb = ctypes.create_string_buffer(1 << 20)
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<IIQQIIQ", a, 0, prog_type, len(insns) // 8, ia, la,
                     1, len(logb), ctypes.addressof(logb))
    a[48:48 + len(name[:15])] = name[:15]
    struct.pack_into("<I", a, 68, attach_type)
    return bpf(PROG_LOAD, a, "PROG_LOAD",
               log=lambda: logb.value.decode(errors="replace"))


def test_run(prog_fd, ctx, repeat=1):
    """BPF_PROG_TEST_RUN with ctx_in/ctx_out only. Returns (retval, ctx_out)."""
    ib, ia = _buf(ctx)
    ob, oa = _buf(bytes(len(ctx)))
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<I", a, 0, prog_fd)
    struct.pack_into("<I", a, 32, repeat)
    struct.pack_into("<IIQQ", a, 40, len(ctx), len(ctx), ia, oa)
    bpf(PROG_TEST_RUN, a, "PROG_TEST_RUN")
    retval, = struct.unpack_from("<I", a, 4)
    return retval, ob.raw[:len(ctx)]


def link_create(prog_fd, target_fd, attach_type=ATTACH_SK_LOOKUP):
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<IIII", a, 0, prog_fd, target_fd, attach_type, 0)
    return bpf(LINK_CREATE, a, "LINK_CREATE")


def link_detach(link_fd):
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<I", a, 0, link_fd)
    bpf(LINK_DETACH, a, "LINK_DETACH")


def prog_query(target_fd, attach_type=ATTACH_SK_LOOKUP, max_ids=64):
    """Returns (attach_flags, [prog ids in run order])."""
    ib, ia = _buf(bytes(4 * max_ids))
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<IIIIQI", a, 0, target_fd, attach_type, 0, 0, ia, max_ids)
    bpf(PROG_QUERY, a, "PROG_QUERY")
    flags, = struct.unpack_from("<I", a, 12)
    cnt, = struct.unpack_from("<I", a, 24)
    return flags, list(struct.unpack_from(f"<{cnt}I", ib.raw))


def obj_info(fd, size=256):
    ib, ia = _buf(bytes(size))
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<IIQ", a, 0, fd, size, ia)
    bpf(OBJ_GET_INFO_BY_FD, a, "OBJ_GET_INFO_BY_FD")
    return ib.raw


def prog_id(prog_fd):
    # struct bpf_prog_info: type u32 @0, id u32 @4
    return struct.unpack_from("<I", obj_info(prog_fd), 4)[0]


def link_netns_info(link_fd):
    """Returns (prog_id, netns_ino, attach_type) of a netns link."""
    # struct bpf_link_info: type @0, id @4, prog_id @8, netns {ino @16, attach_type @20}
    raw = obj_info(link_fd)
    _type, _id, pid = struct.unpack_from("<III", raw, 0)
    ino, at = struct.unpack_from("<II", raw, 16)
    return pid, ino, at


# ---- Instructions, for hand-made programs --------------------------------

def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


BPF_LDX_MEM = {1: 0x71, 2: 0x69, 4: 0x61, 8: 0x79}   # LDX | MEM | size
BPF_STX_MEM = {1: 0x73, 2: 0x6b, 4: 0x63, 8: 0x7b}
MOV64_IMM, MOV32_IMM, EXIT = 0xb7, 0xb4, 0x95


def ldx(size, dst, src, off):
    return insn(BPF_LDX_MEM[size], dst, src, off)


def stx(size, dst, src, off):
    return insn(BPF_STX_MEM[size], dst, src, off)


def mov64_imm(dst, imm):
    return insn(MOV64_IMM, dst, 0, 0, imm)


def mov32_imm(dst, imm):
    return insn(MOV32_IMM, dst, 0, 0, imm)


def exit_():
    return insn(EXIT)
