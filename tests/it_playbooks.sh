#!/bin/bash
# The playbook suite: run drover on every tests/playbooks/suite/*.yml
# against localhost (connection local) and compare what happened - status
# per task and host, the values debug printed (registered results), recap
# counts and exit code - with what ansible-playbook 2.14 did on the same
# playbook (tests/playbooks/expected/, made by tests/gen/playbook_expected.sh).
# Then checks of the default (text) output against Ansible's format.
set -uo pipefail
cd "$(dirname "$0")/playbooks"
: "${DROVER_BIN:?DROVER_BIN must point at the drover binary}"
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" /tmp/drover-suite' EXIT
export NO_COLOR=1

# compare NAME INVENTORY EXPECTED LABEL SECS: run suite/NAME.yml (with its
# "# args:" and "# normalize:") against INVENTORY and compare what happened
# with EXPECTED, what ansible-playbook did.
compare() {
	local name=$1 inv=$2 exp=$3 label=$4 secs=$5 args norm rc
	args=$(sed -n 's/^# args: //p' "suite/$name.yml" | head -1)
	norm=$(sed -n "s/^# normalize: //p" "suite/$name.yml" | head -1)
	eval "timeout $secs \"$DROVER_BIN\" run --output json -i \"$inv\" $args suite/$name.yml" \
		>"$tmp/out.json" 2>"$tmp/err.txt"
	rc=$?
	/usr/bin/python3 normalize.py "$rc" $norm <"$tmp/out.json" >"$tmp/got.txt" 2>>"$tmp/err.txt"
	if ! diff -u "$exp" "$tmp/got.txt" >"$tmp/diff.txt"; then
		echo "FAIL $name ($label): drover differs from ansible-playbook"
		head -60 "$tmp/diff.txt"
		sed 's/^/  stderr: /' "$tmp/err.txt" | head -20
		fail=1
	else
		echo "ok   $name ($label)"
	fi
}

for pb in suite/[0-9]*.yml; do
	name=$(basename "$pb" .yml)
	runs=$(sed -n 's/^# runs: //p' "$pb" | head -1)
	rm -rf /tmp/drover-suite
	for run in $(seq 1 "${runs:-1}"); do
		exp=expected/$name.txt
		[ "$run" = 1 ] || exp=expected/$name.$run.txt
		compare "$name" suite/hosts "$exp" "run $run" 120
	done
done

# The same playbooks over ssh, against a real sshd on loopback
# (tests/conn/sshd.sh): results must not depend on the connection.
sshdir=$tmp/sshd
port=$((20000 + RANDOM % 20000))
if sh ../conn/sshd.sh start "$sshdir" 127.0.0.1 $port >"$tmp/sshd.out" 2>&1; then
	trap 'sh ../conn/sshd.sh stop "$sshdir" >/dev/null 2>&1; rm -rf "$tmp" /tmp/drover-suite' EXIT
	sed "s|^ansible_connection=local|ansible_connection=ssh\nansible_host=127.0.0.1\nansible_port=$port\nansible_user=root\nansible_ssh_private_key_file=$sshdir/id_ed25519\nansible_host_key_checking=false|" \
		suite/hosts >"$tmp/hosts_ssh"
	# 30-33: throttle, async jobs (they must outlive the channel that
	# started them) and module_defaults
	for name in 01_basics 03_blocks 04_handlers 08_until 19_files 23_become \
		30_throttle 31_async 32_module_defaults 33_throttle_free; do
		rm -rf /tmp/drover-suite
		compare "$name" "$tmp/hosts_ssh" "expected/$name.txt" "over ssh" 180
	done
else
	echo "FAIL could not start sshd for the ssh runs"; cat "$tmp/sshd.out"; fail=1
fi

# Text output: banners, result lines and the recap line as Ansible prints them.
"$DROVER_BIN" run -f 1 -i suite/hosts text/recap.yml >"$tmp/text.txt" 2>&1
rc=$?
if [ $rc != 2 ] || ! diff -u text/recap.expected "$tmp/text.txt"; then
	echo "FAIL default output of text/recap.yml (rc $rc)"
	fail=1
else
	echo "ok   default output"
fi

