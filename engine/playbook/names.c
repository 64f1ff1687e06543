/*
 * Names rendered while loading: import_tasks, import_role, roles: entries
 * and import_playbook may name their file or role with a template. Ansible
 * renders those when it parses the playbook, with what is known then: extra
 * vars, the play's vars and the vars_files it can already resolve, the vars
 * of enclosing blocks, roles and the import itself. Inventory vars and facts
 * are not known yet, so a name using them is an error that says to use
 * include_tasks / include_role, which are rendered per host at run time.
 */
#include "playbook/pb_int.h"
#include "template/tmpl.h"
#include "util/buf.h"
#include "util/mem.h"
#include "vars/vars.h"

#include <string.h>

char *pb_vars_file_path(const char *basedir, const char *name)
{
	char *p;
	if (name[0] == '/')
		return pb_is_file(name) ? xstrdup(name) : NULL;
	/* Ansible's path_dwim_relative_stack: basedir/vars/NAME, then
	 * basedir/NAME */
	if (strncmp(name, "vars/", 5)) {
		p = xasprintf("%s/vars/%s", basedir, name);
		if (pb_is_file(p))
			return p;
		free(p);
	}
	p = xasprintf("%s/%s", basedir, name);
	if (pb_is_file(p))
		return p;
	free(p);
	return NULL;
}

/* Where NAME is looked for, as pb_vars_file_path looks, into b. */
static void tried_paths(const char *basedir, const char *name, struct buf *b)
{
	if (b->len)
		buf_adds(b, ", ");
	if (name[0] == '/') {
		buf_adds(b, name);
		return;
	}
	if (strncmp(name, "vars/", 5))
		buf_addf(b, "%s/vars/%s, ", basedir, name);
	buf_addf(b, "%s/%s", basedir, name);
}

static json_t *cached_load(const char *path, json_t *cache, struct err *e)
{
	json_t *v = cache ? json_object_get(cache, path) : NULL;
	if (v)
		return json_incref(v);
	if ((v = vars_load_file(path, e)) && cache)
		json_object_set(cache, path, v);
	return v;
}

/* One vars_files entry: 0 loaded or skipped, 1 no file found (names the
 * paths tried in *tried), negative with e set. */
static int vf_entry(const struct pb_play *p, const json_t *entry, const struct tmpl_ctx *c,
                    json_t *cache, int undef_fatal, json_t *out, struct buf *tried, struct err *e)
{
	size_t n = json_is_array(entry) ? json_array_size(entry) : 1;
	for (size_t i = 0; i < n; i++) {
		const json_t *nm = json_is_array(entry) ? json_array_get(entry, i) : entry;
		struct err te;
		err_init(&te);
		if (!json_is_string(nm))
			return pb_err_at(e, nm, NULL, "vars_files entries must be file names");
		json_t *r = tmpl_render(json_string_value(nm), c, &te);
		if (!r && te.code == ERR_UNDEF && !undef_fatal)
			return 0; /* not known yet: Ansible skips the entry too */
		if (!r && te.code == ERR_UNDEF) {
			char *what = json_dumps(entry, JSON_ENCODE_ANY | JSON_COMPACT);
			err_set(e, ERR_UNDEF, c->file, c->line, c->col,
			        "an undefined variable was found when attempting to template the "
			        "vars_files item %s: %s",
			        what, te.msg);
			free(what);
			return e->code;
		}
		if (!r)
			return err_set(e, te.code, te.file, te.line, te.col, "%s", te.msg);
		char *path = NULL;
		if (json_is_string(r)) {
			path = pb_vars_file_path(p->basedir, json_string_value(r));
			if (!path)
				tried_paths(p->basedir, json_string_value(r), tried);
		}
		json_decref(r);
		if (!path)
			continue;
		json_t *v = cached_load(path, cache, e);
		free(path);
		if (!v)
			return e->code;
		json_object_update(out, v);
		json_decref(v);
		return 0;
	}
	return 1;
}

