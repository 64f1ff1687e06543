/*
 * session.h - what `drover run` and `drover exec` share: the inventory, the
 * connection pool, the output, extra vars, Lua modules and hooks, and the
 * Ctrl-C handler, set up once from the parsed command line.
 *
 * session_open prints nothing; on failure it returns an exit code with e
 * set. session_close frees everything (closing connections).
 */
#ifndef DROVER_SESSION_H
#define DROVER_SESSION_H

#include "cli/cli.h"
#include "exec/exec.h"
#include "lua/hooks.h"

struct session {
	struct inventory inv;
	struct conn_pool *pool;
	struct output *out;
	json_t *extra_vars;
	struct lua_hooks *hooks;
	struct exec_cfg cfg;
	char *inventory_dir;
	char *become_password, *password; /* -K, -k */
};

int session_open(struct session *s, struct cli *c, enum out_kind kind, struct err *e);
/* group_vars/ host_vars/ beside a playbook. */
int session_add_playbook_dir(struct session *s, const char *dir, struct err *e);
void session_close(struct session *s);
/* module flags for the loader: -1 when name is no module. */
int session_action_flags(const char *name);

#endif
