/*
 * YAML (and JSON) inventories: `all: {hosts, vars, children}` to any depth,
 * read as Ansible's yaml plugin reads them. A group's keys are taken in the
 * order written; a host key may be a range with a port.
 */
#include "inventory/inv_int.h"
#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <string.h>

struct yinv {
	struct inventory *inv;
	const char *path;
	struct err *e;
};

/* Position of obj[key] for messages: the key's, else the file's start. */
static void where(const json_t *obj, const char *key, int *line, int *col)
{
	struct srcpos sp;
	*line = 1;
	*col = 1;
	if ((key && !srcpos_key(obj, key, &sp)) || (!key && !srcpos_get(obj, &sp))) {
		*line = sp.line;
		*col = sp.col;
	}
}

#define Y_ERR(obj, key, ...)                                                                       \
	do {                                                                                       \
		int l_, c_;                                                                        \
		where(obj, key, &l_, &c_);                                                         \
		err_set(y->e, ERR_PARSE, y->path, l_, c_, __VA_ARGS__);                            \
	} while (0)

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "a number";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "something else";
	}
}

static int parse_group(struct yinv *y, const char *name, const json_t *data, const json_t *parent,
                       int depth);

static int parse_hosts(struct yinv *y, const char *group, const json_t *hosts)
{
	const char *pat;
	json_t *hv;
	json_object_foreach ((json_t *)hosts, pat, hv) {
		int line, col, port;
		where(hosts, pat, &line, &col);
		if (!json_is_object(hv) && !json_is_null(hv)) {
			Y_ERR(hosts, pat,
			      "host '%s' in group '%s' must map to its variables (a mapping) or "
			      "nothing, not %s",
			      pat, group, type_name(hv));
			return y->e->code;
		}
		json_t *names = inv_expand_hosts(pat, &port, y->path, line, col, y->e);
		if (!names)
			return y->e->code;
		size_t i;
		json_t *n;
		json_array_foreach (names, i, n) {
			struct inv_host *h = inv_add_host(y->inv, json_string_value(n), group);
			if (port)
				inv_host_set(h, "ansible_port", json_integer(port));
			if (json_is_object(hv))
				json_object_update(h->vars, hv);
		}
		json_decref(names);
	}
	return 0;
}

static int parse_section(struct yinv *y, const char *group, const char *key, const json_t *v,
                         int depth)
{
	if (!strcmp(key, "vars")) {
		const char *k;
		json_t *val;
		json_object_foreach ((json_t *)v, k, val) {
			int line, col;
			where(v, k, &line, &col);
			if (inv_group_set(inv_add_group(y->inv, group), k, val, y->path, line, col,
			                  y->e))
				return y->e->code;
		}
		return 0;
	}
	if (!strcmp(key, "children")) {
		const char *k;
		json_t *val;
		json_object_foreach ((json_t *)v, k, val) {
			if (parse_group(y, k, val, v, depth + 1))
				return y->e->code;
			int line, col;
			where(v, k, &line, &col);
			if (inventory_group(y->inv, k) &&
			    inv_add_child(y->inv, group, k, y->path, line, col, y->e))
				return y->e->code;
		}
		return 0;
	}
	return parse_hosts(y, group, v);
}

static int parse_group(struct yinv *y, const char *name, const json_t *data, const json_t *parent,
                       int depth)
{
	if (depth > 100) {
		Y_ERR(parent, name, "groups nest deeper than 100 levels");
		return y->e->code;
	}
	if (!json_is_object(data) && !json_is_null(data)) {
		int line, col;
		where(parent, name, &line, &col);
		log_warn("%s:%d:%d: skipping '%s' as this is not a valid group definition", y->path,
		         line, col, name);
		return 0;
	}
	inv_add_group(y->inv, name);
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)data, key, v) {
		int known =
		    !strcmp(key, "vars") || !strcmp(key, "children") || !strcmp(key, "hosts");
		if (known && !json_is_object(v) && !json_is_null(v) && !json_is_string(v)) {
			Y_ERR(data, key, "the '%s' entry of group '%s' must be a mapping, not %s",
			      key, name, type_name(v));
			return y->e->code;
		}
		if (!known) {
			int line, col;
			where(data, key, &line, &col);
			log_warn("%s:%d:%d: skipping unexpected key (%s) in group (%s), only "
			         "\"vars\", \"children\" and \"hosts\" are valid",
			         y->path, line, col, key, name);
			continue;
		}
		if (json_is_null(v))
			continue;
		if (json_is_string(v)) {
			/* `hosts: web1` means {web1: null}, as Ansible reads it */
			json_t *one = json_object();
			json_object_set_new(one, json_string_value(v), json_null());
			int rc = parse_section(y, name, key, one, depth);
			json_decref(one);
			if (rc)
				return rc;
			continue;
		}
		if (parse_section(y, name, key, v, depth))
			return y->e->code;
	}
	return 0;
}

int inv_load_yaml(struct inventory *inv, const char *path, const json_t *root, struct err *e)
{
	struct yinv y = {inv, path, e};
	if (json_object_get(root, "plugin")) {
		err_set(e, ERR_PARSE, path, 1, 1,
		        "this is an inventory plugin configuration ('plugin:' key); drover reads "
		        "only INI and YAML inventories");
		return e->code;
	}
	const char *name;
	json_t *data;
	json_object_foreach ((json_t *)root, name, data) {
		if (parse_group(&y, name, data, root, 0))
			return e->code;
	}
	return 0;
}
