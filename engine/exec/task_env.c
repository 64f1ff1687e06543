/*
 * What a task run needs around the module call: conditions, keywords
 * inherited from blocks and the play, the connection, become and
 * environment, progress. Shared by task.c and task_env.c.
 */
#include "exec/exec_int.h"
#include "config/config.h"
#include "modules/module.h"
#include "util/buf.h"
#include "util/mem.h"

#include <string.h>

/* Evaluate one when/changed_when/failed_when/until value (list: all hold). */
int exec_cond(const struct pb_task *t, const json_t *owner, const char *key, const json_t *cond,
              const json_t *vars, int *res, struct err *e)
{
	struct tmpl_ctx c;
	struct srcpos sp = {0};
	exec_tmpl_ctx(t, vars, &c);
	if (!srcpos_key(owner, key, &sp)) {
		c.file = sp.file;
		c.line = sp.line;
		c.col = sp.col;
	}
	*res = 1;
	if (json_is_array(cond)) {
		size_t i;
		json_t *v;
		json_array_foreach (cond, i, v) {
			if (!srcpos_get(v, &sp)) {
				c.file = sp.file;
				c.line = sp.line;
				c.col = sp.col;
			}
			if (tmpl_cond(v, &c, res, e))
				return e->code;
			if (!*res)
				return 0;
		}
		return 0;
	}
	return tmpl_cond(cond, &c, res, e);
}

/* when: of the task and of the blocks and imports above it (not above an
 * include: the include's own when was checked when it ran). */
int exec_when_holds(const struct pb_task *t, const json_t *vars, int *res, struct err *e)
{
	const struct pb_task *chain[64];
	int n = 0;
	for (const struct pb_task *p = t; p && n < 64; p = p->parent) {
		chain[n++] = p;
		if (p != t && (p->kind == PB_INCLUDE || p->kind == PB_INCLUDE_ROLE))
			break;
	}
	*res = 1;
	for (int i = n - 1; i >= 0; i--) {
		const struct pb_task *p = chain[i];
		if (p != t && (p->kind == PB_INCLUDE || p->kind == PB_INCLUDE_ROLE))
			continue;
		const json_t *w = json_object_get(p->kw, "when");
		if (!w)
			continue;
		if (exec_cond(t, p->kw, "when", w, vars, res, e))
			return e->code;
		if (!*res)
			return 0;
	}
	return 0;
}

int exec_kw_bool(struct prun *pr, const struct pb_task *t, const char *k, const json_t *vars,
                 int def)
{
	const json_t *v = exec_kw(pr, t, k);
	struct err e;
	int r;
	if (!v)
		return def;
	if (json_is_boolean(v))
		return json_is_true(v);
	err_init(&e);
	if (json_is_string(v)) {
		struct tmpl_ctx c;
		exec_tmpl_ctx(t, vars, &c);
		json_t *x = tmpl_render(json_string_value(v), &c, &e);
		if (!x)
			return def;
		if (json_is_string(x))
			r = config_bool(json_string_value(x));
		else
			r = tmpl_truthy(x);
		json_decref(x);
		return r < 0 ? def : r;
	}
	return tmpl_truthy(v);
}

char *exec_kw_str(struct prun *pr, const struct pb_task *t, const char *k, const json_t *vars)
{
	const json_t *v = exec_kw(pr, t, k);
	struct tmpl_ctx c;
	struct err e;
	if (!json_is_string(v))
		return NULL;
	err_init(&e);
	exec_tmpl_ctx(t, vars, &c);
	json_t *x = tmpl_render(json_string_value(v), &c, &e);
	char *s = x ? tmpl_to_text(x) : xstrdup(json_string_value(v));
	json_decref(x);
	return s;
}

const json_t *exec_resolve_vars(void *ud, const char *host)
{
	struct exec *x = ud;
	struct hstate *h = exec_host(x, host);
	return h ? h->inv_vars : NULL;
}

static int is_conn_var(const char *k)
{
	return str_startswith(k, "ansible_") || str_startswith(k, "pct_") ||
	       str_startswith(k, "proxmox_");
}

/* The connection vars of vars (ansible_*, pct_*, proxmox_*), templates
 * rendered with from. New dict. */
