/*
 * config.h - drover.cfg / ansible.cfg, the keys users actually set.
 *
 * Search order (first found wins, as Ansible's): $DROVER_CONFIG,
 * $ANSIBLE_CONFIG, ./drover.cfg, ./ansible.cfg, ~/.drover.cfg,
 * ~/.ansible.cfg, /etc/ansible/ansible.cfg. No file is not an error.
 * Unknown keys are kept in `raw` and noted at -v. Malformed lines are an
 * error naming file:line.
 */
#ifndef DROVER_CONFIG_H
#define DROVER_CONFIG_H

#include <jansson.h>

#include "util/err.h"

struct config {
	char *path;        /* the file read, or NULL */
	char *inventory;   /* [defaults] inventory (comma-separated) */
	int forks;         /* default 5 */
	char *remote_user; /* NULL: the login user */
	char *private_key_file;
	int host_key_checking; /* default 1 */
	char *roles_path;      /* colon-separated */
	char *library;         /* Lua modules path, colon-separated */
	char *lua_hooks;       /* comma-separated */
	int timeout;           /* connect timeout, default 10 */
	char *stdout_callback; /* "default" or "json" */
	int become;            /* [privilege_escalation] */
	char *become_user, *become_method, *become_flags, *become_exe;
	int become_ask_pass;
	char *ssh_args; /* [ssh_connection], accepted */
	int pipelining;
	json_t *raw; /* {section: {key: "value"}} */
};

void config_init(struct config *c);
/* Load from the search order; explicit (may be NULL) overrides it. */
int config_load(struct config *c, const char *explicit_path, struct err *e);
/* Parse one file (exposed for tests). */
int config_load_file(struct config *c, const char *path, struct err *e);
void config_release(struct config *c);
/* Ansible's boolean strings: yes/no/true/false/on/off/1/0 (any case). -1 if none. */
int config_bool(const char *s);

#endif
