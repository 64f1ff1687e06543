#!/bin/bash
# tests/lab/inventory.sh: write the lab's inventories into a directory.
#
# Usage: inventory.sh DIR             the running lab's nodes (from its state)
#        inventory.sh --standard DIR  the standard three-node lab with default
#                                     settings: this is how inventory/lab/ is
#                                     made (tests/it_lab.sh checks it matches)
#
# Writes DIR/ssh.ini (nodes reached over ssh by their loopback address, host
# keys checked against the lab's known_hosts), DIR/pct.ini (the same nodes
# reached with ansible_connection=pct through pve1, the Proxmox-host
# stand-in), and DIR/fanout.ini when the fan-out sshd runs. Groups follow
# the k3s layout: k3s_servers (k3s-s-*), k3s_agents (k3s-w-*), both children
# of k3s_cluster; other node names go to lab_nodes; pve holds pve1.
set -eu
. "$(dirname "$(readlink -f "$0")")/lib.sh"

standard=
if [ "${1:-}" = --standard ]; then
	standard=1
	shift
	LAB_STATE=/var/lib/drover-lab
	LAB_KEY=$LAB_STATE/id_ed25519
	LAB_KNOWN_HOSTS=$LAB_STATE/known_hosts
	LAB_NET=127.0.0
	LAB_SSH_PORT=2222
fi
[ $# -eq 1 ] || lab_die "usage: inventory.sh [--standard] DIR"
out=$1

# node lines: "NAME ADDR VMID"
nodes() {
	local n
	if [ -n "$standard" ]; then
		printf 'k3s-s-01 %s.11 101\nk3s-w-01 %s.21 111\nk3s-w-02 %s.22 112\n' "$LAB_NET" "$LAB_NET" "$LAB_NET"
		return 0
	fi
	for n in $(lab_node_list); do
		printf '%s %s %s\n' "$n" "$(lab_node_get "$n" addr)" "$(lab_node_get "$n" vmid)"
	done
}

# group NAME PATTERN FLAVOUR: an INI group of the nodes whose name matches.
group() {
	local name vm addr
	printf '[%s]\n' "$1"
	nodes | while read -r name addr vm; do
		case $name in
		k3s-s-*) [ "$2" = server ] || continue ;;
		k3s-w-*) [ "$2" = agent ] || continue ;;
		*) [ "$2" = other ] || continue ;;
		esac
		if [ "$3" = ssh ]; then
			printf '%s ansible_host=%s\n' "$name" "$addr"
		else
			printf '%s ansible_connection=pct pct_vmid=%s pct_host=pve1\n' "$name" "$vm"
		fi
	done
	printf '\n'
}

common_vars() {
	cat <<-EOF
		[all:vars]
		ansible_user=root
		ansible_port=$LAB_SSH_PORT
		ansible_ssh_private_key_file=$LAB_KEY
		ansible_ssh_common_args='-o UserKnownHostsFile=$LAB_KNOWN_HOSTS -o StrictHostKeyChecking=yes'
	EOF
}

write() {
	local flavour=$1 file=$out/$1.ini
	{
		printf '# drover lab inventory, %s flavour. Made by tests/lab/inventory.sh;\n' "$flavour"
		if [ "$flavour" = ssh ]; then
			printf '# nodes are reached over ssh on their own loopback address.\n'
		else
			printf '# nodes are Proxmox containers reached with pct exec on pve1, the\n'
			printf '# Proxmox-host stand-in (this machine, sshd on %s.2, tests/lab/pct).\n' "$LAB_NET"
		fi
		printf '# The non-root user drover has sudo with the password in\n# %s/become_password.\n\n' "$LAB_STATE"
		group k3s_servers server "$flavour"
		group k3s_agents agent "$flavour"
		printf '[k3s_cluster:children]\nk3s_servers\nk3s_agents\n\n'
		if [ -n "$(nodes | awk '$1 !~ /^k3s-[sw]-/')" ]; then
			group lab_nodes other "$flavour"
		fi
		printf '[pve]\npve1 ansible_host=%s.2\n\n' "$LAB_NET"
		common_vars
	} >"$file.tmp"
	mv -f "$file.tmp" "$file"
}

mkdir -p "$out"
write ssh
write pct
rm -f "$out/fanout.ini"
if [ -z "$standard" ] && [ -f "$LAB_STATE/fanout/hosts" ]; then
	{
		printf '# drover lab inventory: the fan-out sshd (tests/lab/lab sshd-fanout),\n'
		printf '# one plain sshd on this machine answering on every address below.\n\n[fanout]\n'
		while read -r name addr; do
			printf '%s ansible_host=%s\n' "$name" "$addr"
		done <"$LAB_STATE/fanout/hosts"
		printf '\n'
		common_vars
	} >"$out/fanout.ini.tmp"
	mv -f "$out/fanout.ini.tmp" "$out/fanout.ini"
fi
