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
# Each variant runs REPEAT times, interleaved (pool, drover, ansible,
# openssh, then again), so a load spike on a shared machine hits every
# variant alike. Every run prints its wall time, the CPU of the client (the
# process tree the run started) and the hosts' CPU: the sshd's and all they
# ran for it (sessions, login shells, the commands; for ansible also its
# python on the hosts). The end prints the medians, the ratios and the
# machine. The hosts run on the same machine as the client: with few CPUs,
# their CPU is part of every variant's wall time (see bench/ssh/README.md).
#
# A fifth variant, not part of "all": `instructions` runs drover once under
# valgrind's callgrind and prints the instructions drover itself executed
# (the hosts' work is not in it), with the most expensive functions: a
# number that does not move with the machine's load, for before/after
# comparisons of drover's own CPU.
#
# usage: bench/ssh/bench.sh [pool|drover|ansible|openssh|instructions|all]...
#        (default all)
# env:   REPEAT=3 HOSTS=10 TASKS=20 FORKS=10 PORT=2299 NET=127.0.2
#        BUILD=build-bench (built as Release when it has no drover yet)
#        BENCH_USER=droverbench (a local user with /bin/sh as login shell, so
#        no shell rc files are timed; created for the run when missing, and
#        removed again afterwards)
# Needs root (it starts sshd), openssh-server, openssh-client, ansible-core,
# bc, pkg-config and the build dependencies.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REPEAT=${REPEAT:-3}
HOSTS=${HOSTS:-10}
TASKS=${TASKS:-20}
FORKS=${FORKS:-10}
PORT=${PORT:-2299}
NET=${NET:-127.0.2}
BUILD=${BUILD:-$ROOT/build-bench}
BENCH_USER=${BENCH_USER:-droverbench}
WHAT=${*:-all}

