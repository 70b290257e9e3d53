#!/usr/bin/env python3
"""Run every scenario of ../SCENARIOS.md against the running kernel.

A developer aid (root, python3, bpftool, iproute2): it proves that what
SCENARIOS.md promises is what this kernel does, before anyone writes the C#
tests. The product and its CI never use it.

Safety: the script re-executes itself under `unshare --net --mount`, so every
program it attaches is attached to a network namespace that it created and
that dies with it, and its bpffs mount is private. It refuses to attach
anything if its network namespace is the one it was started in.

Usage: tests/bpf-objects/tools/check_scenarios.py [-v]
Prints one line per scenario and a closing "N passed, N failed" line.
"""

import contextlib
import errno
import os
import socket
import struct
import subprocess
import sys
import tempfile

import bpfsys as b

HERE = os.path.dirname(os.path.abspath(__file__))
OBJ = os.path.join(HERE, "..", "sk_lookup_suite.o")
VERBOSE = "-v" in sys.argv

# The suite's addresses (SCENARIOS.md, "Constants").
EXT_IP4, EXT_IP6, EXT_PORT = "127.0.0.1", "fd00::1", 7007
INT_IP4, INT_IP4_V6, INT_IP6, INT_PORT = "127.0.0.2", "::ffff:127.0.0.2", "fd00::2", 8008
SERVER_A, SERVER_B = 0, 1
TIMEOUT = 3.0

SO_ATTACH_REUSEPORT_EBPF = 52
SO_COOKIE = 57
IP_RECVORIGDSTADDR = 20        # also IP_ORIGDSTADDR, the cmsg type
IPV6_RECVORIGDSTADDR = 74      # also IPV6_ORIGDSTADDR
SOL_IP, SOL_IPV6 = 0, 41

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f"  ({detail})" if detail and (VERBOSE or not ok) else ""))


# ---- Environment -----------------------------------------------------------

def reexec_isolated():
    """Re-run under unshare; refuse to go on in the namespace we started in."""
    if os.environ.get("SKLOOKUP_SCENARIOS_INNER") != "1":
        env = dict(os.environ, SKLOOKUP_SCENARIOS_INNER="1",
                   SKLOOKUP_OUTER_NETNS=str(os.stat("/proc/self/ns/net").st_ino))
        os.execvpe("unshare", ["unshare", "--net", "--mount", "--propagation", "private",
                               sys.executable] + sys.argv, env)
    if str(os.stat("/proc/self/ns/net").st_ino) == os.environ.get("SKLOOKUP_OUTER_NETNS"):
        sys.exit("refusing to run: not in a network namespace of our own")


def setup_netns():
    for cmd in (["ip", "link", "set", "dev", "lo", "up"],
                ["ip", "-6", "addr", "add", EXT_IP6 + "/128", "dev", "lo", "nodad"],
                ["ip", "-6", "addr", "add", INT_IP6 + "/128", "dev", "lo", "nodad"]):
        subprocess.run(cmd, check=True)


class Suite:
    """The loaded sk_lookup_suite.o: program and map fds by name."""

    def __init__(self):
        self.fs = tempfile.mkdtemp(prefix="progs-bpffs-")
        subprocess.run(["mount", "-t", "bpf", "bpf", self.fs], check=True)
        try:
            os.mkdir(f"{self.fs}/progs")
            os.mkdir(f"{self.fs}/maps")
            subprocess.run(["bpftool", "prog", "loadall", OBJ, f"{self.fs}/progs",
                            "pinmaps", f"{self.fs}/maps"], check=True)
        except BaseException:
            self.close()
            raise
        self.progs = {n: b.obj_get(f"{self.fs}/progs/{n}") for n in os.listdir(f"{self.fs}/progs")}
        self.maps = {n: b.obj_get(f"{self.fs}/maps/{n}") for n in os.listdir(f"{self.fs}/maps")}
        self.redir_map = self.maps["redir_map"]
        self.run_map = self.maps["run_map"]
        self.bss = next(fd for n, fd in self.maps.items() if n.endswith("_bss"))
        self.netns = os.open("/proc/self/ns/net", os.O_RDONLY)

    def close(self):
        subprocess.run(["umount", self.fs], check=False)
        os.rmdir(self.fs)

    @contextlib.contextmanager
    def attached(self, *names):
        links = [b.link_create(self.progs[n], self.netns) for n in names]
        try:
            yield links
        finally:
            for fd in links:
                os.close(fd)

    def put(self, slot, sock):
        b.map_update(self.redir_map, struct.pack("<I", slot),
                     struct.pack("<Q", sock.fileno()), b.NOEXIST)

    def diagnostics(self):
        raw = b.map_lookup(self.bss, bytes(4), 8)
        step, err = struct.unpack("<Ii", raw)
        return f"narrow_fail_step={step} last_assign_err={err}"

    def reset_diagnostics(self):
        b.map_update(self.bss, bytes(4), bytes(8))


