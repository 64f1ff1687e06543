/*
 * Playbooks and plays: the top-level list, import_playbook, play keywords,
 * and the helpers the executor uses to read a task's inherited keywords.
 */
#include "playbook/pb_int.h"
#include "template/tmpl.h"
#include "util/mem.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const play_keys_all[] = {
    "name",
    "hosts",
    "vars",
    "vars_files",
    "vars_prompt",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "gather_facts",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "remote_user",
    "connection",
    "environment",
    "tags",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "strategy",
    "order",
    "hooks",
    "ignore_errors",
    "ignore_unreachable",
    "check_mode",
    "diff",
    "no_log",
    "run_once",
    "module_defaults",
    "collections",
    "force_handlers",
    "fact_path",
    "gather_subset",
    "gather_timeout",
    "port",
    "timeout",
    "throttle",
    "debugger",
    "become_exe",
    NULL,
};

/* Keywords a task inherits from enclosing blocks, roles and includes. */
static const char *const inherited[] = {
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "delegate_to",
    "no_log",
    "check_mode",
    "diff",
    "run_once",
    "remote_user",
    "connection",
    "any_errors_fatal",
    "timeout",
    "port",
    NULL,
};

static int play_hosts(struct pb_play *p, struct err *e)
{
	const json_t *h = json_object_get(p->kw, "hosts");
	if (json_is_string(h)) {
		p->hosts = xstrdup(json_string_value(h));
		return 0;
	}
	if (json_is_array(h)) {
		struct buf b = BUF_INIT;
		size_t i;
		json_t *v;
		json_array_foreach (h, i, v) {
			if (!json_is_string(v))
				return pb_err_at(e, v, NULL, "host patterns must be strings");
			if (i)
				buf_addc(&b, ',');
			buf_adds(&b, json_string_value(v));
		}
		p->hosts = buf_detach(&b);
		return 0;
	}
	if (!h)
		return pb_err_at(e, p->kw, NULL,
		                 "the field 'hosts' is required but was not set; add "
		                 "'hosts: PATTERN' to the play");
	return pb_err_at(e, p->kw, "hosts", "'hosts' must be a pattern or a list of patterns");
}

static int play_check(struct pb_play *p, struct err *e)
{
	const char *k;
	json_t *v;
	json_object_foreach (p->kw, k, v) {
		if (!pb_in(play_keys_all, k))
			return pb_err_at(e, p->kw, k, "'%s' is not a valid attribute for a Play",
			                 k);
	}
	if ((v = json_object_get(p->kw, "vars")) && !json_is_object(v) && !json_is_null(v))
		return pb_err_at(e, p->kw, "vars", "play 'vars' must be a dict");
	if ((v = json_object_get(p->kw, "strategy")) &&
	    !(json_is_string(v) &&
	      (!strcmp(json_string_value(v), "linear") || !strcmp(json_string_value(v), "free"))))
		return pb_err_at(e, p->kw, "strategy", "strategy must be 'linear' or 'free'");
	if ((v = json_object_get(p->kw, "serial")) &&
	    !(json_is_integer(v) || json_is_string(v) || json_is_array(v)))
		return pb_err_at(e, p->kw, "serial",
		                 "'serial' must be a number, a percentage (\"30%%\") or a list");
	if ((v = json_object_get(p->kw, "vars_files")) && !json_is_array(v) && !json_is_string(v))
		return pb_err_at(e, p->kw, "vars_files", "'vars_files' must be a list of files");
	return play_hosts(p, e);
}

/* A templated play name is shown rendered, as Ansible shows it, when the
 * parse-time vars render it; otherwise as written. */
static int play_name(struct playbook *pb, struct pb_play *p)
{
	struct err e;
	char *name = NULL;
	err_init(&e);
	if (!tmpl_has_template(p->name) ||
	    pb_render_name(pb, NULL, NULL, p->kw, "name", p->name, "", &name, &e))
		return 0;
	free(p->name);
	p->name = name;
	return 0;
}

static void tags_add(json_t *out, const json_t *tags);

