#!/bin/bash
# it_become_su.sh: `become_method: su` end to end. drover logs in over ssh
# (a private sshd from tests/conn/sshd.sh on loopback) as throwaway user A
# and becomes throwaway user B with B's password from the inventory
# (ansible_become_password), at -vvv: tasks run as B, files land as B's,
# stdin reaches the command, and B's password shows nowhere in the output.
# A wrong password fails the task with "Incorrect su password" in seconds.
# The same playbook runs over the local connection with drover started as A.
# Needs root (useradd, chpasswd, sshd); cleans the users and sshd up.
set -u
DROVER=$(readlink -f "${DROVER_BIN:-../build/drover}")
T=$(mktemp -d /tmp/drover-it-su-XXXXXX)
A=drovsua$$ B=drovsub$$
PW="B-su-$$-pw x%y"
BAD="Wr0ng-su-$$-pw"
PORT=$((30000 + $$ % 10000))
cleanup() {
	sh conn/sshd.sh stop "$T/sshd" >/dev/null 2>&1
	sh conn/sshd.sh deluser "$A" >/dev/null 2>&1
	sh conn/sshd.sh deluser "$B" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fails=0 passes=0
check() {
	if "${@:2}"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi
}
absent() { ! grep -qF -- "$1" "$2"; }

chmod 711 "$T" # A's login reads authorized_keys inside
sh conn/sshd.sh user "$A" || exit 1
useradd -m -s /bin/sh "$B" && echo "$B:$PW" | chpasswd || exit 1
for i in 1 2 3 4 5; do
	sh conn/sshd.sh start "$T/sshd" 127.0.0.1 "$PORT" 2>/dev/null && break
	PORT=$((PORT + 997))
done
[ -s "$T/sshd/sshd.pid" ] || { echo "FAIL cannot start sshd"; exit 1; }

cat >"$T/inv.yml" <<YAML
all:
  hosts:
    node:
      ansible_host: 127.0.0.1
      ansible_port: $PORT
      ansible_user: $A
      ansible_ssh_private_key_file: $T/sshd/id_ed25519
      ansible_ssh_common_args: -o UserKnownHostsFile=$T/sshd/known_hosts
      ansible_become_password: "$PW"
    local:
      ansible_connection: local
      ansible_become_password: "$PW"
YAML
cat >"$T/pb.yml" <<YAML
- hosts: all
  gather_facts: false
  become: true
  become_method: su
  become_user: $B
  tasks:
    - command: id -un
      register: who
    - assert:
        that: who.stdout == "$B"
    - copy:
        content: "written as B\n"
        dest: "~/su-e2e-{{ inventory_hostname }}.txt"
        mode: "0600"
    - command: cat
      args:
        stdin: "through the terminal"
      register: piped
    - assert:
        that: piped.stdout == "through the terminal"
    - shell: echo out; echo err >&2
      register: both
    - debug:
        msg: "merged={{ both.stdout_lines | join(',') }}"
YAML

"$DROVER" run -i "$T/inv.yml" -l node -vvv "$T/pb.yml" >"$T/out" 2>&1
rc=$?
check "ssh: the run succeeds" test $rc = 0
check "ssh: tasks ran as B" grep -q "\"$B\"" "$T/out"
check "ssh: the file is B's" test "$(stat -c %U "/home/$B/su-e2e-node.txt" 2>/dev/null)" = "$B"
check "ssh: stdout and stderr merge on the terminal" grep -q "merged=out,err" "$T/out"
check "ssh: -vvv shows the su command" grep -q "su '$B' -c" "$T/out"
check "ssh: the password is nowhere in the output" absent "$PW" "$T/out"
[ $rc = 0 ] || tail -30 "$T/out"

# the local connection, drover started as A
chmod 755 "$T"
chmod 644 "$T/inv.yml" "$T/pb.yml"
runuser -u "$A" -- env HOME="/home/$A" "$DROVER" run -i "$T/inv.yml" -l local -vvv \
	"$T/pb.yml" >"$T/local" 2>&1
rc=$?
check "local: the run succeeds" test $rc = 0
check "local: the file is B's" test "$(stat -c %U "/home/$B/su-e2e-local.txt" 2>/dev/null)" = "$B"
check "local: the password is nowhere in the output" absent "$PW" "$T/local"
[ $rc = 0 ] || tail -30 "$T/local"

start=$(date +%s)
"$DROVER" run -i "$T/inv.yml" -l node -vvv -e "ansible_become_password=$BAD" "$T/pb.yml" \
	>"$T/bad" 2>&1
rc=$?
took=$(($(date +%s) - start))
check "wrong password: the host fails (exit 2)" test $rc = 2
check "wrong password: said so" grep -q "Incorrect su password" "$T/bad"
check "wrong password: within seconds ($took s)" test "$took" -lt 20
check "wrong password: it is not printed" absent "$BAD" "$T/bad"

cat >"$T/doas.yml" <<YAML
- hosts: node
  gather_facts: false
  tasks:
    - name: escalate with doas
      command: id
      become: true
      become_method: doas
YAML
"$DROVER" run -i "$T/inv.yml" "$T/doas.yml" >"$T/doas" 2>&1
check "unknown method: the host fails" test $? = 2
check "unknown method: names the task" grep -q "TASK \[escalate with doas\]" "$T/doas"
check "unknown method: names host and method" grep -q "fatal: \[node\].*become_method 'doas' is not supported" "$T/doas"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
