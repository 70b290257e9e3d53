#!/usr/bin/env bash
# Installs what the demo, the tests and the benchmarks need on a fresh Debian 12 machine (run as root).
# The product itself needs none of it but the .NET SDK.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v gcc >/dev/null || need+=(gcc)
[ -f /usr/include/linux/bpf.h ] || need+=(linux-libc-dev)
command -v python3 >/dev/null || need+=(python3)
# The test that checks the sample's systemd units runs systemd-analyze verify (PID 1 need not be systemd).
command -v systemd-analyze >/dev/null || need+=(systemd)
# The man page test formats the page with groff.
command -v groff >/dev/null || need+=(groff-base)
# Only the test that checks the committed BPF objects against their C sources uses clang.
command -v clang-14 >/dev/null || need+=(clang-14)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is missing (dotnet not on PATH)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "setup: run as root: the demo and the tests load BPF programs and create network namespaces" >&2; exit 1; }
dotnet restore "$(dirname "$0")/../SkLookup.slnx" --verbosity quiet
