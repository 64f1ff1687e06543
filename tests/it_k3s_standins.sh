#!/bin/bash
# it_k3s_standins.sh: the k3s stand-ins (tests/lab/k3s) behave like the real
# services where drover relies on them. Checked with real clients: curl for
# the release service, the real kubectl (/usr/bin/kubectl, or $KUBECTL)
# against the Kubernetes API server stand-in, and the k3s binary stand-in run
# on this machine in a temporary root (K3S_STANDIN_ROOT).
#
# Needs: python3 (Debian's /usr/bin/python3), openssl, curl, kubectl.
# Listens on 127.0.5.41:16443 (API) and 127.0.5.42:18080 (releases) unless
# K3S_IT_API_ADDR / K3S_IT_REL_ADDR say otherwise.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
K=$HERE/lab/k3s
PY=/usr/bin/python3
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
API_ADDR=${K3S_IT_API_ADDR:-127.0.5.41}
REL_ADDR=${K3S_IT_REL_ADDR:-127.0.5.42}
API=https://$API_ADDR:16443
REL=http://$REL_ADDR:18080
T=$(mktemp -d /tmp/it_k3s_standins.XXXXXX)
PIDS=()
FAILS=0

for tool in "$PY" openssl curl "$KUBECTL"; do
	command -v "$tool" >/dev/null || { echo "missing $tool: install python3, openssl, curl, kubectl"; exit 1; }
done

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

. "$HERE/checks.sh"
has() { grep -q -- "$2" <<<"$1"; }
kc() { timeout 90 "$KUBECTL" --kubeconfig "$T/api/admin.kubeconfig" "$@"; }
# jget PY-EXPR: evaluates PY-EXPR over the JSON document on stdin (as d).
jget() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
is_val() { test "$("${@:2}" 2>/dev/null)" = "$1"; }
wait_until() { # wait_until SECONDS CMD...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.3
	done
}

# ---- release service stand-in ------------------------------------------------

cat >"$T/releases.json" <<'EOF'
{"channels": {"stable": "v1.31.4+k3s1", "latest": "v1.32.0+k3s1", "v1.30": "v1.30.6+k3s1"},
 "versions": ["v1.30.4+k3s1", "v1.30.6+k3s1", "v1.31.4+k3s1", "v1.32.0+k3s1"]}
EOF
"$PY" "$K/releases.py" --exit-with-parent --addr "$REL_ADDR" --port 18080 --config "$T/releases.json" \
	--github https://github.com/k3s-io/k3s/releases 2>"$T/releases.err" &
PIDS+=($!)
wait_until 10 curl -sf -o /dev/null "$REL/v1-release/channels" || { cat "$T/releases.err"; exit 1; }

hdr=$(curl -s -D - -o /dev/null "$REL/v1-release/channels/stable")
check "channel answers 302" has "$hdr" '^HTTP/1.1 302'
check "Location is the URL-encoded release tag" \
	has "$hdr" '^Location: https://github.com/k3s-io/k3s/releases/tag/v1.31.4%2Bk3s1'
check "other channels point at their own release" \
	has "$(curl -s -D - -o /dev/null "$REL/v1-release/channels/v1.30")" 'tag/v1.30.6%2Bk3s1'
check "unknown channel is 404" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "$REL/v1-release/channels/nope")" = 404
coll=$(curl -sf "$REL/v1-release/channels")
check "channels collection has the real shape" test "$(jget \
	'd["type"], d["resourceType"], sorted(d["actions"]), [(c["id"], c["type"], c["name"], c["latest"]) for c in d["data"] if c["id"] == "stable"], "self" in d["links"]' \
	<<<"$coll")" = "collection channels [] [('stable', 'channel', 'stable', 'v1.31.4+k3s1')] True"

curl -sf -XPOST -d '{"fail": 503}' "$REL/standin/config" >/dev/null
check "told to fail, the channel answers 503" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "$REL/v1-release/channels/stable")" = 503
curl -sf -XPOST -d '{"fail": 0, "hang": 5}' "$REL/standin/config" >/dev/null
start=$SECONDS
curl -s -m 1 -o /dev/null "$REL/v1-release/channels/stable"
rc=$?
check "told to hang, a client with a 1 s timeout gives up (curl rc=$rc)" test $rc = 28
curl -sf -XPOST -d '{"hang": 0}' "$REL/standin/config" >/dev/null
check "downloads still answer while a channel request hangs" test $((SECONDS - start)) -le 3

