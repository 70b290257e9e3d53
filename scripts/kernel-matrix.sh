#!/usr/bin/env bash
# The kernel matrix: boots Debian's own cloud kernels in qemu guests and runs the test suite (or any
# command) inside each, with this machine's root file system visible read-only under a tmpfs
# overlay. Prints one line per kernel: "kernel 5.10.0-35-cloud-amd64: N passed, N failed, N skipped".
#
#   scripts/kernel-matrix.sh                      # the whole suite on 5.10, 6.1 and 6.12
#   scripts/kernel-matrix.sh --subset             # each capability's tests on each kernel (what .ci/run runs)
#   scripts/kernel-matrix.sh 5.10 --filter 'FullyQualifiedName~Probe'
#   scripts/kernel-matrix.sh 6.1 --command 'uname -r; ulimit -l'
#
# Kernels: 5.10 (Debian 11, bullseye), 6.1 (Debian 12, bookworm), 6.12 (Debian 13, trixie): the
# linux-image-cloud-amd64 of each suite, fetched with apt-get download through a private sources
# list and state directory (the machine's own apt configuration is never touched), and cached in
# /var/cache/sklookup-kernels. The guests run under qemu's TCG: /dev/kvm on these machines is not
# hardware virtualisation, and stock kernels do not boot under it. virtiofs shares the root, because
# Debian's cloud kernels have no 9p; its vhost-user transport needs the guest memory in a shared memfd.
#
# Options:
#   --jobs N         guests at once (default 2)
#   --filter EXPR    dotnet test --filter expression for every kernel
#   --subset         only the tests scripts/kernel-matrix/subset names for each capability, and a line per
#                    capability in the summary (one that ran no test fails the run)
#   --all            also the pure-logic tests (trait Kernel=Independent), which are the same on every kernel
#   --command CMD    run CMD (bash, in the repository) instead of the test suite
#   --cpus N         virtual CPUs per guest (default 2)
#   --memory MIB     memory per guest (default 4096)
#   --timeout MIN    wall-clock limit per guest (default 60)
#   --out DIR        where each guest's output goes (default artifacts/kernel-matrix)
#   --no-build       do not build the solution first
#   --refresh        resolve the newest kernel of each suite again (otherwise the cached one is used)
# Exit status: 0 when every guest's command exited 0, 1 otherwise, 2 for bad usage.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
here="$repo/scripts/kernel-matrix"
cache=${SKLOOKUP_KERNEL_CACHE:-/var/cache/sklookup-kernels}
jobs=2 filter="" command="" cpus=2 memory=4096 timeout_min=60 out="$repo/artifacts/kernel-matrix" build=1 refresh=0 all=0 subset=""
kernels=()

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "kernel-matrix: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --jobs) jobs=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --subset) subset="$here/subset"; shift ;;
    --command) command=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --timeout) timeout_min=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --all) all=1; shift ;;
    --refresh) refresh=1; shift ;;
    -h|--help) usage ;;
    5.10|6.1|6.12) kernels+=("$1"); shift ;;
    *) echo "kernel-matrix: unknown argument '$1' (kernels: 5.10 6.1 6.12)" >&2; exit 2 ;;
  esac
done
[ ${#kernels[@]} -gt 0 ] || kernels=(5.10 6.1 6.12)
[ "$(id -u)" = 0 ] || die "run as root: the guests' virtiofsd needs it"

suite_of() {
  case $1 in
    5.10) echo bullseye ;;
    6.1) echo bookworm ;;
    6.12) echo trixie ;;
  esac
}

