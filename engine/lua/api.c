/*
 * api.c - the drover table: what a hook or Lua module may ask of the run.
 *
 * Hooks reach the run through the executor's struct lua_env; Lua modules
 * through their struct task_ctx (their own host's vars and connection, and
 * conn_for for others). Every blocking call (exec, http, sleep) is bounded
 * by what is left of the current call's time limit.
 */
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lua/sandbox.h"
#include "modules/module.h"
#include "util/log.h"
#include "util/mem.h"

static const char *const level_names[] = {"error", "warn", "info", "debug", NULL};

static void api_log(struct sandbox *sb, enum lua_log_level level, const char *msg)
{
	if (sb->env && sb->env->log) {
		sb->env->log(sb->env->ud, level, msg);
		return;
	}
	switch (level) {
	case LUA_LOG_ERROR:
		log_error("%s: %s", sb->label, msg);
		break;
	case LUA_LOG_WARN:
		log_warn("%s: %s", sb->label, msg);
		break;
	case LUA_LOG_INFO:
		log_verbose(0, "%s", msg);
		break;
	default:
		log_verbose(1, "%s", msg);
		break;
	}
}

/* drover.log(level, msg) or drover.log(msg) at info. */
static int l_log(lua_State *L)
{
	struct sandbox *sb = sandbox_of(L);
	int level = LUA_LOG_INFO;
	if (lua_gettop(L) >= 2)
		level = luaL_checkoption(L, 1, NULL, level_names);
	api_log(sb, (enum lua_log_level)level, luaL_tolstring(L, lua_gettop(L) >= 2 ? 2 : 1, NULL));
	return 0;
}

static int raise_err(lua_State *L, const char *fn, struct err *e)
{
	char msg[2600];
	err_format(e, msg, sizeof(msg));
	return luaL_error(L, "%s: %s", fn, msg);
}

static int unavailable(lua_State *L, const char *fn)
{
	return luaL_error(L, "%s is not available here", fn);
}

/* A module's view of a host's vars: its own, or hostvars[host]. */
static json_t *task_vars(struct task_ctx *t, const char *host)
{
	const json_t *hv;
	if (!host || !strcmp(host, t->host))
		return json_incref((json_t *)t->vars);
	hv = json_object_get(json_object_get(t->vars, "hostvars"), host);
	return hv ? json_incref((json_t *)hv) : NULL;
}

static int l_vars(lua_State *L)
{
	struct sandbox *sb = sandbox_of(L);
	const char *host = luaL_optstring(L, 1, NULL);
	struct err e;
	json_t *v;
	err_init(&e);
	if (sb->task) {
		v = task_vars(sb->task, host);
		if (!v)
			return luaL_error(L, "drover.vars: no host '%s' in this run", host);
	} else if (sb->env && sb->env->vars) {
		if (!(v = sb->env->vars(sb->env->ud, host, &e)))
			return raise_err(L, "drover.vars", &e);
	} else {
		return unavailable(L, "drover.vars");
	}
	lua_json_push_readonly(L, v);
	json_decref(v);
	return 1;
}

static int l_template(lua_State *L)
{
	struct sandbox *sb = sandbox_of(L);
	const char *text = luaL_checkstring(L, 1);
	const char *host = luaL_optstring(L, 2, NULL);
	struct err e;
	json_t *v = NULL;
	err_init(&e);
	if (sb->task) {
		struct tmpl_ctx tc = sb->task->tmpl;
		json_t *vars = task_vars(sb->task, host);
		if (!vars)
			return luaL_error(L, "drover.template: no host '%s' in this run", host);
		tc.vars = vars;
		v = tmpl_render(text, &tc, &e);
		json_decref(vars);
	} else if (sb->env && sb->env->render) {
		v = sb->env->render(sb->env->ud, text, host, &e);
	} else {
		return unavailable(L, "drover.template");
	}
	if (!v)
		return raise_err(L, "drover.template", &e);
	lua_json_push(L, v);
	json_decref(v);
	return 1;
}

static int timeout_left(struct sandbox *sb)
{
	double left = sandbox_remaining(sb);
	return left < 1 ? 1 : (int)ceil(left);
}

