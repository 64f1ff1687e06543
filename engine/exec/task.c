/*
 * One task on one host: conditions, loop items, templated args, the module
 * call through the host's (or delegate's) connection, until/retries,
 * changed_when/failed_when, facts and register, stats and output. Follows
 * ansible-core 2.14's TaskExecutor so registered values match.
 */
#include "exec/exec_int.h"
#include "config/config.h"
#include "modules/module.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char no_log_msg[] =
    "the output has been hidden due to the fact that 'no_log: true' was specified for "
    "this result";

static json_t *fail_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail_result(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	json_t *r = json_pack("{sb sb ss}", "failed", 1, "changed", 0, "msg", buf_str(&b));
	buf_release(&b);
	return r;
}

static json_t *err_result(const char *what, const struct err *e)
{
	char msg[2600];
	err_format(e, msg, sizeof(msg));
	return fail_result("%s%s", what, msg);
}

/* Where Ansible refuses async: actions on the controller, check mode. */
static int async_refused(const struct module_def *m, long async_s, int check, json_t *result)
{
	const char *why = NULL;
	if (async_s > 0 && (m->flags & MOD_CONTROLLER))
		why = "async is not supported for this task.";
	else if (async_s > 0 && check)
		why = "check mode and async cannot be used on same task.";
	if (!why)
		return 0;
	json_object_set_new(result, "failed", json_true());
	json_object_set_new(result, "msg", json_string(why));
	return 1;
}

