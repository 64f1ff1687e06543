/*
 * Filters, part two: lists and dicts (map, select, sort, combine, flatten,
 * set operations, dictsort...), Jinja2 3.1 and ansible-core 2.14 semantics,
 * and Python's json.dumps for to_json. Also the lookup of a filter by name.
 */
#include "template/filters.h"
#include "util/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_str(const char *s, size_t n, struct buf *b)
{
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			i++;
		} else if (c == '\n') {
			buf_adds(b, "\\n"), i++;
		} else if (c == '\r') {
			buf_adds(b, "\\r"), i++;
		} else if (c == '\t') {
			buf_adds(b, "\\t"), i++;
		} else if (c == '\b') {
			buf_adds(b, "\\b"), i++;
		} else if (c == '\f') {
			buf_adds(b, "\\f"), i++;
		} else if (c < 0x20 || c == 0x7F) {
			buf_addf(b, "\\u%04x", c), i++;
		} else if (c < 0x80) {
			buf_addc(b, (char)c), i++;
		} else {
			/* ensure_ascii: code points as \uXXXX, astral ones as pairs */
			int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
			unsigned long v = extra == 3 ? c & 7u : extra == 2 ? c & 15u : c & 31u;
			if (i + (size_t)extra >= n) {
				buf_addf(b, "\\u%04x", c);
				i++;
				continue;
			}
			for (int j = 1; j <= extra; j++)
				v = (v << 6) | ((unsigned char)s[i + (size_t)j] & 63u);
			i += (size_t)extra + 1;
			if (v >= 0x10000) {
				v -= 0x10000;
				buf_addf(b, "\\u%04lx\\u%04lx", 0xD800 + (v >> 10),
				         0xDC00 + (v & 0x3FF));
			} else {
				buf_addf(b, "\\u%04lx", v);
			}
		}
	}
	buf_addc(b, '"');
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void newline_indent(struct buf *b, int indent, int level)
{
	buf_addc(b, '\n');
	for (int i = 0; i < indent * level; i++)
		buf_addc(b, ' ');
}