for v in v1.30.4+k3s1 v1.31.4+k3s1; do
	curl -sf -o "$T/k3s-$v" "$REL/k3s-io/k3s/releases/download/$v/k3s"
	chmod +x "$T/k3s-$v"
	sum=$(curl -sf "$REL/k3s-io/k3s/releases/download/$v/sha256sum-amd64.txt" | awk '$2 == "k3s" { print $1 }')
	check "sha256sum-amd64.txt matches the $v binary" test "$sum" = "$(sha256sum <"$T/k3s-$v" | cut -d' ' -f1)"
done
check "each release is a different binary" \
	test "$(sha256sum <"$T/k3s-v1.30.4+k3s1")" != "$(sha256sum <"$T/k3s-v1.31.4+k3s1")"
check "k3s --version prints the release's two lines" \
	test "$("$T/k3s-v1.30.4+k3s1" --version)" = "$(printf 'k3s version v1.30.4+k3s1 (98262b5d)\ngo version go1.22.5')"
check "an unpublished release is 404" test "$(curl -s -o /dev/null -w '%{http_code}' \
	"$REL/k3s-io/k3s/releases/download/v1.29.1+k3s1/k3s")" = 404
curl -sf -XPOST -d '{"corrupt": ["v1.31.4+k3s1"]}' "$REL/standin/config" >/dev/null
sum=$(curl -sf "$REL/k3s-io/k3s/releases/download/v1.31.4+k3s1/sha256sum-amd64.txt" | awk '$2 == "k3s" { print $1 }')
check "a corrupted download does not match its sha256" test "$sum" != \
	"$(curl -sf "$REL/k3s-io/k3s/releases/download/v1.31.4+k3s1/k3s" | sha256sum | cut -d' ' -f1)"
check "install.sh is served at / like get.k3s.io" \
	has "$(curl -sf "$REL/")" 'INSTALL_K3S_CHANNEL_URL'

# ---- Kubernetes API server stand-in and real kubectl -----------------------

"$PY" "$K/apiserver.py" --exit-with-parent --state "$T/api" --addr "$API_ADDR" --port 16443 --node-grace 3 \
	--workload "$K/nodes.json" --workload "$K/workload.json" 2>"$T/api.err" &
PIDS+=($!)
wait_until 20 curl -sf -k -o /dev/null "$API/version" || { cat "$T/api.err"; exit 1; }

out=$(kc get nodes 2>&1)
check "kubectl get nodes shows the kubelet versions" has "$out" 'k3s-w-01 *Ready *<none> *[0-9]*s *v1.30.6+k3s1'
check "the server node has the control-plane role" has "$out" 'k3s-s-01 *Ready *control-plane,master'
check "anonymous requests are refused (401)" \
	test "$(curl -s -k -o /dev/null -w '%{http_code}' "$API/api/v1/nodes")" = 401

out=$(kc cordon k3s-w-02 2>&1)
check "cordon" has "$out" 'node/k3s-w-02 cordoned'
check "cordoned node shows SchedulingDisabled" has "$(kc get node k3s-w-02)" 'Ready,SchedulingDisabled'
check "cordon twice says already cordoned" has "$(kc cordon k3s-w-02 2>&1)" 'already cordoned'
check "uncordon" has "$(kc uncordon k3s-w-02 2>&1)" 'node/k3s-w-02 uncordoned'
check "uncordoned: spec.unschedulable is gone" test \
	"$(kc get node k3s-w-02 -o json | jget 'd["spec"].get("unschedulable", False)')" = False

pods_json() { kc get pods -A -o json; }
node_of() { pods_json | jget "[p['spec'].get('nodeName','') for p in d['items'] if p['metadata']['name'].startswith('$1-')][0]"; }
db_node=$(node_of db)
db_pod=$(pods_json | jget "[p['metadata']['name'] for p in d['items'] if p['metadata']['name'].startswith('db-')][0]")
db_uid=$(kc get pod -n shop "$db_pod" -o jsonpath='{.metadata.uid}')

out=$(kc drain "$db_node" --timeout=5s 2>&1)
rc=$?
check "drain without --ignore-daemonsets fails" test $rc != 0
check "... naming the DaemonSet pod" has "$out" 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/node-exporter-'

