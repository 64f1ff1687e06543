/* Module cases: the controller modules, setup, slurp, fetch, script and wait_for. Included by
 * tests/test_modules.c, whose fixture (a local connection, a scratch directory,
 * run()/expect_ok()...) they use. */
/* ---- controller modules: debug, fail, assert, set_fact, include_vars, pause ---- */

static void test_controller_modules(void **state)
{
	(void)state;
	json_t *r = run("debug", "{\"msg\": \"hi\"}");
	assert_string_equal(s(r, "msg"), "hi");
	expect_ok(r, 0);
	r = run("debug", "{\"var\": \"inventory_hostname\"}");
	assert_string_equal(s(r, "inventory_hostname"), "localhost");
	expect_ok(r, 0);
	r = run("debug", "{\"var\": \"nope\"}");
	assert_string_equal(s(r, "nope"), "VARIABLE IS NOT DEFINED!");
	expect_ok(r, 0);
	r = run("debug", "{\"msg\": \"x\", \"verbosity\": 2}");
	assert_true(json_is_true(json_object_get(r, "skipped")));
	json_decref(r);

	r = run("fail", "{}");
	assert_true(failed(r));
	assert_string_equal(s(r, "msg"), "Failed as requested from task");
	json_decref(r);

	r = run("assert", "{\"that\": [\"inventory_hostname == 'localhost'\", \"1 < 2\"]}");
	assert_string_equal(s(r, "msg"), "All assertions passed");
	expect_ok(r, 0);
	/* one condition as a string, commas and all */
	expect_ok(run("assert", "{\"that\": \"2 in [1, 2, 3]\"}"), 0);
	r = run("assert", "{\"that\": \"undefined_thing.x == 1\"}");
	assert_true(failed(r));
	assert_non_null(strstr(s(r, "msg"), "The conditional check"));
	json_decref(r);
	r = run("assert", "{\"that\": [\"1 < 2\", \"2 < 1\"], \"fail_msg\": \"nope\"}");
	assert_true(failed(r));
	assert_string_equal(s(r, "msg"), "nope");
	assert_string_equal(s(r, "assertion"), "2 < 1");
	json_decref(r);

	/* Ansible 2.14: set_fact x: "true" stores a boolean */
	r = run("set_fact", "{\"a\": \"true\", \"b\": \"no\", \"c\": \"text\", \"d\": 5}");
	json_t *f = json_object_get(r, "ansible_facts");
	assert_true(json_is_true(json_object_get(f, "a")));
	assert_true(json_is_false(json_object_get(f, "b")));
	assert_string_equal(s(f, "c"), "text");
	assert_int_equal(json_integer_value(json_object_get(f, "d")), 5);
	expect_ok(r, 0);
	r = run("set_fact", "{\"bad-name\": 1}");
	assert_true(failed(r));
	json_decref(r);

	r = run("include_vars", "{\"file\": \"main.yml\"}");
	f = json_object_get(r, "ansible_facts");
	assert_string_equal(s(f, "region"), "eu");
	assert_int_equal(json_integer_value(json_object_get(f, "replicas")), 3);
	expect_ok(r, 0);
	r = run("include_vars", "{\"dir\": \"vars\", \"name\": \"cfg\"}");
	f = json_object_get(json_object_get(r, "ansible_facts"), "cfg");
	assert_string_equal(s(f, "region"), "eu");
	expect_ok(r, 0);

	r = run("pause", "{\"seconds\": 0.1}");
	/* start and stop as Ansible's pause gives them: 2026-01-02 03:04:05.678901 */
	assert_int_equal(strlen(s(r, "start")), 26);
	assert_int_equal(strlen(s(r, "stop")), 26);
	assert_true(strcmp(s(r, "start"), s(r, "stop")) < 0);
	expect_ok(r, 0);
	if (!isatty(0)) {
		/* waiting for input without a terminal would hang: an error */
		r = run("pause", "{\"prompt\": \"continue?\"}");
		assert_true(failed(r));
		json_decref(r);
	}
}

/* ---- setup, slurp, fetch, script ---- */