static json_t *conn_subset(const struct pb_task *t, const json_t *vars, const json_t *from)
{
	json_t *cv = json_object(), *v;
	const char *k;
	struct tmpl_ctx c;
	exec_tmpl_ctx(t, from, &c);
	json_object_foreach ((json_t *)vars, k, v) {
		if (!is_conn_var(k))
			continue;
		json_t *r = NULL;
		if (json_is_string(v) && tmpl_has_template(json_string_value(v))) {
			struct err e;
			err_init(&e);
			r = tmpl_render(json_string_value(v), &c, &e);
		}
		json_object_set_new(cv, k, r ? r : json_incref(v));
	}
	return cv;
}

/* Connection vars for target: the host's as the task sees them with the
 * connection keywords applied, or the delegate's own. New dict. */
json_t *exec_conn_vars(struct item_run *ir, const char *target)
{
	json_t *cv;
	if (ir->delegate && strcmp(target, ir->h->name)) {
		struct hstate *d = exec_host(ir->pr->x, target);
		cv = conn_subset(ir->t, d->inv_vars, d->inv_vars);
		if (!json_object_get(cv, "ansible_connection") &&
		    (!strcmp(target, "localhost") || !strcmp(target, "127.0.0.1")))
			json_object_set_new(cv, "ansible_connection", json_string("local"));
		return cv;
	}
	cv = conn_subset(ir->t, ir->vars, ir->vars);
	char *ru = exec_kw_str(ir->pr, ir->t, "remote_user", ir->vars);
	char *cn = exec_kw_str(ir->pr, ir->t, "connection", ir->vars);
	if (ru && !json_object_get(cv, "ansible_user"))
		json_object_set_new(cv, "ansible_user", json_string(ru));
	if (cn && !json_object_get(cv, "ansible_connection"))
		json_object_set_new(cv, "ansible_connection", json_string(cn));
	free(ru);
	free(cn);
	return cv;
}

struct conn *exec_conn_for(struct task_ctx *ctx, const char *host, struct err *e)
{
	struct prun *pr = ctx->executor;
	struct hstate *h = exec_host(pr->x, host);
	if (!h)
		return err_set(e, ERR_GENERIC, NULL, 0, 0, "unknown host '%s'", host), NULL;
	return conn_pool_get(pr->x->cfg->pool, host, h->inv_vars, exec_resolve_vars, pr->x, e);
}

/* One environment: value (a dict or a list of dicts), rendered, into all. */
static void env_add(struct item_run *ir, const json_t *env, json_t *all)
{
	struct tmpl_ctx c;
	struct err e;
	size_t i;
	json_t *d, *r;
	err_init(&e);
	exec_tmpl_ctx(ir->t, ir->vars, &c);
	if (!env || !(r = tmpl_render_value(env, &c, &e)))
		return;
	if (json_is_object(r))
		json_object_update(all, r);
	json_array_foreach (r, i, d)
		if (json_is_object(d))
			json_object_update(all, d);
	json_decref(r);
}

/* environment: of the play, then each enclosing block, then the task
 * (inner ones win, as Ansible merges them) -> "K=V" strings. */
char **exec_env_list(struct item_run *ir)
{
	const struct pb_task *chain[64];
	int n = 0;
	json_t *all = json_object(), *d;
	for (const struct pb_task *p = ir->t; p && n < 64; p = p->parent)
		chain[n++] = p;
	env_add(ir, json_object_get(ir->pr->play->kw, "environment"), all);
	for (int i = n - 1; i >= 0; i--)
		env_add(ir, json_object_get(chain[i]->kw, "environment"), all);
	if (!json_object_size(all)) {
		json_decref(all);
		return NULL;
	}
	char **out = xcalloc(json_object_size(all) + 1, sizeof(*out));
	const char *k;
	n = 0;
	json_object_foreach (all, k, d) {
		char *s = tmpl_to_text(d);
		out[n++] = xasprintf("%s=%s", k, s);
		free(s);
	}
	json_decref(all);
	return out;
}