/* What import_playbook entries give the plays they import: vars, and their
 * tags and when, which Ansible gives every task of those plays. */
struct import_ctx {
	json_t *vars; /* dict */
	json_t *tags; /* list of tags */
	json_t *when; /* list of conditions */
};

/* l's tasks moved under one block carrying the imports' when. */
static void wrap_when(struct playbook *pb, struct pb_play *p, struct pb_list *l, json_t *when,
                      int handler)
{
	if (!l->n)
		return;
	json_t *kw = json_pack("{sO}", "when", when);
	struct pb_task *w = pb_task_new(pb, PB_BLOCK, kw, NULL, p->basedir);
	json_decref(kw);
	w->handler = handler;
	w->block = *l;
	for (int i = 0; i < w->block.n; i++)
		w->block.v[i]->parent = w;
	l->v = NULL;
	l->n = 0;
	pb_list_push(l, w);
}

static int play_load(struct playbook *pb, json_t *kw, const char *basedir,
                     const struct import_ctx *imp, struct err *e)
{
	struct pb_play *p = xcalloc(1, sizeof(*p));
	pb->plays = xrealloc(pb->plays, (size_t)(pb->nplays + 1) * sizeof(*pb->plays));
	pb->plays[pb->nplays++] = p;
	p->kw = json_incref(kw);
	p->basedir = xstrdup(basedir);
	p->import_vars = imp ? json_deep_copy(imp->vars) : json_object();
	p->import_tags = imp ? json_deep_copy(imp->tags) : json_array();
	srcpos_get(kw, &p->pos);
	if (play_check(p, e))
		return e->code;
	const json_t *n = json_object_get(kw, "name");
	p->name = xstrdup(json_is_string(n) ? json_string_value(n) : p->hosts);
	/* import_role's handlers come after the play's own, as in Ansible */
	struct pb_list imported = {NULL, 0};
	pb->cur_handlers = &imported;
	int rc = pb_play_vars_begin(pb, p, e) || play_name(pb, p) ||
	         pb_load_list(pb, kw, "pre_tasks", NULL, basedir, 0, &p->pre_tasks, e) ||
	         pb_roles_load(pb, p, json_object_get(kw, "roles"), &p->tasks, e) ||
	         pb_load_list(pb, kw, "tasks", NULL, basedir, 0, &p->tasks, e) ||
	         pb_load_list(pb, kw, "post_tasks", NULL, basedir, 0, &p->post_tasks, e) ||
	         pb_load_list(pb, kw, "handlers", NULL, basedir, 1, &p->handlers, e);
	for (int i = 0; i < imported.n; i++)
		pb_list_push(&p->handlers, imported.v[i]);
	free(imported.v);
	pb->cur_handlers = NULL;
	pb_play_vars_end(pb);
	if (!rc && imp && json_array_size(imp->when)) {
		wrap_when(pb, p, &p->pre_tasks, imp->when, 0);
		wrap_when(pb, p, &p->tasks, imp->when, 0);
		wrap_when(pb, p, &p->post_tasks, imp->when, 0);
		wrap_when(pb, p, &p->handlers, imp->when, 1);
	}
	return rc ? e->code : 0;
}

static int file_load(struct playbook *pb, const char *path, const struct import_ctx *imp, int depth,
                     struct err *e);

