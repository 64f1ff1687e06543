/*
 * drover exec PATTERN -- CMD... | -m MODULE -a ARGS : the `ansible` ad-hoc
 * command. A command after "--" runs through the shell module; -m defaults
 * to command; -a is k=v text or JSON. Output is Ansible's minimal callback.
 * --list-hosts lists the matching hosts and stops.
 */
#include "cli/cli.h"
#include "exec/session.h"
#include "inventory/inventory.h"
#include "modules/module.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <stdio.h>
#include <string.h>

/* `drover exec PATTERN --list-hosts`, worded and indented as `ansible
 * PATTERN --list-hosts` prints it. */
static int list_hosts(struct cli *c)
{
	struct inventory inv;
	struct err e;
	char msg[4096];
	int rc = EXIT_OK;
	json_t *hosts = NULL;
	err_init(&e);
	inventory_init(&inv);
	const struct strlist *src = cli_inventories(c);
	for (int i = 0; i < src->n && !e.code; i++)
		inventory_load(&inv, src->v[i], &e);
	if (!src->n)
		log_warn("No inventory was parsed, only implicit localhost is available");
	if (!e.code)
		inventory_finish(&inv, &e);
	if (!e.code) {
		hosts = inventory_select(&inv, c->args.v[0], c->limit, &e);
		if (!hosts && !c->limit) {
			/* as ansible: a pattern that cannot select (g[9] past the end)
			 * selects nothing */
			log_warn("%s", err_format(&e, msg, sizeof(msg)));
			err_init(&e);
			hosts = json_array();
		}
	}
	if (e.code) {
		log_error("%s", err_format(&e, msg, sizeof(msg)));
		rc = EXIT_ERROR;
		goto out;
	}
	if (!json_array_size(hosts)) {
		if (c->limit) {
			log_error(
			    "Specified inventory, host pattern and/or --limit leaves us with no "
			    "hosts to target.");
			rc = EXIT_ERROR;
			goto out;
		}
		log_warn("No hosts matched, nothing to do");
	}
	printf("  hosts (%zu):\n", json_array_size(hosts));
	for (size_t i = 0; i < json_array_size(hosts); i++)
		printf("    %s\n", json_string_value(json_array_get(hosts, i)));
out:
	json_decref(hosts);
	inventory_release(&inv);
	return rc;
}

static int report(struct err *e, int code)
{
	char msg[2600];
	log_error("%s", err_format(e, msg, sizeof(msg)));
	return code;
}

/* The module and its args from -m/-a or the words after "--". */
static json_t *adhoc_args(struct cli *c, const char **module, struct err *e)
{
	if (c->command.n) {
		struct buf b = BUF_INIT;
		for (int i = 0; i < c->command.n; i++) {
			if (i)
				buf_addc(&b, ' ');
			buf_adds(&b, c->command.v[i]);
		}
		*module = c->module ? c->module : "shell";
		json_t *a = json_pack("{ss}", "_raw_params", buf_str(&b));
		buf_release(&b);
		return a;
	}
	*module = c->module ? c->module : "command";
	const char *text = c->module_args ? c->module_args : "";
	while (*text == ' ')
		text++;
	if (*text == '{') {
		json_t *a = yaml_load_str(text, strlen(text), NULL, e);
		if (a && !json_is_object(a)) {
			json_decref(a);
			err_set(e, ERR_GENERIC, NULL, 0, 0, "-a: JSON arguments must be an object");
			return NULL;
		}
		return a;
	}
	const struct module_def *m = module_find(*module);
	if (!m) {
		err_set(e, ERR_GENERIC, NULL, 0, 0,
		        "module '%s' not found; `drover doc` lists the modules", *module);
		return NULL;
	}
	return pb_parse_kv(text, m->flags & MOD_RAW_PARAMS, e);
}

int cmd_exec(struct cli *c)
{
	struct session s;
	struct err e;
	const char *module = NULL;
	json_t *args = NULL;
	int code;
	err_init(&e);
	if (c->args.n != 1) {
		fprintf(stderr, "drover exec: give one host pattern: drover exec PATTERN -- CMD, "
		                "drover exec PATTERN -m MODULE -a ARGS, or PATTERN --list-hosts\n");
		return EXIT_ERROR;
	}
	if (c->list_hosts)
		return list_hosts(c);
	if (!c->command.n && !c->module && !c->module_args) {
		fprintf(stderr, "drover exec: nothing to run: give a command after '--', or -m "
		                "MODULE [-a ARGS]\n");
		return EXIT_ERROR;
	}
	if ((code = session_open(&s, c, OUT_ADHOC, &e))) {
		report(&e, code);
		goto out;
	}
	if (!(args = adhoc_args(c, &module, &e))) {
		code = report(&e, EXIT_ERROR);
		goto out;
	}
	code = exec_adhoc(&s.cfg, c->args.v[0], module, args, &e);
	if (code < 0)
		code = report(&e, EXIT_ERROR);
out:
	json_decref(args);
	session_close(&s);
	return code;
}
