/*
 * Variable layers, -e parsing and the small fixed values Ansible exposes.
 */
#include "vars/vars.h"
#include "playbook/playbook.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <string.h>

const char vars_omit[] = "__omit_place_holder__d1ed16f5b8ac2d3ee6bd8d82e6ed1e4c7d4a3c1f";

static void add_facts(json_t *out, const json_t *facts)
{
	const char *k;
	json_t *v;
	json_t *cur = json_object_get(out, "ansible_facts");
	json_t *all = cur ? json_deep_copy(cur) : json_object();
	json_object_update(all, (json_t *)facts);
	json_object_foreach ((json_t *)facts, k, v) {
		if (str_startswith(k, "ansible_"))
			json_object_set(out, k, v);
		else {
			char *n = xasprintf("ansible_%s", k);
			json_object_set(out, n, v);
			free(n);
		}
	}
	json_object_set_new(out, "ansible_facts", all);
}

json_t *vars_merge(const struct vars_stack *s)
{
	json_t *out = json_object();
	for (int i = 0; i < VL_N; i++) {
		const json_t *l = s->layer[i];
		if (!json_is_object(l))
			continue;
		if (i == VL_FACTS)
			add_facts(out, l);
		else
			json_object_update(out, (json_t *)l);
	}
	return out;
}

static json_t *extra_one(const char *s, struct err *e)
{
	json_t *v;
	if (s[0] == '@') {
		v = yaml_load_file(s + 1, e);
		if (v && json_is_null(v)) {
			json_decref(v);
			v = json_object();
		}
	} else if (s[0] == '{' || s[0] == '[') {
		v = yaml_load_str(s, strlen(s), NULL, e);
		if (!v)
			err_prefix(e, "-e '%s'", s);
	} else {
		v = pb_parse_kv(s, 0, e);
		if (v && json_object_get(v, "_raw_params")) {
			err_set(e, ERR_GENERIC, NULL, 0, 0,
			        "-e '%s': extra vars must be k=v pairs, JSON/YAML text, or @file",
			        s);
			json_decref(v);
			return NULL;
		}
	}
	if (v && !json_is_object(v)) {
		err_set(e, ERR_GENERIC, NULL, 0, 0,
		        "-e '%s': extra vars must be a dict of variables", s);
		json_decref(v);
		v = NULL;
	}
	return v;
}

json_t *vars_parse_extra(char *const *values, int n, struct err *e)
{
	json_t *out = json_object();
	for (int i = 0; i < n; i++) {
		json_t *v = extra_one(values[i], e);
		if (!v) {
			json_decref(out);
			return NULL;
		}
		json_object_update(out, v);
		json_decref(v);
	}
	return out;
}

json_t *vars_strip_omit(json_t *v)
{
	const char *k;
	json_t *x;
	void *tmp;
	if (json_is_object(v)) {
		json_object_foreach_safe (v, tmp, k, x) {
			if (json_is_string(x) && !strcmp(json_string_value(x), vars_omit))
				json_object_del(v, k);
			else
				vars_strip_omit(x);
		}
	}
	return v;
}

json_t *vars_ansible_version(void)
{
	return json_pack("{ss si si si ss}", "full", "2.14.18", "major", 2, "minor", 14, "revision",
	                 18, "string", "2.14.18");
}

json_t *vars_load_file(const char *path, struct err *e)
{
	json_t *v = yaml_load_file(path, e);
	if (v && json_is_null(v)) {
		json_decref(v);
		return json_object();
	}
	if (v && !json_is_object(v)) {
		err_set(e, ERR_PARSE, path, 1, 1, "%s must contain a dict of variables", path);
		json_decref(v);
		return NULL;
	}
	return v;
}
