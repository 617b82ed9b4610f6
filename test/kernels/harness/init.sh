#!/bin/busybox sh
# PID 1 of the kernel matrix's initramfs (test/kernels/harness/initramfs.ts builds it). It assembles the guest's
# root from the host's own root filesystem, shared read-only over virtio-9p, under a RAM overlay (writes vanish at
# power-off; the host's /tmp too, so a script put there runs in the guest), mounts what a node has (proc, sys, dev, tracefs, debugfs, bpffs, cgroup2), and hands over to the
# run script in the shared folder. So the host's bpftrace, node and checkout run unchanged on the guest's kernel.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mark() { U=/proc/uptime; [ -r $U ] || U=/newroot/proc/uptime; read up _ <$U; echo "KMATRIX-MARK $1 uptime=$up"; }
fail() { echo "KMATRIX-FAIL $*"; poweroff -f; }
mark init

# In dependency order (initramfs.ts wrote it so).
for m in $(cat /modules.order); do
  insmod "/modules/$m.ko" || grep -q "^$m " /proc/modules || echo "insmod $m failed"
done

arg() { for a in $(cat /proc/cmdline); do case $a in "$1"=*) echo "${a#*=}"; return;; esac; done; }
MODULES=$(arg kmatrix.modules)
mkdir -p /lower /rw /newroot
# The 9p device may still be probing: retry for a few seconds.
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower 2>/dev/null; do
  i=$((i+1)); [ $i -ge 50 ] && fail "cannot mount the host root over 9p"; sleep 0.1
done
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
R=/newroot
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work $R || fail "cannot mount the overlay root"
mkdir -p $R/kshare
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none kshare $R/kshare || fail "cannot mount the shared folder"
# The unpacked kernel's modules where modprobe looks for them.
KV=$(uname -r)
mkdir -p $R/lib/modules/$KV && mount --bind "/lower$MODULES" $R/lib/modules/$KV
mount -t tmpfs -o mode=755 tmpfs $R/run
# busybox survives the initramfs for modprobe (the kernel's module loader) and power-off: the host has no kmod.
mkdir -p $R/run/kmatrix/bin $R/run/kmatrix/lower $R/run/kmatrix/rw
cp /bin/busybox $R/run/kmatrix/bin/busybox
for a in modprobe insmod poweroff; do ln -s busybox $R/run/kmatrix/bin/$a; done
echo /run/kmatrix/bin/modprobe > /proc/sys/kernel/modprobe
# The overlay's own mounts move into the new root: left in the initramfs they would still count toward
# fs.mount-max, unseen, in the mount namespace every test starts in.
mount --move /lower $R/run/kmatrix/lower
mount --move /rw $R/run/kmatrix/rw
mount --move /proc $R/proc
mount --move /sys $R/sys
mount --move /dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tracefs tracefs $R/sys/kernel/tracing
mount -t debugfs debugfs $R/sys/kernel/debug
mount -t bpf bpf $R/sys/fs/bpf
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
ip link set lo up
hostname kmatrix
mark switch-root
exec switch_root $R /bin/sh /kshare/.kmatrix/run.sh
