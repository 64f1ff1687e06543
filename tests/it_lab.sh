#!/bin/bash
# it_lab.sh: the lab of real hosts (tests/lab) does what drover's tests rely on.
#
# Boots two real nodes (systemd as PID 1, sshd on their own loopback address),
# checks OpenSSH logins with strict host key checking, sudo with a password
# for the non-root user, the pct stand-in through pve1 (exec, push, pull,
# status, list, a stopped node, start again), the fan-out sshd, the
# inventories, a failed `up` cleaning after itself, and that `lab down`
# leaves no process, mount, listener or file behind.
#
# Runs as root on Debian 12 and needs these Debian packages (it installs
# nothing): debootstrap systemd-container openssh-client openssh-server
# iproute2 util-linux sudo python3. The first run builds the cached rootfs
# (about a minute, network access to the Debian mirror in apt's sources).
#
# It uses its own state dir and addresses (127.0.8.x, 127.0.9.x), so it does
# not disturb a lab someone is running with the defaults.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/lab/lab
export DROVER_LAB_STATE=/var/lib/drover-lab-itlab-$$
export DROVER_LAB_NET=127.0.8
export DROVER_LAB_FANOUT_NET=127.0.9
# Not 22: a CI machine's own sshd often listens on 0.0.0.0:22, which shadows
# every loopback address on that port. This also covers non-default ports
# (known_hosts [addr]:port entries, ansible_port in the inventories).
export DROVER_LAB_SSH_PORT=2222
NODES="k3s-s-01 k3s-w-01"
S01=127.0.8.11
W01=127.0.8.21
PVE=127.0.8.2
TMP=$(mktemp -d /tmp/it_lab.XXXXXX)
BLOCKER=
FAILS=0

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	FAILS=$((FAILS + 1))
}

die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

ok() {
	printf 'ok [%3ss]: %s\n' "$SECONDS" "$*"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: expected [$2], got [$3]"
	fi
}

# expect_has WHAT NEEDLE HAYSTACK
expect_has() {
	case $3 in
	*"$2"*) ok "$1" ;;
	*) fail "$1: expected to find [$2] in [$3]" ;;
	esac
}

cleanup() {
	[ -z "$BLOCKER" ] || kill "$BLOCKER" 2>/dev/null || true
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A run killed outright (ctest timeout) cannot clean up after itself; its
# lab would hold 127.0.8.x. Take down labs of it_lab runs that are gone.
reap_stale_runs() {
	local d pid
	for d in /var/lib/drover-lab-itlab-*; do
		[ -d "$d" ] || continue
		pid=${d##*-}
		# Only this script's own state dirs: the suffix is its PID.
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ -d "/proc/$pid" ] && continue
		printf 'note: taking down the lab of a dead it_lab run (%s)\n' "$d"
		DROVER_LAB_STATE=$d "$LAB" down || true
	done
}

preflight() {
	local t missing=
	[ "$(id -u)" = 0 ] || die "it_lab.sh must run as root (systemd-nspawn, overlays, nsenter)"
	for t in debootstrap systemd-nspawn nsenter ssh ssh-keygen /usr/sbin/sshd ss flock setsid /usr/bin/python3; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] || die "missing:$missing. Install the Debian packages: debootstrap systemd-container openssh-client openssh-server iproute2 util-linux sudo python3"
}

SSH_OPTS=()
ssh_opts() {
	SSH_OPTS=(-o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$DROVER_LAB_STATE/known_hosts"
		-o IdentitiesOnly=yes -i "$DROVER_LAB_STATE/id_ed25519" -o ConnectTimeout=5 -o LogLevel=ERROR
		-p "$DROVER_LAB_SSH_PORT")
}

# on ADDR USER CMD: run CMD over OpenSSH with host key checking on.
on() {
	local addr=$1 user=$2
	shift 2
	ssh "${SSH_OPTS[@]}" "$user@$addr" "$@"
}

pve() {
	on "$PVE" root "$@"
}

leaders() {
	local n
	for n in $NODES; do "$LAB" status | awk -v n="$n" '$1 == n { print $5 }'; done | tr '\n' ' '
}

