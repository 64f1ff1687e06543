#!/bin/bash
# it_reboot.sh: `reboot` and `wait_for_connection` against real lab nodes.
#
# Two nodes of its own lab (tests/lab: systemd-nspawn, real systemd and sshd;
# a node that reboots is booted again by the lab, as systemd-nspawn@.service
# does), one reached over ssh, one over pct through the Proxmox-host
# stand-in. Checks, each against the node itself (`lab exec`), not only
# drover's word:
#   - reboot over ssh and over pct changes the boot id, reports changed and
#     rebooted, and the next task of the same run works (the broken pooled
#     session was replaced);
#   - check mode reports changed and reboots nothing;
#   - wait_for_connection on nodes stopped when the task starts: the ones
#     started 10 s later are reached (ssh and pct, not UNREACHABLE), the one
#     that never comes back fails with Ansible's message within its timeout;
#   - reboot with reboot_timeout 20 on a node that powers off instead fails
#     with Ansible's timeout message (over ssh and over pct, where `pct
#     status` says stopped all along), and the run goes on for the other host.
#
# Runs as root; Debian packages: systemd-container openssh-client
# openssh-server iproute2 util-linux python3 (and debootstrap for the
# rootfs, cached in /var/cache/drover-lab). About 90 s.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/lab/lab
DROVER=${DROVER_BIN:-../build/drover}
PY=/usr/bin/python3
export DROVER_LAB_STATE=/var/lib/drover-lab-it-reboot
export DROVER_LAB_NET=127.0.44
export DROVER_LAB_FANOUT_NET=127.0.45
T=$(mktemp -d /tmp/it_reboot.XXXXXX)
FAILS=0
CHECKS=0

cleanup() {
	wait
	"$LAB" down >/dev/null 2>&1
	if [ "$FAILS" = 0 ]; then
		rm -rf "$T"
	else
		echo "drover's output kept in $T"
	fi
}
trap cleanup EXIT

