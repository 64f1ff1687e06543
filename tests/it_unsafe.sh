#!/bin/bash
# it_unsafe.sh: what a module brings back from a host is data, never a
# template (Ansible's AnsibleUnsafe). A file on the host holding "{{ ... }}"
# must not be evaluated on the controller when its registered output is
# used directly, through set_fact, or in a condition.
set -u
DROVER=${DROVER_BIN:-../build/drover}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 passes=0
check() {
	if "${@:2}"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi
}
printf '%s' "{{ lookup('pipe', 'touch $T/pwned') }}{{ 7 * 6 }}" >"$T/payload"
cat >"$T/pb.yaml" <<YAML
- hosts: localhost
  gather_facts: false
  tasks:
    - command: cat $T/payload
      register: out
    - set_fact:
        seen: "{{ out.stdout }}"
    - debug:
        msg: "direct={{ out.stdout }}"
    - debug:
        msg: "via set_fact={{ seen }}"
    - debug:
        msg: "in a condition"
      when: out.stdout != ''
YAML
"$DROVER" run -i localhost, -c local "$T/pb.yaml" >"$T/out" 2>&1
check "the run succeeds" test $? = 0
check "direct use prints the text" grep -qF "direct={{ lookup('pipe'" "$T/out"
check "set_fact keeps it text" grep -qF "via set_fact={{ lookup('pipe'" "$T/out"
check "nothing was evaluated (no 42)" test "$(grep -c '42' "$T/out")" = 0
check "no lookup ran on the controller" test ! -e "$T/pwned"
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
