#!/bin/sh
# k3s install script STAND-IN (get.k3s.io) for drover's tests. Not the real
# install.sh, which cannot be downloaded here; the release service stand-in
# (releases.py) serves this file at / and /install.sh.
#
# It keeps the real script's interface and effects on a systemd host:
#   INSTALL_K3S_VERSION, INSTALL_K3S_CHANNEL (stable), INSTALL_K3S_CHANNEL_URL,
#   INSTALL_K3S_EXEC and trailing arguments, INSTALL_K3S_SKIP_DOWNLOAD,
#   INSTALL_K3S_SKIP_START, INSTALL_K3S_SKIP_ENABLE, INSTALL_K3S_FORCE_RESTART,
#   INSTALL_K3S_BIN_DIR, INSTALL_K3S_SYSTEMD_DIR, INSTALL_K3S_NAME,
#   INSTALL_K3S_TYPE, INSTALL_K3S_SYMLINK, GITHUB_URL, K3S_URL + K3S_TOKEN or
#   K3S_TOKEN_FILE (agent), every other K3S_* kept in the env file;
#   the same messages, unit file and env file, `systemctl daemon-reload`,
#   enable and restart; no download when the installed binary's sha256
#   matches; no restart when binary, unit and env file are unchanged.
# And the real trap: without K3S_URL and without a command it installs a
# server (k3s.service, k3s.service.env), even on a node that is an agent.
#
# Left out: SELinux RPMs, OpenRC, PR/commit builds, wget. Test hook: when
# /etc/rancher/k3s/standin/fail-install exists the script fails with its text.
set -e
set -o noglob

GITHUB_URL=${GITHUB_URL:-https://github.com/k3s-io/k3s/releases}

info() {
	echo '[INFO] ' "$@"
}

warn() {
	echo '[WARN] ' "$@" >&2
}

fatal() {
	echo '[ERROR] ' "$@" >&2
	exit 1
}

# One argument per line, single-quoted for the unit's ExecStart.
quote() {
	for arg in "$@"; do
		printf '%s\n' "$arg" | sed "s/'/'\\\\''/g;1s/^/'/;\$s/\$/'/"
	done
}

quote_indent() {
	printf ' \\\n'
	for arg in "$@"; do
		printf '\t%s \\\n' "$(quote "$arg")"
	done
}

verify_system() {
	if [ -x /bin/systemctl ] || type systemctl >/dev/null 2>&1; then
		HAS_SYSTEMD=true
		return
	fi
	fatal 'Can not find systemd or openrc to use as a process supervisor for k3s'
}

setup_env() {
	case "${1:-}" in
	-* | "")
		if [ -z "${K3S_URL:-}" ]; then
			CMD_K3S=server
		else
			if [ -z "${K3S_TOKEN:-}" ] && [ -z "${K3S_TOKEN_FILE:-}" ]; then
				fatal "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN or K3S_TOKEN_FILE is not defined."
			fi
			CMD_K3S=agent
		fi
		;;
	*)
		CMD_K3S=$1
		shift
		;;
	esac
	case "${K3S_URL:-}" in
	"" | https://*) ;;
	*) fatal "Only https:// URLs are supported for K3S_URL (have ${K3S_URL})" ;;
	esac
	CMD_K3S_EXEC="${CMD_K3S}$(quote_indent "$@")"

	if [ -n "${INSTALL_K3S_NAME:-}" ]; then
		SYSTEM_NAME=k3s-${INSTALL_K3S_NAME}
	elif [ "${CMD_K3S}" = server ]; then
		SYSTEM_NAME=k3s
	else
		SYSTEM_NAME=k3s-${CMD_K3S}
	fi
	SYSTEMD_TYPE=${INSTALL_K3S_TYPE:-notify}
	BIN_DIR=${INSTALL_K3S_BIN_DIR:-/usr/local/bin}
	SYSTEMD_DIR=${INSTALL_K3S_SYSTEMD_DIR:-/etc/systemd/system}
	SERVICE_K3S=${SYSTEM_NAME}.service
	UNINSTALL_K3S_SH=${UNINSTALL_K3S_SH:-${BIN_DIR}/${SYSTEM_NAME}-uninstall.sh}
	KILLALL_K3S_SH=${KILLALL_K3S_SH:-${BIN_DIR}/k3s-killall.sh}
	FILE_K3S_SERVICE=${SYSTEMD_DIR}/${SERVICE_K3S}
	FILE_K3S_ENV=${SYSTEMD_DIR}/${SERVICE_K3S}.env
	PRE_INSTALL_HASHES=$(get_installed_hashes)
	INSTALL_K3S_CHANNEL_URL=${INSTALL_K3S_CHANNEL_URL:-'https://update.k3s.io/v1-release/channels'}
	INSTALL_K3S_CHANNEL=${INSTALL_K3S_CHANNEL:-'stable'}
}

