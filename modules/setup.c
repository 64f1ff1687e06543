/*
 * setup.c - setup: gather facts without Python on the host.
 *
 * One shell script prints "key=value" lines (and a few raw sections); the
 * controller turns them into Ansible's fact names. Keys inside
 * ansible_facts carry no "ansible_" prefix, as Ansible returns them.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

/* Every line is KEY=VALUE; the env section is its own block. */
static const char facts_sh[] =
    "u() { printf '%s=%s\\n' \"$1\" \"$2\"; }\n"
    "u nodename \"$(uname -n)\"\n"
    /* Python's socket.getfqdn(): the name's address looked up again; the
     * first of its names with a dot, else the canonical one */
    "a=$(getent hosts \"$(uname -n)\" 2>/dev/null | awk '{print $1; exit}')\n"
    "f=$([ -n \"$a\" ] && getent hosts \"$a\" 2>/dev/null | awk '{for (i = 2; i <= NF; i++) "
    "if (index($i, \".\")) {print $i; exit} print $2; exit}')\n"
    "u fqdn \"${f:-$(uname -n)}\"\n"
    "u system \"$(uname -s)\"; u kernel \"$(uname -r)\"; u kernel_version \"$(uname -v)\"\n"
    "u machine \"$(uname -m)\"\n"
    "if [ -r /etc/os-release ]; then . /etc/os-release 2>/dev/null; u os_id \"$ID\";"
    " u os_id_like \"$ID_LIKE\"; u os_version_id \"$VERSION_ID\"; u os_name \"$NAME\";"
    " u os_codename \"$VERSION_CODENAME\"; fi\n"
    "[ -r /etc/debian_version ] && u debian_version \"$(cat /etc/debian_version)\"\n"
    "if [ -d /run/systemd/system ]; then u service_mgr systemd;"
    " elif [ -x /sbin/openrc ]; then u service_mgr openrc;"
    " else u service_mgr \"$(cat /proc/1/comm 2>/dev/null | sed 's/^init$/sysvinit/')\"; fi\n"
    "for m in apt-get dnf yum apk zypper pacman; do command -v $m >/dev/null 2>&1 &&"
    " { u pkg_mgr \"${m%-get}\"; break; }; done\n"
    "u route \"$(ip -4 route get 1.1.1.1 2>/dev/null | head -n1)\"\n"
    "u addrs \"$(ip -4 -o addr show 2>/dev/null | awk '{print $4}' | tr '\\n' ' ')\"\n"
    "u ifaces \"$(ls /sys/class/net 2>/dev/null | tr '\\n' ' ')\"\n"
    "u memtotal \"$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)\"\n"
    "u memfree \"$(awk '/^MemFree:/ {print $2}' /proc/meminfo 2>/dev/null)\"\n"
    "u swaptotal \"$(awk '/^SwapTotal:/ {print $2}' /proc/meminfo 2>/dev/null)\"\n"
    "u vcpus \"$(grep -c '^processor' /proc/cpuinfo 2>/dev/null || nproc)\"\n"
    "u uptime \"$(cut -d. -f1 /proc/uptime 2>/dev/null)\"\n"
    "u machine_id \"$(cat /etc/machine-id 2>/dev/null)\"\n"
    "u user_id \"$(id -un)\"; u user_uid \"$(id -u)\"; u user_gid \"$(id -g)\"\n"
    "u user_dir \"$HOME\"; u user_shell \"$(getent passwd \"$(id -un)\" 2>/dev/null | cut -d: "
    "-f7)\"\n"
    "u date \"$(date '+%Y|%m|%d|%H|%M|%S|%Z|%z|%s|%A|%B|%j|%W|%a|%b|%u|%N')\"\n"
    "u udate \"$(date -u '+%Y-%m-%dT%H:%M:%S|%Y%m%dT%H%M%S')\"\n"
    "echo '@ENV'; env\n";

