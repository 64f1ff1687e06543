/*
 * test_lua.c - Lua hooks and Lua modules: events, vetoes, the sandbox and
 * its limits, drover.json, drover.http against a real HTTP server on
 * loopback, the shipped hooks and node_labels module against the Kubernetes
 * API stand-in (tests/lab/k3s/apiserver.py) through the real kubectl.
 */
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

static json_t *env_vars(void *ud, const char *host, struct err *e)
{
	struct test_env *t = ud;
	json_t *v = json_object_get(t->vars, host ? host : "");
	if (!v) {
		err_set(e, ERR_GENERIC, NULL, 0, 0, "no host '%s' in the inventory", host);
		return NULL;
	}
	return json_incref(v);
}

static json_t *env_render(void *ud, const char *text, const char *host, struct err *e)
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

static int env_exec(void *ud, const char *host, const char *cmd, int timeout, struct conn_result *r,
                    struct err *e)
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

static void env_log(void *ud, enum lua_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	struct test_env *t = ud;
	buf_addf(&t->log, "%s|%s\n", names[level], msg);
}

static struct test_env *env_new(void)
{
	struct test_env *t = xcalloc(1, sizeof(*t));
	struct conn_defaults d = {0};
	d.timeout = 10;
	t->vars = json_object();
	json_object_set_new(t->vars, "", json_object());
	t->pool = conn_pool_new(&d);
	return t;
}

static void env_free(struct test_env *t)
{
	buf_release(&t->log);
	buf_release(&t->cmds);
	json_decref(t->vars);
	conn_pool_free(t->pool);
	free(t);
}

static struct lua_hooks *hooks_with(struct test_env *t, const char *path,
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
static char *write_tmp(const char *name, const char *text)
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

static void rm_tmp(char *path)
{
	char *slash = strrchr(path, '/');
	unlink(path);
	*slash = 0;
	rmdir(path);
	free(path);
}

/* Fire one event with ev given as JSON text; returns lua_hooks_fire's value. */
static int fire(struct lua_hooks *h, const char *event, const char *ev_json, char **veto)
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

/* ---- events and vetoes ---- */

static void test_events_in_order(void **state)
{
	struct test_env *t = env_new();
	struct lua_hooks *h = hooks_with(t, "lua/record.lua", NULL);
	char *veto = NULL;
	(void)state;
	assert_int_equal(lua_hooks_wants(h, "host_result"), 1);
	assert_int_equal(
	    fire(h, "run_start",
	         "{\"playbook\":\"site.yaml\",\"check\":false,\"hosts\":[\"a\",\"b\"]}", &veto),
	    0);
	assert_int_equal(
	    fire(h, "play_start", "{\"play\":\"Upgrade\",\"hosts\":[\"a\",\"b\"]}", &veto), 0);
	assert_int_equal(fire(h, "task_start",
	                      "{\"play\":\"Upgrade\",\"task\":\"Drain\",\"action\":\"drain\"}",
	                      &veto),
	                 0);
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"play\":\"Upgrade\",\"task\":\"Drain\",\"action\":\"drain\","
	                      "\"host\":\"a\"}",
	                      &veto),
	                 0);
	assert_int_equal(fire(h, "host_result",
	                      "{\"play\":\"Upgrade\",\"task\":\"Drain\",\"action\":\"drain\","
	                      "\"host\":\"a\",\"status\":\"changed\","
	                      "\"result\":{\"changed\":true,\"rc\":0}}",
	                      &veto),
	                 0);
	assert_int_equal(
	    fire(h, "handler",
	         "{\"play\":\"Upgrade\",\"task\":\"restart k3s\",\"action\":\"systemd\","
	         "\"host\":\"a\"}",
	         &veto),
	    0);
	assert_int_equal(fire(h, "play_end", "{\"play\":\"Upgrade\"}", &veto), 0);
	assert_int_equal(
	    fire(h, "run_end",
	         "{\"failed\":false,\"stats\":{\"b\":{\"ok\":3,\"changed\":0,\"failed\":0},"
	         "\"a\":{\"ok\":4,\"changed\":2,\"failed\":0}}}",
	         &veto),
	    0);
	assert_null(veto);
	assert_string_equal(
	    buf_str(&t->log),
	    "info|run_start play=- task=- action=- host=- status=- hosts=a,b\n"
	    "info|play_start play=Upgrade task=- action=- host=- status=- hosts=a,b\n"
	    "info|task_start play=Upgrade task=Drain action=drain host=- status=-\n"
	    "info|host_task_start play=Upgrade task=Drain action=drain host=a status=-\n"
	    "info|host_result play=Upgrade task=Drain action=drain host=a status=changed rc=0 "
	    "changed=true\n"
	    "info|handler play=Upgrade task=restart k3s action=systemd host=a status=-\n"
	    "info|play_end play=Upgrade task=- action=- host=- status=-\n"
	    "info|run_end play=- task=- action=- host=- status=- stats=a:4/2/0,b:3/0/0\n");
	lua_hooks_free(h);
	env_free(t);
}

static void test_veto(void **state)
{
	struct test_env *t = env_new();
	struct lua_hooks *h = hooks_with(t, "lua/veto.lua", NULL);
	char *veto = NULL;
	(void)state;
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"Drain\",\"action\":\"drain\",\"host\":\"k3s-s-01\"}",
	                      &veto),
	                 1);
	assert_non_null(veto);
	assert_string_equal(veto, "no drain on k3s-s-01 today");
	free(veto);
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"Drain\",\"action\":\"drain\",\"host\":\"k3s-a-01\"}",
	                      &veto),
	                 0);
	assert_null(veto);
	assert_int_equal(
	    fire(h, "task_start", "{\"task\":\"explode\",\"action\":\"command\"}", &veto), 1);
	assert_non_null(strstr(veto, "lua/veto.lua:12: task explode is not allowed"));
	free(veto);
	/* an event the file does not handle */
	assert_int_equal(lua_hooks_wants(h, "run_end"), 0);
	assert_int_equal(fire(h, "run_end", NULL, &veto), 0);
	lua_hooks_free(h);
	env_free(t);
}

/* Two files: the first veto stops the event, files run in load order. */
static void test_two_files_order(void **state)
{
	struct test_env *t = env_new();
	struct lua_hooks *h = hooks_with(t, "lua/record.lua", NULL);
	struct err e;
	char *veto = NULL;
	(void)state;
	err_init(&e);
	assert_int_equal(lua_hooks_load_list(h, " lua/veto.lua , lua/record.lua", &e), 0);
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"D\",\"action\":\"drain\",\"host\":\"k3s-s-01\"}", &veto),
	                 1);
	free(veto);
	/* record.lua (first) ran, the second copy after veto.lua did not */
	assert_string_equal(
	    buf_str(&t->log),
	    "info|host_task_start play=- task=D action=drain host=k3s-s-01 status=-\n");
	lua_hooks_free(h);
	env_free(t);
}

