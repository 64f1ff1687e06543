/*
 * lmodule.h - modules written in Lua, registered beside the built-ins.
 *
 * A module file NAME.lua returns a table:
 *
 *   { name = "NAME", summary = "...", description = "...",
 *     args = { {name = "x", type = "str", required = true, default = ...,
 *               choices = {...}, help = "...", no_log = false, aliases = "..."}, ... },
 *     check_mode = true, run = function(ctx, args) ... return {changed = ...} end }
 *
 * Loading turns the table into a struct module_def and calls
 * module_register(), so the executor validates args with module_validate,
 * skips it under check mode unless check_mode = true, and `drover doc NAME`
 * prints it. Each run gets a fresh sandboxed Lua state (engine/lua/sandbox.h)
 * on the worker's thread, so Lua modules run in parallel across hosts like
 * built-ins. Inside run, ctx.host, ctx.check, ctx.diff, ctx.vars and
 * ctx:exec(cmd) (the host's own connection) are available; drover.exec(host,
 * cmd) reaches another host through the executor's conn_for.
 *
 * Errors while loading name file:line. A run that raises an error or
 * returns something other than a table is a failed task whose msg says
 * file:line and why.
 */
#ifndef DROVER_LUA_LMODULE_H
#define DROVER_LUA_LMODULE_H

#include "util/err.h"

/* Load and register one module file. Loading the same name again is an
 * error unless it is the same file (then it is a no-op). */
int lua_modules_load_file(const char *path, struct err *e);
/* Every *.lua in dir, in name order. A missing dir is not an error. */
int lua_modules_load_dir(const char *dir, struct err *e);
/* The shipped modules ($DROVER_LUA_DIR/modules, else the source tree's
 * lua/modules) and then each dir of library (colon-separated, may be NULL).
 * Call once before looking modules up (cmd_run, cmd_exec, cmd_doc). */
int lua_modules_load_path(const char *library, struct err *e);

#endif
