/*
 * exec.h - the executor: runs a loaded playbook (or one ad-hoc task) against
 * the inventory, per play: hosts -> batches (serial) -> tasks, with `forks`
 * worker threads, the linear or free strategy, loops, retries, handlers,
 * block/rescue/always and delegation. Results go to output; the executor
 * never builds shell commands (modules do) and never prints directly.
 *
 * Returns the process exit code Ansible would (0, 2 a host failed, 4 a host
 * unreachable) or a negative error with e set for errors that stop the run
 * before or between tasks (bad vars_files, undefined hosts pattern...).
 * exec_interrupt() (from a SIGINT handler) stops new work; the run then ends
 * with the recap and exit_code 130.
 */
#ifndef DROVER_EXEC_H
#define DROVER_EXEC_H

#include <jansson.h>

#include "conn/conn.h"
#include "inventory/inventory.h"
#include "output/output.h"
#include "playbook/playbook.h"
#include "util/err.h"

struct exec_cfg {
	struct inventory *inv;
	struct conn_pool *pool;
	struct output *out;
	json_t *extra_vars; /* borrowed dict */
	int forks, check, diff, verbosity, step;
	const char *limit, *tags, *skip_tags, *start_at_task;
	int become; /* -b */
	const char *become_user, *become_method, *remote_user;
	const char *become_flags, *become_exe; /* [privilege_escalation] */
	const char *become_password;           /* -K; vars (ansible_become_password) win */
	const char *inventory_dir;
	struct lua_hooks *hooks; /* may be NULL */
};

int exec_playbook(const struct exec_cfg *cfg, struct playbook *pb, struct err *e);
/* Several playbooks as one run (one recap), as ansible-playbook a.yml b.yml. */
int exec_playbooks(const struct exec_cfg *cfg, struct playbook **pbs, int n, struct err *e);
/* One module on the hosts matching pattern (drover exec). */
int exec_adhoc(const struct exec_cfg *cfg, const char *pattern, const char *module,
               const json_t *args, struct err *e);
/* Ansible's tag selection (Taggable.evaluate_tags): only is --tags (["all"]
 * when none), skip is --skip-tags. 1 when a task with these tags runs. */
int exec_tags_match(const json_t *tags, const json_t *only, const json_t *skip);
/* "a,b" -> ["a", "b"]; def (may be NULL) when s is empty. New array. */
json_t *exec_split_tags(const char *s, const char *def);
/* Async-signal-safe: ask the running executor to stop. */
void exec_interrupt(void);

#endif
