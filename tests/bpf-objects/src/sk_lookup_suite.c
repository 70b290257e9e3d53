/*
 * sk_lookup_suite.c: our C rendition of the programs behind the kernel's
 * sk_lookup selftests. Program names, maps and verdicts follow the kernel
 * suite, so SCENARIOS.md can describe each test in the kernel's terms.
 *
 * Every sk_lookup program sits in the one section "sk_lookup", and every
 * sk_reuseport program in "sk_reuseport", as modern libbpf objects do: a
 * loader must split each section into programs by its function symbols.
 *
 * Globals are spread over the three data sections on purpose:
 *   .rodata  addresses, ports and map keys (const volatile ones can be
 *            rewritten before load to re-target the programs),
 *   .data    drop_ifindex, read by check_ifindex (mutable after load),
 *   .bss     diagnostics the programs write (last_assign_err, narrow_fail_step).
 */
#include "sk_lookup_helpers.h"

/* ---- Maps ----------------------------------------------------------------- */

/* Sockets to steer to. Slot 0 is "server A", slot 1 is "server B". User space
 * stores a socket fd; a lookup from user space returns the socket cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} redir_map SEC(".maps");

/* The multi_prog_* programs set run_map[0] (first program) or run_map[1]
 * (second program) to 1 when they run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} run_map SEC(".maps");

/* ---- .rodata: what the programs match on ------------------------------- */

/* The address clients connect to ("external", EXT_*). */
const volatile __u16 dst_port = 7007;	/* host order, like ctx->local_port */
const volatile __u32 dst_ip4 = IPV4_ADDR(127, 0, 0, 1);
const volatile __u32 dst_ip6[4] = IPV6_ADDR(0xfd000000, 0, 0, 1);

/* The peer that ctx_narrow_access expects in ctx->remote_* (in a test run the
 * kernel suite puts the internal address there, INT_*). */
const volatile __u16 src_port_be = HOST_TO_BE16(8008);	/* network order */
const volatile __u32 src_ip4 = IPV4_ADDR(127, 0, 0, 2);
const volatile __u32 src_ip6[4] = IPV6_ADDR(0xfd000000, 0, 0, 2);

/* Map keys and values need an address, so they live in .rodata too. */
const __u32 slot_server_a = 0;
const __u32 slot_server_b = 1;
const __u32 run_slot_first = 0;
const __u32 run_slot_second = 1;
const __u32 run_mark = 1;

/* ---- .data and .bss ------------------------------------------------------- */

/* check_ifindex drops traffic that arrived on this interface (1 is lo). */
__u32 drop_ifindex = 1;

/* The last unexpected bpf_sk_assign() result seen by a checking program
 * (0 if none). Takes the place of the kernel suite's bpf_printk(). */
__s32 last_assign_err;

/* Which check in ctx_narrow_access failed first (0 if none). */
__u32 narrow_fail_step;

/* ---- Shared pieces --------------------------------------------------------- */

static __always_inline int reject_with(long err)
{
	last_assign_err = (__s32)err;
	return SK_DROP;
}

/*
 * Select the socket held in redir_map[*slot] for this lookup.
 * Returns 0 on success, -ENOENT when the slot is empty, or the error that
 * bpf_sk_assign() gave. The map lookup takes a reference on the socket, which
 * is dropped again whatever the outcome.
 */
static __always_inline long select_slot(struct bpf_sk_lookup *ctx,
					const __u32 *slot, __u64 flags)
{
	struct bpf_sock *sk;
	long err;

	sk = bpf_map_lookup_elem(&redir_map, slot);
	if (!sk)
		return -ENOENT;
	err = bpf_sk_assign(ctx, sk, flags);
	bpf_sk_release(sk);
	return err;
}

/* The redirecting programs let traffic through untouched when the slot is
 * empty, and drop it when the kernel refuses the socket. */
static __always_inline int redirect_to_server_a(struct bpf_sk_lookup *ctx)
{
	long err = select_slot(ctx, &slot_server_a, 0);

	if (err == -ENOENT)
		return SK_PASS;
	return err ? SK_DROP : SK_PASS;
}

static __always_inline void mark_run(const __u32 *run_slot)
{
	bpf_map_update_elem(&run_map, run_slot, &run_mark, BPF_ANY);
}

/* ---- Plain verdicts ------------------------------------------------------- */

