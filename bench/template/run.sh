#!/bin/sh
# bench/template/run.sh [BUILD_DIR] [N]
# Renders a k3s systemd unit and a k3s config.yaml with loops N times with
# drover's template engine and with Python Jinja2 (/usr/bin/python3), checks
# first that drover's output is byte for byte what ansible-core renders,
# and prints the time per render and the speed-up.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build-bench}
n=${2:-20000}
[ -f "$build/CMakeCache.txt" ] || cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target libdrover -j2 >/dev/null
bin="$build/bench-template"
cc -std=c11 -O2 -D_GNU_SOURCE -I"$top/engine" -I"$top" "$here/bench.c" "$build/libdrover.a" \
	$(pkg-config --libs jansson yaml-0.1 libssh libcurl lua5.4) -lm -lpthread -o "$bin"
cd "$here"
tpls="k3s.service.j2 config.yaml.j2"
"$bin" -p vars.json 1 $tpls >"$build/bench-drover.out"
/usr/bin/python3 bench.py -p vars.json 1 $tpls >"$build/bench-ansible.out" 2>/dev/null
if ! cmp -s "$build/bench-drover.out" "$build/bench-ansible.out"; then
	echo "drover's output differs from ansible-core's:" >&2
	diff "$build/bench-ansible.out" "$build/bench-drover.out" >&2 || true
	exit 1
fi
"$bin" vars.json "$n" $tpls >"$build/bench-drover.txt"
/usr/bin/python3 bench.py vars.json "$n" $tpls >"$build/bench-jinja.txt"
echo "template            drover      jinja2     speed-up"
for t in $tpls; do
	d=$(awk -v t="$t" '$1 == t { print $2 }' "$build/bench-drover.txt")
	j=$(awk -v t="$t" '$1 == t { print $2 }' "$build/bench-jinja.txt")
	awk -v t="$t" -v d="$d" -v j="$j" 'BEGIN { printf "%-18s %7.2f us %8.2f us %8.1fx\n", t, d, j, j / d }'
done
