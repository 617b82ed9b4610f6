#!/bin/sh
# PID 1 of the guest after switch_root (the host's /bin/sh on the guest's kernel): runs the command the harness
# put in the shared folder, records its exit code and output there, and powers the guest off.
S=/kshare/.kmatrix
export HOME=/root TERM=dumb LANG=C.UTF-8 KMATRIX_GUEST=1 KMATRIX_SHARE=/kshare
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. $S/env.sh
cd "$(cat $S/cwd)" || cd /
read up _ </proc/uptime; echo "$up" > $S/started-at
/bin/sh $S/command.sh > /kshare/output.log 2>&1 </dev/null
echo $? > $S/exit-code.tmp
read up _ </proc/uptime; echo "$up" > $S/ended-at
cat /proc/meminfo > $S/meminfo
mv $S/exit-code.tmp $S/exit-code
sync
echo "KMATRIX-MARK done" > /dev/console
/run/kmatrix/bin/poweroff -f
echo o > /proc/sysrq-trigger
sleep 30
