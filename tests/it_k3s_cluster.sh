#!/bin/bash
# it_k3s_cluster.sh: a k3s cluster in the lab (tests/lab/k3s/cluster): real
# systemd-nspawn nodes with real systemd, the install script, k3s binary,
# release service and Kubernetes API server stand-ins, checked with real
# kubectl. Covers what upgrades by hand (and drover's k3s modules) meet:
# install, upgrade, "nothing changed" re-runs, the agent-turns-server trap,
# channels, a failing release service, nodes going NotReady, etcd snapshots.
#
# Needs root and the lab's tools (see tests/lab/README.md: debootstrap,
# systemd-container, openssh, iproute2, util-linux) plus python3, openssl,
# curl, kubectl. Runs its own lab (state /var/lib/drover-lab-it-k3s, nodes on
# 127.0.58.x, stand-ins on 127.0.5.71/72) and removes it at the end.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
export DROVER_LAB_STATE=${K3S_IT_LAB_STATE:-/var/lib/drover-lab-it-k3s}
export DROVER_LAB_NET=${K3S_IT_LAB_NET:-127.0.58}
export K3S_STANDIN_API_ADDR=${K3S_IT_API_ADDR:-127.0.5.71}
export K3S_STANDIN_RELEASES_ADDR=${K3S_IT_REL_ADDR:-127.0.5.72}
CL=$HERE/lab/k3s/cluster
LAB=${K3S_STANDIN_LAB:-$HERE/lab/lab}
REL=http://$K3S_STANDIN_RELEASES_ADDR:8080
OLD=v1.30.6+k3s1
NEW=v1.31.4+k3s1
FAILS=0

[ "$(id -u)" = 0 ] || { echo "it_k3s_cluster.sh needs root (systemd-nspawn, nsenter)"; exit 1; }

cleanup() {
	"$CL" down >/dev/null 2>&1
}
trap cleanup EXIT

. "$HERE/checks.sh"
has() { grep -q -- "$2" <<<"$1"; }
kc() { "$CL" kubectl "$@"; }
on() { # on NODE CMD: a shell command in a node
	local n=$1
	shift
	timeout 120 "$LAB" exec "$n" sh -c "$*"
}
version_of() { kc get node "$1" -o jsonpath='{.status.nodeInfo.kubeletVersion}'; }
roles_of() { kc get node "$1" --no-headers | awk '{ print $3 }'; }
ready_of() { kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'; }
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.3
	done
}
is() { test "$("${@:2}" 2>/dev/null)" = "$1"; }

"$CL" down >/dev/null 2>&1
if ! timeout 600 "$CL" up "$OLD" >"$DROVER_LAB_STATE.up.log" 2>&1; then
	cat "$DROVER_LAB_STATE.up.log"
	echo "FAIL cluster up"
	exit 1
fi
rm -f "$DROVER_LAB_STATE.up.log"

out=$(kc get nodes)
check "three nodes Ready at $OLD" test "$(grep -c " Ready .*$OLD" <<<"$out")" = 3
check "the server has the control-plane and etcd roles" has "$out" 'k3s-s-01 *Ready *control-plane,etcd,master'
check "agents have no role" test "$(grep -c 'k3s-w-0[12] *Ready *<none>' <<<"$out")" = 2
check "the workload runs (every pod Running)" test "$(kc get pods -A --no-headers | awk '$4 != "Running"' | wc -l)" = 0

check "k3s.service is active under real systemd on the server" is active on k3s-s-01 systemctl is-active k3s
check "k3s-agent.service is active on the agents" is "active active" \
	echo "$(on k3s-w-01 systemctl is-active k3s-agent) $(on k3s-w-02 systemctl is-active k3s-agent)"
check "Type=notify: the stand-in told systemd it is ready" is "Type=notify" on k3s-s-01 systemctl show -p Type k3s
check "the server unit runs 'server --cluster-init'" has "$(on k3s-s-01 cat /etc/systemd/system/k3s.service)" "^	'--cluster-init' \\\\$"
env=$(on k3s-w-01 cat /etc/systemd/system/k3s-agent.service.env)
check "the agent's env file holds K3S_URL and K3S_TOKEN, nothing else" \
	test "$(grep -c "^K3S_URL=.https://${DROVER_LAB_NET//./\\.}\\.11:6443.$" <<<"$env") $(grep -c '^K3S_TOKEN=.K10' <<<"$env") $(wc -l <<<"$env")" = "1 1 2"