case $NET in 127.*) ;; *) echo "bench: NET must be a loopback prefix (127.x.y)" >&2; exit 2 ;; esac
case $REPEAT in '' | *[!0-9]* | 0) echo "bench: REPEAT must be a positive number" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/drover-bench-XXXXXX)
chmod 711 "$WORK"
CREATED_USER=
CG='' CG_DIR=''
close_masters() { # ask every OpenSSH master under $WORK to exit
	local s
	for s in "$WORK"/cm-* "$WORK"/cp/*; do
		if [ -S "$s" ]; then ssh -o ControlPath="$s" -O exit bench >/dev/null 2>&1 || true; fi
	done
}
cleanup() {
	close_masters
	for ((i = 1; i <= HOSTS; i++)); do
		sh "$ROOT/tests/conn/sshd.sh" stop "$WORK/sshd$i" 2>/dev/null || true
	done
	cg_remove
	[ -z "$CREATED_USER" ] || sh "$ROOT/tests/conn/sshd.sh" deluser "$CREATED_USER"
	rm -rf "$WORK"
}
trap cleanup EXIT

want() { [[ " $WHAT " == *" $1 "* || (" $WHAT " == *" all "* && $1 != instructions) ]]; }

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

# The sshd's run in a cgroup of their own, so the CPU spent serving a run
# (listeners, sessions and the commands they fork) can be read off it:
# counters of processes that are still running or were never waited for
# are in it too, unlike a parent's cutime.
# cgroup v1 (cpuacct) or v2; without either the column shows "n/a".
cg_setup() {
	local base i
	if [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
		base=/sys/fs/cgroup/cpuacct
	elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		base=/sys/fs/cgroup
	elif [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then
		base=/sys/fs/cgroup/unified
	else
		return 0
	fi
	CG_DIR=$base/$(basename "$WORK")
	mkdir "$CG_DIR" 2>/dev/null || { CG_DIR=; return 0; }
	for ((i = 1; i <= HOSTS; i++)); do
		cat "$WORK/sshd$i/sshd.pid" >"$CG_DIR/cgroup.procs" 2>/dev/null || return 0
	done
	CG=$CG_DIR
}

cg_remove() {
	local n
	[ -n "${CG_DIR:-}" ] || return 0
	for ((n = 0; n < 50; n++)); do
		rmdir "$CG_DIR" 2>/dev/null && break
		sleep 0.1
	done
	CG_DIR=
}

hosts_cpu() { # CPU seconds the sshd's and their children have used so far
	if [ -z "${CG:-}" ]; then
		echo n/a
	elif [ -f "$CG/cpuacct.usage" ]; then
		echo "scale=3; $(cat "$CG/cpuacct.usage") / 1000000000" | bc
	else
		echo "scale=3; $(sed -n 's/^usage_usec //p' "$CG/cpu.stat") / 1000000" | bc
	fi
}

# Wait (up to 5 s) until every session of the last run has ended, so that
# no run pays for the last one's teardown.
sessions_done() {
	local i n
	for ((n = 0; n < 100; n++)); do
		for ((i = 1; i <= HOSTS; i++)); do
			[ -z "$(ps -o pid= --ppid "$(cat "$WORK/sshd$i/sshd.pid")")" ] || break
		done
		[ $i -le "$HOSTS" ] || return 0
		sleep 0.05
	done
}

run_openssh() {
	local i t pids
	for ((i = 1; i <= HOSTS; i++)); do
		ssh -MNf -o ControlPath="$WORK/cm-$i" -o UserKnownHostsFile="$WORK/known_hosts" \
			-o BatchMode=yes -i "$KEY" -p "$PORT" "$BENCH_USER@$NET.$i"
	done
	for ((t = 1; t <= TASKS; t++)); do
		pids=()
		for ((i = 1; i <= HOSTS; i++)); do
			ssh -o ControlPath="$WORK/cm-$i" -p "$PORT" "$BENCH_USER@$NET.$i" true &
			pids+=($!)
		done
		# the pids, not a bare `wait`: that would also wait for the
		# output's tee (a process substitution) and never return
		for i in "${pids[@]}"; do wait "$i" || return 1; done
	done
	close_masters
}

run_pool() {
	# shellcheck disable=SC2046
	"$WORK/bench_pool" "$BENCH_USER" "$KEY" "$WORK/known_hosts" "$PORT" "$TASKS" "$FORKS" \
		$(for ((i = 1; i <= HOSTS; i++)); do echo "$NET.$i"; done)
}

run_drover() {
	"$BUILD/drover" run -i "$WORK/inventory.ini" -f "$FORKS" "$WORK/play.yml"
}

run_ansible() {
	ANSIBLE_PIPELINING=1 ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s" \
		ANSIBLE_CONTROL_PATH_DIR="$WORK/cp" ANSIBLE_FORKS="$FORKS" \
		ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 \
		/usr/bin/ansible-playbook -i "$WORK/inventory.ini" "$WORK/play.yml"
	# every run starts cold, as drover's does: no master left from the last
	close_masters
}

# measure REP VARIANT: one run; appends "VARIANT WALL" to $WORK/times
measure() {
	local rep=$1 v=$2 c0 c1 t u s
	sessions_done
	c0=$(hosts_cpu)
	TIMEFORMAT='%R %U %S'
	if ! { time "run_$v" >"$WORK/$v.out" 2>&1; } 2>"$WORK/$v.time"; then
		echo "$v failed:" >&2
		tail -20 "$WORK/$v.out" >&2
		return 1
	fi
	sessions_done
	c1=$(hosts_cpu)
	read -r t u s <"$WORK/$v.time"
	u=$(echo "$u + $s" | bc)
	[ "$c0" = n/a ] || c1=$(printf '%.3f' "$(echo "$c1 - $c0" | bc)")
	printf '%-4s %-8s %9.3f %14.3f %13s\n' "$rep" "$v" "$t" "$u" "$c1"
	echo "$v $t $u $c1" >>"$WORK/times"
	if [ "$v" = pool ]; then sed "s/^/              /" "$WORK/pool.out"; fi
}

median() { # median VARIANT [COLUMN]: the median wall time (2), client CPU (3)
	# or hosts' CPU (4) of its runs
	awk -v v="$1" -v c="${2:-2}" '$1 == v && $c != "n/a" { print $c }' "$WORK/times" | sort -g |
		awk '{ a[NR] = $1 } END { if (NR) printf "%.3f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

cpu_total() { # cpu_total VARIANT: median client CPU + median hosts' CPU
	local c h
	c=$(median "$1" 3)
	h=$(median "$1" 4)
	[ -n "$c" ] && [ -n "$h" ] && echo "$c + $h" | bc
}

summary() {
	local v m md c
	echo
	echo "medians of $REPEAT    wall (s)  client cpu (s)  hosts cpu (s)"
	for v in pool drover ansible openssh; do
		m=$(median $v)
		[ -z "$m" ] || printf '     %-8s %9.3f %14.3f %13s\n' "$v" "$m" "$(median $v 3)" \
			"$(median $v 4 | grep . || echo n/a)"
	done
	# the hosts share the client's CPUs here: no run can be shorter than
	# all the CPU it needs spread over all CPUs
	for v in drover ansible; do
		c=$(cpu_total $v) || continue
		printf 'CPU bound: %-8s needs %7.3f s of CPU (client + hosts), at least %7.3f s on %d CPUs\n' \
			"$v" "$c" "$(echo "$c / $(nproc)" | bc -l)" "$(nproc)"
	done
	md=$(median drover)
	[ -n "$md" ] || return 0
	for v in ansible openssh; do
		m=$(median $v)
		[ -z "$m" ] || printf '%-8s / drover = %.1fx   (drover / %s = %.4f)\n' "$v" \
			"$(echo "$m / $md" | bc -l)" "$v" "$(echo "$md / $m" | bc -l)"
	done
	c=$(cpu_total drover) && m=$(cpu_total ansible) &&
		printf 'CPU (client + hosts) ansible / drover = %.1fx\n' "$(echo "$m / $c" | bc -l)"
	m=$(median ansible)
	[ -z "$m" ] || echo "target: ansible / drover >= 50x:" \
		"$(echo "$m / $md >= 50" | bc | sed 's/1/met/; s/0/NOT met/')"
}

instructions() {
	local out=$WORK/callgrind.out
	command -v valgrind >/dev/null || { echo "instructions: valgrind is not installed" >&2; return 1; }
	valgrind --tool=callgrind --callgrind-out-file="$out" "$BUILD/drover" run \
		-i "$WORK/inventory.ini" -f "$FORKS" "$WORK/play.yml" >"$WORK/instructions.out" 2>&1 ||
		{ tail -20 "$WORK/instructions.out" >&2; return 1; }
	echo
	echo "drover's own instructions (callgrind, one run):" \
		"$(sed -n 's/^totals: //p' "$out")"
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
		grep -E '^ *[0-9,]+ \( *[0-9.]+%\) +[^ ]*:(host_connect|ssh_exec|exec_task_vars|output_result|RAND_get0_public|_dl_start) ' |
		sed 's/^/  /'
}

start_hosts
cg_setup
build
# results also go to bench/results/ (not tracked), one file per run
mkdir -p "$ROOT/bench/results"
exec > >(tee "$ROOT/bench/results/ssh-$(date -u +%Y%m%dT%H%M%SZ).txt")
echo "drover ssh fan-out: $HOSTS hosts x $TASKS tasks, forks $FORKS, $REPEAT runs each"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
	"$(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "drover $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')," \
	"$(ssh -V 2>&1), $(/usr/bin/ansible-playbook --version 2>/dev/null | sed -n 1p)"
echo
echo "run  variant   wall (s)  client cpu (s)  hosts cpu (s)"
: >"$WORK/times"
for ((r = 1; r <= REPEAT; r++)); do
	for v in pool drover ansible openssh; do
		if want $v; then measure "$r" "$v"; fi
	done
done
summary
if want instructions; then instructions; fi
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
