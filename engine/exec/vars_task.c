/*
 * The variables a task sees on a host: the vars_stack layers gathered from
 * the host's state, the play, the task's blocks and role, and the magic
 * variables Ansible adds last.
 */
#include "exec/exec_int.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <string.h>

static const char *const play_inherited[] = {
    "become",     "become_user",      "become_method", "become_flags",
    "become_exe", "environment",      "ignore_errors", "ignore_unreachable",
    "no_log",     "check_mode",       "diff",          "remote_user",
    "connection", "any_errors_fatal", "timeout",       "port",
    NULL,
};

struct hstate *exec_host(struct exec *x, const char *name)
{
	struct hstate *h = NULL;
	pthread_mutex_lock(&x->lock);
	for (int i = 0; i < x->nhosts && !h; i++)
		if (!strcmp(x->hosts[i]->name, name))
			h = x->hosts[i];
	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->name = xstrdup(name);
		h->inv_vars = inventory_host_vars(x->cfg->inv, name, 1);
		if (!h->inv_vars)
			h->inv_vars = json_object();
		h->facts = json_object();
		h->hvars = json_object();
		h->incvars = json_object();
		h->notified = json_object();
		x->hosts = xrealloc(x->hosts, (size_t)(x->nhosts + 1) * sizeof(*x->hosts));
		x->hosts[x->nhosts++] = h;
	}
	pthread_mutex_unlock(&x->lock);
	return h;
}

int host_active(const struct prun *pr, const struct hstate *h)
{
	return !h->failed && !h->unreachable && !h->ended && !pr->stop && !exec_stop_flag;
}

const json_t *exec_kw(const struct prun *pr, const struct pb_task *t, const char *k)
{
	const json_t *v = pb_task_kw(t, k);
	int i;
	if (v)
		return v;
	for (i = 0; play_inherited[i]; i++)
		if (!strcmp(play_inherited[i], k))
			return json_object_get(pr->play->kw, k);
	return NULL;
}

void exec_tmpl_ctx(const struct pb_task *t, const json_t *vars, struct tmpl_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->vars = vars;
	c->file = t ? t->pos.file : NULL;
	c->line = t ? t->pos.line : 0;
	c->col = t ? t->pos.col : 0;
	/* lookup('file'/'template') in a role look in its files/ and
	 * templates/ first, as Ansible's search path starts at the role */
	const struct pb_role *r = t ? pb_task_role(t) : NULL;
	c->basedir = r ? r->path : t ? t->basedir : NULL;
	c->trim_blocks = 1;
}

/* Layers along the task's ancestry, outermost first. The vars of a
 * run-time include (and its loop item) are include params, above
 * set_fact, as in Ansible; an import's are block vars. */
static void ancestry(const struct pb_task *t, json_t *defaults, json_t *rvars, json_t *params,
                     json_t *blockvars, json_t *incparams, const struct pb_role **role)
{
	const struct pb_task *chain[64];
	int n = 0;
	for (const struct pb_task *p = t->parent; p && n < 64; p = p->parent)
		chain[n++] = p;
	*role = NULL;
	for (int i = n - 1; i >= 0; i--) {
		const struct pb_task *p = chain[i];
		const json_t *v = json_object_get(p->kw, "vars");
		if (p->role) {
			json_object_update(defaults, p->role->defaults);
			json_object_update(rvars, p->role->vars);
			json_object_update(params, p->role->params);
			*role = p->role;
		}
		if (json_is_object(p->inc_params))
			json_object_update(incparams, p->inc_params);
		if (!json_is_object(v))
			continue;
		if (p->kind == PB_INCLUDE || p->kind == PB_INCLUDE_ROLE)
			json_object_update(incparams, (json_t *)v);
		else
			json_object_update(blockvars, (json_t *)v);
	}
}

/* Values with templates are rendered with the host's own vars, so
 * hostvars['web1'].ansible_host means web1's address from anywhere; a value
 * that cannot be rendered stays as written. */
static void render_own(json_t *v)
{
	const char *k;
	json_t *x;
	struct tmpl_ctx c;
	exec_tmpl_ctx(NULL, v, &c);
	json_t *done = json_object();
	json_object_foreach (v, k, x) {
		if (!json_is_string(x) || !tmpl_has_template(json_string_value(x)) ||
		    yaml_is_unsafe(x))
			continue;
		struct err e;
		err_init(&e);
		json_t *r = tmpl_render(json_string_value(x), &c, &e);
		if (r)
			json_object_set_new(done, k, r);
	}
	json_object_update(v, done);
	json_decref(done);
}

/* A host as other hosts see it through hostvars. Caller holds x->lock. */
static json_t *host_view(struct exec *x, struct hstate *h)
{
	struct vars_stack s = {0};
	s.layer[VL_INVENTORY] = h->inv_vars;
	s.layer[VL_FACTS] = h->facts;
	s.layer[VL_INCLUDE_VARS] = h->incvars;
	s.layer[VL_HOST] = h->hvars;
	s.layer[VL_EXTRA] = x->cfg->extra_vars;
	json_t *v = vars_merge(&s);
	json_object_set_new(v, "inventory_hostname", json_string(h->name));
	render_own(v);
	return v;
}

static json_t *names_of(struct prun *pr, int active_only)
{
	json_t *out = json_array();
	for (int i = 0; i < pr->nbatch; i++)
		if (!active_only || (!pr->batch[i]->failed && !pr->batch[i]->unreachable))
			json_array_append_new(out, json_string(pr->batch[i]->name));
	return out;
}

