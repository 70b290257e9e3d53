#!/usr/bin/env bash
# Runs the SkLookup benchmarks and writes BENCHMARKS.md at the repository root (as root).
#   sudo bench/run.sh            # the full run, about 9 minutes
#   sudo bench/run.sh --quick    # a shorter check, about 2 minutes
# Other options go through to the benchmark (bench/run.sh --help lists them). Everything happens in
# network namespaces the benchmark creates and removes; the machine's own namespace is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root: the benchmarks load BPF programs and create network namespaces" >&2; exit 1; }
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v unshare >/dev/null || need+=(util-linux)
command -v nft >/dev/null || need+=(nftables)   # the TPROXY comparison (inside the benchmark's own namespace only)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "bench/run.sh: the .NET 10 SDK is missing (dotnet not on PATH)" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/SkLookup.Benchmarks/SkLookup.Benchmarks.csproj -c Release --verbosity quiet -nologo
# A little more CPU priority than the rest of the machine for the sender thread and the measuring thread.
exec nice -n -10 dotnet bench/SkLookup.Benchmarks/bin/Release/net10.0/SkLookup.Benchmarks.dll --output BENCHMARKS.md "$@"
