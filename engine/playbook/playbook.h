/*
 * playbook.h - Ansible playbooks as a tree of plays, blocks and tasks.
 *
 * The loader turns YAML (engine/yaml) into plays whose task lists are trees:
 * a block node holds block/rescue/always lists; a role's tasks sit under one
 * block node that carries the role; import_tasks/import_role are expanded at
 * load time; include_tasks/include_role are nodes the executor expands at
 * run time (pb_include_load). Every node keeps its YAML dict (kw) so the
 * executor reads keywords (when, loop, register...) as written, and its
 * source position for messages. Keywords are inherited by walking parents.
 *
 * An include's own keywords are not inherited by what it brings (Ansible's
 * dynamic includes are not "statically loaded"); its `apply:` dict becomes
 * the keywords of the body block it is expanded into, so they are.
 *
 * Errors carry file:line:col and say what to do. The loader templates only
 * the names of imports (import_tasks, import_role, roles:, import_playbook)
 * and vars_files entries that name them, with what Ansible knows at parse
 * time: extra vars, the play's vars and vars_files, and the vars of the
 * enclosing blocks, roles and import; never inventory vars or facts.
 * A playbook owns everything it loads, including run-time includes.
 */
#ifndef DROVER_PLAYBOOK_H
#define DROVER_PLAYBOOK_H

#include <jansson.h>
#include <pthread.h>

#include "util/err.h"
#include "yaml/yaml.h"

enum pb_kind {
	PB_TASK,         /* one module call */
	PB_BLOCK,        /* block/rescue/always, or a role's body */
	PB_INCLUDE,      /* include_tasks (dynamic) */
	PB_INCLUDE_ROLE, /* include_role (dynamic) */
	PB_META,         /* meta: flush_handlers, end_play, ... */
};

struct pb_task;

struct pb_list {
	struct pb_task **v;
	int n;
};

struct pb_role {
	char *name;
	char *path;       /* the role's directory */
	json_t *defaults; /* defaults/main, {} when none */
	json_t *vars;     /* vars/main, {} when none */
	json_t *params;   /* role params from the roles: entry, {} */
	char *key;        /* Ansible's role identity: the same key runs once a play */
};

struct pb_task {
	enum pb_kind kind;
	char *name;             /* as written, NULL when none */
	char *action;           /* module name as written (PB_TASK), meta verb (PB_META) */
	json_t *args;           /* dict; free-form text under "_raw_params" */
	json_t *kw;             /* the task's YAML dict (owned reference) */
	struct pb_task *parent; /* enclosing block, or NULL */
	struct pb_role *role;   /* set on a role's body block */
	struct pb_play *play;   /* the play it belongs to (NULL ad hoc) */
	json_t *inc_params;     /* a run-time include's body: the loop item, as
	                         * include params (NULL when none) */
	struct pb_list block, rescue, always;
	char *basedir; /* directory relative paths resolve from */
	struct srcpos pos;
	int id; /* unique within the playbook, in load order */
	int handler;
};

struct pb_play {
	char *name;  /* as written, or the hosts pattern */
	json_t *kw;  /* the play's YAML dict (owned reference) */
	char *hosts; /* the pattern (a list is joined with ",") */
	struct pb_list pre_tasks, tasks, post_tasks, handlers;
	char *basedir;
	struct srcpos pos;
	json_t *import_vars; /* vars given to import_playbook, {} */
	json_t *static_vars; /* what its import names are rendered with (names.c) */
	json_t *import_tags; /* tags of the import_playbook entries above it, [] */
};

/* Which names are modules, and whether they take free-form text. */
struct pb_env {
	/* -1 for an unknown module, else its module flags (module.h). */
	int (*action_flags)(const char *name);
	const char *roles_path; /* colon-separated, may be NULL */
	const json_t *vars;     /* extra vars, for templated import names; may be NULL */
};

struct playbook {
	char *path;
	char *dir;
	struct pb_play **plays;
	int nplays;
	struct pb_env env;
	int next_id;
	/* everything loaded, for freeing; includes loaded at run time */
	struct pb_task **all;
	int nall;
	struct pb_role **roles;
	int nroles;
	struct pb_play *cur_play;     /* whose tasks are being loaded (imports render with
	                               * its static_vars) */
	struct pb_list *cur_handlers; /* where import_role puts its role's handlers */
	pthread_mutex_t lock;
};

struct playbook *playbook_load(const char *path, const struct pb_env *env, struct err *e);
void playbook_free(struct playbook *pb);
/* A one-task play for ad-hoc runs (drover exec): module with args (borrowed)
 * on the hosts matching pattern, no facts. */
struct playbook *playbook_new_adhoc(const char *pattern, const char *module, const json_t *args,
                                    const struct pb_env *env, struct err *e);

/*
 * Expand an include node for a run: file is the rendered file name (or role
 * name for PB_INCLUDE_ROLE), args the rendered args. On success *out is a
 * new block node (owned by the playbook) whose block list holds the tasks
 * and, for roles, whose role is set; handlers of an included role are
 * appended to *handlers when not NULL. Safe from several threads.
 */
int pb_include_load(struct playbook *pb, struct pb_task *inc, const char *file, const json_t *args,
                    struct pb_task **out, struct pb_list *handlers, struct err *e);

/* The file an include_tasks node names, as found (for "included: ..."). */
char *pb_include_path(struct playbook *pb, const struct pb_task *inc, const char *file);

/* A vars_files name as Ansible finds it: basedir/vars/NAME, then
 * basedir/NAME (or NAME when absolute). New string, NULL when no such file. */
char *pb_vars_file_path(const char *basedir, const char *name);

/*
 * The vars_files of play p, rendered with vars (borrowed: a host's vars at
 * run time, the parse-time vars while loading), merged into out in order.
 * Each entry (a name, or a list of names of which the first existing file
 * is used) is looked for as pb_vars_file_path does. Loaded files are kept
 * in cache (path -> dict; may be NULL). An entry using a variable not
 * known yet is skipped, as Ansible skips it before facts exist, unless
 * undef_fatal (the host's facts are gathered): then it is an error. An
 * entry naming no existing file is skipped when host is NULL, else an
 * error naming the play's file:line:col, the host and the paths tried.
 */
int pb_vars_files_load(const struct pb_play *p, const json_t *vars, json_t *cache, const char *host,
                       int undef_fatal, json_t *out, struct err *e);

/* The nearest role above t (t included), or NULL. */
struct pb_role *pb_task_role(const struct pb_task *t);
/* Keyword k on t or, when inheritable, on its nearest ancestor. Borrowed. */
const json_t *pb_task_kw(const struct pb_task *t, const char *k);
/* The name shown in TASK [...]: "role : name", the name, or the action. */
char *pb_task_title(const struct pb_task *t);
/* Tags of t and its ancestors up to an include, and of the play p (may be
 * NULL). A new array of strings. */
json_t *pb_task_tags(const struct pb_task *t, const struct pb_play *p);

/* Split "k=v k2='v 2' free text" Ansible's way. raw: free words go to
 * "_raw_params" (only creates/removes/chdir/... are pulled out).
 * New dict, or NULL with e set. */
json_t *pb_parse_kv(const char *s, int raw, struct err *e);

#endif
