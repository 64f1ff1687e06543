#!/bin/bash
# it_modules_conns.sh: one module suite, three connections. Runs
# tests/modules/conns/modules.yml (every everyday module) on one host named
# "target" over (a) ssh to a lab node as root, and as the unprivileged user
# drover with become (sudo with a password) for every task, (b) pct through
# the lab's Proxmox-host stand-in (pve1, tests/lab/pct) into the same node,
# (c) local on this machine, and asserts all give the same status per task and the same
# registered values (tests/modules/conns/compare.py). Runs: the first with
# --diff on a fresh scratch directory, the second (idempotence) must change
# nothing but tasks named "(every run)", the third in check mode on the
# result, and check.yml in check mode on a fresh target (nothing is made).
#
# Tasks named "systemd: ..." need systemd as PID 1: the lab node has it,
# this machine (CI) does not, so over local they must be skipped and are
# left out of that comparison (the output says so).
#
# Needs root and what tests/lab/README.md lists, plus python3, curl, sudo
# and ansible-core (ansible-playbook is the oracle for the local run).
# Its own lab: state /var/lib/drover-lab-it-modconn, node "modconn" on
# 127.0.46.x; an HTTP server (python3 -m http.server) on 127.0.46.3.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
: "${DROVER_BIN:?DROVER_BIN must point at the drover binary}"
export DROVER_LAB_STATE=${MODCONN_LAB_STATE:-/var/lib/drover-lab-it-modconn}
export DROVER_LAB_NET=${MODCONN_LAB_NET:-127.0.46}
export DROVER_LAB_FANOUT_NET=${MODCONN_LAB_FANOUT_NET:-127.0.47}
export NO_COLOR=1
LAB=$HERE/lab/lab
D=$HERE/modules/conns
PY=/usr/bin/python3
NODE=modconn
HTTP_HOST=$DROVER_LAB_NET.3
T=$(mktemp -d /tmp/it_modules_conns.XXXXXX)
SCRATCH=/tmp/drover-modconn-$$
HTTP_PID=
FAILS=0

[ "$(id -u)" = 0 ] || { echo "it_modules_conns.sh needs root (systemd-nspawn, nsenter)"; exit 1; }
# One run at a time on a machine: runs share the lab, its node and the
# suite's user. The lab's long-lived processes do not inherit the lock.
exec 9>/run/drover-it-modconn.lock
flock -w 900 9 || { echo "another it_modules_conns.sh run held its lock for 15 minutes"; exit 1; }

cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	[ -n "${MODCONN_KEEP_LAB:-}" ] || "$LAB" down >/dev/null 2>&1 9>&-
	[ -n "${MODCONN_KEEP:-}" ] && return
	rm -rf "$T" "$SCRATCH" "$SCRATCH-check"
}
trap cleanup EXIT

. "$HERE/checks.sh"

"$LAB" up "$NODE" >"$T/up.log" 2>&1 9>&- || { cat "$T/up.log"; echo "FAIL lab up"; exit 1; }
ADDR=$(cat "$DROVER_LAB_STATE/nodes/$NODE/addr")
VMID=$(cat "$DROVER_LAB_STATE/nodes/$NODE/vmid")
PORT=$(sed -n 's/^DROVER_LAB_SSH_PORT=//p' "$DROVER_LAB_STATE/settings" 2>/dev/null)
PORT=${PORT:-2222}
SSH_VARS="ansible_port=$PORT ansible_ssh_private_key_file=$DROVER_LAB_STATE/id_ed25519 ansible_ssh_common_args='-o UserKnownHostsFile=$DROVER_LAB_STATE/known_hosts -o StrictHostKeyChecking=yes'"
echo "target ansible_host=$ADDR ansible_user=root $SSH_VARS" >"$T/ssh.ini"
# ssh as the unprivileged lab user, every task through sudo with a password
echo "target ansible_host=$ADDR ansible_user=drover $SSH_VARS ansible_become=true" \
	"ansible_become_password=$(cat "$DROVER_LAB_STATE/become_password")" >"$T/become.ini"
printf 'target ansible_connection=pct pct_vmid=%s pct_host=pve1\npve1 ansible_host=%s.2 ansible_user=root %s\n' \
	"$VMID" "$DROVER_LAB_NET" "$SSH_VARS" >"$T/pct.ini"
echo "target ansible_connection=local" >"$T/local.ini"

# The HTTP server get_url, uri and wait_for use: on loopback, which the lab
# node shares with this machine.
HTTP_PORT=$((20000 + RANDOM % 20000))
(cd "$D/files/served" && exec "$PY" -m http.server --bind "$HTTP_HOST" "$HTTP_PORT") >"$T/http.log" 2>&1 9>&- &
HTTP_PID=$!
for _ in $(seq 50); do
	curl -sf "http://$HTTP_HOST:$HTTP_PORT/data.txt" >/dev/null && break
	sleep 0.1
done

# A binary file for copy, slurp and fetch: every byte value, through each
# connection's streams.
head -c 300000 /dev/urandom >"$T/random.bin"

