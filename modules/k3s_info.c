/*
 * k3s_info: what k3s is installed on a node, read in one round trip.
 */
#include "modules/k3s.h"

static const char *const info_aliases[] = {"drover.k3s.k3s_info", NULL};

static const struct module_arg info_args[] = {
    {NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static int info_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	(void)args;
	json_t *p = k3s_probe(ctx, ctx->conn, e);
	if (!p)
		return e->code ? e->code : ERR_UNREACH;
	json_object_update(result, p);
	json_object_set_new(result, "changed", json_false());
	json_object_set_new(result, "k3s", p); /* also as one dict, for register */
	return 0;
}

const struct module_def module_k3s_info = {
    .name = "k3s_info",
    .aliases = info_aliases,
    .flags = MOD_CHECK_MODE,
    .args = info_args,
    .summary = "Report the k3s installed on a node",
    .description =
        "Reads, in one shell round trip, whether k3s is installed (/usr/local/bin/k3s), "
        "its version (k3s --version), the role (server or agent, from the systemd units "
        "k3s.service / k3s-agent.service), whether the unit is active and enabled, the "
        "datastore of a server (etcd when embedded etcd is in use, sqlite, or external), "
        "the server URL of an agent (from its env file; the token is never read out), "
        "the node name and the unit's ExecStart arguments. Read-only: never changed.",
    .run = info_run,
};