int pb_vars_files_load(const struct pb_play *p, const json_t *vars, json_t *cache, const char *host,
                       int undef_fatal, json_t *out, struct err *e)
{
	const json_t *vf = json_object_get(p->kw, "vars_files");
	struct tmpl_ctx c = {0};
	struct buf tried = BUF_INIT;
	json_t *one = json_is_string(vf) ? json_pack("[O]", vf) : NULL;
	size_t i;
	json_t *entry;
	int rc = 0;
	c.vars = vars;
	c.trim_blocks = 1;
	json_array_foreach (one ? one : vf, i, entry) {
		struct srcpos sp = {0};
		srcpos_get(entry, &sp);
		c.file = sp.file;
		c.line = sp.line;
		c.col = sp.col;
		buf_reset(&tried);
		rc = vf_entry(p, entry, &c, cache, undef_fatal, out, &tried, e);
		if (rc < 0)
			break;
		if (rc == 1 && host) {
			char *what = json_dumps(entry, JSON_ENCODE_ANY | JSON_COMPACT);
			rc = err_set(e, ERR_IO, sp.file, sp.line, sp.col,
			             "vars file %s was not found on the controller for host %s "
			             "(tried %s); create it, or give a list of names of which the "
			             "first that exists is used",
			             what, host, buf_str(&tried));
			free(what);
			break;
		}
		rc = 0;
	}
	buf_release(&tried);
	json_decref(one);
	return rc;
}

int pb_play_vars_begin(struct playbook *pb, struct pb_play *p, struct err *e)
{
	json_t *ctxvars = json_deep_copy(p->import_vars);
	int rc;
	json_decref(p->static_vars);
	pb->cur_play = p;
	json_object_update(ctxvars, json_object_get(p->kw, "vars"));
	json_object_set_new(ctxvars, "playbook_dir", json_string(pb->dir));
	json_object_set_new(ctxvars, "ansible_version", vars_ansible_version());
	json_object_set_new(ctxvars, "ansible_play_name", json_string(p->name));
	p->static_vars = json_deep_copy(ctxvars);
	if (pb->env.vars)
		json_object_update(ctxvars, (json_t *)pb->env.vars);
	/* files that need host vars are left to the executor */
	rc = pb_vars_files_load(p, ctxvars, NULL, NULL, 0, p->static_vars, e);
	json_decref(ctxvars);
	return rc;
}

void pb_play_vars_end(struct playbook *pb)
{
	pb->cur_play = NULL;
}

/* Vars of the blocks, roles and imports above t (t included), outermost
 * first. */
static void ancestors_vars(const struct pb_task *t, json_t *out)
{
	const struct pb_task *chain[64];
	int n = 0;
	for (; t && n < 64; t = t->parent)
		chain[n++] = t;
	for (int i = n - 1; i >= 0; i--) {
		const json_t *v = json_object_get(chain[i]->kw, "vars");
		if (chain[i]->role) {
			json_object_update(out, chain[i]->role->defaults);
			json_object_update(out, chain[i]->role->vars);
			json_object_update(out, chain[i]->role->params);
		}
		if (json_is_object(v))
			json_object_update(out, (json_t *)v);
	}
}

int pb_render_name(struct playbook *pb, const struct pb_task *t, const json_t *local,
                   const json_t *at, const char *key, const char *name, const char *advice,
                   char **out, struct err *e)
{
	struct srcpos sp = {0};
	struct tmpl_ctx c = {0};
	struct err te;
	*out = NULL;
	if (!tmpl_has_template(name)) {
		*out = xstrdup(name);
		return 0;
	}
	const json_t *sv = pb->cur_play ? pb->cur_play->static_vars : NULL;
	json_t *vars = sv ? json_deep_copy(sv) : json_object();
	if (!sv)
		json_object_set_new(vars, "playbook_dir", json_string(pb->dir));
	ancestors_vars(t, vars);
	if (json_is_object(local))
		json_object_update(vars, (json_t *)local);
	if (pb->env.vars)
		json_object_update(vars, (json_t *)pb->env.vars);
	if (key ? srcpos_key(at, key, &sp) : srcpos_get(at, &sp))
		srcpos_get(at, &sp);
	c.vars = vars;
	c.file = sp.file;
	c.line = sp.line;
	c.col = sp.col;
	c.trim_blocks = 1;
	err_init(&te);
	json_t *r = tmpl_render(name, &c, &te);
	json_decref(vars);
	if (r && json_is_string(r))
		*out = xstrdup(json_string_value(r));
	json_decref(r);
	if (*out)
		return 0;
	if (!r && te.code != ERR_UNDEF)
		return err_set(e, te.code, te.file, te.line, te.col, "%s", te.msg);
	return err_set(e, ERR_UNDEF, sp.file, sp.line, sp.col,
	               "Error when evaluating variable in import path: %s: %s. Static "
	               "imports are rendered when the playbook is loaded, with extra vars "
	               "(-e), the play's vars and vars_files only, not inventory (host or "
	               "group) vars or facts; %s",
	               name, r ? "it is not a string" : te.msg, advice);
}
