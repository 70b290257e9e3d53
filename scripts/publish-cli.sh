#!/usr/bin/env bash
# Builds the sklookup tool in its shipping forms, under artifacts/cli/:
#   nupkg/SkLookup.Cli.VERSION.nupkg   a dotnet tool:
#                                       dotnet tool install -g --add-source artifacts/cli/nupkg SkLookup.Cli
#                                       framework-dependent; with --aot, .NET 10's RID-specific tool instead: a
#                                       native AOT package for this RID, and the framework-dependent one ("any")
#                                       that every other platform installs
#   RID/sklookup                        the single file (needs no .NET on the target): with --aot, the native AOT
#                                       binary, which is one self-contained file and starts fastest; without, RID-r2r's
#   RID-r2r/sklookup                    one self-contained file built without a C toolchain (trimmed, ReadyToRun)
#   RID-aot/sklookup                    native AOT, only with --aot (needs clang, or gcc with --aot-gcc, and zlib);
#                                       --aot-only builds just this one (what the Debian package ships)
# RID defaults to this machine's (linux-x64 or linux-arm64); pass -r RID to choose.
set -euo pipefail
cd "$(dirname "$0")/.."
project=src/SkLookup.Cli/SkLookup.Cli.csproj
out=artifacts/cli
rid=""
aot=0
only_aot=0
linker=""
while [ $# -gt 0 ]; do
  case "$1" in
    -r) rid="$2"; shift 2 ;;
    --aot) aot=1; shift ;;
    --aot-gcc) aot=1; linker=gcc; shift ;;
    --aot-only) aot=1; only_aot=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "publish-cli.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
if [ -z "$rid" ]; then
  case "$(uname -m)" in
    x86_64) rid=linux-x64 ;;
    aarch64) rid=linux-arm64 ;;
    *) echo "publish-cli.sh: unknown machine $(uname -m); pass -r RID" >&2; exit 2 ;;
  esac
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "$only_aot" = 0 ]; then
  rm -rf "$out/nupkg"
  if [ "$aot" = 1 ]; then
    echo "== dotnet tool packages (native AOT for $rid, framework-dependent for any other platform)"
    extra=()
    [ -n "$linker" ] && extra+=("-p:CppCompilerAndLinker=$linker")
    # The top-level package names the RID packages; each RID's package is packed on its own, the AOT one natively.
    dotnet pack "$project" -c Release -o "$out/nupkg" -p:SkLookupAotTool=true --nologo -v quiet
    dotnet pack "$project" -c Release -o "$out/nupkg" -p:SkLookupAotTool=true -r "$rid" -p:DebugType=none "${extra[@]}" --nologo -v quiet
    dotnet pack "$project" -c Release -o "$out/nupkg" -p:SkLookupAotTool=true -r any --nologo -v quiet
  else
    echo "== dotnet tool package (framework-dependent)"
    dotnet pack "$project" -c Release -o "$out/nupkg" --nologo -v quiet
  fi


  echo "== single file, trimmed and ReadyToRun ($rid)"
  # The apphost is named after the assembly (SkLookup.Cli); users type sklookup, so it is renamed. ReadyToRun
  # and no compression: the file is larger (about 25 MB), but it starts without inflating itself or JIT-compiling
  # most of its code. It still starts a runtime: about 30 ms before any work, where native AOT takes 3.
  dotnet publish "$project" -c Release -r "$rid" --self-contained -p:PublishSingleFile=true \
    -p:PublishTrimmed=true -p:PublishReadyToRun=true -p:DebugType=none -o "$out/$rid.tmp" --nologo -v quiet
  rm -rf "$out/$rid-r2r" "$out/$rid"; mkdir -p "$out/$rid-r2r" "$out/$rid"
  mv "$out/$rid.tmp/SkLookup.Cli" "$out/$rid-r2r/sklookup"
  rm -rf "$out/$rid.tmp"
  cp "$out/$rid-r2r/sklookup" "$out/$rid/sklookup"
fi

if [ "$aot" = 1 ]; then
  echo "== native AOT ($rid)"
  extra=()
  [ -n "$linker" ] && extra+=("-p:CppCompilerAndLinker=$linker")
  dotnet publish "$project" -c Release -r "$rid" -p:PublishAot=true -p:DebugType=none "${extra[@]}" \
    -o "$out/$rid-aot.tmp" --nologo -v quiet
  rm -rf "$out/$rid-aot"; mkdir -p "$out/$rid-aot"
  mv "$out/$rid-aot.tmp/SkLookup.Cli" "$out/$rid-aot/sklookup"
  rm -rf "$out/$rid-aot.tmp"
  if [ "$only_aot" = 0 ]; then
    # The single file to hand out is the native AOT binary where it builds: one self-contained file, like the
    # ReadyToRun one, that starts without a runtime to start.
    cp "$out/$rid-aot/sklookup" "$out/$rid/sklookup"
  fi
fi

echo "== built"
find "$out" -maxdepth 2 -type f \( -name '*.nupkg' -o -name sklookup \) -exec ls -lh {} \; | awk '{print $5, $9}'
