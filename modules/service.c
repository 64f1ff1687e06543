/*
 * service.c - service and systemd: start, stop, restart, reload, enable.
 *
 * One round trip reads the unit's state (systemctl show + is-enabled, or
 * the SysV script's status), one more acts only when something must
 * change. service picks systemd when the host runs it, else SysV init
 * scripts (service / update-rc.d / chkconfig).
 */
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

static const char *const states[] = {"reloaded", "restarted", "started", "stopped", NULL};

static void add_cmd(struct buf *b, const char *verb, const char *name)
{
	buf_addf(b, "systemctl %s ", verb);
	buf_add_shquote(b, name);
	buf_adds(b, " || exit $?\n");
}

/* KEY=VALUE lines of systemctl show into a dict. */
static json_t *parse_show(const char *out)
{
	json_t *d = json_object();
	for (const char *p = out; *p;) {
		size_t n = strcspn(p, "\n");
		const char *eq = memchr(p, '=', n);
		if (eq && strncmp(p, "@", 1)) {
			char *k = xstrndup(p, (size_t)(eq - p));
			json_object_set_new(d, k, json_stringn(eq + 1, n - (size_t)(eq - p) - 1));
			free(k);
		}
		p += n + (p[n] ? 1 : 0);
	}
	return d;
}

static const char *line_after(const char *out, const char *tag)
{
	const char *p = strstr(out, tag);
	return p ? p + strlen(tag) : "";
}

static int is_active(const char *a)
{
	return !strncmp(a, "active", 6) || !strncmp(a, "activating", 10) ||
	       !strncmp(a, "reloading", 9);
}

/* The actions systemd needs; *changed set. */
static void plan_systemd(const json_t *args, const char *name, const char *active,
                         const char *enabled, struct buf *cmd, int *changed)
{
	const char *state = mod_str(args, "state");
	const json_t *en = json_object_get(args, "enabled"), *mk = json_object_get(args, "masked");
	int masked = !strncmp(enabled, "masked", 6);
	if (mk && json_is_true(mk) != masked) {
		add_cmd(cmd, json_is_true(mk) ? "mask" : "unmask", name);
		*changed = 1;
	}
	if (en && !json_is_null(en)) {
		int is_en = !strncmp(enabled, "enabled", 7) || !strncmp(enabled, "alias", 5);
		if (json_is_true(en) != is_en && strncmp(enabled, "static", 6)) {
			add_cmd(cmd, json_is_true(en) ? "enable" : "disable", name);
			*changed = 1;
		}
	}
	if (!state)
		return;
	int act = is_active(active);
	if (!strcmp(state, "started") && !act)
		add_cmd(cmd, "start", name), *changed = 1;
	else if (!strcmp(state, "stopped") && act)
		add_cmd(cmd, "stop", name), *changed = 1;
	else if (!strcmp(state, "restarted"))
		add_cmd(cmd, "restart", name), *changed = 1;
	else if (!strcmp(state, "reloaded"))
		add_cmd(cmd, act ? "reload" : "start", name), *changed = 1;
}

static void result_state(json_t *result, const json_t *args, const char *name, int active,
                         int enabled)
{
	const char *state = mod_str(args, "state");
	json_object_set_new(result, "name", json_string(name));
	if (state)
		json_object_set_new(result, "state",
		                    json_string(!strcmp(state, "stopped") ? "stopped" : "started"));
	else
		json_object_set_new(result, "state", json_string(active ? "started" : "stopped"));
	if (json_object_get(args, "enabled") && !json_is_null(json_object_get(args, "enabled")))
		json_object_set_new(result, "enabled", json_boolean(enabled));
}