# ---- Sockets ------------------------------------------------------------------

def family_of(ip):
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def make_server(stack, sotype, ip, port, reuseport_prog=None):
    s = stack.enter_context(socket.socket(family_of(ip), sotype))
    s.settimeout(TIMEOUT)
    if sotype == socket.SOCK_DGRAM:
        s.setsockopt(SOL_IP, IP_RECVORIGDSTADDR, 1)
        if s.family == socket.AF_INET6:
            s.setsockopt(SOL_IPV6, IPV6_RECVORIGDSTADDR, 1)
    else:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport_prog is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((ip, port))
    if sotype == socket.SOCK_STREAM:
        s.listen(128)
    if reuseport_prog is not None:
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, reuseport_prog)
    return s


def make_client(stack, sotype, ip, port):
    c = stack.enter_context(socket.socket(family_of(ip), sotype))
    c.settimeout(TIMEOUT)
    c.connect((ip, port))
    return c


def parse_origdst(level, typ, data):
    fam, = struct.unpack_from("=H", data, 0)
    port, = struct.unpack_from("!H", data, 2)
    if fam == socket.AF_INET:
        return socket.AF_INET, (socket.inet_ntop(socket.AF_INET, data[4:8]), port)
    return socket.AF_INET6, (socket.inet_ntop(socket.AF_INET6, data[8:24]), port)


def udp_echo_server(server):
    """Receive one datagram and answer it from its original destination."""
    data, anc, _flags, src = server.recvmsg(16, socket.CMSG_SPACE(128))
    dst = None
    for level, typ, cdata in anc:
        if (level, typ) in ((SOL_IP, IP_RECVORIGDSTADDR), (SOL_IPV6, IPV6_RECVORIGDSTADDR)):
            dst = parse_origdst(level, typ, cdata)
    if dst is None:
        raise RuntimeError("no ORIGDSTADDR")
    fam, addr = dst
    if server.family == socket.AF_INET6 and fam == socket.AF_INET:
        fam, addr = socket.AF_INET6, ("::ffff:" + addr[0], addr[1])
    with socket.socket(fam, socket.SOCK_DGRAM) as tx:
        tx.bind(addr)
        tx.sendto(data, src)
    return addr


def echo(client, server, sotype):
    """One byte there and back. Returns a description of the server side."""
    client.send(b"a")
    if sotype == socket.SOCK_STREAM:
        conn, peer = server.accept()
        with conn:
            conn.send(conn.recv(1))
            seen = f"accepted, local {conn.getsockname()[:2]}"
    else:
        seen = f"received, original dst {udp_echo_server(server)}"
    if client.recv(1) != b"a":
        raise RuntimeError("echo mismatch")
    return seen


def nothing_waiting(sock, sotype):
    sock.setblocking(False)
    try:
        if sotype == socket.SOCK_STREAM:
            sock.accept()[0].close()
        else:
            sock.recv(16)
        return False
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(TIMEOUT)


def expect_refused(stack, sotype, ip, port):
    """Connect (TCP) or send and read the error back (UDP); True on ECONNREFUSED."""
    c = stack.enter_context(socket.socket(family_of(ip), sotype))
    c.settimeout(TIMEOUT)
    try:
        c.connect((ip, port))
        if sotype == socket.SOCK_DGRAM:
            c.send(b"a")
            c.recv(1)
        return False, "no error"
    except ConnectionRefusedError:
        return True, "ECONNREFUSED"
    except OSError as e:
        return False, f"errno {e.errno}"


