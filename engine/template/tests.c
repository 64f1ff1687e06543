/*
 * Jinja tests (`x is defined`, `r is changed`, `v is version('1.2', '>=')`)
 * with Jinja2 3.1 and ansible-core 2.14 semantics, plus the loose version
 * comparison they share with the version filters.
 */
#include "template/filters.h"
#include "util/mem.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int t_defined(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = !is_undef(in);
	return 0;
}

static int t_undefined(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = is_undef(in);
	return 0;
}

static int t_none(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_null(in);
	return 0;
}

static int t_string(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_string(in);
	return 0;
}

static int t_number(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = is_number(in);
	return 0;
}

static int t_integer(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_integer(in);
	return 0;
}

static int t_float(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_real(in);
	return 0;
}

static int t_boolean(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_boolean(in);
	return 0;
}

static int t_true(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_true(in);
	return 0;
}

static int t_false(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_false(in);
	return 0;
}

static int t_mapping(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_object(in) && !is_undef(in);
	return 0;
}

static int t_iterable(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = (json_is_object(in) && !is_undef(in)) || json_is_array(in) || json_is_string(in);
	return 0;
}

static int t_sequence(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	/* Jinja: anything with len() and __getitem__ */
	return t_iterable(ev, in, args, out);
}

static int t_callable(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args, (void)in;
	*out = 0;
	return 0;
}

static int t_in(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	json_t *coll = json_array_get(args, 0);
	if (!coll)
		return eval_fail(ev, "the 'in' test needs a container");
	if (json_is_string(coll)) {
		if (!json_is_string(in))
			return eval_fail(ev,
			                 "'in <string>' requires string as left operand, not %s",
			                 py_type_name(in));
		*out = strstr(json_string_value(coll), json_string_value(in)) != NULL;
		return 0;
	}
	if (json_is_object(coll)) {
		*out = json_is_string(in) && json_object_get(coll, json_string_value(in));
		return 0;
	}
	if (!json_is_array(coll))
		return eval_fail(ev, "argument of type '%s' is not iterable", py_type_name(coll));
	size_t i;
	json_t *x;
	*out = 0;
	json_array_foreach (coll, i, x)
		if (py_equal(x, in))
			*out = 1;
	return 0;
}

static int t_contains(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	if (!json_array_get(args, 0))
		return eval_fail(ev, "the 'contains' test needs the item to look for");
	json_t *a = json_pack("[O]", in);
	int rc = t_in(ev, json_array_get(args, 0), a, out);
	json_decref(a);
	return rc;
}

static int cmp_test(struct eval *ev, const json_t *in, json_t *args, int *out, const char *op)
{
	json_t *o = json_array_get(args, 0);
	if (!o)
		return eval_fail(ev, "the '%s' test needs an argument", op);
	if (!strcmp(op, "==") || !strcmp(op, "!=")) {
		*out = py_equal(in, o) == (op[0] == '=');
		return 0;
	}
	int c;
	if (py_compare(ev, in, o, &c) < 0)
		return -1;
	*out = op[0] == '<' ? (op[1] ? c <= 0 : c < 0) : (op[1] ? c >= 0 : c > 0);
	return 0;
}

static int t_eq(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return cmp_test(ev, in, args, out, "==");
}

static int t_ne(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return cmp_test(ev, in, args, out, "!=");
}

static int t_lt(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return cmp_test(ev, in, args, out, "<");
}

static int t_le(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return cmp_test(ev, in, args, out, "<=");
}

static int t_gt(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return cmp_test(ev, in, args, out, ">");
}

static int t_ge(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return cmp_test(ev, in, args, out, ">=");
}

static int t_odd_even(struct eval *ev, const json_t *in, int *out, int odd)
{
	long long v;
	if (py_to_int(in, &v) < 0 || json_is_string(in))
		return eval_fail(ev, "unsupported operand type(s) for %%: '%s' and 'int'",
		                 py_type_name(in));
	*out = (llabs(v) % 2 == 1) == odd;
	return 0;
}

