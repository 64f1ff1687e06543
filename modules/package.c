/*
 * package.c - apt and package: install, remove and upgrade packages.
 *
 * apt reads what dpkg has and how old the package lists are in one round
 * trip, then runs apt-get only when something must change (apt-get -s in
 * check mode tells what would). package picks the host's manager (apt, dnf,
 * yum, apk) and does the same with its tools.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modules/common.h"
#include "util/mem.h"

static const char *const apt_states[] = {"absent", "build-dep", "latest", "present", "fixed", NULL};
static const char *const upgrades[] = {"no", "yes", "safe", "full", "dist", NULL};
static const char *const pkg_states[] = {"absent",  "installed", "latest",
                                         "present", "removed",   NULL};

#define APT_ENV                                                                                    \
	"DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o "      \
	"Dpkg::Options::=--force-confold "

/* "pkg=1.2" -> name and version; the name is what dpkg-query knows. */
static char *pkg_name(const char *spec)
{
	return xstrndup(spec, strcspn(spec, "=<>"));
}

/* Installed packages, with "install ok installed" status, by name. */
static json_t *installed_set(const char *out)
{
	json_t *set = json_object();
	for (const char *p = out; *p;) {
		size_t n = strcspn(p, "\n");
		char name[256], ver[256];
		char *line = xstrndup(p, n);
		if (sscanf(line, "@pkg %255s install ok installed %255s", name, ver) == 2)
			json_object_set_new(set, name, json_string(ver));
		free(line);
		p += n + (p[n] ? 1 : 0);
	}
	return set;
}

static void query(struct buf *cmd, const json_t *names)
{
	size_t i;
	json_t *v;
	buf_adds(cmd, "dpkg-query -W -f='@pkg ${Package} ${Status} ${Version}\\n'");
	json_array_foreach (names, i, v) {
		char *n = pkg_name(json_string_value(v));
		buf_addc(cmd, ' ');
		buf_add_shquote(cmd, n);
		free(n);
	}
	buf_adds(cmd, " 2>/dev/null; for f in /var/lib/apt/periodic/update-success-stamp "
	              "/var/lib/apt/lists; do [ -e $f ] && { echo \"@cache $(stat -c %Y $f)\"; "
	              "break; }; done; true\n");
}

/* The names that need apt-get for state; NULL when none do. */
static void todo(const json_t *names, const json_t *have, const char *state, struct buf *out)
{
	size_t i;
	json_t *v;
	json_array_foreach (names, i, v) {
		const char *spec = json_string_value(v);
		char *n = pkg_name(spec);
		const char *ver = json_string_value(json_object_get(have, n));
		const char *want = strchr(spec, '=') ? strchr(spec, '=') + 1 : NULL;
		int need = !strcmp(state, "absent") ? ver != NULL
		           : !strcmp(state, "latest")
		               ? 1
		               : !ver || (want && strcmp(want, ver) && !str_endswith(want, "*"));
		if (need) {
			buf_addc(out, ' ');
			buf_add_shquote(out, spec);
		}
		free(n);
	}
}

static int apt_update(struct task_ctx *ctx, const json_t *args, long long cache_time, int *updated,
                      json_t *result, struct err *e)
{
	long long valid = mod_int(args, "cache_valid_time");
	*updated = 0;
	if (!mod_bool(args, "update_cache"))
		return 0;
	if (valid > 0 && cache_time > 0 && (long long)time(NULL) - cache_time < valid)
		return 0;
	*updated = 1;
	if (ctx->check)
		return 0;
	int ret = mod_sh_checked(ctx, "apt-get update -q", result, e);
	if (ret == 1)
		json_object_set_new(
		    result, "msg",
		    json_sprintf("Failed to update apt cache: %s",
		                 json_string_value(json_object_get(result, "msg"))));
	return ret;
}

/* apt-get's summary line says it had nothing to do. */
static int apt_idle(const char *out)
{
	static const char idle[] = "0 upgraded, 0 newly installed, 0 to remove";
	for (const char *p = out; (p = strstr(p, idle)); p++)
		if (p == out || p[-1] == '\n')
			return 1;
	return 0;
}