static void expect_load_error(const char *name, const char *text, const char *want)
{
	struct err e;
	char msg[4096];
	char *path = write_tmp(name, text);
	struct lua_hooks *h = lua_hooks_new(&e);
	err_init(&e);
	assert_true(lua_hooks_load(h, path, &e) < 0);
	err_format(&e, msg, sizeof(msg));
	if (!strstr(msg, want))
		fail_msg("loading %s: got '%s', want '%s'", name, msg, want);
	lua_hooks_free(h);
	rm_tmp(path);
}

static void test_load_errors(void **state)
{
	(void)state;
	expect_load_error("syntax.lua", "return {\n run_start = function(ev)\n  if x then\n end\n",
	                  "syntax.lua:5: 'end' expected (to close 'function' at line 2)");
	expect_load_error("notable.lua", "return 42\n", "must return a table");
	expect_load_error("unknown.lua", "return {\n\n  run_begin = function() end,\n}\n",
	                  "unknown.lua:3:0: unknown hook event 'run_begin'");
	expect_load_error("notfn.lua", "return { run_end = 1 }\n",
	                  "hook 'run_end' must be a function, not a number");
	expect_load_error("bytecode.lua", "\x1bLua\x54\x00", "attempt to load a binary chunk");
	expect_load_error("raises.lua", "local x = nil\nreturn x.y\n",
	                  "raises.lua:2: attempt to index");
}

static void test_missing_file(void **state)
{
	struct err e;
	char msg[4096];
	struct lua_hooks *h = lua_hooks_new(&e);
	(void)state;
	err_init(&e);
	assert_true(lua_hooks_load(h, "lua/no-such-hook.lua", &e) < 0);
	assert_non_null(strstr(err_format(&e, msg, sizeof(msg)),
	                       "lua/no-such-hook.lua: cannot read Lua file: No such file"));
	lua_hooks_free(h);
}

/* Hooks fired from many workers at once run one at a time: a hook that
 * reads a counter, sleeps, then writes it back loses no update. */
struct fire_job {
	struct lua_hooks *h;
	int vetoes;
};

static void *fire_many(void *arg)
{
	struct fire_job *j = arg;
	for (int i = 0; i < 5; i++) {
		char *veto = NULL;
		struct err e;
		err_init(&e);
		if (lua_hooks_fire(j->h, "host_result", NULL, &veto, &e) != 0)
			j->vetoes++;
		free(veto);
	}
	return NULL;
}