static json_t *run_module(struct item_run *ir, const struct module_def *m, const json_t *args)
{
	struct task_ctx ctx = {0};
	struct err e;
	char *buser = NULL, *bpw = NULL;
	char **env = NULL;
	json_t *result = json_object();
	const char *target = ir->delegate ? ir->delegate : ir->h->name;
	err_init(&e);
	ctx.host = ir->h->name;
	ctx.vars = ir->vars;
	exec_tmpl_ctx(ir->t, ir->vars, &ctx.tmpl);
	ctx.check = exec_kw_bool(ir->pr, ir->t, "check_mode", ir->vars, ir->pr->x->cfg->check);
	ctx.diff = exec_kw_bool(ir->pr, ir->t, "diff", ir->vars, ir->pr->x->cfg->diff);
	ctx.verbosity = ir->pr->x->cfg->verbosity;
	ctx.basedir = ir->t->basedir;
	struct pb_role *role = pb_task_role(ir->t);
	ctx.role_path = role ? role->path : NULL;
	ctx.executor = ir->pr;
	ctx.conn_for = exec_conn_for;
	ctx.progress = exec_progress;
	exec_become_opts(ir, &ctx.exec, &buser, &bpw);
	ctx.exec.timeout = (int)exec_kw_int(ir, "timeout", 0);
	env = exec_env_list(ir);
	ctx.exec.env = (const char *const *)env;
	long async_s = exec_kw_int(ir, "async", 0);
	if (async_refused(m, async_s, ctx.check, result))
		goto out;
	if (ctx.check && !(m->flags & MOD_CHECK_MODE)) {
		json_decref(result);
		result = json_pack("{sb sb ss++}", "changed", 0, "skipped", 1, "msg",
		                   "remote module (", m->name, ") does not support check mode");
		goto out;
	}
	if (!(m->flags & MOD_CONTROLLER)) {
		json_t *cv = exec_conn_vars(ir, target);
		/* MOD_LAZY_CONN modules open it themselves: a host down now is
		 * what they wait for, not UNREACHABLE. */
		ctx.conn = (m->flags & MOD_LAZY_CONN ? conn_pool_lazy : conn_pool_get)(
		    ir->pr->x->cfg->pool, target, cv, exec_resolve_vars, ir->pr->x, &e);
		json_decref(cv);
		if (!ctx.conn) {
			json_decref(result);
			char msg[2600];
			result = json_pack("{sb sb ss}", "unreachable", 1, "changed", 0, "msg",
			                   err_format(&e, msg, sizeof(msg)));
			goto out;
		}
	}
	if ((async_s > 0 ? exec_async_run(ir, &ctx, m, args, async_s, result, &e)
	                 : m->run(&ctx, args, result, &e)) < 0) {
		char msg[2600];
		err_format(&e, msg, sizeof(msg));
		json_object_set_new(result, e.code == ERR_UNREACH ? "unreachable" : "failed",
		                    json_true());
		json_object_set_new(result, "msg", json_string(msg));
	}
out:
	for (int i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
	free(buser);
	free(bpw);
	return result;
}

/* The module's no_log values (new list). copy's content is no_log in its
 * argspec, as in Ansible, but Ansible's copy action turns it into a file
 * before the module runs: it is no secret of the module's and shows in
 * --diff, so it is not masked here either. */
static json_t *secrets_of(const struct module_def *m, const json_t *args)
{
	json_t *s = module_nolog_values(m, args);
	const json_t *content = json_object_get(args, "content");
	size_t i;
	json_t *v;
	if (strcmp(m->name, "copy") || !content)
		return s;
	json_array_foreach (s, i, v)
		if (json_equal(v, content)) {
			json_array_remove(s, i);
			break;
		}
	return s;
}

/* Args rendered, module_defaults under them, omit stripped, validated;
 * then the module (once). The module's no_log values are masked in its
 * result and, while it runs, in this thread's stderr. */
static json_t *run_once_attempt(struct item_run *ir)
{
	const struct module_def *m = module_find(ir->t->action);
	struct tmpl_ctx c;
	struct err e;
	json_t *args = NULL, *clean = NULL, *defs = NULL, *secrets = NULL, *r;
	err_init(&e);
	if (!m)
		return fail_result("couldn't resolve module/action '%s'", ir->t->action);
	exec_tmpl_ctx(ir->t, ir->vars, &c);
	struct srcpos sp;
	if (!srcpos_key(ir->t->kw, ir->t->action, &sp)) {
		c.file = sp.file; /* errors point at the module's line */
		c.line = sp.line;
		c.col = sp.col;
	}
	if (!(args = tmpl_render_value(ir->t->args, &c, &e))) {
		r = err_result("The task includes an option with an undefined variable. "
		               "The error was: ",
		               &e);
		goto out;
	}
	if (!(defs = exec_module_defaults(ir, m, &e))) {
		r = err_result("", &e);
		goto out;
	}
	json_object_update_missing(args, defs); /* the task's own args win */
	vars_strip_omit(args);
	if (module_validate(m, args, &clean, &e)) {
		secrets = secrets_of(m, args);
		r = err_result("", &e);
		goto out;
	}
	secrets = secrets_of(m, clean);
	output_mask_thread(secrets);
	r = run_module(ir, m, clean);
	output_mask_thread(NULL);
out:
	if (json_array_size(secrets)) {
		json_t *masked = output_mask_json(r, secrets);
		json_decref(r);
		r = masked;
	}
	/* What a module brought back from a host is data, never a template
	 * (Ansible's AnsibleUnsafe): a registered stdout holding "{{" must not
	 * be rendered when the variable is read. set_fact and include_vars
	 * values are the playbook's own. */
	if (strcmp(m->name, "set_fact") && strcmp(m->name, "include_vars"))
		tmpl_mark_unsafe(r);
	json_decref(secrets);
	json_decref(defs);
	json_decref(args);
	json_decref(clean);
	return r;
}

static void set_reg(struct item_run *ir, json_t *vars, json_t *result)
{
	const json_t *reg = json_object_get(ir->t->kw, "register");
	if (json_is_string(reg))
		json_object_set(vars, json_string_value(reg), result);
}

/* failed/changed defaults, changed_when, failed_when (TaskExecutor._execute). */
static void post_conditions(struct item_run *ir, json_t *r)
{
	struct err e;
	int res;
	if (!json_object_get(r, "failed")) {
		json_t *rc = json_object_get(r, "rc");
		json_object_set_new(
		    r, "failed", json_boolean(rc && json_is_integer(rc) && json_integer_value(rc)));
	}
	if (!json_object_get(r, "changed"))
		json_object_set_new(r, "changed", json_false());
	if (json_object_get(r, "skipped") || json_object_get(r, "unreachable"))
		return;
	set_reg(ir, ir->vars, r);
	err_init(&e);
	const json_t *cw = json_object_get(ir->t->kw, "changed_when");
	if (cw) {
		if (exec_cond(ir->t, ir->t->kw, "changed_when", cw, ir->vars, &res, &e)) {
			json_object_set_new(r, "failed", json_true());
			json_object_set_new(r, "changed_when_result", json_string(e.msg));
			return;
		}
		json_object_set_new(r, "changed", json_boolean(res));
	}
	const json_t *fw = json_object_get(ir->t->kw, "failed_when");
	if (fw) {
		if (exec_cond(ir->t, ir->t->kw, "failed_when", fw, ir->vars, &res, &e)) {
			json_object_set_new(r, "failed", json_true());
			json_object_set_new(r, "failed_when_result", json_string(e.msg));
			return;
		}
		json_object_set_new(r, "failed", json_boolean(res));
		json_object_set_new(r, "failed_when_result", json_boolean(res));
	}
}

/* Facts a module returned go where Ansible puts them. */
static void merge_facts(struct item_run *ir, json_t *r)
{
	json_t *f = json_object_get(r, "ansible_facts");
	struct exec *x = ir->pr->x;
	if (!json_is_object(f) || !strcmp(ir->action, "debug"))
		return;
	struct hstate *h = ir->h;
	if (ir->delegate && exec_kw_bool(ir->pr, ir->t, "delegate_facts", ir->vars, 0))
		h = exec_host(x, ir->delegate);
	pthread_mutex_lock(&x->lock);
	if (!strcmp(ir->action, "set_fact"))
		json_object_update(h->hvars, f);
	else if (!strcmp(ir->action, "include_vars"))
		json_object_update(h->incvars, f);
	else
		json_object_update(h->facts, f);
	pthread_mutex_unlock(&x->lock);
	if (h == ir->h) {
		if (!strcmp(ir->action, "set_fact") || !strcmp(ir->action, "include_vars"))
			json_object_update(ir->vars, f);
		else {
			json_t *af = json_object_get(ir->vars, "ansible_facts");
			if (json_is_object(af))
				json_object_update(af, f);
		}
	}
}

/* One execution with until/retries (one loop item, or the task). */
static json_t *run_item(struct item_run *ir)
{
	const json_t *until = json_object_get(ir->t->kw, "until");
	long retries = 1, delay = exec_kw_int(ir, "delay", 5);
	json_t *r = NULL;
	if (until) {
		long n = exec_kw_int(ir, "retries", 3);
		retries = n <= 0 ? 1 : n + 1;
	}
	for (long attempt = 1; attempt <= retries; attempt++) {
		json_decref(r);
		r = run_once_attempt(ir);
		if (until)
			json_object_set_new(r, "attempts", json_integer(attempt));
		merge_facts(ir, r);
		post_conditions(ir, r);
		if (json_object_get(r, "unreachable") || !until)
			break;
		struct err e;
		int ok = 0;
		err_init(&e);
		if (exec_cond(ir->t, ir->t->kw, "until", until, ir->vars, &ok, &e) == 0 && ok)
			break;
		if (attempt == retries) {
			json_object_set_new(r, "attempts", json_integer(retries - 1));
			json_object_set_new(r, "failed", json_true());
			break;
		}
		if (exec_stop_flag)
			break;
		char *title = pb_task_title(ir->t);
		output_line(ir->pr->x->cfg->out, "FAILED - RETRYING: [%s]: %s (%ld retries left).",
		            ir->h->name, title, retries - attempt);
		free(title);
		for (long s = 0; s < delay * 10 && !exec_stop_flag; s++)
			usleep(100000);
	}
	return r;
}

static enum out_status status_of(const json_t *r)
{
	if (json_is_true(json_object_get(r, "unreachable")))
		return ST_UNREACHABLE;
	if (json_is_true(json_object_get(r, "failed")))
		return ST_FAILED;
	if (json_is_true(json_object_get(r, "skipped")))
		return ST_SKIPPED;
	if (json_is_true(json_object_get(r, "changed")))
		return ST_CHANGED;
	return ST_OK;
}

static json_t *shown(struct item_run *ir, const json_t *r)
{
	if (!exec_kw_bool(ir->pr, ir->t, "no_log", ir->vars, 0))
		return json_incref((json_t *)r);
	return json_pack("{ss sO}", "censored", no_log_msg, "changed",
	                 json_object_get(r, "changed") ?: json_false());
}

static void show_diff(struct item_run *ir, const json_t *r)
{
	const json_t *d = json_object_get(r, "diff");
	if (d && json_is_true(json_object_get(r, "changed")) &&
	    exec_kw_bool(ir->pr, ir->t, "diff", ir->vars, ir->pr->x->cfg->diff) &&
	    !exec_kw_bool(ir->pr, ir->t, "no_log", ir->vars, 0))
		output_diff(ir->pr->x->cfg->out, d);
}

static json_t *skip_result(void)
{
	return json_pack("{sb sb ss}", "changed", 0, "skipped", 1, "skip_reason",
	                 "Conditional result was False");
}

static json_t *label_of(struct item_run *ir, const json_t *item)
{
	const json_t *lc = json_object_get(ir->t->kw, "loop_control");
	const json_t *label = json_object_get(lc, "label");
	if (!label)
		return json_incref((json_t *)item);
	struct tmpl_ctx c;
	struct err e;
	err_init(&e);
	exec_tmpl_ctx(ir->t, ir->vars, &c);
	json_t *r = tmpl_render_value(label, &c, &e);
	return r ? r : json_incref((json_t *)item);
}

/* "[h -> d]" names the delegate by its ansible_host, as Ansible does.
 * Borrowed. */
static const char *delegate_label(struct item_run *ir)
{
	if (!ir->delegate)
		return NULL;
	struct hstate *d = exec_host(ir->pr->x, ir->delegate);
	const char *ah = json_string_value(json_object_get(d->inv_vars, "ansible_host"));
	return ah && !tmpl_has_template(ah) ? ah : ir->delegate;
}

static char *delegate_of(struct item_run *ir)
{
	if (json_object_get(ir->t->kw, "local_action"))
		return xstrdup("localhost");
	return exec_kw_str(ir->pr, ir->t, "delegate_to", ir->vars);
}

/* loop_control.extended: ansible_loop as TaskExecutor._run_loop sets it. */
static json_t *loop_extended(const json_t *items, size_t i)
{
	size_t n = json_array_size(items);
	json_t *l = json_pack("{sI sI sb sb sI sI sI sO}", "index", (json_int_t)i + 1, "index0",
	                      (json_int_t)i, "first", i == 0, "last", i + 1 == n, "length",
	                      (json_int_t)n, "revindex", (json_int_t)(n - i), "revindex0",
	                      (json_int_t)(n - i - 1), "allitems", items);
	if (i + 1 < n)
		json_object_set(l, "nextitem", json_array_get(items, i + 1));
	if (i > 0)
		json_object_set(l, "previtem", json_array_get(items, i - 1));
	return l;
}

/* One loop item: its vars, when, run, the item keys of its result, and its
 * line of output. New reference. */
static json_t *loop_item(struct item_run *ir, const json_t *item, size_t i)
{
	const json_t *lc = json_object_get(ir->t->kw, "loop_control");
	const char *loop_var = json_string_value(json_object_get(lc, "loop_var")) ?: "item";
	const char *index_var = json_string_value(json_object_get(lc, "index_var"));
	struct err e;
	int ok;
	json_t *r;
	json_object_set(ir->vars, loop_var, (json_t *)item);
	json_object_set_new(ir->vars, "ansible_loop_var", json_string(loop_var));
	if (index_var)
		json_object_set_new(ir->vars, index_var, json_integer((json_int_t)i));
	if (json_is_true(json_object_get(lc, "extended")))
		json_object_set_new(ir->vars, "ansible_loop", loop_extended(ir->items, i));
	free(ir->delegate); /* delegate_to may name the item */
	ir->delegate = delegate_of(ir);
	err_init(&e);
	if (exec_when_holds(ir->t, ir->vars, &ok, &e))
		r = err_result("The conditional check failed: ", &e);
	else
		r = ok ? run_item(ir) : skip_result();
	json_object_set(r, loop_var, (json_t *)item);
	json_object_set_new(r, "ansible_loop_var", json_string(loop_var));
	if (index_var) {
		json_object_set_new(r, index_var, json_integer((json_int_t)i));
		json_object_set_new(r, "ansible_index_var", json_string(index_var));
	}
	if (json_object_get(ir->vars, "ansible_loop") &&
	    json_is_true(json_object_get(lc, "extended")))
		json_object_set(r, "ansible_loop", json_object_get(ir->vars, "ansible_loop"));
	show_diff(ir, r);
	json_t *lab = label_of(ir, item), *sh = shown(ir, r);
	output_result(ir->pr->x->cfg->out, ir->h->name, delegate_label(ir), ir->action,
	              status_of(r), sh, lab, 0);
	json_decref(lab);
	json_decref(sh);
	return r;
}

/* The loop's result as TaskExecutor.run builds it. */
static json_t *run_loop(struct item_run *ir, json_t *items)
{
	const json_t *lc = json_object_get(ir->t->kw, "loop_control");
	const json_t *pause = json_object_get(lc, "pause");
	json_t *results = json_array(), *res = json_object();
	size_t i;
	json_t *item;
	int any_changed = 0, any_failed = 0, all_skipped = 1;
	json_array_foreach (items, i, item) {
		if (i && json_is_number(pause))
			usleep((useconds_t)(json_number_value(pause) * 1e6));
		ir->items = items;
		json_t *r = loop_item(ir, item, i);
		enum out_status st = status_of(r);
		any_changed |= st == ST_CHANGED || json_is_true(json_object_get(r, "changed"));
		any_failed |= st == ST_FAILED || st == ST_UNREACHABLE;
		all_skipped &= st == ST_SKIPPED;
		json_array_append_new(results, r);
		if (exec_stop_flag)
			break;
	}
	json_object_set_new(res, "results", results);
	json_object_set_new(res, "skipped", json_boolean(all_skipped));
	json_object_set_new(res, "changed", json_boolean(any_changed));
	if (any_failed) {
		json_object_set_new(res, "failed", json_true());
		json_object_set_new(res, "msg", json_string("One or more items failed"));
	} else {
		json_object_set_new(
		    res, "msg",
		    json_string(all_skipped ? "All items skipped" : "All items completed"));
	}
	json_object_del(ir->vars, json_string_value(json_object_get(lc, "loop_var")) ?: "item");
	return res;
}

/* The task's result on h: loop or single run, or the skip/failure before. */
static json_t *task_result(struct item_run *ir, int *looped)
{
	struct err e;
	int ok;
	err_init(&e);
	*looped = 0;
	json_t *items = exec_loop_items(ir->t, ir->vars, &e);
	if (!items && e.code)
		return err_result("Error in the loop: ", &e);
	if (items) {
		*looped = 1;
		json_t *r;
		if (!json_array_size(items))
			r = json_pack("{sb sb ss s[]}", "changed", 0, "skipped", 1,
			              "skipped_reason", "No items in the list", "results");
		else
			r = run_loop(ir, items);
		json_decref(items);
		return r;
	}
	if (exec_when_holds(ir->t, ir->vars, &ok, &e))
		return err_result("The conditional check failed: ", &e);
	if (!ok)
		return skip_result();
	return run_item(ir);
}

static int ignored_errors(struct item_run *ir)
{
	return exec_kw_bool(ir->pr, ir->t, "ignore_errors", ir->vars, 0);
}

/* Stats, host state and notifications for a finished result. */
static void account(struct item_run *ir, json_t *r, enum out_status st, int ignore)
{
	struct exec *x = ir->pr->x;
	struct hstate *h = ir->h;
	pthread_mutex_lock(&x->lock);
	switch (st) {
	case ST_UNREACHABLE:
		h->st.unreachable++;
		if (!exec_kw_bool(ir->pr, ir->t, "ignore_unreachable", ir->vars, 0))
			h->unreachable = 1;
		break;
	case ST_FAILED:
		if (ignore) {
			h->st.ok++;
			h->st.ignored++;
			if (json_is_true(json_object_get(r, "changed")))
				h->st.changed++;
			break;
		}
		if (h->rescuable > 0)
			h->st.rescued++;
		else
			h->st.failed++;
		h->failed = 1;
		json_decref(h->failed_result);
		h->failed_result = json_incref(r);
		json_decref(h->failed_task);
		h->failed_task =
		    json_pack("{s:s?, s:s}", "name", ir->t->name, "action", ir->t->action);
		break;
	case ST_SKIPPED:
		h->st.skipped++;
		break;
	case ST_CHANGED:
		h->st.changed++;
		/* fall through */
	case ST_OK:
		h->st.ok++;
		break;
	}
	pthread_mutex_unlock(&x->lock);
}

static void notify(struct item_run *ir)
{
	const json_t *n = json_object_get(ir->t->kw, "notify");
	struct exec *x = ir->pr->x;
	size_t i;
	json_t *v;
	pthread_mutex_lock(&x->lock);
	if (json_is_string(n))
		json_object_set_new(ir->h->notified, json_string_value(n), json_true());
	json_array_foreach (n, i, v)
		if (json_is_string(v))
			json_object_set_new(ir->h->notified, json_string_value(v), json_true());
	pthread_mutex_unlock(&x->lock);
}

/* throttle of the task, its blocks and role, or the play (templated);
 * 0 when unset or with run_once, which Ansible does not throttle. -1 when
 * it is not a number. */
static long throttle_of(struct item_run *ir)
{
	const json_t *v = NULL;
	for (const struct pb_task *p = ir->t; p && !v; p = p->parent)
		v = json_object_get(p->kw, "throttle");
	if (!v)
		v = json_object_get(ir->pr->play->kw, "throttle");
	if (!v || exec_kw_bool(ir->pr, ir->t, "run_once", ir->vars, 0))
		return 0;
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	struct tmpl_ctx c;
	struct err e;
	err_init(&e);
	exec_tmpl_ctx(ir->t, ir->vars, &c);
	json_t *r = tmpl_render_value(v, &c, &e);
	char *txt = r ? tmpl_to_text(r) : NULL, *end = NULL;
	long n = txt ? strtol(txt, &end, 10) : 0;
	int ok = txt && *txt && end && !*end;
	free(txt);
	json_decref(r);
	return ok ? n : -1;
}

/* The task's result on h within its throttle. */
static json_t *throttled_result(struct item_run *ir, int *looped)
{
	long limit = throttle_of(ir);
	*looped = 0;
	if (limit < 0)
		return fail_result("Failed to convert the throttle value to an integer.");
	exec_throttle_enter(ir->t, limit);
	json_t *r = task_result(ir, looped);
	exec_throttle_leave(ir->t, limit);
	return r;
}

int exec_task_host(struct prun *pr, struct pb_task *t, struct hstate *h, json_t **out)
{
	struct item_run ir = {pr, t, h, NULL, NULL, NULL, NULL};
	int looped;
	ir.vars = exec_task_vars(pr, t, h);
	ir.action = t->action;
	if (str_startswith(ir.action, "ansible.builtin.") ||
	    str_startswith(ir.action, "ansible.legacy."))
		ir.action = strchr(strchr(ir.action, '.') + 1, '.') + 1;
	ir.delegate = delegate_of(&ir);
	char *veto = NULL;
	json_t *r;
	if (exec_hook(pr->x, t->handler ? "handler" : "host_task_start",
	              json_pack("{ss ss? ss ss}", "play", pr->play->name, "task", t->name, "action",
	                        ir.action, "host", h->name),
	              &veto)) {
		r = fail_result("vetoed by a hook: %s", veto);
		looped = 0;
	} else {
		r = throttled_result(&ir, &looped);
	}
	free(veto);
	enum out_status st = status_of(r);
	int ignore = st == ST_FAILED && ignored_errors(&ir);
	if (st == ST_UNREACHABLE && exec_kw_bool(pr, t, "ignore_unreachable", ir.vars, 0))
		ignore = 1;
	set_reg(&ir, ir.vars, r);
	const json_t *reg = json_object_get(t->kw, "register");
	if (json_is_string(reg)) {
		pthread_mutex_lock(&pr->x->lock);
		json_object_set(h->hvars, json_string_value(reg), r);
		pthread_mutex_unlock(&pr->x->lock);
	}
	if (!looped) {
		show_diff(&ir, r);
		json_t *sh = shown(&ir, r);
		output_result(pr->x->cfg->out, h->name, delegate_label(&ir), ir.action, st, sh,
		              NULL, ignore);
		json_decref(sh);
	} else {
		output_loop_done(pr->x->cfg->out, h->name, ir.action, st, r, ignore);
	}
	account(&ir, r, st, ignore);
	static const char *const words[] = {"ok", "changed", "skipped", "failed", "unreachable"};
	json_t *sh = shown(&ir, r);
	exec_hook_note(pr->x, "host_result",
	               json_pack("{ss ss? ss ss ss so}", "play", pr->play->name, "task", t->name,
	                         "action", ir.action, "host", h->name, "status", words[st],
	                         "result", sh));
	if (st == ST_CHANGED)
		notify(&ir);
	json_decref(ir.vars);
	free(ir.delegate);
	if (out)
		*out = r;
	else
		json_decref(r);
	return st;
}