static int run_systemd(struct task_ctx *ctx, const json_t *args, const char *name, json_t *result,
                       struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	json_t *status = NULL;
	int changed = 0, ret;
	if (mod_bool(args, "daemon_reload") && !ctx->check)
		buf_adds(&cmd, "systemctl daemon-reload || exit $?\n");
	buf_adds(&cmd, "systemctl show --no-pager ");
	buf_add_shquote(&cmd, name);
	buf_adds(&cmd, " --property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID,"
	               "Description,FragmentPath || exit $?\nprintf '@enabled='; systemctl "
	               "is-enabled ");
	buf_add_shquote(&cmd, name);
	buf_adds(&cmd, " 2>/dev/null || true\n");
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	/* daemon-reload alone is not a change, as in Ansible: a task that
	 * reloads and finds the unit started and enabled stays ok. */
	if (r.rc != 0) {
		mod_fail(result, "systemctl failed for %s: %s", name, buf_str(&r.err));
		goto out;
	}
	status = parse_show(buf_str(&r.out));
	const char *load = json_string_value(json_object_get(status, "LoadState"));
	const char *active = json_string_value(json_object_get(status, "ActiveState"));
	char enabled[64];
	snprintf(enabled, sizeof(enabled), "%.*s",
	         (int)strcspn(line_after(buf_str(&r.out), "@enabled="), "\n"),
	         line_after(buf_str(&r.out), "@enabled="));
	if (load && !strcmp(load, "not-found") &&
	    (mod_str(args, "state") || json_is_boolean(json_object_get(args, "enabled")))) {
		mod_fail(result, "Could not find the requested service %s: host", name);
		goto out;
	}
	buf_reset(&cmd);
	plan_systemd(args, name, active ? active : "", enabled, &cmd, &changed);
	if (cmd.len && !ctx->check) {
		int rc = mod_sh_checked(ctx, buf_str(&cmd), result, e);
		if (rc != 0) {
			ret = rc < 0 ? rc : 0;
			goto out;
		}
	}
	const json_t *en = json_object_get(args, "enabled");
	result_state(result, args, name,
	             mod_str(args, "state") ? strcmp(mod_str(args, "state"), "stopped") != 0
	                                    : is_active(active ? active : ""),
	             en && !json_is_null(en) ? json_is_true(en) : !strncmp(enabled, "enabled", 7));
	json_object_set(result, "status", status);
	mod_set_changed(result, changed);
out:
	json_decref(status);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

/* SysV: the init script's status decides; update-rc.d or chkconfig enables. */
static int run_sysv(struct task_ctx *ctx, const json_t *args, const char *name, json_t *result,
                    struct err *e)
{
	struct buf cmd = BUF_INIT, q = BUF_INIT;
	struct conn_result r = {0};
	const char *state = mod_str(args, "state");
	const json_t *en = json_object_get(args, "enabled");
	int changed = 0, ret;
	buf_add_shquote(&q, name);
	buf_addf(&cmd,
	         "s=%s; if [ -x /etc/init.d/$s ]; then /etc/init.d/$s status >/dev/null 2>&1;"
	         " echo \"@rc=$?\"; else echo '@missing'; fi;"
	         " if ls /etc/rc[2345].d/S??$s >/dev/null 2>&1; then echo '@enabled=yes'; fi\n",
	         buf_str(&q));
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	if (strstr(buf_str(&r.out), "@missing")) {
		mod_fail(result, "Could not find the requested service %s: host", name);
		goto out;
	}
	int running = strstr(buf_str(&r.out), "@rc=0") != NULL;
	int enabled = strstr(buf_str(&r.out), "@enabled=yes") != NULL;
	buf_reset(&cmd);
	const char *verb = NULL;
	if (state && !strcmp(state, "started") && !running)
		verb = "start";
	else if (state && !strcmp(state, "stopped") && running)
		verb = "stop";
	else if (state && (!strcmp(state, "restarted") || !strcmp(state, "reloaded")))
		verb = running && !strcmp(state, "reloaded") ? "reload" : "restart";
	if (verb) {
		buf_addf(&cmd, "/etc/init.d/%s %s || exit $?\n", buf_str(&q), verb);
		changed = 1;
	}
	if (en && !json_is_null(en) && json_is_true(en) != enabled) {
		buf_addf(&cmd,
		         "if command -v update-rc.d >/dev/null; then update-rc.d %s %s; "
		         "else chkconfig %s %s; fi || exit $?\n",
		         buf_str(&q), json_is_true(en) ? "defaults" : "remove", buf_str(&q),
		         json_is_true(en) ? "on" : "off");
		changed = 1;
	}
	if (cmd.len && !ctx->check && (ret = mod_sh_checked(ctx, buf_str(&cmd), result, e)) != 0) {
		ret = ret < 0 ? ret : 0;
		goto out;
	}
	result_state(result, args, name, state ? strcmp(state, "stopped") != 0 : running,
	             en && !json_is_null(en) ? json_is_true(en) : enabled);
	mod_set_changed(result, changed);
out:
	conn_result_release(&r);
	buf_release(&cmd);
	buf_release(&q);
	return ret;
}

static int systemd_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *name = mod_str(args, "name");
	if (!name) {
		if (mod_bool(args, "daemon_reload") || mod_bool(args, "daemon_reexec")) {
			struct buf cmd = BUF_INIT;
			if (mod_bool(args, "daemon_reload"))
				buf_adds(&cmd, "systemctl daemon-reload || exit $?\n");
			if (mod_bool(args, "daemon_reexec"))
				buf_adds(&cmd, "systemctl daemon-reexec || exit $?\n");
			int ret = ctx->check ? 0 : mod_sh_checked(ctx, buf_str(&cmd), result, e);
			buf_release(&cmd);
			if (ret == 0)
				mod_set_changed(result, 0);
			return ret < 0 ? ret : 0;
		}
		mod_fail(result, "name is required unless daemon_reload or daemon_reexec is set");
		return 0;
	}
	return run_systemd(ctx, args, name, result, e);
}

