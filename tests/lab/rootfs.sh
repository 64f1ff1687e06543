#!/bin/bash
# tests/lab/rootfs.sh: build (once) and print the path of the lab's cached
# Debian rootfs.
#
# Usage: tests/lab/rootfs.sh            print the rootfs path, building it first
#                                      if it is not cached yet
#        tests/lab/rootfs.sh --path     print the path it would use, build nothing
#
# The rootfs is debootstrap --variant=minbase of $DROVER_LAB_SUITE with the lab's
# package list, fetched from the Debian mirror this machine's apt already uses
# (read from /etc/apt/sources.list*). It is cached in
# $DROVER_LAB_CACHE/rootfs-<hash>, the hash covering the suite, architecture,
# package list and this script's customisation revision, so a changed package
# list builds a new tree instead of reusing a stale one. The build happens in a
# temporary directory next to the cache entry and is renamed into place only
# when complete: an interrupted build is never reused (leftover temp dirs are
# removed by the next build).
#
# Nodes never write to this tree: each boots it through an overlay
# (tests/lab/lab), so per-node things (host keys, hostname, machine-id) are
# removed here and created per node.
set -eu
. "$(dirname "$0")/lib.sh"

# Bump when the customisation below changes, so caches are rebuilt.
LAB_ROOTFS_REV=1

lab_mirror() {
	local f uri suites line
	if [ -n "${DROVER_LAB_MIRROR:-}" ]; then
		printf '%s\n' "$DROVER_LAB_MIRROR"
		return 0
	fi
	# deb822 .sources files: a URIs: line and a Suites: line per stanza.
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=
		suites=
		while IFS= read -r line || [ -n "$line" ]; do
			case $line in
			URIs:*) uri=${line#URIs:} ;;
			Suites:*) suites=" ${line#Suites:} " ;;
			'')
				uri=
				suites=
				;;
			esac
			if [ -n "$uri" ] && [ -n "$suites" ]; then
				case $suites in
				*" $LAB_SUITE "*)
					set -- $uri
					printf '%s\n' "$1"
					return 0
					;;
				esac
			fi
		done <"$f"
	done
	# One-line format: deb [opts] URI SUITE COMPONENTS...
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk -v s="$LAB_SUITE" '
			$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			              if ($(i + 1) == s) { print $i; exit } }' "$f")
		if [ -n "$uri" ]; then
			printf '%s\n' "$uri"
			return 0
		fi
	done
	return 1
}

lab_rootfs_path() {
	local key
	key=$(printf 'suite=%s\narch=%s\nvariant=minbase\npackages=%s\nrev=%s\n' \
		"$LAB_SUITE" "$(dpkg --print-architecture)" "$LAB_PACKAGES" "$LAB_ROOTFS_REV" |
		sha256sum | cut -c1-16)
	printf '%s/rootfs-%s\n' "$LAB_CACHE" "$key"
}

# Per-node identity is removed so every node gets its own; services that
# cannot work in a container sharing the host's network are masked.
lab_rootfs_customise() {
	local r=$1
	rm -f "$r"/etc/ssh/ssh_host_*
	: >"$r/etc/machine-id"
	rm -f "$r/var/lib/dbus/machine-id"
	rm -f "$r/etc/hostname"
	# Containers have no audit login uid to set; a required pam_loginuid
	# would refuse every ssh login.
	sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' \
		"$r/etc/pam.d/sshd" "$r/etc/pam.d/login" 2>/dev/null || true
	# The non-root user for become tests; its sudo password is set per lab.
	chroot "$r" useradd -m -s /bin/bash -G sudo drover
	mkdir -p "$r/root/.ssh" "$r/home/drover/.ssh"
	chmod 700 "$r/root/.ssh" "$r/home/drover/.ssh"
	chroot "$r" chown drover:drover /home/drover/.ssh
	# Clean, fast login shells (see reference lab.md): nothing beyond Debian's
	# skeleton files.
	ln -sf /dev/null "$r/etc/systemd/system/getty@tty1.service"
	ln -sf /dev/null "$r/etc/systemd/system/systemd-networkd.service"
	ln -sf /dev/null "$r/etc/systemd/system/systemd-resolved.service"
	ln -sf /dev/null "$r/etc/systemd/system/apt-daily.timer"
	ln -sf /dev/null "$r/etc/systemd/system/apt-daily-upgrade.timer"
	ln -sf /dev/null "$r/etc/systemd/system/e2scrub_all.timer"
	ln -sf /dev/null "$r/etc/systemd/system/fstrim.timer"
	apt-get -o RootDir="$r" clean 2>/dev/null || rm -rf "$r"/var/cache/apt/archives/*.deb
}

# lab_rootfs_discard DIR: remove a partial build. An interrupted debootstrap
# can leave /proc or /sys mounted inside it; unmount those first and never
# let rm cross into another filesystem.
lab_rootfs_discard() {
	local m
	[ -e "$1" ] || return 0
	for m in $(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$1"
}

lab_rootfs_build() {
	local dest=$1 mirror tmp log old
	lab_need_root
	lab_need_tools debootstrap chroot sha256sum
	mirror=$(lab_mirror) || lab_die "no Debian mirror for suite '$LAB_SUITE' in /etc/apt/sources.list*; add one or set DROVER_LAB_MIRROR"
	mkdir -p "$LAB_CACHE"
	# Leftovers of interrupted builds are never reused.
	for old in "$LAB_CACHE"/.build-*; do
		lab_rootfs_discard "$old"
	done
	tmp=$(mktemp -d "$LAB_CACHE/.build-XXXXXX")
	log=$tmp.log
	trap 'lab_rootfs_discard "$tmp"; rm -f "$log"; lab_die "rootfs build interrupted; nothing was kept"' INT TERM HUP
	lab_say "building the lab rootfs ($LAB_SUITE from $mirror) into $dest; takes about a minute, once"
	if ! debootstrap --variant=minbase --include="$LAB_PACKAGES" \
		"$LAB_SUITE" "$tmp/rootfs" "$mirror" >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		lab_rootfs_discard "$tmp"
		rm -f "$log"
		lab_die "debootstrap failed (log tail above); check that $mirror is reachable"
	fi
	lab_rootfs_customise "$tmp/rootfs"
	mv -T "$tmp/rootfs" "$dest"
	trap - INT TERM HUP
	rm -rf "$tmp" "$log"
	lab_say "rootfs ready: $dest"
}

main() {
	local dest
	dest=$(lab_rootfs_path)
	if [ "${1:-}" = --path ]; then
		printf '%s\n' "$dest"
		return 0
	fi
	[ $# -eq 0 ] || lab_die "usage: rootfs.sh [--path]"
	if [ ! -d "$dest" ]; then
		# One builder at a time; a second caller waits and then reuses it.
		mkdir -p "$LAB_CACHE"
		exec 9>"$LAB_CACHE/.lock"
		flock 9
		[ -d "$dest" ] || lab_rootfs_build "$dest"
	fi
	printf '%s\n' "$dest"
}

main "$@"