# ---- Scenarios ----------------------------------------------------------------

TCP, UDP = socket.SOCK_STREAM, socket.SOCK_DGRAM

REDIRECT = [
    # name, lookup prog, reuseport prog, sotype, connect_to, listen_at, accept_on, conns
    ("TCP IPv4 redir port", "redir_port", None, TCP, (EXT_IP4, EXT_PORT), (EXT_IP4, INT_PORT), SERVER_A, False),
    ("TCP IPv4 redir addr", "redir_ip4", None, TCP, (EXT_IP4, EXT_PORT), (INT_IP4, EXT_PORT), SERVER_A, False),
    ("TCP IPv4 redir with reuseport", "select_sock_a", "select_sock_b", TCP, (EXT_IP4, EXT_PORT), (INT_IP4, INT_PORT), SERVER_B, False),
    ("TCP IPv4 redir skip reuseport", "select_sock_a_no_reuseport", "select_sock_b", TCP, (EXT_IP4, EXT_PORT), (INT_IP4, INT_PORT), SERVER_A, False),
    ("TCP IPv6 redir port", "redir_port", None, TCP, (EXT_IP6, EXT_PORT), (EXT_IP6, INT_PORT), SERVER_A, False),
    ("TCP IPv6 redir addr", "redir_ip6", None, TCP, (EXT_IP6, EXT_PORT), (INT_IP6, EXT_PORT), SERVER_A, False),
    ("TCP IPv4->IPv6 redir port", "redir_port", None, TCP, (EXT_IP4, EXT_PORT), (INT_IP4_V6, INT_PORT), SERVER_A, False),
    ("TCP IPv6 redir with reuseport", "select_sock_a", "select_sock_b", TCP, (EXT_IP6, EXT_PORT), (INT_IP6, INT_PORT), SERVER_B, False),
    ("TCP IPv6 redir skip reuseport", "select_sock_a_no_reuseport", "select_sock_b", TCP, (EXT_IP6, EXT_PORT), (INT_IP6, INT_PORT), SERVER_A, False),
    ("UDP IPv4 redir port", "redir_port", None, UDP, (EXT_IP4, EXT_PORT), (EXT_IP4, INT_PORT), SERVER_A, False),
    ("UDP IPv4 redir addr", "redir_ip4", None, UDP, (EXT_IP4, EXT_PORT), (INT_IP4, EXT_PORT), SERVER_A, False),
    ("UDP IPv4 redir with reuseport", "select_sock_a", "select_sock_b", UDP, (EXT_IP4, EXT_PORT), (INT_IP4, INT_PORT), SERVER_B, False),
    ("UDP IPv4 redir and reuseport with conns", "select_sock_a", "select_sock_b", UDP, (EXT_IP4, EXT_PORT), (INT_IP4, INT_PORT), SERVER_B, True),
    ("UDP IPv4 redir skip reuseport", "select_sock_a_no_reuseport", "select_sock_b", UDP, (EXT_IP4, EXT_PORT), (INT_IP4, INT_PORT), SERVER_A, False),
    ("UDP IPv6 redir port", "redir_port", None, UDP, (EXT_IP6, EXT_PORT), (EXT_IP6, INT_PORT), SERVER_A, False),
    ("UDP IPv6 redir addr", "redir_ip6", None, UDP, (EXT_IP6, EXT_PORT), (INT_IP6, EXT_PORT), SERVER_A, False),
    ("UDP IPv4->IPv6 redir port", "redir_port", None, UDP, (EXT_IP4, EXT_PORT), (INT_IP4_V6, INT_PORT), SERVER_A, False),
    ("UDP IPv6 redir and reuseport", "select_sock_a", "select_sock_b", UDP, (EXT_IP6, EXT_PORT), (INT_IP6, INT_PORT), SERVER_B, False),
    ("UDP IPv6 redir and reuseport with conns", "select_sock_a", "select_sock_b", UDP, (EXT_IP6, EXT_PORT), (INT_IP6, INT_PORT), SERVER_B, True),
    ("UDP IPv6 redir skip reuseport", "select_sock_a_no_reuseport", "select_sock_b", UDP, (EXT_IP6, EXT_PORT), (INT_IP6, INT_PORT), SERVER_A, False),
]


