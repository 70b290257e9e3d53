#!/usr/bin/env bash
# The Debian package, end to end, as an operator meets it (CI runs this after the test suite):
#   1. builds it (scripts/package-deb.sh) and runs lintian on it: an error tag fails, warnings are listed;
#   2. installs it with dpkg -i and checks what it put where: the tool, the units, the group, the modes
#      of /etc/sklookup, the completions and the man page;
#   3. checks the installed units with systemd-analyze verify;
#   4. runs the ExecStart lines of sklookup.service and sklookup-apply.service, as written in the installed
#      units, against a private network namespace and a private bpffs, and the tool's day-to-day commands;
#   5. removes and purges it, and checks that nothing is left: files, group, /etc/sklookup.
# Run as root on a machine without the package. Nothing touches this machine's network namespace: if
# PID 1 is systemd, a policy-rc.d keeps the maintainer scripts from starting units while the test runs.
# Options: --deb FILE tests a package built already; --binary PATH packages an AOT binary built already.
set -euo pipefail
cd "$(dirname "$0")/.."
deb="" package_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb="$2"; shift 2 ;;
    --binary) package_args+=(--binary "$2"); shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-deb.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "test-deb.sh: run as root: it installs and removes the package" >&2; exit 1; }
if dpkg-query -W -f='${Status}' sklookup 2>/dev/null | grep -q 'installed'; then
  echo "test-deb.sh: sklookup is installed on this machine already; this test installs and purges its own copy, so remove it first" >&2
  exit 1
fi
command -v lintian >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian >/dev/null; }

failures=0
check() { # check DESCRIPTION COMMAND...: runs the command, prints ok or FAIL with its output
  local what=$1; shift
  local said
  if said=$("$@" 2>&1); then
    echo "  ok   $what"
  else
    echo "  FAIL $what"; printf '%s\n' "$said" | sed 's/^/       /'
    failures=$((failures + 1))
  fi
}

netns="sklookup-deb-$$"
bpffs=$(mktemp -d /tmp/sklookup-deb-bpffs.XXXXXX)
units=$(mktemp -d /tmp/sklookup-deb-units.XXXXXX)
policy_added=0
cleanup() {
  umount "$bpffs" 2>/dev/null || true
  rmdir "$bpffs" 2>/dev/null || true
  ip netns delete "$netns" 2>/dev/null || true
  rm -rf "$units"
  if dpkg-query -W sklookup >/dev/null 2>&1; then dpkg --purge sklookup >/dev/null 2>&1 || true; fi
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}
trap cleanup EXIT

if [ -z "$deb" ]; then
  echo "== build"
  scripts/package-deb.sh --no-lintian "${package_args[@]}" | tail -n 1
  deb=$(ls artifacts/deb/sklookup_*.deb)
fi

echo "== lintian $(basename "$deb")"
tags=$(lintian --pedantic --tag-display-limit 0 "$deb" 2>&1 | grep -v '^running with root privileges' || true)
if [ -n "$tags" ]; then printf '%s\n' "$tags" | sed 's/^/  /'; else echo "  clean"; fi
check "lintian reports no error" bash -c "! grep -q '^E: ' <<< \"\$1\"" _ "$tags"

echo "== install"
if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  # The maintainer scripts would start sklookup.service, which loads the dispatcher into this
  # machine's own namespace: 101 is "action forbidden" to deb-systemd-invoke.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && policy_added=1
fi
check "dpkg -i" dpkg -i "$deb"
check "/usr/bin/sklookup runs" /usr/bin/sklookup --version
check "the group sklookup exists" getent group sklookup
check "/etc/sklookup is root:sklookup 0750" test "$(stat -c '%U:%G %a' /etc/sklookup)" = "root:sklookup 750"
check "bindings.json is root:sklookup 0640, a conffile" bash -c \
  'test "$(stat -c "%U:%G %a" /etc/sklookup/bindings.json)" = "root:sklookup 640" && grep -qx /etc/sklookup/bindings.json /var/lib/dpkg/info/sklookup.conffiles'
for unit in sklookup.service sklookup-apply.path sklookup-apply.service sklookup-register@.service; do
  check "unit $unit installed" test -f "/lib/systemd/system/$unit"
