/*
 * hooks.h - Lua hooks: user scripts that watch a run and may veto it.
 *
 * A hook file is a Lua text chunk that returns a table of event name ->
 * function(ev). lua_hooks_fire() calls the functions for one event, file by
 * file in load order, with ev as a Lua table (a copy; hooks cannot change
 * drover's data). lua/README.md documents events, vetoes and the drover.*
 * API for users. Events and the fields of ev:
 *
 *   run_start        playbook, check, hosts (list)
 *   play_start       play, hosts (list)
 *   task_start       play, task, action
 *   host_task_start  play, task, action, host (and args, the task's args,
 *                    when the executor sends them: cluster_gate.lua uses
 *                    them to spot `kubectl drain` in command/shell tasks)
 *   host_result      play, task, action, host, status, result
 *                    (status: ok | changed | failed | skipped | unreachable)
 *   handler          play, task, action, host (a handler about to run)
 *   play_end         play
 *   run_end          stats {host: {ok, changed, failed, skipped,
 *                    unreachable, ...}}, failed (bool)
 *
 * A hook vetoes by raising an error or returning false, "reason". Then
 * lua_hooks_fire returns 1 with *veto_msg set (malloc'd, "file:line: ..."
 * for errors), and the remaining hooks for that event are not called. The
 * executor decides the consequence: for host_task_start / handler the host
 * fails that task with the message; for task_start every host of the task
 * fails; for run_start / play_start the run stops. Vetoes of host_result,
 * play_end and run_end are reported but change nothing.
 *
 * Hooks run one at a time on the controller: every call into Lua holds the
 * set's mutex, so lua_hooks_fire is safe from any worker thread. Each call
 * is bounded: an instruction budget, a wall-clock limit (drover.sleep,
 * drover.exec and drover.http count against it) and a memory cap; running
 * past one is a veto with a message saying which limit and how to raise it.
 *
 * The drover.* API reaches the run only through struct lua_env, filled by
 * the executor; engine/lua knows nothing of the executor's internals.
 * Without an env (or with a NULL callback) the matching drover.* function
 * raises "drover.X is not available here".
 */
#ifndef DROVER_LUA_HOOKS_H
#define DROVER_LUA_HOOKS_H

#include <jansson.h>

#include "conn/conn.h"
#include "util/err.h"

enum lua_log_level {
	LUA_LOG_ERROR,
	LUA_LOG_WARN,
	LUA_LOG_INFO,  /* shown by default */
	LUA_LOG_DEBUG, /* shown with -v */
};

struct lua_env {
	void *ud; /* passed back to every callback */
	/* The vars of inventory host `host` (NULL: the run's global vars: extra
	 * vars and group "all"). New reference, or NULL with e set. */
	json_t *(*vars)(void *ud, const char *host, struct err *e);
	/* Render text with host's vars (host may be NULL as above). New
	 * reference, or NULL with e set. */
	json_t *(*render)(void *ud, const char *text, const char *host, struct err *e);
	/* Run cmd on host through its connection (conn_exec), bounded by
	 * timeout seconds. 0 with r filled (r->rc is the exit status), or
	 * negative with e set when the host cannot be reached. */
	int (*exec)(void *ud, const char *host, const char *cmd, int timeout, struct conn_result *r,
	            struct err *e);
	/* A line from drover.log. May be NULL: then it goes to log.h. */
	void (*log)(void *ud, enum lua_log_level level, const char *msg);
};

/* Limits per call into Lua; zero fields take the defaults below. */
struct lua_limits {
	long instructions; /* default 200 million VM instructions */
	double seconds;    /* default 30 wall-clock seconds */
	size_t memory;     /* default 64 MiB per Lua state */
};

struct lua_hooks;

/* An empty set. NULL only on allocation failure. */
struct lua_hooks *lua_hooks_new(struct err *e);
/* Copy env (its ud must outlive the set); env may be NULL to unset. */
void lua_hooks_set_env(struct lua_hooks *h, const struct lua_env *env);
void lua_hooks_set_limits(struct lua_hooks *h, const struct lua_limits *l);
/* Load one hook file. Errors (syntax, not returning a table, a value that
 * is not a function, an unknown event name) carry file:line. */
int lua_hooks_load(struct lua_hooks *h, const char *path, struct err *e);
/* Load the files in a comma-separated list (config's lua_hooks). */
int lua_hooks_load_list(struct lua_hooks *h, const char *list, struct err *e);
/* 1 if any loaded file handles event (lets the executor skip building ev). */
int lua_hooks_wants(struct lua_hooks *h, const char *event);
/* 0 ok; 1 vetoed with *veto_msg (malloc'd); negative on internal error
 * with e set. ev is borrowed and may be NULL (an empty table). */
int lua_hooks_fire(struct lua_hooks *h, const char *event, const json_t *ev, char **veto_msg,
                   struct err *e);
void lua_hooks_free(struct lua_hooks *h);

#endif
