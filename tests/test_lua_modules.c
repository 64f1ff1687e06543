/*
 * test_lua_modules.c - Lua-written modules (argspec, module_validate, check
 * mode, errors) and, against the Kubernetes API stand-in
 * (tests/lab/k3s/apiserver.py) through the real kubectl, cluster_gate.lua
 * and node_labels.lua.
 */
#include "lua/harness.h"

/* ---- against the Kubernetes API stand-in, with the real kubectl ---- */

struct apisrv {
	pid_t pid;
	int port;
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
		if (apisrv_try(a, a->port = 20000 + (getpid() * 7 + i * 131) % 20000) == 0)
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

/* The node's Ready condition, PATCHed on /status as a kubelet does (with
 * curl and the admin client certificate: older kubectl has no
 * --subresource). */
static void set_ready(struct apisrv *a, const char *node, const char *status, const char *message)
{
	assert_int_equal(
	    sh("curl -sf --cacert %s/ca.crt --cert %s/client-admin.crt --key %s/client-admin.key "
	       "-X PATCH -H 'Content-Type: application/merge-patch+json' "
	       "https://127.0.77.1:%d/api/v1/nodes/%s/status -d "
	       "'{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
	       "\"reason\":\"Test\",\"message\":\"%s\"}]}}' >/dev/null",
	       a->state, a->state, a->state, a->port, node, status, message),
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
	gate_vars(t);
	h = hooks_with(t, "../lua/hooks/cluster_gate.lua", NULL);
	/* all Ready: drain goes ahead, after one look at the cluster */
	assert_int_equal(fire(h, "host_task_start",
	                      "{\"task\":\"Drain\",\"action\":\"drain\",\"host\":\"k3s-w-01\"}",
	                      &veto),
	                 0);
	assert_string_equal(buf_str(&t->cmds), "k3s-s-01: k3s kubectl get nodes -o json\n");
	/* one node NotReady: drain refused, naming it */
	set_ready(a, "k3s-w-02", "False", "container runtime is down");
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
	set_ready(a, "k3s-w-02", "True", "kubelet is posting ready status");
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
	assert_int_equal(lua_modules_load_file("./lua/../lua/modules/probe.lua", &e), 0);
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

/* drover.http over TLS: the stand-in's own CA verifies it, no CA fails. */
static void test_https(struct apisrv *a)
{
	struct test_env *t = env_new();
	char *body =
	    xasprintf("local url = 'https://127.0.77.1:%d/version'\n"
	              "local r, err = drover.http{url = url, ca = '%s/ca.crt', timeout = 10}\n"
	              "assert(r, err)\n"
	              "assert(r.status >= 200 and r.status < 500, r.status)\n"
	              "local none, why = drover.http{url = url, timeout = 10}\n"
	              "assert(none == nil and why:match('certificate'), why)\n"
	              "assert(drover.http{url = url, insecure = true, timeout = 10})",
	              a->port, a->state);
	char *veto = run_body(body, NULL, t);
	if (veto)
		fail_msg("https: %s", veto);
	free(body);
	env_free(t);
}

static void test_k8s_standin(void **state)
{
	struct apisrv a;
	(void)state;
	apisrv_start(&a);
	test_cluster_gate(&a);
	test_node_labels();
	test_https(&a);
	apisrv_stop(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lua_module),
	    cmocka_unit_test(test_lua_module_errors),
	    cmocka_unit_test(test_k8s_standin),
	};
	signal(SIGPIPE, SIG_IGN);
	if (getenv("DROVER_TEST_FILTER"))
		cmocka_set_test_filter(getenv("DROVER_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