start=$SECONDS
out=$(kc drain "$db_node" --ignore-daemonsets --delete-emptydir-data --timeout=6s 2>&1)
rc=$?
check "drain blocked by the PDB fails" test $rc != 0
check "... with the PDB's 429 message" has "$out" "Cannot evict pod as it would violate the pod's disruption budget"
check "... at the timeout" has "$out" 'global timeout reached: 6s'
check "... after about the timeout ($((SECONDS - start)) s)" test $((SECONDS - start)) -ge 5 -a $((SECONDS - start)) -le 20
check "the protected pod is still there" test "$(kc get pod -n shop "$db_pod" -o jsonpath='{.metadata.uid}')" = "$db_uid"
check "the node stays cordoned" has "$(kc get node "$db_node")" 'SchedulingDisabled'

code=$(curl -s -o "$T/evict.json" -w '%{http_code}' --cacert "$T/api/ca.crt" --cert "$T/api/client-admin.crt" \
	--key "$T/api/client-admin.key" -H 'Content-Type: application/json' -X POST \
	-d "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"$db_pod\",\"namespace\":\"shop\"}}" \
	"$API/api/v1/namespaces/shop/pods/$db_pod/eviction")
check "eviction API: 429 with a DisruptionBudget cause" test "$code $(jget 'd["details"]["causes"][0]["reason"]' <"$T/evict.json")" = "429 DisruptionBudget"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/api/ca.crt" --cert "$T/api/client-admin.crt" \
	--key "$T/api/client-admin.key" -H 'Content-Type: application/json' -X POST -d '{}' \
	"$API/api/v1/namespaces/shop/pods/no-such-pod/eviction")
check "eviction API: 404 for a pod that is gone" test "$code" = 404

out=$(kc drain "$db_node" --ignore-daemonsets --delete-emptydir-data --disable-eviction --timeout=20s 2>&1)
check "drain --disable-eviction goes through the PDB (exit 0)" test $? = 0
check "... deleting the pod" has "$out" "pod/$db_pod deleted"
check "... but not the DaemonSet pod" test "$(kc get pods -n kube-system --field-selector "spec.nodeName=$db_node" -o name | wc -l)" = 1
new_running() { # new_running APP OLD_UID NOT_ON_NODE
	pods_json | jget "[p for p in d['items'] if p['metadata']['name'].startswith('$1-') and p['metadata']['uid'] != '$2' and p['spec'].get('nodeName') not in ('', '$3') and p['status']['phase'] == 'Running']" | grep -q "'$1-"
}
check "the evicted ReplicaSet pod is recreated on another node (new name and UID)" wait_until 15 new_running db "$db_uid" "$db_node"
check "the old pod name is gone" test "$(kc get pod -n shop "$db_pod" 2>&1 | grep -c NotFound)" = 1
kc uncordon "$db_node" >/dev/null

# A web pod on a node without the PDB-protected db pod.
db_node=$(node_of db)
web_node=$(pods_json | jget "[p['spec']['nodeName'] for p in d['items'] if p['metadata']['name'].startswith('web-') and p['spec']['nodeName'] != '$db_node'][0]")
web_uid=$(pods_json | jget "[p['metadata']['uid'] for p in d['items'] if p['metadata']['name'].startswith('web-') and p['spec']['nodeName'] == '$web_node'][0]")
out=$(kc drain "$web_node" --ignore-daemonsets --delete-emptydir-data --force --timeout=30s 2>&1)
rc=$?
check "drain with --ignore-daemonsets evicts (eviction API)" has "$out" "evicted"
check "... and finishes (exit 0)" test $rc = 0
[ $rc = 0 ] || sed 's/^/    /' <<<"$out"
check "the evicted web pod is rescheduled off the drained node" wait_until 15 new_running web "$web_uid" "$web_node"
check "nothing but DaemonSet pods left on $web_node" test \
	"$(kc get pods -A --field-selector "spec.nodeName=$web_node" -o name | grep -vc node-exporter)" = 0
kc uncordon "$web_node" >/dev/null

all=$(kc get pods -A -o name | wc -l)
check "paging with continue lists every pod ($all)" test "$(kc get pods -A --chunk-size=2 -o name | wc -l)" = "$all"
pods=$(curl -s --cacert "$T/api/ca.crt" --cert "$T/api/client-admin.crt" --key "$T/api/client-admin.key" \
	"$API/api/v1/pods?limit=2")
check "a limited list carries a continue token" test "$(jget 'len(d["items"]), bool(d["metadata"].get("continue"))' <<<"$pods")" = "2 True"

