#!/usr/bin/env bash
# Runs the fuzzer and the live-traffic run with a larger budget, the kill-point suite and the privilege matrix, and writes RELIABILITY.md (as root).
#   scripts/reliability.sh              # scale 20: about 10 minutes on two shared cores
#   SKLOOKUP_FUZZ_SCALE=5 scripts/reliability.sh
# Everything happens in network namespaces and bpffs mounts the tests create and remove; the machine's own
# namespace is not touched. CI runs the same tests at scale 1 as part of ./test.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/reliability.sh: run as root: the tests load BPF programs and create network namespaces" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "scripts/reliability.sh: the .NET 10 SDK is missing (dotnet not on PATH)" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
scale="${SKLOOKUP_FUZZ_SCALE:-20}"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
start=$(date +%s)
dotnet build tests/SkLookup.Cli.Tests/SkLookup.Cli.Tests.csproj -c Release --verbosity quiet -nologo || exit 1
SKLOOKUP_FUZZ_SCALE="$scale" SKLOOKUP_RELIABILITY_DIR="$data" \
  dotnet test tests/SkLookup.Cli.Tests/SkLookup.Cli.Tests.csproj -c Release --no-build --filter "Category=Fuzz|Category=KillPoints|Category=Privileges" \
  --logger "console;verbosity=normal" >"$data/test.log" 2>&1
status=$?
python3 scripts/reliability-report.py "$data" "$scale" "$start" "$status" >RELIABILITY.md || exit 1
grep -E "^\s*(Total tests|Passed|Failed|Skipped):" "$data/test.log" || tail -n 20 "$data/test.log"
echo "scripts/reliability.sh: wrote RELIABILITY.md"
exit "$status"
