/*
 * inv_int.h - what the inventory's files share: building the host/group
 * graph (the parsers call these as Ansible's parsers call InventoryData),
 * host range expansion and Python-literal typing of INI values.
 */
#ifndef DROVER_INV_INT_H
#define DROVER_INV_INT_H

#include "inventory/inventory.h"

struct inv_priv {
	json_t *host_idx;  /* name -> index into inv->hosts */
	json_t *group_idx; /* name -> index into inv->groups */
	const char *cur_source;
	int finished;
	int warned_names;
};

struct inv_group *inv_add_group(struct inventory *inv, const char *name);
/* Add (or find) a host, and put it in group (may be NULL). */
struct inv_host *inv_add_host(struct inventory *inv, const char *name, const char *group);
/* Make child a child group of parent; refuses a cycle. */
int inv_add_child(struct inventory *inv, const char *parent, const char *child, const char *file,
                  int line, int col, struct err *e);
/* Set a group variable; ansible_group_priority becomes the group's priority. */
int inv_group_set(struct inv_group *g, const char *key, json_t *val, const char *file, int line,
                  int col, struct err *e);
/* Set a host variable (steals val). */
void inv_host_set(struct inv_host *h, const char *key, json_t *val);
/* Put a host in a group, once. */
void inv_group_add_host(struct inventory *inv, struct inv_group *g, struct inv_host *h);

/*
 * Expand "node[01:10]:2222" into a new array of names and the port (0 if
 * none), as Ansible's _expand_hostpattern does. Errors name file:line:col.
 */
json_t *inv_expand_hosts(const char *pattern, int *port, const char *file, int line, int col,
                         struct err *e);
/* Split "host:port" as Ansible's parse_address; 0 if there is no port. */
int inv_split_port(const char *s, char **host, int *port);

/* Would Ansible's parse_address(s, allow_ranges=True) accept s? */
int inv_valid_address(const char *s);
/* The implicit localhost for "localhost", "127.0.0.1" or "::1": an
 * existing localhost-like host, else a new implicit one. */
struct inv_host *inv_localhost(struct inventory *inv, const char *name);

/* Python's ast.literal_eval of s as a JSON value (new ref), or NULL when s
 * is not a literal (the caller keeps the text). */
json_t *inv_pyliteral(const char *s);

int inv_load_ini(struct inventory *inv, const char *path, const char *text, struct err *e);
int inv_load_yaml(struct inventory *inv, const char *path, const json_t *root, struct err *e);

/* Regular groups of a host, all ancestors included, sorted as Ansible's
 * sort_groups (depth, priority, name); `all` excluded. New array of names. */
json_t *inv_host_groups_sorted(const struct inventory *inv, const struct inv_host *h);

#endif