/* A connection var, rendered ("{{ vault_sudo_pass }}"). New string or NULL. */
static char *var_text(struct item_run *ir, const char *name)
{
	const json_t *v = json_object_get(ir->vars, name);
	struct tmpl_ctx c;
	struct err e;
	if (!v || json_is_null(v))
		return NULL;
	err_init(&e);
	exec_tmpl_ctx(ir->t, ir->vars, &c);
	json_t *r = tmpl_render_value(v, &c, &e);
	char *s = r ? tmpl_to_text(r) : NULL;
	json_decref(r);
	return s;
}

/* A become setting as Ansible resolves it: the variables win over the
 * keyword (the method's own variable, e.g. ansible_su_flags, over the
 * ansible_become_ one), then the keyword. New string or NULL. */
static char *become_text(struct item_run *ir, const char *kw, const char *own, const char *var)
{
	char *s = own ? var_text(ir, own) : NULL;
	if (!s)
		s = var_text(ir, var);
	if (!s && kw)
		s = exec_kw_str(ir->pr, ir->t, kw, ir->vars);
	return s;
}

/* become: ansible_become, else the keyword, else -b. The user, method,
 * flags and exe as become_text says (then the config for user and method),
 * kept in one allocation that *user owns; the password from vars, else -K. */
void exec_become_opts(struct item_run *ir, struct conn_exec_opts *o, char **user, char **pw)
{
	const struct exec_cfg *cfg = ir->pr->x->cfg;
	char *bv = var_text(ir, "ansible_become"), *v[4], own[32], *p;
	const char **dst[4] = {&o->become_user, &o->become_method, &o->become_flags,
	                       &o->become_exe};
	size_t len = 0;
	int i;
	/* ansible_become is a connection variable: it wins over the keyword */
	o->become =
	    bv ? config_bool(bv) > 0 : exec_kw_bool(ir->pr, ir->t, "become", ir->vars, cfg->become);
	free(bv);
	v[1] = become_text(ir, "become_method", NULL, "ansible_become_method");
	if (!v[1] && cfg->become_method)
		v[1] = xstrdup(cfg->become_method);
	const char *m = v[1] && !strcmp(v[1], "su") ? "su" : "sudo";
	snprintf(own, sizeof(own), "ansible_%s_user", m);
	v[0] = become_text(ir, "become_user", own, "ansible_become_user");
	if (!v[0] && cfg->become_user)
		v[0] = xstrdup(cfg->become_user);
	snprintf(own, sizeof(own), "ansible_%s_flags", m);
	v[2] = become_text(ir, "become_flags", own, "ansible_become_flags");
	if (!v[2] && cfg->become_flags)
		v[2] = xstrdup(cfg->become_flags);
	snprintf(own, sizeof(own), "ansible_%s_exe", m);
	v[3] = become_text(ir, "become_exe", own, "ansible_become_exe");
	if (!v[3] && cfg->become_exe)
		v[3] = xstrdup(cfg->become_exe);
	for (i = 0; i < 4; i++)
		len += v[i] ? strlen(v[i]) + 1 : 0;
	*user = p = xmalloc(len + 1);
	for (i = 0; i < 4; i++) {
		*dst[i] = v[i] ? strcpy(p, v[i]) : NULL;
		p += v[i] ? strlen(v[i]) + 1 : 0;
		free(v[i]);
	}
	snprintf(own, sizeof(own), "ansible_%s_pass", m);
	*pw = become_text(ir, NULL, own, "ansible_become_pass");
	if (!*pw)
		*pw = var_text(ir, "ansible_become_password");
	o->become_password = *pw ? *pw : cfg->become_password;
}

void exec_progress(struct task_ctx *ctx, const char *fmt, ...)
{
	struct prun *pr = ctx->executor;
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	output_progress(pr->x->cfg->out, ctx->host, buf_str(&b));
	buf_release(&b);
}

long exec_kw_int(struct item_run *ir, const char *k, long def)
{
	const json_t *v = json_object_get(ir->t->kw, k);
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v)) {
		char *s = exec_kw_str(ir->pr, ir->t, k, ir->vars);
		long n = s ? strtol(s, NULL, 10) : def;
		free(s);
		return n;
	}
	return def;
}