done
check "bash completion completes 'sklookup bi'" bash --norc -c \
  'source /usr/share/bash-completion/completions/sklookup; COMP_WORDS=(sklookup bi); COMP_CWORD=1; _sklookup; [ "${COMPREPLY[*]}" = "bind bindings" ]'
check "zsh completion installed" grep -q '^#compdef sklookup' /usr/share/zsh/vendor-completions/_sklookup
check "man page sklookup(8) formats without warnings" bash -c \
  'out=$(zcat /usr/share/man/man8/sklookup.8.gz | groff -man -Tutf8 -ww -z 2>&1) && [ -z "$out" ]'

echo "== systemd-analyze verify"
# A socket unit for the template's instance (sklookup-register@web needs web.socket) and the instance itself.
printf '[Socket]\nListenStream=127.0.0.1:8080\n' > "$units/web.socket"
printf '[Service]\nExecStart=/bin/true\n' > "$units/web.service"
ln -s /lib/systemd/system/sklookup-register@.service "$units/sklookup-register@web.service"
check "the installed units verify" bash -c \
  'out=$(systemd-analyze verify /lib/systemd/system/sklookup.service /lib/systemd/system/sklookup-apply.path /lib/systemd/system/sklookup-apply.service "$1/web.socket" "$1/sklookup-register@web.service" 2>&1) && [ -z "$out" ] || { echo "$out"; false; }' _ "$units"

echo "== the units' commands, in a private namespace"
ip netns add "$netns"
ip -n "$netns" link set lo up
mount -t bpf bpf "$bpffs"
run() { ip netns exec "$netns" "$@" --bpffs "$bpffs"; }
# Each ExecStart line of the installed unit, as written there, with only the namespace and bpffs added.
for unit in sklookup.service sklookup-apply.service; do
  while IFS= read -r line; do
    # shellcheck disable=SC2086 # the unit's own word splitting
    check "$unit: ${line#ExecStart=}" run ${line#ExecStart=}
  done < <(grep '^ExecStart=' "/lib/systemd/system/$unit")
done
cat > "$units/bindings.json" <<'JSON'
{ "bindings": [ { "label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80 } ] }
JSON
check "apply a file with one binding" run /usr/bin/sklookup apply "$units/bindings.json"
check "status shows it" bash -c 'ip netns exec "$1" /usr/bin/sklookup status --bpffs "$2" | grep -q "192.0.2.0/24"' _ "$netns" "$bpffs"
check "version: no upgrade due" bash -c 'ip netns exec "$1" /usr/bin/sklookup version --bpffs "$2" | grep -q "no upgrade due"' _ "$netns" "$bpffs"
check "a bad file is one line, exit 2" bash -c \
  'echo "{" > "$3/bad.json"; out=$(ip netns exec "$1" /usr/bin/sklookup apply "$3/bad.json" --bpffs "$2" 2>&1); rc=$?; [ "$rc" = 2 ] && [ "$(printf "%s\n" "$out" | wc -l)" = 1 ]' _ "$netns" "$bpffs" "$units"
check "unload" run /usr/bin/sklookup unload
# The kernel's own maps.debug and progs.debug (its BPF preload) are not ours.
check "nothing left in the bpffs" bash -c 'left=$(ls -A "$1" | grep -vx "maps.debug\|progs.debug"); [ -z "$left" ] || { echo "left: $left"; false; }' _ "$bpffs"

echo "== remove and purge"
check "dpkg -r" dpkg -r sklookup
check "the tool is gone" test ! -e /usr/bin/sklookup
check "the conffile stays until purge" test -f /etc/sklookup/bindings.json
check "dpkg --purge" dpkg --purge sklookup
check "/etc/sklookup is gone" test ! -e /etc/sklookup
check "the group is gone" bash -c '! getent group sklookup'
check "dpkg knows no file of it" bash -c '! dpkg -L sklookup >/dev/null 2>&1'

if [ "$failures" -gt 0 ]; then
  echo "deb: $failures check(s) failed"
  exit 1
fi
echo "deb: every check passed"
