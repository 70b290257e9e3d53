#!/bin/sh
# Prove that the kernel's verifier accepts every committed test object.
#
# A developer aid (needs root, bpftool and python3); the product never uses it.
# It only loads programs: nothing is attached to any network namespace.
#
# Runs itself again inside a private mount namespace, where it mounts a fresh
# bpffs for the pinned programs and another over /sys/fs/bpf (libbpf pins
# maps with pinning = LIBBPF_PIN_BY_NAME there by default), so the host's
# bpffs is never touched. Both mounts vanish with the namespace; they are
# unmounted explicitly anyway.
#
# Usage: tests/bpf-objects/tools/verify.sh
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)

if [ "${SKLOOKUP_VERIFY_INNER:-}" != 1 ]; then
	SKLOOKUP_VERIFY_INNER=1 exec unshare --mount --propagation private "$0" "$@"
fi

fs=$(mktemp -d /tmp/progs-bpffs-XXXXXX)
logs=$(mktemp -d /tmp/progs-logs-XXXXXX)
mount -t bpf bpf "$fs"
mount -t bpf bpf /sys/fs/bpf
cleanup() {
	umount /sys/fs/bpf 2>/dev/null || true
	umount "$fs" 2>/dev/null || true
	rmdir "$fs" 2>/dev/null || true
	rm -rf "$logs"
}
trap cleanup EXIT

status=0
# load NAME [bpftool loadall options]
load() {
	name=$1
	shift
	mkdir "$fs/$name"
	if bpftool -d prog loadall "$here/$name.o" "$fs/$name" "$@" >"$logs/$name.log" 2>&1; then
		printf '%-16s accepted: %s\n' "$name.o" "$(ls "$fs/$name" | tr '\n' ' ')"
	else
		printf '%-16s REJECTED\n' "$name.o"
		tail -n 30 "$logs/$name.log"
		status=1
	fi
}

load sk_lookup_suite
# libbpf 1.x only knows the bare section name "sk_lookup", so objects whose
# programs live in "sk_lookup/NAME" need the type given explicitly.
load bpf2bpf type sk_lookup
load pinned_maps type sk_lookup
load core_reloc type sk_lookup
# libbpf 1.x refuses legacy "maps" sections outright; load that one by hand.
if (cd "$here/tools" && python3 load_legacy.py "$here/legacy_maps.o" >"$logs/legacy.log" 2>&1); then
	printf '%-16s accepted: legacy_select (loaded without libbpf)\n' legacy_maps.o
else
	printf '%-16s REJECTED\n' legacy_maps.o
	cat "$logs/legacy.log"
	status=1
fi
# Without CO-RE patching, core_reloc.o must be rejected (4-byte load of ctx->sk).
if (cd "$here/tools" && python3 load_unrelocated.py "$here/core_reloc.o" sk_lookup/core_port_gate reject >"$logs/core.log" 2>&1); then
	printf '%-16s rejected without CO-RE, as it must be: %s\n' core_reloc.o "$(sed 's/.*as compiled: reject //' "$logs/core.log")"
else
	printf '%-16s NOT rejected without CO-RE\n' core_reloc.o
	cat "$logs/core.log"
	status=1
fi
exit $status