static int t_odd(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return t_odd_even(ev, in, out, 1);
}

static int t_even(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return t_odd_even(ev, in, out, 0);
}

static int t_divisibleby(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	json_t *d = json_array_get(args, 0);
	if (!is_number(in) || !d || !is_number(d) || num_value(d) == 0)
		return eval_fail(ev, "divisibleby needs numbers and a non-zero divisor");
	*out = fmod(num_value(in), num_value(d)) == 0;
	return 0;
}

static int t_lower_upper(const json_t *in, int *out, int upper)
{
	*out = 0;
	if (!json_is_string(in))
		return 0;
	int cased = 0;
	for (const char *p = json_string_value(in); *p; p++) {
		if (isalpha((unsigned char)*p)) {
			cased = 1;
			if (upper ? islower((unsigned char)*p) : isupper((unsigned char)*p))
				return 0;
		}
	}
	*out = cased;
	return 0;
}

static int t_lower(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	return t_lower_upper(in, out, 0);
}

static int t_upper(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	return t_lower_upper(in, out, 1);
}

static int result_dict(struct eval *ev, const json_t *in, const char *test)
{
	if (!json_is_object(in))
		return eval_fail(ev, "The '%s' test expects a dictionary", test);
	return 0;
}

static int t_failed(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	if (result_dict(ev, in, "failed") < 0)
		return -1;
	*out = py_truthy(json_object_get(in, "failed"));
	return 0;
}

static int t_success(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	if (t_failed(ev, in, args, out) < 0)
		return -1;
	*out = !*out;
	return 0;
}

static int t_changed(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	if (result_dict(ev, in, "changed") < 0)
		return -1;
	json_t *c = json_object_get(in, "changed"), *res = json_object_get(in, "results");
	*out = 0;
	if (c) {
		*out = py_truthy(c);
	} else if (json_is_array(res) && json_is_object(json_array_get(res, 0))) {
		size_t i;
		json_t *r;
		json_array_foreach (res, i, r)
			if (py_truthy(json_object_get(r, "changed")))
				*out = 1;
	}
	return 0;
}

static int t_skipped(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	if (result_dict(ev, in, "skipped") < 0)
		return -1;
	*out = py_truthy(json_object_get(in, "skipped"));
	return 0;
}

static int t_unreachable(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	if (result_dict(ev, in, "unreachable") < 0)
		return -1;
	*out = py_truthy(json_object_get(in, "unreachable"));
	return 0;
}

static int t_reachable(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	if (t_unreachable(ev, in, args, out) < 0)
		return -1;
	*out = !*out;
	return 0;
}

static int t_finished(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	if (result_dict(ev, in, "finished") < 0)
		return -1;
	json_t *f = json_object_get(in, "finished");
	*out = !f || (is_number(f) && num_value(f) == 1);
	return 0;
}

static int regex_test(struct eval *ev, const json_t *in, json_t *args, int *out, int anchored)
{
	json_t *kw = ev->test_kw;
	const char *pat = arg_str(args, kw, 0, "pattern", "");
	int icase = arg_bool(args, kw, 1, "ignorecase", 0);
	int mline = arg_bool(args, kw, 2, "multiline", 0);
	const char *mt = arg_str(args, kw, 3, "match_type", NULL);
	if (anchored < 0)
		anchored = mt && !strcmp(mt, "match");
	if (!json_is_string(in))
		return eval_fail(ev, "regex tests expect a string, got '%s'", py_type_name(in));
	return regex_match_at(ev, json_string_value(in), pat, icase, mline, anchored, out);
}

static int t_match(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return regex_test(ev, in, args, out, 1);
}

static int t_search(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return regex_test(ev, in, args, out, 0);
}

static int t_regex(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	return regex_test(ev, in, args, out, -1);
}

/* LooseVersion: runs of digits (as numbers), of lowercase letters, and of
 * anything else, dots dropped. */
