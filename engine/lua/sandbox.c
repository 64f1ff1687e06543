/*
 * sandbox.c - a Lua state that runs untrusted-enough scripts (hooks and
 * modules a site writes) without letting them hang, exhaust or escape
 * drover.
 */
#include "lua/sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/mem.h"

#define HOOK_EVERY 1000 /* instructions between limit checks */

static const char sandbox_key = 'S'; /* registry key: its address */

double sandbox_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double env_number(const char *name, double def)
{
	const char *s = getenv(name);
	char *end;
	double v;
	if (!s || !*s)
		return def;
	v = strtod(s, &end);
	return (*end || v <= 0) ? def : v;
}

void sandbox_default_limits(struct lua_limits *l)
{
	if (l->instructions <= 0)
		l->instructions = 200L * 1000 * 1000;
	if (l->seconds <= 0)
		l->seconds = env_number("DROVER_LUA_TIMEOUT", 30);
	if (l->memory == 0) {
		double mib = env_number("DROVER_LUA_MEMORY", 64);
		/* at least 1 MiB: the libraries alone need some */
		l->memory = (size_t)(mib < 1 ? 1 : mib) * 1024 * 1024;
	}
}

/* Refusing an allocation makes Lua raise "not enough memory"; freeing and
 * shrinking always succeed so the state can unwind and close. */
static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct sandbox *sb = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		sb->used -= old;
		return NULL;
	}
	if (nsize > old && sb->used - old + nsize > sb->lim.memory) {
		if (sb->in_call)
			sb->trip = SB_MEM;
		return NULL;
	}
	ptr = realloc(ptr, nsize);
	if (ptr)
		sb->used = sb->used - old + nsize;
	return ptr;
}

static const char *trip_text(const struct sandbox *sb, struct buf *b)
{
	switch (sb->trip) {
	case SB_INSTR:
		buf_addf(b, "%s: stopped after %ld million Lua instructions (a runaway loop?)",
		         sb->label, sb->lim.instructions / 1000000);
		break;
	case SB_TIME:
		buf_addf(b,
		         "%s: stopped after %g s, the limit per Lua call "
		         "(set DROVER_LUA_TIMEOUT to change it)",
		         sb->label, sb->lim.seconds);
		break;
	case SB_MEM:
		buf_addf(b,
		         "%s: stopped at the memory limit of %zu MiB per Lua state "
		         "(set DROVER_LUA_MEMORY, in MiB, to change it)",
		         sb->label, sb->lim.memory / (1024 * 1024));
		break;
	default:
		break;
	}
	return buf_str(b);
}

/* The message is copied first: pushing it may itself fail at the memory
 * limit, and the error must not leak. */
static int raise_trip(lua_State *L, struct sandbox *sb)
{
	struct buf b = BUF_INIT;
	char msg[600];
	snprintf(msg, sizeof(msg), "%s", trip_text(sb, &b));
	buf_release(&b);
	lua_pushstring(L, msg);
	return lua_error(L);
}

void sandbox_charge(lua_State *L, long n)
{
	struct sandbox *sb = sandbox_of(L);
	if (sb->trip == SB_OK && sb->in_call) {
		sb->budget -= n;
		if (sb->budget < 0)
			sb->trip = SB_INSTR;
		else if (sandbox_now() > sb->deadline)
			sb->trip = SB_TIME;
	}
	if (sb->trip != SB_OK)
		raise_trip(L, sb);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	sandbox_charge(L, HOOK_EVERY);
}

struct sandbox *sandbox_of(lua_State *L)
{
	struct sandbox *sb;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_key);
	sb = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return sb;
}

double sandbox_remaining(struct sandbox *sb)
{
	double left;
	if (!sb->in_call)
		return 1e9;
	left = sb->deadline - sandbox_now();
	return left > 0 ? left : 0;
}

/* pcall and xpcall that cannot swallow a tripped limit. */
static int finish_pcall(lua_State *L, int status, lua_KContext extra)
{
	struct sandbox *sb = sandbox_of(L);
	if (sb->trip != SB_OK)
		return raise_trip(L, sb);
	if (status != LUA_OK && status != LUA_YIELD) {
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L)
{
	int status;
	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
	return finish_pcall(L, status, 0);
}

static int sb_xpcall(lua_State *L)
{
	int status, n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);
	status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
	return finish_pcall(L, status, 2);
}

/* load(chunk [, name [, mode [, env]]]) with mode forced to text. */
static int sb_load(lua_State *L)
{
	lua_settop(L, 4);
	lua_pushstring(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 4, LUA_MULTRET);
	return lua_gettop(L);
}

static int sb_print(lua_State *L)
{
	struct buf b = BUF_INIT;
	struct sandbox *sb = sandbox_of(L);
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = luaL_tolstring(L, i, &len);
		if (i > 1)
			buf_addc(&b, '\t');
		buf_add(&b, s, len);
		lua_pop(L, 1);
	}
	lua_api_print(sb, buf_str(&b));
	buf_release(&b);
	return 0;
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
	luaL_requiref(L, name, open, 1);
	lua_pop(L, 1);
}

static void drop_fields(lua_State *L, const char *table, const char *const *names)
{
	lua_getglobal(L, table);
	for (; *names; names++) {
		lua_pushnil(L);
		lua_setfield(L, -2, *names);
	}
	lua_pop(L, 1);
}