static void test_setup(void **state)
{
	(void)state;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	json_t *r = run("setup", "{}");
	json_t *f = json_object_get(r, "ansible_facts");
	assert_non_null(f);
	assert_null(json_object_get(f, "ansible_hostname")); /* no prefix inside ansible_facts */
	assert_int_equal(strncmp(s(f, "hostname"), host, strcspn(host, ".")), 0);
	assert_string_equal(s(f, "system"), "Linux");
	assert_true(strlen(s(f, "architecture")) > 2);
	assert_true(strlen(s(f, "kernel")) > 2);
	assert_true(strcmp(s(f, "os_family"), "(missing)"));
	assert_true(strcmp(s(f, "distribution_major_version"), "(missing)"));
	assert_true(json_integer_value(json_object_get(f, "memtotal_mb")) > 16);
	assert_true(json_integer_value(json_object_get(f, "processor_vcpus")) >= 1);
	assert_int_equal(json_integer_value(json_object_get(f, "user_uid")), (long long)getuid());
	assert_true(json_is_array(json_object_get(f, "all_ipv4_addresses")));
	assert_true(json_is_object(json_object_get(f, "default_ipv4")));
	assert_true(json_is_object(json_object_get(f, "env")));
	assert_string_equal(s(json_object_get(f, "env"), "HOME"), getenv("HOME"));
	json_t *dt = json_object_get(f, "date_time");
	assert_int_equal(strlen(s(dt, "date")), 10);
	assert_true(labs(atol(s(dt, "epoch")) - (long)time(NULL)) < 60);
	expect_ok(r, 0);
	r = run("setup", "{\"filter\": [\"ansible_distribution*\"]}");
	f = json_object_get(r, "ansible_facts");
	assert_non_null(json_object_get(f, "distribution"));
	assert_null(json_object_get(f, "kernel"));
	expect_ok(r, 0);
}

static void test_slurp_fetch_script(void **state)
{
	(void)state;
	spit(P("sl"), "hello\n");
	json_t *r = run("slurp", "{\"src\": \"%s\"}", P("sl"));
	assert_string_equal(s(r, "content"), "aGVsbG8K");
	assert_string_equal(s(r, "encoding"), "base64");
	expect_ok(r, 0);
	r = run("slurp", "{\"src\": \"%s\"}", P("nonexistent"));
	assert_true(failed(r));
	json_decref(r);

	/* fetch keeps hosts apart: dest/HOST/SRC */
	r = run("fetch", "{\"src\": \"%s\", \"dest\": \"%s/fetched\"}", P("sl"), dir);
	char want[1024];
	snprintf(want, sizeof(want), "%s/fetched/localhost%s", dir, P("sl"));
	assert_string_equal(s(r, "dest"), want);
	expect_ok(r, 1);
	assert_file(want, "hello\n");
	expect_ok(run("fetch", "{\"src\": \"%s\", \"dest\": \"%s/fetched\"}", P("sl"), dir), 0);
	expect_ok(run("fetch", "{\"src\": \"%s\", \"dest\": \"%s/\", \"flat\": true}", P("sl"),
	              P("flat")),
	          1);
	assert_file(P("flat/sl"), "hello\n");

	r = run("script", "{\"_raw_params\": \"hello.sh one 'two three'\"}");
	assert_string_equal(s(r, "stdout"), "args: one two three");
	expect_ok(r, 1);
	/* creates satisfied: the task is skipped, as Ansible's script action does */
	r = run("script", "{\"cmd\": \"hello.sh\", \"creates\": \"%s\"}", P("sl"));
	assert_true(json_is_true(json_object_get(r, "skipped")));
	char skipmsg[1200];
	snprintf(skipmsg, sizeof(skipmsg), "%s exists, matching creates option", P("sl"));
	assert_string_equal(s(r, "msg"), skipmsg);
	expect_ok(r, 0);
}

/* ---- wait_for ---- */

static void test_wait_for(void **state)
{
	(void)state;
	json_t *w = run("wait_for_connection", "{\"timeout\": 5}");
	assert_int_equal(json_integer_value(json_object_get(w, "elapsed")), 0);
	expect_ok(w, 0);
	/* check mode never reboots: it only says it would */
	w = run_check("reboot", "{}");
	assert_true(json_is_true(json_object_get(w, "rebooted")));
	expect_ok(w, 1);
	spit(P("wf"), "booting\nready on 6443\n");
	json_t *r = run("wait_for",
	                "{\"path\": \"%s\", \"search_regex\": \"ready on \\\\d+\", "
	                "\"timeout\": 5}",
	                P("wf"));
	expect_ok(r, 0);
	r = run("wait_for", "{\"path\": \"%s\", \"timeout\": 1, \"sleep\": 0.2}", P("never"));
	assert_true(failed(r));
	char want[600];
	snprintf(want, sizeof(want), "Timeout when waiting for file %s", P("never"));
	assert_string_equal(s(r, "msg"), want);
	json_decref(r);
	expect_ok(run("wait_for", "{\"path\": \"%s\", \"state\": \"absent\", \"timeout\": 2}",
	              P("never")),
	          0);
}
