#!/bin/sh
# k3s binary STAND-IN for drover's tests. This is not k3s.
#
# The release service stand-in (releases.py) serves this script as
# /k3s-io/k3s/releases/download/VERSION/k3s with VERSION, its commit and its
# Go version baked in, so every release has its own binary and sha256, as
# real releases do. It implements what drover's k3s modules rely on:
#
#   k3s --version | -v        "k3s version v1.30.4+k3s1 (98262b5d)" and
#                             "go version go1.22.5"
#   k3s server [flags]        foreground, as k3s.service runs it: SQLite
#                             (server/db/state.db) unless --cluster-init or
#                             --server (embedded etcd, server/db/etcd), writes
#                             server/node-token and /etc/rancher/k3s/k3s.yaml,
#                             registers the node with the Kubernetes API
#                             stand-in (control-plane, master[, etcd] roles)
#   k3s agent [flags]         foreground, as k3s-agent.service runs it: needs
#                             K3S_URL/--server and K3S_TOKEN/K3S_TOKEN_FILE/
#                             --token, checks the token with the API stand-in
#   k3s kubectl ARGS          the real kubectl with /etc/rancher/k3s/k3s.yaml
#   k3s etcd-snapshot save|ls|list|delete|prune  real files under
#                             server/db/snapshots; fails on SQLite with k3s's
#                             "etcd datastore disabled"
#
# Where a real k3s server would run the Kubernetes API itself, this one uses
# the API server stand-in (apiserver.py) running on the controller: its
# kubeconfig is expected at /etc/rancher/k3s/standin/api.kubeconfig (the lab
# copies it in). Server and agent both register their node there (name =
# --node-name, K3S_NODE_NAME or the hostname; kubeletVersion = this version),
# post the Ready condition every K3S_STANDIN_HEARTBEAT seconds (default 2),
# and post Ready=False when stopped (SIGTERM). Readiness for systemd's
# Type=notify: after the node is registered the process execs python3, which
# sends READY=1 on $NOTIFY_SOCKET from the unit's main PID (NotifyAccess=main,
# the default) and stays the main process until it is stopped.
#
# Test hooks (files under /etc/rancher/k3s/standin/):
#   fail-start       exit 1 at start, with the file's text as the error
#   stay-not-ready   register and heartbeat with Ready=False while it exists
#   node-ip          the InternalIP to report
# K3S_STANDIN_ROOT prefixes every path (to run it on a controller in a temp
# dir); K3S_STANDIN_KUBECTL names the kubectl binary to exec.
set -u

VERSION='@K3S_VERSION@'
COMMIT='@K3S_COMMIT@'
GOVERSION='@GO_VERSION@'

R=${K3S_STANDIN_ROOT:-}
DATA=$R/var/lib/rancher/k3s
CONF=$R/etc/rancher/k3s
STANDIN=$CONF/standin
RUN=$R/run/k3s/standin

log() {
	printf 'time="%s" level=%s msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" >&2
}

fatal() {
	log fatal "$1"
	exit 1
}

usage_error() {
	printf 'Incorrect Usage: %s\n\n' "$1" >&2
	printf 'NAME:\n   k3s - Kubernetes, but small and simple\n\nUSAGE:\n   k3s [global options] command [command options] [arguments...]\n\nCOMMANDS:\n   server, agent, kubectl, etcd-snapshot\n' >&2
	exit 1
}

# ---- talking to the API server stand-in ------------------------------------

api_setup() {
	kc=$STANDIN/api.kubeconfig
	[ -r "$kc" ] || fatal "stand-in: no API server kubeconfig at $kc; the lab copies the API server stand-in's admin.kubeconfig there"
	mkdir -p "$RUN"
	API=$(sed -n 's/^ *server: *//p' "$kc" | head -n 1)
	sed -n 's/^ *certificate-authority-data: *//p' "$kc" | base64 -d >"$RUN/ca.crt"
	sed -n 's/^ *client-certificate-data: *//p' "$kc" | base64 -d >"$RUN/client.crt"
	sed -n 's/^ *client-key-data: *//p' "$kc" | base64 -d >"$RUN/client.key"
	chmod 600 "$RUN/client.key"
}

