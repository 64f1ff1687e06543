# tests/checks.sh: the integration scripts' result lines, sourced by them.
#   ok WHAT            print "ok   WHAT"
#   fail WHAT          print "FAIL WHAT" and count it in FAILS
#   check WHAT CMD...  ok when CMD succeeds, else fail
ok() { printf 'ok   %s\n' "$*"; }
fail() {
	printf 'FAIL %s\n' "$*"
	FAILS=$((FAILS + 1))
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
