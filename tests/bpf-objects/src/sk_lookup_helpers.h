/*
 * sk_lookup_helpers.h: the few definitions our BPF test objects need, so that
 * they build with clang and linux-libc-dev alone (no libbpf-dev).
 *
 * Struct layouts, map types and enum constants come from the kernel's UAPI
 * header <linux/bpf.h>. What libbpf's bpf_helpers.h would normally add (SEC,
 * the BTF map-definition macros, helper prototypes) is declared here, and the
 * numbers we rely on are pinned with static assertions, so a header that ever
 * disagreed would fail the build instead of producing a wrong object.
 */
#ifndef SK_LOOKUP_HELPERS_H
#define SK_LOOKUP_HELPERS_H

#include <linux/types.h>
#include <linux/bpf.h>

/* ---- Sections and attributes ------------------------------------------ */

/* Put a program, map or variable into a named ELF section. "used" keeps
 * clang from dropping an object that nothing in this file refers to. */
#define SEC(name) __attribute__((section(name), used))

/* <linux/stddef.h> defines __always_inline as a bare "inline"; we want the
 * real attribute, as libbpf's headers do. */
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))

#ifndef NULL
#define NULL ((void *)0)
#endif

/*
 * BTF-defined maps (section ".maps"). Each map is a struct variable whose
 * member *types* carry the attributes:
 *   __uint(name, N)  becomes  int (*name)[N]   (N is the array length in BTF)
 *   __type(name, T)  becomes  T *name          (T is the pointee type in BTF)
 * The variable's bytes in .maps are all zero; only the BTF matters.
 */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val) *name

/* Values of the "pinning" attribute, as libbpf defines them. */
enum map_pinning {
	LIBBPF_PIN_NONE = 0,
	LIBBPF_PIN_BY_NAME = 1,
};

/* ---- Helper functions, called by number --------------------------------- */

/* A call to one of these compiles to "call N": the helper id is the
 * instruction's immediate and there is no relocation. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key,
				   const void *value, __u64 flags) = (void *)2;
static long (*bpf_sk_select_reuseport)(struct sk_reuseport_md *reuse,
				       void *map, void *key,
				       __u64 flags) = (void *)82;
static long (*bpf_sk_release)(void *sock) = (void *)86;
static long (*bpf_sk_assign)(void *ctx, void *sk, __u64 flags) = (void *)124;

_Static_assert(BPF_FUNC_map_lookup_elem == 1, "helper id map_lookup_elem");
_Static_assert(BPF_FUNC_map_update_elem == 2, "helper id map_update_elem");
_Static_assert(BPF_FUNC_sk_select_reuseport == 82, "helper id sk_select_reuseport");
_Static_assert(BPF_FUNC_sk_release == 86, "helper id sk_release");
_Static_assert(BPF_FUNC_sk_assign == 124, "helper id sk_assign");

/* ---- Constants ---------------------------------------------------------- */

/*
 * <linux/bpf.h> already declares these as enumerators, so we do not
 * redefine them; we only check the values our tests and docs quote:
 *   SK_DROP = 0, SK_PASS = 1,
 *   BPF_SK_LOOKUP_F_REPLACE = 1, BPF_SK_LOOKUP_F_NO_REUSEPORT = 2,
 *   BPF_ANY = 0, BPF_TCP_LISTEN = 10.
 */
_Static_assert(SK_DROP == 0, "SK_DROP");
_Static_assert(SK_PASS == 1, "SK_PASS");
_Static_assert(BPF_SK_LOOKUP_F_REPLACE == 1, "BPF_SK_LOOKUP_F_REPLACE");
_Static_assert(BPF_SK_LOOKUP_F_NO_REUSEPORT == 2, "BPF_SK_LOOKUP_F_NO_REUSEPORT");
_Static_assert(BPF_ANY == 0, "BPF_ANY");
_Static_assert(BPF_TCP_LISTEN == 10, "BPF_TCP_LISTEN");
_Static_assert(sizeof(struct bpf_sk_lookup) == 72, "struct bpf_sk_lookup size");

/* Socket-layer numbers, spelled out so that no libc header is needed when
 * compiling for the BPF target. Values are Linux's (all architectures). */
#define AF_INET		2
#define AF_INET6	10
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17

/* Error numbers the programs compare helper results against. */
#define ENOENT		2
#define EEXIST		17
#define ESOCKTNOSUPPORT	94

/* ---- Byte order ---------------------------------------------------------- */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_TO_BE16(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define HOST_TO_BE32(x) ((__u32)__builtin_bswap32((__u32)(x)))
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_TO_BE16(x) ((__u16)(x))
#define HOST_TO_BE32(x) ((__u32)(x))
#else
#error "unknown byte order"
#endif

/* An IPv4 address a.b.c.d as the kernel stores it (network order). */
#define IPV4_ADDR(a, b, c, d) \
	HOST_TO_BE32(((__u32)(a) << 24) | ((__u32)(b) << 16) | \
		     ((__u32)(c) << 8) | (__u32)(d))

/* An IPv6 address given as four host-order 32-bit groups, as the kernel
 * stores it in bpf_sk_lookup (four network-order words). */
#define IPV6_ADDR(w0, w1, w2, w3) \
	{ HOST_TO_BE32(w0), HOST_TO_BE32(w1), HOST_TO_BE32(w2), HOST_TO_BE32(w3) }

#endif /* SK_LOOKUP_HELPERS_H */
