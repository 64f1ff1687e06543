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
	struct hstate **hs;
	int n;
};

static char *include_target(struct prun *pr, struct pb_task *t, const json_t *vars, json_t **args,
                            struct err *e)
{
	struct tmpl_ctx c;
	exec_tmpl_ctx(t, vars, &c);
	*args = tmpl_render_value(t->args, &c, e);
	if (!*args)
		return NULL;
	const json_t *f = json_object_get(*args, t->kind == PB_INCLUDE_ROLE ? "name" : "file");
	if (!f)
		f = json_object_get(*args, "_raw_params");
	if (!json_is_string(f)) {
		err_set(e, ERR_GENERIC, t->pos.file, t->pos.line, t->pos.col, "%s needs %s",
		        t->action, t->kind == PB_INCLUDE_ROLE ? "'name: ROLE'" : "a file name");
		return NULL;
	}
	(void)pr;
	return xstrdup(json_string_value(f));
}

/* include_tasks / include_role: when checked per host, the file or role
 * rendered per host, hosts grouped by what they include. */
void exec_include(struct prun *pr, struct pb_task *t, struct hstate **hs, int n)
{
	struct inc_group *g = xcalloc((size_t)n + 1, sizeof(*g));
	int ng = 0;
	if (!exec_tag_selected(pr, t))
		goto out;
	for (int i = 0; i < n; i++) {
		if (host_active(pr, hs[i])) {
			char *title = pb_task_title(t);
			output_task_start(pr->x->cfg->out, "TASK", title, t->id);
			free(title);
			break;
		}
	}
	for (int i = 0; i < n; i++) {
		struct hstate *h = hs[i];
		json_t *vars, *args = NULL;
		struct err e;
		int ok = 1;
		if (!host_active(pr, h))
			continue;
		err_init(&e);
		vars = exec_task_vars(pr, t, h);
		const json_t *w = json_object_get(t->kw, "when");
		if (w) {
			struct tmpl_ctx c;
			exec_tmpl_ctx(t, vars, &c);
			if (json_is_array(w)) {
				for (size_t j = 0; j < json_array_size(w) && ok; j++)
					if (tmpl_cond(json_array_get(w, j), &c, &ok, &e))
						break;
			} else {
				tmpl_cond(w, &c, &ok, &e);
			}
		}
		char *file = !e.code && ok ? include_target(pr, t, vars, &args, &e) : NULL;
		json_decref(vars);
		json_decref(args);
		if (e.code) {
			char msg[2600];
			json_t *r = json_pack("{sb ss}", "failed", 1, "msg",
			                      err_format(&e, msg, sizeof(msg)));
			output_result(pr->x->cfg->out, h->name, NULL, t->action, ST_FAILED, r, NULL,
			              0);
			json_decref(r);
			h->failed = 1;
			h->st.failed++;
			continue;
		}
		if (!ok) {
			json_t *r = json_pack("{sb sb ss}", "changed", 0, "skipped", 1,
			                      "skip_reason", "Conditional result was False");
			output_result(pr->x->cfg->out, h->name, NULL, "skipped", ST_SKIPPED, r,
			              NULL, 0);
			json_decref(r);
			h->st.skipped++;
			continue;
		}
		int gi;
		for (gi = 0; gi < ng && strcmp(g[gi].file, file); gi++)
			;
		if (gi == ng) {
			g[ng].file = file;
			g[ng++].hs = xcalloc((size_t)n + 1, sizeof(struct hstate *));
		} else {
			free(file);
		}
		g[gi].hs[g[gi].n++] = h;
		if (t->kind == PB_INCLUDE) /* Ansible counts include_tasks, not include_role */
			h->st.ok++;
	}
	for (int gi = 0; gi < ng; gi++)
		exec_include_group(pr, t, g[gi].file, g[gi].hs, g[gi].n);
out:
	for (int gi = 0; gi < ng; gi++) {
		free(g[gi].file);
		free(g[gi].hs);
	}
	free(g);
}

void exec_include_group(struct prun *pr, struct pb_task *t, const char *file, struct hstate **hs,
                        int n)
{
	struct pb_task *body = NULL;
	struct err e;
	json_t *args = NULL;
	err_init(&e);
	if (t->kind == PB_INCLUDE_ROLE) {
		json_t *vars = exec_task_vars(pr, t, hs[0]);
		struct tmpl_ctx c;
		exec_tmpl_ctx(t, vars, &c);
		args = tmpl_render_value(t->args, &c, &e);
		json_decref(vars);
	}
	struct pb_list hl = {NULL, 0};
	pthread_mutex_lock(&pr->x->lock);
	int rc = pb_include_load(pr->x->pb, t, file, args, &body, &hl, &e);
	for (int i = 0; i < hl.n; i++) {
		/* a role's handlers are there once, however often it is included */
		int dup = 0;
		for (int j = 0; j < pr->handlers.n && !dup; j++)
			dup = pr->handlers.v[j]->role && hl.v[i]->role &&
			      !strcmp(pr->handlers.v[j]->role->path, hl.v[i]->role->path);
		if (!dup)
			pb_handlers_push(&pr->handlers, hl.v[i]);
	}
	pthread_mutex_unlock(&pr->x->lock);
	free(hl.v);
	json_decref(args);
	if (rc) {
		char msg[2600];
		json_t *r =
		    json_pack("{sb ss}", "failed", 1, "msg", err_format(&e, msg, sizeof(msg)));
		for (int i = 0; i < n; i++) {
			output_result(pr->x->cfg->out, hs[i]->name, NULL, t->action, ST_FAILED, r,
			              NULL, 0);
			hs[i]->failed = 1;
			hs[i]->st.failed++;
			if (t->kind == PB_INCLUDE)
				hs[i]->st.ok--;
		}
		json_decref(r);
		return;
	}
	json_t *ok = json_pack("{sb ss}", "changed", 0, "include", file);
	for (int i = 0; i < n; i++)
		output_result(pr->x->cfg->out, hs[i]->name, NULL, t->action, ST_OK, ok, NULL, 0);
	json_decref(ok);
	if (t->kind == PB_INCLUDE) {
		struct buf b = BUF_INIT;
		for (int i = 0; i < n; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", hs[i]->name);
		char *path = pb_include_path(pr->x->pb, t, file);
		output_included(pr->x->cfg->out, path ? path : file, buf_str(&b));
		free(path);
		buf_release(&b);
	}
	exec_node(pr, body, hs, n);
}