# A naked pod needs --force; a pod with emptyDir needs --delete-emptydir-data.
kc create --validate=false -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "default"},
 "spec": {"nodeName": "k3s-w-01", "containers": [{"name": "sh", "image": "busybox"}]}}
EOF
out=$(kc drain k3s-w-01 --ignore-daemonsets --delete-emptydir-data --timeout=5s 2>&1)
# (kubectl 1.20 words it "not managed by ReplicationController, ...")
check "a pod without a controller needs --force" has "$(grep 'use --force to override' <<<"$out")" 'default/debug'
# Mirror pods (static pods) are left alone; --force takes the naked pod.
kc create --validate=false -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kube-vip-k3s-w-01", "namespace": "kube-system",
  "annotations": {"kubernetes.io/config.mirror": "4d2f0c"},
  "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "k3s-w-01", "uid": "0", "controller": true}]},
 "spec": {"nodeName": "k3s-w-01", "containers": [{"name": "kube-vip", "image": "kube-vip"}]}}
EOF
out=$(kc drain k3s-w-01 --ignore-daemonsets --delete-emptydir-data --force --disable-eviction --timeout=20s 2>&1)
check "drain --force finishes (exit 0)" test $? = 0
check "... deleting the pod without a controller" has "$out" 'pod/debug deleted'
check "... and leaving the mirror pod alone" test "$(kc get pod -n kube-system kube-vip-k3s-w-01 -o name)" = pod/kube-vip-k3s-w-01
kc uncordon k3s-w-01 >/dev/null
cache_node=$(node_of cache)
out=$(kc drain "$cache_node" --ignore-daemonsets --force --timeout=5s 2>&1)
check "a pod with emptyDir needs --delete-emptydir-data" has "$out" 'cannot delete Pods with local storage (use --delete-emptydir-data to override): shop/cache-'
kc uncordon "$cache_node" >/dev/null

# Watches: kubectl wait and rollout status follow changes as they happen.
node_ready_patch() { # node_ready_patch NODE True|False
	curl -sf -o /dev/null --cacert "$T/api/ca.crt" --cert "$T/api/client-admin.crt" --key "$T/api/client-admin.key" \
		-X PATCH -H 'Content-Type: application/strategic-merge-patch+json' \
		-d "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"$2\"}]}}" "$API/api/v1/nodes/$1/status"
}
node_ready_patch k3s-w-02 False
(sleep 1 && node_ready_patch k3s-w-02 True) &
start=$SECONDS
out=$(kc wait --for=condition=Ready node/k3s-w-02 --timeout=15s 2>&1)
check "kubectl wait sees a node turn Ready later, through a watch" test "$(grep -c 'condition met' <<<"$out") $((SECONDS - start < 10))" = "1 1"
wait $!
kc delete pod -n shop -l app=web --wait=false >/dev/null
out=$(kc rollout status deploy/web -n shop --timeout=20s 2>&1)
check "kubectl rollout status follows the replacements" has "$out" 'deployment "web" successfully rolled out'

