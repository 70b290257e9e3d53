"""Prints how many sk_lookup programs are attached in this process's network namespace (BPF_PROG_QUERY)."""
import ctypes, os, platform, struct

BPF_PROG_QUERY, BPF_SK_LOOKUP = 16, 36
NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine(), 321)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/proc/self/ns/net", os.O_RDONLY)
ids = (ctypes.c_uint32 * 64)()
attr = ctypes.create_string_buffer(struct.pack("<IIIIQI", fd, BPF_SK_LOOKUP, 0, 0, ctypes.addressof(ids), 64) + bytes(104))
result = libc.syscall(NR_BPF, BPF_PROG_QUERY, attr, len(attr.raw))
print(struct.unpack_from("<I", attr.raw, 24)[0] if result == 0 else 0)
