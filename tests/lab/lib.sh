# tests/lab/lib.sh: shared settings and helpers for the drover lab scripts.
#
# Sourced by tests/lab/lab, tests/lab/rootfs.sh and tests/lab/pct. Everything
# the lab creates lives under three directories, each overridable from the
# environment so a CI job or a second lab can be kept apart:
#
#   DROVER_LAB_CACHE  cached Debian rootfs trees (default /var/cache/drover-lab)
#   DROVER_LAB_STATE  running lab: keys, known_hosts, one dir per node
#                     (default /var/lib/drover-lab)
#   DROVER_LAB_SUITE  Debian suite for the rootfs (default bookworm)
#   DROVER_LAB_NET    first three octets of the nodes' addresses (default
#                     127.0.0: nodes on 127.0.0.11..., pve1 on 127.0.0.2)
#   DROVER_LAB_FANOUT_NET  same for the fan-out sshd (default 127.0.1)
#   DROVER_LAB_SSH_PORT    sshd port everywhere in the lab (default 2222: a
#                     machine's own sshd on 0.0.0.0:22 shadows port 22 on
#                     every loopback address, and CI machines run one)
#
# The lab only ever uses loopback addresses (127.0.0.0/8); lab_check_addr
# refuses anything else before it reaches a config file.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_CACHE=${DROVER_LAB_CACHE:-/var/cache/drover-lab}
LAB_STATE=${DROVER_LAB_STATE:-/var/lib/drover-lab}
LAB_SUITE=${DROVER_LAB_SUITE:-bookworm}
LAB_PACKAGES=openssh-server,systemd,systemd-sysv,dbus,iproute2,sudo,curl,ca-certificates,python3-minimal,procps
LAB_NET=${DROVER_LAB_NET:-127.0.0}
LAB_FANOUT_NET=${DROVER_LAB_FANOUT_NET:-127.0.1}
LAB_SSH_PORT=${DROVER_LAB_SSH_PORT:-2222}
LAB_SETTINGS=$LAB_STATE/settings
LAB_KEY=$LAB_STATE/id_ed25519
LAB_KNOWN_HOSTS=$LAB_STATE/known_hosts
LAB_NODES=$LAB_STATE/nodes
# The node with index I listens on 127.0.0.(10+I) and is Proxmox VMID 100+I.
LAB_ADDR_BASE=10
LAB_VMID_BASE=100
LAB_MAX_NODES=200