def run_redirect(suite, name, lookup, reuse, sotype, connect_to, listen_at, accept_on, conns):
    reuse_fd = suite.progs[reuse] if reuse else None
    with contextlib.ExitStack() as st, suite.attached(lookup):
        servers = []
        for slot in (SERVER_A, SERVER_B) if reuse else (SERVER_A,):
            s = make_server(st, sotype, *listen_at, reuse_fd)
            suite.put(slot, s)
            servers.append(s)
        if conns:
            extra = make_server(st, sotype, *listen_at, reuse_fd)
            extra.connect(extra.getsockname()[:2])
        client = make_client(st, sotype, *connect_to)
        try:
            seen = echo(client, servers[accept_on], sotype)
            others_idle = all(nothing_waiting(s, sotype) for i, s in enumerate(servers) if i != accept_on)
            check(name, others_idle, f"server {'AB'[accept_on]} {seen}")
        except OSError as e:
            check(name, False, f"server {'AB'[accept_on]} got nothing: {e}")


def run_redirect_controls(suite):
    """Without its lookup program, no redirect scenario may reach a server."""
    leaks = []
    for name, _lookup, reuse, sotype, connect_to, listen_at, _acc, _conns in REDIRECT:
        with contextlib.ExitStack() as st:
            for _ in (SERVER_A, SERVER_B) if reuse else (SERVER_A,):
                make_server(st, sotype, *listen_at, suite.progs[reuse] if reuse else None)
            refused, detail = expect_refused(st, sotype, *connect_to)
            if not refused:
                leaks.append((name, detail))
    check(f"controls: all {len(REDIRECT)} redirect setups refuse the client when no program is attached",
          not leaks, f"{leaks}")


def run_narrow_control(suite):
    """ctx_narrow_access must notice a wrong remote port."""
    suite.reset_diagnostics()
    verdict, out = b.test_run(suite.progs["ctx_narrow_access"],
                              sk_lookup_ctx(EXT_IP4, EXT_PORT, INT_IP4, INT_PORT + 1))
    check("control: ctx_narrow_access drops a test run with the wrong remote port",
          verdict == 0, suite.diagnostics())


DROP_ON_LOOKUP = [
    ("TCP IPv4 drop on lookup", "lookup_drop", TCP, (EXT_IP4, EXT_PORT), (EXT_IP4, EXT_PORT)),
    ("TCP IPv6 drop on lookup", "lookup_drop", TCP, (EXT_IP6, EXT_PORT), (EXT_IP6, EXT_PORT)),
    ("UDP IPv4 drop on lookup", "lookup_drop", UDP, (EXT_IP4, EXT_PORT), (EXT_IP4, EXT_PORT)),
    ("UDP IPv6 drop on lookup", "lookup_drop", UDP, (EXT_IP6, EXT_PORT), (EXT_IP6, INT_PORT)),
    # The kernel's UDP IPv6 case listens on 8008, so it would pass without any
    # program; this variant listens where the client sends, so it can fail.
    ("UDP IPv6 drop on lookup (listener on 7007)", "lookup_drop", UDP, (EXT_IP6, EXT_PORT), (EXT_IP6, EXT_PORT)),
    ("TCP IPv4 drop on valid ifindex", "check_ifindex", TCP, (EXT_IP4, EXT_PORT), (EXT_IP4, EXT_PORT)),
    ("TCP IPv6 drop on valid ifindex", "check_ifindex", TCP, (EXT_IP6, EXT_PORT), (EXT_IP6, EXT_PORT)),
    ("UDP IPv4 drop on valid ifindex", "check_ifindex", UDP, (EXT_IP4, EXT_PORT), (EXT_IP4, EXT_PORT)),
    ("UDP IPv6 drop on valid ifindex", "check_ifindex", UDP, (EXT_IP6, EXT_PORT), (EXT_IP6, EXT_PORT)),
]