static void test_concurrent_fire(void **state)
{
	struct test_env *t = env_new();
	char *path = write_tmp("count.lua", "local n = 0\n"
	                                    "return {\n"
	                                    "  host_result = function()\n"
	                                    "    local seen = n\n"
	                                    "    drover.sleep(0.002)\n"
	                                    "    n = seen + 1\n"
	                                    "  end,\n"
	                                    "  run_end = function() drover.log(tostring(n)) end,\n"
	                                    "}\n");
	struct lua_hooks *h = hooks_with(t, path, NULL);
	struct fire_job jobs[8];
	pthread_t th[8];
	char *veto = NULL;
	(void)state;
	for (int i = 0; i < 8; i++) {
		jobs[i].h = h;
		jobs[i].vetoes = 0;
		assert_int_equal(pthread_create(&th[i], NULL, fire_many, &jobs[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].vetoes, 0);
	}
	assert_int_equal(fire(h, "run_end", NULL, &veto), 0);
	assert_string_equal(buf_str(&t->log), "info|40\n");
	lua_hooks_free(h);
	rm_tmp(path);
	env_free(t);
}

/* ---- the sandbox ---- */

/* Run body as a run_start hook; returns the veto message (malloc'd) or NULL. */
static char *run_body(const char *body, const struct lua_limits *lim, struct test_env *t)
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

static void expect_veto(const char *body, const char *want, const struct lua_limits *lim)
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

static void expect_ok(const char *body)
{
	struct test_env *t = env_new();
	char *veto = run_body(body, NULL, t);
	if (veto)
		fail_msg("'%s' vetoed: %s", body, veto);
	env_free(t);
}

static void test_sandbox_blocks(void **state)
{
	(void)state;
	expect_veto("io.open('/etc/passwd')", "attempt to index a nil value (global 'io')", NULL);
	expect_veto("os.execute('touch /tmp/drover-pwned')",
	            "attempt to call a nil value (field 'execute')", NULL);
	expect_veto("os.remove('/tmp/x')", "attempt to call a nil value (field 'remove')", NULL);
	expect_veto("return package.loadlib", "attempt to index a nil value (global 'package')",
	            NULL);
	expect_veto("require('os')", "attempt to call a nil value (global 'require')", NULL);
	expect_veto("debug.getregistry()", "attempt to index a nil value (global 'debug')", NULL);
	expect_veto("dofile('/etc/passwd')", "attempt to call a nil value (global 'dofile')", NULL);
	expect_veto("loadfile('/etc/passwd')", "attempt to call a nil value (global 'loadfile')",
	            NULL);
	expect_veto("string.dump(print)", "attempt to call a nil value (field 'dump')", NULL);
	expect_veto("collectgarbage('count'); coroutine.create(print)",
	            "attempt to index a nil value (global 'coroutine')", NULL);
	/* load takes text only, whatever mode the script asks for */
	expect_veto("local f, err = load('\\27Lua\\84\\0', 'x', 'b'); assert(f, err)",
	            "attempt to load a binary chunk (mode is 't')", NULL);
	expect_ok("local f = assert(load('return 1 + 1')); assert(f() == 2)");
	/* what stays: clocks, dates, env, string/table/math/utf8 */
	expect_ok("assert(type(os.time()) == 'number'); assert(os.date('!%Y', 0) == '1970')\n"
	          "assert(os.getenv('PATH')); assert(utf8.len('héllo') == 5)\n"
	          "assert(math.maxinteger and table.concat({1,2}, ',') == '1,2')\n"
	          "assert(('x'):rep(3) == 'xxx')");
}

static void test_runaway_loop(void **state)
{
	struct lua_limits lim = {5L * 1000 * 1000, 60, 0};
	(void)state;
	expect_veto("while true do end", "stopped after 5 million Lua instructions", &lim);
	/* pcall cannot swallow the limit */
	expect_veto("while true do pcall(function() while true do end end) end",
	            "stopped after 5 million Lua instructions", &lim);
	lim.instructions = 0;
	lim.seconds = 0.5;
	expect_veto("local n = 0 while true do n = n + 1 end", "stopped after 0.5 s", &lim);
	expect_veto("drover.sleep(5)", "drover.sleep: sleeping past the limit of 0.5 s", &lim);
}

static void test_memory_cap(void **state)
{
	struct lua_limits lim = {0, 30, 16u * 1024 * 1024};
	double t0 = (double)time(NULL);
	(void)state;
	expect_veto("local s = string.rep('x', 1 << 30)", "memory limit of 16 MiB", &lim);
	expect_veto("local t = {} for i = 1, 1e9 do t[i] = {i} end", "memory limit of 16 MiB",
	            &lim);
	expect_veto(
	    "local t = {} while true do pcall(function() t[#t + 1] = ('y'):rep(1e5) .. #t end) end",
	    "memory limit of 16 MiB", &lim);
	assert_true((double)time(NULL) - t0 < 20);
	/* the cap is per state: a later call in a fresh state works */
	expect_ok("local s = string.rep('x', 1 << 20)");
}

/* A hook that keeps its state full: the next event cannot even be built;
 * that is a veto naming the limit, never a crash. */
static void test_memory_full_state(void **state)
{
	struct test_env *t = env_new();
	struct lua_limits lim = {0, 30, 8u * 1024 * 1024};
	char *path = write_tmp(
	    "hog.lua", "hoard = {}\n"
	               "return {\n"
	               "  run_start = function()\n"
	               "    while true do hoard[#hoard + 1] = ('x'):rep(4000) .. #hoard end\n"
	               "  end,\n"
	               "  host_result = function(ev) return true end,\n"
	               "}\n");
	struct lua_hooks *h = hooks_with(t, path, &lim);
	struct buf ev = BUF_INIT;
	char *veto = NULL;
	(void)state;
	assert_int_equal(fire(h, "run_start", "{}", &veto), 1);
	assert_non_null(strstr(veto, "memory limit of 8 MiB"));
	free(veto);
	buf_adds(&ev, "{\"host\":\"a\",\"result\":{\"stdout_lines\":[");
	for (int i = 0; i < 20000; i++)
		buf_addf(&ev, "%s\"line %d of a long output\"", i ? "," : "", i);
	buf_adds(&ev, "]}}");
	assert_int_equal(fire(h, "host_result", buf_str(&ev), &veto), 1);
	assert_non_null(strstr(veto, "memory limit of 8 MiB"));
	free(veto);
	buf_release(&ev);
	lua_hooks_free(h);
	rm_tmp(path);
	env_free(t);
}

static void test_error_traceback(void **state)
{
	struct test_env *t = env_new();
	struct lua_hooks *h = hooks_with(t, "lua/broken.lua", NULL);
	char *veto = NULL;
	(void)state;
	assert_int_equal(fire(h, "run_start", "{}", &veto), 1);
	assert_non_null(veto);
	if (!strstr(veto, "run_start hook in lua/broken.lua failed: lua/broken.lua:3: attempt to "
	                  "index a nil value (field 'missing')"))
		fail_msg("got: %s", veto);
	assert_non_null(strstr(veto, "stack traceback:"));
	assert_non_null(strstr(veto, "\n\tlua/broken.lua:3: in "));
	assert_non_null(strstr(veto, "\n\tlua/broken.lua:7: in "));
	assert_non_null(strstr(veto, "\n\tlua/broken.lua:13: in "));
	free(veto);
	lua_hooks_free(h);
	env_free(t);
}

/* The sandbox's string.find/match/gmatch/gsub (engine/lua/pattern.c) give
 * what Lua's own give, over the cases in lua/patterns.lua. */
static void test_patterns_like_lua(void **state)
{
	size_t len;
	char *cases = read_file("lua/patterns.lua", &len);
	lua_State *L = luaL_newstate();
	struct test_env *t = env_new();
	char *body, *veto;
	const char *want;
	(void)state;
	assert_non_null(cases);
	luaL_openlibs(L);
	if (luaL_dofile(L, "lua/patterns.lua") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
		fail_msg("plain Lua: %s", lua_tostring(L, -1));
	want = lua_tostring(L, -1);
	body = xasprintf("local f = (function() %s end)()\ndrover.log(f())", cases);
	veto = run_body(body, NULL, t);
	if (veto)
		fail_msg("sandbox: %s", veto);
	assert_true(t->log.len > 5);
	t->log.s[t->log.len - 1] = 0; /* the log's newline */
	if (strcmp(t->log.s + strlen("info|"), want)) {
		FILE *f = fopen("/tmp/drover-patterns-want.txt", "w");
		fputs(want, f);
		fclose(f);
		f = fopen("/tmp/drover-patterns-got.txt", "w");
		fputs(t->log.s + strlen("info|"), f);
		fclose(f);
		fail_msg("patterns differ: diff /tmp/drover-patterns-want.txt "
		         "/tmp/drover-patterns-got.txt");
	}
	lua_close(L);
	free(body);
	free(cases);
	env_free(t);
}

/* A backtracking pattern on a long text stops at the limit. */
static void test_pattern_limit(void **state)
{
	struct lua_limits lim = {20L * 1000 * 1000, 30, 0};
	time_t t0 = time(NULL);
	(void)state;
	expect_veto("local s = ('a'):rep(3000) s:find('.-.-.-.-b')",
	            "stopped after 20 million Lua instructions", &lim);
	expect_veto("local s = ('a'):rep(3000) for x in s:gmatch('.-.-.-b') do end",
	            "stopped after 20 million Lua instructions", &lim);
	expect_veto("local s = ('a'):rep(3000) s:gsub('(.-)(.-)(.-)b', '')",
	            "stopped after 20 million Lua instructions", &lim);
	lim.instructions = 0;
	lim.seconds = 1;
	expect_veto("local s = ('a'):rep(3000) s:match('.-.-.-.-b')", "stopped after 1 s", &lim);
	assert_true(time(NULL) - t0 < 20);
}

/* ---- drover.json ---- */

static void test_json_roundtrip(void **state)
{
	static const char *ev_text =
	    "{\"host\":\"k3s-a-01\",\"status\":\"ok\",\"result\":{\"changed\":false,"
	    "\"rc\":0,\"stdout_lines\":[\"a\",\"b\"],\"empty_list\":[],\"empty_dict\":{},"
	    "\"nothing\":null,\"ratio\":0.25,\"big\":9007199254740993,\"neg\":-7,"
	    "\"text\":\"h\\u00e9llo \\\"q\\\" \\n\",\"nested\":[[1,[2,{}]],{\"k\":[null,true]}]}}";
	struct test_env *t = env_new();
	struct lua_hooks *h = hooks_with(t, "lua/json_echo.lua", NULL);
	json_t *want = json_loads(ev_text, 0, NULL);
	char *veto = NULL, *line, *save = NULL;
	int n = 0;
	(void)state;
	assert_int_equal(fire(h, "host_result", ev_text, &veto), 0);
	for (line = strtok_r(t->log.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *got = json_loads(line + strlen("info|"), 0, NULL);
		assert_non_null(got);
		if (!json_equal(got, want)) {
			char *w = json_dumps(want, JSON_SORT_KEYS);
			fail_msg("round trip changed the value:\n got %s\nwant %s", line, w);
		}
		json_decref(got);
		n++;
	}
	assert_int_equal(n, 2);
	json_decref(want);
	lua_hooks_free(h);
	env_free(t);
}

static void test_json_lua_side(void **state)
{
	(void)state;
	expect_ok("local j = drover.json\n"
	          "assert(j.encode({1, 2, 3}) == '[1,2,3]')\n"
	          "assert(j.encode({a = 1}) == '{\"a\":1}')\n"
	          "assert(j.encode({}) == '{}')\n"
	          "assert(j.encode(j.array()) == '[]')\n"
	          "assert(j.encode(j.object({})) == '{}')\n"
	          "assert(j.encode({1, nil, 3}) == '{\"1\":1,\"3\":3}')\n"
	          "assert(j.encode({j.null, 2}) == '[null,2]')\n"
	          "assert(j.decode('null') == j.null)\n"
	          "assert(j.decode('[1,2]')[2] == 2)\n"
	          "assert(math.type(j.decode('3')) == 'integer')\n"
	          "assert(math.type(j.decode('3.0')) == 'float')\n"
	          "assert(j.encode(j.decode('{\"a\":[]}')) == '{\"a\":[]}')\n"
	          "assert(j.encode('x\\0y') == '\"x\\\\u0000y\"')\n"
	          "local v, err = j.decode('{bad')\n"
	          "assert(v == nil and err:match('^invalid JSON at line 1'))\n"
	          "assert(j.encode({b = 1, a = {2}}, true) == '{\\n  \"a\": [\\n    2\\n  ],\\n  "
	          "\"b\": 1\\n}')");
	expect_veto("drover.json.encode({f = print})",
	            "drover.json.encode: a function has no JSON form", NULL);
	expect_veto("local t = {} t.self = t drover.json.encode(t)",
	            "drover.json.encode: tables nested too deep", NULL);
	expect_veto("drover.json.encode(0/0)", "NaN and infinity have no JSON form", NULL);
}

/* drover.vars, drover.template and drover.exec through the env callbacks. */
static void test_api_env(void **state)
{
	struct test_env *t = env_new();
	char *veto;
	(void)state;
	json_object_set_new(
	    t->vars, "web1",
	    json_pack("{s:s,s:i,s:[s,s]}", "role", "web", "port", 8080, "tags", "a", "b"));
	json_object_set_new(json_object_get(t->vars, ""), "site", json_string("lab"));
	veto = run_body(
	    "local v = drover.vars('web1')\n"
	    "assert(v.role == 'web' and v.port == 8080 and v.tags[2] == 'b')\n"
	    "local ok0, err0 = pcall(function() v.role = 'changed' end)\n"
	    "assert(not ok0 and err0:match('drover.vars%(%) is read%-only'), err0)\n"
	    "assert(not pcall(function() v.tags[1] = 'z' end))\n"
	    "assert(v.role == 'web' and #v.tags == 2 and v.tags[1] == 'a')\n"
	    "local keys = {} for k in pairs(v) do keys[#keys + 1] = k end\n"
	    "table.sort(keys) assert(table.concat(keys, ',') == 'port,role,tags')\n"
	    "local seen = {} for i, x in ipairs(v.tags) do seen[i] = x end\n"
	    "assert(seen[1] == 'a' and seen[2] == 'b')\n"
	    "assert(drover.json.encode(v.tags) == '[\"a\",\"b\"]')\n"
	    "assert(drover.json.decode(drover.json.encode(v)).port == 8080)\n"
	    "assert(getmetatable(v) == 'read-only')\n"
	    "assert(drover.vars().site == 'lab')\n"
	    "assert(drover.template('{{ role }}:{{ port + 1 }}', 'web1') == 'web:8081')\n"
	    "assert(drover.template('{{ port }}', 'web1') == 8080)\n"
	    "local r = drover.exec('web1', 'echo out; echo err >&2; exit 3')\n"
	    "assert(r.rc == 3 and r.stdout == 'out\\n' and r.stderr == 'err\\n', r.stdout)\n"
	    "local ok, err = pcall(drover.exec, 'nohost', 'true')\n"
	    "assert(not ok and err:match('drover.exec: host nohost is not in the inventory'), "
	    "err)\n"
	    "local ok2, err2 = pcall(drover.template, '{{ nope }}', 'web1')\n"
	    "assert(not ok2 and err2:match(\"'nope' is undefined\"), err2)\n"
	    "local t0 = drover.now() drover.sleep(0.2)\n"
	    "assert(drover.now() - t0 >= 0.19)\n"
	    "drover.log('warn', 'careful') drover.log('just info') print('a', 1)",
	    NULL, t);
	if (veto)
		fail_msg("vetoed: %s", veto);
	assert_string_equal(buf_str(&t->log), "warn|careful\ninfo|just info\ninfo|a\t1\n");
	assert_string_equal(buf_str(&t->cmds), "web1: echo out; echo err >&2; exit 3\n");
	env_free(t);
}

/* A command that hangs cannot hold the run: drover.exec gets what is left
 * of the call's time limit as its timeout. */
static void test_exec_bounded(void **state)
{
	struct test_env *t = env_new();
	struct lua_limits lim = {0, 1, 0};
	time_t t0 = time(NULL);
	char *veto;
	(void)state;
	json_object_set_new(t->vars, "web1", json_object());
	veto = run_body("drover.exec('web1', 'sleep 30')", &lim, t);
	assert_non_null(veto);
	assert_non_null(strstr(veto, "drover.exec: command timed out after 1 seconds"));
	assert_true(time(NULL) - t0 < 10);
	free(veto);
	env_free(t);
}

/* Without an env, the API says what is missing instead of crashing. */
static void test_api_without_env(void **state)
{
	struct err e;
	char *path =
	    write_tmp("noenv.lua", "return { run_start = function() drover.vars('x') end }");
	struct lua_hooks *h = lua_hooks_new(&e);
	char *veto = NULL;
	(void)state;
	err_init(&e);
	assert_int_equal(lua_hooks_load(h, path, &e), 0);
	assert_int_equal(lua_hooks_fire(h, "run_start", NULL, &veto, &e), 1);
	assert_non_null(strstr(veto, "drover.vars is not available here"));
	free(veto);
	assert_true(lua_hooks_fire(h, "run_begin", NULL, &veto, &e) < 0);
	lua_hooks_free(h);
	rm_tmp(path);
}

/* ---- drover.http and webhook_notify.lua against a real server ---- */

struct sink {
	pid_t pid;
	int in_fd; /* its stdin: closing it stops the server */
	int port;
};

static void sink_start(struct sink *s)
{
	int in[2], out[2];
	char line[32] = "";
	ssize_t n;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", "lua/http_sink.py", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->in_fd = in[1];
	/* the whole first line: the port */
	for (size_t got = 0; got < sizeof(line) - 1 && !strchr(line, '\n'); got += (size_t)n) {
		n = read(out[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
	}
	close(out[0]);
	s->port = atoi(line);
	assert_true(s->port > 0);
}

static void sink_stop(struct sink *s)
{
	int status;
	close(s->in_fd);
	waitpid(s->pid, &status, 0);
}

/* The requests the sink recorded, fetched with drover.http itself. */
static json_t *sink_records(struct sink *s)
{
	struct test_env *t = env_new();
	char *body = xasprintf("local r = assert(drover.http{url = "
	                       "'http://127.0.0.1:%d/records'})\n"
	                       "drover.log(r.body)",
	                       s->port);
	char *veto = run_body(body, NULL, t);
	json_t *v;
	if (veto)
		fail_msg("fetching records: %s", veto);
	v = json_loads(t->log.s + strlen("info|"), 0, NULL);
	assert_non_null(v);
	free(body);
	env_free(t);
	return v;
}

static void test_http(void **state)
{
	struct sink s;
	struct test_env *t = env_new();
	struct lua_limits lim = {0, 2, 0};
	char *body, *veto;
	json_t *rec, *got, *want;
	(void)state;
	sink_start(&s);
	body = xasprintf(
	    "local base = 'http://127.0.0.1:%d'\n"
	    "local r = assert(drover.http{url = base .. '/echo', headers = {['X-Token'] = "
	    "'abc'}})\n"
	    "assert(r.status == 200, r.status)\n"
	    "assert(r.headers['content-type'] == 'application/json')\n"
	    "assert(r.headers['x-sink'] == 'yes')\n"
	    "local e = drover.json.decode(r.body)\n"
	    "assert(e.headers['x-token'] == 'abc' and e.headers['user-agent']:match('^drover/'))\n"
	    "r = assert(drover.http{method = 'POST', url = base .. '/in', body = {n = 1, l = "
	    "{}}})\n"
	    "assert(r.status == 200 and drover.json.decode(r.body).ok == true)\n"
	    "r = assert(drover.http{method = 'PUT', url = base .. '/raw', body = 'plain',\n"
	    "  headers = {['Content-Type'] = 'text/plain'}})\n"
	    "r = assert(drover.http{url = base .. '/status/503'})\n"
	    "assert(r.status == 503 and r.body == 'status 503')\n"
	    "local none, err = drover.http{url = 'http://127.0.0.1:1/'}\n"
	    "assert(none == nil and err:match('^GET http://127.0.0.1:1/: '), err)\n"
	    "local nf, ferr = drover.http{url = 'file:///etc/passwd'}\n"
	    "assert(nf == nil and ferr:match('not supported'), ferr)\n"
	    "local t0 = drover.now()\n"
	    "local slow, serr = drover.http{url = base .. '/slow', timeout = 0.5}\n"
	    "assert(slow == nil and serr:match('timed out') and drover.now() - t0 < 2, serr)\n",
	    s.port);
	veto = run_body(body, NULL, t);
	if (veto)
		fail_msg("vetoed: %s", veto);
	free(body);
	/* the call's time limit (2 s here) caps a longer request timeout */
	body =
	    xasprintf("local t0 = drover.now()\n"
	              "local r, err = drover.http{url = 'http://127.0.0.1:%d/slow', timeout = 30}\n"
	              "assert(r == nil and err:match('timed out'), err)\n"
	              "assert(drover.now() - t0 < 3, 'waited ' .. (drover.now() - t0))",
	              s.port);
	veto = run_body(body, &lim, t);
	if (veto)
		fail_msg("vetoed: %s", veto);
	free(body);
	rec = sink_records(&s);
	assert_int_equal(json_array_size(rec), 2);
	got =
	    json_loads(json_string_value(json_object_get(json_array_get(rec, 0), "body")), 0, NULL);
	want = json_pack("{s:i,s:{}}", "n", 1, "l");
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(json_array_get(rec, 0), "headers"),
	                                      "content-type")),
	    "application/json");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rec, 1), "method")),
	                    "PUT");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rec, 1), "body")),
	                    "plain");
	json_decref(rec);
	sink_stop(&s);
	env_free(t);
}

