#!/bin/bash
# Generate tests/playbooks/expected/ from ansible-playbook (Debian's
# ansible-core 2.14), the oracle the suite compares drover with. Run once
# after adding or changing a playbook under tests/playbooks/suite/, and
# commit the result. Each playbook may carry "# args: ..." (extra
# ansible-playbook arguments), "# normalize: --unordered" (strategy free) and "# runs: 2" (run twice: the second run is
# recorded as NAME.2.txt, for idempotency).
set -euo pipefail
cd "$(dirname "$0")/../playbooks"
export ANSIBLE_STDOUT_CALLBACK=ansible.posix.json ANSIBLE_NOCOLOR=1 \
	ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_FORCE_COLOR=0 \
	ANSIBLE_CONFIG=/nonexistent.cfg
mkdir -p expected
for pb in suite/[0-9]*.yml; do
	name=$(basename "$pb" .yml)
	args=$(sed -n 's/^# args: //p' "$pb" | head -1)
	runs=$(sed -n 's/^# runs: //p' "$pb" | head -1)
	norm=$(sed -n "s/^# normalize: //p" "$pb" | head -1)
	rm -rf /tmp/drover-suite
	for run in $(seq 1 "${runs:-1}"); do
		out=expected/$name.txt
		[ "$run" = 1 ] || out=expected/$name.$run.txt
		set +e
		eval "/usr/bin/ansible-playbook -i suite/hosts $args $pb" >/tmp/drover-gen.json 2>/dev/null
		rc=$?
		set -e
		/usr/bin/python3 normalize.py "$rc" $norm </tmp/drover-gen.json >"$out"
		echo "$out (rc $rc)"
	done
done
# Listings (--list-tasks/--list-tags/--list-hosts), compared as text.
unset ANSIBLE_STDOUT_CALLBACK
n=0
while read -r args; do
	n=$((n + 1))
	eval "/usr/bin/ansible-playbook -i suite/hosts $args" >"text/list$n.expected" 2>&1 || true
	echo "$args" >"text/list$n.args"
done <<'LISTS'
--list-tasks --list-hosts suite/06_roles.yml suite/14_tags.yml
--list-tags suite/14_tags.yml
--list-tasks -t never suite/14_tags.yml
--list-tasks --list-tags --skip-tags deploy suite/14_tags.yml suite/03_blocks.yml
--list-tasks suite/07_includes.yml suite/04_handlers.yml
--list-tasks --list-tags suite/28_apply_tags.yml suite/27_include_apply.yml
LISTS
# Default (text) output of suite playbooks, one fork so the order is fixed;
# the playbook directory is cut from paths and timings blanked.
text_norm() {
	sed "s|$(pwd)/||; s/\"delta\": \"[^\"]*\"/\"delta\": \"-\"/g;
		s/\"start\": \"[^\"]*\"/\"start\": \"-\"/g; s/\"end\": \"[^\"]*\"/\"end\": \"-\"/g"
}
rm -f text/suite_*.expected
for n in 01_basics 03_blocks 04_handlers 05_vars 06_roles 07_includes 08_until 09_delegate \
	10_failures 11_any_errors_fatal 12_max_fail 13_serial 14_tags 15_check 16_no_log 17_meta \
	21_misc; do
	args=$(sed -n 's/^# args: //p' "suite/$n.yml" | head -1)
	rm -rf /tmp/drover-suite
	eval "/usr/bin/ansible-playbook -f 1 -i suite/hosts $args suite/$n.yml" 2>&1 |
		text_norm >"text/suite_$n.expected" || true
done
rm -rf /tmp/drover-suite /tmp/drover-gen.json
