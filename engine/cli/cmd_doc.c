/*
 * cmd_doc.c - `drover doc [MODULE]`: the module list with summaries, or one
 * module's documentation, printed from the registry's argspec table so the
 * docs cannot drift from what the validator accepts.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lua/lmodule.h"
#include "modules/module.h"

static const char *const type_names[] = {"str",  "int",  "float", "bool", "list",
                                         "dict", "path", "raw",   "mode"};

/* Print text wrapped at 78 columns with the given indent. */
static void wrap(const char *text, int indent)
{
	int col = 0;
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, " \n");
		if (col && col + 1 + (int)n > 78) {
			putchar('\n');
			col = 0;
		}
		if (!col)
			col = printf("%*s", indent, "");
		else
			col += printf(" ");
		col += printf("%.*s", (int)n, p);
		p += n;
		while (*p == ' ' || *p == '\n')
			p++;
	}
	if (col)
		putchar('\n');
}

static void print_list(void)
{
	const struct module_def *const *all = module_all();
	size_t w = 0;
	for (size_t i = 0; all[i]; i++)
		if (strlen(all[i]->name) > w)
			w = strlen(all[i]->name);
	for (size_t i = 0; all[i]; i++)
		printf("%-*s  %s\n", (int)w, all[i]->name, all[i]->summary ? all[i]->summary : "");
}

static void print_arg(const struct module_arg *a)
{
	printf("%c %s\n", a->required ? '=' : '-', a->name);
	if (a->help)
		wrap(a->help, 8);
	printf("        type: %s\n", type_names[a->type]);
	if (a->required)
		printf("        required: true\n");
	if (a->def)
		printf("        default: %s\n", a->def);
	if (a->choices) {
		printf("        choices: [");
		for (int i = 0; a->choices[i]; i++)
			printf("%s%s", i ? ", " : "", a->choices[i]);
		printf("]\n");
	}
	if (a->aliases)
		printf("        aliases: [%s]\n", a->aliases);
	if (a->no_log)
		printf("        no_log: true (never shown in output)\n");
	putchar('\n');
}

static void print_module(const struct module_def *m)
{
	printf("> %s", m->name);
	for (const char *const *a = m->aliases; a && *a; a++)
		printf("%s%s", a == m->aliases ? "    (" : ", ", *a);
	printf("%s\n\n", m->aliases && *m->aliases ? ")" : "");
	if (m->summary)
		wrap(m->summary, 2);
	putchar('\n');
	if (m->description) {
		wrap(m->description, 2);
		putchar('\n');
	}
	printf("OPTIONS (= is mandatory):\n\n");
	if (m->flags & MOD_RAW_PARAMS)
		printf("- free_form\n        The module also takes its main argument as free-form "
		       "text.\n\n");
	if (m->flags & MOD_ANY_ARGS)
		printf("- (any name)\n        Any other key is accepted as a value to set.\n\n");
	for (const struct module_arg *a = m->args; a && a->name; a++)
		print_arg(a);
	printf("ATTRIBUTES:\n  check_mode: %s\n  diff_mode: %s\n  runs on: %s\n",
	       m->flags & MOD_CHECK_MODE ? "supported" : "none (skipped under --check)",
	       m->flags & MOD_DIFF ? "supported" : "none",
	       m->flags & MOD_CONTROLLER ? "the controller" : "the host, through its connection");
}

int cmd_doc(struct cli *c)
{
	struct err e;
	char msg[2600];
	err_init(&e);
	/* Lua modules (shipped and from the library path) are documented too */
	if (lua_modules_load_path(c->cfg.library, &e) < 0) {
		fprintf(stderr, "ERROR! %s\n", err_format(&e, msg, sizeof(msg)));
		return EXIT_ERROR;
	}
	if (c->args.n == 0) {
		print_list();
		return EXIT_OK;
	}
	for (int i = 0; i < c->args.n; i++) {
		const struct module_def *m = module_find(c->args.v[i]);
		if (!m) {
			fprintf(stderr,
			        "ERROR! module '%s' not found; `drover doc` lists the modules "
			        "drover has\n",
			        c->args.v[i]);
			return EXIT_ERROR;
		}
		if (i)
			putchar('\n');
		print_module(m);
	}
	return EXIT_OK;
}
