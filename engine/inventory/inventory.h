/*
 * inventory.h - Ansible inventories: INI, YAML, directories, host lists,
 * group_vars/ and host_vars/, host patterns.
 *
 * An inventory owns its hosts and groups. Hosts keep the order in which
 * they were first defined, groups the order they were created and children
 * the order they were added: Ansible's orders, so `drover inventory --list`
 * is byte for byte ansible-inventory's. Variables are stored per layer and
 * merged on request in Ansible's order (VariableManager.get_vars): group
 * `all`, then the host's groups sorted by (depth, ansible_group_priority,
 * name) where depth is the longest path from `all`, then group_vars/all
 * files (inventory side, playbook side), group_vars/<group> files (same),
 * then the host's own vars, host_vars/ files (inventory side, playbook
 * side). A later layer replaces whole top-level keys.
 *
 * Sources are read as Ansible reads them (see ini.c, yaml_inv.c); unlike
 * Ansible, a source that does not parse is an error, not a warning, and
 * every parse error carries file:line:col. Sources are made absolute.
 *
 * Not thread-safe: load, finish and select on one thread (select may add
 * the implicit localhost); the const lookups may then run anywhere.
 */
#ifndef DROVER_INVENTORY_H
#define DROVER_INVENTORY_H

#include <jansson.h>

#include "util/err.h"

struct inv_host {
	char *name;
	json_t *vars;  /* host-level vars from the inventory sources */
	char **groups; /* names of the groups it is directly in */
	int ngroups;
	char *source; /* the inventory file that first defined it, or NULL */
	int implicit; /* the implicit localhost: in no group, not in `all` */
};

struct inv_group {
	char *name;
	json_t *vars;
	char **children; /* child group names */
	int nchildren;
	char **hosts; /* direct member host names, in order */
	int nhosts;
	char **parents;
	int nparents;
	int depth;    /* longest path from `all` (all is 0) */
	int priority; /* ansible_group_priority, default 1; not kept in vars */
};

struct inventory {
	struct inv_host **hosts;
	int nhosts;
	struct inv_group **groups;
	int ngroups;
	char **dirs; /* directories of the sources (for group_vars/host_vars) */
	int ndirs;
	/* group_vars/ and host_vars/ data: {"inventory": [DIR...], "playbook":
	 * [DIR...]} where DIR is {"group_vars": {g: vars}, "host_vars": {h: vars}} */
	json_t *gv_files;
	void *priv;
};

void inventory_init(struct inventory *inv);
void inventory_release(struct inventory *inv);
/* Add one source (-i): a file, a directory, or "h1,h2,". */
int inventory_load(struct inventory *inv, const char *source, struct err *e);
/* Call after the last inventory_load: implicit groups, ungrouped, vars dirs. */
int inventory_finish(struct inventory *inv, struct err *e);
/* Read group_vars/ and host_vars/ beside a playbook (they win over the
 * inventory-side ones). */
int inventory_add_vars_dir(struct inventory *inv, const char *dir, struct err *e);

struct inv_host *inventory_host(const struct inventory *inv, const char *name);
struct inv_group *inventory_group(const struct inventory *inv, const char *name);
/* The host's merged vars with precedence applied (new reference), NULL for
 * an unknown host. With with_magic, also inventory_hostname(_short),
 * group_names, groups, inventory_dir and inventory_file. */
json_t *inventory_host_vars(const struct inventory *inv, const char *host, int with_magic);
/* {group: [host names]} as the `groups` magic var (new ref): each list in
 * Ansible's order (the group's own hosts, then its descendants', breadth
 * first), without the implicit localhost. */
json_t *inventory_groups_var(const struct inventory *inv);
/* One group's hosts in that order (new ref), or NULL if no such group. */
json_t *inventory_group_hosts(const struct inventory *inv, const char *group);

/*
 * Hosts matching an Ansible pattern ("web:&prod:!web3", "k3s_*", "~re",
 * "g[0]", "g[1:]"), in inventory order, intersected with limit (may be NULL;
 * "@file" reads one pattern per line). New JSON array of host names.
 * Unknown pattern parts warn (Ansible's "Could not match supplied host
 * pattern, ignoring: X"); an empty result is not an error here. A bad
 * regex, a subscript past the end or a missing limit file is (NULL, e set).
 * "localhost" (or 127.0.0.1, ::1) named but not listed adds the implicit
 * localhost: ansible_connection=local, in no group, never part of `all`.
 */
json_t *inventory_select(struct inventory *inv, const char *pattern, const char *limit,
                         struct err *e);

#endif