get_installed_hashes() {
	sha256sum ${BIN_DIR}/k3s ${FILE_K3S_SERVICE} ${FILE_K3S_ENV} 2>&1 || true
}

can_skip_download_binary() {
	[ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" = true ] || [ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" = binary ]
}

setup_tmp() {
	TMP_DIR=$(mktemp -d -t k3s-install.XXXXXXXXXX)
	TMP_HASH=${TMP_DIR}/k3s.hash
	TMP_BIN=${TMP_DIR}/k3s.bin
	cleanup() {
		code=$?
		set +e
		trap - EXIT
		rm -rf ${TMP_DIR}
		exit $code
	}
	trap cleanup INT EXIT
}

# The channel answers a redirect to .../releases/tag/VERSION; the version is
# the last path segment of where curl ends up (%2B decoded).
get_release_version() {
	if [ -n "${INSTALL_K3S_VERSION:-}" ]; then
		VERSION_K3S=${INSTALL_K3S_VERSION}
	else
		info "Finding release for channel ${INSTALL_K3S_CHANNEL}"
		version_url="${INSTALL_K3S_CHANNEL_URL}/${INSTALL_K3S_CHANNEL}"
		VERSION_K3S=$(curl -w '%{url_effective}' -L -s -S ${version_url} -o /dev/null | sed -e 's|.*/||' -e 's/%2[Bb]/+/g')
	fi
	info "Using ${VERSION_K3S} as release"
}

