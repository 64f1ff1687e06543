#!/bin/bash
# tests/it_runtime.sh: async jobs under become (sudo with a password) as a
# login user that is not root, over ssh against a real sshd on loopback
# (tests/conn/sshd.sh). The runtime keywords' suite playbooks (30-33) run
# locally and over ssh in it_playbooks.sh.
set -uo pipefail
cd "$(dirname "$0")/playbooks"
: "${DROVER_BIN:?DROVER_BIN must point at the drover binary}"
fail=0
tmp=$(mktemp -d)
sshdir=$tmp/sshd
trap 'sh ../conn/sshd.sh stop "$sshdir" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000))
if ! sh ../conn/sshd.sh start "$sshdir" 127.0.0.1 $port >"$tmp/sshd.out" 2>&1; then
	echo "FAIL could not start sshd"; cat "$tmp/sshd.out"; exit 1
fi
# async under become with a sudo password, as a login user that is not
# root (a local user made by sshd.sh and removed at the end).
trap 'sh ../conn/sshd.sh deluser drover-rt-async >/dev/null 2>&1; sh ../conn/sshd.sh stop "$sshdir" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # sshd reads authorized_keys in it as that user
if sh ../conn/sshd.sh user drover-rt-async >"$tmp/user.out" 2>&1 &&
	echo 'drover-rt-async:rt-pw-4e1' | chpasswd; then
	printf 'target ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=%s ansible_user=drover-rt-async ansible_ssh_private_key_file=%s ansible_host_key_checking=false ansible_become_password=rt-pw-4e1\n' \
		"$port" "$sshdir/id_ed25519" >"$tmp/become.ini"
	timeout 120 "$DROVER_BIN" run -i "$tmp/become.ini" ../runtime/async_become.yml >"$tmp/out" 2>&1
	rc=$?
	if [ $rc != 0 ] ||
		! grep -q '"msg": "become: root root /root/.ansible_async/j[0-9]*\.[0-9]*"' "$tmp/out" ||
		! grep -q '"msg": "login: drover-rt-async /home/drover-rt-async/.ansible_async/j' "$tmp/out"; then
		echo "FAIL async under become (rc $rc)"; head -60 "$tmp/out"; fail=1
	else
		echo "ok   async under become, sudo with a password"
	fi
else
	echo "FAIL could not make the test user"; cat "$tmp/user.out"; fail=1
fi
exit $fail