CONNS="ssh become pct local"
# run NAME CONN PLAYBOOK ARGS...: one drover run, normalized into $T/NAME.CONN.
run() {
	local name=$1 conn=$2 pb=$3
	shift 3
	mkdir -p "$T/fetch"
	timeout 300 "$DROVER_BIN" run --output json -i "$T/$conn.ini" "$@" \
		-e scratch="$SCRATCH" -e fetch_dir="$T/fetch" -e binary_src="$T/random.bin" -e http_base="http://$HTTP_HOST:$HTTP_PORT" \
		-e http_host="$HTTP_HOST" -e http_port="$HTTP_PORT" "$D/$pb" >"$T/$name.$conn.json" 2>"$T/$name.$conn.err"
	local rc=$?
	"$PY" "$HERE/playbooks/normalize.py" "$rc" <"$T/$name.$conn.json" |
		sed "s|$T/fetch|FETCH|g" >"$T/$name.$conn"
	[ "$rc" = 0 ] || {
		fail "$name over $conn: exit $rc"
		sed 's/^/    /' "$T/$name.$conn.err" | head -20
		grep -B1 -A1 ': failed$' "$T/$name.$conn" | head -20
	}
}
# Without systemd as PID 1 here (CI), local skips the systemd tasks.
NOSYS=
[ -d /run/systemd/system ] || NOSYS="--no-systemd local"
# compare NAME [compare.py options]: the three connections agree.
compare() {
	local name=$1
	shift
	echo "--- $name"
	"$PY" "$D/compare.py" $NOSYS "$@" ssh ssh="$T/$name.ssh" become="$T/$name.become" \
		pct="$T/$name.pct" local="$T/$name.local" || FAILS=$((FAILS + 1))
}

for c in $CONNS; do
	# a fresh target: no scratch, user, group or unit from an earlier run
	run reset "$c" modules.yml --tags cleanup
	rm -rf "$T/fetch"
	start=$SECONDS
	run first "$c" modules.yml -D
	run second "$c" modules.yml -D
	run check "$c" modules.yml -C -D
	run fresh_check "$c" check.yml -C -D
	echo "$c: 4 runs in $((SECONDS - start)) s"
done
compare first
all="--idempotent ssh --idempotent become --idempotent pct --idempotent local"
compare second $all
compare check $all
compare fresh_check

# What the suite covers, so a module missing from it shows.
for m in command shell raw script copy template file lineinfile blockinfile replace stat slurp fetch \
	get_url uri service systemd wait_for wait_for_connection package apt user group debug set_fact \
	assert fail pause ping setup include_vars; do
	grep -qE "^ *(- )?$m:( |\$)" "$D/modules.yml" || fail "modules.yml does not use $m"
done

# The oracle: on this machine, ansible-playbook 2.14 and drover give the
# same status per task and the same values for everything Ansible has too.
if [ -x /usr/bin/ansible-playbook ]; then
	echo "target ansible_connection=local ansible_python_interpreter=$PY" >"$T/ansible.ini"
	for who in ansible drover; do
		run reset local modules.yml --tags cleanup
		rm -rf "$T/fetch"
		if [ $who = drover ]; then
			run oracle local modules.yml -D --skip-tags drover_only
		else
			mkdir -p "$T/fetch"
			ANSIBLE_STDOUT_CALLBACK=ansible.posix.json ANSIBLE_NOCOLOR=1 ANSIBLE_CONFIG=/nonexistent \
				ANSIBLE_RETRY_FILES_ENABLED=0 timeout 300 /usr/bin/ansible-playbook -i "$T/ansible.ini" \
				-D --skip-tags drover_only -e scratch="$SCRATCH" -e fetch_dir="$T/fetch" \
				-e binary_src="$T/random.bin" -e http_base="http://$HTTP_HOST:$HTTP_PORT" \
				-e http_host="$HTTP_HOST" -e http_port="$HTTP_PORT" "$D/modules.yml" \
				>"$T/oracle.ansible.json" 2>"$T/oracle.ansible.err"
			"$PY" "$HERE/playbooks/normalize.py" $? <"$T/oracle.ansible.json" |
				sed "s|$T/fetch|FETCH|g" >"$T/oracle.ansible"
		fi
	done
	echo "--- oracle"
	"$PY" "$D/compare.py" ansible ansible="$T/oracle.ansible" local="$T/oracle.local" ||
		FAILS=$((FAILS + 1))
	run reset local modules.yml --tags cleanup
else
	fail "the oracle needs /usr/bin/ansible-playbook (Debian's ansible-core)"
fi

# the become runs log in as drover and act as root
who=$("$DROVER_BIN" exec -i "$T/become.ini" target -e ansible_become=false -- id -un 2>&1 | tail -1)
[ "$who" = drover ] && ok "the become runs log in as drover" || fail "become runs log in as '$who'"

# sudo with a password costs a round trip, not a poll interval: twenty
# become commands over ssh in well under a second each (they took 1 s each
# when the password waited for the next wake-up).
start=$(date +%s%N)
timeout 120 "$DROVER_BIN" run -i "$T/become.ini" "$D/become_speed.yml" >"$T/speed.out" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
if [ $rc = 0 ] && [ $ms -lt 10000 ]; then
	ok "20 become commands over ssh in $ms ms"
else
	fail "20 become commands over ssh took $ms ms (rc $rc)"
	tail -5 "$T/speed.out"
fi

for c in $CONNS; do
	run cleanup "$c" modules.yml --tags cleanup
done
grep -q 'drover-mc:' /etc/passwd && fail "the suite's user is still on this machine"
"$LAB" exec "$NODE" test -e "$SCRATCH" && fail "the scratch directory is still on the node"

echo "$FAILS failure(s)"
[ "$FAILS" = 0 ]