def run_drop_on_lookup(suite, name, prog, sotype, connect_to, listen_at):
    with contextlib.ExitStack() as st, suite.attached(prog):
        make_server(st, sotype, *listen_at)
        ok, detail = expect_refused(st, sotype, *connect_to)
        check(name, ok, detail)


def run_drop_controls(suite):
    """Without a program, the drop setups whose listener sits on the
    destination must let the client through."""
    blocked = []
    for name, _prog, sotype, connect_to, listen_at in DROP_ON_LOOKUP:
        if listen_at != connect_to:
            continue
        with contextlib.ExitStack() as st:
            server = make_server(st, sotype, *listen_at)
            try:
                client = make_client(st, sotype, *connect_to)
                client.send(b"a")
                if sotype == TCP:
                    server.accept()[0].close()
                else:
                    server.recv(1)
            except OSError as e:
                blocked.append((name, str(e)))
    check("controls: the drop setups connect when no program is attached", not blocked, f"{blocked}")


DROP_ON_REUSEPORT = [
    ("TCP IPv4 drop on reuseport", TCP, (EXT_IP4, EXT_PORT), (INT_IP4, INT_PORT)),
    ("TCP IPv6 drop on reuseport", TCP, (EXT_IP6, EXT_PORT), (INT_IP6, INT_PORT)),
    ("UDP IPv4 drop on reuseport", UDP, (EXT_IP4, EXT_PORT), (INT_IP4, INT_PORT)),
    ("UDP IPv6 drop on reuseport (not in the kernel's list)", UDP, (EXT_IP6, EXT_PORT), (INT_IP6, INT_PORT)),
]


def run_drop_on_reuseport(suite, name, sotype, connect_to, listen_at):
    with contextlib.ExitStack() as st, suite.attached("select_sock_a"):
        s1 = make_server(st, sotype, *listen_at, suite.progs["reuseport_drop"])
        suite.put(SERVER_A, s1)
        make_server(st, sotype, *connect_to)      # must never be reached
        ok, detail = expect_refused(st, sotype, *connect_to)
        check(name, ok, detail)


def sk_lookup_ctx(local_ip, local_port, remote_ip, remote_port, protocol=socket.IPPROTO_TCP):
    ctx = bytearray(72)
    fam = family_of(local_ip)
    struct.pack_into("<II", ctx, 8, fam, protocol)
    struct.pack_into("!H", ctx, 36, remote_port)
    struct.pack_into("<I", ctx, 60, local_port)
    if fam == socket.AF_INET:
        ctx[16:20] = socket.inet_pton(fam, remote_ip)
        ctx[40:44] = socket.inet_pton(fam, local_ip)
    else:
        ctx[20:36] = socket.inet_pton(fam, remote_ip)
        ctx[44:60] = socket.inet_pton(fam, local_ip)
    return bytes(ctx)


def cookie(sock):
    return struct.unpack("<Q", sock.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]


def run_sk_assign(suite, name, prog, remote_ip, local_ip):
    suite.reset_diagnostics()
    with contextlib.ExitStack() as st:
        servers = [make_server(st, TCP, local_ip, 0) for _ in (SERVER_A, SERVER_B)]
        for slot, s in enumerate(servers):
            suite.put(slot, s)
        verdict, out = b.test_run(suite.progs[prog], sk_lookup_ctx(local_ip, EXT_PORT, remote_ip, INT_PORT))
        got, = struct.unpack_from("<Q", out, 0)
        want = cookie(servers[SERVER_B])
        check(name, verdict == 1 and got == want,
              f"verdict {verdict}, cookie {got}, server B cookie {want}, {suite.diagnostics()}")