static int apt_apply(struct task_ctx *ctx, const json_t *args, const char *state, const char *pkgs,
                     json_t *result, struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	int ret;
	buf_adds(&cmd, APT_ENV);
	if (ctx->check)
		buf_adds(&cmd, "-s ");
	if (!strcmp(state, "absent"))
		buf_addf(&cmd, "%s%s", mod_bool(args, "purge") ? "purge" : "remove",
		         mod_bool(args, "autoremove") ? " --auto-remove" : "");
	else if (!strcmp(state, "build-dep"))
		buf_adds(&cmd, "build-dep");
	else
		buf_addf(&cmd, "install%s",
		         json_is_false(json_object_get(args, "install_recommends"))
		             ? " --no-install-recommends"
		             : "");
	buf_adds(&cmd, pkgs);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	mod_result_cmd(result, &r);
	json_object_del(result, "rc");
	/* latest may find everything current: apt says so with nothing to do */
	int changed = r.rc == 0 && !apt_idle(buf_str(&r.out));
	mod_set_changed(result, changed);
	if (r.rc != 0)
		mod_fail(result, "'%s' failed: %s", buf_str(&cmd), buf_str(&r.err));
out:
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

/* upgrade (safe/full/dist/yes) and autoremove without package names. */
static int apt_upgrade(struct task_ctx *ctx, const json_t *args, int updated, json_t *result,
                       struct err *e)
{
	const char *up = mod_str(args, "upgrade");
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	int ret = 0;
	if (up && strcmp(up, "no"))
		buf_addf(&cmd, APT_ENV "%s%s", ctx->check ? "-s " : "",
		         !strcmp(up, "dist") || !strcmp(up, "full") ? "dist-upgrade" : "upgrade");
	else if (mod_bool(args, "autoremove"))
		buf_addf(&cmd, APT_ENV "%sautoremove%s", ctx->check ? "-s " : "",
		         mod_bool(args, "purge") ? " --purge" : "");
	else
		return 0;
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) == 0) {
		mod_result_cmd(result, &r);
		json_object_del(result, "rc");
		int idle = apt_idle(buf_str(&r.out));
		mod_set_changed(result, updated || (r.rc == 0 && !idle));
		if (r.rc != 0)
			mod_fail(result, "'%s' failed: %s", buf_str(&cmd), buf_str(&r.err));
	}
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static int apt_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const json_t *names = json_object_get(args, "name");
	const char *state = mod_str(args, "state");
	struct buf cmd = BUF_INIT, pkgs = BUF_INIT;
	struct conn_result r = {0};
	json_t *have = NULL;
	int ret, updated;
	if (!strcmp(state, "installed"))
		state = "present";
	else if (!strcmp(state, "removed"))
		state = "absent";
	query(&cmd, names);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	have = installed_set(buf_str(&r.out));
	const char *c = strstr(buf_str(&r.out), "@cache ");
	long long cache_time = c ? atoll(c + 7) : 0;
	if ((ret = apt_update(ctx, args, cache_time, &updated, result, e)) != 0)
		goto out;
	json_object_set_new(result, "cache_updated", json_boolean(updated));
	json_object_set_new(result, "cache_update_time",
	                    json_integer(updated ? (long long)time(NULL) : cache_time));
	mod_set_changed(result, updated);
	if (!json_array_size(names)) {
		ret = apt_upgrade(ctx, args, updated, result, e);
		goto out;
	}
	mod_set_changed(result, 0);
	todo(names, have, state, &pkgs);
	if (!pkgs.len)
		goto out;
	ret = apt_apply(ctx, args, state, buf_str(&pkgs), result, e);
out:
	if (ret > 0)
		ret = 0;
	json_decref(have);
	conn_result_release(&r);
	buf_release(&cmd);
	buf_release(&pkgs);
	return ret;
}

