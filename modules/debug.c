/*
 * debug.c - debug: print a message or a variable's value.
 */
#include <stdlib.h>

#include "modules/common.h"

static int debug_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *var = mod_str(args, "var");
	(void)e;
	mod_set_changed(result, 0);
	if (mod_int(args, "verbosity") > ctx->verbosity) {
		json_object_set_new(result, "skipped", json_true());
		json_object_set_new(result, "skipped_reason",
		                    json_string("Verbosity threshold not met."));
		return 0;
	}
	if (var && json_object_get(args, "msg")) {
		mod_fail(result, "'msg' and 'var' are incompatible options");
		return 0;
	}
	if (var) {
		struct err te;
		err_init(&te);
		json_t *v = tmpl_eval(var, &ctx->tmpl, &te);
		if (!v && te.code == ERR_UNDEF)
			v = json_string("VARIABLE IS NOT DEFINED!");
		else if (!v)
			v = json_string(te.msg);
		json_object_set_new(result, var, v);
		return 0;
	}
	json_t *msg = json_object_get(args, "msg");
	json_object_set_new(result, "msg", msg ? json_incref(msg) : json_string("Hello world!"));
	return 0;
}

static const struct module_arg debug_args[] = {
    {"msg", ARG_RAW, 0, NULL, NULL, 0, NULL,
     "The message to print (default Hello world!); any value, a dict or list prints as such."},
    {"var", ARG_STR, 0, NULL, NULL, 0, NULL,
     "A variable name or expression whose value to print (no {{ }})."},
    {"verbosity", ARG_INT, 0, "0", NULL, 0, NULL,
     "Print only when run with at least this many -v."},
    {NULL},
};

static const char *const debug_aliases[] = {"ansible.builtin.debug", "ansible.legacy.debug", NULL};

const struct module_def module_debug = {
    "debug",
    debug_aliases,
    MOD_CHECK_MODE | MOD_CONTROLLER,
    debug_args,
    "Print a message or a variable's value",
    "Prints msg, or the value of var (an expression evaluated on the host's vars; an "
    "undefined one prints VARIABLE IS NOT DEFINED!). Never changes anything.",
    debug_run,
};
