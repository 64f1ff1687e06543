/*
 * assert.c - assert: fail unless every condition in that holds.
 *
 * Conditions are evaluated here with tmpl_cond, as Ansible's assert action
 * does, so they are bare expressions like when.
 */
#include <stdlib.h>

#include "modules/common.h"

static int assert_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	/* a single condition may contain commas ("x in [1, 2]"): never split it */
	const json_t *that0 = json_object_get(args, "that");
	json_t *that =
	    json_is_array(that0) ? json_incref((json_t *)that0) : json_pack("[O]", that0);
	const json_t *fail_msg = json_object_get(args, "fail_msg");
	size_t i;
	json_t *c;
	(void)e;
	mod_set_changed(result, 0);
	json_array_foreach (that, i, c) {
		struct err ce;
		int yes = 0;
		err_init(&ce);
		if (tmpl_cond(c, &ctx->tmpl, &yes, &ce) < 0) {
			char *text = tmpl_to_text(c);
			mod_fail(result, "The conditional check '%s' failed. The error was: %s",
			         text, ce.msg);
			free(text);
			goto out;
		}
		if (yes)
			continue;
		json_object_set_new(result, "failed", json_true());
		json_object_set(result, "assertion", c);
		json_object_set_new(result, "evaluated_to", json_false());
		json_object_set_new(result, "msg",
		                    fail_msg ? json_incref((json_t *)fail_msg)
		                             : json_string("Assertion failed"));
		goto out;
	}
	json_object_set(result, "msg", json_object_get(args, "success_msg"));
out:
	json_decref(that);
	return 0;
}

static const struct module_arg assert_args[] = {
    {"that", ARG_RAW, 1, NULL, NULL, 0, NULL,
     "Conditions (bare expressions, like when) that must all be true."},
    {"fail_msg", ARG_RAW, 0, NULL, NULL, 0, "msg", "The message when an assertion fails."},
    {"success_msg", ARG_RAW, 0, "\"All assertions passed\"", NULL, 0, NULL,
     "The message when every assertion holds."},
    {"quiet", ARG_BOOL, 0, "false", NULL, 0, NULL, "Say less on success."},
    {NULL},
};

static const char *const assert_aliases[] = {"ansible.builtin.assert", "ansible.legacy.assert",
                                             NULL};

const struct module_def module_assert = {
    "assert",
    assert_aliases,
    MOD_CHECK_MODE | MOD_CONTROLLER,
    assert_args,
    "Fail unless given conditions hold",
    "Evaluates each condition in that; the first false one fails the host with "
    "fail_msg and names the assertion.",
    assert_run,
};