static json_t *rec_body(json_t *rec, size_t i)
{
	json_t *r = json_array_get(rec, i);
	json_t *b = json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(r, "path")), "/hook");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "headers"), "content-type")),
	    "application/json");
	return b;
}

static void test_webhook_notify(void **state)
{
	struct sink s;
	struct test_env *t = env_new();
	struct lua_hooks *h;
	char *url, *veto = NULL;
	json_t *rec, *b;
	(void)state;
	sink_start(&s);
	url = xasprintf("http://127.0.0.1:%d/hook", s.port);
	json_object_set_new(json_object_get(t->vars, ""), "webhook_url", json_string(url));
	h = hooks_with(t, "../lua/hooks/webhook_notify.lua", NULL);
	assert_int_equal(
	    fire(h, "host_result",
	         "{\"play\":\"Up\",\"task\":\"Upgrade k3s\",\"action\":\"k3s_install\","
	         "\"host\":\"k3s-s-01\",\"status\":\"changed\",\"result\":{\"changed\":true}}",
	         &veto),
	    0);
	assert_int_equal(fire(h, "host_result",
	                      "{\"play\":\"Up\",\"task\":\"Drain\",\"action\":\"drain\","
	                      "\"host\":\"k3s-a-01\",\"status\":\"failed\","
	                      "\"result\":{\"failed\":true,\"msg\":\"PDB blocks eviction\"}}",
	                      &veto),
	                 0);
	assert_int_equal(
	    fire(h, "run_end",
	         "{\"failed\":true,\"stats\":{\"k3s-s-01\":{\"ok\":5,\"changed\":2,"
	         "\"failed\":0,\"unreachable\":0,\"skipped\":1},\"k3s-a-01\":{\"ok\":1,"
	         "\"changed\":0,\"failed\":1,\"unreachable\":0,\"skipped\":0}}}",
	         &veto),
	    0);
	rec = sink_records(&s);
	assert_int_equal(json_array_size(rec), 3);
	b = rec_body(rec, 0);
	assert_string_equal(json_string_value(json_object_get(b, "text")),
	                    "[changed] k3s-s-01: Upgrade k3s (k3s_install)");
	assert_string_equal(json_string_value(json_object_get(b, "status")), "changed");
	assert_true(json_is_true(json_object_get(b, "changed")));
	json_decref(b);
	b = rec_body(rec, 1);
	assert_string_equal(json_string_value(json_object_get(b, "text")),
	                    "[failed] k3s-a-01: Drain (drain): PDB blocks eviction");
	json_decref(b);
	b = rec_body(rec, 2);
	assert_string_equal(json_string_value(json_object_get(b, "event")), "run_end");
	assert_true(json_is_true(json_object_get(b, "failed")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "totals"), "ok")),
	                 6);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(b, "totals"), "failed")), 1);
	assert_string_equal(json_string_value(json_object_get(b, "text")),
	                    "drover run FAILED on 2 host(s)\n"
	                    "k3s-a-01 ok=1 changed=0 failed=1 unreachable=0\n"
	                    "k3s-s-01 ok=5 changed=2 failed=0 unreachable=0");
	json_decref(b);
	json_decref(rec);
	lua_hooks_free(h);
	sink_stop(&s);
	/* a webhook that is down warns and never vetoes */
	buf_reset(&t->log);
	h = hooks_with(t, "../lua/hooks/webhook_notify.lua", NULL);
	assert_int_equal(fire(h, "run_end", "{\"failed\":false,\"stats\":{}}", &veto), 0);
	assert_non_null(strstr(buf_str(&t->log), "warn|webhook_notify: POST http://127.0.0.1:"));
	lua_hooks_free(h);
	free(url);
	env_free(t);
}

