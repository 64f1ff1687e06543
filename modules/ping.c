/*
 * ping.c - ping: prove the host can be reached and can run a command.
 */
#include <string.h>

#include "modules/common.h"

static int ping_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	struct conn_result r = {0};
	const char *data = mod_str(args, "data");
	int ret;
	if (!strcmp(data, "crash")) {
		mod_fail(result, "boom");
		return 0;
	}
	if ((ret = mod_sh(ctx, "true", &r, e)) == 0) {
		if (r.rc != 0)
			mod_fail(result, "the host could not run /bin/sh (rc=%d): %s", r.rc,
			         buf_str(&r.err));
		else
			json_object_set_new(result, "ping", json_string(data));
		mod_set_changed(result, 0);
	}
	conn_result_release(&r);
	return ret;
}

static const struct module_arg ping_args[] = {
    {"data", ARG_STR, 0, "\"pong\"", NULL, 0, NULL,
     "What to return in ping; \"crash\" makes the module fail."},
    {NULL},
};

static const char *const ping_aliases[] = {"ansible.builtin.ping", "ansible.legacy.ping", NULL};

const struct module_def module_ping = {
    "ping",
    ping_aliases,
    MOD_CHECK_MODE,
    ping_args,
    "Check that the host can be reached and run commands",
    "Connects to the host and runs a trivial command. Returns ping: pong (or data). "
    "Needs nothing on the host but /bin/sh.",
    ping_run,
};
