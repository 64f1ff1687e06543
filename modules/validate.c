/*
 * validate.c - module_validate: args checked and coerced against a module's
 * argspec the way Ansible's AnsibleModule does it, so every module sees
 * clean, typed values and users get Ansible's messages.
 */
#include "modules/module.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/mem.h"
#include "yaml/yaml.h"

static const char *type_name(enum arg_type t)
{
	static const char *const names[] = {"str",  "int",  "float", "bool", "list",
	                                    "dict", "path", "raw",   "mode"};
	return names[t];
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "str";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_ARRAY:
		return "list";
	case JSON_OBJECT:
		return "dict";
	default:
		return "NoneType";
	}
}

/* Python's str() of a scalar, as Ansible turns numbers and bools into text. */
static json_t *to_str(const json_t *v)
{
	char tmp[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_incref((json_t *)v);
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		return json_string(tmp);
	case JSON_REAL:
		snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
		if (!strpbrk(tmp, ".en"))
			strcat(tmp, ".0");
		return json_string(tmp);
	case JSON_TRUE:
		return json_string("True");
	case JSON_FALSE:
		return json_string("False");
	default:
		return NULL;
	}
}

static json_t *to_bool(const json_t *v)
{
	static const char *const yes[] = {"y", "yes", "on", "1", "true", "t", NULL};
	static const char *const no[] = {"n", "no", "off", "0", "false", "f", NULL};
	if (json_is_boolean(v))
		return json_incref((json_t *)v);
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
		return json_boolean(json_integer_value(v));
	if (json_is_real(v) && (json_real_value(v) == 0.0 || json_real_value(v) == 1.0))
		return json_boolean(json_real_value(v) == 1.0);
	const char *s = json_string_value(v);
	for (int i = 0; s && yes[i]; i++)
		if (!strcasecmp(s, yes[i]))
			return json_true();
	for (int i = 0; s && no[i]; i++)
		if (!strcasecmp(s, no[i]))
			return json_false();
	return NULL;
}

static json_t *to_int(const json_t *v)
{
	if (json_is_integer(v))
		return json_incref((json_t *)v);
	if (json_is_real(v)) {
		double d = json_real_value(v);
		return d == floor(d) ? json_integer((json_int_t)d) : NULL;
	}
	const char *s = json_string_value(v);
	if (!s)
		return NULL;
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (errno || end == s || *end)
		return NULL;
	return json_integer(n);
}

static json_t *to_float(const json_t *v)
{
	if (json_is_number(v))
		return json_real(json_number_value(v));
	const char *s = json_string_value(v);
	if (!s)
		return NULL;
	char *end;
	double d = strtod(s, &end);
	return end != s && !*end ? json_real(d) : NULL;
}

static json_t *to_list(const json_t *v)
{
	if (json_is_array(v))
		return json_incref((json_t *)v);
	if (json_is_string(v)) {
		json_t *l = json_array();
		const char *s = json_string_value(v);
		if (!*s)
			return l;
		for (;;) {
			const char *c = strchr(s, ',');
			json_array_append_new(l, c ? json_stringn(s, (size_t)(c - s))
			                           : json_string(s));
			if (!c)
				break;
			s = c + 1;
		}
		return l;
	}
	if (json_is_number(v)) {
		json_t *l = json_array();
		json_array_append_new(l, to_str(v));
		return l;
	}
	return NULL;
}

/* "k=v k2='a b'" or JSON text, as Ansible's check_type_dict reads it. */
static json_t *to_dict(const json_t *v)
{
	if (json_is_object(v))
		return json_incref((json_t *)v);
	const char *s = json_string_value(v);
	if (!s)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '{')
		return json_loads(s, 0, NULL);
	json_t *d = json_object();
	struct buf key = BUF_INIT, val = BUF_INIT;
	while (*s) {
		while (isspace((unsigned char)*s) || *s == ',')
			s++;
		if (!*s)
			break;
		buf_reset(&key);
		buf_reset(&val);
		while (*s && *s != '=' && !isspace((unsigned char)*s))
			buf_addc(&key, *s++);
		if (*s != '=') {
			json_decref(d);
			d = NULL;
			break;
		}
		s++;
		char q = 0;
		for (; *s; s++) {
			if (q) {
				if (*s == q)
					q = 0;
				else
					buf_addc(&val, *s);
			} else if (*s == '\'' || *s == '"') {
				q = *s;
			} else if (isspace((unsigned char)*s) || *s == ',') {
				break;
			} else {
				buf_addc(&val, *s);
			}
		}
		json_object_set_new(d, buf_str(&key), json_string(buf_str(&val)));
	}
	buf_release(&key);
	buf_release(&val);
	return d;
}

