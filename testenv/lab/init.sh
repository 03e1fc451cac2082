#!/bin/sh
# /init of the lab VM (busybox sh). Mounts the pseudo file systems, loads
# the lab's kernel modules (Debian kernels) or finds them built in (custom
# kernel), then runs /lab/run (packed by vmtest.sh) and reports its status
# with a marker line; without /lab/run, or with labmode=shell on the kernel
# command line, it starts a shell. The kernel hands unknown name=value
# parameters to init as environment (MACSECD_LAB_KERNEL, labmode).
export PATH=/lab/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=${TERM:-linux}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /run/netns /lab/out
# Only emergencies on the console: kernel messages would split test lines.
echo 1 >/proc/sys/kernel/printk
# On-demand module loads (macsec asks for gcm(aes)) use kmod; a kernel
# without module support has no such file.
[ -f /proc/sys/kernel/modprobe ] && echo /sbin/modprobe >/proc/sys/kernel/modprobe
hostname lab
ip link set lo up

if [ -d "/lib/modules/$(uname -r)" ]; then
	for m in $(cat /lab/modules); do
		modprobe "$m" || echo "lab: modprobe $m failed"
	done
else
	echo "lab: no modules for $(uname -r): expecting them built in"
fi

export MACSECD_LAB_KERNEL=${MACSECD_LAB_KERNEL:-unknown}
echo "lab: kernel $(uname -r) ($MACSECD_LAB_KERNEL), $(grep -c ^processor /proc/cpuinfo) cpus"

if [ "$labmode" = shell ] || [ ! -x /lab/run ]; then
	echo "lab: shell (exit or Ctrl-D powers off; Ctrl-A X quits qemu)"
	setsid cttyhack sh -l
	rc=0
else
	/lab/run
	rc=$?
fi
echo "@@lab-exit $rc"
sync
# -no-reboot makes qemu exit on reboot; this also works on a kernel without
# ACPI, where poweroff cannot.
reboot -f
sleep 60