static const char *field(json_t *kv, const char *k)
{
	const char *v = json_string_value(json_object_get(kv, k));
	return v ? v : "";
}

static void set_str(json_t *f, const char *k, const char *v)
{
	json_object_set_new(f, k, json_string(v));
}

static json_t *split_words(const char *s)
{
	json_t *a = json_array();
	while (*s) {
		size_t n = strcspn(s, " ");
		if (n)
			json_array_append_new(a, json_stringn(s, n));
		s += n;
		while (*s == ' ')
			s++;
	}
	return a;
}

static void distro(json_t *f, json_t *kv)
{
	static const struct {
		const char *id, *name, *family;
	} map[] = {{"debian", "Debian", "Debian"},
	           {"ubuntu", "Ubuntu", "Debian"},
	           {"raspbian", "Debian", "Debian"},
	           {"linuxmint", "Linux Mint", "Debian"},
	           {"pop", "Pop!_OS", "Debian"},
	           {"rhel", "RedHat", "RedHat"},
	           {"centos", "CentOS", "RedHat"},
	           {"fedora", "Fedora", "RedHat"},
	           {"rocky", "Rocky", "RedHat"},
	           {"almalinux", "AlmaLinux", "RedHat"},
	           {"ol", "OracleLinux", "RedHat"},
	           {"amzn", "Amazon", "RedHat"},
	           {"alpine", "Alpine", "Alpine"},
	           {"arch", "Archlinux", "Archlinux"},
	           {"opensuse-leap", "openSUSE Leap", "Suse"},
	           {"sles", "SLES", "Suse"}};
	const char *id = field(kv, "os_id"), *name = field(kv, "os_name");
	const char *dname = *name ? name : "OtherLinux", *fam = dname;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(id, map[i].id))
			dname = map[i].name, fam = map[i].family;
	set_str(f, "distribution", dname);
	set_str(f, "os_family", fam);
	const char *ver = field(kv, "os_version_id");
	/* Debian's point release lives in /etc/debian_version ("12.5") */
	if (!strcmp(id, "debian") && isdigit((unsigned char)field(kv, "debian_version")[0]))
		ver = field(kv, "debian_version");
	set_str(f, "distribution_version", *ver ? ver : "NA");
	char major[32];
	snprintf(major, sizeof(major), "%.*s", (int)strcspn(ver, "."), ver);
	set_str(f, "distribution_major_version", *major ? major : "NA");
	set_str(f, "distribution_release",
	        *field(kv, "os_codename") ? field(kv, "os_codename") : "NA");
}

/* "1.1.1.1 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0" */
static void default_ipv4(json_t *f, const char *route)
{
	json_t *d = json_object();
	const char *keys[][2] = {{"via", "gateway"}, {"dev", "interface"}, {"src", "address"}};
	for (int i = 0; i < 3; i++) {
		char pat[16];
		snprintf(pat, sizeof(pat), " %s ", keys[i][0]);
		const char *p = strstr(route, pat);
		if (p) {
			p += strlen(pat);
			json_object_set_new(d, keys[i][1], json_stringn(p, strcspn(p, " ")));
		}
	}
	json_object_set_new(f, "default_ipv4", d);
}

