#!/usr/bin/env bash
# Runs the SkLookup benchmarks and writes BENCHMARKS.md at the repository root (as root).
#   bench/run.sh            # the full run, about 30 minutes
#   bench/run.sh --quick    # a shorter check, about 10 minutes
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
[ -x /usr/bin/time ] || need+=(time)             # sklookup apply's wall time, CPU time and peak RSS
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "bench/run.sh: the .NET 10 SDK is missing (dotnet not on PATH)" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/SkLookup.Benchmarks/SkLookup.Benchmarks.csproj -c Release --verbosity quiet -nologo
# The control plane part times `sklookup bind` in each form of the tool: build them unless another part runs alone.
only=""
prev=""
for arg in "$@"; do [ "$prev" = --only ] && only="$arg"; prev="$arg"; done
if [ -z "$only" ] || [ "$only" = control ]; then
  dotnet build src/SkLookup.Cli/SkLookup.Cli.csproj -c Release --verbosity quiet -nologo
  mkdir -p artifacts/cli
  rm -rf artifacts/cli/linux-*-aot artifacts/cli/aot-build-failed.txt
  if ! scripts/publish-cli.sh --aot >artifacts/cli/publish.log 2>&1; then
    # Native AOT needs a C toolchain; without it the report says so and times the single file.
    { grep -m 3 -E 'error|Error' artifacts/cli/publish.log || tail -n 3 artifacts/cli/publish.log; } | tr '\n' ' ' >artifacts/cli/aot-build-failed.txt
    rm -rf artifacts/cli/linux-*-aot
    scripts/publish-cli.sh >>artifacts/cli/publish.log 2>&1 || echo "bench/run.sh: scripts/publish-cli.sh failed (artifacts/cli/publish.log); the report will say which forms are missing" >&2
  fi
  # The dotnet tool as users get it: installed from the packages publish-cli.sh made.
  # A private package folder: the version does not change between builds, so the global one would hand out a stale copy.
  rm -rf artifacts/cli/tool artifacts/cli/tool-packages
  NUGET_PACKAGES="$PWD/artifacts/cli/tool-packages" dotnet tool install --tool-path artifacts/cli/tool --add-source artifacts/cli/nupkg SkLookup.Cli >>artifacts/cli/publish.log 2>&1 ||
    echo "bench/run.sh: dotnet tool install failed (artifacts/cli/publish.log); the report will say the dotnet tool is missing" >&2
fi
# A little more CPU priority than the rest of the machine for the sender thread and the measuring thread.
exec nice -n -10 dotnet bench/SkLookup.Benchmarks/bin/Release/net10.0/SkLookup.Benchmarks.dll --output BENCHMARKS.md "$@"
