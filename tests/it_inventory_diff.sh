#!/bin/bash
# tests/it_inventory_diff.sh: `drover inventory` against the outputs the real
# ansible-inventory wrote for each case under data/inventory/ (see
# gen/inventory_expected.sh): --list, --graph, --list --yaml and --host must be
# byte for byte the same. Then `drover exec --list-hosts` and the error paths.
set -u
cd "$(dirname "$0")"
: "${DROVER_BIN:?set DROVER_BIN to the drover binary}"
fail=0
checks=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# same NAME EXPECTED-FILE COMMAND...: run COMMAND, compare its stdout.
same() {
	local name=$1 want=$2
	shift 2
	checks=$((checks + 1))
	if ! "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "FAIL $name: exit $? ($(head -c 500 "$tmp/err"))"
		fail=1
		return
	fi
	if ! diff -u "$want" "$tmp/out" >"$tmp/diff"; then
		# PyYAML writes a value shared by several hosts (one group var dict)
		# once with an anchor (&id001) and then aliases (*id001); drover
		# writes each copy out. The documents are equal as data: compare so.
		if [ "${want%.yaml}" != "$want" ] && grep -q '&id0' "$want" &&
			/usr/bin/python3 -c 'import sys, yaml
a, b = (yaml.safe_load(open(f)) for f in sys.argv[1:3])
sys.exit(a != b)' "$want" "$tmp/out"; then
			echo "note $name: equal as YAML data; ansible's anchors written out in full"
			return
		fi
		echo "FAIL $name: output differs from ansible-inventory's"
		head -40 "$tmp/diff"
		fail=1
	fi
}

ncases=0
for case in data/inventory/*/; do
	case=${case%/}
	[ -f "$case/args" ] || continue
	ncases=$((ncases + 1))
	name=$(basename "$case")
	set --
	while IFS= read -r src; do
		[ -n "$src" ] && set -- "$@" -i "$src"
	done <"$case/args"
	pushd "$case" >/dev/null
	same "$name --list" expected.json "$DROVER_BIN" inventory "$@" --list
	same "$name --graph" expected.graph "$DROVER_BIN" inventory "$@" --graph
	same "$name --list --yaml" expected.yaml "$DROVER_BIN" inventory "$@" --list --yaml
	for f in expected.host.*.json; do
		[ -f "$f" ] || continue
		h=${f#expected.host.}
		h=${h%.json}
		same "$name --host $h" "$f" "$DROVER_BIN" inventory "$@" --host "$h"
	done
	for f in expected.graph.*; do
		[ -f "$f" ] || continue
		g=${f#expected.graph.}
		same "$name --graph $g" "$f" "$DROVER_BIN" inventory "$@" --graph "$g"
	done
	if [ -f patterns ]; then
		while IFS=$'\t' read -r pat lim; do
			[ -n "$pat" ] || continue
			echo "### $pat${lim:+ -l $lim}"
			rc=0
			"$DROVER_BIN" exec "$@" "$pat" ${lim:+-l "$lim"} --list-hosts 2>>"$tmp/lh.err" || rc=$?
			echo "### rc=$rc"
		done <patterns >"$tmp/lh"
		same "$name exec --list-hosts" expected.list-hosts cat "$tmp/lh"
	fi
	popd >/dev/null
done
# fails NAME WANT-IN-STDERR COMMAND...: COMMAND must exit 1 and say WANT.
fails() {
	local name=$1 want=$2
	shift 2
	checks=$((checks + 1))
	local rc=0
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -qF -- "$want" "$tmp/err"; then
		echo "FAIL $name: exit $rc, stderr: $(head -c 400 "$tmp/err"), want: $want"
		fail=1
	fi
}
printf '[web]\nh1\n[web:hostz]\n' >"$tmp/bad.ini"
fails "unknown section kind" "ERROR! $tmp/bad.ini:3:1: section [web:hostz] has unknown type" \
	"$DROVER_BIN" inventory -i "$tmp/bad.ini" --list
printf 'all:\n  hosts:\n    n[01:1]:\n' >"$tmp/bad.yml"
fails "bad range in YAML" "ERROR! $tmp/bad.yml:3:5: host range in 'n[01:1]' must have begin and end of equal length" \
	"$DROVER_BIN" inventory -i "$tmp/bad.yml" --graph
printf 'all:\n  hosts: [a\n' >"$tmp/syntax.yml"
fails "YAML syntax" "ERROR! $tmp/syntax.yml:3:1: YAML syntax error" \
	"$DROVER_BIN" exec -i "$tmp/syntax.yml" all --list-hosts
fails "missing source" "ERROR! /nonexistent/hosts: cannot read inventory" \
	"$DROVER_BIN" inventory -i /nonexistent/hosts --list
fails "no action" "No action selected" "$DROVER_BIN" inventory -i data/inventory/ranges/hosts.ini
fails "graph of no group" "Pattern must be valid group name" \
	"$DROVER_BIN" inventory -i data/inventory/ranges/hosts.ini --graph nosuchgroup
fails "host matches none" "You must pass a single valid host" \
	"$DROVER_BIN" inventory -i data/inventory/ranges/hosts.ini --host nosuchhost
fails "host matches many" "matches 10 hosts" \
	"$DROVER_BIN" inventory -i data/inventory/ranges/hosts.ini --host padded
fails "exec needs a pattern" "give one host pattern" "$DROVER_BIN" exec -i h1, --list-hosts
fails "limit leaves nothing" "leaves us with no hosts" \
	"$DROVER_BIN" exec -i data/inventory/ranges/hosts.ini all -l nomatch --list-hosts
fails "limit file missing" "Unable to find limit file" \
	"$DROVER_BIN" exec -i data/inventory/ranges/hosts.ini all -l @/nonexistent --list-hosts
# A host list and an implicit localhost, which is never part of `all`.
same "host list" /dev/stdin "$DROVER_BIN" exec -i 'a,b:2222,' 'all,localhost' --list-hosts <<'OUT'
  hosts (3):
    a
    b
    localhost
OUT

[ "$ncases" -ge 7 ] || { echo "FAIL: only $ncases inventory cases found"; fail=1; }
echo "inventory diff: $checks comparisons over $ncases cases"
[ $fail -eq 0 ] && echo "ok" || echo "FAILED"
exit $fail
