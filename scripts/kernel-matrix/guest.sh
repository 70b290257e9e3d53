#!/bin/sh
# The guest's second stage, PID 1 on the overlaid host root (see init). Makes a system that dotnet
# and the tests can use: /proc, /sys, /dev, /tmp, a loopback, the guest kernel's own modules, then
# runs /mnt/kernel-matrix/command and leaves its exit status and output on the writable share.
# PID 1 keeps the kernel's default limits (e.g. the 64 KiB RLIMIT_MEMLOCK before Linux 5.16), as a
# service started by an init system would see them.
share=/mnt/kernel-matrix
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
release=$(uname -r)
# The kernel's own modules, from the cache on the host (veth and the like load on demand through
# the host's /sbin/modprobe).
if [ -d "$(cat "$share/modules-path")" ]; then
  mkdir -p "/lib/modules/$release"
  mount --bind "$(cat "$share/modules-path")" "/lib/modules/$release"
fi
ip link set lo up
hostname "kernel-$release"
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb LANG=C.UTF-8
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_HOME=/root
export DOTNET_GENERATE_ASPNET_CERTIFICATE=false
export KERNEL_MATRIX=1
# TCG runs user code several times slower than natively: the tests stretch their timeouts by this.
export SKLOOKUP_TEST_SLOWDOWN=6
echo "guest: $(uname -r), $(nproc) CPUs, memlock $(ulimit -l) KiB" >"$share/output.log"
cd "$(cat "$share/workdir")" || echo "guest: no such directory $(cat "$share/workdir")" >>"$share/output.log"
/bin/bash "$share/command" >>"$share/output.log" 2>&1 </dev/null
echo $? >"$share/status"
sync
echo b >/proc/sysrq-trigger
