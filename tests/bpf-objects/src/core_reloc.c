/*
 * core_reloc.c: a program that needs a CO-RE relocation to be correct.
 *
 * struct bpf_sk_lookup___local is our own, shorter view of the context: its
 * only member, local_port, sits at offset 0 here, but at offset 60 in the
 * kernel's struct bpf_sk_lookup (the "___local" suffix is dropped when the
 * loader matches the type against the kernel's BTF). preserve_access_index
 * makes clang record the access in .BTF.ext as a CO-RE relocation (kind
 * FIELD_BYTE_OFFSET, access string "0:0") while it compiles the load as
 * "r1 = *(u32 *)(r1 + 0)".
 *
 * A CO-RE-aware loader (libbpf) patches the offset to 60 and the kernel
 * accepts the program. A loader that ignores the relocation hands the kernel
 * a 4-byte load at offset 0 (the 8-byte sk field), which the verifier
 * rejects ("invalid bpf_context access"). Our loader does not do CO-RE, so it
 * must refuse this object up front and say why.
 */
#include "sk_lookup_helpers.h"

struct bpf_sk_lookup___local {
	__u32 local_port;
} __attribute__((preserve_access_index));

/* Drop lookups for port 7007, pass everything else. */
SEC("sk_lookup/core_port_gate")
int core_port_gate(struct bpf_sk_lookup *ctx)
{
	struct bpf_sk_lookup___local *view = (void *)ctx;

	return view->local_port == 7007 ? SK_DROP : SK_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