lab_check_settings() {
	[[ $LAB_SSH_PORT =~ ^[1-9][0-9]{0,4}$ ]] && [ "$LAB_SSH_PORT" -le 65535 ] ||
		lab_die "DROVER_LAB_SSH_PORT='$LAB_SSH_PORT' is not a port number (1-65535)"
	[[ $LAB_NET =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
		lab_die "DROVER_LAB_NET='$LAB_NET' must be three octets in 127.0.0.0/8, e.g. 127.0.7"
	[[ $LAB_FANOUT_NET =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
		lab_die "DROVER_LAB_FANOUT_NET='$LAB_FANOUT_NET' must be three octets in 127.0.0.0/8, e.g. 127.0.1"
}

lab_die() {
	printf 'lab: error: %s\n' "$*" >&2
	exit 1
}

lab_say() {
	printf 'lab: %s\n' "$*" >&2
}

lab_need_root() {
	[ "$(id -u)" = 0 ] || lab_die "the lab needs root (systemd-nspawn, overlay mounts, nsenter); run it with sudo"
}

lab_need_tools() {
	local t missing=
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] || lab_die "missing tools:$missing; install the Debian packages debootstrap systemd-container openssh-client openssh-server iproute2 util-linux"
}

# lab_check_addr ADDR: refuse anything outside 127.0.0.0/8.
lab_check_addr() {
	local o
	if [[ ! $1 =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
		lab_die "refusing address '$1': the lab uses loopback addresses (127.0.0.0/8) only"
	fi
	for o in ${1//./ }; do
		[ $((10#$o)) -le 255 ] || lab_die "bad address '$1' (check DROVER_LAB_NET / DROVER_LAB_FANOUT_NET)"
	done
}

lab_check_name() {
	case $1 in
	'' | *[!a-z0-9-]* | -*) lab_die "bad node name '$1': use lower-case letters, digits and '-' (e.g. k3s-w-01)" ;;
	esac
	[ ${#1} -le 60 ] || lab_die "node name '$1' is too long (60 characters at most)"
	[ "$1" != pve1 ] || lab_die "pve1 is the Proxmox-host stand-in, not a node; pick another name"
}

# lab_node_get NAME KEY: print one recorded fact about a node (empty if none).
lab_node_get() {
	local f="$LAB_NODES/$1/$2"
	[ -f "$f" ] && cat "$f" || true
}

# lab_node_list: names of all recorded nodes, in index order.
lab_node_list() {
	local d
	[ -d "$LAB_NODES" ] || return 0
	for d in "$LAB_NODES"/*/; do
		[ -f "$d/index" ] || continue
		printf '%s %s\n' "$(cat "$d/index")" "$(basename "$d")"
	done | sort -n | cut -d' ' -f2
}

# lab_node_running NAME: true when the node's systemd-nspawn process is alive.
lab_node_running() {
	local pid
	pid=$(lab_node_get "$1" pid)
	[ -n "$pid" ] || return 1
	[ -d "/proc/$pid" ] || return 1
	# The pid must still be our systemd-nspawn, not a recycled number.
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd-nspawn ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "--machine=$1"
}

# lab_node_leader NAME: PID (in this namespace) of the node's init: the child
# of its systemd-nspawn process that is PID 1 of a new PID namespace. While
# nspawn sets up, its only child is a helper in our namespace, which must
# not be mistaken for the node. Prints nothing when the node is not running.
lab_node_leader() {
	local pid child nspid
	lab_node_running "$1" || return 0
	pid=$(lab_node_get "$1" pid)
	for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		nspid=$(awk '$1 == "NSpid:" { print NF - 1, $NF }' "/proc/$child/status" 2>/dev/null)
		if [ "$nspid" = "2 1" ]; then
			printf '%s\n' "$child"
			return 0
		fi
	done
}

# lab_vmid_node VMID: node name for a Proxmox VMID (empty if none).
lab_vmid_node() {
	local n
	for n in $(lab_node_list); do
		if [ "$(lab_node_get "$n" vmid)" = "$1" ]; then
			printf '%s\n' "$n"
			return 0
		fi
	done
}

# A lab keeps the settings it was made with (in $LAB_STATE/settings), so a
# later command (pct start run on pve1, a second shell) cannot move its
# nodes by running with other environment variables. Commands that would
# create things (up, start, sshd-fanout) refuse a conflicting request
# (lab_check_conflict); the others just use the lab's own settings.
LAB_CONFLICT=
lab_load_settings() {
	local k v cur var
	[ -f "$LAB_SETTINGS" ] || return 0
	while IFS='=' read -r k v; do
		case $k in
		net) var=DROVER_LAB_NET cur=${DROVER_LAB_NET:-} LAB_NET=$v ;;
		fanout_net) var=DROVER_LAB_FANOUT_NET cur=${DROVER_LAB_FANOUT_NET:-} LAB_FANOUT_NET=$v ;;
		port) var=DROVER_LAB_SSH_PORT cur=${DROVER_LAB_SSH_PORT:-} LAB_SSH_PORT=$v ;;
		*) continue ;;
		esac
		[ -z "$cur" ] || [ "$cur" = "$v" ] ||
			LAB_CONFLICT="the lab in $LAB_STATE was made with $var=$v (you asked for $cur); run 'lab down' first, or use another DROVER_LAB_STATE"
	done <"$LAB_SETTINGS"
}

lab_check_conflict() {
	[ -z "$LAB_CONFLICT" ] || lab_die "$LAB_CONFLICT"
}

lab_save_settings() {
	[ -f "$LAB_SETTINGS" ] && return 0
	printf 'net=%s\nfanout_net=%s\nport=%s\n' "$LAB_NET" "$LAB_FANOUT_NET" "$LAB_SSH_PORT" >"$LAB_SETTINGS.tmp"
	mv -f "$LAB_SETTINGS.tmp" "$LAB_SETTINGS"
}

lab_load_settings