# api METHOD PATH [CONTENT-TYPE] < body: prints the HTTP status, body in $RUN/out
api() {
	if [ $# -ge 3 ]; then
		curl -sS -m 10 --cacert "$RUN/ca.crt" --cert "$RUN/client.crt" --key "$RUN/client.key" \
			-X "$1" -H "Content-Type: $3" --data-binary @- -o "$RUN/out.$$" -w '%{http_code}' "$API$2" 2>/dev/null
	else
		curl -sS -m 10 --cacert "$RUN/ca.crt" --cert "$RUN/client.crt" --key "$RUN/client.key" \
			-X "$1" -o "$RUN/out.$$" -w '%{http_code}' "$API$2" 2>/dev/null
	fi
}

node_name() {
	NODE=
	[ -n "${K3S_NODE_NAME:-}" ] && NODE=$K3S_NODE_NAME
	[ -n "$OPT_NODE_NAME" ] && NODE=$OPT_NODE_NAME
	[ -n "$NODE" ] || NODE=$(cat "$R/etc/hostname" 2>/dev/null || hostname)
}

labels_json() {
	printf '"kubernetes.io/hostname":"%s","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","beta.kubernetes.io/os":"linux","beta.kubernetes.io/arch":"amd64","node.kubernetes.io/instance-type":"k3s"' "$NODE"
	if [ "$ROLE" = server ]; then
		printf ',"node-role.kubernetes.io/control-plane":"true","node-role.kubernetes.io/master":"true"'
		[ "$DATASTORE" = etcd ] && printf ',"node-role.kubernetes.io/etcd":"true"'
	fi
	return 0
}

ready_json() {
	if [ -e "$STANDIN/stay-not-ready" ]; then
		printf '{"type":"Ready","status":"False","reason":"KubeletNotReady","message":"container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}'
	else
		printf '{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}'
	fi
}

status_json() {
	ip=$(cat "$STANDIN/node-ip" 2>/dev/null || true)
	printf '{"status":{"nodeInfo":{"kubeletVersion":"%s","containerRuntimeVersion":"containerd://1.7.23-k3s2"},' "$VERSION"
	[ -n "$ip" ] && printf '"addresses":[{"type":"InternalIP","address":"%s"},{"type":"Hostname","address":"%s"}],' "$ip" "$NODE"
	printf '"conditions":[%s]}}' "$(ready_json)"
}

register() {
	body=$(printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{%s},"annotations":{"k3s.io/node-args":"[\\"%s\\"]"}},%s' \
		"$NODE" "$(labels_json)" "$ROLE" "$(status_json | cut -c2-)")
	code=$(printf '%s' "$body" | api POST /api/v1/nodes application/json)
	case $code in
	201) ;;
	409)
		code=$(printf '{"metadata":{"labels":{%s}}}' "$(labels_json)" |
			api PATCH "/api/v1/nodes/$NODE" application/strategic-merge-patch+json)
		[ "$code" = 200 ] || return 1
		code=$(status_json | api PATCH "/api/v1/nodes/$NODE/status" application/strategic-merge-patch+json)
		[ "$code" = 200 ] || return 1
		;;
	*) return 1 ;;
	esac
	log info "Node $NODE registered with the API server stand-in at $API (kubelet $VERSION)"
}

heartbeat() {
	code=$(printf '{"status":{"conditions":[%s]}}' "$(ready_json)" |
		api PATCH "/api/v1/nodes/$NODE/status" application/strategic-merge-patch+json)
	case $code in
	200) ;;
	404) register || log error "stand-in: cannot register node $NODE again" ;;
	*) log error "stand-in: heartbeat for $NODE failed (HTTP $code)" ;;
	esac
}

post_not_ready() {
	printf '{"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady","message":"k3s stopped"}]}}' |
		api PATCH "/api/v1/nodes/$NODE/status" application/strategic-merge-patch+json >/dev/null
}

# In a subshell $$ is still the main process: when it dies (even by
# SIGKILL) the heartbeats stop, as a killed kubelet's do.
heartbeat_loop() {
	trap 'kill $sl 2>/dev/null; post_not_ready; exit 0' TERM INT
	while kill -0 $$ 2>/dev/null; do
		sleep "${K3S_STANDIN_HEARTBEAT:-2}" &
		sl=$!
		wait $sl
		kill -0 $$ 2>/dev/null || break
		heartbeat
	done
}

# Runs until SIGTERM. Under systemd (Type=notify) the main process must
# send READY=1 itself, so it becomes python3 for that.
run_node() {
	[ -e "$STANDIN/fail-start" ] && fatal "stand-in: start refused by test hook: $(cat "$STANDIN/fail-start")"
	i=0
	until register; do
		i=$((i + 1))
		[ $i -lt 15 ] || fatal "stand-in: cannot register node $NODE with $API (HTTP $code): $(cat "$RUN/out.$$" 2>/dev/null)"
		sleep 1
	done
	heartbeat_loop &
	hb=$!
	if [ -n "${NOTIFY_SOCKET:-}" ]; then
		exec /usr/bin/python3 -c '
import os, signal, socket, sys
hb = int(sys.argv[1])
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(addr)
s.send(b"READY=1\nSTATUS=k3s stand-in running\n")
def stop(sig, frame):
    os.kill(hb, signal.SIGTERM)
    os.waitpid(hb, 0)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
while True:
    signal.pause()
' "$hb"
	fi
	trap 'kill -TERM $hb; wait $hb; exit 0' TERM INT
	while :; do wait $hb; done
}

