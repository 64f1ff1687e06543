/*
 * yaml.h - YAML documents as Jansson values, in Ansible's dialect.
 *
 * The loader follows PyYAML's YAML 1.1 resolver, which is what Ansible
 * uses: plain scalars yes/no/on/off/true/false (in lower, Title or UPPER
 * case) are booleans, ~/null/empty are null, 0644 is octal, 0x1F hex,
 * 1:30 sexagesimal, 1.5 a float (a dot is required: 1e3 stays a string),
 * everything else and every quoted scalar is a string. 0o644 is a string
 * there, as in Ansible; modules that take modes parse it.
 *
 * Anchors, aliases and merge keys (<<) are resolved; an alias shares the
 * anchored value (treat loaded values as immutable: copy before changing).
 * Duplicate keys: the last wins, with a warning naming the line.
 * `!unsafe` strings are marked (yaml_is_unsafe) and never templated; `!vault`
 * is an error.
 *
 * Positions: when a name is given, every string, number, array and object of
 * the result is recorded with its file:line:col (1-based) in a process-wide
 * table that holds a reference to it until srcpos_free_all(). Booleans and
 * null are Jansson singletons and have no position of their own: use the
 * position of their key (srcpos_key).
 */
#ifndef DROVER_YAML_H
#define DROVER_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct srcpos {
	const char *file; /* interned; valid until srcpos_free_all() */
	int line, col;
};

/* New reference, or NULL with e set (file:line:col and libyaml's text). */
json_t *yaml_load_file(const char *path, struct err *e);
/* name NULL: no positions are recorded (for from_yaml and other data). */
json_t *yaml_load_str(const char *text, size_t len, const char *name, struct err *e);

int srcpos_get(const json_t *v, struct srcpos *out); /* 0, or -1 unknown */
int srcpos_key(const json_t *obj, const char *key, struct srcpos *out);
/* Record a position by hand (for values built from INI and the like). */
void srcpos_set(json_t *v, const char *file, int line, int col);
int yaml_is_unsafe(const json_t *v);
void yaml_mark_unsafe(json_t *v);
void srcpos_free_all(void);

/*
 * YAML output as PyYAML's safe_dump(default_flow_style=False) writes it,
 * with the given indent (Ansible's to_nice_yaml uses 4, to_yaml and
 * ansible-inventory --yaml 2). Appends to out.
 */
void yaml_dump(const json_t *v, int indent, struct buf *out);

#endif