# Default output of suite playbooks (handlers, roles, includes, serial,
# meta, failures...), paths cut and timings blanked as the generator does.
text_norm() {
	sed "s|$(pwd)/||; s/\"delta\": \"[^\"]*\"/\"delta\": \"-\"/g;
		s/\"start\": \"[^\"]*\"/\"start\": \"-\"/g; s/\"end\": \"[^\"]*\"/\"end\": \"-\"/g"
}
for e in text/suite_*.expected; do
	n=${e#text/suite_}
	n=${n%.expected}
	args=$(sed -n 's/^# args: //p' "suite/$n.yml" | head -1)
	rm -rf /tmp/drover-suite
	eval "\"$DROVER_BIN\" run -f 1 -i suite/hosts $args suite/$n.yml" 2>&1 | text_norm >"$tmp/t"
	if ! diff -u "$e" "$tmp/t"; then
		echo "FAIL default output of $n"; fail=1
	else
		echo "ok   default output of $n"
	fi
done

# Colour on a terminal, line by line as Ansible colours (banner widths follow
# the terminal, so runs of '*' are compared as one); NO_COLOR turns it off.
timeout 60 script -qc "env -u NO_COLOR '$DROVER_BIN' run -f 1 -i suite/hosts text/recap.yml" /dev/null |
	tr -d '\r' | sed 's/\*\**/*/' >"$tmp/c"
if ! diff -u <(sed 's/\*\**/*/' text/recap.color.expected) "$tmp/c"; then
	echo "FAIL colour output"; fail=1
else
	echo "ok   colour output"
fi
timeout 60 script -qc "NO_COLOR=1 '$DROVER_BIN' run -f 1 -i suite/hosts text/recap.yml" /dev/null >"$tmp/c"
if grep -q $'\033' "$tmp/c"; then
	echo "FAIL NO_COLOR"; fail=1
else
	echo "ok   NO_COLOR"
fi

# -v: results on the result lines, as Ansible's default callback shows them.
"$DROVER_BIN" run -v -i suite/hosts text/verbose.yml >"$tmp/v" 2>&1
if ! diff -u text/verbose.expected "$tmp/v"; then
	echo "FAIL -v output"; fail=1
else
	echo "ok   -v output"
fi

# verbose-always results (assert) and skipped loops.
"$DROVER_BIN" run -i suite/hosts text/assert.yml >"$tmp/as" 2>&1
if ! diff -u text/assert.expected "$tmp/as"; then
	echo "FAIL assert output"; fail=1
else
	echo "ok   assert output"
fi

# A failed include prints its failure under the task banner.
"$DROVER_BIN" run -i suite/hosts text/include_fail.yml >"$tmp/if" 2>&1
rc=$?
if [ $rc != 2 ] || ! grep -q '^fatal: \[h1\]: FAILED! => {"reason": ".*no-such-file.yml' "$tmp/if"; then
	echo "FAIL failed include output (rc $rc)"; cat "$tmp/if"; fail=1
else
	echo "ok   failed include output"
fi

# Ctrl-C: no new tasks, the recap, exit 130.
"$DROVER_BIN" run -i suite/hosts text/interrupt.yml >"$tmp/i" 2>&1 &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid
rc=$?
if [ $rc != 130 ] || grep -q "TASK \[never\]" "$tmp/i" || ! grep -q "PLAY RECAP" "$tmp/i"; then
	echo "FAIL Ctrl-C (rc $rc)"; cat "$tmp/i"; fail=1
else
	echo "ok   Ctrl-C"
fi

# --step on a terminal (script(1) gives drover a pty): yes, no, yes.
(sleep 1; printf 'y\n'; sleep 1; printf 'n\n'; sleep 1; printf 'y\n') |
	timeout 30 script -qc "NO_COLOR=1 '$DROVER_BIN' run -i suite/hosts --step text/step.yml" /dev/null |
	tr -d '\r' >"$tmp/s"
if ! grep -q '"msg": "one"' "$tmp/s" || grep -q '"msg": "two"' "$tmp/s" ||
	! grep -q '"msg": "three"' "$tmp/s" || ! grep -q 'Perform task: TASK: second' "$tmp/s"; then
	echo "FAIL --step"; cat "$tmp/s"; fail=1
else
	echo "ok   --step"
fi

# A second Ctrl-C leaves at once, even while a command still runs.
"$DROVER_BIN" run -i suite/hosts text/hang.yml >"$tmp/i2" 2>&1 &
pid=$!
sleep 1
kill -INT $pid
sleep 0.5
kill -INT $pid
start=$SECONDS
wait $pid
rc=$?
if [ $rc != 130 ] || [ $((SECONDS - start)) -gt 5 ]; then
	echo "FAIL second Ctrl-C (rc $rc)"; fail=1
else
	echo "ok   second Ctrl-C"
fi

# vars_prompt without a value: a clear error, nothing runs.
"$DROVER_BIN" run -i suite/hosts suite/21_misc.yml >"$tmp/p" 2>&1
rc=$?
if [ $rc != 1 ] || ! grep -q "vars_prompt 'asked' needs a value: drover does not prompt; pass -e asked=VALUE" "$tmp/p"; then
	echo "FAIL vars_prompt error (rc $rc)"; cat "$tmp/p"; fail=1
else
	echo "ok   vars_prompt error"
fi

# --diff: unified diffs before the result lines (the modules' own headers,
# which name Ansible's temporary files, are left out of the comparison).
rm -rf /tmp/drover-suite
"$DROVER_BIN" run -D -i suite/hosts text/diff.yml 2>&1 | grep -v '^--- before\|^+++ after' >"$tmp/d"
if ! diff -u text/diff.expected "$tmp/d"; then
	echo "FAIL --diff output"; fail=1
else
	echo "ok   --diff output"
fi

# Lua hooks: a host_task_start veto fails that host's task; run_end sees the stats.
"$DROVER_BIN" run -i suite/hosts --hook hooks/veto.lua hooks/hooks.yml >"$tmp/h" 2>&1
rc=$?
if [ $rc != 2 ] || ! grep -q 'fatal: \[h2\]: FAILED! => {' "$tmp/h" ||
	! grep -q '"msg": "vetoed by a hook: h2 may not run forbidden"' "$tmp/h" ||
	! grep -q 'hook saw run_start=1 results=4 h1.ok=2' "$tmp/h"; then
	echo "FAIL lua hooks (rc $rc)"; cat "$tmp/h"; fail=1
else
	echo "ok   lua hooks"
fi

# --list-tasks, --list-tags, --list-hosts: the same text as ansible-playbook.
for a in text/list*.args; do
	eval "\"$DROVER_BIN\" run -i suite/hosts $(cat "$a")" >"$tmp/l" 2>&1
	if ! diff -u "${a%.args}.expected" "$tmp/l"; then
		echo "FAIL listing: $(cat "$a")"; fail=1
	else
		echo "ok   listing: $(cat "$a")"
	fi
done

# An undefined variable fails the host with a message naming file:line and
# the variable.
"$DROVER_BIN" run -i suite/hosts text/undefined.yml >"$tmp/u" 2>&1
rc=$?
if [ $rc != 2 ] || ! grep -q "undefined.yml:6:[0-9]*: 'nosuchvar' is undefined" "$tmp/u"; then
	echo "FAIL undefined variable (rc $rc)"; cat "$tmp/u"; fail=1
else
	echo "ok   undefined variable"
fi

# A play's hooks: keyword loads hook files from the play on.
"$DROVER_BIN" run -i suite/hosts hooks/play_hooks.yml >"$tmp/h" 2>&1
rc=$?
if [ $rc != 2 ] || ! grep -q '"msg": "vetoed by a hook: h2 may not run forbidden"' "$tmp/h" ||
	! grep -q 'hook saw run_start=0 results=4 h1.ok=2' "$tmp/h"; then
	echo "FAIL play hooks (rc $rc)"; cat "$tmp/h"; fail=1
else
	echo "ok   play hooks"
fi

# A syntax error names file:line:col and exits 1 before running anything.
"$DROVER_BIN" run -i suite/hosts loader/bad_play_key.yml >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc != 1 ] || ! grep -q "bad_play_key.yml:2:3: 'hosst' is not a valid attribute for a Play" "$tmp/e"; then
	echo "FAIL syntax error report (rc $rc)"; cat "$tmp/e"; fail=1