download() {
	[ $# -eq 2 ] || fatal 'download needs exactly 2 arguments'
	set +e
	curl -o $1 -sfL $2
	status=$?
	set -e
	[ $status -eq 0 ] || fatal 'Download failed'
}

download_hash() {
	HASH_URL=${GITHUB_URL}/download/${VERSION_K3S}/sha256sum-amd64.txt
	info "Downloading hash ${HASH_URL}"
	download ${TMP_HASH} ${HASH_URL}
	HASH_EXPECTED=$(grep " k3s$" ${TMP_HASH})
	HASH_EXPECTED=${HASH_EXPECTED%%[[:blank:]]*}
}

installed_hash_matches() {
	if [ -x ${BIN_DIR}/k3s ]; then
		HASH_INSTALLED=$(sha256sum ${BIN_DIR}/k3s)
		HASH_INSTALLED=${HASH_INSTALLED%%[[:blank:]]*}
		[ "${HASH_EXPECTED}" = "${HASH_INSTALLED}" ] && return
	fi
	return 1
}

download_and_verify() {
	if can_skip_download_binary; then
		info 'Skipping k3s download and verify'
		[ -x ${BIN_DIR}/k3s ] || fatal "Executable k3s binary not found at ${BIN_DIR}/k3s"
		return
	fi
	[ -x "$(command -v curl)" ] || fatal 'Can not find curl or wget for downloading files'
	setup_tmp
	get_release_version
	download_hash
	if installed_hash_matches; then
		info 'Skipping binary downloaded, installed k3s matches hash'
		return
	fi
	BIN_URL=${GITHUB_URL}/download/${VERSION_K3S}/k3s
	info "Downloading binary ${BIN_URL}"
	download ${TMP_BIN} ${BIN_URL}
	info "Verifying binary download"
	HASH_BIN=$(sha256sum ${TMP_BIN})
	HASH_BIN=${HASH_BIN%%[[:blank:]]*}
	if [ "${HASH_EXPECTED}" != "${HASH_BIN}" ]; then
		fatal "Download sha256 does not match ${HASH_EXPECTED}, got ${HASH_BIN}"
	fi
	chmod 755 ${TMP_BIN}
	info "Installing k3s to ${BIN_DIR}/k3s"
	chown root:root ${TMP_BIN}
	mv -f ${TMP_BIN} ${BIN_DIR}/k3s
}

create_symlinks() {
	[ "${INSTALL_K3S_SYMLINK:-}" = skip ] && return
	for cmd in kubectl crictl ctr; do
		if [ ! -e ${BIN_DIR}/${cmd} ] || [ "${INSTALL_K3S_SYMLINK:-}" = force ]; then
			which_cmd=$(command -v ${cmd} 2>/dev/null || true)
			if [ -z "${which_cmd}" ] || [ "${INSTALL_K3S_SYMLINK:-}" = force ]; then
				info "Creating ${BIN_DIR}/${cmd} symlink to k3s"
				ln -sf k3s ${BIN_DIR}/${cmd}
			else
				info "Skipping ${BIN_DIR}/${cmd} symlink to k3s, command exists in PATH at ${which_cmd}"
			fi
		else
			info "Skipping ${BIN_DIR}/${cmd} symlink to k3s, already exists"
		fi
	done
}

create_killall() {
	info "Creating killall script ${KILLALL_K3S_SH}"
	cat >${KILLALL_K3S_SH} <<\EOF
#!/bin/sh
# k3s-killall.sh (stand-in): stops every k3s unit.
[ $(id -u) -eq 0 ] || exec sudo $0 $@
for service in /etc/systemd/system/k3s*.service; do
    [ -s $service ] && systemctl stop $(basename $service)
done
exit 0
EOF
	chmod 755 ${KILLALL_K3S_SH}
}

create_uninstall() {
	info "Creating uninstall script ${UNINSTALL_K3S_SH}"
	cat >${UNINSTALL_K3S_SH} <<EOF
#!/bin/sh
# ${SYSTEM_NAME}-uninstall.sh (stand-in)
set -x
[ \$(id -u) -eq 0 ] || exec sudo \$0 \$@
${KILLALL_K3S_SH}
systemctl disable ${SYSTEM_NAME}
systemctl reset-failed ${SYSTEM_NAME}
systemctl daemon-reload
rm -f ${FILE_K3S_SERVICE}
rm -f ${FILE_K3S_ENV}
remove_uninstall() {
    rm -f ${UNINSTALL_K3S_SH}
}
trap remove_uninstall EXIT
if ls ${SYSTEMD_DIR}/k3s*.service >/dev/null 2>&1; then
    set +x; echo 'Additional k3s services installed, skipping uninstall of k3s'; set -x
    exit
fi
for cmd in kubectl crictl ctr; do
    [ -L ${BIN_DIR}/\$cmd ] && rm -f ${BIN_DIR}/\$cmd
done
rm -rf /etc/rancher/k3s/k3s.yaml /run/k3s /var/lib/rancher/k3s
rm -f ${BIN_DIR}/k3s ${KILLALL_K3S_SH}
EOF
	chmod 755 ${UNINSTALL_K3S_SH}
}

systemd_disable() {
	systemctl disable ${SYSTEM_NAME} >/dev/null 2>&1 || true
	rm -f /etc/systemd/system/${SERVICE_K3S} || true
	rm -f /etc/systemd/system/${SERVICE_K3S}.env || true
}

create_env_file() {
	info "env: Creating environment file ${FILE_K3S_ENV}"
	touch ${FILE_K3S_ENV}
	chmod 0600 ${FILE_K3S_ENV}
	sh -c export | while read x v; do echo $v; done | grep -E '^(K3S|CONTAINERD)_' >${FILE_K3S_ENV} || true
	sh -c export | while read x v; do echo $v; done | grep -Ei '^(NO|HTTP|HTTPS)_PROXY' >>${FILE_K3S_ENV} || true
}

create_systemd_service_file() {
	info "systemd: Creating service file ${FILE_K3S_SERVICE}"
	cat >${FILE_K3S_SERVICE} <<EOF
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=${SYSTEMD_TYPE}
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-${FILE_K3S_ENV}
KillMode=process
Delegate=yes
User=root
# Having non-zero Limit*s causes performance problems due to accounting overhead
# in the kernel. We recommend using cgroups to do container-local accounting.
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=${BIN_DIR}/k3s \\
    ${CMD_K3S_EXEC}

EOF
}

service_enable_and_start() {
	[ "${INSTALL_K3S_SKIP_ENABLE:-}" = true ] && return
	info "systemd: Enabling ${SYSTEM_NAME} unit"
	systemctl enable ${FILE_K3S_SERVICE} >/dev/null
	systemctl daemon-reload >/dev/null
	[ "${INSTALL_K3S_SKIP_START:-}" = true ] && return
	POST_INSTALL_HASHES=$(get_installed_hashes)
	if [ "${PRE_INSTALL_HASHES}" = "${POST_INSTALL_HASHES}" ] && [ "${INSTALL_K3S_FORCE_RESTART:-}" != true ]; then
		info 'No change detected so skipping service start'
		return
	fi
	info "systemd: Starting ${SYSTEM_NAME}"
	systemctl restart ${SYSTEM_NAME}
}

# INSTALL_K3S_EXEC's words come first, then the script's own arguments.
eval set -- $(printf '%s' "${INSTALL_K3S_EXEC:-}" | sed -e 's/\([][!#$%&()*;<=>?\_`{|}]\)/\\\1/g;') $(quote "$@")

{
	verify_system
	setup_env "$@"
	if [ -e /etc/rancher/k3s/standin/fail-install ]; then
		fatal "stand-in: install refused by test hook: $(cat /etc/rancher/k3s/standin/fail-install)"
	fi
	download_and_verify
	create_symlinks
	create_killall
	create_uninstall
	systemd_disable
	create_env_file
	create_systemd_service_file
	service_enable_and_start
}