static json_t *magic(struct prun *pr, struct hstate *h, const struct pb_role *role)
{
	struct exec *x = pr->x;
	const struct exec_cfg *c = x->cfg;
	json_t *m = json_object(), *hv = json_object();
	char *dot = strchr(h->name, '.');
	pthread_mutex_lock(&x->lock);
	for (int i = 0; i < x->nhosts; i++)
		json_object_set_new(hv, x->hosts[i]->name, host_view(x, x->hosts[i]));
	json_t *batch = names_of(pr, 1);
	pthread_mutex_unlock(&x->lock);
	json_object_set_new(m, "hostvars", hv);
	json_object_set_new(m, "inventory_hostname", json_string(h->name));
	json_object_set_new(m, "inventory_hostname_short",
	                    dot ? json_stringn(h->name, (size_t)(dot - h->name))
	                        : json_string(h->name));
	json_object_set(m, "groups", x->groups);
	if (!json_object_get(h->inv_vars, "group_names"))
		json_object_set_new(m, "group_names", json_array());
	json_object_set(m, "play_hosts", batch);
	json_object_set(m, "ansible_play_batch", batch);
	json_object_set_new(m, "ansible_play_hosts", batch);
	json_object_set(m, "ansible_play_hosts_all", pr->play_hosts_all);
	json_object_set_new(m, "ansible_play_name", json_string(pr->play->name));
	json_object_set_new(m, "ansible_check_mode", json_boolean(c->check));
	json_object_set_new(m, "ansible_diff_mode", json_boolean(c->diff));
	json_object_set_new(m, "ansible_verbosity", json_integer(c->verbosity));
	json_object_set_new(m, "ansible_forks", json_integer(c->forks));
	json_object_set_new(m, "omit", json_string(vars_omit));
	json_object_set_new(m, "playbook_dir", json_string(x->pb->dir));
	if (c->inventory_dir && !json_object_get(h->inv_vars, "inventory_dir"))
		json_object_set_new(m, "inventory_dir", json_string(c->inventory_dir));
	json_object_set(m, "ansible_run_tags", x->run_tags);
	json_object_set(m, "ansible_skip_tags", x->skip_tags);
	json_object_set_new(m, "ansible_version", vars_ansible_version());
	if (role) {
		json_object_set_new(m, "role_path", json_string(role->path));
		json_object_set_new(m, "role_name", json_string(role->name));
		json_object_set_new(m, "ansible_role_name", json_string(role->name));
	}
	return m;
}

/* The play's vars_files as host h sees them, rendered with the layers
 * already in s (role defaults, inventory, facts, play, extra and magic vars,
 * what Ansible renders them with). Ansible renders them again for every
 * task, so names using facts resolve once facts exist; files are loaded
 * once (pr->vars_files caches them by path). An entry that names no file
 * yet is left out here: play_run.c checks each batch's hosts and stops the
 * run with the error. Caller holds x->lock. */
static json_t *host_vars_files(struct prun *pr, const struct vars_stack *s)
{
	json_t *out = json_object();
	struct err e;
	if (!json_object_get(pr->play->kw, "vars_files"))
		return out;
	json_t *v = vars_merge(s);
	err_init(&e);
	pb_vars_files_load(pr->play, v, pr->vars_files, NULL, 0, out, &e);
	json_decref(v);
	return out;
}

json_t *exec_task_vars(struct prun *pr, const struct pb_task *t, struct hstate *h)
{
	struct vars_stack s = {0};
	struct exec *x = pr->x;
	pthread_mutex_lock(&x->lock);
	/* include_role public: adds to these while other hosts run (free) */
	json_t *defaults = json_copy(pr->role_defaults), *rvars = json_copy(pr->role_vars);
	pthread_mutex_unlock(&x->lock);
	json_t *params = json_object(), *incparams = json_object();
	json_t *blockvars = json_object();
	const struct pb_role *role = NULL;
	ancestry(t, defaults, rvars, params, blockvars, incparams, &role);
	if (t->role) {
		json_object_update(defaults, t->role->defaults);
		json_object_update(rvars, t->role->vars);
		role = t->role;
	}
	json_t *m = magic(pr, h, role);
	pthread_mutex_lock(&x->lock);
	s.layer[VL_ROLE_DEFAULTS] = defaults;
	s.layer[VL_INVENTORY] = h->inv_vars;
	s.layer[VL_FACTS] = h->facts;
	s.layer[VL_PLAY] = pr->play_vars;
	s.layer[VL_EXTRA] = x->cfg->extra_vars;
	s.layer[VL_MAGIC] = m;
	json_t *vf = host_vars_files(pr, &s);
	s.layer[VL_VARS_FILES] = vf;
	s.layer[VL_ROLE_VARS] = rvars;
	s.layer[VL_BLOCK] = blockvars;
	s.layer[VL_TASK] = json_object_get(t->kw, "vars");
	s.layer[VL_INCLUDE_VARS] = h->incvars;
	s.layer[VL_HOST] = h->hvars;
	s.layer[VL_ROLE_PARAMS] = params;
	s.layer[VL_INCLUDE_PARAMS] = incparams;
	json_t *v = vars_merge(&s);
	pthread_mutex_unlock(&x->lock);
	json_decref(vf);
	json_decref(incparams);
	json_decref(defaults);
	json_decref(rvars);
	json_decref(params);
	json_decref(blockvars);
	json_decref(m);
	return v;
}
