/*
 * sandbox.h - one sandboxed Lua state: what Lua code may touch, and the
 * limits of every call into it. Internal to engine/lua.
 *
 * The state opens only base (no dofile/loadfile; load and the chunk loader
 * take text only), string (no string.dump), table, math, utf8, a small os
 * (time, date, clock, difftime, getenv) and drover. print goes to
 * drover.log at info level. Memory is counted by a custom allocator and
 * capped; a count hook enforces the instruction budget and the wall-clock
 * deadline of the current call. Once a limit trips, every later instruction
 * of that call raises again, and pcall/xpcall re-raise it, so a script
 * cannot catch its way past a limit.
 */
#ifndef DROVER_LUA_SANDBOX_H
#define DROVER_LUA_SANDBOX_H

#include <lua.h>
#include <stddef.h>

#include "lua/hooks.h"
#include "util/err.h"

struct task_ctx;

enum sb_trip { SB_OK, SB_INSTR, SB_TIME, SB_MEM };

struct sandbox {
	lua_State *L;
	size_t used; /* bytes the state holds */
	struct lua_limits lim;
	long budget;       /* instructions left in this call */
	double deadline;   /* monotonic seconds; 0 outside a call */
	enum sb_trip trip; /* the limit that stopped this call */
	int in_call;
	const struct lua_env *env; /* hooks: the executor's callbacks */
	struct task_ctx *task;     /* Lua modules: the running task */
	struct err unreach;        /* a module's host went away (ctx:exec) */
	char *label;               /* for messages: the file name */
};

/* Fill limits' zero fields with the defaults (and DROVER_LUA_TIMEOUT /
 * DROVER_LUA_MEMORY from the environment). */
void sandbox_default_limits(struct lua_limits *l);
/* A fresh state with the libraries above. -1 with e on failure. */
int sandbox_init(struct sandbox *sb, const char *label, const struct lua_limits *lim,
                 struct err *e);
void sandbox_release(struct sandbox *sb);
/* Load a text chunk from a file, leaving the function on the stack.
 * Errors carry file:line. */
int sandbox_loadfile(struct sandbox *sb, const char *path, struct err *e);
int sandbox_loadbuf(struct sandbox *sb, const char *text, size_t len, const char *chunkname,
                    struct err *e);
/*
 * lua_pcall with limits: the function and nargs arguments are on the stack.
 * 0 with nres results pushed; else the Lua status with a malloc'd message in
 * *msg ("file:line: what" plus a traceback for runtime errors, or which
 * limit stopped the call) and nothing pushed.
 */
int sandbox_pcall(struct sandbox *sb, int nargs, int nres, char **msg);
/* Seconds left in the current call (>= 0); a large number outside calls. */
double sandbox_remaining(struct sandbox *sb);
/* Count n steps of work done in C (pattern matching) against the call's
 * instruction budget and time limit; raises when a limit is past. */
void sandbox_charge(lua_State *L, long n);
/* pattern.c: string.find/match/gmatch/gsub that respect the limits. */
void lua_pattern_open(lua_State *L);
/* The sandbox of a state (from a C function). */
struct sandbox *sandbox_of(lua_State *L);
double sandbox_now(void);

/* api.c: install the drover table into sb's state. */
void lua_api_open(struct sandbox *sb);
/* drover.exec(host, cmd) and ctx:exec(cmd) (host NULL: the module's own). */
int lua_api_exec(lua_State *L, const char *host, const char *cmd);
/* A line from print(). */
void lua_api_print(struct sandbox *sb, const char *msg);
/* json.c: value conversion. lua_json_push pushes v (NULL: nil). */
void lua_json_push(lua_State *L, const json_t *v);
/* The value at idx as JSON; NULL with *why set (static text) if it cannot
 * be (functions, cycles, NaN). New reference. */
json_t *lua_json_get(lua_State *L, int idx, const char **why);
/* Push v as a read-only view: reads (t.k, #t, pairs, ipairs) see v;
 * writes raise; drover.json.encode sees through it. */
void lua_json_push_readonly(lua_State *L, const json_t *v);
/* Push drover.json (encode, decode, null, array, object). */
void lua_json_open(lua_State *L);
/* Push the json.null sentinel. */
void lua_json_push_null(lua_State *L);
/* http.c: drover.http */
int lua_http_request(lua_State *L);

#endif
