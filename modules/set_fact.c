/*
 * set_fact.c - set_fact: set host variables from the task's args.
 *
 * As in ansible-core 2.14 (jinja2_native off), a text value that reads
 * true/false/yes/no becomes a boolean.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "modules/common.h"

static int is_identifier(const char *s)
{
	static const char *const kw[] = {
	    "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
	    "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
	    "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
	    "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield",    NULL};
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	for (int i = 0; kw[i]; i++)
		if (!strcmp(s, kw[i]))
			return 0;
	return 1;
}

static int set_fact_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	json_t *facts = json_object();
	const char *k;
	json_t *v;
	(void)ctx;
	(void)e;
	mod_set_changed(result, 0);
	json_object_foreach ((json_t *)args, k, v) {
		if (!strcmp(k, "cacheable"))
			continue;
		if (!is_identifier(k)) {
			mod_fail(
			    result,
			    "The variable name '%s' is not valid. Variables must start with a "
			    "letter or underscore character, and contain only letters, numbers "
			    "and underscores.",
			    k);
			goto out;
		}
		const char *s = json_string_value(v);
		if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes")))
			json_object_set_new(facts, k, json_true());
		else if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no")))
			json_object_set_new(facts, k, json_false());
		else
			json_object_set(facts, k, v);
	}
	if (!json_object_size(facts)) {
		mod_fail(result, "No key/value pairs provided, at least one is required for this "
		                 "action to succeed");
		goto out;
	}
	json_object_set(result, "ansible_facts", facts);
	json_object_set_new(result, "_ansible_facts_cacheable",
	                    json_boolean(mod_bool(args, "cacheable")));
out:
	json_decref(facts);
	return 0;
}

static const struct module_arg set_fact_args[] = {
    {"cacheable", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Also store the facts in the fact cache, like gathered facts."},
    {NULL},
};

static const char *const set_fact_aliases[] = {"ansible.builtin.set_fact",
                                               "ansible.legacy.set_fact", NULL};

const struct module_def module_set_fact = {
    "set_fact",
    set_fact_aliases,
    MOD_CHECK_MODE | MOD_CONTROLLER | MOD_ANY_ARGS,
    set_fact_args,
    "Set host variables",
    "Every key=value (or key: value) becomes a variable of the host for the rest of "
    "the run. Text true/false/yes/no becomes a boolean, as in Ansible.",
    set_fact_run,
};