ok() { printf 'ok   [%3ss] %s\n' "$SECONDS" "$*"; }
fail() {
	printf 'FAIL [%3ss] %s\n' "$SECONDS" "$*"
	FAILS=$((FAILS + 1))
}
# check WHAT GOT WANT
check() {
	CHECKS=$((CHECKS + 1))
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got [$2], want [$3]"; fi
}
# check_in WHAT GOT LOW HIGH: a number in [LOW, HIGH]
check_in() {
	CHECKS=$((CHECKS + 1))
	if [ -n "$2" ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
		ok "$1 ($2)"
	else
		fail "$1: got [$2], want $3..$4"
	fi
}
die() {
	printf 'FAIL %s\n' "$*"
	exit 1
}

# r OUT TASK HOST KEY: a key of HOST's result for the task named TASK in a
# run's JSON output (empty when absent; true/false in lower case).
r() {
	"$PY" - "$@" <<'PY'
import json, sys
out, task, host, key = sys.argv[1:5]
d = json.load(open(out))
for play in d["plays"]:
    for t in play["tasks"]:
        if t["task"]["name"] == task and host in t["hosts"]:
            v = t["hosts"][host].get(key, "")
            print(json.dumps(v) if isinstance(v, bool) else v)
            sys.exit(0)
PY
}
# stat OUT HOST KEY: PLAY RECAP counts (ok, changed, failures, unreachable)
stat() {
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"][sys.argv[2]][sys.argv[3]])' "$@"
}

boot_id() { "$LAB" exec "$1" cat /proc/sys/kernel/random/boot_id 2>/dev/null; }

"$LAB" down >/dev/null 2>&1
"$LAB" up rb-1 rb-2 >"$T/up.log" 2>&1 || {
	cat "$T/up.log"
	die "lab up"
}
S=$DROVER_LAB_STATE
A1=$(cat "$S/nodes/rb-1/addr")
A2=$(cat "$S/nodes/rb-2/addr")
V1=$(cat "$S/nodes/rb-1/vmid")
V2=$(cat "$S/nodes/rb-2/vmid")
{
	echo "[ssh]"
	echo "n1 ansible_host=$A1"
	echo "[pct]"
	echo "n2 ansible_connection=pct pct_vmid=$V2 pct_host=pve1"
	echo "[wfc]"
	echo "w1 ansible_host=$A1 wfc_timeout=8"
	echo "w2 ansible_host=$A2 wfc_timeout=60"
	echo "w2p ansible_connection=pct pct_vmid=$V2 pct_host=pve1 wfc_timeout=60"
	echo "[down]"
	echo "d1 ansible_host=$A1 rb_command='systemctl poweroff'"
	echo "d2 ansible_connection=pct pct_vmid=$V1 pct_host=pve1 rb_command='systemctl poweroff'"
	echo "[pve]"
	echo "pve1 ansible_host=$DROVER_LAB_NET.2"
	sed -n '/^\[all:vars\]/,$p' "$S/inventory/ssh.ini"
} >"$T/inv.ini"

cat >"$T/reboot.yml" <<'YAML'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - name: before
      command: cat /proc/sys/kernel/random/boot_id
    - name: reboot
      reboot:
        reboot_timeout: "{{ rb_timeout | default(120) }}"
        reboot_command: "{{ rb_command | default(omit) }}"
    - name: after
      command: cat /proc/sys/kernel/random/boot_id
YAML
cat >"$T/wfc.yml" <<'YAML'
- hosts: wfc
  gather_facts: false
  tasks:
    - name: wait
      wait_for_connection:
        timeout: "{{ wfc_timeout }}"
    - name: after
      command: cat /proc/sys/kernel/random/boot_id
YAML

# --- reboot over ssh (n1) and pct (n2)
b1=$(boot_id rb-1)
b2=$(boot_id rb-2)
p1=$(cat "$S/nodes/rb-1/pid")
"$DROVER" run -i "$T/inv.ini" -e target=n1,n2 --output json "$T/reboot.yml" >"$T/1.json" 2>"$T/1.err"
check "reboot: the run succeeds" "$?" 0
for h in n1 n2; do
	check "reboot $h: changed" "$(r "$T/1.json" reboot $h changed)" true
	check "reboot $h: rebooted" "$(r "$T/1.json" reboot $h rebooted)" true
	check_in "reboot $h: elapsed" "$(r "$T/1.json" reboot $h elapsed)" 0 60
	check "reboot $h: the task after it runs on the new session" "$(r "$T/1.json" after $h rc)" 0
done
a1=$(boot_id rb-1)
a2=$(boot_id rb-2)
check "rb-1 (ssh) has a new boot id" "$([ -n "$a1" ] && [ "$a1" != "$b1" ] && echo yes)" yes
check "rb-2 (pct) has a new boot id" "$([ -n "$a2" ] && [ "$a2" != "$b2" ] && echo yes)" yes
check "drover saw rb-1's boot id before" "$(r "$T/1.json" before n1 stdout)" "$b1"
check "drover saw rb-1's new boot id after" "$(r "$T/1.json" after n1 stdout)" "$a1"
check "drover saw rb-2's new boot id after" "$(r "$T/1.json" after n2 stdout)" "$a2"
check "the lab booted rb-1 again (new systemd-nspawn)" \
	"$([ "$(cat "$S/nodes/rb-1/pid")" != "$p1" ] && echo yes)" yes
check "lab status: rb-1 running" "$("$LAB" status | awk '$1 == "rb-1" { print $4 }')" running

# --- reboots that cannot start fail clearly and reboot nothing
# (reboot_command /bin/true: harmless should the local guard ever fail)
out=$("$DROVER" exec localhost -m reboot -a 'reboot_command=/bin/true reboot_timeout=1' 2>&1)
check "reboot refuses the local connection" \
	"$(printf '%s\n' "$out" | grep -c 'Running reboot with local connection would reboot the control node.')" 1
"$DROVER" run -i "$T/inv.ini" -e target=n1 -e rb_command=nosuchreboot --output json \
	"$T/reboot.yml" >"$T/6.json" 2>"$T/6.err"
check "reboot_command not in search_paths: Ansible's message" "$(r "$T/6.json" reboot n1 msg)" \
	"Unable to find command \"nosuchreboot\" in search paths: ['/sbin', '/bin', '/usr/sbin', '/usr/bin', '/usr/local/sbin']"
"$DROVER" run -i "$T/inv.ini" -e target=n2 -e '{"rb_command": "/bin/sh -c \"echo no; exit 3\""}' \
	--output json "$T/reboot.yml" >"$T/7.json" 2>"$T/7.err"
check "a failing reboot_command: Ansible's message" "$(r "$T/7.json" reboot n2 msg)" \
	"Reboot command failed. Error was: 'no, '"
check "a failing reboot_command: not rebooted" "$(r "$T/7.json" reboot n2 rebooted)" false
check "nothing rebooted rb-1 or rb-2" "$(boot_id rb-1) $(boot_id rb-2)" "$a1 $a2"

# --- check mode: changed, no reboot
"$DROVER" run -C -i "$T/inv.ini" -e target=n1,n2 --output json "$T/reboot.yml" >"$T/2.json" 2>"$T/2.err"
check "check mode: the run succeeds" "$?" 0
check "check mode: reboot reports changed" "$(r "$T/2.json" reboot n1 changed)" true
check "check mode: rb-1 kept its boot id" "$(boot_id rb-1)" "$a1"
check "check mode: rb-2 kept its boot id" "$(boot_id rb-2)" "$a2"
"$DROVER" run -C -i "$T/inv.ini" --output json "$T/wfc.yml" >"$T/8.json" 2>"$T/8.err"
check "check mode: wait_for_connection is skipped, as in Ansible" "$(r "$T/8.json" wait w2 skipped)" true

# --- wait_for_connection: both nodes down at the start, rb-2 back after 10 s
"$LAB" stop rb-1 rb-2 >"$T/stop.log" 2>&1 || fail "lab stop: $(cat "$T/stop.log")"
(
	sleep 10
	"$LAB" start rb-2 >"$T/start.log" 2>&1
) &
"$DROVER" run -i "$T/inv.ini" --output json "$T/wfc.yml" >"$T/3.json" 2>"$T/3.err"
check "wait_for_connection: the run reports the failed host (exit 2)" "$?" 2
wait
for h in w2 w2p; do
	check "wait_for_connection $h (back after 10 s): ok" "$(stat "$T/3.json" $h failures)" 0
	check_in "wait_for_connection $h: elapsed" "$(r "$T/3.json" wait $h elapsed)" 8 40
	check "wait_for_connection $h: not unreachable" "$(stat "$T/3.json" $h unreachable)" 0
	check "wait_for_connection $h: the next task runs" "$(r "$T/3.json" after $h rc)" 0
done
msg=$(r "$T/3.json" wait w1 msg)
check "wait_for_connection w1 (never back): Ansible's timeout message" \
	"${msg%%: Failed to connect*}" "timed out waiting for ping module test"
check "wait_for_connection w1: the message says why" \
	"$(case $msg in *"connect to host $A1 port 2222: Connection refused"*) echo yes ;; esac)" yes
check_in "wait_for_connection w1: gave up after its 8 s" "$(r "$T/3.json" wait w1 elapsed)" 8 10
check "wait_for_connection w1: failed, not unreachable" \
	"$(stat "$T/3.json" w1 failures)/$(stat "$T/3.json" w1 unreachable)" 1/0
check "wait_for_connection w1: no task after it" "$(r "$T/3.json" after w1 rc)" ""

# --- reboot that never completes (the node powers off instead), reboot_timeout 20:
# d1 (ssh) fails with Ansible's message, n2 (pct) reboots, the run goes on for n2
"$LAB" start rb-1 >"$T/start.log" 2>&1 || fail "lab start rb-1: $(cat "$T/start.log")"
"$DROVER" run -i "$T/inv.ini" -e target=d1,n2 -e rb_timeout=20 --output json "$T/reboot.yml" \
	>"$T/4.json" 2>"$T/4.err"
check "reboot that never completes: the run reports the failed host (exit 2)" "$?" 2
check "reboot d1: Ansible's timeout message" "$(r "$T/4.json" reboot d1 msg)" \
	"Timed out waiting for last boot time check (timeout=20)"
check "reboot d1: rebooted, not changed" \
	"$(r "$T/4.json" reboot d1 rebooted)/$(r "$T/4.json" reboot d1 changed)" true/false
check_in "reboot d1: gave up after its 20 s" "$(r "$T/4.json" reboot d1 elapsed)" 20 24
check "reboot d1: failed, not unreachable" \
	"$(stat "$T/4.json" d1 failures)/$(stat "$T/4.json" d1 unreachable)" 1/0
check "reboot d1: no task after it" "$(r "$T/4.json" after d1 rc)" ""
check "reboot n2 meanwhile: changed" "$(r "$T/4.json" reboot n2 changed)" true
check "reboot n2: the next task runs" "$(r "$T/4.json" after n2 rc)" 0
check "lab status: rb-1 stopped (powered off)" "$("$LAB" status | awk '$1 == "rb-1" { print $4 }')" stopped

# --- the same over pct: `pct status` says stopped all along, which is
# "not back yet" until reboot_timeout, not UNREACHABLE
"$LAB" start rb-1 >"$T/start.log" 2>&1 || fail "lab start rb-1: $(cat "$T/start.log")"
"$DROVER" run -i "$T/inv.ini" -e target=d2 -e rb_timeout=10 --output json "$T/reboot.yml" \
	>"$T/5.json" 2>"$T/5.err"
check "reboot over pct that never completes: exit 2" "$?" 2
check "reboot d2: Ansible's timeout message" "$(r "$T/5.json" reboot d2 msg)" \
	"Timed out waiting for last boot time check (timeout=10)"
check "reboot d2: failed, not unreachable" \
	"$(stat "$T/5.json" d2 failures)/$(stat "$T/5.json" d2 unreachable)" 1/0
check_in "reboot d2: gave up after its 10 s" "$(r "$T/5.json" reboot d2 elapsed)" 10 14

check "no sanitizer report from any run" "$(cat "$T"/*.err | grep -c 'Sanitizer\|runtime error')" 0
"$LAB" down >"$T/down.log" 2>&1 || fail "lab down: $(cat "$T/down.log")"
check "lab down leaves no node supervisor" "$(pgrep -f "lab _supervise rb-" | wc -l)" 0
echo "$((CHECKS - FAILS)) passed, $FAILS failed (${SECONDS}s)"
[ "$FAILS" = 0 ]
