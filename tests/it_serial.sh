#!/bin/bash
# it_serial.sh: a templated `serial` (as upgrade-k3s.yaml's
# "{{ k3s_upgrade_serial | default(1) }}") sets the batch size, rendered with
# play vars and extra vars; one that cannot be rendered stops the run with
# exit 1 instead of running every host at once.
set -u
DROVER=${DROVER_BIN:-../build/drover}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() {
	if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; fails=$((fails + 1)); fi
}
cat >"$T/pb.yaml" <<'YAML'
- hosts: all
  gather_facts: false
  serial: "{{ n | default(1) }}"
  tasks:
    - debug: msg=hi
YAML
cat >"$T/bad.yaml" <<'YAML'
- hosts: all
  gather_facts: false
  serial: "{{ n }}"
  tasks:
    - debug: msg=hi
YAML
check "default(1): one host per batch" "$("$DROVER" run -i a,b,c, -c local "$T/pb.yaml" | grep -c '^PLAY \[')" 3
check "-e n=2: two batches" "$("$DROVER" run -i a,b,c, -c local -e n=2 "$T/pb.yaml" | grep -c '^PLAY \[')" 2
"$DROVER" run -i a,b,c, -c local "$T/bad.yaml" >"$T/out" 2>&1
check "an undefined serial exits 1" "$?" 1
check "and says why" "$(grep -c "serial: 'n' is undefined" "$T/out")" 1
check "and runs no task" "$(grep -c 'ok: \[' "$T/out")" 0
echo "$((5 - fails)) passed, $fails failed"
[ "$fails" = 0 ]