/* ---- maintenance_window.lua ---- */

static char *window_around_now(int from_min, int to_min, int with_day)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	time_t now = time(NULL);
	time_t a = now + from_min * 60, b = now + to_min * 60;
	struct tm ta, tb;
	gmtime_r(&a, &ta);
	gmtime_r(&b, &tb);
	return xasprintf("%s%s%02d:%02d-%02d:%02d", with_day ? days[ta.tm_wday] : "",
	                 with_day ? " " : "", ta.tm_hour, ta.tm_min, tb.tm_hour, tb.tm_min);
}

static char *window_veto(const char *window, const char *override)
{
	struct test_env *t = env_new();
	json_t *g = json_object_get(t->vars, "");
	struct lua_hooks *h;
	char *veto = NULL;
	if (window)
		json_object_set_new(g, "maintenance_window", json_string(window));
	if (override)
		json_object_set_new(g, "maintenance_override", json_true());
	h = hooks_with(t, "../lua/hooks/maintenance_window.lua", NULL);
	fire(h, "run_start", "{}", &veto);
	lua_hooks_free(h);
	env_free(t);
	return veto;
}

static void test_maintenance_window(void **state)
{
	char *w, *veto;
	(void)state;
	unsetenv("DROVER_MAINTENANCE_WINDOW");
	assert_null(window_veto(NULL, NULL)); /* no window: allowed */
	w = window_around_now(-60, 60, 1);
	assert_null(window_veto(w, NULL));
	free(w);
	w = window_around_now(-30, 90, 0);
	assert_null(window_veto(w, NULL));
	free(w);
	w = window_around_now(120, 180, 0);
	veto = window_veto(w, NULL);
	assert_non_null(veto);
	assert_non_null(strstr(veto, "maintenance_window: refusing to start: it is "));
	assert_non_null(strstr(veto, " UTC, outside the maintenance window '"));
	assert_non_null(strstr(veto, w));
	free(veto);
	assert_null(window_veto(w, "yes"));
	/* from the environment when no var is set */
	setenv("DROVER_MAINTENANCE_WINDOW", w, 1);
	veto = window_veto(NULL, NULL);
	assert_non_null(veto);
	free(veto);
	unsetenv("DROVER_MAINTENANCE_WINDOW");
	free(w);
	veto = window_veto("Someday 25:00", NULL);
	assert_non_null(strstr(veto, "cannot read 'Someday 25:00'"));
	free(veto);
}

