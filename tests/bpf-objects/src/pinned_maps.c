/*
 * pinned_maps.c: BTF-defined maps with the "pinning" attribute.
 *
 * pinning = LIBBPF_PIN_BY_NAME (1) asks the loader to pin the map at
 * <pin directory>/<map name> and, if a map is already pinned there (and has
 * the same type, key size, value size, max_entries and flags), to reuse it
 * instead of creating a new one. In BTF the attribute is one more member,
 * "pinning", of type int (*)[1]. unpinned_scratch has no such member, for
 * contrast.
 */
#include "sk_lookup_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} unpinned_scratch SEC(".maps");

/* Count the lookup, remember its port, and steer it to pinned_sockets[0]. */
SEC("sk_lookup/pinned_select")
int pinned_select(struct bpf_sk_lookup *ctx)
{
	__u32 slot = 0;
	__u32 port = ctx->local_port;
	__u64 *hits;
	struct bpf_sock *sk;
	long err;

	hits = bpf_map_lookup_elem(&pinned_hits, &slot);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	bpf_map_update_elem(&unpinned_scratch, &slot, &port, BPF_ANY);

	sk = bpf_map_lookup_elem(&pinned_sockets, &slot);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return err ? SK_DROP : SK_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
