#!/usr/bin/env bash
# Runs every test against the real kernel (as root), then checks that nothing leaked into the
# machine's own network namespace or /sys/fs/bpf.
set -uo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh || exit 1
before=$(ls -A /sys/fs/bpf 2>/dev/null | sort)
mounts_before=$(grep -c ' bpf ' /proc/self/mounts)
log=$(mktemp)
dotnet test SkLookup.slnx -c Release --no-restore --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
after=$(ls -A /sys/fs/bpf 2>/dev/null | sort)
leaks=0
if [ "$before" != "$after" ]; then
  echo "test.sh: tests left state behind in /sys/fs/bpf: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
  leaks=1
fi
mounts_after=$(grep -c ' bpf ' /proc/self/mounts)
if [ "$mounts_after" -gt "$mounts_before" ]; then
  echo "test.sh: tests left $((mounts_after - mounts_before)) bpffs mount(s) behind: $(grep ' bpf ' /proc/self/mounts | awk '{print $2}' | grep sklookup | tr '\n' ' ')"
  leaks=1
fi
attached=$(python3 scripts/host-sk-lookup-count.py)
if [ "$attached" != "0" ]; then
  echo "test.sh: $attached sk_lookup program(s) are attached in the machine's own network namespace"
  leaks=1
fi
# One summary line over all test assemblies, in the plain form CI reads.
awk '$1 == "Passed:" && NF == 2 { p += $2 } $1 == "Failed:" && NF == 2 { f += $2 } $1 == "Skipped:" && NF == 2 { s += $2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
[ "$status" = 0 ] && [ "$leaks" = 0 ]