def run_sk_assign_connected(suite, name, sotype):
    with contextlib.ExitStack() as st:
        server = make_server(st, sotype, EXT_IP4, EXT_PORT)
        connected = make_client(st, sotype, EXT_IP4, EXT_PORT)
        suite.put(SERVER_A, connected)
        suite.reset_diagnostics()
        with suite.attached("sk_assign_esocknosupport"):
            try:
                client = make_client(st, sotype, EXT_IP4, EXT_PORT)
                if sotype == UDP:
                    client.send(b"a")
                    server.recv(1)
                ok, detail = True, "regular lookup reached the server"
            except OSError as e:
                ok, detail = False, f"{e}"
        check(name, ok, f"{detail}, {suite.diagnostics()}")


MULTI = [
    ("multi prog - pass, pass", "multi_prog_pass1", "multi_prog_pass2", (EXT_IP4, EXT_PORT), 0),
    ("multi prog - drop, drop", "multi_prog_drop1", "multi_prog_drop2", (EXT_IP4, EXT_PORT), errno.ECONNREFUSED),
    ("multi prog - pass, drop", "multi_prog_pass1", "multi_prog_drop2", (EXT_IP4, EXT_PORT), errno.ECONNREFUSED),
    ("multi prog - drop, pass", "multi_prog_drop1", "multi_prog_pass2", (EXT_IP4, EXT_PORT), errno.ECONNREFUSED),
    ("multi prog - pass, redir", "multi_prog_pass1", "multi_prog_redir2", (INT_IP4, INT_PORT), 0),
    ("multi prog - redir, pass", "multi_prog_redir1", "multi_prog_pass2", (INT_IP4, INT_PORT), 0),
    ("multi prog - drop, redir", "multi_prog_drop1", "multi_prog_redir2", (INT_IP4, INT_PORT), 0),
    ("multi prog - redir, drop", "multi_prog_redir1", "multi_prog_drop2", (INT_IP4, INT_PORT), 0),
    ("multi prog - redir, redir", "multi_prog_redir1", "multi_prog_redir2", (INT_IP4, INT_PORT), 0),
]


def run_multi(suite, name, p1, p2, listen_at, expect_errno):
    for key in (0, 1):
        b.map_update(suite.run_map, struct.pack("<I", key), struct.pack("<I", 0))
    with contextlib.ExitStack() as st, suite.attached(p1, p2):
        server = make_server(st, TCP, *listen_at)
        suite.put(SERVER_A, server)
        c = st.enter_context(socket.socket(socket.AF_INET, TCP))
        c.settimeout(TIMEOUT)
        err = c.connect_ex((EXT_IP4, EXT_PORT))
        ran = [struct.unpack("<I", b.map_lookup(suite.run_map, struct.pack("<I", k), 4))[0] for k in (0, 1)]
        check(name, err == expect_errno and ran == [1, 1],
              f"connect errno {err} (want {expect_errno}), run_map {ran}")


def run_query(suite):
    with suite.attached("lookup_pass", "lookup_pass", "lookup_drop") as links:
        flags, ids = b.prog_query(suite.netns)
        infos = [b.link_netns_info(l) for l in links]
        ok = flags == 0 and ids == [i[0] for i in infos] and all(i[1] != 0 for i in infos)
        check("query lookup prog: 3 ids in attach order, attach_flags 0, netns_ino set", ok,
              f"flags {flags}, ids {ids}, link infos {infos}")
        b.link_detach(links[0])
        pid, ino, at = b.link_netns_info(links[0])
        _, ids_after = b.prog_query(suite.netns)
        check("query lookup prog: after LINK_DETACH prog_id kept, netns_ino 0, query lists 2",
              pid == infos[0][0] and ino == 0 and ids_after == ids[1:],
              f"info after detach {(pid, ino, at)}, ids {ids_after}")


# ---- Context access by the verifier ----------------------------------------

def load_probe(body):
    prog = body + b.mov32_imm(0, 0) + b.exit_()
    try:
        fd = b.prog_load(b.PROG_TYPE_SK_LOOKUP, prog, b"GPL", b.ATTACH_SK_LOOKUP)
        os.close(fd)
        return "accept", ""
    except b.BpfError as e:
        lines = [l for l in e.log.strip().splitlines() if l]
        return "reject", f"{errno.errorcode.get(e.errno, e.errno)}: {lines[-2] if len(lines) > 1 else lines}"


