/*
 * Walking a task tree on a set of hosts: tasks (in parallel over forks),
 * blocks with rescue/always, dynamic includes, meta tasks and handlers.
 * Linear strategy calls these with the whole batch; free calls them with
 * one host per worker.
 */
#include "exec/exec_int.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile int exec_stop_flag;

void exec_interrupt(void)
{
	exec_stop_flag = 1;
}

struct par {
	void (*fn)(void *ud, int i);
	void *ud;
	int n;
	int next;
};

static void *par_worker(void *arg)
{
	struct par *p = arg;
	for (;;) {
		int i = __atomic_fetch_add(&p->next, 1, __ATOMIC_SEQ_CST);
		if (i >= p->n)
			break;
		p->fn(p->ud, i);
	}
	return NULL;
}

void exec_parallel(int n, int forks, void (*fn)(void *ud, int i), void *ud)
{
	struct par p = {fn, ud, n, 0};
	int nt = forks < 1 ? 1 : forks > n ? n : forks;
	if (nt <= 1) {
		par_worker(&p);
		return;
	}
	pthread_t *th = xcalloc((size_t)nt, sizeof(*th));
	int started = 0;
	for (int i = 0; i < nt; i++)
		if (!pthread_create(&th[i], NULL, par_worker, &p))
			started++;
		else
			break;
	if (!started)
		par_worker(&p);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

static int in_list(const json_t *l, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (l, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	return 0;
}

static int intersects(const json_t *a, const json_t *b)
{
	size_t i;
	json_t *v;
	json_array_foreach (a, i, v)
		if (json_is_string(v) && in_list(b, json_string_value(v)))
			return 1;
	return 0;
}

int exec_tags_match(const json_t *tags, const json_t *only, const json_t *skip)
{
	int n = (int)json_array_size(tags), run = 1;
	if (!(json_array_size(only) == 1 && in_list(only, "all"))) {
		run = in_list(tags, "always") || intersects(only, tags) ||
		      (in_list(only, "all") && !in_list(tags, "never")) ||
		      (in_list(only, "tagged") && n && !in_list(tags, "never")) ||
		      (in_list(only, "untagged") && !n);
	} else if (in_list(tags, "never")) {
		run = 0;
	}
	if (run && json_array_size(skip))
		run = !(intersects(skip, tags) || (in_list(skip, "tagged") && n) ||
		        (in_list(skip, "untagged") && !n) ||
		        (in_list(skip, "all") && !in_list(tags, "always")));
	return run;
}

int exec_tag_selected(struct prun *pr, const struct pb_task *t)
{
	json_t *tags = pb_task_tags(t, pr->play);
	int run = exec_tags_match(tags, pr->x->run_tags, pr->x->skip_tags);
	json_decref(tags);
	return run;
}

/* throttle: hosts running the same task at once, across worker threads and
 * strategies (free runs each host on its own thread). Runs are sequential,
 * so one table serves the process; keys are the task's address. */
static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t throttle_cond = PTHREAD_COND_INITIALIZER;
static json_t *throttle_busy;

void exec_throttle_enter(const struct pb_task *t, long limit)
{
	char key[32];
	if (limit <= 0)
		return;
	snprintf(key, sizeof(key), "%p", (const void *)t);
	pthread_mutex_lock(&throttle_lock);
	while (json_integer_value(json_object_get(throttle_busy, key)) >= limit)
		pthread_cond_wait(&throttle_cond, &throttle_lock);
	if (!throttle_busy) /* freed by the last leave, maybe while we waited */
		throttle_busy = json_object();
	json_object_set_new(
	    throttle_busy, key,
	    json_integer(json_integer_value(json_object_get(throttle_busy, key)) + 1));
	pthread_mutex_unlock(&throttle_lock);
}

void exec_throttle_leave(const struct pb_task *t, long limit)
{
	char key[32];
	if (limit <= 0)
		return;
	snprintf(key, sizeof(key), "%p", (const void *)t);
	pthread_mutex_lock(&throttle_lock);
	json_int_t n = json_integer_value(json_object_get(throttle_busy, key)) - 1;
	if (n > 0)
		json_object_set_new(throttle_busy, key, json_integer(n));
	else
		json_object_del(throttle_busy, key);
	if (!json_object_size(throttle_busy)) {
		json_decref(throttle_busy); /* nothing left running: no leak at exit */
		throttle_busy = NULL;
	}
	pthread_cond_broadcast(&throttle_cond);
	pthread_mutex_unlock(&throttle_lock);
}

struct task_job {
	struct prun *pr;
	struct pb_task *t;
	struct hstate **hs;
	json_t **results;
};

static void task_job(void *ud, int i)
{
	struct task_job *j = ud;
	exec_task_host(j->pr, j->t, j->hs[i], j->results ? &j->results[i] : NULL);
}

static int collect_active(struct prun *pr, struct hstate **hs, int n, struct hstate **out)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		if (host_active(pr, hs[i]))
			out[k++] = hs[i];
	return k;
}

static int start_at_ok(struct prun *pr, const struct pb_task *t)
{
	struct exec *x = pr->x;
	if (!x->cfg->start_at_task || x->started)
		return 1;
	char *title = pb_task_title(t);
	int match = (t->name && !strcmp(t->name, x->cfg->start_at_task)) ||
	            !strcmp(title, x->cfg->start_at_task);
	free(title);
	if (match)
		x->started = 1;
	return match;
}

/* --step: ask before each task (a terminal is required, checked up front). */
static int step_ok(struct prun *pr, const char *title)
{
	char line[64];
	if (!pr->x->cfg->step)
		return 1;
	fprintf(stderr, "Perform task: TASK: %s (N)o/(y)es/(c)ontinue: ", title);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	if (line[0] == 'c' || line[0] == 'C') {
		((struct exec_cfg *)pr->x->cfg)->step = 0;
		return 1;
	}
	return line[0] == 'y' || line[0] == 'Y';
}

/* After a task on a batch (linear strategy's checks, in its order):
 * any_errors_fatal and max_fail_percentage end the run; a batch with no
 * host left ends the play. Each says "NO MORE HOSTS LEFT" as Ansible does,
 * max_fail_percentage twice. */
static void after_task(struct prun *pr, struct pb_task *t, struct hstate **act, int n)
{
	int failed = 0, batch_failed = 0;
	/* a failure a rescue section will handle does not count (yet) */
	for (int i = 0; i < n; i++)
		failed += (act[i]->failed && !act[i]->rescuable) || act[i]->unreachable;
	for (int i = 0; i < pr->nbatch; i++)
		batch_failed +=
		    (pr->batch[i]->failed && !pr->batch[i]->rescuable) || pr->batch[i]->unreachable;
	const json_t *aef = exec_kw(pr, t, "any_errors_fatal");
	if (failed && (json_is_true(aef) ||
	               (json_is_string(aef) && config_bool(json_string_value(aef)) == 1)))
		pr->stop = 2;
	const json_t *mfp = json_object_get(pr->play->kw, "max_fail_percentage");
	if (json_is_number(mfp) && pr->nbatch &&
	    100.0 * batch_failed / pr->nbatch > json_number_value(mfp)) {
		output_no_hosts(pr->x->cfg->out);
		pr->stop = 2;
	}
	if (pr->stop == 2 || (pr->nbatch && batch_failed == pr->nbatch)) {
		output_no_hosts(pr->x->cfg->out);
		if (!pr->stop)
			pr->stop = 1;
	}
}

/* A task_start veto fails the task on every host. */
static void task_vetoed(struct prun *pr, struct pb_task *t, struct hstate **act, int k,
                        const char *veto)
{
	json_t *r =
	    json_pack("{sb sb ss+}", "failed", 1, "changed", 0, "msg", "vetoed by a hook: ", veto);
	for (int i = 0; i < k; i++) {
		output_result(pr->x->cfg->out, act[i]->name, NULL, t->action, ST_FAILED, r, NULL,
		              0);
		pthread_mutex_lock(&pr->x->lock);
		act[i]->failed = 1;
		act[i]->st.failed++;
		pthread_mutex_unlock(&pr->x->lock);
	}
	json_decref(r);
	after_task(pr, t, act, k);
}

static void run_task(struct prun *pr, struct pb_task *t, struct hstate **hs, int n)
{
	struct hstate **act = xcalloc((size_t)n + 1, sizeof(*act));
	int k = collect_active(pr, hs, n, act);
	char *title = NULL;
	json_t **results = NULL;
	if (!k || !exec_tag_selected(pr, t) || !start_at_ok(pr, t))
		goto out;
	title = pb_task_title(t);
	if (!step_ok(pr, title))
		goto out;
	output_task_start(pr->x->cfg->out, t->handler ? "RUNNING HANDLER" : "TASK", title, t->id);
	output_task_path(pr->x->cfg->out, t->pos.file, t->pos.line);
	char *veto = NULL;
	if (exec_hook(pr->x, "task_start",
	              json_pack("{ss ss? ss}", "play", pr->play->name, "task", t->name, "action",
	                        t->action),
	              &veto)) {
		task_vetoed(pr, t, act, k, veto);
		free(veto);
		goto out;
	}
	const json_t *ro = exec_kw(pr, t, "run_once");
	int once =
	    json_is_true(ro) || (json_is_string(ro) && config_bool(json_string_value(ro)) == 1);
	struct task_job j = {pr, t, act, NULL};
	if (once) {
		json_t *r = NULL;
		exec_task_host(pr, t, act[0], &r);
		const json_t *reg = json_object_get(t->kw, "register");
		pthread_mutex_lock(&pr->x->lock);
		for (int i = 1; i < k && json_is_string(reg); i++)
			json_object_set(act[i]->hvars, json_string_value(reg), r);
		pthread_mutex_unlock(&pr->x->lock);
		json_decref(r);
	} else {
		exec_parallel(k, pr->x->cfg->forks, task_job, &j);
	}
	after_task(pr, t, act, k);
out:
	free(results);
	free(title);
	free(act);
}

/* A role runs once per play with the same params (Ansible's dedup of
 * roles and dependencies); handler blocks are not role runs. */
static int role_first_run(struct prun *pr, const struct pb_task *b)
{
	if (!b->role || b->handler)
		return 1;
	const char *key = b->role->key;
	int first = 0;
	pthread_mutex_lock(&pr->x->lock);
	if (!json_object_get(pr->roles_run, key)) {
		json_object_set_new(pr->roles_run, key, json_true());
		first = 1;
	}
	pthread_mutex_unlock(&pr->x->lock);
	return first || json_is_true(json_object_get(b->kw, "allow_duplicates"));
}

/* Hosts that failed in a block and go to its rescue. */
static void run_block(struct prun *pr, struct pb_task *b, struct hstate **hs, int n)
{
	struct hstate **act = xcalloc((size_t)n + 1, sizeof(*act));
	int *was = xcalloc((size_t)n + 1, sizeof(*was));
	int k = collect_active(pr, hs, n, act), r = 0;
	struct hstate **resc = xcalloc((size_t)k + 1, sizeof(*resc));
	if (!k || !role_first_run(pr, b))
		goto out;
	int has_rescue = b->rescue.n > 0;
	for (int i = 0; i < k && has_rescue; i++)
		act[i]->rescuable++;
	exec_list(pr, &b->block, act, k);
	for (int i = 0; i < k && has_rescue; i++)
		act[i]->rescuable--;
	for (int i = 0; i < k && has_rescue; i++) {
		struct hstate *h = act[i];
		if (!h->failed || h->unreachable)
			continue;
		pthread_mutex_lock(&pr->x->lock);
		h->failed = 0;
		json_object_set(h->hvars, "ansible_failed_task", h->failed_task);
		json_object_set(h->hvars, "ansible_failed_result", h->failed_result);
		pthread_mutex_unlock(&pr->x->lock);
		resc[r++] = h;
	}
	if (r && pr->stop != 1)
		exec_list(pr, &b->rescue, resc, r);
	if (b->always.n && !exec_stop_flag) {
		int stop = pr->stop;
		for (int i = 0; i < k; i++) {
			was[i] = act[i]->failed;
			act[i]->failed = 0;
		}
		if (stop == 1)
			pr->stop = 0;
		exec_list(pr, &b->always, act, k);
		if (stop)
			pr->stop = stop;
		for (int i = 0; i < k; i++)
			act[i]->failed |= was[i];
	}
out:
	free(resc);
	free(was);
	free(act);
}

static void run_meta(struct prun *pr, struct pb_task *t, struct hstate **hs, int n)
{
	const char *verb = json_string_value(json_object_get(t->args, "_raw_params"));
	struct hstate **act = xcalloc((size_t)n + 1, sizeof(*act));
	int k = collect_active(pr, hs, n, act);
	char *title = pb_task_title(t);
	if (!verb)
		verb = "";
	if (!strcmp(verb, "flush_handlers")) {
		for (int i = 0; i < k; i++)
			output_meta_start(pr->x->cfg->out, title, t->id);
		exec_flush_handlers(pr, act, k);
		goto out;
	}
	for (int i = 0; i < k; i++) {
		struct hstate *h = act[i];
		output_meta_start(pr->x->cfg->out, title, t->id);
		const json_t *w = json_object_get(t->kw, "when");
		if (w) {
			struct tmpl_ctx c;
			struct err e;
			int ok = 0;
			json_t *vars = exec_task_vars(pr, t, h);
			err_init(&e);
			exec_tmpl_ctx(t, vars, &c);
			if (json_is_array(w)) {
				ok = 1;
				for (size_t j = 0; j < json_array_size(w) && ok; j++)
					if (tmpl_cond(json_array_get(w, j), &c, &ok, &e))
						ok = 0;
			} else if (tmpl_cond(w, &c, &ok, &e)) {
				ok = 0;
			}
			json_decref(vars);
			if (!ok) {
				json_t *r =
				    json_pack("{sb sb ss}", "changed", 0, "skipped", 1,
				              "skip_reason", "Conditional result was False");
				output_result(pr->x->cfg->out, h->name, NULL, "meta", ST_SKIPPED, r,
				              NULL, 0);
				json_decref(r);
				continue;
			}
		}
		pthread_mutex_lock(&pr->x->lock);
		if (!strcmp(verb, "end_play"))
			pr->stop = 3;
		else if (!strcmp(verb, "end_batch"))
			pr->stop = 4;
		else if (!strcmp(verb, "end_host"))
			h->ended = 1;
		else if (!strcmp(verb, "clear_facts"))
			json_object_clear(h->facts);
		else if (!strcmp(verb, "clear_host_errors"))
			h->failed = 0;
		pthread_mutex_unlock(&pr->x->lock);
		if (pr->stop)
			break; /* end_play/end_batch: the other hosts never reach it */
	}
out:
	free(title);
	free(act);
}

void exec_node(struct prun *pr, struct pb_task *t, struct hstate **hs, int n)
{
	if (exec_stop_flag || pr->stop)
		return;
	switch (t->kind) {
	case PB_TASK:
		run_task(pr, t, hs, n);
		break;
	case PB_BLOCK:
		run_block(pr, t, hs, n);
		break;
	case PB_META:
		run_meta(pr, t, hs, n);
		break;
	case PB_INCLUDE:
	case PB_INCLUDE_ROLE:
		exec_include(pr, t, hs, n);
		break;
	}
}

void exec_list(struct prun *pr, struct pb_list *l, struct hstate **hs, int n)
{
	for (int i = 0; i < l->n && !exec_stop_flag && !pr->stop; i++)
		exec_node(pr, l->v[i], hs, n);
}

static int notified(struct hstate *h, const struct pb_task *t)
{
	const json_t *listen = json_object_get(t->kw, "listen");
	char *title = pb_task_title(t);
	int hit = (t->name && json_object_get(h->notified, t->name)) ||
	          json_object_get(h->notified, title);
	size_t i;
	json_t *v;
	if (json_is_string(listen))
		hit |= !!json_object_get(h->notified, json_string_value(listen));
	json_array_foreach (listen, i, v)
		if (json_is_string(v))
			hit |= !!json_object_get(h->notified, json_string_value(v));
	free(title);
	return hit;
}

/* Handlers run on hosts still going, and with force_handlers also on
 * hosts that failed (not on unreachable ones). */
static int handler_host(const struct prun *pr, const struct hstate *h)
{
	const json_t *f = json_object_get(pr->play->kw, "force_handlers");
	int force =
	    json_is_true(f) || (json_is_string(f) && config_bool(json_string_value(f)) == 1);
	if (force && h->failed && !h->unreachable && !h->ended && !exec_stop_flag && pr->stop != 2)
		return 1;
	return host_active(pr, h);
}

static void flush_list(struct prun *pr, struct pb_list *l, struct hstate **hs, int n,
                       struct hstate **sel)
{
	int *forced = xcalloc((size_t)n + 1, sizeof(*forced));
	for (int i = 0; i < l->n && !exec_stop_flag; i++) {
		struct pb_task *t = l->v[i];
		if (t->kind == PB_BLOCK) {
			flush_list(pr, &t->block, hs, n, sel);
			continue;
		}
		int k = 0;
		pthread_mutex_lock(&pr->x->lock);
		for (int j = 0; j < n; j++) {
			if (!handler_host(pr, hs[j]) || !notified(hs[j], t))
				continue;
			forced[k] = hs[j]->failed; /* force_handlers: runs, stays failed */
			hs[j]->failed = 0;
			sel[k++] = hs[j];
		}
		pthread_mutex_unlock(&pr->x->lock);
		if (k)
			exec_node(pr, t, sel, k);
		for (int j = 0; j < k; j++)
			sel[j]->failed |= forced[j];
	}
	free(forced);
}

void exec_flush_handlers(struct prun *pr, struct hstate **hs, int n)
{
	struct hstate **sel = xcalloc((size_t)n + 1, sizeof(*sel));
	flush_list(pr, &pr->handlers, hs, n, sel);
	pthread_mutex_lock(&pr->x->lock);
	for (int j = 0; j < n; j++)
		if (handler_host(pr, hs[j]) || (!hs[j]->failed && !hs[j]->unreachable))
			json_object_clear(hs[j]->notified);
	pthread_mutex_unlock(&pr->x->lock);
	free(sel);
}
