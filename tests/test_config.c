/*
 * drover.cfg / ansible.cfg: which file is read (Ansible's search order,
 * drover's names first), typed keys, and errors naming file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/mem.h"

static char tmpdir[] = "/tmp/drover-test-cfg-XXXXXX";
static char oldcwd[PATH_MAX];

static char *put(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir) || !getcwd(oldcwd, sizeof(oldcwd)))
		return -1;
	char *home = xasprintf("%s/home", tmpdir), *cwd = xasprintf("%s/cwd", tmpdir);
	int rc = mkdir(home, 0700) || mkdir(cwd, 0700) || chdir(cwd);
	/* nothing from the real user or environment may leak in */
	setenv("HOME", home, 1);
	unsetenv("DROVER_CONFIG");
	unsetenv("ANSIBLE_CONFIG");
	free(home);
	free(cwd);
	return rc ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char *rm = xasprintf("rm -rf '%s'", tmpdir);
	int rc = chdir(oldcwd) || system(rm);
	free(rm);
	return rc;
}

/* Load through the search order and say which file was read. */
static char *which(void)
{
	struct config c;
	struct err e;
	err_init(&e);
	config_init(&c);
	if (config_load(&c, NULL, &e))
		fail_msg("config_load: %s", e.msg);
	char *p = c.path ? xstrdup(c.path) : NULL;
	config_release(&c);
	return p;
}

static void expect_which(const char *want)
{
	char *got = which();
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_search_order(void **state)
{
	(void)state;
	expect_which(NULL); /* no file anywhere: defaults, no error */
	char *h1 = put("home/.ansible.cfg", "[defaults]\n");
	expect_which(h1);
	char *h2 = put("home/.drover.cfg", "[defaults]\n");
	expect_which(h2);
	char *c1 = put("cwd/ansible.cfg", "[defaults]\n");
	expect_which("ansible.cfg"); /* the working directory's */
	char *c2 = put("cwd/drover.cfg", "[defaults]\n");
	expect_which("drover.cfg");
	char *a = put("a.cfg", "[defaults]\n"), *d = put("d.cfg", "[defaults]\n");
	setenv("ANSIBLE_CONFIG", a, 1);
	expect_which(a);
	setenv("DROVER_CONFIG", d, 1);
	expect_which(d);
	/* an explicit file beats the environment */
	struct config c;
	struct err e;
	err_init(&e);
	config_init(&c);
	assert_int_equal(config_load(&c, a, &e), 0);
	assert_string_equal(c.path, a);
	config_release(&c);
	/* a named file that is missing is an error, not a silent fallback */
	setenv("DROVER_CONFIG", "/nonexistent/drover.cfg", 1);
	err_init(&e);
	config_init(&c);
	assert_int_not_equal(config_load(&c, NULL, &e), 0);
	assert_string_equal(e.file, "/nonexistent/drover.cfg");
	config_release(&c);
	unsetenv("DROVER_CONFIG");
	unsetenv("ANSIBLE_CONFIG");
	for (char *p[] = {h1, h2, c1, c2, a, d, NULL}, **q = p; *q; q++) {
		unlink(*q);
		free(*q);
	}
}

static void test_typed_keys(void **state)
{
	(void)state;
	char *p = put("typed.cfg", "# comment\n"
	                           "; another\n"
	                           "[defaults]\n"
	                           "inventory = hosts.ini,more.yml ; inline comment\n"
	                           "forks=20\n"
	                           "remote_user: admin\n"
	                           "host_key_checking = False\n"
	                           "timeout = 30\n"
	                           "stdout_callback = json\n"
	                           "something_else = kept#not-a-comment\n"
	                           "[privilege_escalation]\n"
	                           "become = yes\n"
	                           "become_user = root\n"
	                           "become_flags = -H -S\n"
	                           "become_exe = /usr/local/bin/sudo\n"
	                           "[ssh_connection]\n"
	                           "pipelining = True\n");
	struct config c;
	struct err e;
	err_init(&e);
	config_init(&c);
	assert_int_equal(c.forks, 5);
	assert_int_equal(c.timeout, 10);
	assert_int_equal(c.host_key_checking, 1);
	assert_int_equal(config_load_file(&c, p, &e), 0);
	assert_string_equal(c.inventory, "hosts.ini,more.yml");
	assert_int_equal(c.forks, 20);
	assert_string_equal(c.remote_user, "admin");
	assert_int_equal(c.host_key_checking, 0);
	assert_int_equal(c.timeout, 30);
	assert_string_equal(c.stdout_callback, "json");
	assert_int_equal(c.become, 1);
	assert_string_equal(c.become_user, "root");
	assert_string_equal(c.become_flags, "-H -S");
	assert_string_equal(c.become_exe, "/usr/local/bin/sudo");
	assert_int_equal(c.pipelining, 1);
	json_t *d = json_object_get(c.raw, "defaults");
	assert_string_equal(json_string_value(json_object_get(d, "something_else")),
	                    "kept#not-a-comment");
	config_release(&c);
	unlink(p);
	free(p);
}

static void expect_error(const char *text, int line, const char *needle)
{
	char *p = put("bad.cfg", text);
	struct config c;
	struct err e;
	err_init(&e);
	config_init(&c);
	assert_int_not_equal(config_load_file(&c, p, &e), 0);
	assert_string_equal(e.file, p);
	if (e.line != line || !strstr(e.msg, needle))
		fail_msg("got line %d '%s', want line %d '%s'", e.line, e.msg, line, needle);
	config_release(&c);
	unlink(p);
	free(p);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[defaults]\nhost_key_checking = maybe\n", 2, "boolean");
	expect_error("[privilege_escalation]\n\nbecome = 2\n", 3, "boolean");
	expect_error("[defaults]\nforks = many\n", 2, "whole number");
	expect_error("[defaults]\nforks = -1\n", 2, "whole number");
	expect_error("[defaults\nforks = 1\n", 1, "closing ']'");
	expect_error("[defaults]\njust words\n", 2, "key = value");
	struct config c;
	struct err e;
	err_init(&e);
	config_init(&c);
	assert_int_not_equal(config_load_file(&c, "/nonexistent.cfg", &e), 0);
	assert_int_equal(e.code, ERR_IO);
	config_release(&c);
}

static void test_bool(void **state)
{
	(void)state;
	const char *t[] = {"yes", "YES", "true", "True", "on", "1", "y", "t"};
	const char *f[] = {"no", "False", "off", "0", "n", "f", ""};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(config_bool(t[i]), 1);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		assert_int_equal(config_bool(f[i]), 0);
	assert_int_equal(config_bool("maybe"), -1);
	assert_int_equal(config_bool("2"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_search_order),
	    cmocka_unit_test(test_typed_keys),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_bool),
	};
	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