static json_t *loose_parts(const char *s)
{
	json_t *parts = json_array();
	const char *p = s;
	while (*p) {
		const char *st = p;
		if (*p == '.') {
			p++;
			continue;
		}
		if (isdigit((unsigned char)*p)) {
			while (isdigit((unsigned char)*p))
				p++;
			json_array_append_new(parts, json_integer(strtoll(st, NULL, 10)));
		} else if (*p >= 'a' && *p <= 'z') {
			while (*p >= 'a' && *p <= 'z')
				p++;
			json_array_append_new(parts, tstr(st, (size_t)(p - st)));
		} else {
			while (*p && *p != '.' && !isdigit((unsigned char)*p) &&
			       !(*p >= 'a' && *p <= 'z'))
				p++;
			json_array_append_new(parts, tstr(st, (size_t)(p - st)));
		}
	}
	return parts;
}

int version_compare(struct eval *ev, const char *a, const char *b, const char *op, int strict,
                    int *out)
{
	static const char *const ops[][2] = {{"==", "eq"}, {"=", "eq"},  {"eq", "eq"}, {"<", "lt"},
	                                     {"lt", "lt"}, {"<=", "le"}, {"le", "le"}, {">", "gt"},
	                                     {"gt", "gt"}, {">=", "ge"}, {"ge", "ge"}, {"!=", "ne"},
	                                     {"<>", "ne"}, {"ne", "ne"}};
	const char *o = NULL;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i][0]))
			o = ops[i][1];
	if (!o)
		return eval_fail(ev, "Invalid operator type (%s)", op);
	(void)strict;
	json_t *pa = loose_parts(a), *pb = loose_parts(b);
	int c = 0, rc = py_compare(NULL, pa, pb, &c);
	json_decref(pa);
	json_decref(pb);
	if (rc < 0)
		return eval_fail(ev, "Version comparison failed: '<' not supported between "
		                     "instances of 'str' and 'int'");
	if (!strcmp(o, "eq"))
		*out = c == 0;
	else if (!strcmp(o, "ne"))
		*out = c != 0;
	else if (!strcmp(o, "lt"))
		*out = c < 0;
	else if (!strcmp(o, "le"))
		*out = c <= 0;
	else if (!strcmp(o, "gt"))
		*out = c > 0;
	else
		*out = c >= 0;
	return 0;
}

static int t_version(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	json_t *kw = ev->test_kw;
	json_t *v = arg_get(args, kw, 0, "version");
	const char *op = arg_str(args, kw, 1, "operator", "eq");
	if (!v)
		return eval_fail(ev, "version test needs a version to compare with");
	char *a = text_of(in), *b = text_of(v);
	int rc = version_compare(ev, a, b, op, arg_bool(args, kw, 2, "strict", 0), out);
	free(a);
	free(b);
	return rc;
}

static int t_truthy(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = py_truthy(in);
	return 0;
}

static int t_falsy(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = !py_truthy(in);
	return 0;
}

static int path_test(struct eval *ev, const json_t *in, int *out, int kind)
{
	struct stat st;
	char *p = text_of(in);
	(void)ev;
	/* Ansible's path tests look at the path as given (relative to cwd) */
	int rc = kind == 'l' ? lstat(p, &st) : stat(p, &st);
	*out = rc == 0 &&
	       (kind == 'e' || (kind == 'f' && S_ISREG(st.st_mode)) ||
	        (kind == 'd' && S_ISDIR(st.st_mode)) || (kind == 'l' && S_ISLNK(st.st_mode)));
	free(p);
	return 0;
}

static int t_file(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return path_test(ev, in, out, 'f');
}

static int t_directory(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return path_test(ev, in, out, 'd');
}

static int t_exists(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return path_test(ev, in, out, 'e');
}

static int t_link(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return path_test(ev, in, out, 'l');
}

static int t_abs(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_string(in) && json_string_value(in)[0] == '/';
	return 0;
}

