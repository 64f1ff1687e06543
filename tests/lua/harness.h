/*
 * harness.h - the executor's side of Lua hooks, played by test_lua.c and
 * test_lua_modules.c: a struct lua_env over a vars object and real local
 * connections, recording drover.log lines and the commands drover.exec ran.
 * Only included by those tests; everything is static.
 */
#ifndef DROVER_TEST_LUA_HARNESS_H
#define DROVER_TEST_LUA_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "conn/conn.h"
#include "lua/hooks.h"
#include "lua/lmodule.h"
#include "modules/module.h"
#include "template/tmpl.h"
#include "util/buf.h"
#include "util/mem.h"

/* ---- the executor's side, played by the test ---- */

struct test_env {
	struct buf log;         /* "level|msg\n" per drover.log line */
	json_t *vars;           /* host -> vars; "" -> global vars */
	struct conn_pool *pool; /* local connections: exec really runs */
	struct buf cmds;        /* every command exec ran, one a line */
};

static __attribute__((unused)) json_t *env_vars(void *ud, const char *host, struct err *e)
{
	struct test_env *t = ud;
	json_t *v = json_object_get(t->vars, host ? host : "");
	if (!v) {
		err_set(e, ERR_GENERIC, NULL, 0, 0, "no host '%s' in the inventory", host);
		return NULL;
	}
	return json_incref(v);
}

static __attribute__((unused)) json_t *env_render(void *ud, const char *text, const char *host,
                                                  struct err *e)
{
	struct test_env *t = ud;
	struct tmpl_ctx c = {0};
	c.vars = json_object_get(t->vars, host ? host : "");
	if (!c.vars) {
		err_set(e, ERR_GENERIC, NULL, 0, 0, "no host '%s'", host);
		return NULL;
	}
	return tmpl_render(text, &c, e);
}

static __attribute__((unused)) int env_exec(void *ud, const char *host, const char *cmd,
                                            int timeout, struct conn_result *r, struct err *e)
{
	struct test_env *t = ud;
	struct conn_exec_opts o = {0};
	json_t *cv = json_pack("{s:s}", "ansible_connection", "local");
	struct conn *c;
	int ret;
	if (!json_object_get(t->vars, host)) {
		json_decref(cv);
		return err_set(e, ERR_UNREACH, NULL, 0, 0, "host %s is not in the inventory", host);
	}
	c = conn_pool_get(t->pool, host, cv, NULL, NULL, e);
	json_decref(cv);
	if (!c)
		return e->code;
	buf_addf(&t->cmds, "%s: %s\n", host, cmd);
	o.timeout = timeout;
	ret = conn_exec(c, cmd, &o, r, e);
	return ret;
}

static __attribute__((unused)) void env_log(void *ud, enum lua_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	struct test_env *t = ud;
	buf_addf(&t->log, "%s|%s\n", names[level], msg);
}

static __attribute__((unused)) struct test_env *env_new(void)
{
	struct test_env *t = xcalloc(1, sizeof(*t));
	struct conn_defaults d = {0};
	d.timeout = 10;
	t->vars = json_object();
	json_object_set_new(t->vars, "", json_object());
	t->pool = conn_pool_new(&d);
	return t;
}

static __attribute__((unused)) void env_free(struct test_env *t)
{
	buf_release(&t->log);
	buf_release(&t->cmds);
	json_decref(t->vars);
	conn_pool_free(t->pool);
	free(t);
}

static __attribute__((unused)) struct lua_hooks *hooks_with(struct test_env *t, const char *path,
                                                            const struct lua_limits *lim)
{
	struct err e;
	struct lua_env env = {t, env_vars, env_render, env_exec, env_log};
	struct lua_hooks *h;
	char msg[4096];
	err_init(&e);
	h = lua_hooks_new(&e);
	assert_non_null(h);
	lua_hooks_set_env(h, &env);
	if (lim)
		lua_hooks_set_limits(h, lim);
	if (path && lua_hooks_load(h, path, &e) < 0)
		fail_msg("loading %s: %s", path, err_format(&e, msg, sizeof(msg)));
	return h;
}

/* A hook file with text in a temp dir; returns its malloc'd path. */
static __attribute__((unused)) char *write_tmp(const char *name, const char *text)
{
	char dir[] = "/tmp/drover-lua-XXXXXX";
	char *path;
	FILE *f;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static __attribute__((unused)) void rm_tmp(char *path)
{
	char *slash = strrchr(path, '/');
	unlink(path);
	*slash = 0;
	rmdir(path);
	free(path);
}

/* Fire one event with ev given as JSON text; returns lua_hooks_fire's value. */
static __attribute__((unused)) int fire(struct lua_hooks *h, const char *event, const char *ev_json,
                                        char **veto)
{
	struct err e;
	json_error_t je;
	json_t *ev = ev_json ? json_loads(ev_json, 0, &je) : NULL;
	int ret;
	char msg[4096];
	if (ev_json && !ev)
		fail_msg("bad test JSON: %s", je.text);
	err_init(&e);
	ret = lua_hooks_fire(h, event, ev, veto, &e);
	if (ret < 0)
		fail_msg("fire %s: %s", event, err_format(&e, msg, sizeof(msg)));
	json_decref(ev);
	return ret;
}

/* ---- running a snippet as a hook ---- */

/* Run body as a run_start hook; returns the veto message (malloc'd) or NULL. */
static __attribute__((unused)) char *run_body(const char *body, const struct lua_limits *lim,
                                              struct test_env *t)
{
	char *text = xasprintf("return { run_start = function(ev)\n%s\nend }\n", body);
	char *path = write_tmp("sb.lua", text);
	struct lua_hooks *h = hooks_with(t, path, lim);
	char *veto = NULL;
	fire(h, "run_start", "{}", &veto);
	lua_hooks_free(h);
	rm_tmp(path);
	free(text);
	return veto;
}

static __attribute__((unused)) void expect_veto(const char *body, const char *want,
                                                const struct lua_limits *lim)
{
	struct test_env *t = env_new();
	char *veto = run_body(body, lim, t);
	if (!veto)
		fail_msg("'%s' was allowed; want a veto with '%s'", body, want);
	if (!strstr(veto, want))
		fail_msg("'%s': got '%s', want '%s'", body, veto, want);
	free(veto);
	env_free(t);
}

static __attribute__((unused)) void expect_ok(const char *body)
{
	struct test_env *t = env_new();
	char *veto = run_body(body, NULL, t);
	if (veto)
		fail_msg("'%s' vetoed: %s", body, veto);
	env_free(t);
}

#endif
