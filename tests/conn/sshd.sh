#!/bin/sh
# sshd.sh - a private, real OpenSSH server for drover's connection tests.
#
#   sshd.sh start DIR ADDR PORT   host keys, a user key and sshd_config in DIR;
#                                 sshd listens on ADDR:PORT (loopback only)
#   sshd.sh stop DIR              kill that sshd and every session it forked
#   sshd.sh rekey DIR             give the server a new host key (restart)
#   sshd.sh user NAME             a local user (login shell /bin/sh) that may
#                                 sudo with its password (set it with chpasswd)
#   sshd.sh deluser NAME          remove that user again
#
# SSHD_SETENV, when set, is written as sshd's SetEnv (environment for the
# sessions, e.g. PATH=... to put a stand-in command on it). SSHD_MAXSESSIONS
# sets MaxSessions (default 10, OpenSSH's default).
# DIR gets: id_ed25519 (+ .pub, authorized for every user), wrong_ed25519
# (not authorized), host_ed25519_key, known_hosts (the server's key, for
# tests that trust it), sshd.pid, sshd.log. Runs as root.
set -eu

cmd=$1
shift

start() {
	dir=$1 addr=$2 port=$3
	case $addr in 127.*) ;; *) echo "sshd.sh: loopback addresses only" >&2; exit 2 ;; esac
	mkdir -p "$dir" /run/sshd
	chmod 755 "$dir"
	[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C drover-test -f "$dir/id_ed25519"
	[ -f "$dir/wrong_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C wrong -f "$dir/wrong_ed25519"
	[ -f "$dir/host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519_key"
	cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
	chmod 644 "$dir/authorized_keys"
	cat > "$dir/sshd_config" <<EOF
ListenAddress $addr:$port
HostKey $dir/host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
MaxSessions ${SSHD_MAXSESSIONS:-10}
MaxStartups 100
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
	if [ -n "${SSHD_SETENV:-}" ]; then echo "SetEnv $SSHD_SETENV" >> "$dir/sshd_config"; fi
	if [ "$port" -eq 22 ]; then spec=$addr; else spec="[$addr]:$port"; fi
	echo "$spec $(cut -d' ' -f1,2 "$dir/host_ed25519_key.pub")" > "$dir/known_hosts"
	/usr/sbin/sshd -t -f "$dir/sshd_config"
	rm -f "$dir/sshd.pid"
	# -D: we see it die when it cannot listen (port taken); no fd of the
	# caller (ctest's pipes) stays open in the daemon
	/usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null >/dev/null 2>&1 &
	pid=$!
	# sshd writes its pid once it listens
	i=0
	while [ ! -s "$dir/sshd.pid" ] && [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$dir/sshd.pid" ] || { tail -5 "$dir/sshd.log" >&2; kill "$pid" 2>/dev/null; exit 1; }
}

tree() {
	echo "$1"
	for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done
}

stop() {
	dir=$1
	[ -s "$dir/sshd.pid" ] || return 0
	pid=$(cat "$dir/sshd.pid")
	# the listener and every session it forked, down to the commands
	kill -STOP "$pid" 2>/dev/null || true
	kill -KILL $(tree "$pid") 2>/dev/null || true
	rm -f "$dir/sshd.pid"
}

case $cmd in
start) start "$@" ;;
stop) stop "$@" ;;
rekey)
	dir=$1
	addr=$(sed -n 's/^ListenAddress \(.*\):\([0-9]*\)$/\1/p' "$dir/sshd_config")
	port=$(sed -n 's/^ListenAddress \(.*\):\([0-9]*\)$/\2/p' "$dir/sshd_config")
	stop "$dir"
	rm -f "$dir/host_ed25519_key" "$dir/host_ed25519_key.pub"
	cp "$dir/known_hosts" "$dir/known_hosts.old"
	start "$dir" "$addr" "$port"
	mv "$dir/known_hosts.old" "$dir/known_hosts"
	;;
user)
	name=$1
	if ! id "$name" >/dev/null 2>&1; then
		useradd -m -s /bin/sh "$name"
		# useradd leaves the account locked ("!"), and sshd refuses locked
		# accounts even with a key: no password, but not locked
		usermod -p '*' "$name"
	fi
	echo "$name ALL=(ALL) ALL" > "/etc/sudoers.d/drover-test-$name"
	chmod 440 "/etc/sudoers.d/drover-test-$name"
	;;
deluser)
	name=$1
	rm -f "/etc/sudoers.d/drover-test-$name"
	if id "$name" >/dev/null 2>&1; then
		pkill -KILL -u "$name" 2>/dev/null || true
		userdel -r "$name" 2>/dev/null || userdel "$name"
	fi
	;;
*) echo "usage: sshd.sh start|stop|rekey|user|deluser ..." >&2; exit 2 ;;
esac