test_up() {
	local first second out
	"$LAB" up $NODES || die "lab up failed"
	ssh_opts
	first=$(leaders)
	"$LAB" up $NODES 2>"$TMP/up2.err" || die "second lab up failed"
	second=$(leaders)
	expect_eq "up on a running lab is a no-op (same node PIDs)" "$first" "$second"
	expect_eq "second up boots nothing" "" "$(grep 'up:' "$TMP/up2.err" | grep -v pve1 || true)"
	out=$(DROVER_LAB_NET=127.0.3 "$LAB" up $NODES 2>&1) && fail "up with other addresses on a running lab must fail" ||
		expect_has "a lab keeps its addresses" "was made with DROVER_LAB_NET=127.0.8" "$out"
	expect_has "status lists k3s-s-01 running" "k3s-s-01     $S01      101    running" "$("$LAB" status)"
	expect_has "status lists k3s-w-01 running" "k3s-w-01     $W01      111    running" "$("$LAB" status)"
}

test_node() {
	local name=$1 addr=$2 out
	out=$(on "$addr" root 'hostname; cat /proc/1/comm; systemctl is-system-running; /usr/sbin/sshd -T | grep -i "^listenaddress"' 2>&1) || true
	expect_eq "$name: hostname over ssh" "$name" "$(sed -n 1p <<<"$out")"
	expect_eq "$name: PID 1 is systemd" systemd "$(sed -n 2p <<<"$out")"
	case $(sed -n 3p <<<"$out") in
	running | degraded) ok "$name: systemctl is-system-running says $(sed -n 3p <<<"$out")" ;;
	*) fail "$name: systemctl is-system-running: $(sed -n 3p <<<"$out")" ;;
	esac
	expect_eq "$name: sshd listens only on its own address" "listenaddress $addr:$DROVER_LAB_SSH_PORT" "$(sed -n 4,9p <<<"$out")"
}

test_host_keys() {
	local out
	: >"$TMP/empty_known_hosts"
	out=$(ssh -p "$DROVER_LAB_SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$TMP/empty_known_hosts" \
		-o IdentitiesOnly=yes -i "$DROVER_LAB_STATE/id_ed25519" "root@$S01" true 2>&1) &&
		fail "ssh with an empty known_hosts must fail" || expect_has "unknown host key refused" "Host key verification failed" "$out"
	# The other node's key recorded for this address: a changed host key.
	awk -v a="[$S01]:$DROVER_LAB_SSH_PORT" -v w="[$W01]:$DROVER_LAB_SSH_PORT" 'index($1, w ",") == 1 { $1 = a; print }' \
		"$DROVER_LAB_STATE/known_hosts" >"$TMP/wrong_known_hosts"
	[ -s "$TMP/wrong_known_hosts" ] || fail "no known_hosts entry for [$W01]:$DROVER_LAB_SSH_PORT"
	out=$(ssh -p "$DROVER_LAB_SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$TMP/wrong_known_hosts" \
		-o IdentitiesOnly=yes -i "$DROVER_LAB_STATE/id_ed25519" "root@$S01" true 2>&1) &&
		fail "ssh with a wrong host key must fail" || expect_has "wrong host key refused" "HOST IDENTIFICATION HAS CHANGED" "$out"
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_key"
	out=$(ssh -p "$DROVER_LAB_SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$DROVER_LAB_STATE/known_hosts" \
		-o IdentitiesOnly=yes -i "$TMP/other_key" "root@$S01" true 2>&1) &&
		fail "a key that is not the lab key must be refused" || expect_has "foreign user key refused" "Permission denied" "$out"
}

test_become() {
	local pw out
	pw=$(cat "$DROVER_LAB_STATE/become_password")
	[ -n "$pw" ] || fail "become password file is empty"
	expect_eq "drover logs in as itself" drover "$(on "$W01" drover id -un)"
	out=$(on "$W01" drover sudo -n true 2>&1) && fail "sudo without a password must fail" ||
		expect_has "sudo asks for a password" "password is required" "$out"
	expect_eq "sudo with the lab password becomes root" 0 \
		"$(printf '%s\n' "$pw" | on "$W01" drover "sudo -S -p '' -u root id -u")"
	out=$(printf 'wrong\n' | on "$W01" drover "sudo -S -p '' -u root id -u" 2>&1) &&
		fail "sudo with a wrong password must fail" || expect_has "wrong sudo password refused" "incorrect password" "$out"
}