# ---- server and agent ---------------------------------------------------------

parse_node_flags() {
	OPT_NODE_NAME= OPT_TOKEN= OPT_SERVER= OPT_CLUSTER_INIT= OPT_KC_MODE= OPT_RESET= OPT_RESTORE=
	while [ $# -gt 0 ]; do
		case $1 in
		--node-name=*) OPT_NODE_NAME=${1#*=} ;;
		--node-name) OPT_NODE_NAME=${2:-}; shift ;;
		--token=* | -t=*) OPT_TOKEN=${1#*=} ;;
		--token | -t) OPT_TOKEN=${2:-}; shift ;;
		--server=* | -s=*) OPT_SERVER=${1#*=} ;;
		--server | -s) OPT_SERVER=${2:-}; shift ;;
		--cluster-init) OPT_CLUSTER_INIT=1 ;;
		--cluster-init=true) OPT_CLUSTER_INIT=1 ;;
		--cluster-reset) OPT_RESET=1 ;;
		--cluster-reset-restore-path=*) OPT_RESTORE=${1#*=} ;;
		--cluster-reset-restore-path) OPT_RESTORE=${2:-}; shift ;;
		--write-kubeconfig-mode=*) OPT_KC_MODE=${1#*=} ;;
		--write-kubeconfig-mode) OPT_KC_MODE=${2:-}; shift ;;
		--*=*) ;;
		--node-label | --node-taint | --disable | --tls-san | --node-ip | --flannel-backend | --data-dir | --datastore-endpoint) shift ;;
		--*) ;;
		*) usage_error "$ROLE: unexpected argument '$1'" ;;
		esac
		shift
	done
	[ -n "$OPT_TOKEN" ] || OPT_TOKEN=${K3S_TOKEN:-}
	if [ -z "$OPT_TOKEN" ] && [ -n "${K3S_TOKEN_FILE:-}" ]; then
		OPT_TOKEN=$(cat "$K3S_TOKEN_FILE") || fatal "cannot read token file $K3S_TOKEN_FILE"
	fi
	[ -n "$OPT_SERVER" ] || OPT_SERVER=${K3S_URL:-}
}

json_field() {
	sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$2"
}

check_token() {
	code=$(printf '{"token":"%s"}' "$OPT_TOKEN" | api POST /standin/join application/json)
	case $code in
	200) ;;
	401) fatal "Error: failed to validate token: token CA hash does not match the Cluster CA certificate hash (server $OPT_SERVER)" ;;
	*) fatal "stand-in: cannot reach the API server stand-in at $API to join $OPT_SERVER (HTTP $code)" ;;
	esac
}

# --cluster-reset[-restore-path]: one-shot, then exit, as k3s does.
cluster_reset() {
	[ -d "$DATA/server/db/etcd" ] || [ -n "$OPT_RESTORE" ] ||
		fatal "Error: --cluster-reset requires an embedded etcd datastore"
	if [ -n "$OPT_RESTORE" ]; then
		[ -f "$OPT_RESTORE" ] || fatal "Error: failed to restore etcd snapshot: open $OPT_RESTORE: no such file or directory"
		mkdir -p "$DATA/server/db/etcd/member/snap"
		cp "$OPT_RESTORE" "$DATA/server/db/etcd/member/snap/db"
		log info "Snapshot restored from $OPT_RESTORE (stand-in)"
	fi
	log info "Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and delete \${datadir}/server/db on each peer etcd server and rejoin the nodes"
	exit 0
}

