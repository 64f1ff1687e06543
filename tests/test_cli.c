/*
 * The command line as users type it: Ansible's flags, repeatable -i/-e,
 * -vvv, everything after "--" kept as a command, and a clear refusal of
 * unknown options, options a command does not take, and bad numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* cli_parse over a NULL-terminated list; argv[0] is the command. */
static int parse(struct cli *c, const char *const *args)
{
	int n = 0;
	while (args[n])
		n++;
	char **argv = calloc((size_t)n + 1, sizeof(*argv));
	for (int i = 0; i < n; i++)
		argv[i] = (char *)args[i];
	memset(c, 0, sizeof(*c));
	config_init(&c->cfg);
	int rc = cli_parse(c, args[0], n, argv);
	free(argv);
	return rc;
}

static void test_run_flags(void **state)
{
	(void)state;
	struct cli c;
	const char *a[] = {"run",
	                   "-i",
	                   "a.ini",
	                   "--inventory",
	                   "b.yml",
	                   "-e",
	                   "x=1",
	                   "--extra-vars",
	                   "@vars.yml",
	                   "-vvv",
	                   "-v",
	                   "-l",
	                   "k3s_*",
	                   "-f",
	                   "10",
	                   "-C",
	                   "--diff",
	                   "-b",
	                   "--become-user",
	                   "admin",
	                   "-u",
	                   "deploy",
	                   "--private-key",
	                   "k",
	                   "-T",
	                   "30",
	                   "-t",
	                   "a,b",
	                   "--skip-tags",
	                   "c",
	                   "site.yml",
	                   "more.yml",
	                   NULL};
	assert_int_equal(parse(&c, a), 0);
	assert_int_equal(c.inventories.n, 2);
	assert_string_equal(c.inventories.v[0], "a.ini");
	assert_string_equal(c.inventories.v[1], "b.yml");
	assert_int_equal(c.extra_vars.n, 2);
	assert_string_equal(c.extra_vars.v[1], "@vars.yml");
	assert_int_equal(c.verbosity, 4);
	assert_string_equal(c.limit, "k3s_*");
	assert_int_equal(c.forks, 10);
	assert_true(c.check && c.diff && c.become);
	assert_string_equal(c.become_user, "admin");
	assert_string_equal(c.user, "deploy");
	assert_string_equal(c.private_key, "k");
	assert_int_equal(c.timeout, 30);
	assert_string_equal(c.tags, "a,b");
	assert_string_equal(c.skip_tags, "c");
	assert_int_equal(c.args.n, 2);
	assert_string_equal(c.args.v[0], "site.yml");
	assert_int_equal(c.command.n, 0);
	cli_release(&c);
}

static void test_double_dash(void **state)
{
	(void)state;
	struct cli c;
	const char *a[] = {"exec", "-i", "h,", "all", "--", "ls", "-la", "--", "-i", NULL};
	assert_int_equal(parse(&c, a), 0);
	assert_int_equal(c.args.n, 1);
	assert_string_equal(c.args.v[0], "all");
	/* after the first "--" nothing is an option, not even another "--" */
	assert_int_equal(c.command.n, 4);
	assert_string_equal(c.command.v[0], "ls");
	assert_string_equal(c.command.v[1], "-la");
	assert_string_equal(c.command.v[2], "--");
	assert_string_equal(c.command.v[3], "-i");
	assert_int_equal(c.inventories.n, 1);
	cli_release(&c);
}

static void test_inventory_flags(void **state)
{
	(void)state;
	struct cli c;
	const char *a[] = {"inventory", "-i", "x", "--graph", "k3s_cluster", "--yaml", NULL};
	assert_int_equal(parse(&c, a), 0);
	assert_true(c.graph && c.yaml && !c.list);
	assert_string_equal(c.args.v[0], "k3s_cluster");
	cli_release(&c);
	const char *b[] = {"inventory", "--host", "pve1", "--list", NULL};
	assert_int_equal(parse(&c, b), 0);
	assert_string_equal(c.host, "pve1");
	assert_true(c.list);
	cli_release(&c);
}

static void expect_refused(const char *const *a)
{
	struct cli c;
	assert_int_equal(parse(&c, a), EXIT_ERROR);
	cli_release(&c);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *unknown[] = {"run", "--frobnicate", "site.yml", NULL};
	expect_refused(unknown);
	const char *unknown_short[] = {"run", "-Z", NULL};
	expect_refused(unknown_short);
	const char *needs_value[] = {"run", "site.yml", "-i", NULL};
	expect_refused(needs_value);
	/* options that belong to other commands */
	const char *doc_inv[] = {"doc", "-i", "hosts", NULL};
	expect_refused(doc_inv);
	const char *inv_check[] = {"inventory", "--check", "--list", NULL};
	expect_refused(inv_check);
	const char *run_module[] = {"run", "-m", "ping", "site.yml", NULL};
	expect_refused(run_module);
	const char *inv_forks[] = {"inventory", "-f", "3", "--list", NULL};
	expect_refused(inv_forks);
	/* -f and -T need whole numbers of at least 1 */
	const char *f0[] = {"run", "-f", "0", "s.yml", NULL};
	expect_refused(f0);
	const char *fx[] = {"run", "-f", "lots", "s.yml", NULL};
	expect_refused(fx);
	const char *fpart[] = {"run", "--forks=5x", "s.yml", NULL};
	expect_refused(fpart);
	const char *tneg[] = {"run", "-T", "-3", "s.yml", NULL};
	expect_refused(tneg);
	const char *out[] = {"run", "--output", "xml", "s.yml", NULL};
	expect_refused(out);
	const char *cmd[] = {"frobnicate", NULL};
	expect_refused(cmd);
}

static void test_help(void **state)
{
	(void)state;
	struct cli c;
	const char *a[] = {"run", "--help", NULL};
	/* help is printed and parsing stops with the "exit 0" marker */
	assert_int_equal(parse(&c, a), -EXIT_OK - 1000);
	cli_release(&c);
}

static void test_config_inventory(void **state)
{
	(void)state;
	struct cli c;
	const char *a[] = {"inventory", "--list", NULL};
	assert_int_equal(parse(&c, a), 0);
	c.cfg.inventory = strdup("a.ini,b.yml");
	const struct strlist *l = cli_inventories(&c);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[1], "b.yml");
	cli_release(&c);
	/* -i wins over the config */
	const char *b[] = {"inventory", "-i", "x.ini", "--list", NULL};
	assert_int_equal(parse(&c, b), 0);
	c.cfg.inventory = strdup("a.ini");
	l = cli_inventories(&c);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0], "x.ini");
	cli_release(&c);
	/* relative paths are relative to the config file's directory */
	assert_int_equal(parse(&c, a), 0);
	c.cfg.path = strdup("/etc/ansible/ansible.cfg");
	c.cfg.inventory = strdup("hosts.ini,/srv/inv,~/inv.yml");
	l = cli_inventories(&c);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->v[0], "/etc/ansible/hosts.ini");
	assert_string_equal(l->v[1], "/srv/inv");
	assert_string_equal(l->v[2], "~/inv.yml");
	cli_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_flags),
	    cmocka_unit_test(test_double_dash),
	    cmocka_unit_test(test_inventory_flags),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_config_inventory),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
