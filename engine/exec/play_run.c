/*
 * A run: plays in order, each over its hosts in batches (serial), then the
 * recap and Ansible's exit code. Ad-hoc runs are a one-task play.
 */
#include "exec/exec_int.h"
#include "lua/hooks.h"
#include "modules/module.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

json_t *exec_split_tags(const char *s, const char *def)
{
	json_t *out = json_array();
	if (!s || !*s) {
		if (def)
			json_array_append_new(out, json_string(def));
		return out;
	}
	char *c = xstrdup(s), *save = NULL;
	for (char *p = strtok_r(c, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		if (*p)
			json_array_append_new(out, json_string(p));
	}
	free(c);
	return out;
}

/* serial: batch sizes; the last repeats. */
static int batch_size(const json_t *serial, int idx, int total)
{
	const json_t *v = serial;
	if (json_is_array(serial)) {
		size_t n = json_array_size(serial);
		if (!n)
			return total;
		v = json_array_get(serial, (size_t)idx < n ? (size_t)idx : n - 1);
	}
	long sz = total;
	if (json_is_integer(v))
		sz = (long)json_integer_value(v);
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		double d = strtod(s, &end);
		sz = *end == '%' ? (long)(d * total / 100.0) : (long)d;
		if (*end == '%' && sz < 1)
			sz = 1;
	}
	if (sz <= 0 || sz > total)
		sz = total;
	return (int)sz;
}

/* Every host of the batch finds its vars_files (names rendered with its
 * vars, as exec_task_vars renders them); Ansible stops the run when one
 * does not. Done before facts and again after them, since names may use
 * facts; once a host's facts are gathered an undefined variable in a name
 * is an error too, as in Ansible. */
static int vars_files_check(struct prun *pr, struct err *e)
{
	struct pb_task t = {0};
	int rc = 0;
	if (!json_object_get(pr->play->kw, "vars_files"))
		return 0;
	t.kind = PB_TASK;
	t.kw = json_object();
	t.basedir = pr->play->basedir;
	for (int i = 0; i < pr->nbatch && !rc; i++) {
		struct hstate *h = pr->batch[i];
		if (!host_active(pr, h))
			continue;
		json_t *vars = exec_task_vars(pr, &t, h), *out = json_object();
		pthread_mutex_lock(&pr->x->lock);
		int facts = json_is_true(json_object_get(h->facts, "module_setup"));
		rc = pb_vars_files_load(pr->play, vars, pr->vars_files, h->name, facts, out, e);
		pthread_mutex_unlock(&pr->x->lock);
		json_decref(out);
		json_decref(vars);
	}
	json_decref(t.kw);
	return rc;
}

/* vars_prompt: drover never prompts; values come from -e or a default. */
static int vars_prompt(struct prun *pr, struct err *e)
{
	const json_t *vp = json_object_get(pr->play->kw, "vars_prompt");
	size_t i;
	json_t *p;
	if (json_array_size(vp))
		log_warn("Not prompting as we are not in interactive mode");
	json_array_foreach (vp, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const json_t *def = json_object_get(p, "default");
		if (!name) {
			struct srcpos sp = {0};
			srcpos_get(p, &sp);
			return err_set(e, ERR_PARSE, sp.file, sp.line, sp.col,
			               "each vars_prompt entry needs a 'name'");
		}
		if (json_object_get(pr->x->cfg->extra_vars, name))
			continue;
		if (def) {
			/* above play vars, below vars_files: the play layer's top */
			json_object_set(pr->play_vars, name, (json_t *)def);
			continue;
		}
		struct srcpos sp = {0};
		srcpos_get(p, &sp);
		return err_set(e, ERR_GENERIC, sp.file, sp.line, sp.col,
		               "vars_prompt '%s' needs a value: drover does not prompt; pass "
		               "-e %s=VALUE",
		               name, name);
	}
	return 0;
}