static int entry_load(struct playbook *pb, json_t *entry, const char *basedir,
                      const struct import_ctx *imp, int depth, struct err *e)
{
	if (!json_is_object(entry))
		return pb_err_at(e, entry, NULL,
		                 "a playbook must be a list of plays (dicts with 'hosts')");
	const json_t *file = json_object_get(entry, "import_playbook");
	if (!file)
		file = json_object_get(entry, "ansible.builtin.import_playbook");
	if (!file)
		return play_load(pb, entry, basedir, imp, e);
	if (!json_is_string(file))
		return pb_err_at(e, entry, "import_playbook", "import_playbook needs a file name");
	if (depth > 20)
		return pb_err_at(e, entry, "import_playbook", "import_playbook nests too deep");
	struct import_ctx sub = {
	    imp ? json_deep_copy(imp->vars) : json_object(),
	    imp ? json_deep_copy(imp->tags) : json_array(),
	    imp ? json_copy(imp->when) : json_array(),
	};
	const json_t *w = json_object_get(entry, "when");
	if (json_is_object(json_object_get(entry, "vars")))
		json_object_update(sub.vars, json_object_get(entry, "vars"));
	tags_add(sub.tags, json_object_get(entry, "tags"));
	if (json_is_array(w))
		json_array_extend(sub.when, (json_t *)w);
	else if (w)
		json_array_append(sub.when, (json_t *)w);
	char *name = NULL, *path = NULL;
	/* rendered with the entry's vars and extra vars, as Ansible does */
	int rc = pb_render_name(pb, NULL, sub.vars, entry, "import_playbook",
	                        json_string_value(file), "pass the name with -e", &name, e);
	if (!rc && !(path = pb_resolve(pb, basedir, name, ".")))
		rc = pb_err_at(e, entry, "import_playbook",
		               "could not find or access playbook '%s' (looked in %s)", name,
		               basedir);
	if (!rc)
		rc = file_load(pb, path, &sub, depth + 1, e);
	json_decref(sub.vars);
	json_decref(sub.tags);
	json_decref(sub.when);
	free(name);
	free(path);
	return rc;
}

static int file_load(struct playbook *pb, const char *path, const struct import_ctx *imp, int depth,
                     struct err *e)
{
	json_t *doc = yaml_load_file(path, e);
	char *d = xstrdup(path), *dir = dirname(d); /* once: dirname cuts d in place */
	int rc = 0;
	size_t i;
	json_t *entry;
	if (!doc) {
		rc = e->code;
		goto out;
	}
	if (!json_is_array(doc)) {
		rc = err_set(e, ERR_PARSE, path, 1, 1,
		             "a playbook must be a list of plays, each with 'hosts:'");
		goto out;
	}
	json_array_foreach (doc, i, entry) {
		if ((rc = entry_load(pb, entry, dir, imp, depth, e)))
			break;
	}
out:
	free(d);
	json_decref(doc);
	return rc;
}

struct playbook *playbook_load(const char *path, const struct pb_env *env, struct err *e)
{
	struct playbook *pb = xcalloc(1, sizeof(*pb));
	char real[PATH_MAX];
	pthread_mutex_init(&pb->lock, NULL);
	if (env)
		pb->env = *env;
	pb->path = xstrdup(realpath(path, real) ? real : path);
	char *d = xstrdup(pb->path);
	pb->dir = xstrdup(dirname(d));
	free(d);
	if (file_load(pb, pb->path, NULL, 0, e)) {
		playbook_free(pb);
		return NULL;
	}
	return pb;
}

struct playbook *playbook_new_adhoc(const char *pattern, const char *module, const json_t *args,
                                    const struct pb_env *env, struct err *e)
{
	struct playbook *pb = xcalloc(1, sizeof(*pb));
	char cwd[PATH_MAX];
	(void)e;
	pthread_mutex_init(&pb->lock, NULL);
	if (env)
		pb->env = *env;
	pb->dir = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
	pb->path = xasprintf("%s/(ad-hoc)", pb->dir);
	struct pb_play *p = xcalloc(1, sizeof(*p));
	pb->plays = xcalloc(1, sizeof(*pb->plays));
	pb->plays[pb->nplays++] = p;
	p->kw =
	    json_pack("{ss ss sb}", "hosts", pattern, "name", "Ansible Ad-Hoc", "gather_facts", 0);
	p->hosts = xstrdup(pattern);
	p->name = xstrdup("Ansible Ad-Hoc");
	p->basedir = xstrdup(pb->dir);
	p->import_vars = json_object();
	p->import_tags = json_array();
	struct pb_task *t = pb_task_new(pb, PB_TASK, NULL, NULL, pb->dir);
	t->action = xstrdup(module);
	json_decref(t->args);
	t->args = json_deep_copy(args);
	pb_list_push(&p->tasks, t);
	return pb;
}

static void list_free(struct pb_list *l)
{
	free(l->v);
}