static void date_time(json_t *f, const char *s, const char *utc)
{
	static const char *const names[] = {
	    "year",           "month",       "day",        "hour",          "minute",
	    "second",         "tz",          "tz_offset",  "epoch",         "weekday",
	    "month_name",     "day_of_year", "weeknumber", "weekday_short", "month_short",
	    "weekday_number", "nanos",       NULL};
	json_t *raw = json_object(), *d = json_object();
	for (int i = 0; names[i]; i++) {
		size_t n = strcspn(s, "|");
		json_object_set_new(raw, names[i], json_stringn(s, n));
		s += n + (s[n] ? 1 : 0);
	}
#define R(k) field(raw, k)
	const char *copy[] = {
	    "year",      "month", "day",     "hour",       "minute",         "second", "tz",
	    "tz_offset", "epoch", "weekday", "weeknumber", "weekday_number", NULL};
	for (int i = 0; copy[i]; i++)
		set_str(d, copy[i], R(copy[i]));
	json_object_set_new(d, "epoch_int", json_string(R("epoch")));
	json_object_set_new(d, "date", json_sprintf("%s-%s-%s", R("year"), R("month"), R("day")));
	json_object_set_new(d, "time",
	                    json_sprintf("%s:%s:%s", R("hour"), R("minute"), R("second")));
	/* Ansible's iso8601 fields are UTC; micro from the nanoseconds */
	int bar = (int)strcspn(utc, "|");
	const char *basic = utc[bar] ? utc + bar + 1 : "";
	char micro[8];
	snprintf(micro, sizeof(micro), "%.6s", R("nanos"));
	json_object_set_new(d, "iso8601", json_sprintf("%.*sZ", bar, utc));
	json_object_set_new(d, "iso8601_micro", json_sprintf("%.*s.%sZ", bar, utc, micro));
	json_object_set_new(d, "iso8601_basic", json_sprintf("%s%s", basic, micro));
	json_object_set_new(d, "iso8601_basic_short", json_string(basic));
	set_str(d, "tz_dst", R("tz"));
	set_str(d, "month", R("month"));
#undef R
	json_object_set_new(f, "date_time", d);
	json_decref(raw);
}

static json_t *parse(const char *out)
{
	json_t *kv = json_object(), *env = json_object();
	const char *p = out;
	int in_env = 0;
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n == 4 && !strncmp(p, "@ENV", 4)) {
			in_env = 1;
		} else {
			const char *eq = memchr(p, '=', n);
			if (eq) {
				char *k = xstrndup(p, (size_t)(eq - p));
				json_object_set_new(in_env ? env : kv, k,
				                    json_stringn(eq + 1, n - (size_t)(eq - p) - 1));
				free(k);
			}
		}
		p += n + (p[n] ? 1 : 0);
	}
	json_object_set_new(kv, "@env", env);
	return kv;
}

static json_t *facts_from(json_t *kv)
{
	json_t *f = json_object();
	const char *node = field(kv, "nodename");
	set_str(f, "nodename", node);
	json_object_set_new(f, "hostname", json_stringn(node, strcspn(node, ".")));
	set_str(f, "fqdn", field(kv, "fqdn"));
	const char *fq = field(kv, "fqdn");
	set_str(f, "domain", strchr(fq, '.') ? strchr(fq, '.') + 1 : "");
	set_str(f, "system", field(kv, "system"));
	set_str(f, "kernel", field(kv, "kernel"));
	set_str(f, "kernel_version", field(kv, "kernel_version"));
	set_str(f, "architecture", field(kv, "machine"));
	set_str(f, "machine", field(kv, "machine"));
	set_str(f, "machine_id", field(kv, "machine_id"));
	set_str(f, "service_mgr", field(kv, "service_mgr"));
	set_str(f, "pkg_mgr", *field(kv, "pkg_mgr") ? field(kv, "pkg_mgr") : "unknown");
	distro(f, kv);
	default_ipv4(f, field(kv, "route"));
	json_t *addrs = split_words(field(kv, "addrs")), *all = json_array();
	size_t i;
	json_t *a;
	json_array_foreach (addrs, i, a) {
		const char *s = json_string_value(a);
		if (strncmp(s, "127.", 4))
			json_array_append_new(all, json_stringn(s, strcspn(s, "/")));
	}
	json_decref(addrs);
	json_object_set_new(f, "all_ipv4_addresses", all);
	json_object_set_new(f, "interfaces", split_words(field(kv, "ifaces")));
	json_object_set_new(f, "memtotal_mb", json_integer(atoll(field(kv, "memtotal")) / 1024));
	json_object_set_new(f, "memfree_mb", json_integer(atoll(field(kv, "memfree")) / 1024));
	json_object_set_new(f, "swaptotal_mb", json_integer(atoll(field(kv, "swaptotal")) / 1024));
	json_object_set_new(f, "processor_vcpus", json_integer(atoll(field(kv, "vcpus"))));
	json_object_set_new(f, "processor_nproc", json_integer(atoll(field(kv, "vcpus"))));
	json_object_set_new(f, "uptime_seconds", json_integer(atoll(field(kv, "uptime"))));
	set_str(f, "user_id", field(kv, "user_id"));
	json_object_set_new(f, "user_uid", json_integer(atoll(field(kv, "user_uid"))));
	json_object_set_new(f, "user_gid", json_integer(atoll(field(kv, "user_gid"))));
	set_str(f, "user_dir", field(kv, "user_dir"));
	set_str(f, "user_shell", field(kv, "user_shell"));
	date_time(f, field(kv, "date"), field(kv, "udate"));
	json_object_set(f, "env", json_object_get(kv, "@env"));
	return f;
}

