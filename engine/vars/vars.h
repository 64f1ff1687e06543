/*
 * vars.h - a host's variables for one task, layered in Ansible's precedence
 * order, plus the magic variables and -e parsing.
 *
 * The executor fills a vars_stack (borrowed layers, any may be NULL) and
 * vars_merge() flattens it: a later layer replaces a top-level key of an
 * earlier one (Ansible's hash_behaviour=replace). Values keep their
 * templates; the template engine renders them lazily when they are read, so
 * a play var may use a host var and a cycle is caught there.
 */
#ifndef DROVER_VARS_H
#define DROVER_VARS_H

#include <jansson.h>

#include "util/err.h"

/* Lowest first; see ../shared/reference/ansible.md. */
enum vars_layer {
	VL_CLI,           /* command-line values such as -u */
	VL_ROLE_DEFAULTS, /* defaults/ of the task's role (and its parents) */
	VL_INVENTORY,     /* inventory vars, group_vars/, host_vars/ (merged) */
	VL_FACTS,         /* ansible_facts.x, also as ansible_x */
	VL_PLAY,          /* play vars */
	VL_VARS_PROMPT,
	VL_VARS_FILES,
	VL_ROLE_VARS,
	VL_BLOCK, /* vars of enclosing blocks, outermost first (merged) */
	VL_TASK,
	VL_INCLUDE_VARS,
	VL_HOST, /* set_fact and registered results */
	VL_ROLE_PARAMS,
	VL_INCLUDE_PARAMS,
	VL_EXTRA, /* -e: always wins */
	VL_MAGIC, /* inventory_hostname, groups, hostvars, ... */
	VL_N,
};

struct vars_stack {
	const json_t *layer[VL_N];
};

/* Flatten the stack into a new dict. Facts are added both as
 * ansible_facts and as ansible_<name>. */
json_t *vars_merge(const struct vars_stack *s);

/* Parse the -e values in order (k=v strings, JSON/YAML text, @file) into
 * one dict (new reference), or NULL with e set. */
json_t *vars_parse_extra(char *const *values, int n, struct err *e);

/* The omit placeholder; args equal to it are dropped (vars_strip_omit). */
extern const char vars_omit[];
/* Remove dict entries whose value is the omit placeholder (recursively in
 * dicts). Returns v. */
json_t *vars_strip_omit(json_t *v);

/* {"full": "2.14.18", "major": 2, ...}, new reference. */
json_t *vars_ansible_version(void);

/* Load a vars file (vars_files, include_vars): a dict or an error naming
 * the file. New reference. */
json_t *vars_load_file(const char *path, struct err *e);

#endif
