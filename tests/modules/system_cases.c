/* Module cases: user, group, apt and service on this machine, and systemd in a lab node. Included
 * by tests/test_modules.c, whose fixture (a local connection, a scratch directory,
 * run()/expect_ok()...) they use. */
/* ---- user, group, apt: real accounts and dpkg on this machine ---- */

static void test_user_group(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip();
	const char *g = "drovertestg", *u = "drovertestu";
	system("userdel -r drovertestu >/dev/null 2>&1; groupdel drovertestg >/dev/null 2>&1");
	json_t *r = run("group", "{\"name\": \"%s\", \"gid\": 42424}", g);
	assert_int_equal(json_integer_value(json_object_get(r, "gid")), 42424);
	expect_ok(r, 1);
	expect_ok(run("group", "{\"name\": \"%s\", \"gid\": 42424}", g), 0);
	r = run("user",
	        "{\"name\": \"%s\", \"uid\": 42425, \"groups\": [\"%s\"], \"shell\": "
	        "\"/bin/sh\", \"home\": \"%s\"}",
	        u, g, P("home-u"));
	assert_int_equal(json_integer_value(json_object_get(r, "uid")), 42425);
	assert_string_equal(s(r, "groups"), g);
	expect_ok(r, 1);
	assert_int_equal(access(P("home-u"), F_OK), 0);
	expect_ok(run("user",
	              "{\"name\": \"%s\", \"uid\": 42425, \"groups\": [\"%s\"], \"shell\": "
	              "\"/bin/sh\", \"home\": \"%s\"}",
	              u, g, P("home-u")),
	          0);
	/* a password hash is compared with shadow's */
	const char *hash =
	    "$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130MTSuDDl3aCI6"
	    "WouIL9AjRbLCelDCy.g.";
	expect_ok(run("user", "{\"name\": \"%s\", \"password\": \"%s\"}", u, hash), 1);
	expect_ok(run("user", "{\"name\": \"%s\", \"password\": \"%s\"}", u, hash), 0);
	r = run_check("user", "{\"name\": \"%s\", \"shell\": \"/bin/bash\"}", u);
	assert_true(changed(r));
	json_decref(r);
	expect_ok(run("user", "{\"name\": \"%s\", \"state\": \"absent\", \"remove\": true}", u), 1);
	expect_ok(run("user", "{\"name\": \"%s\", \"state\": \"absent\"}", u), 0);
	expect_ok(run("group", "{\"name\": \"%s\", \"state\": \"absent\"}", g), 1);
	expect_ok(run("group", "{\"name\": \"%s\", \"state\": \"absent\"}", g), 0);
}

static void test_apt_query(void **state)
{
	(void)state;
	if (access("/usr/bin/dpkg-query", X_OK) != 0)
		skip();
	/* installed already: dpkg says so, apt-get never runs */
	json_t *r = run("apt", "{\"name\": [\"coreutils\", \"bash\"]}");
	assert_false(json_is_true(json_object_get(r, "cache_updated")));
	expect_ok(r, 0);
	r = run("package", "{\"name\": \"coreutils\", \"state\": \"present\"}");
	expect_ok(r, 0);
	/* check mode for removal reports a change and removes nothing */
	r = run_check("apt", "{\"name\": \"coreutils\", \"state\": \"absent\"}");
	assert_true(changed(r) || failed(r));
	json_decref(r);
	assert_int_equal(access("/bin/ls", X_OK), 0);
	/* dist-upgrade simulated: runs apt-get -s, reports, changes nothing */
	r = run_check("apt", "{\"upgrade\": \"dist\"}");
	assert_false(failed(r));
	assert_non_null(strstr(s(r, "stdout"), "upgraded"));
	json_decref(r);
}

/* service on a host without systemd: a real SysV init script in
 * /etc/init.d (installed for the test, removed after) */
