#!/bin/bash
# bench/ssh/bench.sh - how fast drover fans commands out over SSH.
#
# HOSTS sshd's on loopback (one per host, each its own address), then TASKS
# rounds of `true` on every host with FORKS in parallel, measured four ways:
#
#   pool     drover's connection layer alone (bench_pool.c: pooled libssh
#            sessions, one channel per command)
#   drover   `drover run` of a playbook with TASKS `command: true` tasks
#   ansible  ansible-playbook, same playbook, pipelining + ControlPersist
#   openssh  the floor for a process-per-command design: `ssh true` through
#            an already open OpenSSH ControlMaster per host
#
# usage: bench/ssh/bench.sh [pool|drover|ansible|openssh|all]...  (default all)
# env:   HOSTS=10 TASKS=20 FORKS=10 PORT=2299 NET=127.0.2 BUILD=build-bench
#        BENCH_USER=droverbench (a local user with /bin/sh as login shell, so
#        no shell rc files are timed; created for the run when missing, and
#        removed again afterwards)
# Needs root (it starts sshd), openssh-server, openssh-client, ansible-core.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HOSTS=${HOSTS:-10}
TASKS=${TASKS:-20}
FORKS=${FORKS:-10}
PORT=${PORT:-2299}
NET=${NET:-127.0.2}
BUILD=${BUILD:-$ROOT/build-bench}
BENCH_USER=${BENCH_USER:-droverbench}
WHAT=${*:-all}

case $NET in 127.*) ;; *) echo "bench: NET must be a loopback prefix (127.x.y)" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/drover-bench-XXXXXX)
chmod 711 "$WORK"
CREATED_USER=
cleanup() {
	for ((i = 1; i <= HOSTS; i++)); do
		sh "$ROOT/tests/conn/sshd.sh" stop "$WORK/sshd$i" 2>/dev/null || true
	done
	[ -z "$CREATED_USER" ] || sh "$ROOT/tests/conn/sshd.sh" deluser "$CREATED_USER"
	rm -rf "$WORK"
}
trap cleanup EXIT

want() { [[ " $WHAT " == *" $1 "* || " $WHAT " == *" all "* ]]; }

timed() { # timed LABEL CMD...: run CMD, print its wall time
	local label=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	"$@" >"$WORK/$label.out" 2>&1 || { echo "$label failed:" >&2; tail -20 "$WORK/$label.out" >&2; return 1; }
	t1=$(date +%s.%N)
	printf '%-8s %d hosts x %d tasks, forks %d: %.3f s\n' "$label" "$HOSTS" "$TASKS" "$FORKS" \
		"$(echo "$t1 - $t0" | bc)"
}

start_hosts() {
	if ! id "$BENCH_USER" >/dev/null 2>&1; then
		sh "$ROOT/tests/conn/sshd.sh" user "$BENCH_USER"
		CREATED_USER=$BENCH_USER
	fi
	mkdir -p "$WORK/sshd1"
	ssh-keygen -q -t ed25519 -N '' -f "$WORK/sshd1/id_ed25519"
	: >"$WORK/known_hosts"
	for ((i = 1; i <= HOSTS; i++)); do
		mkdir -p "$WORK/sshd$i"
		[ $i -eq 1 ] || cp "$WORK/sshd1/id_ed25519" "$WORK/sshd1/id_ed25519.pub" "$WORK/sshd$i/"
		sh "$ROOT/tests/conn/sshd.sh" start "$WORK/sshd$i" "$NET.$i" "$PORT"
		cat "$WORK/sshd$i/known_hosts" >>"$WORK/known_hosts"
	done
	KEY=$WORK/sshd1/id_ed25519
	{
		echo "[bench]"
		for ((i = 1; i <= HOSTS; i++)); do
			printf 'host%02d ansible_host=%s.%d\n' "$i" "$NET" "$i"
		done
		echo "[bench:vars]"
		echo "ansible_port=$PORT"
		echo "ansible_user=$BENCH_USER"
		echo "ansible_ssh_private_key_file=$KEY"
		echo "ansible_ssh_common_args='-o UserKnownHostsFile=$WORK/known_hosts'"
		echo "ansible_python_interpreter=/usr/bin/python3"
	} >"$WORK/inventory.ini"
	{
		echo "- hosts: bench"
		echo "  gather_facts: false"
		echo "  tasks:"
		for ((t = 1; t <= TASKS; t++)); do
			echo "    - name: true $t"
			echo "      command: 'true'"
		done
	} >"$WORK/play.yml"
}

build() {
	if [ ! -f "$BUILD/libdrover.a" ] || [ ! -x "$BUILD/drover" ]; then
		cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$BUILD" -j"$(nproc)" --target drover libdrover >/dev/null
	fi
	# shellcheck disable=SC2046
	cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/engine" -I"$ROOT" "$ROOT/bench/ssh/bench_pool.c" \
		"$BUILD/libdrover.a" $(pkg-config --libs libssh jansson libcurl yaml-0.1 lua5.4) \
		-lpthread -lm -o "$WORK/bench_pool"
}

openssh_floor() {
	local i t
	for ((i = 1; i <= HOSTS; i++)); do
		ssh -MNf -o ControlPath="$WORK/cm-$i" -o UserKnownHostsFile="$WORK/known_hosts" \
			-o BatchMode=yes -i "$KEY" -p "$PORT" "$BENCH_USER@$NET.$i"
	done
	for ((t = 1; t <= TASKS; t++)); do
		for ((i = 1; i <= HOSTS; i++)); do
			ssh -o ControlPath="$WORK/cm-$i" -p "$PORT" "$BENCH_USER@$NET.$i" true &
		done
		wait
	done
	for ((i = 1; i <= HOSTS; i++)); do
		ssh -o ControlPath="$WORK/cm-$i" -O exit "$NET.$i" 2>/dev/null || true
	done
}

start_hosts
build
# results also go to bench/results/ (not tracked), one file per run
mkdir -p "$ROOT/bench/results"
exec > >(tee "$ROOT/bench/results/ssh-$(date -u +%Y%m%dT%H%M%SZ).txt")
if want pool; then
	"$WORK/bench_pool" "$BENCH_USER" "$KEY" "$WORK/known_hosts" "$PORT" "$TASKS" "$FORKS" \
		$(for ((i = 1; i <= HOSTS; i++)); do echo "$NET.$i"; done)
fi
if want drover; then
	timed drover "$BUILD/drover" run -i "$WORK/inventory.ini" -f "$FORKS" "$WORK/play.yml"
fi
if want ansible; then
	ANSIBLE_PIPELINING=1 ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s" \
		ANSIBLE_CONTROL_PATH_DIR="$WORK/cp" ANSIBLE_FORKS="$FORKS" \
		ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 \
		timed ansible /usr/bin/ansible-playbook -i "$WORK/inventory.ini" "$WORK/play.yml"
fi
if want openssh; then
	timed openssh openssh_floor
fi