static json_t *coerce(enum arg_type t, const json_t *v)
{
	switch (t) {
	case ARG_STR:
	case ARG_PATH:
		return to_str(v);
	case ARG_INT:
		return to_int(v);
	case ARG_FLOAT:
		return to_float(v);
	case ARG_BOOL:
		return to_bool(v);
	case ARG_LIST:
		return to_list(v);
	case ARG_DICT:
		return to_dict(v);
	case ARG_MODE:
		return json_is_string(v) || json_is_integer(v) ? json_incref((json_t *)v) : NULL;
	case ARG_RAW:
		return json_incref((json_t *)v);
	}
	return NULL;
}

static int has_alias(const char *aliases, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = aliases; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && !strncmp(p, name, n))
			return 1;
		p = c ? c + 1 : NULL;
	}
	return 0;
}

static const struct module_arg *find_arg(const struct module_def *m, const char *key)
{
	for (const struct module_arg *a = m->args; a && a->name; a++)
		if (!strcmp(a->name, key) || has_alias(a->aliases, key))
			return a;
	return NULL;
}

/* "a, b (alias), c" sorted as Ansible lists them. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_supported(const struct module_def *m, struct buf *out)
{
	int n = 0;
	for (const struct module_arg *a = m->args; a && a->name; a++)
		n++;
	char **names = xcalloc((size_t)n + 1, sizeof(*names));
	for (int i = 0; i < n; i++)
		names[i] = m->args[i].aliases
		               ? xasprintf("%s (%s)", m->args[i].name, m->args[i].aliases)
		               : xstrdup(m->args[i].name);
	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	for (int i = 0; i < n; i++) {
		buf_addf(out, "%s%s", i ? ", " : "", names[i]);
		free(names[i]);
	}
	free(names);
}

static int verr(struct err *e, const json_t *args, const char *key, const char *fmt, const char *a1,
                const char *a2, const char *a3)
{
	struct srcpos pos = {0};
	if (!key || srcpos_key(args, key, &pos) < 0)
		memset(&pos, 0, sizeof(pos));
	return err_set(e, ERR_GENERIC, pos.file, pos.line, pos.col, fmt, a1, a2, a3);
}

/* Ansible's words for a value that would not convert. */
static int type_error(struct err *e, const json_t *args, const struct module_arg *a,
                      const json_t *v)
{
	char cls[32], why[256];
	snprintf(cls, sizeof(cls), "<class '%s'>", json_type_name(v));
	if (a->type == ARG_BOOL && json_is_string(v))
		snprintf(why, sizeof(why),
		         "The value '%.100s' is not a valid boolean. Valid booleans include: yes, "
		         "no, true, false, on, off, y, n, 1, 0",
		         json_string_value(v));
	else
		snprintf(why, sizeof(why), "%s cannot be converted to %s %s", cls,
		         a->type == ARG_INT ? "an" : "a", type_name(a->type));
	char msg[512];
	snprintf(msg, sizeof(msg),
	         "argument '%s' is of type %s and we were unable to convert to %s", a->name, cls,
	         type_name(a->type));
	return verr(e, args, a->name, "%s: %s%s", msg, why, "");
}

static int internal_key(const struct module_def *m, const char *key)
{
	if (!strncmp(key, "_ansible_", 9))
		return 1;
	return (m->flags & MOD_RAW_PARAMS) && !strcmp(key, "_raw_params");
}