check "k3s --version on a node" is "k3s version $OLD (1829eaae)" on k3s-w-02 "k3s --version | head -n 1"
check "k3s kubectl on the server reaches the API" has "$(on k3s-s-01 k3s kubectl get nodes)" 'k3s-w-02'

# Upgrade the server by hand, as the k3s docs say: re-run install.sh.
pid0=$(on k3s-s-01 systemctl show -p MainPID --value k3s)
out=$("$CL" install k3s-s-01 "$NEW" -- server --cluster-init 2>&1)
check "server upgrade: install.sh downloads and verifies the release" has "$out" 'Verifying binary download'
check "... restarts k3s" has "$out" 'systemd: Starting k3s'
check "... the node reports $NEW" wait_until 10 is "$NEW" version_of k3s-s-01
check "... through a new k3s process" test "$(on k3s-s-01 systemctl show -p MainPID --value k3s)" != "$pid0"
pid1=$(on k3s-s-01 systemctl show -p MainPID --value k3s)
out=$("$CL" install k3s-s-01 "$NEW" -- server --cluster-init 2>&1)
check "same again: no download (hash matches)" has "$out" 'Skipping binary downloaded, installed k3s matches hash'
check "... and no restart" has "$out" 'No change detected so skipping service start'
check "... the same process still runs" test "$(on k3s-s-01 systemctl show -p MainPID --value k3s)" = "$pid1"
out=$("$CL" install k3s-s-01 "$NEW" INSTALL_K3S_FORCE_RESTART=true -- server --cluster-init 2>&1)
check "INSTALL_K3S_FORCE_RESTART restarts anyway" test "$(grep -c 'systemd: Starting k3s' <<<"$out")" = 1 -a \
	"$(on k3s-s-01 systemctl show -p MainPID --value k3s)" != "$pid1"

# The agent done right: its role and join settings passed again.
url=$(sed -n "s/^K3S_URL='\(.*\)'$/\1/p" <<<"$env")
token=$(sed -n "s/^K3S_TOKEN='\(.*\)'$/\1/p" <<<"$env")
out=$("$CL" install k3s-w-01 "$NEW" "K3S_URL=$url" "K3S_TOKEN=$token" 2>&1)
check "agent upgrade with K3S_URL/K3S_TOKEN restarts k3s-agent" has "$out" 'systemd: Starting k3s-agent'
check "... the agent reports $NEW" wait_until 10 is "$NEW" version_of k3s-w-01
check "... and stays an agent (no k3s.service)" on k3s-w-01 test ! -e /etc/systemd/system/k3s.service

# The trap: only INSTALL_K3S_VERSION on an agent makes it a server.
out=$("$CL" install k3s-w-02 "$NEW" 2>&1)
check "the trap: install.sh without K3S_URL writes k3s.service on an agent" has "$out" 'systemd: Creating service file /etc/systemd/system/k3s.service'
check "... and starts it" is active on k3s-w-02 systemctl is-active k3s
check "... the node now claims the control-plane role" wait_until 10 is control-plane,master roles_of k3s-w-02
on k3s-w-02 'systemctl disable --now k3s >/dev/null 2>&1; rm -f /etc/systemd/system/k3s.service /etc/systemd/system/k3s.service.env; systemctl daemon-reload'

