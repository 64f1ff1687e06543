/*
 * fail.c - fail: stop the host with a message.
 */
#include "modules/common.h"

static int fail_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	(void)ctx;
	(void)e;
	json_t *msg = json_object_get(args, "msg");
	json_object_set_new(result, "failed", json_true());
	json_object_set_new(result, "changed", json_false());
	json_object_set(result, "msg", msg);
	return 0;
}

static const struct module_arg fail_args[] = {
    {"msg", ARG_RAW, 0, "\"Failed as requested from task\"", NULL, 0, NULL,
     "The message to fail with."},
    {NULL},
};

static const char *const fail_aliases[] = {"ansible.builtin.fail", "ansible.legacy.fail", NULL};

const struct module_def module_fail = {
    "fail",    fail_aliases,          MOD_CHECK_MODE | MOD_CONTROLLER,
    fail_args, "Fail with a message", "Marks the host failed with msg; usually guarded by when.",
    fail_run,
};
