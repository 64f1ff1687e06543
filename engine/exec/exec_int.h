/*
 * exec_int.h - the executor's internal state, shared by its files.
 */
#ifndef DROVER_EXEC_INT_H
#define DROVER_EXEC_INT_H

#include "exec/exec.h"
#include "config/config.h"
#include "template/tmpl.h"
#include "util/buf.h"
#include "vars/vars.h"

#include <pthread.h>

/* One inventory host for the whole run. Fields below `lock` are changed
 * only under exec->lock (other hosts read them through hostvars). */
struct hstate {
	char *name;
	json_t *inv_vars; /* inventory vars incl. its magic, cached */
	json_t *facts;
	json_t *hvars;    /* set_fact and registered results */
	json_t *incvars;  /* include_vars */
	json_t *notified; /* handler name/topic -> true */
	int failed, unreachable, ended;
	int seen;      /* in some play's hosts: shown in the recap */
	int rescuable; /* enclosing blocks with a rescue, while in their block part */
	struct out_stats st;
	json_t *failed_task; /* ansible_failed_task / _result for rescue */
	json_t *failed_result;
};

struct exec {
	const struct exec_cfg *cfg;
	struct playbook *pb;
	struct hstate **hosts;
	int nhosts;
	json_t *groups;
	pthread_mutex_t lock;
	int started; /* --start-at-task found */
	int abort;   /* any_errors_fatal or max_fail_percentage: end the run */
	json_t *run_tags, *skip_tags;
	json_t *hook_files; /* play hooks: files already loaded */
};

/* One play in progress. */
struct prun {
	struct exec *x;
	struct pb_play *play;
	json_t *play_vars; /* play vars + import vars */
	json_t *vars_files;
	json_t *roles_run;                 /* role path + params already run this play */
	json_t *role_defaults, *role_vars; /* of the play's roles: and import_role */
	json_t *play_hosts_all;            /* names */
	json_t *batch_names;
	struct hstate **batch;
	int nbatch;
	/* 1 every host of the batch failed, 2 end the run (any_errors_fatal,
	 * max_fail_percentage), 3 end_play, 4 end_batch */
	int stop;
	int free_strategy;
	struct pb_list handlers; /* play handlers plus included roles' */
	const char *section_kind;
};

extern volatile int exec_stop_flag;

struct hstate *exec_host(struct exec *x, const char *name);
int host_active(const struct prun *pr, const struct hstate *h);
/* Keyword k of t, inherited from blocks, roles and the play. Borrowed. */
const json_t *exec_kw(const struct prun *pr, const struct pb_task *t, const char *k);
/* The vars a task sees on host h (new dict). */
json_t *exec_task_vars(struct prun *pr, const struct pb_task *t, struct hstate *h);
void exec_tmpl_ctx(const struct pb_task *t, const json_t *vars, struct tmpl_ctx *c);

/* Run a task list on hosts (linear) or one host (free). */
void exec_list(struct prun *pr, struct pb_list *l, struct hstate **hs, int n);
/* Run one task node on the given hosts. */
void exec_node(struct prun *pr, struct pb_task *t, struct hstate **hs, int n);
/* One task on one host: result into the host's state, stats and output.
 * Returns the result status. */
int exec_task_host(struct prun *pr, struct pb_task *t, struct hstate *h, json_t **result);
/* The loop items of t for vars, or NULL with *none set when t has no loop. */
json_t *exec_loop_items(const struct pb_task *t, const json_t *vars, struct err *e);
void exec_include(struct prun *pr, struct pb_task *t, struct hstate **hs, int n);
void exec_flush_handlers(struct prun *pr, struct hstate **hs, int n);
void exec_parallel(int n, int forks, void (*fn)(void *ud, int i), void *ud);
/* throttle: at most limit hosts inside enter/leave for task t at once
 * (limit <= 0: no bound). */
void exec_throttle_enter(const struct pb_task *t, long limit);
void exec_throttle_leave(const struct pb_task *t, long limit);
int exec_tag_selected(struct prun *pr, const struct pb_task *t);

/* One task on one host (task.c, task_env.c). */
struct item_run {
	struct prun *pr;
	struct pb_task *t;
	struct hstate *h;
	json_t *vars;        /* the vars for this item (owned) */
	const char *action;  /* short module name */
	const json_t *items; /* the loop's items, while looping */
	char *delegate;      /* rendered delegate_to, or NULL */
};

struct task_ctx;
struct conn_exec_opts;
/* when/changed_when/failed_when/until value: a list means all must hold. */
int exec_cond(const struct pb_task *t, const json_t *owner, const char *key, const json_t *cond,
              const json_t *vars, int *res, struct err *e);
/* when: of the task and the blocks and imports above it. */
int exec_when_holds(const struct pb_task *t, const json_t *vars, int *res, struct err *e);
/* Keyword k as a bool, text or number (templated), inherited; def if unset. */
int exec_kw_bool(struct prun *pr, const struct pb_task *t, const char *k, const json_t *vars,
                 int def);
char *exec_kw_str(struct prun *pr, const struct pb_task *t, const char *k, const json_t *vars);
long exec_kw_int(struct item_run *ir, const char *k, long def);
/* module_defaults that apply to m for this task, templated (task_args.c).
 * New dict, or NULL with e set (a bad module_defaults entry). */
struct module_def;
json_t *exec_module_defaults(struct item_run *ir, const struct module_def *m, struct err *e);
/* async: S on a task (async.c): poll 0 starts it in the background, poll P
 * waits for it, checking every P seconds, at most S seconds. Fills result
 * like m->run; same return. */
int exec_async_run(struct item_run *ir, struct task_ctx *ctx, const struct module_def *m,
                   const json_t *args, long async_s, json_t *result, struct err *e);
/* The inventory vars of a host, for the pool's pct resolution (borrowed). */
const json_t *exec_resolve_vars(void *ud, const char *host);
/* Connection vars for target (the host or its delegate). New dict. */
json_t *exec_conn_vars(struct item_run *ir, const char *target);
/* task_ctx.conn_for and task_ctx.progress. */
struct conn *exec_conn_for(struct task_ctx *ctx, const char *host, struct err *e);
void exec_progress(struct task_ctx *ctx, const char *fmt, ...);
/* environment of play, blocks and task: "K=V" strings (free each), or NULL. */
char **exec_env_list(struct item_run *ir);
/* become, become_user (*user), become password (*pw); free *user and *pw. */
void exec_become_opts(struct item_run *ir, struct conn_exec_opts *o, char **user, char **pw);

/* Lua hooks (hooks.c). ev is stolen. 1 when vetoed, with *veto (malloc'd). */
int exec_hook(struct exec *x, const char *event, json_t *ev, char **veto);
void exec_hook_note(struct exec *x, const char *event, json_t *ev);
void exec_hooks_attach(struct exec *x);
void exec_hooks_detach(struct exec *x);

#endif