static void gather_facts(struct prun *pr)
{
	const json_t *gf = json_object_get(pr->play->kw, "gather_facts");
	if (gf &&
	    !(json_is_true(gf) || (json_is_string(gf) && config_bool(json_string_value(gf)) == 1)))
		return;
	if (!module_find("setup")) {
		log_verbose(1, "no setup module: facts are not gathered");
		return;
	}
	struct pb_task t = {0};
	t.kind = PB_TASK;
	t.name = "Gathering Facts";
	t.action = "setup";
	t.args = json_object();
	t.kw = json_object();
	t.basedir = pr->play->basedir;
	t.id = 0;
	struct pb_list l = {NULL, 0};
	struct pb_task *tp = &t;
	l.v = &tp;
	l.n = 1;
	exec_list(pr, &l, pr->batch, pr->nbatch);
	json_decref(t.args);
	json_decref(t.kw);
}

struct free_job {
	struct prun *pr;
	struct pb_list *l;
};

static void free_host(void *ud, int i)
{
	struct free_job *j = ud;
	exec_list(j->pr, j->l, &j->pr->batch[i], 1);
}

static void section(struct prun *pr, struct pb_list *l)
{
	if (pr->free_strategy) {
		struct free_job j = {pr, l};
		exec_parallel(pr->nbatch, pr->x->cfg->forks, free_host, &j);
	} else {
		exec_list(pr, l, pr->batch, pr->nbatch);
	}
	if (pr->stop < 2)
		exec_flush_handlers(pr, pr->batch, pr->nbatch);
}

static int run_batch(struct prun *pr, struct err *e)
{
	if (vars_files_check(pr, e))
		return e->code;
	gather_facts(pr);
	if (vars_files_check(pr, e))
		return e->code;
	section(pr, &pr->play->pre_tasks);
	section(pr, &pr->play->tasks);
	section(pr, &pr->play->post_tasks);
	return 0;
}

static json_t *play_hosts(struct exec *x, struct pb_play *p, struct err *e)
{
	json_t *v = json_deep_copy(p->import_vars);
	json_object_update(v, json_object_get(p->kw, "vars"));
	json_object_update(v, x->cfg->extra_vars);
	struct tmpl_ctx c;
	exec_tmpl_ctx(NULL, v, &c);
	c.file = p->pos.file;
	c.line = p->pos.line;
	json_t *pat = tmpl_render(p->hosts, &c, e);
	json_decref(v);
	if (!pat)
		return NULL;
	char *s = tmpl_to_text(pat);
	json_decref(pat);
	json_t *hosts = inventory_select(x->cfg->inv, s, x->cfg->limit, e);
	free(s);
	const char *order = json_string_value(json_object_get(p->kw, "order"));
	if (hosts && order &&
	    (!strcmp(order, "reverse_inventory") || !strcmp(order, "reverse_sorted"))) {
		json_t *r = json_array();
		for (size_t i = json_array_size(hosts); i-- > 0;)
			json_array_append(r, json_array_get(hosts, i));
		json_decref(hosts);
		hosts = r;
	}
	return hosts;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	              json_string_value(*(json_t *const *)b));
}

/* order: sorted, reverse_sorted, shuffle (inventory orders are done by
 * play_hosts). */
static void sort_hosts(json_t *hosts, const char *order)
{
	size_t n = json_array_size(hosts);
	if (!order || (strcmp(order, "sorted") && strcmp(order, "reverse_sorted") &&
	               strcmp(order, "shuffle")))
		return;
	json_t **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(hosts, i));
	if (!strcmp(order, "shuffle")) {
		unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)rand_r(&seed) % i;
			json_t *tmp = v[i - 1];
			v[i - 1] = v[j];
			v[j] = tmp;
		}
	} else {
		qsort(v, n, sizeof(*v), cmp_names);
	}
	json_array_clear(hosts);
	for (size_t i = 0; i < n; i++) {
		size_t k = !strcmp(order, "reverse_sorted") ? n - 1 - i : i;
		json_array_append_new(hosts, v[k]);
	}
	free(v);
}

/* Roles named in roles: or import_role expose their defaults and vars to
 * the whole play (Ansible's private_role_vars = False); included roles
 * do not. */