static void test_service_sysv(void **state)
{
	(void)state;
	if (getuid() != 0 || access("/run/systemd/system", F_OK) == 0 ||
	    access("/usr/sbin/update-rc.d", X_OK) != 0)
		skip();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "install -m 0755 %s/files/sysv-init.sh /etc/init.d/drover-mod-test", basedir);
	assert_int_equal(system(cmd), 0);
	json_t *r = run("service", "{\"name\": \"drover-mod-test\", \"state\": \"started\", "
	                           "\"enabled\": true}");
	assert_string_equal(s(r, "state"), "started");
	expect_ok(r, 1);
	assert_int_equal(system("/etc/init.d/drover-mod-test status"), 0);
	assert_int_equal(system("ls /etc/rc2.d/S*drover-mod-test >/dev/null 2>&1"), 0);
	expect_ok(run("service", "{\"name\": \"drover-mod-test\", \"state\": \"started\", "
	                         "\"enabled\": true}"),
	          0);
	expect_ok(run("service", "{\"name\": \"drover-mod-test\", \"state\": \"restarted\"}"), 1);
	expect_ok(run_check("service", "{\"name\": \"drover-mod-test\", \"state\": \"stopped\"}"),
	          1);
	assert_int_equal(system("/etc/init.d/drover-mod-test status"), 0);
	expect_ok(run("service", "{\"name\": \"drover-mod-test\", \"state\": \"stopped\", "
	                         "\"enabled\": false}"),
	          1);
	assert_true(system("/etc/init.d/drover-mod-test status") != 0);
	expect_ok(run("service", "{\"name\": \"drover-mod-test\", \"state\": \"stopped\", "
	                         "\"enabled\": false}"),
	          0);
	r = run("service", "{\"name\": \"drover-no-such-service\", \"state\": \"started\"}");
	assert_true(failed(r));
	json_decref(r);
	assert_int_equal(system("update-rc.d -f drover-mod-test remove >/dev/null 2>&1; rm -f "
	                        "/etc/init.d/drover-mod-test"),
	                 0);
}

/* ---- service, systemd: real systemd in a lab node (tests/lab) that this
 * test boots itself (its own state dir and addresses) and removes after ---- */

#define MODLAB_ENV                                                                                 \
	"DROVER_LAB_STATE=/var/lib/drover-lab-test-modules DROVER_LAB_NET=127.0.64 "               \
	"DROVER_LAB_SSH_PORT=2222 "

static int modlab_down(void **state)
{
	(void)state;
	if (system(MODLAB_ENV "../tests/lab/lab down >/dev/null 2>&1") != 0)
		fprintf(stderr, "test_modules: 'lab down' of its lab failed\n");
	return 0;
}

static json_t *run_on(struct conn *c, const char *mod, int check, const char *fmt, ...)
{
	const struct module_def *m = module_find(mod);
	char text[4096];
	struct task_ctx ctx;
	json_t *args, *clean = NULL, *result = json_object();
	struct err e;
	va_list ap;
	err_init(&e);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	args = json_loads(text, 0, NULL);
	assert_non_null(args);
	if (module_validate(m, args, &clean, &e) < 0)
		fail_msg("validate %s: %s", mod, e.msg);
	init_ctx(&ctx, check, 0);
	ctx.conn = c;
	if (m->run(&ctx, clean, result, &e) < 0)
		fail_msg("run %s %s: %s", mod, text, e.msg);
	json_decref(args);
	json_decref(clean);
	return result;
}

