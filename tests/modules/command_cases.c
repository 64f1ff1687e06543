/* Module cases: command, shell, raw and ping. Included by tests/test_modules.c, whose fixture
 * (a local connection, a scratch directory, run()/expect_ok()...) they use. */
/* ---- command, shell, raw, ping ---- */

static void test_command(void **state)
{
	(void)state;
	json_t *r = run("command", "{\"_raw_params\": \"echo 'a  b' $HOME\"}");
	assert_false(failed(r));
	assert_true(changed(r));
	/* no shell: the quoted spaces stay; $HOME is expanded on the host as
	 * Ansible's command module does (expandvars), cmd shows it unexpanded */
	char want[1200];
	snprintf(want, sizeof(want), "a  b %s", getenv("HOME"));
	assert_string_equal(s(r, "stdout"), want);
	assert_int_equal(json_integer_value(json_object_get(r, "rc")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "cmd")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "cmd"), 2)),
	                    "$HOME");
	assert_non_null(json_object_get(r, "delta"));
	json_decref(r);
	/* what ansible-core 2.14 prints for the same argv: set variables and a
	 * leading ~ expand, unset ones and everything else stay as written */
	r = run("command",
	        "{\"argv\": [\"printf\", \"[%%s]\", \"${HOME}\", \"a$HOME-b\", \"$NOPE_X\", "
	        "\"${NOPE_X}\", \"${a b}\", \"$$\", \"$1x\", \"~\", \"~/x\", \"~nouser_zz/q\", "
	        "\"x~\", \"it's\", \"\", \"${HOME\", \"'$HOME'\", \"*\"]}");
	const char *h = getenv("HOME");
	snprintf(
	    want, sizeof(want),
	    "[%s][a%s-b][$NOPE_X][${NOPE_X}][${a b}][$$][$1x][%s][%s/x][~nouser_zz/q][x~][it's][]"
	    "[${HOME]['%s'][*]",
	    h, h, h, h, h);
	assert_string_equal(s(r, "stdout"), want);
	json_decref(r);

	r = run("command", "{\"argv\": [\"printf\", \"%%s|\", \"x y\", \"z\"]}");
	assert_string_equal(s(r, "stdout"), "x y|z|");
	json_decref(r);

	r = run("command", "{\"_raw_params\": \"false\"}");
	assert_true(failed(r));
	assert_string_equal(s(r, "msg"), "non-zero return code");
	assert_int_equal(json_integer_value(json_object_get(r, "rc")), 1);
	json_decref(r);

	r = run("command", "{\"cmd\": \"cat\", \"stdin\": \"fed\"}");
	assert_string_equal(s(r, "stdout"), "fed");
	json_decref(r);
	r = run("command", "{\"cmd\": \"cat\", \"stdin\": \"fed\", \"strip_empty_ends\": false}");
	assert_string_equal(s(r, "stdout"), "fed\n");
	json_decref(r);

	r = run("command", "{\"cmd\": \"pwd\", \"chdir\": \"%s\"}", dir);
	assert_string_equal(s(r, "stdout"), dir);
	json_decref(r);
}

static void test_command_creates_removes(void **state)
{
	(void)state;
	spit(P("exists"), "x");
	/* ansible: "Did not run command since '/tmp/ans/a' exists", stdout
	 * "skipped, since /tmp/ans/a exists", rc 0, changed false */
	json_t *r = run("command", "{\"_raw_params\": \"touch %s\", \"creates\": \"%s\"}",
	                P("never"), P("exists"));
	assert_false(changed(r));
	char want[1024];
	snprintf(want, sizeof(want), "Did not run command since '%s' exists", P("exists"));
	assert_string_equal(s(r, "msg"), want);
	snprintf(want, sizeof(want), "skipped, since %s exists", P("exists"));
	assert_string_equal(s(r, "stdout"), want);
	assert_int_equal(access(P("never"), F_OK), -1);
	json_decref(r);

	/* a glob in creates */
	r = run("command", "{\"_raw_params\": \"touch %s\", \"creates\": \"%s/exi*\"}", P("never"),
	        dir);
	assert_false(changed(r));
	json_decref(r);

	r = run("command", "{\"_raw_params\": \"touch %s\", \"removes\": \"%s\"}", P("never"),
	        P("missing"));
	assert_false(changed(r));
	assert_int_equal(access(P("never"), F_OK), -1);
	json_decref(r);

	r = run("command", "{\"_raw_params\": \"touch %s\", \"removes\": \"%s\"}", P("ran"),
	        P("exists"));
	assert_true(changed(r));
	assert_int_equal(access(P("ran"), F_OK), 0);
	json_decref(r);
}

static void test_command_check_mode(void **state)
{
	(void)state;
	/* ansible -C: skipped, "Command would have run if not in check mode" */
	json_t *r = run_check("command", "{\"_raw_params\": \"touch %s\"}", P("chk"));
	assert_true(json_is_true(json_object_get(r, "skipped")));
	assert_false(changed(r));
	assert_string_equal(s(r, "msg"), "Command would have run if not in check mode");
	assert_int_equal(access(P("chk"), F_OK), -1);
	json_decref(r);
	/* creates decides: would run, but still nothing happens */
	r = run_check("shell", "{\"_raw_params\": \"touch %s\", \"creates\": \"%s\"}", P("chk"),
	              P("chk"));
	assert_true(changed(r));
	assert_int_equal(access(P("chk"), F_OK), -1);
	json_decref(r);
}

static void test_shell_raw_ping(void **state)
{
	(void)state;
	json_t *r = run("shell", "{\"_raw_params\": \"echo one; echo two >&2; exit 3\"}");
	assert_true(failed(r));
	assert_string_equal(s(r, "stdout"), "one");
	assert_string_equal(s(r, "stderr"), "two");
	assert_int_equal(json_integer_value(json_object_get(r, "rc")), 3);
	assert_string_equal(s(r, "cmd"), "echo one; echo two >&2; exit 3");
	json_decref(r);

	r = run("shell", "{\"cmd\": \"echo $0\", \"executable\": \"/bin/bash\"}");
	assert_string_equal(s(r, "stdout"), "/bin/bash");
	json_decref(r);

	r = run("raw", "{\"_raw_params\": \"printf 'l1\\nl2\\n'\"}");
	assert_true(changed(r));
	assert_int_equal(json_array_size(json_object_get(r, "stdout_lines")), 2);
	json_decref(r);

	r = run("ping", "{}");
	assert_string_equal(s(r, "ping"), "pong");
	expect_ok(r, 0);
}
