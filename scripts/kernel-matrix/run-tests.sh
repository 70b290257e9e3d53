#!/bin/bash
# Runs inside a guest, in the snapshot of the repository: every test assembly at once (each in its own
# dotnet test, so their logs stay apart), with a TRX file each for the summary. The filter, if any,
# is in /mnt/kernel-matrix/filter. Exits non-zero if any assembly failed.
share=/mnt/kernel-matrix
filter=()
[ -s "$share/filter" ] && filter=(--filter "$(cat "$share/filter")")
mkdir -p "$share/trx" "$share/logs"
pids=()
for dll in tests/*/bin/Release/net*/SkLookup*.Tests.dll; do
  name=$(basename "$dll" .dll)
  dotnet test "$dll" "${filter[@]}" --logger "console;verbosity=normal" --logger "trx;LogFileName=$name.trx" \
    --results-directory "$share/trx" >"$share/logs/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit $status