static int t_subset(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	json_t *b = json_array_get(args, 0);
	if (!json_is_array(in) || !json_is_array(b))
		return eval_fail(ev, "subset/superset tests need lists");
	size_t i, j;
	json_t *x, *y;
	*out = 1;
	json_array_foreach (in, i, x) {
		int found = 0;
		json_array_foreach (b, j, y)
			found |= py_equal(x, y);
		if (!found)
			*out = 0;
	}
	return 0;
}

static int t_superset(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	json_t *a = json_pack("[O]", in);
	int rc = t_subset(ev, json_array_get(args, 0), a, out);
	json_decref(a);
	return rc;
}

static int t_any_all(struct eval *ev, const json_t *in, int *out, int all)
{
	if (!json_is_array(in))
		return eval_fail(ev, "any/all tests need a list");
	size_t i;
	json_t *x;
	*out = all;
	json_array_foreach (in, i, x)
		if (py_truthy(x) != all)
			*out = !all;
	return 0;
}

static int t_any(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return t_any_all(ev, in, out, 0);
}

static int t_all(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)args;
	return t_any_all(ev, in, out, 1);
}

static int t_nan(struct eval *ev, const json_t *in, json_t *args, int *out)
{
	(void)ev, (void)args;
	*out = json_is_real(in) && isnan(json_real_value(in));
	return 0;
}

static const struct test_def tests[] = {
    {"defined", t_defined, 1},
    {"undefined", t_undefined, 1},
    {"none", t_none, 1},
    {"string", t_string, 1},
    {"number", t_number, 1},
    {"integer", t_integer, 1},
    {"float", t_float, 1},
    {"boolean", t_boolean, 1},
    {"true", t_true, 1},
    {"false", t_false, 1},
    {"mapping", t_mapping, 1},
    {"iterable", t_iterable, 0},
    {"sequence", t_sequence, 0},
    {"callable", t_callable, 1},
    {"in", t_in, 0},
    {"contains", t_contains, 0},
    {"eq", t_eq, 0},
    {"equalto", t_eq, 0},
    {"==", t_eq, 0},
    {"ne", t_ne, 0},
    {"!=", t_ne, 0},
    {"lt", t_lt, 0},
    {"lessthan", t_lt, 0},
    {"<", t_lt, 0},
    {"le", t_le, 0},
    {"<=", t_le, 0},
    {"gt", t_gt, 0},
    {"greaterthan", t_gt, 0},
    {">", t_gt, 0},
    {"ge", t_ge, 0},
    {">=", t_ge, 0},
    {"odd", t_odd, 0},
    {"even", t_even, 0},
    {"divisibleby", t_divisibleby, 0},
    {"lower", t_lower, 0},
    {"upper", t_upper, 0},
    {"failed", t_failed, 0},
    {"failure", t_failed, 0},
    {"success", t_success, 0},
    {"succeeded", t_success, 0},
    {"changed", t_changed, 0},
    {"change", t_changed, 0},
    {"skipped", t_skipped, 0},
    {"skip", t_skipped, 0},
    {"unreachable", t_unreachable, 0},
    {"reachable", t_reachable, 0},
    {"finished", t_finished, 0},
    {"match", t_match, 0},
    {"search", t_search, 0},
    {"regex", t_regex, 0},
    {"version", t_version, 0},
    {"version_compare", t_version, 0},
    {"truthy", t_truthy, 0},
    {"falsy", t_falsy, 0},
    {"file", t_file, 0},
    {"is_file", t_file, 0},
    {"directory", t_directory, 0},
    {"is_dir", t_directory, 0},
    {"exists", t_exists, 0},
    {"link", t_link, 0},
    {"is_link", t_link, 0},
    {"abs", t_abs, 0},
    {"is_abs", t_abs, 0},
    {"subset", t_subset, 0},
    {"issubset", t_subset, 0},
    {"superset", t_superset, 0},
    {"issuperset", t_superset, 0},
    {"any", t_any, 0},
    {"all", t_all, 0},
    {"nan", t_nan, 0},
    {"isnan", t_nan, 0},
    {NULL, NULL, 0},
};

const struct test_def *test_find(const char *name)
{
	for (const struct test_def *t = tests; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}
