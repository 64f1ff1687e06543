#!/bin/bash
# tests/it_lua.sh: Lua hooks and Lua modules in real `drover run`s on the
# controller (local connection): events reach a hook in order, a veto fails
# that host's task with the hook's message, maintenance_window.lua stops a
# run outside its window, webhook_notify.lua posts to a real HTTP server on
# loopback (tests/lua/http_sink.py), and a Lua module from the configured
# library runs with validated args, its host's vars and check mode.
set -u
cd "$(dirname "$0")"
: "${DROVER_BIN:?set DROVER_BIN to the drover binary}"
fail=0
tmp=$(mktemp -d)
sink_pid=
cleanup() {
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
pb=lua/playbook
export DROVER_CONFIG=$tmp/drover.cfg
printf '[defaults]\nlibrary = %s/lua/modules\n' "$PWD" >"$DROVER_CONFIG"
unset DROVER_MAINTENANCE_WINDOW DROVER_WEBHOOK_URL

check() { # check NAME COND-EXIT-STATUS
	if [ "$2" -ne 0 ]; then
		echo "FAIL $1"
		echo "--- stdout"; head -60 "$tmp/out"
		echo "--- stderr"; head -30 "$tmp/err"
		fail=1
	else
		echo "ok   $1"
	fi
}

run() {
	timeout 120 "$DROVER_BIN" run -i $pb/inventory.ini "$@" >"$tmp/out" 2>"$tmp/err"
	echo $? >"$tmp/rc"
}

# 1. events in order, a veto on one host
run --hook $pb/events.lua $pb/site.yml
[ "$(cat "$tmp/rc")" = 2 ]; check "a vetoed task fails the run (exit 2)" $?
grep -q 'fatal: \[node2\]: FAILED! => {"changed": false, "msg": "vetoed by a hook: node2 must not drain (events.lua)"}' "$tmp/out"
check "the veto message is the task's failure" $?
grep -q '^changed: \[node1\]' "$tmp/out" && ! grep -q 'probe=node2' "$tmp/out"
check "node1 went on, node2 stopped after the veto" $?
# hosts run in parallel: node1 or node2 may start the first task first
grep '^EVENT' "$tmp/err" | sed -n '1,4p' | sed 's/host=node[12] /host=nodeN /' >"$tmp/first"
printf '%s\n' 'EVENT run_start task=nil host=nil status=nil' \
	'EVENT play_start task=nil host=nil status=nil' \
	'EVENT task_start task=greet host=nil status=nil' \
	'EVENT host_task_start task=greet host=nodeN status=nil' >"$tmp/want"
diff -u "$tmp/want" "$tmp/first" >/dev/null; check "events start in order" $?
grep -q '^EVENT host_result task=Drain host=node2 status=failed$' "$tmp/err"
check "host_result reports the vetoed host as failed" $?
[ "$(grep '^EVENT' "$tmp/err" | tail -2 | cut -d' ' -f2 | tr '\n' ' ')" = "play_end run_end " ]
check "play_end then run_end close the run" $?

# 2. the Lua module: args validated and coerced, vars, check mode
grep -q '"msg": "probe=node1/5/green/False"' "$tmp/out"; check "Lua module ran with coerced args and host vars" $?
run -C -l node1 $pb/site.yml
grep -q '"msg": "probe=node1/5/green/True"' "$tmp/out"; check "Lua module sees check mode" $?
cat >"$tmp/bad.yml" <<'YAML'
- hosts: node1
  gather_facts: false
  tasks:
    - lua_probe: {word: x, mode: sideways}
YAML
run "$tmp/bad.yml"
grep -q 'sideways' "$tmp/out" && [ "$(cat "$tmp/rc")" = 2 ]; check "bad Lua module args fail through module_validate" $?

# 3. maintenance window
run -e '{"maintenance_window": "Sun 03:00-03:01"}' --hook ../lua/hooks/maintenance_window.lua $pb/site.yml
if [ "$(date -u +%a%H%M)" != Sun0300 ]; then
	[ "$(cat "$tmp/rc")" = 1 ] && grep -q "outside the maintenance window 'Sun 03:00-03:01'" "$tmp/err" &&
		! grep -q 'TASK \[' "$tmp/out"
	check "maintenance_window stops the run before any task" $?
fi
run -e '{"maintenance_window": "Sun 03:00-03:01"}' -e maintenance_override=true \
	--hook ../lua/hooks/maintenance_window.lua -l node1 $pb/site.yml
[ "$(cat "$tmp/rc")" = 0 ]; check "maintenance_override lets it run" $?

# 4. webhook_notify against a real HTTP server
coproc SINK { exec /usr/bin/python3 lua/http_sink.py; }
sink_pid=$SINK_PID
read -r port <&"${SINK[0]}"
DROVER_WEBHOOK_URL=http://127.0.0.1:$port/hook run -l node1 --hook ../lua/hooks/webhook_notify.lua $pb/site.yml
curl -s "http://127.0.0.1:$port/records" >"$tmp/records"
/usr/bin/python3 - "$tmp/records" <<'PY'
import json, sys
recs = [json.loads(r["body"]) for r in json.load(open(sys.argv[1]))]
assert len(recs) == 5, len(recs)           # 4 tasks on node1 + the summary
assert recs[0]["text"] == "[changed] node1: greet (command)", recs[0]
assert [r["status"] for r in recs[:4]] == ["changed", "changed", "changed", "ok"], recs
assert recs[4]["event"] == "run_end" and recs[4]["failed"] is False, recs[4]
assert recs[4]["totals"]["ok"] == 4, recs[4]
PY
check "webhook_notify posted each result and the summary" $?

# 5. cluster_gate.lua in a real run: the Kubernetes API stand-in, the real
# kubectl, and a `k3s` stand-in (lua/bin/k3s: only `k3s kubectl`)
export PATH=$PWD/lua/bin:$PATH DROVER_TEST_KUBECONFIG=$tmp/api/admin.kubeconfig
api_pid=
for try in 1 2 3 4 5; do
	api_port=$((20000 + (RANDOM % 20000)))
	/usr/bin/python3 lab/k3s/apiserver.py --state "$tmp/api" --addr 127.0.77.2 \
		--port $api_port --workload lua/nodes_ready.json 2>"$tmp/api.log" &
	api_pid=$!
	for i in $(seq 100); do
		kill -0 $api_pid 2>/dev/null || break
		k3s kubectl get nodes >/dev/null 2>&1 && break 2
		sleep 0.2
	done
	kill $api_pid 2>/dev/null
	api_pid=
done
if [ -z "$api_pid" ]; then
	echo "FAIL the Kubernetes API stand-in did not start: $(tail -3 "$tmp/api.log")"
	fail=1
else
	trap 'kill $api_pid 2>/dev/null; cleanup' EXIT
	# the node's Ready condition, PATCHed on /status as a kubelet does
	curl -sf --cacert "$tmp/api/ca.crt" --cert "$tmp/api/client-admin.crt" \
		--key "$tmp/api/client-admin.key" -X PATCH \
		-H 'Content-Type: application/merge-patch+json' \
		"https://127.0.77.2:$api_port/api/v1/nodes/k3s-w-02/status" \
		-d '{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Test","message":"disk pressure"}]}}' >/dev/null ||
		echo "FAIL could not mark k3s-w-02 NotReady"
	timeout 120 "$DROVER_BIN" run -i $pb/cluster.ini --hook ../lua/hooks/cluster_gate.lua \
		$pb/drain.yml >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc = 2 ] && grep -q 'vetoed by a hook: cluster_gate: refusing to drain k3s-w-01: node k3s-w-02 (Ready=False: disk pressure) is NotReady (checked on k3s-s-01)' "$tmp/out"
	check "cluster_gate refuses a drain while a node is NotReady" $?
	[ "$(k3s kubectl get node k3s-w-01 -o jsonpath='{.spec.unschedulable}')" = "" ]
	check "the vetoed drain did not cordon the node" $?
fi

[ $fail = 0 ] && echo "it_lua: all passed"
exit $fail
