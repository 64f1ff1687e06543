#!/bin/bash
# it_upgrade_k3s.sh: drover's main job end to end on the lab cluster:
# `drover run playbooks/upgrade-k3s.yaml` over pct (through the Proxmox-host
# stand-in) and over ssh, against real systemd-nspawn nodes running the k3s,
# install-script, release-service and Kubernetes API stand-ins
# (tests/lab/k3s), checked with real kubectl.
#
# Covers: --check changes nothing and names every node's move; the release
# service down (clear error; a pinned version proceeds); minor-version skip
# and downgrade refused; a PodDisruptionBudget that blocks a drain (waits,
# fails at the timeout naming the pod, node stays cordoned; with
# disable_eviction it goes through), with both drain methods; the full
# rolling upgrade (servers first, agents stay agents, nothing left
# cordoned, workloads running); a second run changes nothing; an upgrade
# over ssh; a node that does not come back Ready stops the rollout there.
#
# Needs root and what tests/lab/README.md lists. Runs its own lab (state
# /var/lib/drover-lab-it-upgrade, nodes on 127.0.62.x, stand-ins on
# 127.0.5.91/92) and removes it at the end.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
export DROVER_LAB_STATE=${UPG_IT_LAB_STATE:-/var/lib/drover-lab-it-upgrade}
export DROVER_LAB_NET=${UPG_IT_LAB_NET:-127.0.62}
export K3S_STANDIN_API_ADDR=${UPG_IT_API_ADDR:-127.0.5.91}
export K3S_STANDIN_RELEASES_ADDR=${UPG_IT_REL_ADDR:-127.0.5.92}
DROVER=${DROVER_BIN:-$TOP/build/drover}
CL=$HERE/lab/k3s/cluster
LAB=$HERE/lab/lab
REL=http://$K3S_STANDIN_RELEASES_ADDR:8080
OLD=v1.30.6+k3s1
NEW=v1.31.4+k3s1
PB=$TOP/playbooks/upgrade-k3s.yaml
OUT=$(mktemp -d)
FAILS=0

[ "$(id -u)" = 0 ] || { echo "it_upgrade_k3s.sh needs root (systemd-nspawn, nsenter)"; exit 1; }
# One run at a time on a machine: runs share the lab's addresses. The
# lab's long-lived processes do not inherit the lock (9>&-).
exec 9>/run/drover-it-upgrade.lock
flock -w 1800 9 || { echo "another it_upgrade_k3s.sh run held its lock for 30 minutes"; exit 1; }

cleanup() {
	"$CL" down >/dev/null 2>&1 9>&-
	rm -rf "$OUT"
}
trap cleanup EXIT

. "$HERE/checks.sh"
kc() { "$CL" kubectl "$@"; }
on() { timeout 60 "$LAB" exec "$1" sh -c "$2"; }
version_of() { on "$1" '/usr/local/bin/k3s --version' 2>/dev/null | awk 'NR==1 {print $3}'; }
releases() { curl -sf -X POST -H 'Content-Type: application/json' -d "$1" "$REL/standin/config" >/dev/null; }

