#!/bin/bash
# Runs inside a guest, in the snapshot of the repository: every test assembly, two at a time (each in
# its own dotnet test, so their logs stay apart), with a TRX file each for the summary. The filter, if any,
# is in /mnt/kernel-matrix/filter. Exits non-zero if any assembly failed.
share=/mnt/kernel-matrix
filter=()
[ -s "$share/filter" ] && filter=(--filter "$(cat "$share/filter")")
mkdir -p "$share/trx" "$share/logs"
# A testhost under TCG takes a while to start: give vstest more than its 90 s to hear from it.
export VSTEST_CONNECTION_TIMEOUT=900
# Two assemblies at a time (the guest has two CPUs), the longest first.
assemblies=()
for name in SkLookup.Tests SkLookup.Bpf.Tests SkLookup.Cli.Tests SkLookup.Hosting.Tests; do
  for dll in tests/$name/bin/Release/net*/$name.dll; do
    [ -f "$dll" ] && assemblies+=("$dll")
  done
done
run() {
  local dll=$1 name
  name=$(basename "$dll" .dll)
  dotnet test "$dll" "${filter[@]}" --logger "console;verbosity=normal" --logger "trx;LogFileName=$name.trx" \
    --results-directory "$share/trx" >"$share/logs/$name.log" 2>&1
}
status=0
pids=()
for dll in "${assemblies[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do
    wait -n || status=1
  done
  run "$dll" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
  wait -n || status=1
done
exit $status
