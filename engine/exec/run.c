/*
 * Plays: hosts, vars_files and vars_prompt, batches (serial), facts, the
 * three sections with their handler flushes, the strategy; then the recap
 * and the exit code. Also the dynamic includes and ad-hoc runs.
 */
#include "exec/exec_int.h"
#include "modules/module.h"
#include "util/log.h"
#include "util/mem.h"

#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void pb_handlers_push(struct pb_list *l, struct pb_task *t)
{
	l->v = xrealloc(l->v, (size_t)(l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = t;
}

struct inc_group {
	char *file;
	json_t *item; /* the loop item, or NULL */
	struct hstate **hs;
	int n;
};

struct inc_set {
	struct inc_group *g;
	int n, nhosts;
};

static char *include_target(struct pb_task *t, const json_t *vars, struct err *e)
{
	struct tmpl_ctx c;
	exec_tmpl_ctx(t, vars, &c);
	json_t *args = tmpl_render_value(t->args, &c, e);
	if (!args)
		return NULL;
	const json_t *f = json_object_get(args, t->kind == PB_INCLUDE_ROLE ? "name" : "file");
	if (!f)
		f = json_object_get(args, "_raw_params");
	char *file = json_is_string(f) ? xstrdup(json_string_value(f)) : NULL;
	if (!file)
		err_set(e, ERR_GENERIC, t->pos.file, t->pos.line, t->pos.col, "%s needs %s",
		        t->action, t->kind == PB_INCLUDE_ROLE ? "'name: ROLE'" : "a file name");
	json_decref(args);
	return file;
}

/* Hosts that include the same file with the same item run it together. */
static void group_add(struct inc_set *s, char *file, const json_t *item, struct hstate *h)
{
	int gi;
	for (gi = 0; gi < s->n; gi++)
		if (!strcmp(s->g[gi].file, file) &&
		    (item ? s->g[gi].item && json_equal(s->g[gi].item, item) : !s->g[gi].item))
			break;
	if (gi == s->n) {
		s->g = xrealloc(s->g, (size_t)(s->n + 1) * sizeof(*s->g));
		s->g[gi].file = file;
		s->g[gi].item = item ? json_incref((json_t *)item) : NULL;
		s->g[gi].hs = xcalloc((size_t)s->nhosts + 1, sizeof(struct hstate *));
		s->g[gi].n = 0;
		s->n++;
	} else {
		free(file);
	}
	s->g[gi].hs[s->g[gi].n++] = h;
}

/* One host: its when (per item under a loop) and what it includes. Returns
 * 0 included, 1 skipped, negative with e set. */
static int include_host(struct prun *pr, struct pb_task *t, struct hstate *h, struct inc_set *s,
                        struct err *e)
{
	json_t *vars = exec_task_vars(pr, t, h);
	json_t *items = exec_loop_items(t, vars, e);
	const char *lv =
	    json_string_value(json_object_get(json_object_get(t->kw, "loop_control"), "loop_var"));
	int ok = 0, any = 0, rc = 0;
	size_t n = items ? json_array_size(items) : 1;
	if (!items && e->code) {
		rc = e->code;
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *item = items ? json_array_get(items, i) : NULL;
		if (item)
			json_object_set(vars, lv ? lv : "item", item);
		/* its own when and the blocks' above it, as any task's */
		if ((rc = exec_when_holds(t, vars, &ok, e)) || !ok)
			continue;
		char *file = include_target(t, vars, e);
		if (!file) {
			rc = e->code;
			break;
		}
		group_add(s, file, item, h);
		any = 1;
	}
	if (!rc && !any)
		rc = 1;
out:
	json_decref(items);
	json_decref(vars);
	return rc;
}

static void include_failed(struct prun *pr, struct pb_task *t, struct hstate *h, struct err *e)
{
	char msg[2600];
	/* Ansible's failed include says why under "reason" */
	json_t *r = json_pack("{sb ss}", "failed", 1, "reason", err_format(e, msg, sizeof(msg)));
	output_result(pr->x->cfg->out, h->name, NULL, t->action, ST_FAILED, r, NULL, 0);
	json_decref(r);
	pthread_mutex_lock(&pr->x->lock);
	h->failed = 1;
	h->st.failed++;
	pthread_mutex_unlock(&pr->x->lock);
}

static void include_run(struct prun *pr, struct pb_task *t, struct inc_set *s, struct hstate **hs,
                        int n);

/* include_tasks / include_role: when checked per host (and item), the file
 * or role rendered per host, hosts grouped by what they include. */
void exec_include(struct prun *pr, struct pb_task *t, struct hstate **hs, int n)
{
	struct inc_set s = {NULL, 0, n};
	int banner = 0;
	if (!exec_tag_selected(pr, t))
		return;
	for (int i = 0; i < n; i++) {
		struct hstate *h = hs[i];
		struct err e;
		if (!host_active(pr, h))
			continue;
		if (!banner++) {
			char *title = pb_task_title(t);
			output_task_start(pr->x->cfg->out, t->handler ? "RUNNING HANDLER" : "TASK",
			                  title, t->id);
			free(title);
		}
		err_init(&e);
		int rc = include_host(pr, t, h, &s, &e);
		if (rc < 0) {
			include_failed(pr, t, h, &e);
		} else if (rc == 1) {
			json_t *r = json_pack("{sb sb ss}", "changed", 0, "skipped", 1,
			                      "skip_reason", "Conditional result was False");
			output_result(pr->x->cfg->out, h->name, NULL, "skipped", ST_SKIPPED, r,
			              NULL, 0);
			json_decref(r);
			h->st.skipped++;
		}
	}
	include_run(pr, t, &s, hs, n);
	for (int gi = 0; gi < s.n; gi++) {
		free(s.g[gi].file);
		json_decref(s.g[gi].item);
		free(s.g[gi].hs);
	}
	free(s.g);
}

/* include_role public: the role's (and its dependencies') defaults and
 * vars are seen by the rest of the play, as a roles: entry's are. */
static void include_public(struct prun *pr, const struct pb_task *body)
{
	pthread_mutex_lock(&pr->x->lock);
	for (int i = 0; i < body->block.n; i++) {
		const struct pb_role *r = body->block.v[i]->role;
		if (!r)
			continue;
		json_object_update(pr->role_defaults, r->defaults);
		json_object_update(pr->role_vars, r->vars);
	}
	pthread_mutex_unlock(&pr->x->lock);
}

/* Load what one group includes; NULL after failing its hosts. */
static struct pb_task *include_load(struct prun *pr, struct pb_task *t, struct inc_group *g)
{
	struct pb_task *body = NULL;
	struct err e;
	json_t *args = NULL;
	err_init(&e);
	if (t->kind == PB_INCLUDE_ROLE) {
		json_t *vars = exec_task_vars(pr, t, g->hs[0]);
		struct tmpl_ctx c;
		exec_tmpl_ctx(t, vars, &c);
		args = tmpl_render_value(t->args, &c, &e);
		json_decref(vars);
	}
	struct pb_list hl = {NULL, 0};
	pthread_mutex_lock(&pr->x->lock);
	int rc = pb_include_load(pr->x->pb, t, g->file, args, &body, &hl, &e);
	for (int i = 0; i < hl.n; i++) {
		/* a role's handlers are there once, however often it is included
		 * (Ansible binds a notification to the handler instance loaded
		 * last before it; drover keeps the first one) */
		int dup = 0;
		for (int j = 0; j < pr->handlers.n && !dup; j++)
			dup = pr->handlers.v[j]->role && hl.v[i]->role &&
			      !strcmp(pr->handlers.v[j]->role->path, hl.v[i]->role->path);
		if (!dup)
			pb_handlers_push(&pr->handlers, hl.v[i]);
	}
	pthread_mutex_unlock(&pr->x->lock);
	free(hl.v);
	if (rc) {
		for (int i = 0; i < g->n; i++)
			include_failed(pr, t, g->hs[i], &e);
		json_decref(args);
		return NULL;
	}
	if (g->item) {
		/* the loop item reaches the included tasks as an include param */
		const char *lv = json_string_value(
		    json_object_get(json_object_get(t->kw, "loop_control"), "loop_var"));
		body->inc_params = json_pack("{sO}", lv ? lv : "item", g->item);
	}
	if (t->kind == PB_INCLUDE_ROLE && json_is_true(json_object_get(args, "public")))
		include_public(pr, body);
	json_decref(args);
	return body;
}

/* The include's own result per host (one per item under a loop), counted
 * ok as Ansible counts include_tasks. */
static void include_results(struct prun *pr, struct pb_task *t, struct inc_set *s,
                            struct pb_task **bodies, struct hstate *h)
{
	json_t *r = json_pack("{sb}", "changed", 0), *results = json_array();
	int looped = 0, ok = 0;
	for (int gi = 0; gi < s->n; gi++) {
		for (int i = 0; i < s->g[gi].n && bodies[gi]; i++) {
			if (s->g[gi].hs[i] != h)
				continue;
			ok++;
			json_object_set_new(r, "include", json_string(s->g[gi].file));
			if (s->g[gi].item) {
				looped = 1;
				json_array_append_new(results,
				                      json_pack("{ss sO}", "include", s->g[gi].file,
				                                "item", s->g[gi].item));
			}
		}
	}
	if (looped)
		json_object_set(r, "results", results);
	if (ok && !h->failed) {
		output_result(pr->x->cfg->out, h->name, NULL, t->action, ST_OK, r, NULL, 0);
		if (t->kind == PB_INCLUDE) {
			pthread_mutex_lock(&pr->x->lock);
			h->st.ok += ok;
			pthread_mutex_unlock(&pr->x->lock);
		}
	}
	json_decref(results);
	json_decref(r);
}

static void include_run(struct prun *pr, struct pb_task *t, struct inc_set *s, struct hstate **hs,
                        int n)
{
	struct pb_task **bodies = xcalloc((size_t)s->n + 1, sizeof(*bodies));
	for (int gi = 0; gi < s->n; gi++)
		bodies[gi] = include_load(pr, t, &s->g[gi]);
	for (int i = 0; i < n; i++)
		include_results(pr, t, s, bodies, hs[i]);
	for (int gi = 0; gi < s->n && t->kind == PB_INCLUDE; gi++) {
		if (!bodies[gi])
			continue;
		struct buf b = BUF_INIT;
		for (int i = 0; i < s->g[gi].n; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", s->g[gi].hs[i]->name);
		if (s->g[gi].item) {
			char *label = output_item_label(s->g[gi].item);
			buf_addf(&b, " => (item=%s)", label);
			free(label);
		}
		char *path = pb_include_path(pr->x->pb, t, s->g[gi].file);
		output_included(pr->x->cfg->out, path ? path : s->g[gi].file, buf_str(&b));
		free(path);
		buf_release(&b);
	}
	for (int gi = 0; gi < s->n; gi++)
		if (bodies[gi])
			exec_node(pr, bodies[gi], s->g[gi].hs, s->g[gi].n);
	free(bodies);
}
