/*
 * bpf2bpf.c: programs that call real (not inlined) BPF functions.
 *
 * clang puts the noinline static functions into ".text" and the programs
 * into their own "sk_lookup/NAME" sections. Each call is "call -1" (pseudo
 * call, src_reg = 1) with an R_BPF_64_32 relocation against the callee: the
 * loader must append every function a program reaches (here steer_to_slot,
 * and slot_for_protocol, which is only reached from steer_by_protocol) after
 * the program's own instructions and patch each call's immediate to the
 * callee's offset, in instructions, relative to the next instruction.
 *
 * Both programs call steer_to_slot, so it ends up copied into both.
 */
#include "sk_lookup_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} steer_map SEC(".maps");

/* Port that steer_by_port reacts to (host order); settable before load. */
const volatile __u32 steer_port = 7007;

/* Select the socket in steer_map[slot]. The map lookup takes a reference on
 * the socket, and this function drops it again before returning, so the
 * reference never crosses a call boundary. */
static __noinline int steer_to_slot(struct bpf_sk_lookup *ctx, __u32 slot)
{
	struct bpf_sock *sk;
	long err;

	sk = bpf_map_lookup_elem(&steer_map, &slot);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return err ? SK_DROP : SK_PASS;
}

/* UDP goes to slot 1, everything else to slot 0. Called from one program
 * only, and itself calls nothing: a second level of the call graph. */
static __noinline __u32 slot_for_protocol(struct bpf_sk_lookup *ctx)
{
	return ctx->protocol == IPPROTO_UDP ? 1 : 0;
}

/* Steer lookups for steer_port to steer_map[0]. */
SEC("sk_lookup/steer_by_port")
int steer_by_port(struct bpf_sk_lookup *ctx)
{
	if (ctx->local_port != steer_port)
		return SK_PASS;
	return steer_to_slot(ctx, 0);
}

/* Steer TCP to steer_map[0] and UDP to steer_map[1]. */
SEC("sk_lookup/steer_by_protocol")
int steer_by_protocol(struct bpf_sk_lookup *ctx)
{
	return steer_to_slot(ctx, slot_for_protocol(ctx));
}

char _license[] SEC("license") = "Dual BSD/GPL";
