/*
 * cli.h - the command line: one parse of Ansible's flags, then dispatch to a
 * subcommand from the table in cli.c (git's commands[] and run_builtin).
 *
 * Each subcommand is `int cmd_NAME(struct cli *)` in cmd_NAME.c and returns
 * the process exit code (0 ok, 1 usage or input error, 2 a host failed,
 * 4 a host unreachable, 250 internal error). Only main() exits.
 */
#ifndef DROVER_CLI_H
#define DROVER_CLI_H

#include "config/config.h"

#define EXIT_OK          0
#define EXIT_ERROR       1
#define EXIT_FAILED      2
#define EXIT_UNREACHABLE 4
#define EXIT_INTERNAL    250

struct strlist {
	char **v;
	int n;
};

void strlist_push(struct strlist *l, const char *s);
void strlist_release(struct strlist *l);

struct cli {
	const char *cmd;
	struct strlist inventories; /* -i, repeatable; config's when none */
	const char *limit;          /* -l */
	int forks;                  /* -f; 0 = config or 5 */
	struct strlist extra_vars;  /* -e, repeatable, raw text */
	const char *user;           /* -u */
	int become;                 /* -b */
	const char *become_user, *become_method;
	int ask_become_pass, ask_pass; /* -K, -k */
	const char *private_key;       /* --private-key */
	const char *connection;        /* -c */
	int timeout;                   /* -T; 0 = config or 10 */
	int check, diff, verbosity;    /* -C -D -v */
	int list_hosts, list_tasks, list_tags, syntax_check, step;
	const char *tags, *skip_tags, *start_at_task;
	const char *module, *module_args; /* ad-hoc -m -a */
	const char *output;               /* --output: default | json */
	struct strlist hooks;             /* --hook FILE.lua */
	/* drover inventory */
	int list, graph, yaml, toml_unused;
	const char *host; /* --host H (inventory, template) */
	/* drover template */
	int json, when;
	struct strlist args;    /* positional arguments */
	struct strlist command; /* everything after a literal "--" */
	struct config cfg;
};

int cli_main(int argc, char **argv);
/* Parse argv for subcommand cmd into c (zeroed by the caller). Returns 0, or
 * an exit code after printing the problem. Exposed for tests. */
int cli_parse(struct cli *c, const char *cmd, int argc, char **argv);
void cli_release(struct cli *c);
/* The inventory sources in force: -i values, else the config's. */
const struct strlist *cli_inventories(struct cli *c);

int cmd_run(struct cli *c);
int cmd_exec(struct cli *c);
int cmd_inventory(struct cli *c);
int cmd_template(struct cli *c);
int cmd_doc(struct cli *c);

#endif
