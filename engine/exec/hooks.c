/*
 * The executor's side of Lua hooks (engine/lua/hooks.h): the events it
 * fires, what a veto does, and the drover.* callbacks (vars, render, exec)
 * that reach the run.
 */
#include "exec/exec_int.h"
#include "lua/hooks.h"
#include "util/log.h"
#include "util/mem.h"

#include <string.h>

int exec_hook(struct exec *x, const char *event, json_t *ev, char **veto)
{
	struct lua_hooks *h = x->cfg->hooks;
	struct err e;
	int rc = 0;
	*veto = NULL;
	if (!h || !lua_hooks_wants(h, event)) {
		json_decref(ev);
		return 0;
	}
	err_init(&e);
	rc = lua_hooks_fire(h, event, ev, veto, &e);
	json_decref(ev);
	if (rc < 0) {
		char msg[2600];
		*veto = xstrdup(err_format(&e, msg, sizeof(msg)));
		return 1;
	}
	return rc;
}

/* Fire an event whose veto only gets reported. */
void exec_hook_note(struct exec *x, const char *event, json_t *ev)
{
	char *veto = NULL;
	if (exec_hook(x, event, ev, &veto))
		log_warn("hook %s: %s", event, veto);
	free(veto);
}

static json_t *env_vars(void *ud, const char *host, struct err *e)
{
	struct exec *x = ud;
	if (!host) {
		json_t *v = json_deep_copy(x->cfg->extra_vars);
		struct inv_group *all = inventory_group(x->cfg->inv, "all");
		if (all && all->vars)
			json_object_update_missing(v, all->vars);
		return v;
	}
	struct hstate *h = NULL;
	pthread_mutex_lock(&x->lock);
	for (int i = 0; i < x->nhosts && !h; i++)
		if (!strcmp(x->hosts[i]->name, host))
			h = x->hosts[i];
	pthread_mutex_unlock(&x->lock);
	if (!h)
		return err_set(e, ERR_GENERIC, NULL, 0, 0, "unknown host '%s'", host), NULL;
	struct vars_stack s = {0};
	pthread_mutex_lock(&x->lock);
	s.layer[VL_INVENTORY] = h->inv_vars;
	s.layer[VL_FACTS] = h->facts;
	s.layer[VL_INCLUDE_VARS] = h->incvars;
	s.layer[VL_HOST] = h->hvars;
	s.layer[VL_EXTRA] = x->cfg->extra_vars;
	json_t *v = vars_merge(&s);
	pthread_mutex_unlock(&x->lock);
	json_object_set_new(v, "inventory_hostname", json_string(host));
	json_object_set(v, "groups", x->groups);
	return v;
}

static json_t *env_render(void *ud, const char *text, const char *host, struct err *e)
{
	json_t *vars = env_vars(ud, host, e);
	struct tmpl_ctx c;
	if (!vars)
		return NULL;
	exec_tmpl_ctx(NULL, vars, &c);
	json_t *r = tmpl_render(text, &c, e);
	json_decref(vars);
	return r;
}

static int env_exec(void *ud, const char *host, const char *cmd, int timeout, struct conn_result *r,
                    struct err *e)
{
	struct exec *x = ud;
	json_t *vars = env_vars(ud, host, e);
	if (!vars)
		return e->code;
	struct conn *c = conn_pool_get(x->cfg->pool, host, vars, NULL, NULL, e);
	json_decref(vars);
	if (!c)
		return e->code;
	struct conn_exec_opts o = {0};
	o.timeout = timeout;
	return conn_exec(c, cmd, &o, r, e);
}

void exec_hooks_attach(struct exec *x)
{
	struct lua_env env = {x, env_vars, env_render, env_exec, NULL};
	if (x->cfg->hooks)
		lua_hooks_set_env(x->cfg->hooks, &env);
}

void exec_hooks_detach(struct exec *x)
{
	if (x->cfg->hooks)
		lua_hooks_set_env(x->cfg->hooks, NULL);
}
