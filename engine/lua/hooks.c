/*
 * hooks.c - loading hook files and calling them, one call at a time.
 *
 * Each file gets its own sandboxed state, so two hooks' globals never meet;
 * one mutex covers every state of a set, so hooks never run concurrently
 * (a hook writing a webhook and another reading the cluster see events in
 * the order the executor fired them).
 */
#include "lua/hooks.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lua/sandbox.h"
#include "util/buf.h"
#include "util/mem.h"

static const char *const events[] = {"run_start",       "play_start",  "task_start",
                                     "host_task_start", "host_result", "handler",
                                     "play_end",        "run_end",     NULL};

struct hook_file {
	struct sandbox sb;
	int table_ref;   /* the table the file returned */
	unsigned events; /* event_bit() of each event it handles */
};

struct lua_hooks {
	pthread_mutex_t lock;
	struct lua_env env;
	int has_env;
	struct lua_limits lim;
	struct hook_file **files;
	size_t nfiles;
};

struct lua_hooks *lua_hooks_new(struct err *e)
{
	struct lua_hooks *h = calloc(1, sizeof(*h));
	if (!h) {
		err_set(e, ERR_NOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	sandbox_default_limits(&h->lim);
	return h;
}

void lua_hooks_set_env(struct lua_hooks *h, const struct lua_env *env)
{
	pthread_mutex_lock(&h->lock);
	h->has_env = env != NULL;
	if (env)
		h->env = *env;
	pthread_mutex_unlock(&h->lock);
}

void lua_hooks_set_limits(struct lua_hooks *h, const struct lua_limits *l)
{
	pthread_mutex_lock(&h->lock);
	h->lim = *l;
	sandbox_default_limits(&h->lim);
	for (size_t i = 0; i < h->nfiles; i++)
		h->files[i]->sb.lim = h->lim;
	pthread_mutex_unlock(&h->lock);
}

/* The event's bit in hook_file.events, or 0 for an unknown name. */
static unsigned event_bit(const char *name)
{
	for (int i = 0; events[i]; i++)
		if (!strcmp(events[i], name))
			return 1u << i;
	return 0;
}

/* The returned table: every key an event name, every value a function. */
static int check_table(lua_State *L, const char *path, struct err *e)
{
	if (!lua_istable(L, -1))
		return err_set(e, ERR_GENERIC, path, 0, 0,
		               "a hook file must return a table of event = function (got %s)",
		               luaL_typename(L, -1));
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		if (!k || !event_bit(k)) {
			int line = 0;
			if (lua_isfunction(L, -1)) {
				lua_Debug ar;
				lua_pushvalue(L, -1);
				lua_getinfo(L, ">S", &ar);
				line = ar.linedefined;
			}
			err_set(
			    e, ERR_GENERIC, path, line, 0,
			    "unknown hook event '%s' (events: run_start, play_start, task_start, "
			    "host_task_start, host_result, handler, play_end, run_end)",
			    k ? k : luaL_typename(L, -2));
			lua_pop(L, 2);
			return e->code;
		}
		if (!lua_isfunction(L, -1)) {
			err_set(e, ERR_GENERIC, path, 0, 0,
			        "hook '%s' must be a function, not a %s", k, luaL_typename(L, -1));
			lua_pop(L, 2);
			return e->code;
		}
		lua_pop(L, 1);
	}
	return 0;
}

static unsigned handled_events(lua_State *L)
{
	unsigned bits = 0;
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		bits |= event_bit(lua_tostring(L, -1));
	}
	return bits;
}