else
	echo "ok   syntax error"
fi

# Ad-hoc: minimal callback lines.
"$DROVER_BIN" exec -i suite/hosts h1 -- echo adhoc >"$tmp/a" 2>&1
if [ "$(cat "$tmp/a")" != "$(printf 'h1 | CHANGED | rc=0 >>\nadhoc')" ]; then
	echo "FAIL exec shell"; cat "$tmp/a"; fail=1
else
	echo "ok   exec shell"
fi
"$DROVER_BIN" exec -i suite/hosts web -m command -a "/bin/false" >"$tmp/a" 2>&1
rc=$?
if [ $rc != 2 ] || [ "$(grep -c '| FAILED | rc=1 >>' "$tmp/a")" != 2 ]; then
	echo "FAIL exec failing command (rc $rc)"; cat "$tmp/a"; fail=1
else
	echo "ok   exec failing command"
fi
"$DROVER_BIN" exec -i suite/hosts h3 -m debug -a 'msg={{ site }}' >"$tmp/a" 2>&1
if [ "$(cat "$tmp/a")" != "$(printf 'h3 | SUCCESS => {\n    "msg": "lab"\n}')" ]; then
	echo "FAIL exec debug"; cat "$tmp/a"; fail=1
else
	echo "ok   exec debug"
fi
exit $fail
