/*
 * lmodule.c - Lua files as modules: the returned table becomes a struct
 * module_def in the shared registry, and each run gets its own sandbox.
 *
 * module_def.run() is not told which module it belongs to, so each Lua
 * module gets one of MAX_LUA_MODULES fixed entry points (run_00 .. run_77)
 * that knows its slot.
 */
#include "lua/lmodule.h"

#include <dirent.h>
#include <lauxlib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lua/sandbox.h"
#include "modules/module.h"
#include "util/buf.h"
#include "util/mem.h"

#define MAX_LUA_MODULES 64

struct lua_module {
	struct module_def def;
	char *path;
	char *real; /* realpath, to know the same file under another name */
	char *text;
	size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lua_module *slots[MAX_LUA_MODULES];
static int nslots;

static int run_slot(int slot, struct task_ctx *ctx, const json_t *args, json_t *result,
                    struct err *e);

#define RUN(a, b)                                                                                  \
	static int run_##a##b(struct task_ctx *c, const json_t *x, json_t *r, struct err *e)       \
	{                                                                                          \
		return run_slot(a * 8 + b, c, x, r, e);                                            \
	}
#define RUN8(a) RUN(a, 0) RUN(a, 1) RUN(a, 2) RUN(a, 3) RUN(a, 4) RUN(a, 5) RUN(a, 6) RUN(a, 7)
RUN8(0)
RUN8(1)
RUN8(2)
RUN8(3)
RUN8(4)
RUN8(5)
RUN8(6)
RUN8(7)
#define ENT8(a)                                                                                    \
	run_##a##0, run_##a##1, run_##a##2, run_##a##3, run_##a##4, run_##a##5, run_##a##6,        \
	    run_##a##7,
static int (*const entry[MAX_LUA_MODULES])(struct task_ctx *, const json_t *, json_t *,
                                           struct err *) = {ENT8(0) ENT8(1) ENT8(2) ENT8(3) ENT8(4)
                                                                ENT8(5) ENT8(6) ENT8(7)};

static const char *const type_names[] = {"str",  "int",  "float", "bool", "list",
                                         "dict", "path", "raw",   "mode", NULL};

/* ---- ctx inside run(ctx, args) ---- */

static int ctx_exec(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	return lua_api_exec(L, NULL, luaL_checkstring(L, 2));
}

/* ctx.vars is built on first use: a host's vars can be large. */
static int ctx_index(lua_State *L)
{
	struct sandbox *sb = sandbox_of(L);
	if (strcmp(luaL_checkstring(L, 2), "vars") || !sb->task)
		return 0;
	lua_json_push_readonly(L, sb->task->vars);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

static void push_ctx(lua_State *L, struct task_ctx *t)
{
	lua_createtable(L, 0, 6);
	lua_pushstring(L, t->host);
	lua_setfield(L, -2, "host");
	lua_pushboolean(L, t->check);
	lua_setfield(L, -2, "check");
	lua_pushboolean(L, t->diff);
	lua_setfield(L, -2, "diff");
	lua_pushinteger(L, t->verbosity);
	lua_setfield(L, -2, "verbosity");
	lua_pushcfunction(L, ctx_exec);
	lua_setfield(L, -2, "exec");
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, ctx_index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
}

/* Copy the returned table's fields into result. */
static void take_result(lua_State *L, const char *path, json_t *result)
{
	const char *why;
	json_t *v;
	if (lua_isnil(L, -1))
		return;
	if (!lua_istable(L, -1)) {
		mod_fail(result, "%s: run must return a table (got %s)", path,
		         luaL_typename(L, -1));
		return;
	}
	if (!(v = lua_json_get(L, -1, &why)) || !json_is_object(v)) {
		mod_fail(result, "%s: run returned a table drover cannot use: %s", path,
		         why ? why : "it is a list, not a table of fields");
		json_decref(v);
		return;
	}
	json_object_update(result, v);
	json_decref(v);
}

struct run_call {
	struct task_ctx *ctx;
	const json_t *args;
};

/* run(ctx, args), in protected mode: building the arguments may run out of
 * memory too. The module's table is at 2. */
static int run_cfn(lua_State *L)
{
	struct run_call *c = lua_touserdata(L, 1);
	lua_getfield(L, 2, "run");
	push_ctx(L, c->ctx);
	lua_json_push(L, c->args);
	lua_call(L, 2, 1);
	return 1;
}

static int run_slot(int slot, struct task_ctx *ctx, const json_t *args, json_t *result,
                    struct err *e)
{
	struct lua_module *m;
	struct sandbox sb;
	struct lua_limits lim = {0, 600, 0};
	struct run_call call = {ctx, args};
	char *msg = NULL;
	int ret = 0;
	pthread_mutex_lock(&lock);
	m = slots[slot];
	pthread_mutex_unlock(&lock);
	if (sandbox_init(&sb, m->path, &lim, e) < 0)
		return e->code;
	sb.task = ctx;
	if (sandbox_loadbuf(&sb, m->text, m->len, m->path, e) < 0) {
		ret = e->code;
		goto out;
	}
	if (sandbox_pcall(&sb, 0, 1, &msg) != LUA_OK || !lua_istable(sb.L, -1)) {
		mod_fail(result, "%s: %s", m->path, msg ? msg : "did not return a table");
		goto out;
	}
	lua_pushcfunction(sb.L, run_cfn);
	lua_insert(sb.L, -2);
	lua_pushlightuserdata(sb.L, &call);
	lua_insert(sb.L, -2);
	if (sandbox_pcall(&sb, 2, 1, &msg) != LUA_OK) {
		if (sb.unreach.code) {
			*e = sb.unreach;
			ret = ERR_UNREACH;
		} else {
			mod_fail(result, "%s", msg);
		}
		goto out;
	}
	take_result(sb.L, m->path, result);
out:
	free(msg);
	sandbox_release(&sb);
	return ret;
}

/* ---- loading ---- */

static char *opt_str(lua_State *L, int t, const char *key)
{
	char *s = NULL;
	if (lua_getfield(L, t, key) == LUA_TSTRING)
		s = xstrdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return s;
}

static int opt_flag(lua_State *L, int t, const char *key)
{
	int v;
	lua_getfield(L, t, key);
	v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* A value as JSON text (a default), or NULL. */
static char *json_text(lua_State *L, int idx, const char **why)
{
	json_t *v = lua_json_get(L, idx, why);
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(v);
	return s;
}

/* "a,b" from a string or a list of strings. */
static char *comma_list(lua_State *L, int idx)
{
	struct buf b = BUF_INIT;
	if (lua_type(L, idx) == LUA_TSTRING)
		return xstrdup(lua_tostring(L, idx));
	if (!lua_istable(L, idx))
		return NULL;
	for (lua_Integer i = 1; lua_rawgeti(L, idx, i) != LUA_TNIL; i++) {
		if (lua_tostring(L, -1))
			buf_addf(&b, "%s%s", b.len ? "," : "", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return buf_detach(&b);
}

/* Choices as text, as module_validate compares them. */
static const char **choice_list(lua_State *L, int idx)
{
	size_t n = lua_rawlen(L, idx), k = 0;
	const char **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, idx, (lua_Integer)i + 1);
		if (lua_isboolean(L, -1))
			v[k++] = xstrdup(lua_toboolean(L, -1) ? "True" : "False");
		else if (lua_tostring(L, -1))
			v[k++] = xstrdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	return v;
}

static int parse_arg(lua_State *L, int t, const char *path, int i, struct module_arg *a,
                     struct err *e)
{
	const char *why = NULL;
	char *type;
	if (!lua_istable(L, t))
		return err_set(e, ERR_GENERIC, path, 0, 0, "args[%d] must be a table", i);
	if (!(a->name = opt_str(L, t, "name")))
		return err_set(e, ERR_GENERIC, path, 0, 0, "args[%d] has no name", i);
	type = opt_str(L, t, "type");
	a->type = ARG_STR;
	for (int k = 0; type && type_names[k]; k++)
		if (!strcmp(type, type_names[k]))
			a->type = (enum arg_type)k, free(type), type = NULL;
	if (type) {
		err_set(e, ERR_GENERIC, path, 0, 0,
		        "args '%s': unknown type '%s' (str, int, float, bool, list, dict, path, "
		        "raw, mode)",
		        a->name, type);
		free(type);
		return e->code;
	}
	a->required = opt_flag(L, t, "required");
	a->no_log = opt_flag(L, t, "no_log");
	a->help = opt_str(L, t, "help");
	if (lua_getfield(L, t, "default") != LUA_TNIL && !(a->def = json_text(L, -1, &why)))
		err_set(e, ERR_GENERIC, path, 0, 0, "args '%s': default: %s", a->name,
		        why ? why : "cannot encode");
	lua_pop(L, 1);
	if (lua_getfield(L, t, "choices") == LUA_TTABLE)
		a->choices = (const char *const *)choice_list(L, lua_gettop(L));
	lua_pop(L, 1);
	lua_getfield(L, t, "aliases");
	a->aliases = comma_list(L, lua_gettop(L));
	lua_pop(L, 1);
	return e->code;
}

static int parse_args(lua_State *L, int t, const char *path, struct module_def *def, struct err *e)
{
	struct module_arg *args;
	size_t n;
	if (lua_getfield(L, t, "args") == LUA_TNIL) {
		lua_pop(L, 1);
		def->args = xcalloc(1, sizeof(struct module_arg));
		return 0;
	}
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return err_set(e, ERR_GENERIC, path, 0, 0,
		               "args must be a list of {name=..., type=...} tables");
	}
	n = lua_rawlen(L, -1);
	args = xcalloc(n + 1, sizeof(*args));
	def->args = args;
	for (size_t i = 0; i < n && !e->code; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		parse_arg(L, lua_gettop(L), path, (int)i + 1, &args[i], e);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return e->code;
}

static int valid_name(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

/* The file's table (on top of L) into m->def. */
static int parse_def(lua_State *L, const char *path, struct lua_module *m, struct err *e)
{
	int t = lua_gettop(L);
	struct module_def *d = &m->def;
	char *name = opt_str(L, t, "name");
	if (!valid_name(name)) {
		err_set(e, ERR_GENERIC, path, 0, 0,
		        "a Lua module needs name = \"...\" (letters, digits, _), got %s",
		        name ? name : "none");
		free(name);
		return e->code;
	}
	d->name = name;
	d->summary = opt_str(L, t, "summary");
	d->description = opt_str(L, t, "description");
	if (opt_flag(L, t, "check_mode"))
		d->flags |= MOD_CHECK_MODE;
	if (opt_flag(L, t, "diff"))
		d->flags |= MOD_DIFF;
	if (opt_flag(L, t, "controller"))
		d->flags |= MOD_CONTROLLER;
	if (lua_getfield(L, t, "run") != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return err_set(e, ERR_GENERIC, path, 0, 0,
		               "module '%s' has no run = function(ctx, args) ... end", name);
	}
	lua_pop(L, 1);
	return parse_args(L, t, path, d, e);
}

static void free_module(struct lua_module *m)
{
	if (!m)
		return;
	for (struct module_arg *a = (struct module_arg *)m->def.args; a && a->name; a++) {
		free((char *)a->name);
		free((char *)a->def);
		free((char *)a->help);
		free((char *)a->aliases);
		for (const char *const *c = a->choices; c && *c; c++)
			free((char *)*c);
		free((void *)a->choices);
	}
	free((void *)m->def.args);
	free((char *)m->def.name);
	free((char *)m->def.summary);
	free((char *)m->def.description);
	free(m->path);
	free(m->real);
	free(m->text);
	free(m);
}

struct parse_job {
	const char *path;
	struct lua_module *m;
	struct err *e;
};

/* In protected mode: a Lua error while reading the table cannot abort. */
static int parse_cfn(lua_State *L)
{
	struct parse_job *j = lua_touserdata(L, 1);
	lua_settop(L, 2);
	parse_def(L, j->path, j->m, j->e);
	return 0;
}

/* Run the chunk in a throwaway sandbox and read its table. */
static int read_def(struct lua_module *m, struct err *e)
{
	struct sandbox sb;
	struct parse_job job = {m->path, m, e};
	char *msg = NULL;
	if (sandbox_init(&sb, m->path, NULL, e) < 0)
		return e->code;
	if (sandbox_loadbuf(&sb, m->text, m->len, m->path, e) < 0)
		goto out;
	if (sandbox_pcall(&sb, 0, 1, &msg) != LUA_OK) {
		err_set(e, ERR_GENERIC, NULL, 0, 0, "%s", msg);
		goto out;
	}
	if (!lua_istable(sb.L, -1)) {
		err_set(e, ERR_GENERIC, m->path, 0, 0,
		        "a Lua module must return a table {name=..., args=..., run=...} (got %s)",
		        luaL_typename(sb.L, -1));
		goto out;
	}
	lua_pushcfunction(sb.L, parse_cfn);
	lua_insert(sb.L, -2);
	lua_pushlightuserdata(sb.L, &job);
	lua_insert(sb.L, -2);
	if (sandbox_pcall(&sb, 2, 0, &msg) != LUA_OK)
		err_set(e, ERR_GENERIC, m->path, 0, 0, "%s", msg);
out:
	free(msg);
	sandbox_release(&sb);
	return e->code;
}

static int add_module(struct lua_module *m, struct err *e)
{
	for (int i = 0; i < nslots; i++) {
		if (strcmp(slots[i]->def.name, m->def.name))
			continue;
		if (!strcmp(slots[i]->real, m->real))
			return 1; /* the same file again */
		return err_set(e, ERR_GENERIC, m->path, 0, 0,
		               "Lua module '%s' is already defined in %s", m->def.name,
		               slots[i]->path);
	}
	if (nslots == MAX_LUA_MODULES)
		return err_set(e, ERR_GENERIC, m->path, 0, 0,
		               "too many Lua modules (drover takes up to %d)", MAX_LUA_MODULES);
	m->def.run = entry[nslots];
	if (module_register(&m->def) < 0)
		return err_set(e, ERR_GENERIC, m->path, 0, 0,
		               "cannot register Lua module '%s': the name is taken", m->def.name);
	slots[nslots++] = m;
	return 0;
}

int lua_modules_load_file(const char *path, struct err *e)
{
	struct lua_module *m = xcalloc(1, sizeof(*m));
	int ret;
	m->path = xstrdup(path);
	m->real = realpath(path, NULL);
	if (!m->real)
		m->real = xstrdup(path);
	if (!(m->text = read_file(path, &m->len))) {
		free_module(m);
		return err_set(e, ERR_IO, path, 0, 0, "cannot read Lua module");
	}
	if (read_def(m, e) < 0) {
		free_module(m);
		return e->code;
	}
	pthread_mutex_lock(&lock);
	ret = add_module(m, e);
	pthread_mutex_unlock(&lock);
	if (ret != 0)
		free_module(m);
	return ret < 0 ? ret : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lua_modules_load_dir(const char *dir, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int ret = 0;
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && str_endswith(de->d_name, ".lua")) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xasprintf("%s/%s", dir, de->d_name);
		}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		if (ret == 0)
			ret = lua_modules_load_file(names[i], e);
		free(names[i]);
	}
	free(names);
	return ret;
}

int lua_modules_load_path(const char *library, struct err *e)
{
	const char *root = getenv("DROVER_LUA_DIR");
	char *shipped = root && *root ? xasprintf("%s/modules", root)
	                              : xstrdup(DROVER_SOURCE_DIR "/lua/modules");
	char *copy = library ? xstrdup(library) : NULL, *save = NULL;
	int ret = lua_modules_load_dir(shipped, e);
	for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok && ret == 0;
	     tok = strtok_r(NULL, ":", &save))
		ret = lua_modules_load_dir(tok, e);
	free(shipped);
	free(copy);
	return ret;
}