/* dnf, yum, apk: is-installed per name, then one install/remove. */
static int other_run(struct task_ctx *ctx, const json_t *args, const char *mgr, json_t *result,
                     struct err *e)
{
	const json_t *names = json_object_get(args, "name");
	const char *state = mod_str(args, "state");
	int absent = !strcmp(state, "absent") || !strcmp(state, "removed");
	int apk = !strcmp(mgr, "apk");
	struct buf cmd = BUF_INIT;
	size_t i;
	json_t *v;
	buf_adds(&cmd, "need=''\n");
	json_array_foreach (names, i, v) {
		buf_adds(&cmd, "p=");
		buf_add_shquote(&cmd, json_string_value(v));
		buf_addf(&cmd, "; if %s \"$p\" >/dev/null 2>&1; then %s; else %s; fi\n",
		         apk ? "apk info -e" : "rpm -q",
		         absent || !strcmp(state, "latest") ? "need=\"$need $p\"" : ":",
		         absent ? ":" : "need=\"$need $p\"");
	}
	buf_addf(&cmd, "[ -z \"$need\" ] && { echo '@nothing'; exit 0; }\n%s",
	         ctx->check ? "echo \"@would $need\"; exit 0\n" : "");
	if (apk)
		buf_addf(&cmd, "apk %s $need",
		         absent                     ? "del"
		         : !strcmp(state, "latest") ? "add -u"
		                                    : "add");
	else
		buf_addf(&cmd, "%s -y %s $need", mgr,
		         absent                     ? "remove"
		         : !strcmp(state, "latest") ? "upgrade"
		                                    : "install");
	struct conn_result r = {0};
	int ret = mod_sh(ctx, buf_str(&cmd), &r, e);
	if (ret == 0) {
		int nothing = strstr(buf_str(&r.out), "@nothing") != NULL;
		mod_result_cmd(result, &r);
		mod_set_changed(result, !nothing && r.rc == 0);
		if (r.rc != 0)
			mod_fail(result, "%s failed: %s", mgr, buf_str(&r.err));
	}
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static int package_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *use = mod_str(args, "use");
	struct conn_result r = {0};
	char mgr[32] = "";
	int ret;
	if (use && strcmp(use, "auto")) {
		snprintf(mgr, sizeof(mgr), "%s", use);
	} else {
		ret = mod_sh(ctx,
		             "for m in apt-get dnf yum apk; do command -v $m >/dev/null 2>&1 && "
		             "{ echo $m; break; }; done",
		             &r, e);
		if (ret < 0)
			return ret;
		snprintf(mgr, sizeof(mgr), "%.*s", (int)strcspn(buf_str(&r.out), "\n"),
		         buf_str(&r.out));
		conn_result_release(&r);
	}
	if (!strcmp(mgr, "apt-get") || !strcmp(mgr, "apt"))
		return apt_run(ctx, args, result, e);
	if (!strcmp(mgr, "dnf") || !strcmp(mgr, "yum") || !strcmp(mgr, "apk"))
		return other_run(ctx, args, mgr, result, e);
	mod_fail(result,
	         "Could not find a package manager drover knows (apt, dnf, yum, apk) on "
	         "%s",
	         ctx->host ? ctx->host : "the host");
	return 0;
}

static const struct module_arg apt_args[] = {
    {"name", ARG_LIST, 0, NULL, NULL, 0, "package,pkg",
     "Packages, as a list or comma-separated; pkg=1.2 pins a version."},
    {"state", ARG_STR, 0, "\"present\"", apt_states, 0, NULL,
     "present, absent, latest, build-dep or fixed."},
    {"update_cache", ARG_BOOL, 0, "false", NULL, 0, "update-cache", "Run apt-get update first."},
    {"cache_valid_time", ARG_INT, 0, "0", NULL, 0, NULL,
     "Skip the update when the lists are younger than this many seconds."},
    {"purge", ARG_BOOL, 0, "false", NULL, 0, NULL, "With absent, purge configuration too."},
    {"autoremove", ARG_BOOL, 0, "false", NULL, 0, NULL, "Remove unused dependencies."},
    {"upgrade", ARG_STR, 0, "\"no\"", upgrades, 0, NULL,
     "yes/safe: apt-get upgrade; dist/full: apt-get dist-upgrade (without names)."},
    {"install_recommends", ARG_BOOL, 0, NULL, NULL, 0, "install-recommends",
     "false adds --no-install-recommends."},
    {"force", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted for compatibility."},
    {"default_release", ARG_STR, 0, NULL, NULL, 0, "default-release", "Accepted; not applied."},
    {"dpkg_options", ARG_STR, 0, "\"force-confdef,force-confold\"", NULL, 0, NULL,
     "Accepted; drover always passes force-confdef,force-confold."},
    {"lock_timeout", ARG_INT, 0, "60", NULL, 0, NULL, "Accepted for compatibility."},
    {NULL},
};

static const char *const uses[] = {"auto", "apt", "dnf", "yum", "apk", NULL};

static const struct module_arg package_args[] = {
    {"name", ARG_LIST, 1, NULL, NULL, 0, NULL, "Packages, as a list or comma-separated."},
    {"state", ARG_STR, 1, NULL, pkg_states, 0, NULL, "present, absent or latest."},
    {"use", ARG_STR, 0, "\"auto\"", uses, 0, NULL, "The package manager; auto detects it."},
    {NULL},
};

static const char *const apt_aliases[] = {"ansible.builtin.apt", "ansible.legacy.apt", NULL};
static const char *const package_aliases[] = {"ansible.builtin.package", "ansible.legacy.package",
                                              NULL};

const struct module_def module_apt = {
    "apt",
    apt_aliases,
    MOD_CHECK_MODE,
    apt_args,
    "Manage packages with apt",
    "Installs, removes or upgrades Debian packages with apt-get, after apt-get update "
    "when update_cache is set and the lists are older than cache_valid_time. dpkg is "
    "asked first, so nothing runs when everything is already as wanted.",
    apt_run,
};

const struct module_def module_package = {
    "package",
    package_aliases,
    MOD_CHECK_MODE,
    package_args,
    "Manage packages with the host's package manager",
    "Detects apt, dnf, yum or apk on the host and installs, removes or upgrades the "
    "named packages with it.",
    package_run,
};