# run NAME INVENTORY ARGS...: drover run, output kept in $OUT/NAME, rc returned
run() {
	local name=$1 inv=$2
	shift 2
	timeout 900 "$DROVER" run -i "$DROVER_LAB_STATE/inventory/$inv" -e "@$OUT/vars.yml" \
		"$PB" "$@" >"$OUT/$name" 2>&1
	local rc=$?
	printf -- '--- drover run %s (%s): rc=%d\n' "$name" "$inv" "$rc"
	tail -n 25 "$OUT/$name" | sed 's/^/    /'
	return $rc
}
# adhoc NAME PATTERN ARGS...: drover exec over pct
adhoc() {
	local name=$1 pat=$2
	shift 2
	timeout 300 "$DROVER" exec -i "$DROVER_LAB_STATE/inventory/pct.ini" -e "@$OUT/vars.yml" \
		"$pat" "$@" >"$OUT/$name" 2>&1
	local rc=$?
	printf -- '--- drover exec %s: rc=%d\n' "$name" "$rc"
	tail -n 8 "$OUT/$name" | sed 's/^/    /'
	return $rc
}
other() { # other NAME PLAYBOOK ARGS...
	local name=$1 pb=$2
	shift 2
	timeout 300 "$DROVER" run -i "$DROVER_LAB_STATE/inventory/pct.ini" -e "@$OUT/vars.yml" \
		"$TOP/playbooks/$pb" "$@" >"$OUT/$name" 2>&1
	local rc=$?
	printf -- '--- drover run %s (%s): rc=%d\n' "$name" "$pb" "$rc"
	tail -n 12 "$OUT/$name" | sed 's/^/    /'
	return $rc
}
has() { grep -q -- "$2" "$OUT/$1"; }
all_at() {
	local n
	for n in k3s-s-01 k3s-w-01 k3s-w-02; do
		[ "$(version_of "$n")" = "$1" ] || { echo "    $n runs $(version_of "$n")"; return 1; }
	done
}
agents_are_agents() {
	local n
	for n in k3s-w-01 k3s-w-02; do
		on "$n" 'test -f /etc/systemd/system/k3s-agent.service &&
			! test -e /etc/systemd/system/k3s.service &&
			grep -q "^K3S_URL=" /etc/systemd/system/k3s-agent.service.env &&
			systemctl is-active --quiet k3s-agent' || { echo "    $n is not a working agent"; return 1; }
	done
}
none_cordoned() { ! kc get nodes --no-headers | grep -q SchedulingDisabled; }
cordoned() { kc get node "$1" --no-headers | grep -q SchedulingDisabled; }
all_ready_at() {
	[ "$(kc get nodes --no-headers | awk -v v="$1" '$2 == "Ready" && $5 == v' | wc -l)" = 3 ]
}
pods_running() { [ "$(kc get pods -A --no-headers | awk '$4 != "Running"' | wc -l)" = 0 ]; }
recap_changed_zero() {
	grep -A5 'PLAY RECAP' "$OUT/$1" | grep -q 'changed=[1-9]' && return 1
	grep -q 'PLAY RECAP' "$OUT/$1"
}
db_node() { kc get pods -n shop -l app=db -o jsonpath='{.items[0].spec.nodeName}'; }

echo "--- lab nodes and stand-ins, no k3s yet"
"$CL" prepare >"$OUT/up" 2>&1 9>&- || { tail -n 30 "$OUT/up"; echo "0 passed, 1 failed"; exit 1; }
cat >"$OUT/vars.yml" <<VARS
k3s_channel_url: $REL/v1-release/channels
k3s_install_script_url: $REL/install.sh
k3s_install_env:
  GITHUB_URL: $REL/k3s-io/k3s/releases
  INSTALL_K3S_CHANNEL_URL: $REL/v1-release/channels
k3s_drain_timeout: 15
k3s_ready_timeout: 60
VARS
# Day 1: drover installs the cluster (install-k3s.yaml): the server with
# embedded etcd, then agents joining with the token read from the server
other day1 install-k3s.yaml -e k3s_version=$OLD -e k3s_cluster_init=true \
	-e k3s_server_address=$DROVER_LAB_NET.11
check "install-k3s installs the cluster" test $? = 0
check "every node runs $OLD" all_at "$OLD"
check "the agents joined as agents" agents_are_agents
check "the server uses embedded etcd" on k3s-s-01 'test -d /var/lib/rancher/k3s/server/db/etcd'
other day1again install-k3s.yaml -e k3s_version=$OLD -e k3s_cluster_init=true \
	-e k3s_server_address=$DROVER_LAB_NET.11
check "a second install-k3s run changes nothing" recap_changed_zero day1again
"$CL" workload >"$OUT/workload" 2>&1 9>&- || { tail -n 20 "$OUT/workload"; fail "the workload is loaded and Ready"; }
check "the API sees every node Ready at $OLD" all_ready_at "$OLD"

# --check: names the moves, changes nothing
run check pct.ini --check
rc=$?
check "--check exits 0" test "$rc" = 0
check "--check names the agent's move" has check "k3s-w-01 (agent): $OLD -> $NEW"
check "--check names the server's move" has check "k3s-s-01 (server): $OLD -> $NEW"
check "--check changed no version" all_at "$OLD"
check "--check cordoned nothing" none_cordoned

# the release service down: a clear error, nothing touched
releases '{"fail": 503}'
run down pct.ini
rc=$?
check "service down: the run fails (rc 2)" test "$rc" = 2
check "service down: the error says what to do" has down "Pin a version"
check "service down: nothing changed" all_at "$OLD"

