/*
 * legacy_maps.c: maps declared the pre-BTF way, as struct bpf_map_def
 * variables in the section "maps". libbpf dropped support for this in 1.0,
 * but old objects still carry it, so a loader has to either read it or
 * refuse it with a clear message.
 *
 * Each variable in "maps" is 20 bytes (five u32 fields, below) and the
 * program refers to it by symbol, exactly as to a BTF-defined map.
 */
#include "sk_lookup_helpers.h"

/* Layout of a legacy map definition (libbpf's old struct bpf_map_def). */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

/* Slot 0 holds the socket to steer to. */
struct bpf_map_def SEC("maps") legacy_sockets = {
	.type = BPF_MAP_TYPE_SOCKMAP,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

/* Counts the lookups the program has seen (one u64 in slot 0). */
struct bpf_map_def SEC("maps") legacy_hits = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 1,
};

/* Count the lookup, then steer it to legacy_sockets[0] if that is set. */
SEC("sk_lookup/legacy_select")
int legacy_select(struct bpf_sk_lookup *ctx)
{
	__u32 slot = 0;
	__u64 *hits;
	struct bpf_sock *sk;
	long err;

	hits = bpf_map_lookup_elem(&legacy_hits, &slot);
	if (hits)
		__sync_fetch_and_add(hits, 1);

	sk = bpf_map_lookup_elem(&legacy_sockets, &slot);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return err ? SK_DROP : SK_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