/* ---- against the Kubernetes API stand-in, with the real kubectl ---- */

struct apisrv {
	pid_t pid;
	char state[64];
	char *kubeconfig;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int rc;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	rc = system(buf_str(&b));
	buf_release(&b);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int apisrv_try(struct apisrv *a, int port)
{
	char portarg[16];
	snprintf(portarg, sizeof(portarg), "%d", port);
	a->pid = fork();
	assert_true(a->pid >= 0);
	if (a->pid == 0) {
		int null = open("/dev/null", 1);
		dup2(null, 2);
		execl("/usr/bin/python3", "python3", "lab/k3s/apiserver.py", "--state", a->state,
		      "--addr", "127.0.77.1", "--port", portarg, "--workload",
		      "lua/nodes_ready.json", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 150; i++) {
		int status;
		if (waitpid(a->pid, &status, WNOHANG) == a->pid)
			return -1; /* port taken: try another */
		if (access(a->kubeconfig, R_OK) == 0 &&
		    sh("k3s kubectl get nodes >/dev/null 2>&1") == 0)
			return 0;
		usleep(200 * 1000);
	}
	fail_msg("the Kubernetes API stand-in did not come up on port %d", port);
	return -1;
}

static void apisrv_start(struct apisrv *a)
{
	char cwd[4096], *path;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	path = xasprintf("%s/lua/bin:%s", cwd, getenv("PATH"));
	setenv("PATH", path, 1);
	free(path);
	strcpy(a->state, "/tmp/drover-lua-api-XXXXXX");
	assert_non_null(mkdtemp(a->state));
	a->kubeconfig = xasprintf("%s/admin.kubeconfig", a->state);
	setenv("DROVER_TEST_KUBECONFIG", a->kubeconfig, 1);
	for (int i = 0; i < 5; i++)
		if (apisrv_try(a, 20000 + (getpid() * 7 + i * 131) % 20000) == 0)
			return;
	fail_msg("cannot start the Kubernetes API stand-in");
}

static void apisrv_stop(struct apisrv *a)
{
	int status;
	kill(a->pid, SIGTERM);
	waitpid(a->pid, &status, 0);
	sh("rm -rf '%s'", a->state);
	free(a->kubeconfig);
}

static void set_ready(const char *node, const char *status, const char *message)
{
	assert_int_equal(sh("k3s kubectl patch node %s --subresource=status --type=merge -p "
	                    "'{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
	                    "\"reason\":\"Test\",\"message\":\"%s\"}]}}' >/dev/null",
	                    node, status, message),
	                 0);
}

static void gate_vars(struct test_env *t)
{
	static const char *const hosts[] = {"k3s-s-01", "k3s-w-01", "k3s-w-02"};
	for (int i = 0; i < 3; i++)
		json_object_set_new(t->vars, hosts[i],
		                    json_pack("{s:{s:[s],s:[s,s]}}", "groups", "k3s_servers",
		                              "k3s-s-01", "k3s_agents", "k3s-w-01", "k3s-w-02"));
}

static void test_cluster_gate(struct apisrv *a)
{
	struct test_env *t = env_new();
	struct lua_hooks *h;
	char *veto = NULL;
	(void)a;
	gate_vars(t);
	h = hooks_with(t, "../lua/hooks/cluster_gate.lua", NULL);
	/* all Ready: drain goes ahead, after one look at the cluster */
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"Drain\",\"action\":\"drain\",\"host\":\"k3s-w-01\"}",
	                      &veto),
	                 0);
	assert_string_equal(buf_str(&t->cmds), "k3s-s-01: k3s kubectl get nodes -o json\n");
	/* one node NotReady: drain refused, naming it */
	set_ready("k3s-w-02", "False", "container runtime is down");
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"Drain\",\"action\":\"ansible.builtin.drain\","
	                      "\"host\":\"k3s-w-01\"}",
	                      &veto),
	                 1);
	assert_string_equal(veto,
	                    "cluster_gate: refusing to drain k3s-w-01: node k3s-w-02 "
	                    "(Ready=False: container runtime is down) is NotReady (checked on "
	                    "k3s-s-01); bring it back or remove it from the cluster first");
	free(veto);
	/* a shell task running kubectl drain is gated too; other tasks are not */
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"d\",\"action\":\"shell\",\"host\":\"k3s-w-01\","
	                      "\"args\":{\"_raw_params\":\"k3s kubectl drain k3s-w-01 "
	                      "--ignore-daemonsets\"}}",
	                      &veto),
	                 1);
	free(veto);
	buf_reset(&t->cmds);
	assert_int_equal(
	    fire(h, "host_task_start",
	         "{\"task\":\"Upgrade\",\"action\":\"k3s_install\",\"host\":\"k3s-w-01\"}", &veto),
	    0);
	assert_int_equal(t->cmds.len, 0);
	set_ready("k3s-w-02", "True", "kubelet is posting ready status");
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"Drain\",\"action\":\"drain\",\"host\":\"k3s-w-01\"}",
	                      &veto),
	                 0);
	/* kubectl failing (wrong kubeconfig) refuses too: the gate fails closed */
	json_object_set_new(json_object_get(t->vars, "k3s-w-01"), "cluster_gate_kubectl",
	                    json_string("kubectl --kubeconfig /nonexistent"));
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"Drain\",\"action\":\"drain\",\"host\":\"k3s-w-01\"}",
	                      &veto),
	                 1);
	assert_non_null(strstr(veto, "cluster_gate: cannot list nodes on k3s-s-01 (rc=1): "));
	free(veto);
	lua_hooks_free(h);
	env_free(t);
}