def ctx_access_matrix():
    """Return {(kind, size, off): (result, detail)} for every offset of the context."""
    out = {}
    for size in (1, 2, 4, 8):
        for off in range(0, 76):
            out[("read", size, off)] = load_probe(b.ldx(size, 0, 1, off))
    for size in (1, 2, 4, 8):
        for off in (0, 8, 60, 72):
            out[("write", size, off)] = load_probe(b.mov64_imm(0, 0xcafe) + b.stx(size, 1, 0, off))
    return out


FIELDS = [(0, 8, "sk"), (8, 4, "family"), (12, 4, "protocol"), (16, 4, "remote_ip4"),
          (20, 16, "remote_ip6"), (36, 2, "remote_port"), (38, 2, "(padding)"),
          (40, 4, "local_ip4"), (44, 16, "local_ip6"), (60, 4, "local_port"),
          (64, 4, "ingress_ifindex"), (68, 4, "(end padding)"), (72, 4, "(past end)")]


def expected_read(size, off):
    """The rule SCENARIOS.md states for reads; checked against the kernel."""
    if off >= 72 or off % size:
        return "reject"
    if off < 8:
        return "accept" if (size, off) == (8, 0) else "reject"
    if size == 8:
        return "reject"
    if 36 <= off < 38:                      # remote_port: be16, plus the 4-byte compat load
        return "accept" if size <= 2 or (size == 4 and off == 36) else "reject"
    if 38 <= off < 40:                      # padding after remote_port
        return "accept" if size <= 2 else "reject"
    if 68 <= off < 72:                      # tail padding after ingress_ifindex
        return "reject"
    return "accept"


def run_ctx_matrix():
    m = ctx_access_matrix()
    bad = [(k, v) for k, v in m.items() if k[0] == "read" and v[0] != expected_read(k[1], k[2])]
    check("verifier: every context read (sizes 1/2/4/8, offsets 0..75) matches the stated rule",
          not bad, f"mismatches: {bad[:8]}")
    writes = [v for k, v in m.items() if k[0] == "write"]
    check("verifier: every context write is rejected", all(v[0] == "reject" for v in writes),
          f"{writes[:4]}")
    msgs = {v[1] for v in m.values() if v[0] == "reject"}
    check("verifier: every rejection is EACCES with 'invalid bpf_context access'",
          all(s.startswith("EACCES") and "invalid bpf_context access" in s for s in msgs),
          f"{sorted(msgs)[:6]}")
    if VERBOSE:
        for k in sorted(m):
            print("   ", k, m[k])


# ---- Main -------------------------------------------------------------------

def main():
    reexec_isolated()
    setup_netns()
    suite = Suite()
    try:
        run_query(suite)
        for t in REDIRECT:
            run_redirect(suite, *t)
        run_redirect_controls(suite)
        for t in DROP_ON_LOOKUP:
            run_drop_on_lookup(suite, *t)
        run_drop_controls(suite)
        for t in DROP_ON_REUSEPORT:
            run_drop_on_reuseport(suite, *t)
        run_sk_assign(suite, "sk_assign returns EEXIST", "sk_assign_eexist", INT_IP4, EXT_IP4)
        run_sk_assign(suite, "sk_assign honors F_REPLACE", "sk_assign_replace_flag", INT_IP4, EXT_IP4)
        run_sk_assign(suite, "sk_assign accepts NULL socket", "sk_assign_null", INT_IP4, EXT_IP4)
        run_sk_assign(suite, "access ctx->sk", "access_ctx_sk", INT_IP4, EXT_IP4)
        run_sk_assign(suite, "narrow access to ctx v4", "ctx_narrow_access", INT_IP4, EXT_IP4)
        run_sk_assign(suite, "narrow access to ctx v6", "ctx_narrow_access", INT_IP6, EXT_IP6)
        run_narrow_control(suite)
        run_sk_assign_connected(suite, "sk_assign rejects TCP established", TCP)
        run_sk_assign_connected(suite, "sk_assign rejects UDP connected", UDP)
        for t in MULTI:
            run_multi(suite, *t)
        run_ctx_matrix()
    finally:
        suite.close()
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