SEC("sk_lookup")
int lookup_pass(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

SEC("sk_lookup")
int lookup_drop(struct bpf_sk_lookup *ctx)
{
	return SK_DROP;
}

/* Drops what arrives on interface drop_ifindex (lo by default). */
SEC("sk_lookup")
int check_ifindex(struct bpf_sk_lookup *ctx)
{
	return ctx->ingress_ifindex == drop_ifindex ? SK_DROP : SK_PASS;
}

SEC("sk_reuseport")
int reuseport_pass(struct sk_reuseport_md *ctx)
{
	return SK_PASS;
}

SEC("sk_reuseport")
int reuseport_drop(struct sk_reuseport_md *ctx)
{
	return SK_DROP;
}

/* ---- Redirection ----------------------------------------------------------- */

/* Any address, destination port dst_port: steer to server A. */
SEC("sk_lookup")
int redir_port(struct bpf_sk_lookup *ctx)
{
	if (ctx->local_port != dst_port)
		return SK_PASS;
	return redirect_to_server_a(ctx);
}

/* IPv4 only, destination dst_ip4:dst_port: steer to server A. */
SEC("sk_lookup")
int redir_ip4(struct bpf_sk_lookup *ctx)
{
	if (ctx->family != AF_INET || ctx->local_port != dst_port)
		return SK_PASS;
	if (ctx->local_ip4 != dst_ip4)
		return SK_PASS;
	return redirect_to_server_a(ctx);
}

/* IPv6 only, destination [dst_ip6]:dst_port: steer to server A. */
SEC("sk_lookup")
int redir_ip6(struct bpf_sk_lookup *ctx)
{
	if (ctx->family != AF_INET6 || ctx->local_port != dst_port)
		return SK_PASS;
	for (int i = 0; i < 4; i++) {
		if (ctx->local_ip6[i] != dst_ip6[i])
			return SK_PASS;
	}
	return redirect_to_server_a(ctx);
}

/* Everything to server A; the reuseport group (if any) still picks. */
SEC("sk_lookup")
int select_sock_a(struct bpf_sk_lookup *ctx)
{
	return redirect_to_server_a(ctx);
}

/* Everything to server A itself, bypassing its reuseport group. Unlike the
 * programs above, an empty slot drops. */
SEC("sk_lookup")
int select_sock_a_no_reuseport(struct bpf_sk_lookup *ctx)
{
	long err = select_slot(ctx, &slot_server_a,
			       BPF_SK_LOOKUP_F_NO_REUSEPORT);

	return err ? SK_DROP : SK_PASS;
}

/* A reuseport program that always answers with server B. */
SEC("sk_reuseport")
int select_sock_b(struct sk_reuseport_md *ctx)
{
	__u32 key = slot_server_b;	/* a key on the stack, for variety */

	if (bpf_sk_select_reuseport(ctx, &redir_map, &key, 0))
		return SK_DROP;
	return SK_PASS;
}

/* ---- bpf_sk_assign() semantics (run with BPF_PROG_TEST_RUN) --------------- */

/* A second selection without F_REPLACE fails with -EEXIST and keeps the
 * first one: the verdict is PASS with server B selected. */
SEC("sk_lookup")
int sk_assign_eexist(struct bpf_sk_lookup *ctx)
{
	long err;

	err = select_slot(ctx, &slot_server_b, 0);
	if (err)
		return reject_with(err);
	err = select_slot(ctx, &slot_server_a, 0);
	if (err != -EEXIST)
		return reject_with(err);
	return SK_PASS;
}

/* F_REPLACE overrides an earlier selection: PASS with server B selected. */
SEC("sk_lookup")
int sk_assign_replace_flag(struct bpf_sk_lookup *ctx)
{
	long err;

	err = select_slot(ctx, &slot_server_a, 0);
	if (err)
		return reject_with(err);
	err = select_slot(ctx, &slot_server_b, BPF_SK_LOOKUP_F_REPLACE);
	if (err)
		return reject_with(err);
	return SK_PASS;
}

/* The part of sk_assign_null that runs while we hold server B. */
static __always_inline int null_assign_steps(struct bpf_sk_lookup *ctx,
					     struct bpf_sock *server_b)
{
	long err;

	err = bpf_sk_assign(ctx, server_b, BPF_SK_LOOKUP_F_REPLACE);
	if (err)
		return reject_with(err);
	if (ctx->sk != server_b)
		return SK_DROP;
	/* NULL counts as a selection: without F_REPLACE it is refused... */
	err = bpf_sk_assign(ctx, NULL, 0);
	if (err != -EEXIST)
		return reject_with(err);
	/* ...and with F_REPLACE it clears the selection. */
	err = bpf_sk_assign(ctx, NULL, BPF_SK_LOOKUP_F_REPLACE);
	if (err)
		return reject_with(err);
	err = bpf_sk_assign(ctx, server_b, BPF_SK_LOOKUP_F_REPLACE);
	if (err)
		return reject_with(err);
	return SK_PASS;
}

/* NULL is a valid socket argument: PASS with server B selected. */
SEC("sk_lookup")
int sk_assign_null(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *server_b;
	long err;
	int verdict;

	err = bpf_sk_assign(ctx, NULL, 0);
	if (err)
		return reject_with(err);

	server_b = bpf_map_lookup_elem(&redir_map, &slot_server_b);
	if (!server_b)
		return SK_DROP;
	verdict = null_assign_steps(ctx, server_b);
	bpf_sk_release(server_b);
	return verdict;
}

/* True if ctx->sk is set and is an IPv4 TCP listener. */
static __always_inline int selected_is_tcp4_listener(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *cur = ctx->sk;

	if (!cur)
		return 0;
	return cur->family == AF_INET && cur->type == SOCK_STREAM &&
	       cur->state == BPF_TCP_LISTEN;
}

/* The part of access_ctx_sk that runs while we hold both servers. */
static __always_inline int walk_selection(struct bpf_sk_lookup *ctx,
					  struct bpf_sock *server_a,
					  struct bpf_sock *server_b)
{
	if (bpf_sk_assign(ctx, server_a, 0))
		return SK_DROP;
	if (ctx->sk != server_a || !selected_is_tcp4_listener(ctx))
		return SK_DROP;

	if (bpf_sk_assign(ctx, NULL, BPF_SK_LOOKUP_F_REPLACE))
		return SK_DROP;
	if (ctx->sk)
		return SK_DROP;

	if (bpf_sk_assign(ctx, server_b, BPF_SK_LOOKUP_F_REPLACE))
		return SK_DROP;
	if (ctx->sk != server_b || !selected_is_tcp4_listener(ctx))
		return SK_DROP;
	return SK_PASS;
}

/* ctx->sk follows the selection and can be dereferenced: PASS with server B
 * selected. Both servers must be IPv4 TCP listeners. */
SEC("sk_lookup")
int access_ctx_sk(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *server_a, *server_b, *cur;
	int verdict;

	/* Reading ctx->sk before any selection is allowed (and gives NULL). */
	cur = ctx->sk;
	if (cur && cur->family != AF_INET)
		return SK_DROP;

	server_a = bpf_map_lookup_elem(&redir_map, &slot_server_a);
	if (!server_a)
		return SK_DROP;
	server_b = bpf_map_lookup_elem(&redir_map, &slot_server_b);
	if (!server_b) {
		bpf_sk_release(server_a);
		return SK_DROP;
	}
	verdict = walk_selection(ctx, server_a, server_b);
	bpf_sk_release(server_b);
	bpf_sk_release(server_a);
	return verdict;
}

/* ---- Narrow context loads -------------------------------------------------- */

/* Exact-width loads at a byte offset into the context. volatile keeps clang
 * from merging or widening them: the point is to issue these very loads. */
#define CTX_LOAD(type, ctx, off) \
	(*(volatile const type *)((const char *)(ctx) + (off)))

/* Offset of byte / 16-bit word number i, counted from the least significant
 * end of a field of width w bytes. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BYTE_AT(off, w, i) ((off) + (i))
#define WORD_AT(off, w, i) ((off) + 2 * (i))
#else
#define BYTE_AT(off, w, i) ((off) + (w) - 1 - (i))
#define WORD_AT(off, w, i) ((off) + (w) - 2 - 2 * (i))
#endif

#define OFF(field) __builtin_offsetof(struct bpf_sk_lookup, field)

/*
 * Check a context field of `width` bytes (2 or 4) at `off` against `want`,
 * the value a full-width load of it gives: first one byte at a time, then one
 * 16-bit word at a time. Records `step` and fails on the first mismatch.
 *
 * `words` is how many 16-bit words to check. Only the low word of family,
 * protocol and local_port is meaningful: the kernel keeps those as 16-bit
 * values, and a 2-byte load at field + 2 is accepted but gives the low word
 * again (the verifier drops the offset when the load is as wide as the
 * kernel's own field), so it is not checked.
 */
static __always_inline int field_is(const struct bpf_sk_lookup *ctx, __u32 off,
				    __u32 width, __u32 want, __u32 words,
				    __u32 step)
{
#pragma clang loop unroll(full)
	for (__u32 i = 0; i < 4; i++) {
		if (i < width &&
		    CTX_LOAD(__u8, ctx, BYTE_AT(off, width, i)) != (__u8)(want >> (8 * i))) {
			narrow_fail_step = step;
			return 0;
		}
	}
#pragma clang loop unroll(full)
	for (__u32 i = 0; i < 2; i++) {
		if (i < words &&
		    CTX_LOAD(__u16, ctx, WORD_AT(off, width, i)) != (__u16)(want >> (16 * i))) {
			narrow_fail_step = step + 1;
			return 0;
		}
	}
	return 1;
}

static __always_inline int ip6_is(const struct bpf_sk_lookup *ctx, __u32 off,
				  const volatile __u32 *want, __u32 step)
{
#pragma clang loop unroll(full)
	for (__u32 w = 0; w < 4; w++) {
		if (!field_is(ctx, off + 4 * w, 4, want ? want[w] : 0, 2, step + 2 * w))
			return 0;
	}
	return 1;
}

/*
 * Reads every narrow-loadable field with 1- and 2-byte loads and compares it
 * with what a TCP test run carries: local = dst_ip:dst_port,
 * remote = src_ip:src_port. The fields of the other family must read as zero.
 * PASS with server B selected if all match, DROP (and narrow_fail_step set)
 * otherwise.
 */
SEC("sk_lookup")
int ctx_narrow_access(struct bpf_sk_lookup *ctx)
{
	int v4 = ctx->family == AF_INET;
	__u32 family = v4 ? AF_INET : AF_INET6;
	struct bpf_sock *sk;

	if (!field_is(ctx, OFF(family), 4, family, 1, 10))
		return SK_DROP;
	if (!field_is(ctx, OFF(protocol), 4, IPPROTO_TCP, 1, 20))
		return SK_DROP;

	/* remote_port is a 2-byte field followed by 2 bytes of zero padding. */
	if (!field_is(ctx, OFF(remote_port), 2, src_port_be, 1, 30))
		return SK_DROP;
	/* A 4-byte load at remote_port is allowed for old programs; the kernel
	 * turns it into a 2-byte load, so it gives the bare be16 value. */
	if (CTX_LOAD(__u32, ctx, OFF(remote_port)) != src_port_be) {
		narrow_fail_step = 32;
		return SK_DROP;
	}
	if (CTX_LOAD(__u8, ctx, OFF(remote_port) + 2) != 0 ||
	    CTX_LOAD(__u8, ctx, OFF(remote_port) + 3) != 0 ||
	    CTX_LOAD(__u16, ctx, OFF(remote_port) + 2) != 0) {
		narrow_fail_step = 33;
		return SK_DROP;
	}

	if (!field_is(ctx, OFF(local_port), 4, dst_port, 1, 40))
		return SK_DROP;

	if (!field_is(ctx, OFF(remote_ip4), 4, v4 ? src_ip4 : 0, 2, 50))
		return SK_DROP;
	if (!field_is(ctx, OFF(local_ip4), 4, v4 ? dst_ip4 : 0, 2, 60))
		return SK_DROP;
	if (!ip6_is(ctx, OFF(remote_ip6), v4 ? 0 : src_ip6, 70))
		return SK_DROP;
	if (!ip6_is(ctx, OFF(local_ip6), v4 ? 0 : dst_ip6, 80))
		return SK_DROP;

	/* All good: select server B so the test can see we got here. */
	sk = bpf_map_lookup_elem(&redir_map, &slot_server_b);
	if (sk) {
		bpf_sk_assign(ctx, sk, 0);
		bpf_sk_release(sk);
	}
	return SK_PASS;
}

/* Server A must be refused with -ESOCKTNOSUPPORT (it is an established TCP
 * socket or a connected UDP socket). PASS then lets the regular lookup find
 * the real listener; anything else drops. */
SEC("sk_lookup")
int sk_assign_esocknosupport(struct bpf_sk_lookup *ctx)
{
	long err = select_slot(ctx, &slot_server_a, 0);

	if (err != -ESOCKTNOSUPPORT)
		return reject_with(err);
	return SK_PASS;
}

/* ---- Several programs on one hook ---------------------------------------- */

SEC("sk_lookup")
int multi_prog_pass1(struct bpf_sk_lookup *ctx)
{
	mark_run(&run_slot_first);
	return SK_PASS;
}

SEC("sk_lookup")
int multi_prog_pass2(struct bpf_sk_lookup *ctx)
{
	mark_run(&run_slot_second);
	return SK_PASS;
}

SEC("sk_lookup")
int multi_prog_drop1(struct bpf_sk_lookup *ctx)
{
	mark_run(&run_slot_first);
	return SK_DROP;
}

SEC("sk_lookup")
int multi_prog_drop2(struct bpf_sk_lookup *ctx)
{
	mark_run(&run_slot_second);
	return SK_DROP;
}

/* Try to select server A, but answer PASS whatever happened. */
SEC("sk_lookup")
int multi_prog_redir1(struct bpf_sk_lookup *ctx)
{
	select_slot(ctx, &slot_server_a, 0);
	mark_run(&run_slot_first);
	return SK_PASS;
}

SEC("sk_lookup")
int multi_prog_redir2(struct bpf_sk_lookup *ctx)
{
	select_slot(ctx, &slot_server_a, 0);
	mark_run(&run_slot_second);
	return SK_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
