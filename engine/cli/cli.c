/*
 * Parsing and dispatch. Flags are parsed once, here, for every subcommand
 * (the table says which flags a subcommand takes); subcommands get a filled
 * struct cli and the loaded config.
 */
#include "cli/cli.h"
#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strlist_push(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (size_t)(l->n + 2) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
	l->v[l->n] = NULL;
}

void strlist_release(struct strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Flag groups a subcommand accepts. */
enum {
	F_INV = 1 << 0,    /* -i -l -e */
	F_CONN = 1 << 1,   /* -u -b -K -k -c -T --private-key -f */
	F_RUN = 1 << 2,    /* -C -D -t --skip-tags --start-at-task --step --list-* */
	F_ADHOC = 1 << 3,  /* -m -a */
	F_INVCMD = 1 << 4, /* --list --graph --host --yaml */
	F_TMPL = 1 << 5,   /* --host --json --when */
	F_OUT = 1 << 6,    /* --output --hook */
};

struct command {
	const char *name;
	int (*fn)(struct cli *);
	int flags;
	const char *usage;
	const char *help;
};

static const char conn_help[] = "  -u, --user USER        connect as USER\n"
                                "  -b, --become           run operations with become (sudo)\n"
                                "      --become-user U    become U (default root)\n"
                                "      --become-method M  sudo (default) or su\n"
                                "  -K, --ask-become-pass  ask for the become password\n"
                                "  -k, --ask-pass         ask for the connection password\n"
                                "      --private-key F    use this SSH private key file\n"
                                "  -c, --connection C     ssh, local or pct\n"
                                "  -T, --timeout N        connect timeout in seconds (default 10)\n"
                                "  -f, --forks N          hosts in parallel (default 5)\n";

static const char inv_help[] =
    "  -i, --inventory SRC    inventory file, directory or 'h1,h2,' (repeatable)\n"
    "  -l, --limit PATTERN    further limit the hosts ('@file' reads a file)\n"
    "  -e, --extra-vars VARS  k=v, JSON/YAML, or @file (repeatable)\n";

static const char run_help[] =
    "  -C, --check            report what would change, change nothing\n"
    "  -D, --diff             show differences of changed files\n"
    "  -t, --tags T           run only tasks tagged T (comma-separated)\n"
    "      --skip-tags T      skip tasks tagged T\n"
    "      --start-at-task N  start at the task named N\n"
    "      --step             confirm each task (needs a terminal)\n"
    "      --list-hosts       list the matching hosts and stop\n"
    "      --list-tasks       list the tasks and stop\n"
    "      --list-tags        list the tags and stop\n"
    "      --syntax-check     check the playbook and stop\n"
    "      --output FORMAT    default or json\n"
    "      --hook FILE.lua    load a Lua hook (repeatable)\n"
    "  -v, --verbose          more output (-vvv shows commands)\n";

static const struct command commands[] = {
    {"run", cmd_run, F_INV | F_CONN | F_RUN | F_OUT, "drover run [options] PLAYBOOK...",
     "Run playbooks against the inventory."},
    {"exec", cmd_exec, F_INV | F_CONN | F_RUN | F_ADHOC | F_OUT,
     "drover exec [options] PATTERN [-m MODULE -a ARGS | -- COMMAND...]",
     "Run one module, or a shell command after '--', on the matching hosts.\n"
     "  -m, --module-name M    module to run (default command)\n"
     "  -a, --args ARGS        module arguments, k=v or JSON"},
    {"inventory", cmd_inventory, F_INV | F_INVCMD,
     "drover inventory [-i SRC]... (--list | --graph [GROUP] | --host HOST) [--yaml]",
     "Show the inventory as Ansible's ansible-inventory does.\n"
     "      --list             all groups and hosts as JSON\n"
     "      --graph [GROUP]    the group tree\n"
     "      --host HOST        one host's merged variables\n"
     "      --yaml             YAML instead of JSON"},
    {"template", cmd_template, F_INV | F_TMPL,
     "drover template [-i SRC] [--host H] [-e VARS]... [--json] [--when] TEXT|@FILE",
     "Render a template (or, with --when, evaluate a condition) with a host's vars.\n"
     "      --host HOST        use this inventory host's variables\n"
     "      --json             print the result as one JSON value\n"
     "      --when             evaluate TEXT as a bare conditional"},
    {"doc", cmd_doc, 0, "drover doc [MODULE]",
     "List the modules, or document one (arguments, types, defaults)."},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage_all(FILE *f)
{
	fputs("usage: drover <command> [options]\n\n"
	      "An agentless, Ansible-compatible playbook runner for small k3s platforms.\n\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *h = commands[i].help;
		const char *nl = strchr(h, '\n');
		fprintf(f, "  %-10s %.*s\n", commands[i].name, (int)(nl ? nl - h : (long)strlen(h)),
		        h);
	}
	fputs("  version    Print the version\n"
	      "  help       Show help for a command: drover help COMMAND\n",
	      f);
}

static void usage_cmd(const struct command *c, FILE *f)
{
	fprintf(f, "usage: %s\n\n%s\n\nOptions:\n", c->usage, c->help);
	if (c->flags & F_INV)
		fputs(inv_help, f);
	if (c->flags & F_CONN)
		fputs(conn_help, f);
	if (c->flags & F_RUN)
		fputs(run_help, f);
	fputs("  -h, --help             show this help\n", f);
}

enum {
	O_BECOME_USER = 256,
	O_BECOME_METHOD,
	O_PRIVATE_KEY,
	O_LIST_HOSTS,
	O_LIST_TASKS,
	O_LIST_TAGS,
	O_SYNTAX,
	O_SKIP_TAGS,
	O_START_AT,
	O_STEP,
	O_OUTPUT,
	O_HOOK,
	O_LIST,
	O_GRAPH,
	O_HOST,
	O_YAML,
	O_JSON,
	O_WHEN,
};

static const struct option long_opts[] = {
    {"inventory", required_argument, 0, 'i'},
    {"inventory-file", required_argument, 0, 'i'},
    {"limit", required_argument, 0, 'l'},
    {"forks", required_argument, 0, 'f'},
    {"extra-vars", required_argument, 0, 'e'},
    {"user", required_argument, 0, 'u'},
    {"become", no_argument, 0, 'b'},
    {"become-user", required_argument, 0, O_BECOME_USER},
    {"become-method", required_argument, 0, O_BECOME_METHOD},
    {"ask-become-pass", no_argument, 0, 'K'},
    {"ask-pass", no_argument, 0, 'k'},
    {"private-key", required_argument, 0, O_PRIVATE_KEY},
    {"key-file", required_argument, 0, O_PRIVATE_KEY},
    {"connection", required_argument, 0, 'c'},
    {"timeout", required_argument, 0, 'T'},
    {"check", no_argument, 0, 'C'},
    {"diff", no_argument, 0, 'D'},
    {"verbose", no_argument, 0, 'v'},
    {"tags", required_argument, 0, 't'},
    {"skip-tags", required_argument, 0, O_SKIP_TAGS},
    {"start-at-task", required_argument, 0, O_START_AT},
    {"step", no_argument, 0, O_STEP},
    {"list-hosts", no_argument, 0, O_LIST_HOSTS},
    {"list-tasks", no_argument, 0, O_LIST_TASKS},
    {"list-tags", no_argument, 0, O_LIST_TAGS},
    {"syntax-check", no_argument, 0, O_SYNTAX},
    {"module-name", required_argument, 0, 'm'},
    {"args", required_argument, 0, 'a'},
    {"output", required_argument, 0, O_OUTPUT},
    {"hook", required_argument, 0, O_HOOK},
    {"list", no_argument, 0, O_LIST},
    {"graph", no_argument, 0, O_GRAPH},
    {"host", required_argument, 0, O_HOST},
    {"yaml", no_argument, 0, O_YAML},
    {"json", no_argument, 0, O_JSON},
    {"when", no_argument, 0, O_WHEN},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Which flag group an option belongs to (0: every command). */
static int opt_group(int o)
{
	switch (o) {
	case 'i':
	case 'l':
	case 'e':
		return F_INV;
	case 'u':
	case 'b':
	case 'K':
	case 'k':
	case 'c':
	case 'T':
	case 'f':
	case O_BECOME_USER:
	case O_BECOME_METHOD:
	case O_PRIVATE_KEY:
		return F_CONN;
	case 'C':
	case 'D':
	case 't':
	case O_SKIP_TAGS:
	case O_START_AT:
	case O_STEP:
	case O_LIST_HOSTS:
	case O_LIST_TASKS:
	case O_LIST_TAGS:
	case O_SYNTAX:
		return F_RUN;
	case 'm':
	case 'a':
		return F_ADHOC;
	case O_LIST:
	case O_GRAPH:
	case O_YAML:
		return F_INVCMD;
	case O_HOST:
		return F_INVCMD | F_TMPL;
	case O_JSON:
	case O_WHEN:
		return F_TMPL;
	case O_OUTPUT:
	case O_HOOK:
		return F_OUT;
	default:
		return 0;
	}
}

static int parse_int(const char *cmd, const char *flag, const char *s, int min, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < min || v > 1000000) {
		fprintf(stderr, "drover %s: %s needs a whole number >= %d, not '%s'\n", cmd, flag,
		        min, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int apply_opt(struct cli *c, int o, const char *arg)
{
	switch (o) {
	case 'i':
		strlist_push(&c->inventories, arg);
		break;
	case 'l':
		c->limit = arg;
		break;
	case 'f':
		return parse_int(c->cmd, "-f/--forks", arg, 1, &c->forks);
	case 'e':
		strlist_push(&c->extra_vars, arg);
		break;
	case 'u':
		c->user = arg;
		break;
	case 'b':
		c->become = 1;
		break;
	case O_BECOME_USER:
		c->become_user = arg;
		break;
	case O_BECOME_METHOD:
		c->become_method = arg;
		break;
	case 'K':
		c->ask_become_pass = 1;
		break;
	case 'k':
		c->ask_pass = 1;
		break;
	case O_PRIVATE_KEY:
		c->private_key = arg;
		break;
	case 'c':
		c->connection = arg;
		break;
	case 'T':
		return parse_int(c->cmd, "-T/--timeout", arg, 1, &c->timeout);
	case 'C':
		c->check = 1;
		break;
	case 'D':
		c->diff = 1;
		break;
	case 'v':
		c->verbosity++;
		break;
	case 't':
		c->tags = arg;
		break;
	case O_SKIP_TAGS:
		c->skip_tags = arg;
		break;
	case O_START_AT:
		c->start_at_task = arg;
		break;
	case O_STEP:
		c->step = 1;
		break;
	case O_LIST_HOSTS:
		c->list_hosts = 1;
		break;
	case O_LIST_TASKS:
		c->list_tasks = 1;
		break;
	case O_LIST_TAGS:
		c->list_tags = 1;
		break;
	case O_SYNTAX:
		c->syntax_check = 1;
		break;
	case 'm':
		c->module = arg;
		break;
	case 'a':
		c->module_args = arg;
		break;
	case O_OUTPUT:
		if (strcmp(arg, "default") && strcmp(arg, "json")) {
			fprintf(stderr, "drover %s: --output takes 'default' or 'json', not '%s'\n",
			        c->cmd, arg);
			return -1;
		}
		c->output = arg;
		break;
	case O_HOOK:
		strlist_push(&c->hooks, arg);
		break;
	case O_LIST:
		c->list = 1;
		break;
	case O_GRAPH:
		c->graph = 1;
		break;
	case O_HOST:
		c->host = arg;
		break;
	case O_YAML:
		c->yaml = 1;
		break;
	case O_JSON:
		c->json = 1;
		break;
	case O_WHEN:
		c->when = 1;
		break;
	default:
		return -1;
	}
	return 0;
}

int cli_parse(struct cli *c, const char *cmd, int argc, char **argv)
{
	const struct command *def = find_command(cmd);
	if (!def) {
		fprintf(stderr, "drover: '%s' is not a drover command. See 'drover help'.\n", cmd);
		return EXIT_ERROR;
	}
	c->cmd = def->name;
	/* Everything after a literal "--" is a command, untouched by getopt. */
	int end = argc;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			end = i;
			for (int j = i + 1; j < argc; j++)
				strlist_push(&c->command, argv[j]);
			break;
		}
	optind = 0;
	opterr = 0;
	for (;;) {
		int o = getopt_long(end, argv, ":i:l:f:e:u:bKkc:T:CDvt:m:a:h", long_opts, NULL);
		if (o == -1)
			break;
		if (o == 'h') {
			usage_cmd(def, stdout);
			return -EXIT_OK - 1000; /* help printed: exit 0 */
		}
		if (o == '?' || o == ':') {
			const char *bad = argv[optind - 1];
			if (o == ':')
				fprintf(stderr, "drover %s: option '%s' needs a value\n", cmd, bad);
			else
				fprintf(stderr, "drover %s: unknown option '%s'\n", cmd, bad);
			fprintf(stderr, "See 'drover %s --help'.\n", cmd);
			return EXIT_ERROR;
		}
		int g = opt_group(o);
		if (g && !(g & def->flags)) {
			fprintf(stderr, "drover %s: option '%s' does not apply to this command\n",
			        cmd, argv[optind - 1]);
			return EXIT_ERROR;
		}
		if (apply_opt(c, o, optarg))
			return EXIT_ERROR;
	}
	for (int i = optind; i < end; i++)
		strlist_push(&c->args, argv[i]);
	return 0;
}

void cli_release(struct cli *c)
{
	strlist_release(&c->inventories);
	strlist_release(&c->extra_vars);
	strlist_release(&c->hooks);
	strlist_release(&c->args);
	strlist_release(&c->command);
	config_release(&c->cfg);
}

/* A relative inventory path in a config file is relative to that file's
 * directory, as in Ansible; a host list ("a,b,") is left alone. */
static void push_config_inventory(struct cli *c, const char *t)
{
	const char *cfg = c->cfg.path;
	const char *slash = cfg ? strrchr(cfg, '/') : NULL;
	if (*t == '/' || *t == '~' || !slash || strchr(t, ',')) {
		strlist_push(&c->inventories, t);
		return;
	}
	char *p = xasprintf("%.*s/%s", (int)(slash - cfg), cfg, t);
	strlist_push(&c->inventories, p);
	free(p);
}

const struct strlist *cli_inventories(struct cli *c)
{
	if (!c->inventories.n && c->cfg.inventory) {
		char *copy = xstrdup(c->cfg.inventory), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			push_config_inventory(c, t);
		free(copy);
	}
	return &c->inventories;
}

int cli_main(int argc, char **argv)
{
	log_init();
	if (argc < 2) {
		usage_all(stderr);
		return EXIT_ERROR;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("drover %s\n", DROVER_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		if (argc > 2) {
			const struct command *def = find_command(argv[2]);
			if (!def) {
				fprintf(stderr, "drover: no help for '%s': not a command\n",
				        argv[2]);
				return EXIT_ERROR;
			}
			usage_cmd(def, stdout);
			return EXIT_OK;
		}
		usage_all(stdout);
		return EXIT_OK;
	}
	struct cli c;
	memset(&c, 0, sizeof(c));
	config_init(&c.cfg);
	int rc = cli_parse(&c, cmd, argc - 1, argv + 1);
	if (rc) {
		cli_release(&c);
		return rc == -EXIT_OK - 1000 ? EXIT_OK : rc;
	}
	log_verbosity = c.verbosity;
	struct err e;
	err_init(&e);
	if (config_load(&c.cfg, NULL, &e)) {
		char msg[4096];
		log_error("%s", err_format(&e, msg, sizeof(msg)));
		cli_release(&c);
		return EXIT_ERROR;
	}
	rc = find_command(cmd)->fn(&c);
	cli_release(&c);
	srcpos_free_all();
	return rc;
}