void playbook_free(struct playbook *pb)
{
	if (!pb)
		return;
	for (int i = 0; i < pb->nplays; i++) {
		struct pb_play *p = pb->plays[i];
		json_decref(p->kw);
		json_decref(p->import_vars);
		json_decref(p->static_vars);
		json_decref(p->import_tags);
		free(p->name);
		free(p->hosts);
		free(p->basedir);
		list_free(&p->pre_tasks);
		list_free(&p->tasks);
		list_free(&p->post_tasks);
		list_free(&p->handlers);
		free(p);
	}
	for (int i = 0; i < pb->nall; i++) {
		struct pb_task *t = pb->all[i];
		free(t->name);
		free(t->action);
		json_decref(t->args);
		json_decref(t->kw);
		json_decref(t->inc_params);
		list_free(&t->block);
		list_free(&t->rescue);
		list_free(&t->always);
		free(t->basedir);
		free(t);
	}
	for (int i = 0; i < pb->nroles; i++) {
		struct pb_role *r = pb->roles[i];
		free(r->name);
		free(r->path);
		json_decref(r->defaults);
		json_decref(r->vars);
		json_decref(r->params);
		free(r->key);
		free(r);
	}
	pthread_mutex_destroy(&pb->lock);
	free(pb->all);
	free(pb->roles);
	free(pb->plays);
	free(pb->path);
	free(pb->dir);
	free(pb);
}

struct pb_role *pb_task_role(const struct pb_task *t)
{
	for (; t; t = t->parent)
		if (t->role)
			return t->role;
	return NULL;
}

const json_t *pb_task_kw(const struct pb_task *t, const char *k)
{
	int inh = pb_in(inherited, k);
	for (const struct pb_task *a = t; a; a = a->parent) {
		/* an include's keywords are its own: what it brings inherits from
		 * the blocks around it and from its apply:, not from it */
		if (a != t && (a->kind == PB_INCLUDE || a->kind == PB_INCLUDE_ROLE))
			continue;
		const json_t *v = json_object_get(a->kw, k);
		if (v)
			return v;
		if (!inh)
			return NULL;
	}
	return NULL;
}

char *pb_task_title(const struct pb_task *t)
{
	/* Ansible's IncludeRole.get_name: its name alone, or "action : role" */
	if (t->kind == PB_INCLUDE_ROLE) {
		const json_t *rn = json_object_get(t->args, "name");
		if (!rn)
			rn = json_object_get(t->args, "role");
		if (t->name || !json_is_string(rn))
			return xstrdup(t->name ? t->name : t->action);
		return xasprintf("%s : %s", t->action, json_string_value(rn));
	}
	const struct pb_role *r = pb_task_role(t);
	const char *n = t->name ? t->name : t->action ? t->action : "";
	if (r)
		return xasprintf("%s : %s", r->name, n);
	return xstrdup(n);
}

static void tags_add(json_t *out, const json_t *tags)
{
	size_t i;
	json_t *v;
	if (json_is_string(tags)) {
		char *s = xstrdup(json_string_value(tags)), *save = NULL;
		for (char *p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			while (*p == ' ')
				p++;
			json_array_append_new(out, json_string(p));
		}
		free(s);
		return;
	}
	if (json_is_integer(tags)) {
		json_array_append_new(out, json_sprintf("%lld", json_integer_value(tags)));
		return;
	}
	json_array_foreach (tags, i, v) {
		tags_add(out, v);
	}
}

json_t *pb_task_tags(const struct pb_task *t, const struct pb_play *p)
{
	json_t *out = json_array();
	/* an include's tags are its own: the tasks it brings do not inherit
	 * them (its apply: tags and the blocks' above it they do), as in
	 * Ansible */
	for (const struct pb_task *a = t; a; a = a->parent) {
		if (a != t && (a->kind == PB_INCLUDE || a->kind == PB_INCLUDE_ROLE))
			continue;
		tags_add(out, json_object_get(a->kw, "tags"));
	}
	if (p) {
		tags_add(out, json_object_get(p->kw, "tags"));
		tags_add(out, p->import_tags);
	}
	return out;
}