static void public_roles(struct prun *pr, const struct pb_list *l)
{
	for (int i = 0; i < l->n; i++) {
		const struct pb_task *t = l->v[i];
		if (t->kind != PB_BLOCK)
			continue;
		if (t->role) {
			json_object_update(pr->role_defaults, t->role->defaults);
			json_object_update(pr->role_vars, t->role->vars);
		}
		public_roles(pr, &t->block);
		public_roles(pr, &t->rescue);
		public_roles(pr, &t->always);
	}
}

static void prun_init(struct prun *pr, struct exec *x, struct pb_play *p)
{
	memset(pr, 0, sizeof(*pr));
	pr->x = x;
	pr->play = p;
	pr->free_strategy =
	    !strcmp(json_string_value(json_object_get(p->kw, "strategy")) ?: "", "free");
	pr->play_vars = json_deep_copy(p->import_vars);
	json_object_update(pr->play_vars, json_object_get(p->kw, "vars"));
	pr->vars_files = json_object(); /* vars files loaded, by path (vars_task.c) */
	pr->role_defaults = json_object();
	pr->roles_run = json_object();
	pr->role_vars = json_object();
	pr->play_hosts_all = json_array();
	public_roles(pr, &p->pre_tasks);
	public_roles(pr, &p->tasks);
	public_roles(pr, &p->post_tasks);
	pr->handlers.v = xcalloc((size_t)p->handlers.n + 1, sizeof(*pr->handlers.v));
	if (p->handlers.n)
		memcpy(pr->handlers.v, p->handlers.v,
		       (size_t)p->handlers.n * sizeof(*pr->handlers.v));
	pr->handlers.n = p->handlers.n;
}

static void prun_release(struct prun *pr)
{
	json_decref(pr->play_vars);
	json_decref(pr->vars_files);
	json_decref(pr->role_defaults);
	json_decref(pr->roles_run);
	json_decref(pr->role_vars);
	json_decref(pr->play_hosts_all);
	free(pr->handlers.v);
}

/* The play's hosts in batches (serial). A batch in which every host failed
 * ends the play; any_errors_fatal and max_fail_percentage end the run. */
/* serial may be a template ("{{ k3s_upgrade_serial | default(1) }}"): it is
 * rendered once per play with the play's vars and extra vars, as Ansible
 * does. NULL with e set when it cannot be rendered. */
static json_t *play_serial(struct prun *pr, struct err *e)
{
	const json_t *raw = json_object_get(pr->play->kw, "serial");
	if (!raw)
		return json_null();
	json_t *ctxvars = json_deep_copy(pr->play_vars);
	json_object_update(ctxvars, pr->x->cfg->extra_vars);
	struct tmpl_ctx c;
	exec_tmpl_ctx(NULL, ctxvars, &c);
	json_t *r = tmpl_render_value(raw, &c, e);
	json_decref(ctxvars);
	return r;
}

static int play_batches(struct prun *pr, struct hstate **all, int nall, struct err *e)
{
	struct exec *x = pr->x;
	json_t *serial = play_serial(pr, e);
	if (!serial) {
		err_prefix(e, "play '%s': serial", pr->play->name);
		return e->code;
	}
	for (int done = 0, bi = 0; done < nall && !exec_stop_flag; bi++) {
		int sz = batch_size(serial, bi, nall), alive = 0;
		if (sz > nall - done)
			sz = nall - done;
		pr->batch = all + done;
		pr->nbatch = sz;
		output_play_start(x->cfg->out, pr->play->name);
		for (int i = 0; i < sz; i++)
			all[done + i]->ended = 0;
		if (run_batch(pr, e)) {
			json_decref(serial);
			return e->code;
		}
		for (int i = 0; i < sz; i++)
			alive += !all[done + i]->failed && !all[done + i]->unreachable;
		done += sz;
		if (pr->stop == 2)
			x->abort = 1;
		if (pr->stop == 2 || pr->stop == 3 || (pr->stop == 1 && !alive))
			break;
		pr->stop = 0;
	}
	json_decref(serial);
	return 0;
}