static int load_file(struct lua_hooks *h, struct hook_file *f, const char *path, struct err *e)
{
	char *msg = NULL;
	lua_State *L;
	if (sandbox_init(&f->sb, path, &h->lim, e) < 0)
		return e->code;
	f->sb.env = h->has_env ? &h->env : NULL;
	L = f->sb.L;
	if (sandbox_loadfile(&f->sb, path, e) < 0)
		return e->code;
	if (sandbox_pcall(&f->sb, 0, 1, &msg) != LUA_OK) {
		err_set(e, ERR_GENERIC, NULL, 0, 0, "%s", msg);
		free(msg);
		return e->code;
	}
	if (check_table(L, path, e) < 0) {
		lua_pop(L, 1);
		return e->code;
	}
	f->events = handled_events(L);
	f->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

int lua_hooks_load(struct lua_hooks *h, const char *path, struct err *e)
{
	struct hook_file *f = xcalloc(1, sizeof(*f));
	int ret;
	pthread_mutex_lock(&h->lock);
	ret = load_file(h, f, path, e);
	if (ret < 0) {
		sandbox_release(&f->sb);
		free(f);
	} else {
		h->files = xrealloc(h->files, (h->nfiles + 1) * sizeof(*h->files));
		h->files[h->nfiles++] = f;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

int lua_hooks_load_list(struct lua_hooks *h, const char *list, struct err *e)
{
	char *copy, *tok, *save = NULL;
	int ret = 0;
	if (!list)
		return 0;
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok && ret == 0; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		for (char *end = tok + strlen(tok); end > tok && end[-1] == ' ';)
			*--end = 0;
		if (*tok)
			ret = lua_hooks_load(h, tok, e);
	}
	free(copy);
	return ret;
}

int lua_hooks_wants(struct lua_hooks *h, const char *event)
{
	unsigned bit = event_bit(event);
	int found = 0;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->nfiles && !found; i++)
		found = (h->files[i]->events & bit) != 0;
	pthread_mutex_unlock(&h->lock);
	return found;
}

struct hook_call {
	struct hook_file *f;
	const char *event;
	const json_t *ev;
};

/* In protected mode, so running out of memory while building ev is an
 * error for this call, not a panic. */
static int hook_call_cfn(lua_State *L)
{
	struct hook_call *c = lua_touserdata(L, 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, c->f->table_ref);
	lua_getfield(L, -1, c->event);
	if (c->ev)
		lua_json_push(L, c->ev);
	else
		lua_newtable(L);
	lua_call(L, 1, 2);
	return 2;
}

/* Calls one file's handler. 0 ok, 1 vetoed with *veto_msg. */
static int call_one(struct lua_hooks *h, struct hook_file *f, const char *event, const json_t *ev,
                    char **veto_msg)
{
	struct hook_call c = {f, event, ev};
	lua_State *L = f->sb.L;
	char *msg = NULL;
	int ret = 0;
	f->sb.env = h->has_env ? &h->env : NULL;
	lua_pushcfunction(L, hook_call_cfn);
	lua_pushlightuserdata(L, &c);
	if (sandbox_pcall(&f->sb, 1, 2, &msg) != LUA_OK) {
		*veto_msg = xasprintf("%s hook in %s failed: %s", event, f->sb.label, msg);
		free(msg);
		return 1;
	}
	if (lua_type(L, -2) == LUA_TBOOLEAN && !lua_toboolean(L, -2)) {
		const char *why = lua_tostring(L, -1);
		if (why)
			*veto_msg = xstrdup(why);
		else
			*veto_msg = xasprintf("%s hook in %s refused (no reason given)", event,
			                      f->sb.label);
		ret = 1;
	}
	lua_pop(L, 2);
	return ret;
}

int lua_hooks_fire(struct lua_hooks *h, const char *event, const json_t *ev, char **veto_msg,
                   struct err *e)
{
	int ret = 0;
	*veto_msg = NULL;
	if (!event_bit(event))
		return err_set(e, ERR_INTERNAL, NULL, 0, 0, "unknown hook event '%s'", event);
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->nfiles && ret == 0; i++) {
		if (h->files[i]->events & event_bit(event))
			ret = call_one(h, h->files[i], event, ev, veto_msg);
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

void lua_hooks_free(struct lua_hooks *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nfiles; i++) {
		sandbox_release(&h->files[i]->sb);
		free(h->files[i]);
	}
	free(h->files);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