/* ---- Lua modules ---- */

struct mod_run {
	struct test_env *env;
	struct task_ctx ctx;
	json_t *vars;
};

static void mod_run_init(struct mod_run *m, const char *host)
{
	struct err e;
	json_t *cv = json_pack("{s:s}", "ansible_connection", "local");
	char msg[2048];
	memset(m, 0, sizeof(*m));
	m->env = env_new();
	m->vars = json_pack("{s:s}", "color", "blue");
	err_init(&e);
	m->ctx.host = host;
	m->ctx.vars = m->vars;
	m->ctx.conn = conn_pool_get(m->env->pool, host, cv, NULL, NULL, &e);
	if (!m->ctx.conn)
		fail_msg("local connection: %s", err_format(&e, msg, sizeof(msg)));
	json_decref(cv);
}

static void mod_run_release(struct mod_run *m)
{
	json_decref(m->vars);
	env_free(m->env);
}

/* Validate args_json against name's argspec and run it; returns the result. */
static json_t *run_module(struct mod_run *m, const char *name, const char *args_json, int check)
{
	const struct module_def *def = module_find(name);
	json_t *args = json_loads(args_json, 0, NULL), *clean = NULL;
	json_t *result = json_object();
	struct err e;
	char msg[2048];
	assert_non_null(def);
	assert_non_null(args);
	err_init(&e);
	if (module_validate(def, args, &clean, &e) < 0)
		fail_msg("%s: %s", name, err_format(&e, msg, sizeof(msg)));
	m->ctx.check = check;
	if (def->run(&m->ctx, clean, result, &e) < 0)
		fail_msg("%s run: %s", name, err_format(&e, msg, sizeof(msg)));
	json_decref(args);
	json_decref(clean);
	return result;
}

static void expect_invalid(const char *name, const char *args_json, const char *want)
{
	json_t *args = json_loads(args_json, 0, NULL), *clean = NULL;
	struct err e;
	char msg[2048];
	err_init(&e);
	assert_true(module_validate(module_find(name), args, &clean, &e) < 0);
	if (!strstr(err_format(&e, msg, sizeof(msg)), want))
		fail_msg("%s %s: got '%s', want '%s'", name, args_json, msg, want);
	json_decref(args);
}

static const char *str_of(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_lua_module(void **state)
{
	struct mod_run m;
	struct err e;
	const struct module_def *def;
	json_t *r;
	char msg[2048];
	(void)state;
	err_init(&e);
	if (lua_modules_load_dir("lua/modules", &e) < 0)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	/* loading the same file again is a no-op */
	assert_int_equal(lua_modules_load_file("lua/modules/probe.lua", &e), 0);
	def = module_find("lua_probe");
	assert_non_null(def);
	assert_string_equal(def->summary, "test fixture");
	assert_true(def->flags & MOD_CHECK_MODE);
	assert_string_equal(def->args[0].name, "word");
	assert_true(def->args[0].required);
	assert_int_equal(def->args[1].type, ARG_INT);
	assert_string_equal(def->args[1].def, "3");
	assert_string_equal(def->args[3].choices[2], "raise");
	assert_null(def->args[4].name);
	expect_invalid("lua_probe", "{}", "word");
	expect_invalid("lua_probe", "{\"word\":\"x\",\"mode\":\"sideways\"}", "sideways");
	expect_invalid("lua_probe", "{\"word\":\"x\",\"count\":\"many\"}", "count");
	expect_invalid("lua_probe", "{\"word\":\"x\",\"colour\":1}", "colour");

	mod_run_init(&m, "node1");
	r = run_module(&m, "lua_probe", "{\"word\":\"hello\",\"count\":\"8\",\"flags\":\"a,b\"}",
	               0);
	assert_string_equal(str_of(r, "word"), "hello");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 8);
	assert_int_equal(json_array_size(json_object_get(r, "flags")), 2);
	assert_string_equal(str_of(r, "host"), "node1");
	assert_string_equal(str_of(r, "color"), "blue");
	assert_true(json_is_true(json_object_get(r, "changed")));
	json_decref(r);
	r = run_module(&m, "lua_probe", "{\"word\":\"hi\"}", 1);
	assert_true(json_is_true(json_object_get(r, "check")));
	assert_true(json_is_false(json_object_get(r, "changed")));
	json_decref(r);
	r = run_module(&m, "lua_probe", "{\"word\":\"x\",\"mode\":\"fail\"}", 0);
	assert_true(json_is_true(json_object_get(r, "failed")));
	assert_string_equal(str_of(r, "msg"), "asked to fail");
	json_decref(r);
	r = run_module(&m, "lua_probe", "{\"word\":\"x\",\"mode\":\"raise\"}", 0);
	assert_true(json_is_true(json_object_get(r, "failed")));
	assert_non_null(
	    strstr(str_of(r, "msg"), "lua/modules/probe.lua:5: attempt to index a nil"));
	assert_non_null(strstr(str_of(r, "msg"), "stack traceback:"));
	json_decref(r);
	r = run_module(&m, "lua_probe", "{\"word\":\"x\",\"mode\":\"bad\"}", 0);
	assert_string_equal(str_of(r, "msg"),
	                    "lua/modules/probe.lua: run must return a table (got number)");
	json_decref(r);
	mod_run_release(&m);
}

