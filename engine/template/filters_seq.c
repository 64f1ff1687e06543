/*
 * Filters, part three: sequences - zip, min/max/sum, reverse, items,
 * extract, subelements, batch (Jinja2 3.1 and ansible-core 2.14).
 */
#include "template/filters.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *zip_common(struct eval *ev, json_t *in, json_t *args, json_t *fill, int longest)
{
	json_t *lists = json_array(), *out = json_array();
	json_t *all = json_pack("[O]", in);
	json_array_extend(all, args);
	size_t i, n = longest ? 0 : (size_t)-1;
	json_t *x;
	json_array_foreach (all, i, x) {
		json_t *l = py_iter(ev, x);
		if (!l) {
			json_decref(all), json_decref(lists), json_decref(out);
			return NULL;
		}
		size_t ln = json_array_size(l);
		n = longest ? (ln > n ? ln : n) : (ln < n ? ln : n);
		json_array_append_new(lists, l);
	}
	for (size_t k = 0; k < n; k++) {
		json_t *t = json_array();
		json_array_foreach (lists, i, x) {
			json_t *v = json_array_get(x, k);
			json_array_append(t, v ? v : (fill ? fill : json_null()));
		}
		json_array_append_new(out, t);
	}
	json_decref(all);
	json_decref(lists);
	return out;
}

static json_t *f_zip(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)kw;
	return zip_common(ev, in, args, NULL, 0);
}

static json_t *f_zip_longest(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	return zip_common(ev, in, args, json_object_get(kw, "fillvalue"), 1);
}

static json_t *min_max(struct eval *ev, json_t *in, json_t *args, json_t *kw, int want_max)
{
	json_t *items = py_iter(ev, in);
	if (!items)
		return NULL;
	const char *attr = arg_str(args, kw, 1, "attribute", NULL);
	int cs = arg_bool(args, kw, 0, "case_sensitive", 0);
	json_t *best = NULL, *bestk = NULL;
	size_t i;
	json_t *x;
	json_array_foreach (items, i, x) {
		json_t *k = filter_sort_key(x, attr, cs);
		int c = 0;
		if (bestk && py_compare(ev, k, bestk, &c) < 0) {
			json_decref(k);
			json_decref(bestk);
			json_decref(items);
			return NULL;
		}
		if (!bestk || (want_max ? c > 0 : c < 0)) {
			json_decref(bestk);
			bestk = k;
			best = x;
		} else {
			json_decref(k);
		}
	}
	json_t *r = best ? json_incref(best) : undef_new("No aggregated item, sequence was empty.");
	json_decref(bestk);
	json_decref(items);
	return r;
}

static json_t *f_min(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	return min_max(ev, in, args, kw, 0);
}

static json_t *f_max(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	return min_max(ev, in, args, kw, 1);
}

static json_t *f_sum(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *items = py_iter(ev, in);
	if (!items)
		return NULL;
	const char *attr = arg_str(args, kw, 0, "attribute", NULL);
	json_t *start = arg_get(args, kw, 1, "start");
	json_t *acc = start ? json_incref(start) : json_integer(0);
	size_t i;
	json_t *x;
	json_array_foreach (items, i, x) {
		json_t *v = attr ? attr_path(x, attr) : json_incref(x);
		json_t *r = NULL;
		if (is_number(acc) && is_number(v)) {
			if (json_is_real(acc) || json_is_real(v))
				r = json_real(num_value(acc) + num_value(v));
			else
				r = json_integer(num_ll(acc) + num_ll(v));
		} else if (json_is_array(acc) && json_is_array(v)) {
			r = json_copy(acc);
			json_array_extend(r, v);
		} else {
			eval_fail(ev, "unsupported operand type(s) for +: '%s' and '%s'",
			          py_type_name(acc), py_type_name(v));
		}
		json_decref(v);
		json_decref(acc);
		acc = r;
		if (!acc)
			break;
	}
	json_decref(items);
	return acc;
}

static json_t *f_reverse(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	json_t *items = py_iter(ev, in);
	if (!items)
		return NULL;
	json_t *out = json_array();
	for (size_t i = json_array_size(items); i > 0; i--)
		json_array_append(out, json_array_get(items, i - 1));
	json_decref(items);
	if (json_is_string(in)) {
		struct buf b = BUF_INIT;
		size_t i;
		json_t *c;
		json_array_foreach (out, i, c)
			buf_adds(&b, json_string_value(c));
		json_decref(out);
		return str_result(&b);
	}
	return out;
}

static json_t *f_items(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	if (!json_is_object(in)) {
		eval_fail(ev, "Can only get item pairs from a mapping.");
		return NULL;
	}
	json_t *out = json_array();
	const char *k;
	json_t *v;
	json_object_foreach (in, k, v)
		json_array_append_new(out, json_pack("[sO]", k, v));
	return out;
}

static json_t *f_extract(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *container = arg_get(args, kw, 0, "container");
	json_t *more = arg_get(args, kw, 1, "morekeys");
	if (!container) {
		eval_fail(ev, "extract requires a container");
		return NULL;
	}
	json_t *keys = json_pack("[O]", in);
	if (json_is_array(more))
		json_array_extend(keys, more);
	else if (more)
		json_array_append(keys, more);
	json_t *cur = json_incref(container);
	size_t i;
	json_t *k;
	json_array_foreach (keys, i, k) {
		json_t *next = is_undef(cur) ? json_incref(cur) : tmpl_get_item(cur, k);
		json_decref(cur);
		cur = next;
	}
	json_decref(keys);
	return cur;
}