static void json_dump_at(const json_t *v, int indent, int sort, int level, struct buf *b)
{
	const char *isep = indent >= 0 ? "," : ", ";
	size_t i, n;
	json_t *x;
	if (json_is_array(v)) {
		if (!json_array_size(v)) {
			buf_adds(b, "[]");
			return;
		}
		buf_addc(b, '[');
		json_array_foreach (v, i, x) {
			if (i)
				buf_adds(b, isep);
			if (indent >= 0)
				newline_indent(b, indent, level + 1);
			json_dump_at(x, indent, sort, level + 1, b);
		}
		if (indent >= 0)
			newline_indent(b, indent, level);
		buf_addc(b, ']');
	} else if (json_is_object(v)) {
		n = json_object_size(v);
		if (!n) {
			buf_adds(b, "{}");
			return;
		}
		const char **keys = xmalloc(n * sizeof(*keys));
		const char *k;
		i = 0;
		json_object_foreach ((json_t *)v, k, x)
			keys[i++] = k;
		if (sort)
			qsort(keys, n, sizeof(*keys), cmp_keys);
		buf_addc(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				buf_adds(b, isep);
			if (indent >= 0)
				newline_indent(b, indent, level + 1);
			json_str(keys[i], strlen(keys[i]), b);
			buf_adds(b, ": ");
			json_dump_at(json_object_get(v, keys[i]), indent, sort, level + 1, b);
		}
		free(keys);
		if (indent >= 0)
			newline_indent(b, indent, level);
		buf_addc(b, '}');
	} else if (json_is_string(v)) {
		json_str(json_string_value(v), json_string_length(v), b);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (isnan(d))
			buf_adds(b, "NaN");
		else if (isinf(d))
			buf_adds(b, d > 0 ? "Infinity" : "-Infinity");
		else
			py_float_repr(d, b);
	} else if (json_is_integer(v)) {
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		buf_adds(b, json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
	}
}

void py_json_dump(const json_t *v, int indent, int sort_keys, struct buf *b)
{
	json_dump_at(v, indent, sort_keys, 0, b);
	buf_add(b, "", 0); /* allocates and NUL-terminates */
}

json_t *attr_path(const json_t *obj, const char *path)
{
	json_t *cur = json_incref((json_t *)obj);
	char *copy = xstrdup(path), *save = NULL;
	for (char *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		json_t *key;
		char *end;
		long long idx = strtoll(part, &end, 10);
		/* environment.getitem with an int first for numeric parts */
		if (*part && !*end && !json_is_object(cur))
			key = json_integer(idx);
		else
			key = tstrz(part);
		json_t *next = is_undef(cur) ? json_incref(cur) : tmpl_get_item(cur, key);
		json_decref(key);
		json_decref(cur);
		cur = next;
	}
	free(copy);
	return cur;
}

json_t *filter_apply(struct eval *ev, const char *name, json_t *in, json_t *args, json_t *kw)
{
	const struct filter_def *f = filter_find(name);
	if (!f) {
		eval_fail(ev, "No filter named '%s'.", name);
		return NULL;
	}
	if (!f->undef_ok && eval_check_defined(ev, in) < 0)
		return NULL;
	return f->fn(ev, in, args, kw);
}

int test_apply(struct eval *ev, const char *name, const json_t *in, json_t *args, int *out)
{
	const struct test_def *t = test_find(name);
	if (!t)
		return eval_fail(ev, "No test named '%s'.", name);
	if (!t->undef_ok && eval_check_defined(ev, in) < 0)
		return -1;
	return t->fn(ev, in, args, out);
}

/* args[from..] as a new list */
static json_t *rest(json_t *args, size_t from)
{
	json_t *r = json_array();
	for (size_t i = from; i < json_array_size(args); i++)
		json_array_append(r, json_array_get(args, i));
	return r;
}

static json_t *f_map(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *items = py_iter(ev, in), *out = json_array();
	const char *attr = arg_str(NULL, kw, 0, "attribute", NULL);
	json_t *def = json_object_get(kw, "default");
	const char *fname = arg_str(args, NULL, 0, NULL, NULL);
	json_t *fargs = rest(args, 1), *fkw = json_object();
	size_t i;
	json_t *x;
	if (!items)
		goto fail;
	if (!attr && !fname) {
		eval_fail(ev, "map requires a filter name or attribute=");
		goto fail;
	}
	json_array_foreach (items, i, x) {
		json_t *r;
		if (attr) {
			r = attr_path(x, attr);
			if (is_undef(r) && def) {
				json_decref(r);
				r = json_incref(def);
			}
		} else {
			r = filter_apply(ev, fname, x, fargs, fkw);
		}
		if (!r)
			goto fail;
		json_array_append_new(out, r);
	}
	json_decref(items);
	json_decref(fargs);
	json_decref(fkw);
	return out;
fail:
	json_decref(items);
	json_decref(fargs);
	json_decref(fkw);
	json_decref(out);
	return NULL;
}

/* select/reject/selectattr/rejectattr */
static json_t *select_common(struct eval *ev, json_t *in, json_t *args, int want, int by_attr)
{
	json_t *items = py_iter(ev, in), *out = json_array();
	size_t base = by_attr ? 1 : 0;
	const char *attr = by_attr ? arg_str(args, NULL, 0, NULL, NULL) : NULL;
	const char *test = arg_str(args, NULL, base, NULL, NULL);
	json_t *targs = rest(args, base + 1);
	size_t i;
	json_t *x;
	if (!items)
		goto fail;
	json_array_foreach (items, i, x) {
		json_t *v = attr ? attr_path(x, attr) : json_incref(x);
		int ok;
		if (test) {
			if (test_apply(ev, test, v, targs, &ok) < 0) {
				json_decref(v);
				goto fail;
			}
		} else if (is_undef(v)) {
			eval_fail_undef(ev, v);
			json_decref(v);
			goto fail;
		} else {
			ok = py_truthy(v);
		}
		json_decref(v);
		if (!!ok == want)
			json_array_append(out, x);
	}
	json_decref(items);
	json_decref(targs);
	return out;
fail:
	json_decref(items);
	json_decref(targs);
	json_decref(out);
	return NULL;
}

static json_t *f_select(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return select_common(ev, in, args, 1, 0);
}

static json_t *f_reject(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return select_common(ev, in, args, 0, 0);
}

static json_t *f_selectattr(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return select_common(ev, in, args, 1, 1);
}

static json_t *f_rejectattr(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return select_common(ev, in, args, 0, 1);
}

static json_t *f_first_last(struct eval *ev, json_t *in, int last)
{
	json_t *items = py_iter(ev, in);
	if (!items)
		return NULL;
	size_t n = json_array_size(items);
	json_t *r = n ? json_incref(json_array_get(items, last ? n - 1 : 0))
	              : undef_new("No %s item, sequence was empty.", last ? "last" : "first");
	json_decref(items);
	return r;
}

static json_t *f_first(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	return f_first_last(ev, in, 0);
}

static json_t *f_last(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	return f_first_last(ev, in, 1);
}

static void flatten_into(json_t *out, const json_t *l, long long levels, int skip_nulls)
{
	size_t i;
	json_t *x;
	json_array_foreach (l, i, x) {
		if (skip_nulls && (json_is_null(x) ||
		                   (json_is_string(x) && (!strcmp(json_string_value(x), "None") ||
		                                          !strcmp(json_string_value(x), "null")))))
			continue;
		if (json_is_array(x) && levels != 0)
			flatten_into(out, x, levels < 0 ? -1 : levels - 1, skip_nulls);
		else
			json_array_append(out, x);
	}
}

static json_t *f_flatten(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *lv = arg_get(args, kw, 0, "levels");
	if (!json_is_array(in)) {
		eval_fail(ev, "flatten expects a list, got '%s'", py_type_name(in));
		return NULL;
	}
	json_t *out = json_array();
	flatten_into(out, in, lv && !json_is_null(lv) ? num_ll(lv) : -1,
	             arg_bool(args, kw, 1, "skip_nulls", 1));
	return out;
}

static int in_list(const json_t *l, const json_t *v)
{
	size_t i;
	json_t *x;
	json_array_foreach (l, i, x)
		if (py_equal(x, v))
			return 1;
	return 0;
}

static json_t *merge_hash(const json_t *x, const json_t *y, int recursive, const char *lm)
{
	json_t *r = json_copy((json_t *)x);
	const char *k;
	json_t *yv;
	json_object_foreach ((json_t *)y, k, yv) {
		json_t *xv = json_object_get(r, k);
		if (xv && recursive && json_is_object(xv) && json_is_object(yv)) {
			json_object_set_new(r, k, merge_hash(xv, yv, recursive, lm));
		} else if (xv && json_is_array(xv) && json_is_array(yv) && strcmp(lm, "replace")) {
			json_t *nl = json_array();
			int prepend = !strncmp(lm, "prepend", 7), rp = strstr(lm, "_rp") != NULL;
			size_t i;
			json_t *z;
			if (!strcmp(lm, "keep")) {
				json_decref(nl);
				continue;
			}
			if (prepend)
				json_array_extend(nl, yv);
			json_array_foreach (xv, i, z)
				if (!rp || !in_list(yv, z))
					json_array_append(nl, z);
			if (!prepend)
				json_array_extend(nl, yv);
			json_object_set_new(r, k, nl);
		} else {
			json_object_set(r, k, yv);
		}
	}
	return r;
}

static json_t *f_combine(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	int recursive = json_is_true(json_object_get(kw, "recursive"));
	const char *lm = arg_str(NULL, kw, 0, "list_merge", "replace");
	json_t *terms = json_pack("[O]", in), *dicts = json_array(), *r = NULL;
	json_array_extend(terms, args);
	flatten_into(dicts, terms, 1, 0);
	size_t i;
	json_t *d;
	static const char *const modes[] = {"replace",   "keep",       "append", "prepend",
	                                    "append_rp", "prepend_rp", NULL};
	int ok = 0;
	for (int m = 0; modes[m]; m++)
		ok |= !strcmp(lm, modes[m]);
	if (!ok) {
		eval_fail(ev, "merge_hash: 'list_merge' argument can only be equal to 'replace', "
		              "'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'");
		goto out;
	}
	r = json_object();
	json_array_foreach (dicts, i, d) {
		if (!json_is_object(d)) {
			eval_fail(ev, "failed to combine variables, expected dicts but got a '%s'",
			          py_type_name(d));
			json_decref(r);
			r = NULL;
			goto out;
		}
		json_t *m = merge_hash(r, d, recursive, lm);
		json_decref(r);
		r = m;
	}
out:
	json_decref(terms);
	json_decref(dicts);
	return r;
}

/* Jinja's sort key: attribute, then lowercase strings unless case_sensitive. */
json_t *filter_sort_key(const json_t *x, const char *attr, int cs)
{
	json_t *k = attr ? attr_path(x, attr) : json_incref((json_t *)x);
	if (!cs && json_is_string(k)) {
		char *s = xstrdup(json_string_value(k));
		for (char *p = s; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		json_decref(k);
		k = tstrz(s);
		free(s);
	}
	return k;
}

/* Stable merge sort of items by keys; -1 with ev->e on incomparable types. */
static int msort(struct eval *ev, json_t **items, json_t **keys, size_t n, int reverse)
{
	if (n < 2)
		return 0;
	size_t h = n / 2;
	if (msort(ev, items, keys, h, reverse) < 0 ||
	    msort(ev, items + h, keys + h, n - h, reverse) < 0)
		return -1;
	json_t **ti = xmalloc(n * sizeof(*ti)), **tk = xmalloc(n * sizeof(*tk));
	size_t a = 0, b = h, k = 0;
	int rc = 0;
	while (a < h && b < n) {
		int c;
		if (py_compare(ev, keys[b], keys[a], &c) < 0) {
			rc = -1;
			break;
		}
		int take_b = reverse ? c > 0 : c < 0;
		ti[k] = take_b ? items[b] : items[a];
		tk[k++] = take_b ? keys[b++] : keys[a++];
	}
	if (rc == 0) {
		for (; a < h; a++, k++)
			ti[k] = items[a], tk[k] = keys[a];
		for (; b < n; b++, k++)
			ti[k] = items[b], tk[k] = keys[b];
		memcpy(items, ti, n * sizeof(*ti));
		memcpy(keys, tk, n * sizeof(*tk));
	}
	free(ti);
	free(tk);
	return rc;
}

static json_t *sorted(struct eval *ev, json_t *list, const char *attr, int cs, int reverse)
{
	size_t n = json_array_size(list);
	json_t **items = xmalloc((n + 1) * sizeof(*items)),
	       **keys = xmalloc((n + 1) * sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		items[i] = json_array_get(list, i);
		keys[i] = filter_sort_key(items[i], attr, cs);
	}
	json_t *out = NULL;
	if (msort(ev, items, keys, n, reverse) == 0) {
		out = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(out, items[i]);
	}
	for (size_t i = 0; i < n; i++)
		json_decref(keys[i]);
	free(items);
	free(keys);
	return out;
}

static json_t *f_sort(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *items = py_iter(ev, in);
	if (!items)
		return NULL;
	json_t *r =
	    sorted(ev, items, arg_str(args, kw, 2, "attribute", NULL),
	           arg_bool(args, kw, 1, "case_sensitive", 0), arg_bool(args, kw, 0, "reverse", 0));
	json_decref(items);
	return r;
}

static json_t *unique_list(json_t *items, int cs, const char *attr)
{
	json_t *out = json_array(), *seen = json_array();
	size_t i;
	json_t *x;
	json_array_foreach (items, i, x) {
		json_t *k = filter_sort_key(x, attr, cs);
		if (!in_list(seen, k)) {
			json_array_append(seen, k);
			json_array_append(out, x);
		}
		json_decref(k);
	}
	json_decref(seen);
	return out;
}

static json_t *f_unique(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *items = py_iter(ev, in);
	if (!items)
		return NULL;
	json_t *r = unique_list(items, arg_bool(args, kw, 0, "case_sensitive", 0),
	                        arg_str(args, kw, 1, "attribute", NULL));
	json_decref(items);
	return r;
}

/* difference, intersect, union, symmetric_difference over lists */
static json_t *set_op(struct eval *ev, json_t *in, json_t *args, int op)
{
	json_t *a = py_iter(ev, in), *b = NULL, *tmp = json_array(), *r = NULL;
	json_t *other = json_array_get(args, 0);
	size_t i;
	json_t *x;
	if (!a || !other || !(b = py_iter(ev, other)))
		goto out;
	if (op == 'u') {
		json_array_extend(tmp, a);
		json_array_extend(tmp, b);
	} else if (op == 's') {
		json_array_foreach (a, i, x)
			if (!in_list(b, x))
				json_array_append(tmp, x);
		json_array_foreach (b, i, x)
			if (!in_list(a, x))
				json_array_append(tmp, x);
	} else {
		json_array_foreach (a, i, x)
			if (in_list(b, x) == (op == 'i'))
				json_array_append(tmp, x);
	}
	r = unique_list(tmp, 1, NULL);
out:
	if (!r && !ev->e->code)
		eval_fail(ev, "this filter needs a list argument");
	json_decref(a);
	json_decref(b);
	json_decref(tmp);
	return r;
}

static json_t *f_difference(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return set_op(ev, in, args, 'd');
}

static json_t *f_intersect(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return set_op(ev, in, args, 'i');
}

static json_t *f_union(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return set_op(ev, in, args, 'u');
}

static json_t *f_symdiff(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return set_op(ev, in, args, 's');
}

static json_t *f_join(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *sep = arg_str(args, kw, 0, "d", "");
	const char *attr = arg_str(args, kw, 1, "attribute", NULL);
	json_t *items = py_iter(ev, in);
	if (!items)
		return NULL;
	struct buf b = BUF_INIT;
	size_t i;
	json_t *x;
	json_array_foreach (items, i, x) {
		json_t *v = attr ? attr_path(x, attr) : json_incref(x);
		if (is_undef(v)) {
			eval_fail_undef(ev, v);
			json_decref(v);
			json_decref(items);
			buf_release(&b);
			return NULL;
		}
		if (i)
			buf_adds(&b, sep);
		py_str(v, &b);
		json_decref(v);
		if (b.len > MAX_TEXT) {
			json_decref(items);
			buf_release(&b);
			eval_fail(ev, "the joined text would be too large (over %ld bytes)",
			          MAX_TEXT);
			return NULL;
		}
	}
	json_decref(items);
	return str_result(&b);
}

static json_t *f_dictsort(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	if (!json_is_object(in)) {
		eval_fail(ev, "dictsort expects a dict, got '%s'", py_type_name(in));
		return NULL;
	}
	int cs = arg_bool(args, kw, 0, "case_sensitive", 0);
	const char *by = arg_str(args, kw, 1, "by", "key");
	int reverse = arg_bool(args, kw, 2, "reverse", 0);
	json_t *pairs = json_array();
	const char *k;
	json_t *v;
	json_object_foreach (in, k, v)
		json_array_append_new(pairs, json_pack("[sO]", k, v));
	json_t *r = sorted(ev, pairs, strcmp(by, "value") ? "0" : "1", cs, reverse);
	json_decref(pairs);
	return r;
}

static json_t *f_dict2items(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	if (!json_is_object(in)) {
		eval_fail(ev, "dict2items requires a dictionary, got <class '%s'> instead.",
		          py_type_name(in));
		return NULL;
	}
	const char *kn = arg_str(args, kw, 0, "key_name", "key");
	const char *vn = arg_str(args, kw, 1, "value_name", "value");
	json_t *out = json_array();
	const char *k;
	json_t *v;
	json_object_foreach (in, k, v)
		json_array_append_new(out, json_pack("{sssO}", kn, k, vn, v));
	return out;
}

static json_t *f_items2dict(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *kn = arg_str(args, kw, 0, "key_name", "key");
	const char *vn = arg_str(args, kw, 1, "value_name", "value");
	if (!json_is_array(in)) {
		eval_fail(ev, "items2dict requires a list, got <class '%s'> instead.",
		          py_type_name(in));
		return NULL;
	}
	json_t *out = json_object();
	size_t i;
	json_t *x;
	json_array_foreach (in, i, x) {
		json_t *k = json_object_get(x, kn), *v = json_object_get(x, vn);
		if (!json_is_object(x) || !k || !v) {
			eval_fail(ev,
			          "items2dict requires each dictionary in the list to contain "
			          "the keys '%s' and '%s'",
			          kn, vn);
			json_decref(out);
			return NULL;
		}
		char *ks = py_str_dup(k);
		json_object_set(out, ks, v);
		free(ks);
	}
	return out;
}

const struct filter_def filters_data[] = {
    {"map", f_map, 0},
    {"select", f_select, 0},
    {"reject", f_reject, 0},
    {"selectattr", f_selectattr, 0},
    {"rejectattr", f_rejectattr, 0},
    {"first", f_first, 0},
    {"last", f_last, 0},
    {"flatten", f_flatten, 0},
    {"combine", f_combine, 0},
    {"sort", f_sort, 0},
    {"unique", f_unique, 0},
    {"difference", f_difference, 0},
    {"intersect", f_intersect, 0},
    {"union", f_union, 0},
    {"symmetric_difference", f_symdiff, 0},
    {"join", f_join, 0},
    {"dictsort", f_dictsort, 0},
    {"dict2items", f_dict2items, 0},
    {"items2dict", f_items2dict, 0},
    {NULL, NULL, 0},
};

const struct filter_def *filter_find(const char *name)
{
	const struct filter_def *tables[] = {filters_core, filters_data, filters_seq,
	                                     filters_regex};
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct filter_def *f = tables[t]; f->name; f++)
			if (!strcmp(f->name, name))
				return f;
	return NULL;
}