static void push_result(lua_State *L, struct conn_result *r)
{
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, r->rc);
	lua_setfield(L, -2, "rc");
	lua_pushlstring(L, r->out.s ? r->out.s : "", r->out.len);
	lua_setfield(L, -2, "stdout");
	lua_pushlstring(L, r->err.s ? r->err.s : "", r->err.len);
	lua_setfield(L, -2, "stderr");
}

/* Runs cmd for a module: on its own connection when conn is NULL. */
static int task_exec(struct sandbox *sb, const char *host, const char *cmd, struct conn_result *r,
                     struct err *e)
{
	struct task_ctx *t = sb->task;
	struct conn_exec_opts o = t->exec;
	struct conn *c = t->conn;
	if (host && strcmp(host, t->host)) {
		if (!t->conn_for)
			return err_set(e, ERR_GENERIC, NULL, 0, 0, "cannot reach other hosts here");
		if (!(c = t->conn_for(t, host, e)))
			return e->code ? e->code : ERR_UNREACH;
	}
	if (!c)
		return err_set(e, ERR_GENERIC, NULL, 0, 0, "host %s has no connection",
		               host ? host : t->host);
	if (!o.timeout || o.timeout > timeout_left(sb))
		o.timeout = timeout_left(sb);
	return conn_exec(c, cmd, &o, r, e);
}

/* The shared body of drover.exec(host, cmd) and ctx:exec(cmd). */
int lua_api_exec(lua_State *L, const char *host, const char *cmd)
{
	struct sandbox *sb = sandbox_of(L);
	struct conn_result r;
	struct err e;
	int ret;
	memset(&r, 0, sizeof(r));
	err_init(&e);
	if (sb->task)
		ret = task_exec(sb, host, cmd, &r, &e);
	else if (sb->env && sb->env->exec)
		ret = sb->env->exec(sb->env->ud, host, cmd, timeout_left(sb), &r, &e);
	else
		return unavailable(L, "drover.exec");
	if (ret < 0) {
		conn_result_release(&r);
		/* A module's own host going away makes the task UNREACHABLE. */
		if (sb->task && (!host || !strcmp(host, sb->task->host)) && e.code == ERR_UNREACH)
			sb->unreach = e;
		return raise_err(L, "drover.exec", &e);
	}
	push_result(L, &r);
	conn_result_release(&r);
	return 1;
}

static int l_exec(lua_State *L)
{
	const char *host = luaL_checkstring(L, 1);
	const char *cmd = luaL_checkstring(L, 2);
	return lua_api_exec(L, host, cmd);
}

static int l_sleep(lua_State *L)
{
	struct sandbox *sb = sandbox_of(L);
	double s = luaL_checknumber(L, 1), left = sandbox_remaining(sb);
	struct timespec ts;
	int cut = 0;
	if (!(s > 0))
		return 0;
	if (s > left) {
		s = left;
		cut = 1;
	}
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	if (cut) {
		char msg[128];
		snprintf(msg, sizeof(msg),
		         "drover.sleep: sleeping past the limit of %g s per Lua call",
		         sb->lim.seconds);
		return luaL_error(L, "%s", msg);
	}
	return 0;
}

/* Wall-clock seconds since the epoch, with fractions. */
static int l_now(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	return 1;
}

void lua_api_open(struct sandbox *sb)
{
	static const luaL_Reg fns[] = {{"log", l_log},
	                               {"vars", l_vars},
	                               {"template", l_template},
	                               {"exec", l_exec},
	                               {"http", lua_http_request},
	                               {"sleep", l_sleep},
	                               {"now", l_now},
	                               {NULL, NULL}};
	lua_State *L = sb->L;
	luaL_newlib(L, fns);
	lua_json_open(L);
	lua_setfield(L, -2, "json");
	lua_pushstring(L, DROVER_VERSION);
	lua_setfield(L, -2, "version");
	lua_setglobal(L, "drover");
}

void lua_api_print(struct sandbox *sb, const char *msg)
{
	api_log(sb, LUA_LOG_INFO, msg);
}
