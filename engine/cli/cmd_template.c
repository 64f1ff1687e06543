/*
 * drover template [-i SRC] [--host H] [-e VARS]... [--json] [--when] TEXT|@FILE
 *
 * Renders TEXT (or the file after @) with a host's inventory variables and
 * the extra vars, exactly as a task argument would be rendered, and prints
 * the result: a string as it is, any other value as Ansible's debug shows
 * it in text (True, None, [1, 'a']); with --json, as one JSON value. With
 * --when TEXT is a conditional (when:, failed_when:...) and the answer is
 * True or False. A template error goes to stderr with file:line:col and the
 * exit code is 1.
 */
#include "cli/cli.h"
#include "inventory/inventory.h"
#include "template/tmpl.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "vars/vars.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host's vars plus groups and hostvars, as a task sees them. */
static json_t *host_vars(struct cli *c, struct inventory *inv, struct err *e)
{
	const struct strlist *srcs = cli_inventories(c);
	for (int i = 0; i < srcs->n; i++)
		if (inventory_load(inv, srcs->v[i], e) < 0)
			return NULL;
	if (inventory_finish(inv, e) < 0)
		return NULL;
	if (!inventory_host(inv, c->host)) {
		err_set(e, ERR_GENERIC, NULL, 0, 0,
		        "host '%s' is not in the inventory (give the inventory with -i)", c->host);
		return NULL;
	}
	json_t *vars = inventory_host_vars(inv, c->host, 1);
	json_t *hostvars = json_object();
	for (int i = 0; i < inv->nhosts; i++)
		json_object_set_new(hostvars, inv->hosts[i]->name,
		                    inventory_host_vars(inv, inv->hosts[i]->name, 1));
	json_object_set_new(vars, "hostvars", hostvars);
	json_object_set_new(vars, "groups", inventory_groups_var(inv));
	return vars;
}

static void print_result(const json_t *r, int as_json)
{
	if (as_json) {
		char *s = json_dumps(r, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%s\n", s ? s : "null");
		free(s);
		return;
	}
	char *s = json_is_null(r) ? xstrdup("None") : tmpl_to_text(r);
	size_t n = strlen(s);
	fputs(s, stdout);
	if (n == 0 || s[n - 1] != '\n')
		fputc('\n', stdout);
	free(s);
}

/* TEXT, or the contents of @FILE with its name and directory. */
static char *load_text(const char *arg, char **file, char **basedir, struct err *e)
{
	if (arg[0] != '@') {
		*file = xstrdup("<command line>");
		*basedir = xstrdup(".");
		return xstrdup(arg);
	}
	size_t len;
	char *text = read_file(arg + 1, &len);
	if (!text) {
		err_set(e, ERR_IO, arg + 1, 0, 0, "cannot read the template file");
		return NULL;
	}
	*file = xstrdup(arg + 1);
	char *copy = xstrdup(arg + 1);
	*basedir = xstrdup(dirname(copy));
	free(copy);
	return text;
}

int cmd_template(struct cli *c)
{
	struct err e;
	struct inventory inv;
	json_t *vars = NULL, *extra = NULL, *r = NULL;
	char *text = NULL, *file = NULL, *basedir = NULL;
	int rc = EXIT_ERROR;
	err_init(&e);
	inventory_init(&inv);
	if (c->args.n != 1) {
		fprintf(stderr, "usage: drover template [-i SRC] [--host H] [-e VARS]... [--json] "
		                "[--when] TEXT|@FILE\n");
		goto out;
	}
	if (!(extra = vars_parse_extra(c->extra_vars.v, c->extra_vars.n, &e)))
		goto fail;
	vars = c->host ? host_vars(c, &inv, &e) : json_object();
	if (!vars)
		goto fail;
	json_object_update(vars, extra);
	if (!(text = load_text(c->args.v[0], &file, &basedir, &e)))
		goto fail;
	struct tmpl_ctx ctx = {vars, file, 1, 1, basedir, 1, 0, 0};
	if (c->when) {
		int res;
		json_t *cond = json_string(text);
		int crc = tmpl_cond(cond, &ctx, &res, &e);
		json_decref(cond);
		if (crc < 0)
			goto fail;
		r = json_boolean(res);
	} else if (!(r = tmpl_render(text, &ctx, &e))) {
		goto fail;
	}
	print_result(r, c->json);
	rc = EXIT_OK;
	goto out;
fail:;
	char msg[4096];
	fprintf(stderr, "ERROR! %s\n", err_format(&e, msg, sizeof(msg)));
out:
	json_decref(r);
	json_decref(vars);
	json_decref(extra);
	free(text);
	free(file);
	free(basedir);
	inventory_release(&inv);
	return rc;
}