test_pct_running() {
	local out rc
	expect_eq "pct is the stand-in in pve1's PATH" "$HERE/lab/pct" "$(pve command -v pct)"
	out=$(pve pct list)
	expect_eq "pct list: real columns" "$(printf '%-10s %-10s %-12s %-20s\n' VMID Status Lock Name 101 running '' k3s-s-01 111 running '' k3s-w-01)" "$out"
	expect_eq "pct status running" "status: running" "$(pve pct status 101)"
	expect_eq "pct exec runs in the node" "k3s-w-01 systemd" "$(pve pct exec 111 -- sh -c "'echo \$(hostname) \$(cat /proc/1/comm)'")"
	rc=0
	out=$(printf 'in-data' | pve pct exec 101 -- sh -c "'cat; echo to-err >&2; exit 7'" 2>"$TMP/err") || rc=$?
	expect_eq "pct exec passes stdin to stdout" in-data "$out"
	expect_eq "pct exec passes stderr" to-err "$(cat "$TMP/err")"
	expect_eq "pct exec passes the exit status" 7 "$rc"
	printf 'pushed\n' >"$TMP/src"
	# pve1 is this machine, so its pct reads our files directly.
	pve pct push 111 "$TMP/src" /root/pushed --perms 640 || fail "pct push failed"
	expect_eq "pct push: content and --perms" "pushed 640 root" \
		"$(pve pct exec 111 -- sh -c "'echo \$(cat /root/pushed) \$(stat -c \"%a %U\" /root/pushed)'")"
	pve pct pull 111 /etc/hostname "$TMP/pulled" || fail "pct pull failed"
	expect_eq "pct pull: content" k3s-w-01 "$(cat "$TMP/pulled" 2>/dev/null)"
	rc=0
	out=$(pve pct exec 999 -- true 2>&1) || rc=$?
	expect_eq "pct exec on an unknown VMID: real message" "Configuration file 'nodes/pve1/lxc/999.conf' does not exist" "$out"
	expect_eq "pct exec on an unknown VMID: exit 255" 255 "$rc"
	rc=0
	out=$(pve pct pull 111 /etc/nonexistent "$TMP/x" 2>&1) || rc=$?
	expect_eq "pct pull of a missing file fails" "failed to open /etc/nonexistent: No such file or directory/255" "$out/$rc"
}

test_pct_stopped() {
	local out rc
	"$LAB" stop k3s-w-01 || fail "lab stop failed"
	expect_eq "pct status stopped" "status: stopped" "$(pve pct status 111)"
	expect_eq "pct list shows the stopped node" "$(printf '%-10s %-10s %-12s %-20s\n' VMID Status Lock Name 101 running '' k3s-s-01 111 stopped '' k3s-w-01)" "$(pve pct list)"
	rc=0
	out=$(pve pct exec 111 -- true 2>&1) || rc=$?
	expect_eq "pct exec on a stopped CT: real message and exit 255" "container '111' not running!/255" "$out/$rc"
	rc=0
	out=$(pve pct push 111 "$TMP/src" /root/x 2>&1) || rc=$?
	expect_eq "pct push on a stopped CT" "can only push files to a running CT/255" "$out/$rc"
	rc=0
	out=$(pve pct stop 111 2>&1) || rc=$?
	expect_eq "pct stop on a stopped CT" "CT 111 not running/255" "$out/$rc"
	out=$(ssh "${SSH_OPTS[@]}" "root@$W01" true 2>&1) && fail "ssh to a stopped node must fail" ||
		expect_has "stopped node refuses ssh" "Connection refused" "$out"
	pve pct start 111 || fail "pct start failed"
	expect_eq "pct start: running again" "status: running" "$(pve pct status 111)"
	expect_eq "node keeps its disk and host key across a restart" pushed "$(on "$W01" root cat /root/pushed)"
	rc=0
	out=$(pve pct start 111 2>&1) || rc=$?
	expect_eq "pct start on a running CT" "CT 111 already running/255" "$out/$rc"
}

test_fanout() {
	local a out
	"$LAB" sshd-fanout 3 || fail "sshd-fanout failed"
	for a in 127.0.9.1 127.0.9.3; do
		out=$(on "$a" root 'echo $SSH_CONNECTION' 2>&1) || true
		expect_has "fan-out host $a answers with host key checking" " $a $DROVER_LAB_SSH_PORT" "$out"
	done
	expect_eq "fan-out inventory lists 3 hosts" 3 "$(grep -c '^fan-' "$DROVER_LAB_STATE/inventory/fanout.ini")"
	"$LAB" sshd-fanout-down || fail "sshd-fanout-down failed"
	expect_eq "fan-out sshd gone" "" "$(ss -Hltn | awk '$4 ~ /^127\.0\.9\./' || true)"
}

