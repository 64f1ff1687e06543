#!/bin/bash
# tests/it_nolog.sh: a module argument marked no_log (tests/nolog/library/
# secret_use.lua's token) never reaches what drover prints: runs the
# playbook at -vvv (command lines shown), with a Lua hook printing every
# result and with --output json, over the local connection and over ssh
# (a real sshd on loopback, tests/conn/sshd.sh), and greps stdout and
# stderr for the value; the same for a built-in module, user's password
# (a local user drover-nolog-u is made and removed). Each run must also
# show the mask and the masked command line, so a run that printed
# nothing cannot pass.
set -u
cd "$(dirname "$0")"
: "${DROVER_BIN:?set DROVER_BIN to the drover binary}"
fail=0
tmp=$(mktemp -d)
sshdir=$tmp/sshd
cleanup() {
	sh conn/sshd.sh stop "$sshdir" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
secret=tok-8f3e1c-SECRET
export DROVER_CONFIG=$tmp/drover.cfg NO_COLOR=1
printf '[defaults]\nlibrary = %s/nolog/library\n' "$PWD" >"$DROVER_CONFIG"

check() { # check NAME INVENTORY [drover args...]
	local name=$1 inv=$2
	shift 2
	timeout 120 "$DROVER_BIN" run -i "$inv" "$@" "${pb:-nolog/nolog.yml}" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	local why=
	if grep -q -- "$secret" "$tmp/out" "$tmp/err"; then
		why="the secret was printed: $(grep -h -- "$secret" "$tmp/out" "$tmp/err" | head -3)"
	elif [ $rc != 0 ]; then
		why="exit code $rc"
	elif ! grep -q '\*\*\*\*\*\*\*\*' "$tmp/out" "$tmp/err"; then
		why="no masked value shown"
	fi
	for want in "$@"; do
		case $want in
		-vvv) grep -q -e "${want_cmd:-echo token=}'\*\*\*\*\*\*\*\*'" "$tmp/err" ||
			why="${why:-no masked command line at -vvv}" ;;
		--hook) [ "$(grep -c 'hook result .*\*\*\*\*\*\*\*\*' "$tmp/err")" -ge 4 ] ||
			why="${why:-the hook did not see masked results}" ;;
		esac
	done
	if [ -n "$why" ]; then
		echo "FAIL $name: $why"
		echo "--- stdout"; head -40 "$tmp/out"
		echo "--- stderr"; head -20 "$tmp/err"
		fail=1
	else
		echo "ok   $name"
	fi
}

printf 'target ansible_connection=local\n' >"$tmp/local.ini"
check "local -vvv" "$tmp/local.ini" -vvv
check "local -vvv with a hook" "$tmp/local.ini" -vvv --hook nolog/hook.lua
check "local json" "$tmp/local.ini" --output json -vvv

# A built-in module: user's password hash on useradd's command line (this
# creates and removes a local user, drover-nolog-u).
trap 'userdel drover-nolog-u >/dev/null 2>&1; cleanup' EXIT
secret=HashOfASecretNotForEyes pb=nolog/user.yml want_cmd="-p " \
	check "user password, local -vvv" "$tmp/local.ini" -vvv

port=$((20000 + RANDOM % 20000))
if sh conn/sshd.sh start "$sshdir" 127.0.0.1 $port >"$tmp/sshd.out" 2>&1; then
	cat >"$tmp/ssh.ini" <<INI
target ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=$port ansible_user=root ansible_ssh_private_key_file=$sshdir/id_ed25519 ansible_host_key_checking=false
INI
	check "ssh -vvv" "$tmp/ssh.ini" -vvv
	check "ssh json with a hook" "$tmp/ssh.ini" --output json -vvv --hook nolog/hook.lua
else
	echo "FAIL could not start sshd"; cat "$tmp/sshd.out"; fail=1
fi
exit $fail
