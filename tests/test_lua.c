/*
 * test_lua.c - Lua hooks: events, vetoes, the sandbox and its limits,
 * string patterns, drover.json, drover.vars/template/exec, drover.http
 * against a real HTTP server on loopback, webhook_notify.lua and
 * maintenance_window.lua. Lua modules and the hooks that need the
 * Kubernetes API stand-in are in test_lua_modules.c.
 */
#include "lua/harness.h"

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
	/* the defaults come from the environment */
	setenv("DROVER_LUA_TIMEOUT", "0.3", 1);
	expect_veto("drover.sleep(5)", "sleeping past the limit of 0.3 s", NULL);
	unsetenv("DROVER_LUA_TIMEOUT");
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
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("DROVER_TEST_FILTER"))
		cmocka_set_test_filter(getenv("DROVER_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