# Two PDBs over one pod: the eviction API answers 500.
kc create --validate=false -f - >/dev/null <<EOF
{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-a", "namespace": "shop"},
 "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
EOF
kc create --validate=false -f - >/dev/null <<EOF
{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-b", "namespace": "shop"},
 "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
EOF
web_pod=$(pods_json | jget "[p['metadata']['name'] for p in d['items'] if p['metadata']['name'].startswith('web-')][0]")
code=$(curl -s -o "$T/evict.json" -w '%{http_code}' --cacert "$T/api/ca.crt" --cert "$T/api/client-admin.crt" \
	--key "$T/api/client-admin.key" -H 'Content-Type: application/json' -X POST -d '{}' \
	"$API/api/v1/namespaces/shop/pods/$web_pod/eviction")
check "eviction API: 500 when several PDBs match" test "$code" = 500
check "... saying why" has "$(cat "$T/evict.json")" 'more than one PodDisruptionBudget'

curl -sf --cacert "$T/api/ca.crt" --cert "$T/api/client-admin.crt" --key "$T/api/client-admin.key" \
	-X POST "$API/standin/reset" >/dev/null
check "reset drops the workload" test "$(kc get nodes -o name | wc -l) $(kc get pods -A -o name | wc -l)" = "0 0"

# ---- the k3s binary stand-in, run here in temporary roots -----------------

mkroot() { # mkroot DIR
	mkdir -p "$1/etc/rancher/k3s/standin"
	cp "$T/api/admin.kubeconfig" "$1/etc/rancher/k3s/standin/api.kubeconfig"
}
K3S=$T/k3s-v1.30.4+k3s1
node_status() { kc get node "$1" -o json 2>/dev/null | jget '[c["status"] for c in d["status"]["conditions"] if c["type"] == "Ready"][0]' 2>/dev/null; }
is_ready() { test "$(node_status "$1")" = "$2"; }

mkroot "$T/lite"
K3S_STANDIN_ROOT=$T/lite K3S_NODE_NAME=lite-s-01 K3S_STANDIN_HEARTBEAT=1 "$K3S" server >"$T/lite.log" 2>&1 &
lite=$!
PIDS+=($lite)
check "a server without --cluster-init runs on SQLite" wait_until 10 test -f "$T/lite/var/lib/rancher/k3s/server/db/state.db"
out=$(K3S_STANDIN_ROOT=$T/lite "$K3S" etcd-snapshot save 2>&1)
rc=$?
check "etcd-snapshot on SQLite fails with k3s's message" test "$rc $(grep -c 'etcd datastore disabled' <<<"$out")" = "1 1"
kill $lite

mkroot "$T/s1"
# Started through sh so it is not a job of this shell: SIGKILL below must
# not make bash print a "Killed" notice.
s1=$(K3S_STANDIN_ROOT=$T/s1 K3S_STANDIN_HEARTBEAT=1 sh -c '"$0" server --cluster-init --node-name k3s-s-01 >"$1" 2>&1 & echo $!' "$K3S" "$T/s1.log")
PIDS+=($s1)
check "the server registers its node Ready" wait_until 10 is_ready k3s-s-01 True
out=$(kc get node k3s-s-01)
check "... as control-plane,etcd,master at its version" has "$out" 'control-plane,etcd,master .* v1.30.4+k3s1'
kcfg=$T/s1/etc/rancher/k3s/k3s.yaml
check "k3s.yaml embeds CA, client certificate and key" test "$(grep -c -e 'certificate-authority-data: ' \
	-e 'client-certificate-data: ' -e 'client-key-data: ' -e "server: $API" "$kcfg")" = 4
check "k3s kubectl uses k3s.yaml" has "$(K3S_STANDIN_ROOT=$T/s1 KUBECTL= timeout 30 "$K3S" kubectl get nodes 2>&1)" 'k3s-s-01'
token=$(cat "$T/s1/var/lib/rancher/k3s/server/node-token")
check "node-token has k3s's shape" has "$token" '^K10[0-9a-f]\{64\}::server:[0-9a-f]\{32\}$'

snap() { K3S_STANDIN_ROOT=$T/s1 K3S_NODE_NAME=k3s-s-01 "$K3S" etcd-snapshot "$@"; }
sdir=$T/s1/var/lib/rancher/k3s/server/db/snapshots
snap save --name pre-upgrade 2>"$T/snap.err"
check "etcd-snapshot save writes NAME-NODE-TIMESTAMP" test -f "$(echo "$sdir"/pre-upgrade-k3s-s-01-[0-9]*)"
check "... and says so" grep -q 'Snapshot pre-upgrade-k3s-s-01-[0-9]* saved.' "$T/snap.err"
sleep 1.1
snap save --name pre-upgrade 2>/dev/null
snap save 2>/dev/null
names=$(snap ls -o json | jget '" ".join(sorted(i["spec"]["snapshotName"].rsplit("-", 1)[0] for i in d["items"]))')
check "etcd-snapshot ls -o json lists them" test "$names" = "on-demand-k3s-s-01 pre-upgrade-k3s-s-01 pre-upgrade-k3s-s-01"
check "etcd-snapshot ls prints a table" has "$(snap ls)" '^Name *Location *Size *Created'
snap save --name elsewhere --dir "$T/snaps" 2>/dev/null
check "--dir puts the snapshot elsewhere" test -f "$(echo "$T/snaps"/elsewhere-k3s-s-01-[0-9]*)"
snap prune --name pre-upgrade --snapshot-retention 1 2>/dev/null
check "prune --snapshot-retention 1 keeps the newest of that name" \
	test "$(ls "$sdir" | grep -c pre-upgrade) $(ls "$sdir" | grep -c on-demand)" = "1 1"
old=$(ls "$sdir" | grep on-demand)
snap delete "$old" 2>/dev/null
check "delete removes the snapshot" test ! -e "$sdir/$old"
out=$(snap delete no-such-snapshot 2>&1)
check "delete of an unknown snapshot warns and exits 0, as k3s does" \
	test "$? $(grep -c 'level=warning msg="Snapshot no-such-snapshot not found."' <<<"$out")" = "0 1"
check "ls -o json is an ETCDSnapshotFileList" test "$(snap ls -o json | jget 'd["kind"], d["apiVersion"], len(d["items"])')" = "ETCDSnapshotFileList k3s.cattle.io/v1 1"

mkroot "$T/w1"
K3S_STANDIN_ROOT=$T/w1 K3S_NODE_NAME=k3s-w-01 K3S_URL=https://127.0.0.11:6443 K3S_TOKEN=K10bad::server:bad \
	timeout 20 "$K3S" agent >"$T/w1bad.log" 2>&1
check "an agent with a wrong token fails" test $? = 1
check "... saying the token is not valid" grep -q 'failed to validate token' "$T/w1bad.log"
echo "$token" >"$T/w1/token"
K3S_STANDIN_ROOT=$T/w1 K3S_NODE_NAME=k3s-w-01 K3S_URL=https://127.0.0.11:6443 K3S_TOKEN_FILE=$T/w1/token \
	K3S_STANDIN_HEARTBEAT=1 "$K3S" agent >"$T/w1.log" 2>&1 &
w1=$!
PIDS+=($w1)
check "an agent with the token (K3S_TOKEN_FILE) registers Ready" wait_until 10 is_ready k3s-w-01 True
check "... without the control-plane role" has "$(kc get node k3s-w-01)" 'k3s-w-01 *Ready *<none>'
kill -TERM $w1
check "SIGTERM: the node goes NotReady" wait_until 5 is_ready k3s-w-01 False
touch "$T/w1/etc/rancher/k3s/standin/stay-not-ready"
K3S_STANDIN_ROOT=$T/w1 K3S_NODE_NAME=k3s-w-01 K3S_URL=https://127.0.0.11:6443 K3S_TOKEN_FILE=$T/w1/token \
	K3S_STANDIN_HEARTBEAT=1 "$K3S" agent >"$T/w1.log" 2>&1 &
w1=$!
PIDS+=($w1)
sleep 3
check "test hook stay-not-ready: restarted node stays NotReady" is_ready k3s-w-01 False
rm "$T/w1/etc/rancher/k3s/standin/stay-not-ready"
check "... and becomes Ready when the hook is removed" wait_until 6 is_ready k3s-w-01 True
kill -KILL $s1
check "SIGKILL: no more heartbeats, NotReady (Unknown) after the grace period" wait_until 10 is_ready k3s-s-01 Unknown
check "kubectl shows it NotReady" has "$(kc get node k3s-s-01)" 'NotReady'
kc create --validate=false -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": "default"},
 "spec": {"nodeName": "k3s-s-01", "containers": [{"name": "sh", "image": "busybox"}]}}
EOF
pod_ready() { kc get pod -n default probe -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
check "pods on a NotReady node are not Ready (PDBs stop counting them)" wait_until 3 is_val False pod_ready
echo "no" >"$T/w1/etc/rancher/k3s/standin/fail-start"
K3S_STANDIN_ROOT=$T/w1 K3S_NODE_NAME=k3s-w-01 K3S_URL=https://127.0.0.11:6443 K3S_TOKEN_FILE=$T/w1/token \
	timeout 10 "$K3S" agent >"$T/w1f.log" 2>&1
check "test hook fail-start: the agent exits 1" test $? = 1

snapf=$(echo "$sdir"/pre-upgrade-k3s-s-01-*)
etcddb=$T/s1/var/lib/rancher/k3s/server/db/etcd/member/snap/db
head -c 1000 /dev/urandom >"$etcddb"
out=$(K3S_STANDIN_ROOT=$T/s1 K3S_NODE_NAME=k3s-s-01 "$K3S" server --cluster-reset --cluster-reset-restore-path="$snapf" 2>&1)
check "server --cluster-reset --cluster-reset-restore-path exits 0, says restart" \
	test "$? $(grep -c 'restart without --cluster-reset flag now' <<<"$out")" = "0 1"
check "... and the etcd db is the snapshot again" cmp -s "$snapf" "$etcddb"
K3S_STANDIN_ROOT=$T/s1 "$K3S" server --cluster-reset --cluster-reset-restore-path="$T/nope" >/dev/null 2>&1
check "... a missing snapshot file fails" test $? = 1

if [ $FAILS -ne 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