static void expect_module_error(const char *name, const char *text, const char *want)
{
	struct err e;
	char msg[2048];
	char *path = write_tmp(name, text);
	err_init(&e);
	assert_true(lua_modules_load_file(path, &e) < 0);
	if (!strstr(err_format(&e, msg, sizeof(msg)), want))
		fail_msg("%s: got '%s', want '%s'", name, msg, want);
	rm_tmp(path);
}

static void test_lua_module_errors(void **state)
{
	(void)state;
	expect_module_error("a.lua", "return 1",
	                    "must return a table {name=..., args=..., run=...}");
	expect_module_error("b.lua", "return {name = 'x y', run = print}",
	                    "a Lua module needs name");
	expect_module_error("c.lua", "return {name = 'norun'}", "has no run = function(ctx, args)");
	expect_module_error("d.lua",
	                    "return {name = 'badtype', run = print, args = {{name = 'a', "
	                    "type = 'string'}}}",
	                    "args 'a': unknown type 'string'");
	expect_module_error("e.lua",
	                    "return {name = 'noname', run = print, args = {{type = 'str'}}}",
	                    "args[1] has no name");
	expect_module_error("f.lua", "return {name = 'lua_probe', run = print}",
	                    "Lua module 'lua_probe' is already defined in lua/modules/probe.lua");
	expect_module_error("g.lua",
	                    "return {name = 'loops', run = print, args = (function() "
	                    "while true do end end)()}",
	                    "million Lua instructions");
}

static char *node_label(const char *node, const char *key)
{
	char *cmd = xasprintf("k3s kubectl get node %s -o json", node);
	FILE *p = popen(cmd, "r");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	json_t *obj;
	const char *v;
	char *ret;
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_add(&b, chunk, n);
	pclose(p);
	obj = json_loads(buf_str(&b), 0, NULL);
	assert_non_null(obj);
	v = json_string_value(
	    json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key));
	ret = v ? xstrdup(v) : NULL;
	json_decref(obj);
	buf_release(&b);
	free(cmd);
	return ret;
}

static void test_node_labels(void)
{
	struct mod_run m;
	struct err e;
	json_t *r;
	char *v;
	char msg[2048];
	err_init(&e);
	if (lua_modules_load_path(NULL, &e) < 0)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	assert_non_null(module_find("node_labels"));
	expect_invalid("node_labels", "{}", "labels");
	expect_invalid("node_labels", "{\"labels\":{\"a\":\"b\"},\"state\":\"gone\"}", "gone");
	mod_run_init(&m, "k3s-s-01");
	/* check mode: reports the change, touches nothing */
	r = run_module(&m, "node_labels",
	               "{\"node\":\"k3s-w-01\",\"labels\":{\"tier\":\"edge\",\"zone\":\"rack-2\"}}",
	               1);
	if (!json_is_true(json_object_get(r, "changed")))
		fail_msg("check mode: %s", str_of(r, "msg"));
	assert_string_equal(str_of(r, "msg"), "would change 2 label(s) on k3s-w-01");
	json_decref(r);
	assert_null(node_label("k3s-w-01", "tier"));
	/* for real */
	r = run_module(&m, "node_labels",
	               "{\"node\":\"k3s-w-01\",\"labels\":{\"tier\":\"edge\",\"zone\":\"rack-2\"}}",
	               0);
	if (!json_is_true(json_object_get(r, "changed")))
		fail_msg("not changed: %s", str_of(r, "msg"));
	json_decref(r);
	v = node_label("k3s-w-01", "tier");
	assert_string_equal(v, "edge");
	free(v);
	/* again: nothing to do, no kubectl label */
	r = run_module(&m, "node_labels",
	               "{\"node\":\"k3s-w-01\",\"labels\":{\"tier\":\"edge\",\"zone\":\"rack-2\"}}",
	               0);
	assert_true(json_is_false(json_object_get(r, "changed")));
	assert_string_equal(str_of(r, "msg"), "labels on k3s-w-01 already as wanted");
	json_decref(r);
	/* one value changes, one label goes */
	r = run_module(&m, "node_labels", "{\"node\":\"k3s-w-01\",\"labels\":{\"tier\":\"core\"}}",
	               0);
	assert_true(json_is_true(json_object_get(r, "changed")));
	json_decref(r);
	v = node_label("k3s-w-01", "tier");
	assert_string_equal(v, "core");
	free(v);
	r = run_module(&m, "node_labels",
	               "{\"node\":\"k3s-w-01\",\"labels\":{\"zone\":\"\"},\"state\":\"absent\"}",
	               0);
	assert_true(json_is_true(json_object_get(r, "changed")));
	json_decref(r);
	assert_null(node_label("k3s-w-01", "zone"));
	/* bad input and a missing node fail with a clear message */
	r = run_module(&m, "node_labels", "{\"node\":\"k3s-w-01\",\"labels\":{\"bad key!\":\"x\"}}",
	               0);
	assert_string_equal(str_of(r, "msg"), "invalid label key 'bad key!'");
	json_decref(r);
	r = run_module(&m, "node_labels", "{\"node\":\"k3s-w-09\",\"labels\":{\"a\":\"b\"}}", 0);
	assert_true(json_is_true(json_object_get(r, "failed")));
	assert_non_null(strstr(str_of(r, "msg"), "cannot read node k3s-w-09 (rc=1): "));
	assert_non_null(strstr(str_of(r, "msg"), "not found"));
	json_decref(r);
	mod_run_release(&m);
}

static void test_k8s_standin(void **state)
{
	struct apisrv a;
	(void)state;
	apisrv_start(&a);
	test_cluster_gate(&a);
	test_node_labels();
	apisrv_stop(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_events_in_order),
	    cmocka_unit_test(test_veto),
	    cmocka_unit_test(test_two_files_order),
	    cmocka_unit_test(test_concurrent_fire),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_sandbox_blocks),
	    cmocka_unit_test(test_runaway_loop),
	    cmocka_unit_test(test_memory_cap),
	    cmocka_unit_test(test_memory_full_state),
	    cmocka_unit_test(test_error_traceback),
	    cmocka_unit_test(test_patterns_like_lua),
	    cmocka_unit_test(test_pattern_limit),
	    cmocka_unit_test(test_json_roundtrip),
	    cmocka_unit_test(test_json_lua_side),
	    cmocka_unit_test(test_api_env),
	    cmocka_unit_test(test_exec_bounded),
	    cmocka_unit_test(test_api_without_env),
	    cmocka_unit_test(test_http),
	    cmocka_unit_test(test_webhook_notify),
	    cmocka_unit_test(test_maintenance_window),
	    cmocka_unit_test(test_lua_module),
	    cmocka_unit_test(test_lua_module_errors),
	    cmocka_unit_test(test_k8s_standin),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("DROVER_TEST_FILTER"))
		cmocka_set_test_filter(getenv("DROVER_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
