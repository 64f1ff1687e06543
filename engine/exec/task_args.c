/*
 * module_defaults: args a play, block, role or task gives every call of a
 * module, merged under the task's own args before validation. As in
 * ansible-core 2.14 (get_action_args_with_defaults): each level is a dict
 * or a list of dicts keyed by module name (short or FQCN, resolved to the
 * same module); levels are read outermost first and an inner entry for a
 * module replaces the outer one; values are templated; the task's args win.
 * Action groups (group/NAME) are refused: drover has no collection metadata
 * to expand them from.
 */
#include "exec/exec_int.h"
#include "modules/module.h"
#include "util/mem.h"

#include <string.h>

static int md_err(struct err *e, const json_t *owner, const char *key, const char *fmt,
                  const char *arg)
{
	struct srcpos sp = {0};
	if (srcpos_key(owner, key, &sp))
		srcpos_get(owner, &sp);
	return err_set(e, ERR_PARSE, sp.file, sp.line, sp.col, fmt, arg);
}

/* One dict of module_defaults into acc (module name -> its args). */
static int md_add_dict(json_t *acc, const json_t *d, struct err *e)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)d, k, v) {
		if (!strncmp(k, "group/", 6))
			return md_err(e, d, k,
			              "module_defaults: action groups ('%s') are not supported by "
			              "drover; list each module under module_defaults instead",
			              k);
		const struct module_def *m = module_find(k);
		if (!m)
			return md_err(e, d, k, "Could not resolve action %s in module_defaults", k);
		json_object_set(acc, m->name, v);
	}
	return 0;
}

/* One level's module_defaults value (dict or list of dicts) into acc. */
static int md_add(json_t *acc, const json_t *owner, const json_t *val, struct err *e)
{
	size_t i;
	json_t *d;
	if (json_is_object(val))
		return md_add_dict(acc, val, e);
	if (!json_is_array(val))
		goto bad;
	json_array_foreach (val, i, d) {
		if (!json_is_object(d))
			goto bad;
		if (md_add_dict(acc, d, e))
			return e->code;
	}
	return 0;
bad:
	return md_err(e, owner, "module_defaults",
	              "The field 'module_defaults' is supposed to be a dictionary or list of "
	              "dictionaries, the keys of which must be static action, module, or group "
	              "names. Only the values may contain templates. For example: %s",
	              "{'ping': \"{{ ping_defaults }}\"}");
}

json_t *exec_module_defaults(struct item_run *ir, const struct module_def *m, struct err *e)
{
	const struct pb_task *chain[64];
	int n = 0;
	json_t *acc = json_object(), *out = NULL;
	const json_t *pv = json_object_get(ir->pr->play->kw, "module_defaults");
	for (const struct pb_task *p = ir->t; p && n < 64; p = p->parent)
		chain[n++] = p;
	if (pv && md_add(acc, ir->pr->play->kw, pv, e))
		goto out;
	for (int i = n - 1; i >= 0; i--) {
		const json_t *v = json_object_get(chain[i]->kw, "module_defaults");
		if (v && md_add(acc, chain[i]->kw, v, e))
			goto out;
	}
	const json_t *mine = json_object_get(acc, m->name);
	if (!mine) {
		out = json_object();
		goto out;
	}
	struct tmpl_ctx c;
	exec_tmpl_ctx(ir->t, ir->vars, &c);
	out = tmpl_render_value(mine, &c, e);
	if (out && !json_is_object(out)) {
		json_decref(out);
		out = NULL;
		md_err(e, ir->t->kw, "module_defaults", "module_defaults for %s must be a dict",
		       m->name);
	}
out:
	json_decref(acc);
	return out;
}