/* filter: shell-style patterns over fact names, with or without ansible_ */
static void apply_filter(json_t *f, const json_t *filter)
{
	const char *k;
	json_t *v;
	void *tmp;
	if (!json_array_size(filter))
		return;
	json_object_foreach_safe (f, tmp, k, v) {
		char full[256];
		int keep = 0;
		size_t i;
		json_t *pat;
		snprintf(full, sizeof(full), "ansible_%s", k);
		json_array_foreach (filter, i, pat) {
			const char *p = json_string_value(pat);
			if (p && (!fnmatch(p, k, 0) || !fnmatch(p, full, 0)))
				keep = 1;
		}
		if (!keep)
			json_object_del(f, k);
	}
}

static int setup_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	struct conn_result r = {0};
	int ret = mod_sh(ctx, facts_sh, &r, e);
	if (ret < 0)
		goto out;
	if (r.rc != 0) {
		mod_fail(result, "gathering facts failed (rc=%d): %s", r.rc, buf_str(&r.err));
		goto out;
	}
	json_t *kv = parse(buf_str(&r.out));
	json_t *f = facts_from(kv);
	json_decref(kv);
	apply_filter(f, json_object_get(args, "filter"));
	json_object_set_new(f, "gather_subset", json_pack("[s]", "all"));
	json_object_set_new(f, "module_setup", json_true());
	json_object_set_new(result, "ansible_facts", f);
	mod_set_changed(result, 0);
out:
	conn_result_release(&r);
	return ret;
}

static const struct module_arg setup_args[] = {
    {"gather_subset", ARG_LIST, 0, "[\"all\"]", NULL, 0, NULL,
     "Accepted; drover always gathers its one set of facts."},
    {"gather_timeout", ARG_INT, 0, "10", NULL, 0, NULL, "Accepted for compatibility."},
    {"filter", ARG_LIST, 0, "[]", NULL, 0, NULL,
     "Only return facts whose names match these shell-style patterns."},
    {"fact_path", ARG_PATH, 0, "\"/etc/ansible/facts.d\"", NULL, 0, NULL,
     "Accepted; local facts are not read."},
    {NULL},
};

static const char *const setup_aliases[] = {"ansible.builtin.setup", "ansible.legacy.setup",
                                            "ansible.builtin.gather_facts", NULL};

const struct module_def module_setup = {
    "setup",
    setup_aliases,
    MOD_CHECK_MODE,
    setup_args,
    "Gather facts about the host",
    "Reads hostname, fqdn, distribution (+ version, major version, release), os_family, "
    "architecture, kernel, service_mgr, pkg_mgr, default_ipv4, all_ipv4_addresses, "
    "memory, vCPUs, the user, date_time and env in one shell round trip, with no Python "
    "on the host. Returned under ansible_facts with Ansible's names.",
    setup_run,
};