/* The play's hooks: Lua hook files (relative to the playbook), added to the
 * run's hooks from this play on; each file once. */
static int play_hooks(struct exec *x, struct pb_play *p, struct err *e)
{
	const json_t *hk = json_object_get(p->kw, "hooks");
	size_t i;
	json_t *v;
	if (!hk)
		return 0;
	if (!x->cfg->hooks || !json_is_array(hk)) {
		struct srcpos sp = {0};
		srcpos_key(p->kw, "hooks", &sp);
		return err_set(e, ERR_GENERIC, sp.file, sp.line, sp.col,
		               x->cfg->hooks ? "'hooks' must be a list of Lua files"
		                             : "Lua hooks are not available in this run");
	}
	json_array_foreach (hk, i, v) {
		const char *f = json_string_value(v);
		if (!f)
			continue;
		char *path = f[0] == '/' ? xstrdup(f) : xasprintf("%s/%s", p->basedir, f);
		int rc = 0;
		if (!json_object_get(x->hook_files, path)) {
			json_object_set_new(x->hook_files, path, json_true());
			rc = lua_hooks_load(x->cfg->hooks, path, e);
		}
		free(path);
		if (rc)
			return rc;
	}
	return 0;
}

static int run_play(struct exec *x, struct pb_play *p, struct err *e)
{
	struct prun pr;
	struct hstate **all = NULL;
	char *veto = NULL;
	int rc = 0, nall = 0;
	prun_init(&pr, x, p);
	json_t *hosts = play_hosts(x, p, e);
	if (!hosts || vars_prompt(&pr, e)) {
		rc = e->code ? e->code : ERR_GENERIC;
		goto out;
	}
	sort_hosts(hosts, json_string_value(json_object_get(p->kw, "order")));
	if ((rc = play_hooks(x, p, e)))
		goto out;
	if (exec_hook(x, "play_start", json_pack("{ss sO}", "play", p->name, "hosts", hosts),
	              &veto)) {
		rc = err_set(e, ERR_GENERIC, NULL, 0, 0, "play '%s' vetoed by a hook: %s", p->name,
		             veto);
		free(veto);
		goto out;
	}
	all = xcalloc(json_array_size(hosts) + 1, sizeof(*all));
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		struct hstate *h = exec_host(x, json_string_value(json_array_get(hosts, i)));
		h->seen = 1;
		json_array_append_new(pr.play_hosts_all, json_string(h->name));
		if (!h->failed && !h->unreachable)
			all[nall++] = h;
	}
	if (!nall && output_kind(x->cfg->out) == OUT_ADHOC) {
		log_warn("No hosts matched, nothing to do");
	} else if (!nall) {
		output_play_start(x->cfg->out, p->name);
		output_line(x->cfg->out, "skipping: no hosts matched");
	}
	if ((rc = play_batches(&pr, all, nall, e)) != 0)
		goto out;
	exec_hook_note(x, "play_end", json_pack("{ss}", "play", p->name));
out:
	free(all);
	json_decref(hosts);
	prun_release(&pr);
	return rc;
}

static int cmp_hosts(const void *a, const void *b)
{
	return strcmp((*(struct hstate *const *)a)->name, (*(struct hstate *const *)b)->name);
}

/* The recap (after each playbook, counts so far, as ansible-playbook
 * prints them) and the exit code; last also fires run_end. */