/* os with only what cannot touch the system: clocks, dates, the env. */
static void open_small_os(lua_State *L)
{
	static const char *const keep[] = {"time", "date", "clock", "difftime", "getenv", NULL};
	luaL_requiref(L, "os", luaopen_os, 0);
	lua_newtable(L);
	for (int i = 0; keep[i]; i++) {
		lua_getfield(L, -2, keep[i]);
		lua_setfield(L, -2, keep[i]);
	}
	lua_setglobal(L, "os");
	lua_pop(L, 1);
}

/* _LOADED (the registry's package.loaded) held the full os library from
 * luaL_requiref; keep only what the sandbox offers. Lua reads it to name
 * functions in messages ("bad argument #1 to 'string.rep'"). */
static void loaded_table(lua_State *L)
{
	static const char *const names[] = {"string", "table",  "math", "utf8",
	                                    "os",     "drover", NULL};
	lua_newtable(L);
	lua_pushglobaltable(L);
	lua_setfield(L, -2, LUA_GNAME);
	for (int i = 0; names[i]; i++) {
		lua_getglobal(L, names[i]);
		lua_setfield(L, -2, names[i]);
	}
	lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
}

static void open_libs(struct sandbox *sb)
{
	static const char *const base_drop[] = {"dofile", "loadfile", "require", NULL};
	static const char *const string_drop[] = {"dump", NULL};
	lua_State *L = sb->L;
	open_lib(L, "_G", luaopen_base);
	open_lib(L, "string", luaopen_string);
	open_lib(L, "table", luaopen_table);
	open_lib(L, "math", luaopen_math);
	open_lib(L, "utf8", luaopen_utf8);
	open_small_os(L);
	drop_fields(L, "_G", base_drop);
	drop_fields(L, "string", string_drop);
	lua_pattern_open(L);
	lua_getglobal(L, "load");
	lua_pushcclosure(L, sb_load, 1);
	lua_setglobal(L, "load");
	lua_register(L, "pcall", sb_pcall);
	lua_register(L, "xpcall", sb_xpcall);
	lua_register(L, "print", sb_print);
	lua_api_open(sb);
	loaded_table(L);
}

int sandbox_init(struct sandbox *sb, const char *label, const struct lua_limits *lim, struct err *e)
{
	memset(sb, 0, sizeof(*sb));
	if (lim)
		sb->lim = *lim;
	sandbox_default_limits(&sb->lim);
	sb->label = xstrdup(label ? label : "lua");
	err_init(&sb->unreach);
	sb->L = lua_newstate(sb_alloc, sb);
	if (!sb->L) {
		free(sb->label);
		sb->label = NULL;
		return err_set(e, ERR_NOMEM, NULL, 0, 0, "%s: cannot create a Lua state", label);
	}
	lua_pushlightuserdata(sb->L, sb);
	lua_rawsetp(sb->L, LUA_REGISTRYINDEX, &sandbox_key);
	lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	open_libs(sb);
	return 0;
}

void sandbox_release(struct sandbox *sb)
{
	if (sb->L)
		lua_close(sb->L);
	free(sb->label);
	memset(sb, 0, sizeof(*sb));
}

static int load_status(struct sandbox *sb, int status, const char *file, struct err *e)
{
	const char *msg;
	if (status == LUA_OK)
		return 0;
	msg = lua_tostring(sb->L, -1);
	/* Lua's syntax messages already read "file:line: ..." */
	err_set(e, status == LUA_ERRMEM ? ERR_NOMEM : ERR_PARSE, NULL, 0, 0, "%s",
	        msg ? msg : "cannot load Lua chunk");
	(void)file;
	lua_pop(sb->L, 1);
	return e->code;
}

int sandbox_loadbuf(struct sandbox *sb, const char *text, size_t len, const char *chunkname,
                    struct err *e)
{
	char name[600];
	snprintf(name, sizeof(name), "@%s", chunkname);
	return load_status(sb, luaL_loadbufferx(sb->L, text, len, name, "t"), chunkname, e);
}

int sandbox_loadfile(struct sandbox *sb, const char *path, struct err *e)
{
	size_t len;
	int ret;
	char *text = read_file(path, &len);
	if (!text)
		return err_set(e, ERR_IO, path, 0, 0, "cannot read Lua file: %s", strerror(errno));
	ret = sandbox_loadbuf(sb, text, len, path, e);
	free(text);
	return ret;
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg =
			    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int sandbox_pcall(struct sandbox *sb, int nargs, int nres, char **msg)
{
	lua_State *L = sb->L;
	int base = lua_gettop(L) - nargs, status;
	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	sb->trip = SB_OK;
	sb->budget = sb->lim.instructions;
	sb->deadline = sandbox_now() + sb->lim.seconds;
	sb->in_call = 1;
	status = lua_pcall(L, nargs, nres, base);
	sb->in_call = 0;
	if (status != LUA_OK) {
		struct buf b = BUF_INIT;
		if (sb->trip != SB_OK)
			trip_text(sb, &b);
		else if (status == LUA_ERRMEM)
			buf_addf(&b, "%s: out of memory", sb->label);
		else
			buf_adds(&b, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		*msg = buf_detach(&b);
		lua_pop(L, 1);
	}
	lua_remove(L, base);
	sb->trip = SB_OK;
	return status;
}