static json_t *f_subelements(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *path = arg_str(args, kw, 0, "subelements", NULL);
	int skip = arg_bool(args, kw, 1, "skip_missing", 0);
	json_t *elems = json_is_object(in) ? json_array() : json_incref(in), *out = json_array();
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_object(in))
		json_object_foreach (in, k, v)
			json_array_append(elems, v);
	if (!path || !json_is_array(elems)) {
		eval_fail(ev, "obj must be a list of dicts or a nested dict");
		goto fail;
	}
	json_array_foreach (elems, i, v) {
		json_t *sub = attr_path(v, path);
		if (is_undef(sub) && skip) {
			json_decref(sub);
			continue;
		}
		if (!json_is_array(sub)) {
			eval_fail(ev, "could not find '%s' key in iterated item", path);
			json_decref(sub);
			goto fail;
		}
		size_t j;
		json_t *s;
		json_array_foreach (sub, j, s)
			json_array_append_new(out, json_pack("[OO]", v, s));
		json_decref(sub);
	}
	json_decref(elems);
	return out;
fail:
	json_decref(elems);
	json_decref(out);
	return NULL;
}

static json_t *f_batch(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *items = py_iter(ev, in);
	json_t *nv = arg_get(args, kw, 0, "linecount"), *fill = arg_get(args, kw, 1, "fill_with");
	long long n = nv ? num_ll(nv) : 0;
	if (!items)
		return NULL;
	if (n <= 0) {
		json_decref(items);
		eval_fail(ev, "batch needs a positive size");
		return NULL;
	}
	json_t *out = json_array(), *cur = NULL;
	for (size_t i = 0; i < json_array_size(items); i++) {
		if (!cur)
			cur = json_array();
		json_array_append(cur, json_array_get(items, i));
		if ((long long)json_array_size(cur) == n) {
			json_array_append_new(out, cur);
			cur = NULL;
		}
	}
	if (cur) {
		while (fill && (long long)json_array_size(cur) < n)
			json_array_append(cur, fill);
		json_array_append_new(out, cur);
	}
	json_decref(items);
	return out;
}

/* Jinja's groupby(attribute): [[grouper, [items...]], ...] sorted by grouper */
static json_t *f_groupby(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *attr = arg_str(args, kw, 0, "attribute", NULL);
	json_t *def = arg_get(args, kw, 1, "default");
	json_t *items = py_iter(ev, in), *keys = json_array(), *groups = json_array();
	if (!items || !attr) {
		if (!ev->e->code)
			eval_fail(ev, "groupby needs an attribute");
		goto fail;
	}
	size_t i;
	json_t *x;
	json_array_foreach (items, i, x) {
		json_t *k = attr_path(x, attr);
		if (is_undef(k) && def) {
			json_decref(k);
			k = json_incref(def);
		}
		if (is_undef(k)) {
			eval_fail_undef(ev, k);
			json_decref(k);
			goto fail;
		}
		size_t j;
		json_t *g, *found = NULL;
		json_array_foreach (groups, j, g)
			if (py_equal(json_array_get(g, 0), k))
				found = g;
		if (!found) {
			found = json_pack("[O[]]", k);
			json_array_append_new(groups, found);
			json_array_append(keys, k);
		}
		json_array_append(json_array_get(found, 1), x);
		json_decref(k);
	}
	/* sort the groups by their grouper; a stable sort keeps first-seen order */
	json_t *sorted_groups = json_array();
	size_t n = json_array_size(groups);
	int *used = xcalloc(n + 1, sizeof(int));
	for (size_t round = 0; round < n; round++) {
		size_t best = (size_t)-1;
		for (size_t j = 0; j < n; j++) {
			int c;
			if (used[j])
				continue;
			if (best == (size_t)-1) {
				best = j;
				continue;
			}
			if (py_compare(ev, json_array_get(keys, j), json_array_get(keys, best),
			               &c) < 0) {
				free(used);
				json_decref(sorted_groups);
				goto fail;
			}
			if (c < 0)
				best = j;
		}
		used[best] = 1;
		json_array_append(sorted_groups, json_array_get(groups, best));
	}
	free(used);
	json_decref(items);
	json_decref(keys);
	json_decref(groups);
	return sorted_groups;
fail:
	json_decref(items);
	json_decref(keys);
	json_decref(groups);
	return NULL;
}

const struct filter_def filters_seq[] = {
    {"groupby", f_groupby, 0},
    {"zip", f_zip, 0},
    {"zip_longest", f_zip_longest, 0},
    {"min", f_min, 0},
    {"max", f_max, 0},
    {"sum", f_sum, 0},
    {"reverse", f_reverse, 0},
    {"items", f_items, 0},
    {"extract", f_extract, 0},
    {"subelements", f_subelements, 0},
    {"batch", f_batch, 0},
    {NULL, NULL, 0},
};