static void test_systemd_lab(void **state)
{
	(void)state;
	const char *key = "/var/lib/drover-lab-test-modules/id_ed25519";
	if (system(MODLAB_ENV "../tests/lab/lab up k3s-w-02 >/tmp/drover-test-modules-lab.log "
	                      "2>&1") != 0)
		fail_msg("could not boot a lab node for the systemd tests: see "
		         "/tmp/drover-test-modules-lab.log");
	struct conn_defaults d = {0};
	struct err e;
	err_init(&e);
	json_t *vars =
	    json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "ansible_connection", "ssh", "ansible_host",
	              "127.0.64.22", "ansible_port", 2222, "ansible_user", "root",
	              "ansible_ssh_private_key_file", key, "ansible_ssh_common_args",
	              "-o UserKnownHostsFile=/var/lib/drover-lab-test-modules/known_hosts -o "
	              "StrictHostKeyChecking=yes");
	struct conn_pool *lp = conn_pool_new(&d);
	struct conn *c = conn_pool_get(lp, "k3s-w-02", vars, NULL, NULL, &e);
	if (!c)
		fail_msg("lab node k3s-w-02 is up but unreachable: %s", e.msg);
	char unit[64];
	snprintf(unit, sizeof(unit), "drover-mod-%d", (int)getpid());
	expect_ok(run_on(c, "copy", 0,
	                 "{\"dest\": \"/etc/systemd/system/%s.service\", \"content\": "
	                 "\"[Service]\\nExecStart=/bin/sleep 1000\\nExecReload=/bin/true\\n"
	                 "[Install]\\nWantedBy=multi-user.target\\n\"}",
	                 unit),
	          1);
	json_t *r = run_on(c, "systemd", 0,
	                   "{\"name\": \"%s\", \"state\": \"started\", \"enabled\": true, "
	                   "\"daemon_reload\": true}",
	                   unit);
	assert_string_equal(s(r, "state"), "started");
	assert_true(json_is_true(json_object_get(r, "enabled")));
	expect_ok(r, 1);
	r = run_on(c, "systemd", 0, "{\"name\": \"%s\", \"state\": \"started\", \"enabled\": true}",
	           unit);
	assert_string_equal(s(json_object_get(r, "status"), "ActiveState"), "active");
	expect_ok(r, 0);
	/* daemon_reload on a unit already as asked is no change (Ansible: ok) */
	expect_ok(run_on(c, "systemd", 0,
	                 "{\"name\": \"%s\", \"state\": \"started\", \"enabled\": true, "
	                 "\"daemon_reload\": true}",
	                 unit),
	          0);
	expect_ok(run_on(c, "systemd", 0, "{\"daemon_reload\": true}"), 0);
	expect_ok(run_on(c, "service", 1, "{\"name\": \"%s\", \"state\": \"stopped\"}", unit), 1);
	expect_ok(run_on(c, "systemd", 0, "{\"name\": \"%s\", \"state\": \"reloaded\"}", unit), 1);
	expect_ok(run_on(c, "service", 0,
	                 "{\"name\": \"%s\", \"state\": \"stopped\", \"enabled\": "
	                 "false}",
	                 unit),
	          1);
	expect_ok(run_on(c, "service", 0,
	                 "{\"name\": \"%s\", \"state\": \"stopped\", \"enabled\": "
	                 "false}",
	                 unit),
	          0);
	r = run_on(c, "shell", 0,
	           "{\"_raw_params\": \"systemctl is-active %s; rm -f "
	           "/etc/systemd/system/%s.service; systemctl daemon-reload\"}",
	           unit, unit);
	assert_string_equal(s(r, "stdout"), "inactive");
	json_decref(r);
	r = run_on(c, "systemd", 0, "{\"name\": \"no-such-unit-%s\", \"state\": \"started\"}",
	           unit);
	assert_true(failed(r));
	assert_non_null(strstr(s(r, "msg"), "Could not find the requested service"));
	json_decref(r);
	/* setup on a real Debian node with systemd */
	r = run_on(c, "setup", 0, "{}");
	json_t *f = json_object_get(r, "ansible_facts");
	assert_string_equal(s(f, "service_mgr"), "systemd");
	assert_string_equal(s(f, "os_family"), "Debian");
	assert_string_equal(s(f, "hostname"), "k3s-w-02");
	expect_ok(r, 0);
	conn_pool_free(lp);
	json_decref(vars);
}