test_inventory() {
	expect_has "generated ssh inventory has the lab address" "k3s-w-01 ansible_host=$W01" "$(cat "$DROVER_LAB_STATE/inventory/ssh.ini")"
	expect_has "generated pct inventory" "k3s-s-01 ansible_connection=pct pct_vmid=101 pct_host=pve1" "$(cat "$DROVER_LAB_STATE/inventory/pct.ini")"
	"$HERE/lab/inventory.sh" --standard "$TMP/std"
	for f in ssh pct; do
		if cmp -s "$TMP/std/$f.ini" "$HERE/../inventory/lab/$f.ini"; then
			ok "inventory/lab/$f.ini is what inventory.sh --standard writes"
		else
			fail "inventory/lab/$f.ini is stale: regenerate with tests/lab/inventory.sh --standard inventory/lab"
		fi
	done
}

# drover itself reaches the lab through both generated inventories: over
# ssh with the lab's known_hosts, and with pct through pve1.
test_drover() {
	local flavour out n
	if [ ! -x "${DROVER_BIN:-}" ]; then
		printf 'note: DROVER_BIN not set, drover against the lab not checked (ctest sets it)\n'
		return 0
	fi
	for flavour in ssh pct; do
		out=$(timeout 120 "$DROVER_BIN" exec -i "$DROVER_LAB_STATE/inventory/$flavour.ini" k3s_cluster -- \
			'hostname; cat /proc/1/comm' 2>&1) || fail "drover exec over $flavour failed: $out"
		for n in $NODES; do
			expect_has "drover exec over $flavour reaches $n" "$n | CHANGED | rc=0 >>
$n
systemd" "$out"
		done
	done
	# The lab's become user, through drover's sudo handling.
	out=$(timeout 120 "$DROVER_BIN" exec -i "$DROVER_LAB_STATE/inventory/ssh.ini" k3s-w-01 \
		-e ansible_user=drover -b -e "ansible_become_password=$(cat "$DROVER_LAB_STATE/become_password")" -- id -un 2>&1) ||
		fail "drover become as drover failed: $out"
	expect_has "drover becomes root from drover with the lab password" "k3s-w-01 | CHANGED | rc=0 >>
root" "$out"
	out=$(timeout 120 "$DROVER_BIN" exec -i "$DROVER_LAB_STATE/inventory/ssh.ini" k3s-w-01 \
		-e ansible_user=drover -b -e ansible_become_password=wrong -- id -un 2>&1) &&
		fail "drover become with a wrong password must fail: $out" || ok "drover become with a wrong password fails"
}

# A failed up names the problem and leaves nothing of the failed node running.
test_failed_up() {
	local out rc=0
	/usr/bin/python3 -c 'import socket,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.8.22", 2222)); s.listen(1); time.sleep(120)' &
	BLOCKER=$!
	sleep 0.5
	out=$("$LAB" up k3s-w-02 2>&1) || rc=$?
	kill "$BLOCKER" 2>/dev/null || true
	wait "$BLOCKER" 2>/dev/null || true
	BLOCKER=
	expect_eq "up with a taken address fails" 1 "$rc"
	expect_has "up names the taken address" "127.0.8.22:2222 is taken" "$out"
	expect_eq "no k3s-w-02 process left" "" "$(pgrep -a -f -- "--machine=k3s-w-02" | grep -F "$DROVER_LAB_STATE" || true)"
}

test_down() {
	local procs mounts
	"$LAB" down || fail "lab down failed"
	procs=$(pgrep -a -f -- "$DROVER_LAB_STATE" || true)
	expect_eq "no lab process left" "" "$procs"
	mounts=$(grep -l -F "$DROVER_LAB_STATE" /proc/[0-9]*/mountinfo 2>/dev/null || true)
	expect_eq "no lab mount left" "" "$mounts"
	expect_eq "no lab listener left" "" "$(ss -Hltn | awk '$4 ~ /^127\.0\.[89]\./' || true)"
	[ ! -e "$DROVER_LAB_STATE" ] && ok "state dir removed" || fail "state dir $DROVER_LAB_STATE still exists"
	[ ! -e "$("$HERE/lab/rootfs.sh" --path)/etc/hostname" ] && ok "cached rootfs untouched by the nodes" ||
		fail "a node wrote into the cached rootfs"
}

preflight
reap_stale_runs
test_up
test_node k3s-s-01 "$S01"
test_node k3s-w-01 "$W01"
test_host_keys
test_become
test_pct_running
test_pct_stopped
test_fanout
test_inventory
test_drover
test_failed_up
test_down
if [ "$FAILS" -ne 0 ]; then
	printf '%d check(s) failed\n' "$FAILS" >&2
	exit 1
fi
printf 'all lab checks passed\n'