static int service_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *name = mod_str(args, "name"), *use = mod_str(args, "use");
	struct conn_result r = {0};
	int ret;
	if (!mod_str(args, "state") && !json_is_boolean(json_object_get(args, "enabled"))) {
		mod_fail(result, "one of the following is required: state, enabled");
		return 0;
	}
	if (use && strcmp(use, "auto"))
		return !strcmp(use, "systemd") ? run_systemd(ctx, args, name, result, e)
		                               : run_sysv(ctx, args, name, result, e);
	if ((ret = mod_sh(ctx, "[ -d /run/systemd/system ] && echo systemd", &r, e)) < 0)
		return ret;
	int systemd = strstr(buf_str(&r.out), "systemd") != NULL;
	conn_result_release(&r);
	return systemd ? run_systemd(ctx, args, name, result, e)
	               : run_sysv(ctx, args, name, result, e);
}

static const char *const scopes[] = {"system", "user", "global", NULL};

static const struct module_arg systemd_args[] = {
    {"name", ARG_STR, 0, NULL, NULL, 0, "service,unit", "The unit, e.g. k3s or k3s.service."},
    {"state", ARG_STR, 0, NULL, states, 0, NULL,
     "started/stopped change only when needed; restarted/reloaded always act."},
    {"enabled", ARG_BOOL, 0, NULL, NULL, 0, NULL, "Start the unit at boot."},
    {"masked", ARG_BOOL, 0, NULL, NULL, 0, NULL, "Mask or unmask the unit."},
    {"daemon_reload", ARG_BOOL, 0, "false", NULL, 0, "daemon-reload",
     "Run systemctl daemon-reload first (after changing unit files)."},
    {"daemon_reexec", ARG_BOOL, 0, "false", NULL, 0, "daemon-reexec",
     "Run systemctl daemon-reexec."},
    {"force", ARG_BOOL, 0, NULL, NULL, 0, NULL, "Accepted for compatibility."},
    {"no_block", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted for compatibility."},
    {"scope", ARG_STR, 0, "\"system\"", scopes, 0, NULL, "Only system is supported."},
    {NULL},
};

static const char *const uses[] = {"auto", "systemd", "sysvinit", "service", NULL};

static const struct module_arg service_args[] = {
    {"name", ARG_STR, 1, NULL, NULL, 0, NULL, "The service."},
    {"state", ARG_STR, 0, NULL, states, 0, NULL,
     "started/stopped change only when needed; restarted/reloaded always act."},
    {"enabled", ARG_BOOL, 0, NULL, NULL, 0, NULL, "Start the service at boot."},
    {"use", ARG_STR, 0, "\"auto\"", uses, 0, NULL,
     "The service manager; auto picks systemd when the host runs it, else SysV."},
    {"arguments", ARG_STR, 0, NULL, NULL, 0, "args", "Accepted; not passed on."},
    {"pattern", ARG_STR, 0, NULL, NULL, 0, NULL, "Accepted; status comes from the script."},
    {"sleep", ARG_INT, 0, NULL, NULL, 0, NULL, "Accepted for compatibility."},
    {"runlevel", ARG_STR, 0, "\"default\"", NULL, 0, NULL, "Accepted for compatibility."},
    {NULL},
};

static const char *const systemd_aliases[] = {"ansible.builtin.systemd",
                                              "ansible.builtin.systemd_service",
                                              "ansible.legacy.systemd", "systemd_service", NULL};
static const char *const service_aliases[] = {"ansible.builtin.service", "ansible.legacy.service",
                                              NULL};

const struct module_def module_systemd = {
    "systemd",
    systemd_aliases,
    MOD_CHECK_MODE,
    systemd_args,
    "Manage systemd units",
    "Starts, stops, restarts or reloads a unit, enables, disables or masks it, and runs "
    "daemon-reload, acting only when the unit's state (systemctl show) says it must. "
    "Returns the unit's status properties.",
    systemd_run,
};

const struct module_def module_service = {
    "service",
    service_aliases,
    MOD_CHECK_MODE,
    service_args,
    "Manage services (systemd or SysV init)",
    "Starts, stops, restarts, reloads and enables a service through systemd when the "
    "host runs it, else through /etc/init.d scripts and update-rc.d or chkconfig.",
    service_run,
};
