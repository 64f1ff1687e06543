#include "cli/cli.h"
#include "inventory/inventory.h"
#include "util/log.h"

#include <stdio.h>

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

int cmd_exec(struct cli *c)
{
	if (c->args.n != 1) {
		fprintf(stderr, "drover exec: give one host pattern, e.g. drover exec -i hosts.ini "
		                "k3s_servers --list-hosts\n");
		return EXIT_ERROR;
	}
	if (c->list_hosts)
		return list_hosts(c);
	fprintf(stderr, "drover exec: not implemented yet\n");
	return EXIT_ERROR;
}