static int finish(struct exec *x, int last)
{
	int n = 0, code = 0;
	struct hstate **hs = xcalloc((size_t)x->nhosts + 1, sizeof(*hs));
	for (int i = 0; i < x->nhosts; i++)
		if (x->hosts[i]->seen)
			hs[n++] = x->hosts[i];
	qsort(hs, (size_t)n, sizeof(*hs), cmp_hosts);
	const char **names = xcalloc((size_t)n + 1, sizeof(*names));
	struct out_stats *st = xcalloc((size_t)n + 1, sizeof(*st));
	for (int i = 0; i < n; i++) {
		names[i] = hs[i]->name;
		st[i] = hs[i]->st;
		if (hs[i]->st.failed || hs[i]->failed)
			code = 2;
		else if ((hs[i]->st.unreachable || hs[i]->unreachable) && !code)
			code = 4;
	}
	output_recap(x->cfg->out, names, st, n);
	json_t *stats = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(stats, names[i],
		                    json_pack("{si si si si si si si}", "ok", st[i].ok, "changed",
		                              st[i].changed, "failed", st[i].failed, "skipped",
		                              st[i].skipped, "unreachable", st[i].unreachable,
		                              "rescued", st[i].rescued, "ignored", st[i].ignored));
	if (last)
		exec_hook_note(x, "run_end",
		               json_pack("{so sb}", "stats", stats, "failed", code != 0));
	else
		json_decref(stats);
	free(names);
	free(st);
	free(hs);
	return exec_stop_flag ? 130 : code;
}

static void exec_init(struct exec *x, const struct exec_cfg *cfg, struct playbook *pb)
{
	memset(x, 0, sizeof(*x));
	x->cfg = cfg;
	x->pb = pb;
	pthread_mutex_init(&x->lock, NULL);
	x->groups = inventory_groups_var(cfg->inv);
	x->hook_files = json_object();
	x->run_tags = exec_split_tags(cfg->tags, "all");
	x->skip_tags = exec_split_tags(cfg->skip_tags, NULL);
	for (int i = 0; i < cfg->inv->nhosts; i++)
		exec_host(x, cfg->inv->hosts[i]->name);
}

static void exec_release(struct exec *x)
{
	for (int i = 0; i < x->nhosts; i++) {
		struct hstate *h = x->hosts[i];
		free(h->name);
		json_decref(h->inv_vars);
		json_decref(h->facts);
		json_decref(h->hvars);
		json_decref(h->incvars);
		json_decref(h->notified);
		json_decref(h->failed_task);
		json_decref(h->failed_result);
		free(h);
	}
	free(x->hosts);
	json_decref(x->groups);
	json_decref(x->hook_files);
	json_decref(x->run_tags);
	json_decref(x->skip_tags);
	pthread_mutex_destroy(&x->lock);
}

int exec_playbooks(const struct exec_cfg *cfg, struct playbook **pbs, int n, struct err *e)
{
	struct exec x;
	int rc = 0;
	char *veto = NULL;
	exec_stop_flag = 0; /* a new run; an earlier interrupt ended the earlier one */
	exec_init(&x, cfg, pbs[0]);
	exec_hooks_attach(&x);
	json_t *all = json_array();
	for (int i = 0; i < cfg->inv->nhosts; i++)
		json_array_append_new(all, json_string(cfg->inv->hosts[i]->name));
	if (exec_hook(&x, "run_start",
	              json_pack("{ss sb so}", "playbook", pbs[0]->path, "check", cfg->check,
	                        "hosts", all),
	              &veto)) {
		rc = err_set(e, ERR_GENERIC, NULL, 0, 0, "run vetoed by a hook: %s", veto);
		free(veto);
	}
	for (int k = 0; !rc && k < n; k++) {
		x.pb = pbs[k];
		for (int i = 0; !rc && i < pbs[k]->nplays && !exec_stop_flag && !x.abort; i++)
			rc = run_play(&x, pbs[k]->plays[i], e);
		if (!rc && (k + 1 == n || exec_stop_flag || x.abort)) {
			rc = finish(&x, 1);
			break;
		}
		if (!rc)
			finish(&x, 0);
	}
	exec_hooks_detach(&x);
	exec_release(&x);
	return rc;
}

int exec_playbook(const struct exec_cfg *cfg, struct playbook *pb, struct err *e)
{
	return exec_playbooks(cfg, &pb, 1, e);
}

int exec_adhoc(const struct exec_cfg *cfg, const char *pattern, const char *module,
               const json_t *args, struct err *e)
{
	struct pb_env env = {0};
	struct playbook *pb = playbook_new_adhoc(pattern, module, args, &env, e);
	if (!pb)
		return e->code;
	int rc = exec_playbook(cfg, pb, e);
	playbook_free(pb);
	return rc;
}