# A channel instead of a version; the release service failing.
out=$("$CL" install k3s-w-02 '' INSTALL_K3S_CHANNEL=v1.31 "K3S_URL=$url" "K3S_TOKEN=$token" 2>&1)
check "a channel: install.sh asks the release service" has "$out" 'Finding release for channel v1.31'
check "... and uses the channel's release" has "$out" "Using $NEW as release"
curl -sf -XPOST -d '{"fail": 503}' "$REL/standin/config" >/dev/null
out=$("$CL" install k3s-w-02 '' INSTALL_K3S_CHANNEL=stable "K3S_URL=$url" "K3S_TOKEN=$token" 2>&1)
rc=$?
check "release service down (503): install.sh fails" test $rc != 0
check "... with 'Download failed'" has "$out" 'Download failed'
check "... and k3s-agent keeps running" is active on k3s-w-02 systemctl is-active k3s-agent
curl -sf -XPOST -d '{"fail": 0}' "$REL/standin/config" >/dev/null
out=$("$CL" install k3s-w-02 "$NEW" INSTALL_K3S_SKIP_DOWNLOAD=true "K3S_URL=$url" "K3S_TOKEN=$token" 2>&1)
check "INSTALL_K3S_SKIP_DOWNLOAD uses the binary in place" has "$out" 'Skipping k3s download and verify'
pid0=$(on k3s-w-02 systemctl show -p MainPID --value k3s-agent)
out=$("$CL" install k3s-w-02 "$OLD" INSTALL_K3S_SKIP_START=true "K3S_URL=$url" "K3S_TOKEN=$token" 2>&1)
check "INSTALL_K3S_SKIP_START replaces the binary" is "k3s version $OLD (1829eaae)" on k3s-w-02 "k3s --version | head -n 1"
check "... but does not restart k3s-agent" test "$(grep -c 'systemd: Starting' <<<"$out") $(on k3s-w-02 systemctl show -p MainPID --value k3s-agent)" = "0 $pid0"
check "... so the node still reports $NEW" is "$NEW" version_of k3s-w-02
on k3s-w-02 systemctl restart k3s-agent
check "a restart by hand brings $OLD up" wait_until 10 is "$OLD" version_of k3s-w-02
on k3s-w-02 'echo "disk full" >/etc/rancher/k3s/standin/fail-install'
out=$("$CL" install k3s-w-02 "$NEW" "K3S_URL=$url" "K3S_TOKEN=$token" 2>&1)
check "test hook fail-install makes install.sh fail" test "$?" != 0 -a "$(grep -c 'disk full' <<<"$out")" = 1
on k3s-w-02 rm /etc/rancher/k3s/standin/fail-install

# Nodes going away and coming back.
on k3s-w-01 systemctl stop k3s-agent
check "stopping k3s-agent: the node goes NotReady" wait_until 10 is False ready_of k3s-w-01
on k3s-w-01 systemctl start k3s-agent
check "starting it again: Ready" wait_until 10 is True ready_of k3s-w-01
on k3s-w-01 'touch /etc/rancher/k3s/standin/stay-not-ready; systemctl restart k3s-agent'
sleep 3
check "test hook stay-not-ready: after a restart the node stays NotReady" is False ready_of k3s-w-01
on k3s-w-01 rm /etc/rancher/k3s/standin/stay-not-ready
check "... until the hook is removed" wait_until 10 is True ready_of k3s-w-01

# Draining with the server's k3s kubectl, as drover's drain module does.
out=$(on k3s-s-01 k3s kubectl drain k3s-w-01 --ignore-daemonsets --delete-emptydir-data --force --disable-eviction --timeout=30s 2>&1)
check "k3s kubectl drain on the server drains an agent" has "$out" 'node/k3s-w-01 drained'
check "... leaving only DaemonSet pods on it" test \
	"$(kc get pods -A --field-selector spec.nodeName=k3s-w-01 -o name | grep -vc node-exporter)" = 0
check "uncordon" has "$(on k3s-s-01 k3s kubectl uncordon k3s-w-01 2>&1)" 'node/k3s-w-01 uncordoned'

# etcd snapshots on the server; the Proxmox-host stand-in reaches it too.
out=$(on k3s-s-01 k3s etcd-snapshot save --name pre-upgrade 2>&1)
check "etcd-snapshot save on the server" has "$out" 'Snapshot pre-upgrade-k3s-s-01-[0-9]* saved.'
check "... a real file in the default dir" on k3s-s-01 'ls /var/lib/rancher/k3s/server/db/snapshots/pre-upgrade-k3s-s-01-* >/dev/null'
out=$(on k3s-w-01 k3s etcd-snapshot save 2>&1)
check "etcd-snapshot on an agent fails (no etcd there)" has "$out" 'etcd datastore disabled'
out=$(timeout 60 "$(dirname "$LAB")/pct" exec 101 -- /usr/local/bin/k3s etcd-snapshot ls -o json 2>&1)
check "pct exec 101 -- k3s etcd-snapshot ls -o json (Proxmox-host stand-in)" has "$out" '"snapshotName": "pre-upgrade-k3s-s-01-'

if [ $FAILS -ne 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