# --- prerequisites --------------------------------------------------------------------------------
install_prerequisites() {
  local need=()
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  [ -x /usr/lib/qemu/virtiofsd ] || need+=(qemu-system-common)
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  command -v depmod >/dev/null || need+=(kmod)
  command -v xz >/dev/null || need+=(xz-utils)
  command -v zstd >/dev/null || need+=(zstd)
  if [ ${#need[@]} -gt 0 ]; then
    echo "kernel-matrix: installing ${need[*]}" >&2
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
      || die "cannot install ${need[*]}"
  fi
}


# --- kernels --------------------------------------------------------------------------------------
# apt-get and apt-cache with a private configuration for one suite: its own sources list, lists,
# cache and (empty) dpkg status, so nothing of the machine's own apt state is read or changed.
private_apt() {
  local tool=$1 suite=$2; shift 2
  local dir="$cache/apt/$suite"
  "$tool" -q \
    -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" -o Dir::State::status="$dir/status" \
    -o APT::Architecture=amd64 -o APT::Sandbox::User=root -o Acquire::Languages=none "$@"
}

private_apt_setup() {
  local suite=$1 dir="$cache/apt/$1"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  : >"$dir/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$dir/sources.list"
  private_apt apt-get "$suite" update -qq >/dev/null || die "apt-get update for $suite failed"
}

# Makes $cache/kernels/SERIES/ hold vmlinuz, modules/lib/modules/RELEASE (decompressed, depmod'ed)
# and initrd.gz, and prints the release.
prepare_kernel() {
  local series=$1 suite dir release
  suite=$(suite_of "$series")
  dir="$cache/kernels/$series"
  if [ "$refresh" = 0 ] && [ -f "$dir/ready" ]; then
    cat "$dir/release"
    return
  fi
  private_apt_setup "$suite"
  local package
  package=$(private_apt apt-cache "$suite" depends linux-image-cloud-amd64 \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }')
  [ -n "$package" ] || die "cannot resolve linux-image-cloud-amd64 in $suite"
  release=${package#linux-image-}
  if [ -f "$dir/ready" ] && [ "$(cat "$dir/release")" = "$release" ]; then
    echo "$release"
    return
  fi
  echo "kernel-matrix: fetching $package from $suite" >&2
  mkdir -p "$cache/debs"
  (cd "$cache/debs" && private_apt apt-get "$suite" download "$package" >/dev/null) || die "apt-get download $package failed"
  local deb
  deb=$(ls -t "$cache/debs/${package}_"*.deb | head -1)
  rm -rf "$dir"
  mkdir -p "$dir/extract" "$dir/modules/lib/modules"
  dpkg-deb -x "$deb" "$dir/extract" || die "cannot unpack $deb"
  cp "$dir/extract/boot/vmlinuz-$release" "$dir/vmlinuz" || die "$deb has no /boot/vmlinuz-$release"
  local moddir
  for moddir in "$dir/extract/lib/modules/$release" "$dir/extract/usr/lib/modules/$release"; do
    [ -d "$moddir" ] && mv "$moddir" "$dir/modules/lib/modules/$release"
  done
  [ -d "$dir/modules/lib/modules/$release" ] || die "$deb has no modules for $release"
  rm -rf "$dir/extract"
  # The guest loads modules with busybox insmod (initramfs) and the host's kmod (later): both take
  # plain .ko files, so decompress them and index them again.
  find "$dir/modules" -name '*.ko.xz' -exec xz -d -q {} +
  find "$dir/modules" -name '*.ko.zst' -exec zstd -d -q --rm {} +
  depmod -b "$dir/modules" "$release" || die "depmod for $release failed"
  build_initramfs "$dir" "$release"
  echo "$release" >"$dir/release"
  touch "$dir/ready"
  echo "$release"
}

# The modules that the first stage needs, dependencies first, as paths relative to the module tree.
module_closure() {
  local tree=$1; shift
  awk -v want="$*" '
    function base(p) { sub(/.*\//, "", p); sub(/\.ko$/, "", p); gsub(/-/, "_", p); return p }
    function visit(name,   i, n, parts) {
      if (name in seen) return
      seen[name] = 1
      n = split(deps[name], parts, " ")
      for (i = 1; i <= n; i++) visit(base(parts[i]))
      if (name in path) print path[name]
    }
    {
      file = $1; sub(/:$/, "", file)
      name = base(file); path[name] = file
      $1 = ""; deps[name] = $0
    }
    END { n = split(want, w, " "); for (i = 1; i <= n; i++) visit(w[i]) }
  ' "$tree/modules.dep"
}

build_initramfs() {
  local dir=$1 release=$2 tree stage
  tree="$dir/modules/lib/modules/$release"
  stage=$(mktemp -d)
  mkdir -p "$stage"/{bin,dev,proc,sys,modules}
  cp /bin/busybox "$stage/bin/busybox"
  cp "$here/init" "$stage/init"
  chmod +x "$stage/init"
  : >"$stage/modules.load"
  local module
  for module in $(module_closure "$tree" virtio_pci virtio_rng virtiofs overlay); do
    cp "$tree/$module" "$stage/modules/"
    basename "$module" >>"$stage/modules.load"
  done
  (cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$dir/initrd.gz" || die "cannot build the initramfs"
  rm -rf "$stage"
}

# The test filter for a kernel: every test that touches the kernel. Pure logic (the trait
# Kernel=Independent: ELF parsing, encodings, file formats) is the same on every kernel and runs in
# the native suite only, unless --all; --filter narrows it further.
filter_for() {
  local base="" chosen
  [ "$all" = 1 ] || base="Kernel!=Independent"
  if [ -n "$subset" ]; then
    # Every capability's filter, each in parentheses, joined by "or".
    chosen=$(awk -F '\t' '!/^#/ && NF == 2 { printf "%s(%s)", sep, $2; sep = "|" }' "$subset")
    base="($chosen)${base:+&$base}"
  fi
  if [ -n "$filter" ] && [ -n "$base" ]; then
    printf '(%s)&%s' "$filter" "$base"
  else
    printf '%s' "$filter$base"
  fi
}

# --- guests ---------------------------------------------------------------------------------------
# Runs one guest to completion. Its writable share is $out/SERIES: command, workdir, guest.sh go
# in; output.log, status (and the tests' TRX files) come out.
run_guest() {
  local series=$1 release=$2 kdir="$cache/kernels/$1" share="$out/$1" run
  rm -rf "$share"
  mkdir -p "$share"
  run=$(mktemp -d /tmp/kernel-matrix.XXXXXX)
  cp "$here/guest.sh" "$share/guest.sh"
  echo "$snapshot" >"$share/workdir"
  echo "$kdir/modules/lib/modules/$release" >"$share/modules-path"
  if [ -n "$command" ]; then
    printf '%s\n' "$command" >"$share/command"
  else
    cp "$here/run-tests.sh" "$share/run-tests.sh"
    echo 'exec /bin/bash /mnt/kernel-matrix/run-tests.sh' >"$share/command"
    printf '%s' "$(filter_for "$series")" >"$share/filter"
  fi
  # virtiofsd serves a read-only bind mount of / from a private mount namespace: the guest can
  # write only to its tmpfs overlay and to its own share.
  mkdir -p "$run/root"
  unshare -m --propagation private sh -c '
    mount --bind / "$1" && mount -o remount,bind,ro "$1" &&
    exec /usr/lib/qemu/virtiofsd --socket-path="$2" -o source="$1" -o cache=always -o sandbox=namespace -o log_level=err
  ' sh "$run/root" "$run/root.sock" 2>"$run/virtiofsd-root.log" &
  local fs_root=$!
  /usr/lib/qemu/virtiofsd --socket-path="$run/results.sock" -o source="$share" -o cache=none -o sandbox=namespace \
    -o log_level=err 2>"$run/virtiofsd-results.log" &
  local fs_results=$!
  local i
  for i in $(seq 100); do
    [ -S "$run/root.sock" ] && [ -S "$run/results.sock" ] && break
    sleep 0.1
  done
  local started=$SECONDS
  timeout --kill-after=30 "${timeout_min}m" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu "${SKLOOKUP_QEMU_CPU:-max}" -smp "$cpus" -m "$memory" \
    -object memory-backend-memfd,id=mem,size="${memory}M",share=on -machine q35,memory-backend=mem \
    -kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.gz" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 random.trust_cpu=on mitigations=off" \
    -chardev socket,id=root,path="$run/root.sock" -device vhost-user-fs-pci,chardev=root,tag=root \
    -chardev socket,id=results,path="$run/results.sock" -device vhost-user-fs-pci,chardev=results,tag=results \
    -device virtio-rng-pci -nodefaults -no-user-config -display none -no-reboot \
    -serial file:"$share/console.log" >"$run/qemu.log" 2>&1
  local qemu_status=$?
  echo $((SECONDS - started)) >"$share/seconds"
  kill "$fs_root" "$fs_results" 2>/dev/null
  wait "$fs_root" "$fs_results" 2>/dev/null
  if [ ! -f "$share/status" ]; then
    { echo "kernel-matrix: the guest ended without a status (qemu exit $qemu_status)"; cat "$run/qemu.log" "$run"/virtiofsd-*.log; tail -20 "$share/console.log"; } >"$share/error"
  fi
  rm -rf "$run"
}

# One line per kernel, in the plain form CI reads, with each skip's reason counted once.
summarize() {
  local series=$1 release=$2 share="$out/$1"
  local seconds
  seconds=$(cat "$share/seconds" 2>/dev/null || echo "?")
  if [ -f "$share/error" ]; then
    echo "kernel $release: did not finish (${seconds}s): $(head -1 "$share/error")"
    # What ran before the guest was stopped, from the logs of the assemblies that did not finish.
    [ -z "$command" ] && [ -d "$share/logs" ] && python3 "$here/summary.py" "$release" "$seconds" "$share/trx" $subset
    return 1
  fi
  if [ -n "$command" ]; then
    echo "kernel $release: command exited $(cat "$share/status") (${seconds}s)"
    return 0
  fi
  python3 "$here/summary.py" "$release" "$seconds" "$share/trx" $subset
}

# --- main -----------------------------------------------------------------------------------------
# Everything runs from this function, parsed whole before it starts: editing the script while a
# matrix runs (it takes a while) cannot change what the running one does.
main() {
  install_prerequisites
  mkdir -p "$cache" "$out"
  declare -A releases
  for series in "${kernels[@]}"; do
    releases[$series]=$(prepare_kernel "$series") || exit 1
  done
  if [ "$build" = 1 ] && [ -z "$command" ]; then
    (cd "$repo" && dotnet build SkLookup.slnx -c Release --nologo -v quiet) >/dev/null || die "the build failed"
  fi

  # The guests run the tests from a snapshot of the built tree, so that building on the host while they
  # run (other work goes on) cannot change the assemblies under them. /var/tmp: the guests' /tmp is their own.
  snapshot=$(mktemp -d /var/tmp/sklookup-kernel-matrix.XXXXXX)
  trap 'rm -rf "$snapshot"' EXIT
  (cd "$repo" && tar --exclude=./.git --exclude=./artifacts -cf - .) | tar -xf - -C "$snapshot" || die "cannot snapshot $repo"

  matrix_started=$SECONDS
  pids=()
  for series in "${kernels[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 2; done
    echo "kernel-matrix: booting ${releases[$series]}" >&2
    run_guest "$series" "${releases[$series]}" &
    pids+=($!)
  done
  wait "${pids[@]}"

  status=0
  for series in "${kernels[@]}"; do
    summarize "$series" "${releases[$series]}" || status=1
    [ "$(cat "$out/$series/status" 2>/dev/null)" = 0 ] || status=1
  done
  echo "kernel matrix: $((SECONDS - matrix_started))s for ${#kernels[@]} kernel(s), $jobs at a time"
  exit $status
}

main "$@"; exit $?
