#!/bin/bash
# it_fanout.sh: 50 hosts × 10 tasks over real SSH (one sshd on this machine
# answering on 50 loopback addresses, tests/lab), hosts in parallel (forks),
# host keys checked. Every host must finish every task, and the controller's
# memory and file descriptors must stay bounded: one session per host, not
# one per task. Runs its own fan-out sshd (state /var/lib/drover-lab-it-fanout)
# and removes it at the end.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DROVER=${DROVER_BIN:-$HERE/../build/drover}
export DROVER_LAB_STATE=/var/lib/drover-lab-it-fanout
export DROVER_LAB_NET=127.0.66
LAB=$HERE/lab/lab
T=$(mktemp -d)
fails=0
passes=0
cleanup() {
	"$LAB" sshd-fanout-down >/dev/null 2>&1
	"$LAB" down >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
check() {
	if "${@:2}"; then
		echo "ok   $1"
		passes=$((passes + 1))
	else
		echo "FAIL $1"
		fails=$((fails + 1))
	fi
}
[ "$(id -u)" = 0 ] || { echo "it_fanout.sh needs root (a private sshd)"; exit 1; }

"$LAB" sshd-fanout 50 >"$T/up" 2>&1 || { cat "$T/up"; echo "0 passed, 1 failed"; exit 1; }
INV=$DROVER_LAB_STATE/inventory/fanout.ini
check "the fan-out inventory lists 50 hosts" test "$("$DROVER" exec -i "$INV" all --list-hosts | grep -c '^    ')" = 50

cat >"$T/pb.yaml" <<'YAML'
- name: fan-out
  hosts: all
  gather_facts: false
  tasks:
    - command: "true"
    - command: echo {{ inventory_hostname }}
      register: out
    - assert:
        that: out.stdout == inventory_hostname
        quiet: true
    - shell: test -d /tmp
    - command: "true"
    - command: "true"
    - command: "true"
    - command: "true"
    - command: "true"
    - command: "true"
YAML
# fd count of the drover process while it runs, sampled
(
	peak=0
	while sleep 0.1; do
		p=$(pgrep -n -f "drover run -i $INV") || continue
		n=$(ls /proc/"$p"/fd 2>/dev/null | wc -l)
		[ "$n" -gt "$peak" ] && peak=$n && echo "$peak" >"$T/fds"
	done
) &
sampler=$!
/usr/bin/time -v "$DROVER" run -i "$INV" -f 10 "$T/pb.yaml" >"$T/out" 2>"$T/time"
rc=$?
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
tail -n 5 "$T/out"
check "the run exits 0" test "$rc" = 0
check "50 hosts in the recap" test "$(grep -c ' : ok=10 ' "$T/out")" = 50
check "no host failed or unreachable" test "$(grep -cE 'failed=[1-9]|unreachable=[1-9]' "$T/out")" = 0
rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$T/time")
echo "     peak RSS ${rss} kB, peak fds $(cat "$T/fds" 2>/dev/null)"
check "peak memory under 256 MB" test "${rss:-999999}" -lt 262144
check "file descriptors bounded (under 200 for 50 hosts)" test "$(cat "$T/fds" 2>/dev/null || echo 0)" -lt 200
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