# refused moves
run skip pct.ini -e k3s_version=v1.32.0+k3s1
check "a minor-version jump is refused" test $? = 2
check "the refusal explains the skew policy" has skip "one minor version"
run downgrade pct.ini -e k3s_version=v1.29.9+k3s1
check "a downgrade is refused" test $? = 2
check "nothing changed after refusals" all_at "$OLD"

# a PodDisruptionBudget blocks the drain of the database's node
D=$(db_node)
echo "--- shop/db runs on $D"
adhoc pdb "$D" -m drain -a 'timeout=8'
check "drain blocked by the PDB fails" test $? = 2
check "the failure names the pod and the budget" has pdb "shop/db"
check "the failure says the node stays cordoned" has pdb "stays cordoned"
check "$D stays cordoned" cordoned "$D"
adhoc pdb_api "$D" -m drain -a 'method=api timeout=6'
check "api drain blocked by the PDB fails too" test $? = 2
check "api failure names the budget" has pdb_api "PodDisruptionBudget"
adhoc pdb_off "$D" -m drain -a 'timeout=60 disable_eviction=true'
check "drain with disable_eviction goes through" test $? = 0
adhoc uncordon "$D" -m uncordon
check "uncordon reports changed" has uncordon "CHANGED"
check "nothing cordoned after uncordon" none_cordoned

# the rolling upgrade, service still down: a pinned version proceeds.
# The database's node blocks on its PDB unless eviction is disabled: the
# first run may stop there, naming it; the re-run continues.
run up1 pct.ini -e k3s_version=$NEW
rc=$?
if [ "$rc" != 0 ]; then
	check "a stopped rollout says where and how to resume" has up1 "re-run the playbook"
	run up2 pct.ini -e k3s_version=$NEW -e k3s_drain_disable_eviction=true
	check "the re-run completes" test $? = 0
	check "the re-run skips finished nodes" has up2 "skipping: \[k3s-s-01\]"
fi
releases '{"fail": 0}'
check "every node runs $NEW" all_at "$NEW"
check "agents stay agents (unit and env file kept)" agents_are_agents
check "the API sees every node Ready at $NEW" all_ready_at "$NEW"
check "no node left cordoned" none_cordoned
check "workloads run" pods_running
check "servers went first" awk '/Upgrade k3s servers/ {s=NR} /Upgrade k3s agents/ {a=NR} END {exit !(s && a && s < a)}' "$OUT/up1"

# idempotent: the channel now answers $NEW; a second run changes nothing
run again pct.ini
check "second run exits 0" test $? = 0
check "second run reports changed=0 everywhere" recap_changed_zero again

# the same playbook over ssh, to a patch release
run ssh ssh.ini -e k3s_version=v1.31.5+k3s1 -e k3s_drain_disable_eviction=true
check "upgrade over ssh exits 0" test $? = 0
check "every node runs v1.31.5+k3s1" all_at v1.31.5+k3s1
check "agents stay agents after the ssh upgrade" agents_are_agents

# the other playbooks and ad-hoc work on the healthy cluster
other health k3s-health.yaml
check "k3s-health passes on a healthy cluster" test $? = 0
check "k3s-health summarises nodes and versions" has health "3 nodes Ready at v1.31.5+k3s1"
other install install-k3s.yaml -e k3s_version=v1.31.5+k3s1
check "install-k3s on an installed cluster exits 0" test $? = 0
check "install-k3s changes nothing there" recap_changed_zero install
other snap1 etcd-snapshot.yaml -e snapshot_name=before-change
check "etcd-snapshot takes a snapshot" test $? = 0
check "the snapshot is listed" has snap1 "before-change-k3s-s-01"
other snap2 etcd-snapshot.yaml -e snapshot_name=before-change
check "a second etcd-snapshot run changes nothing" recap_changed_zero snap2
adhoc versions k3s_agents -- k3s --version
check "ad-hoc k3s --version on the agents" test "$(grep -c 'k3s version v1.31.5+k3s1' "$OUT/versions")" = 2
check "ad-hoc lines as Ansible's" has versions "k3s-w-01 | CHANGED | rc=0 >>"
adhoc snapadhoc k3s_servers -m etcd_snapshot -a 'name=adhoc-snap'
check "ad-hoc etcd_snapshot on the servers" test $? = 0
check "ad-hoc etcd_snapshot reports changed" has snapadhoc "k3s-s-01 | CHANGED"