cmd_server() {
	ROLE=server
	parse_node_flags "$@"
	node_name
	api_setup
	mkdir -p "$DATA/server/db" "$CONF"
	[ -z "$OPT_RESET" ] || cluster_reset
	if [ -n "$OPT_CLUSTER_INIT" ] || [ -n "$OPT_SERVER" ] || [ -d "$DATA/server/db/etcd" ]; then
		DATASTORE=etcd
		[ -n "$OPT_SERVER" ] && check_token
		mkdir -p "$DATA/server/db/etcd/member/snap"
		db=$DATA/server/db/etcd/member/snap/db
		[ -f "$db" ] || head -c 262144 /dev/urandom >"$db"
		printf 'name: %s-%s\ndata-dir: %s/server/db/etcd\n' "$NODE" "$(date +%s | cut -c5-)" "$DATA" >"$DATA/server/db/etcd/config"
		log info "Starting etcd (stand-in) for $NODE"
	else
		DATASTORE=sqlite
		[ -f "$DATA/server/db/state.db" ] || printf 'SQLite format 3\000' >"$DATA/server/db/state.db"
		log info "Configuring sqlite3 database connection pooling (stand-in): $DATA/server/db/state.db"
	fi
	code=$(api GET /standin/node-token)
	[ "$code" = 200 ] || fatal "stand-in: cannot get the cluster token from $API (HTTP $code)"
	token=$(json_field token "$RUN/out.$$")
	umask 077
	printf '%s\n' "$token" >"$DATA/server/node-token"
	printf '%s\n' "$token" >"$DATA/server/token"
	tmp=$CONF/k3s.yaml.tmp
	cp "$STANDIN/api.kubeconfig" "$tmp"
	[ -n "$OPT_KC_MODE" ] && chmod "$OPT_KC_MODE" "$tmp"
	mv -f "$tmp" "$CONF/k3s.yaml"
	umask 022
	log info "Wrote kubeconfig $CONF/k3s.yaml"
	run_node
}

cmd_agent() {
	ROLE=agent
	DATASTORE=
	parse_node_flags "$@"
	[ -n "$OPT_SERVER" ] || fatal "Error: --server is required"
	[ -n "$OPT_TOKEN" ] || fatal "Error: --token is required"
	node_name
	api_setup
	check_token
	mkdir -p "$DATA/agent"
	log info "Starting k3s agent $VERSION ($COMMIT), joining $OPT_SERVER"
	run_node
}

cmd_kubectl() {
	kubectl=${K3S_STANDIN_KUBECTL:-}
	if [ -z "$kubectl" ]; then
		for k in "$STANDIN/kubectl" /usr/bin/kubectl; do
			[ -x "$k" ] && kubectl=$k && break
		done
	fi
	[ -n "$kubectl" ] || fatal "stand-in: no kubectl binary (copy one to $STANDIN/kubectl)"
	if [ -z "${KUBECONFIG:-}" ]; then
		KUBECONFIG=$CONF/k3s.yaml
		export KUBECONFIG
	fi
	exec "$kubectl" "$@"
}

# ---- etcd-snapshot ------------------------------------------------------------

snap_flags() {
	SNAP_NAME=on-demand SNAP_DIR=$DATA/server/db/snapshots SNAP_RET=5 SNAP_OUT= SNAP_S3= SNAP_ARGS=
	OPT_NODE_NAME=
	while [ $# -gt 0 ]; do
		case $1 in
		--name=*) SNAP_NAME=${1#*=} ;;
		--name) SNAP_NAME=${2:-}; shift ;;
		--dir=* | --etcd-snapshot-dir=*) SNAP_DIR=${1#*=} ;;
		--dir | --etcd-snapshot-dir) SNAP_DIR=${2:-}; shift ;;
		--snapshot-retention=* | --etcd-snapshot-retention=*) SNAP_RET=${1#*=} ;;
		--snapshot-retention | --etcd-snapshot-retention) SNAP_RET=${2:-}; shift ;;
		-o=* | --output=*) SNAP_OUT=${1#*=} ;;
		-o | --output) SNAP_OUT=${2:-}; shift ;;
		--node-name=*) OPT_NODE_NAME=${1#*=} ;;
		--node-name) OPT_NODE_NAME=${2:-}; shift ;;
		--s3 | --etcd-s3) SNAP_S3=1 ;;
		--s3-*=* | --etcd-s3-*=*) ;;
		--s3-* | --etcd-s3-*) shift ;;
		--*) ;;
		*) SNAP_ARGS="$SNAP_ARGS $1" ;;
		esac
		shift
	done
	case $SNAP_RET in '' | *[!0-9]*) fatal "invalid value \"$SNAP_RET\" for flag --snapshot-retention" ;; esac
}