static int check_unknown(const struct module_def *m, const json_t *args, struct err *e)
{
	struct buf bad = BUF_INIT, ok = BUF_INIT;
	const char *key;
	json_t *v;
	int ret = 0;
	json_object_foreach ((json_t *)args, key, v) {
		if (find_arg(m, key) || internal_key(m, key))
			continue;
		buf_addf(&bad, "%s%s", bad.len ? ", " : "", key);
	}
	if (bad.len) {
		list_supported(m, &ok);
		ret = verr(e, args, NULL,
		           "Unsupported parameters for (%s) module: %s. Supported parameters "
		           "include: %s.",
		           m->name, buf_str(&bad), ok.len ? buf_str(&ok) : "(none)");
	}
	buf_release(&bad);
	buf_release(&ok);
	return ret;
}

static int check_choice(const struct module_def *m, const struct module_arg *a, const json_t *v,
                        const json_t *args, struct err *e)
{
	struct buf list = BUF_INIT;
	json_t *s = NULL;
	int ret = 0;
	(void)m;
	if (!a->choices || json_is_null(v))
		return 0;
	if (json_is_array(v)) {
		size_t i;
		json_t *it;
		json_array_foreach (v, i, it) {
			if ((ret = check_choice(m, a, it, args, e)) < 0)
				return ret;
		}
		return 0;
	}
	s = to_str(v);
	for (int i = 0; a->choices[i]; i++) {
		if (s && !strcmp(a->choices[i], json_string_value(s)))
			goto out;
		buf_addf(&list, "%s%s", i ? ", " : "", a->choices[i]);
	}
	ret = verr(e, args, a->name, "value of %s must be one of: %s, got: %s", a->name,
	           buf_str(&list), s ? json_string_value(s) : json_type_name(v));
out:
	json_decref(s);
	buf_release(&list);
	return ret;
}

static int set_default(const struct module_arg *a, json_t *out, struct err *e)
{
	json_error_t je;
	json_t *d = json_loads(a->def, JSON_DECODE_ANY, &je);
	if (!d)
		return err_set(e, ERR_INTERNAL, NULL, 0, 0, "bad default for %s: %s", a->name,
		               je.text);
	json_object_set_new(out, a->name, d);
	return 0;
}

int module_validate(const struct module_def *m, const json_t *args, json_t **out, struct err *e)
{
	json_t *res = json_object();
	struct buf missing = BUF_INIT;
	const char *key;
	json_t *v;
	int ret = 0;

	*out = NULL;
	if (args && !json_is_object(args)) {
		ret = err_set(e, ERR_GENERIC, NULL, 0, 0, "args for module %s must be a dict",
		              m->name);
		goto out;
	}
	if (!(m->flags & MOD_ANY_ARGS) && args && (ret = check_unknown(m, args, e)) < 0)
		goto out;
	json_object_foreach ((json_t *)args, key, v) {
		const struct module_arg *a = find_arg(m, key);
		json_t *c;
		if (!a) {
			json_object_set(res, key, v);
			continue;
		}
		if (json_is_null(v))
			continue;
		if (!(c = coerce(a->type, v))) {
			ret = type_error(e, args, a, v);
			goto out;
		}
		json_object_set_new(res, a->name, c);
		if ((ret = check_choice(m, a, c, args, e)) < 0)
			goto out;
	}
	for (const struct module_arg *a = m->args; a && a->name; a++) {
		if (json_object_get(res, a->name))
			continue;
		if (a->required)
			buf_addf(&missing, "%s%s", missing.len ? ", " : "", a->name);
		else if (a->def && (ret = set_default(a, res, e)) < 0)
			goto out;
	}
	if (missing.len) {
		ret = err_set(e, ERR_GENERIC, NULL, 0, 0, "missing required arguments: %s",
		              buf_str(&missing));
		goto out;
	}
	*out = json_incref(res);
out:
	json_decref(res);
	buf_release(&missing);
	return ret;
}

json_t *module_nolog_values(const struct module_def *m, const json_t *args)
{
	json_t *l = json_array();
	for (const struct module_arg *a = m->args; a && a->name; a++) {
		json_t *v = json_object_get(args, a->name);
		if (a->no_log && json_is_string(v) && *json_string_value(v))
			json_array_append(l, v);
	}
	return l;
}