# a NotReady node fails the preflight, before anything moves
on k3s-w-02 'mkdir -p /etc/rancher/k3s/standin && touch /etc/rancher/k3s/standin/stay-not-ready'
# the hook takes effect with the node's next heartbeat: wait until the API says so
for i in $(seq 60); do
	kc get node k3s-w-02 --no-headers 2>/dev/null | awk '{print $2}' | grep -q '^NotReady' && break
	sleep 0.5
done
run preflight pct.ini -e k3s_version=v1.31.6+k3s1 -e k3s_ready_timeout=20
check "a NotReady node fails the preflight" test $? = 2
check "the preflight names the node" has preflight "node k3s-w-02 was not Ready"
check "nothing moved after the failed preflight" all_at v1.31.5+k3s1
on k3s-w-02 'rm -f /etc/rancher/k3s/standin/stay-not-ready'
for i in $(seq 60); do all_ready_at v1.31.5+k3s1 && break; sleep 0.5; done

# a node that does not come back Ready after its upgrade stops the rollout
# there: the hook is set once the node is cordoned for its drain
run notready pct.ini -e k3s_version=v1.31.6+k3s1 -e k3s_drain_disable_eviction=true \
	-e k3s_ready_timeout=20 &
runner=$!
for i in $(seq 600); do
	cordoned k3s-w-02 2>/dev/null && break
	sleep 0.2
done
on k3s-w-02 'touch /etc/rancher/k3s/standin/stay-not-ready'
wait "$runner"
check "a node that stays NotReady fails the run" test $? = 2
check "the failure names the node and where it stopped" has notready "rollout stopped at agent k3s-w-02"
check "the failure names the wait that failed" has notready "Wait until the agent is Ready"
check "k3s-w-02 stays cordoned" cordoned k3s-w-02
check "the nodes before it finished" test "$(version_of k3s-w-01)" = v1.31.6+k3s1

# airgap: the binary and install.sh come from the controller, the release
# service is down, and config: is written to /etc/rancher/k3s/config.yaml
/usr/bin/python3 "$HERE/lab/k3s/releases.py" --render v1.31.7+k3s1 >"$OUT/k3s-airgap"
releases '{"fail": 503}'
adhoc airgap k3s-w-01 -m k3s_install -a "{\"version\": \"v1.31.7+k3s1\",
	\"airgap_binary\": \"$OUT/k3s-airgap\", \"install_script_src\": \"$HERE/lab/k3s/install.sh\",
	\"config\": {\"node-label\": [\"drover.test/airgap=yes\"]}}"
check "an airgap install succeeds with the release service down" test $? = 0
check "the airgap install reports the move" has airgap "v1.31.7+k3s1"
check "k3s-w-01 runs the airgap binary" test "$(version_of k3s-w-01)" = v1.31.7+k3s1
api_version() { kc get node "$1" -o jsonpath='{.status.nodeInfo.kubeletVersion}'; }
for i in $(seq 60); do [ "$(api_version k3s-w-01)" = v1.31.7+k3s1 ] && break; sleep 0.5; done
check "k3s restarted on the airgap binary (the API sees v1.31.7+k3s1)" test "$(api_version k3s-w-01)" = v1.31.7+k3s1
check "config: is written to config.yaml" on k3s-w-01 'grep -q "drover.test/airgap=yes" /etc/rancher/k3s/config.yaml'
check "k3s-w-01 is still an agent" on k3s-w-01 'systemctl is-active --quiet k3s-agent && ! test -e /etc/systemd/system/k3s.service'
adhoc airgap2 k3s-w-01 -m k3s_install -a "{\"version\": \"v1.31.7+k3s1\",
	\"airgap_binary\": \"$OUT/k3s-airgap\", \"install_script_src\": \"$HERE/lab/k3s/install.sh\",
	\"config\": {\"node-label\": [\"drover.test/airgap=yes\"]}}"
check "the same airgap install again is ok, not changed" has airgap2 "k3s-w-01 | SUCCESS"
releases '{"fail": 0}'

if [ "$FAILS" = 0 ]; then
	echo "it_upgrade_k3s: all checks passed"
	exit 0
fi
echo "it_upgrade_k3s: $FAILS check(s) failed"
exit 1
