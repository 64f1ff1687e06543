#!/bin/bash
# tests/gen/inventory_expected.sh: write the expected outputs of the inventory
# corpus with the real ansible-inventory (Debian's ansible-core 2.14), which
# tests/it_inventory_diff.sh compares drover against. Run it again after
# adding or changing a case under tests/data/inventory/, and commit the result.
#
# Each case directory holds:
#   args   the -i sources, one per line, relative to the case directory
#   show   (optional) host names or patterns for --host, one per line
#   magic  (optional) host names whose magic variables (groups,
#          group_names, inventory_hostname, inventory_hostname_short) are
#          taken from `ansible HOST -m debug` into expected.magic.HOST.json
#   graph  (optional) group names for --graph GROUP, one per line
#   patterns (optional) lines "PATTERN" or "PATTERN<TAB>LIMIT" for
#          `ansible PATTERN --list-hosts [-l LIMIT]`
# and gets expected.json (--list), expected.graph (--graph), expected.yaml
# (--list --yaml), expected.host.NAME.json (--host NAME),
# expected.graph.GROUP (--graph GROUP) and
# expected.list-hosts (each pattern's stdout and exit code).
#
# Ansible walks grandchild groups through a Python set of group objects, so
# the order of hosts two or more levels below a matched group (and so
# `groups.all`) can change from run to run when several groups at one level
# have children; drover takes them in definition order. Patterns and magic
# checks in the corpus avoid that case: rerun this script a few times and
# check that git sees no change.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
AI=${ANSIBLE_INVENTORY:-/usr/bin/ansible-inventory}
[ -x "$AI" ] || { echo "needs $AI (apt-get install ansible-core)" >&2; exit 1; }
# A clean, predictable Ansible: no user config, no cache, parse errors fatal.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/tmp" "$scratch/home"
cfg=$scratch/ansible.cfg
: >"$cfg"
export PYTHONHASHSEED=0 ANSIBLE_CONFIG=$cfg ANSIBLE_INVENTORY_UNPARSED_FAILED=1 \
	ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=1 ANSIBLE_NOCOLOR=1 \
	ANSIBLE_LOCAL_TEMP=$scratch/tmp ANSIBLE_HOME=$scratch/home

for case in "$here"/data/inventory/*/; do
	case=${case%/}
	[ -f "$case/args" ] || continue
	(
		cd "$case"
		set --
		while IFS= read -r src; do
			[ -n "$src" ] && set -- "$@" -i "$src"
		done <args
		rm -f expected.*
		"$AI" "$@" --list >expected.json
		"$AI" "$@" --graph >expected.graph
		"$AI" "$@" --list --yaml >expected.yaml
		if [ -f show ]; then
			while IFS= read -r h; do
				[ -n "$h" ] && "$AI" "$@" --host "$h" >"expected.host.$h.json"
			done <show
		fi
		if [ -f magic ]; then
			while IFS= read -r h; do
				[ -n "$h" ] || continue
				/usr/bin/ansible "$@" "$h" -m debug -a 'msg={{ {"groups": groups,
					"group_names": group_names, "inventory_hostname": inventory_hostname,
					"inventory_hostname_short": inventory_hostname_short} }}' |
					sed '1s/^[^{]*{/{/' | /usr/bin/python3 -c 'import json, sys
print(json.dumps(json.load(sys.stdin)["msg"], sort_keys=True, indent=1))' \
					>"expected.magic.$h.json"
			done <magic
		fi
		if [ -f graph ]; then
			while IFS= read -r g; do
				[ -n "$g" ] && "$AI" "$@" --graph "$g" >"expected.graph.$g"
			done <graph
		fi
		if [ -f patterns ]; then
			while IFS=$'\t' read -r pat lim; do
				[ -n "$pat" ] || continue
				echo "### $pat${lim:+ -l $lim}"
				rc=0
				/usr/bin/ansible "$@" "$pat" ${lim:+-l "$lim"} --list-hosts || rc=$?
				echo "### rc=$rc"
			done <patterns >expected.list-hosts
		fi
	)
	echo "wrote $(basename "$case")"
done
