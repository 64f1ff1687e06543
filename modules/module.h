/*
 * module.h - the built-in module interface and its single registry table
 * (modules/registry.c), like git's commands[] and Lua's luaL_Reg.
 *
 * A module runs on the controller and reaches the host only through
 * ctx->conn (POSIX sh). It never parses YAML and never prints: it fills a
 * result object as Ansible's modules do (changed, failed, msg, rc, stdout,
 * stderr, stdout_lines, diff, ...). Facts it returns under "ansible_facts"
 * are merged into the host's facts by the executor.
 *
 * The executor validates args against the module's argspec before run()
 * (module_validate: types, required, choices, defaults, unknown keys), so a
 * module sees clean, typed args. `drover doc MODULE` prints from the same
 * table.
 */
#ifndef DROVER_MODULE_H
#define DROVER_MODULE_H

#include <jansson.h>

#include "conn/conn.h"
#include "template/tmpl.h"
#include "util/err.h"

enum arg_type {
	ARG_STR, /* text; numbers and bools given are turned into text */
	ARG_INT, /* "8" -> 8 */
	ARG_FLOAT,
	ARG_BOOL, /* yes/no/true/false/on/off/1/0 */
	ARG_LIST, /* a list, or "a,b" split on commas */
	ARG_DICT, /* a dict, or "k=v k2=v2" */
	ARG_PATH, /* text, ~ expanded on the controller side where relevant */
	ARG_RAW,  /* any value, unchanged */
	ARG_MODE, /* file mode: int as given in YAML (0644 -> 420) or text "0644", "u+rwx" */
};

struct module_arg {
	const char *name;
	enum arg_type type;
	int required;
	const char *def;            /* default as JSON text ("true", "\"present\"", "5"), or NULL */
	const char *const *choices; /* NULL-terminated, or NULL */
	int no_log;                 /* never shown in output or logs */
	const char *aliases;        /* comma-separated, or NULL */
	const char *help;
};

enum module_flags {
	MOD_CHECK_MODE = 1 << 0, /* supports check mode (else skipped under -C) */
	MOD_CONTROLLER = 1 << 1, /* needs no connection to the host */
	MOD_RAW_PARAMS = 1 << 2, /* free-form text goes to "_raw_params" */
	MOD_DIFF = 1 << 3,       /* produces a diff */
	MOD_ANY_ARGS = 1 << 4,   /* takes any keys (set_fact): only listed ones are checked */
	/* Manages its own connection (wait_for_connection): ctx->conn comes
	 * from conn_pool_lazy, not open yet, and the module opens it (conn_try),
	 * so a host that is down when the task starts is not UNREACHABLE. */
	MOD_LAZY_CONN = 1 << 5,
};

struct task_ctx {
	const char *host;           /* inventory_hostname */
	struct conn *conn;          /* NULL for MOD_CONTROLLER modules */
	const json_t *vars;         /* the host's vars for this task (borrowed) */
	struct tmpl_ctx tmpl;       /* for modules that render (template, assert) */
	struct conn_exec_opts exec; /* become, env, timeout for commands */
	int check, diff;
	int verbosity;
	const char *basedir;   /* where relative src paths are looked up first */
	const char *role_path; /* role dir, or NULL */
	void *executor;        /* opaque: the executor's own state */
	/* The connection of another inventory host (for modules that work
	 * through a delegate, such as drain through the first server). Set by
	 * the executor; borrowed pointer from the pool, or NULL with e set. */
	struct conn *(*conn_for)(struct task_ctx *ctx, const char *host, struct err *e);
	/* Progress for long waits (drain, wait_for): a one-line status the
	 * output may show on a TTY. May be NULL. */
	void (*progress)(struct task_ctx *ctx, const char *fmt, ...);
};

struct module_def {
	const char *name;
	const char *const *aliases; /* FQCNs and old names, NULL-terminated */
	int flags;
	const struct module_arg *args; /* terminated by {NULL} */
	const char *summary;           /* one line */
	const char *description;       /* a paragraph, for drover doc */
	/* Returns 0; failures go in result ("failed": true, "msg"). A negative
	 * return is an unreachable host (ERR_UNREACH) or internal error, with e. */
	int (*run)(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e);
};

/* By name, FQCN (ansible.builtin.x, ansible.legacy.x, community.general.x,
 * ansible.posix.x) or alias. NULL when unknown. */
const struct module_def *module_find(const char *name);
/* All modules (built-in then registered), NULL-terminated. */
const struct module_def *const *module_all(void);
/* Add a module at run time (Lua modules). The def must outlive the run. */
int module_register(const struct module_def *def);
/* Check and coerce args. New reference in *out, or error naming the arg. */
int module_validate(const struct module_def *m, const json_t *args, json_t **out, struct err *e);
/* The text values of validated no_log args, for output to mask. New list. */
json_t *module_nolog_values(const struct module_def *m, const json_t *args);

/* Helpers modules share (modules/common.c). */
/* Run cmd with ctx->exec; on transport failure returns <0 with e set. */
int mod_sh(struct task_ctx *ctx, const char *cmd, struct conn_result *r, struct err *e);
void mod_fail(json_t *result, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