# Snapshot files of one name prefix, oldest first (the suffix is a Unix time).
snap_files() {
	[ -d "$SNAP_DIR" ] || return 0
	for f in "$SNAP_DIR"/$1*; do
		[ -f "$f" ] || continue
		n=${f##*/}
		printf '%s %s\n' "${n##*-}" "$n"
	done | sort -n | cut -d' ' -f2
}

# k3s prints an ETCDSnapshotFileList (kubectl's JSON printer: 4-space
# indent) or a tabwriter table, oldest first.
snap_ls() {
	case $SNAP_OUT in
	json)
		printf '{\n    "apiVersion": "k3s.cattle.io/v1",\n    "items": ['
		sep=
		for n in $(snap_files ""); do
			f=$SNAP_DIR/$n
			t=$(date -u -r "$f" +%Y-%m-%dT%H:%M:%SZ)
			printf '%s\n        {\n            "apiVersion": "k3s.cattle.io/v1",\n            "kind": "ETCDSnapshotFile",\n            "metadata": {\n                "creationTimestamp": "%s",\n                "name": "local-%s"\n            },\n            "spec": {\n                "location": "file://%s",\n                "nodeName": "%s",\n                "snapshotName": "%s"\n            },\n            "status": {\n                "creationTime": "%s",\n                "readyToUse": true,\n                "size": "%s"\n            }\n        }' \
				"$sep" "$t" "$n" "$f" "$NODE" "$n" "$t" "$(wc -c <"$f" | tr -d ' ')"
			sep=,
		done
		[ -n "$sep" ] && printf '\n    '
		printf '],\n    "kind": "ETCDSnapshotFileList",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n'
		;;
	'' | table)
		{
			printf 'Name\tLocation\tSize\tCreated\n'
			for n in $(snap_files ""); do
				f=$SNAP_DIR/$n
				printf '%s\tfile://%s\t%s\t%s\n' "$n" "$f" "$(wc -c <"$f" | tr -d ' ')" \
					"$(date -u -r "$f" +%Y-%m-%dT%H:%M:%SZ)"
			done
		} | awk -F'\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
			END { for (r = 1; r <= n; r++) { line = ""; for (i = 1; i < 4; i++) line = line sprintf("%-" w[i] + 1 "s", c[r, i]); print line c[r, 4] } }'
		;;
	yaml) fatal "stand-in: -o yaml is not implemented; use -o json" ;;
	*) fatal "invalid output format: $SNAP_OUT" ;;
	esac
}

cmd_etcd_snapshot() {
	sub=save
	case ${1:-} in
	save | ls | list | delete | prune) sub=$1; shift ;;
	-* | '') ;;
	*) usage_error "etcd-snapshot: unknown subcommand '$1'" ;;
	esac
	snap_flags "$@"
	node_name
	[ -d "$DATA/server/db/etcd" ] || fatal "Error: see server log for details: etcd datastore disabled"
	[ -z "$SNAP_S3" ] || fatal "Error: stand-in: S3 snapshot storage is not available in the lab"
	case $sub in
	save)
		name=$SNAP_NAME-$NODE-$(date +%s)
		mkdir -p "$SNAP_DIR" || fatal "Error: cannot create $SNAP_DIR"
		cp "$DATA/server/db/etcd/member/snap/db" "$SNAP_DIR/$name.part" && mv "$SNAP_DIR/$name.part" "$SNAP_DIR/$name" ||
			fatal "Error: failed to save snapshot $name"
		log info "Snapshot $name saved."
		;;
	ls | list) snap_ls ;;
	delete)
		[ -n "$SNAP_ARGS" ] || fatal "Error: no snapshots given for removal"
		for n in $SNAP_ARGS; do
			if [ -f "$SNAP_DIR/$n" ]; then
				rm -f "$SNAP_DIR/$n"
				log info "Snapshot $n deleted."
			else
				log warning "Snapshot $n not found."
			fi
		done
		;;
	prune)
		total=$(snap_files "$SNAP_NAME-" | wc -l)
		for n in $(snap_files "$SNAP_NAME-" | head -n $((total > SNAP_RET ? total - SNAP_RET : 0))); do
			rm -f "$SNAP_DIR/$n"
			log info "Snapshot $n deleted."
		done
		;;
	esac
}

case ${0##*/} in
kubectl) cmd_kubectl "$@" ;;
crictl | ctr) fatal "stand-in: ${0##*/} is not available (there is no container runtime)" ;;
esac

case ${1:-} in
--version | -v | version)
	printf 'k3s version %s (%s)\ngo version %s\n' "$VERSION" "$COMMIT" "$GOVERSION"
	;;
server) shift; cmd_server "$@" ;;
agent) shift; cmd_agent "$@" ;;
kubectl) shift; cmd_kubectl "$@" ;;
etcd-snapshot) shift; cmd_etcd_snapshot "$@" ;;
'') usage_error "no command given" ;;
*) usage_error "command $1 not found in the k3s stand-in" ;;
esac
