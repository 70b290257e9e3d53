#!/usr/bin/env bash
# The main job: a demo of sk_lookup steering in a private network namespace.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
dotnet run --project src/SkLookup.Cli -c Release -- demo
