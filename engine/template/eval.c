/*
 * Expression evaluation with Jinja2's semantics under Ansible: Python
 * operators over JSON values, attribute and item access that yield
 * Undefined (never an error) when the thing is missing, filters, tests and
 * calls. Every function returns a new reference, or NULL with ev->e set.
 */
#include "template/tmpl_int.h"
#include "util/mem.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eval_fail(struct eval *ev, const char *fmt, ...)
{
	char msg[1800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int line = 0, col = 0;
	if (ev->src) {
		int nl = 0, last = -1;
		for (int i = 0; i < ev->pos && ev->src[i]; i++)
			if (ev->src[i] == '\n') {
				nl++;
				last = i;
			}
		int off = ev->pos - last; /* 1-based column in the text */
		if (ev->ctx->line > 0) {
			line = ev->ctx->line + nl;
			col = nl ? off : ev->ctx->col + off - 1;
		} else {
			line = nl + 1;
			col = off;
		}
	}
	err_set(ev->e, ERR_TMPL, ev->ctx->file, line, col, "%s", msg);
	return -1;
}

int eval_fail_undef(struct eval *ev, const json_t *v)
{
	json_t *pos = json_object_get(v, "\x01pos");
	if (pos)
		ev->pos = (int)json_integer_value(pos);
	eval_fail(ev, "%s", undef_msg(v));
	ev->e->code = ERR_UNDEF;
	return -1;
}

int eval_check_defined(struct eval *ev, const json_t *v)
{
	if (is_lenient(v))
		return 0;
	if (is_undef(v))
		return eval_fail_undef(ev, v);
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			if (eval_check_defined(ev, x) < 0)
				return -1;
	} else if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, x)
			if (eval_check_defined(ev, x) < 0)
				return -1;
	}
	return 0;
}

static int truth(struct eval *ev, const json_t *v)
{
	if (is_lenient(v))
		return 0;
	if (is_undef(v))
		return eval_fail_undef(ev, v);
	return py_truthy(v);
}

static const char *undef_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "'dict object'";
	case JSON_ARRAY:
		return "'list object'";
	case JSON_STRING:
		return "'str object'";
	case JSON_INTEGER:
		return "'int object'";
	case JSON_REAL:
		return "'float object'";
	case JSON_TRUE:
	case JSON_FALSE:
		return "'bool object'";
	default:
		return "'None'";
	}
}

static json_t *no_attr(const json_t *obj, const json_t *key)
{
	struct buf b = BUF_INIT;
	py_repr(key, &b);
	json_t *u = undef_new("%s has no attribute %s", undef_type(obj), buf_str(&b));
	buf_release(&b);
	return u;
}

/* Code point i..j of a UTF-8 string as byte offsets. */
static size_t cp_offset(const char *s, size_t n, long long idx)
{
	size_t i = 0;
	long long k = 0;
	while (i < n && k < idx) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		k++;
	}
	return i;
}

static json_t *get_index(const json_t *obj, const json_t *key)
{
	long long idx = json_is_boolean(key) ? json_is_true(key) : json_integer_value(key);
	if (json_is_array(obj)) {
		long long n = (long long)json_array_size(obj);
		if (idx < 0)
			idx += n;
		if (idx < 0 || idx >= n)
			return undef_new("list object has no element %" JSON_INTEGER_FORMAT,
			                 json_integer_value(key));
		return json_incref(json_array_get(obj, (size_t)idx));
	}
	const char *s = json_string_value(obj);
	size_t bytes = json_string_length(obj);
	long long n = (long long)utf8_len(s, bytes);
	if (idx < 0)
		idx += n;
	if (idx < 0 || idx >= n)
		return no_attr(obj, key);
	size_t a = cp_offset(s, bytes, idx), b = cp_offset(s, bytes, idx + 1);
	return tstr(s + a, b - a);
}

json_t *tmpl_get_item(const json_t *obj, const json_t *key);
json_t *tmpl_get_item(const json_t *obj, const json_t *key)
{
	if (json_is_object(obj)) {
		char tmp[64];
		const char *k = json_string_value(key);
		if (json_is_integer(key)) {
			snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(key));
			k = tmp;
		}
		json_t *v = k ? json_object_get(obj, k) : NULL;
		return v ? json_incref(v) : no_attr(obj, key);
	}
	if ((json_is_array(obj) || json_is_string(obj)) &&
	    (json_is_integer(key) || json_is_boolean(key)))
		return get_index(obj, key);
	return no_attr(obj, key);
}

static json_t *eval_getattr(struct eval *ev, const struct node *n)
{
	json_t *obj = eval_expr(ev, n->a);
	if (!obj || is_undef(obj))
		return obj;
	json_t *key = tstrz(n->name);
	json_t *r;
	r = undef_at(json_is_object(obj) ? tmpl_get_item(obj, key) : no_attr(obj, key), n->pos);
	json_decref(key);
	json_decref(obj);
	return r;
}

static json_t *eval_getitem(struct eval *ev, const struct node *n)
{
	json_t *obj = eval_expr(ev, n->a);
	if (!obj || is_undef(obj))
		return obj;
	json_t *key = eval_expr(ev, n->b), *r = NULL;
	if (key && is_undef(key))
		eval_fail_undef(ev, key);
	else if (key)
		r = undef_at(tmpl_get_item(obj, key), n->pos);
	json_decref(key);
	json_decref(obj);
	return r;
}

static int slice_bound(struct eval *ev, const struct node *n, long long *out, int *given)
{
	*given = 0;
	if (!n)
		return 0;
	json_t *v = eval_expr(ev, n);
	if (!v)
		return -1;
	int rc = 0;
	if (json_is_null(v)) {
		rc = 0;
	} else if (json_is_integer(v) || json_is_boolean(v)) {
		*out = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
		*given = 1;
	} else {
		rc = eval_fail(ev, "slice indices must be integers or None");
	}
	json_decref(v);
	return rc;
}

/* Python's slice.indices() then the walk. */
static json_t *eval_slice(struct eval *ev, const struct node *n)
{
	json_t *obj = eval_expr(ev, n->a), *r = NULL;
	long long start = 0, stop = 0, step = 1;
	int gs, ge, gp;
	if (!obj || is_undef(obj))
		return obj;
	if (slice_bound(ev, n->b, &start, &gs) < 0 || slice_bound(ev, n->c, &stop, &ge) < 0 ||
	    slice_bound(ev, n->d, &step, &gp) < 0)
		goto out;
	if (!gp)
		step = 1;
	if (step == 0) {
		eval_fail(ev, "slice step cannot be zero");
		goto out;
	}
	json_t *items = NULL;
	if (json_is_string(obj) || json_is_array(obj))
		items = py_iter(ev, obj);
	if (!items) {
		if (!ev->e->code)
			eval_fail(ev, "'%s' object is not subscriptable", py_type_name(obj));
		goto out;
	}
	long long len = (long long)json_array_size(items);
	if (!gs)
		start = step < 0 ? len - 1 : 0;
	else if (start < 0)
		start = start + len < 0 ? (step < 0 ? -1 : 0) : start + len;
	else if (start >= len)
		start = step < 0 ? len - 1 : len;
	if (!ge)
		stop = step < 0 ? -1 : len;
	else if (stop < 0)
		stop = stop + len < 0 ? (step < 0 ? -1 : 0) : stop + len;
	else if (stop >= len)
		stop = step < 0 ? len - 1 : len;
	json_t *res = json_array();
	for (long long i = start; step > 0 ? i < stop : i > stop; i += step)
		json_array_append(res, json_array_get(items, (size_t)i));
	json_decref(items);
	if (json_is_string(obj)) {
		struct buf b = BUF_INIT;
		size_t i;
		json_t *c;
		json_array_foreach (res, i, c)
			buf_adds(&b, json_string_value(c));
		r = tstr(b.s ? b.s : "", b.len);
		buf_release(&b);
		json_decref(res);
	} else {
		r = res;
	}
out:
	json_decref(obj);
	return r;
}

static json_t *eval_list(struct eval *ev, const struct node *n)
{
	json_t *l = json_array();
	for (int i = 0; i < n->nkids; i++) {
		json_t *v = eval_expr(ev, n->kids[i]);
		if (!v) {
			json_decref(l);
			return NULL;
		}
		json_array_append_new(l, v);
	}
	return l;
}

static json_t *eval_dict(struct eval *ev, const struct node *n)
{
	json_t *d = json_object();
	for (int i = 0; i + 1 < n->nkids; i += 2) {
		json_t *k = eval_expr(ev, n->kids[i]);
		if (!k)
			goto fail;
		if (is_undef(k)) {
			eval_fail_undef(ev, k);
			json_decref(k);
			goto fail;
		}
		char *ks = json_is_string(k) ? xstrdup(json_string_value(k)) : py_str_dup(k);
		json_decref(k);
		json_t *v = eval_expr(ev, n->kids[i + 1]);
		if (!v) {
			free(ks);
			goto fail;
		}
		json_object_set_new(d, ks, v);
		free(ks);
	}
	return d;
fail:
	json_decref(d);
	return NULL;
}

static json_t *num_result(double d, int as_int, long long i)
{
	return as_int ? json_integer(i) : json_real(d);
}

static int both_int(const json_t *a, const json_t *b)
{
	return !json_is_real(a) && !json_is_real(b);
}

static long long ival(const json_t *v)
{
	return json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
}

/* Limits for `seq * n`: a template is no place for a gigabyte. */
#define MAX_REPEAT_BYTES (16L << 20)
#define MAX_REPEAT_ITEMS (1L << 20)

static json_t *repeat(struct eval *ev, const json_t *seq, long long times)
{
	int str = json_is_string(seq);
	size_t unit = str ? json_string_length(seq) : json_array_size(seq);
	unsigned long long cap = str ? MAX_REPEAT_BYTES : MAX_REPEAT_ITEMS;
	if (times > 0 && unit > 0 && (unsigned long long)times > cap / unit) {
		eval_fail(ev, "the repeated sequence would be too large (over %llu %s)", cap,
		          str ? "bytes" : "items");
		return NULL;
	}
	if (unit == 0 || times < 0)
		times = 0;
	if (json_is_string(seq)) {
		struct buf b = BUF_INIT;
		for (long long i = 0; i < times; i++)
			buf_add(&b, json_string_value(seq), json_string_length(seq));
		json_t *r = tstr(b.s ? b.s : "", b.len);
		buf_release(&b);
		return r;
	}
	json_t *r = json_array();
	for (long long i = 0; i < times; i++)
		json_array_extend(r, (json_t *)seq);
	return r;
}

json_t *py_format(struct eval *ev, const json_t *fmt, const json_t *args);

static json_t *arith_plus(struct eval *ev, const json_t *a, const json_t *b)
{
	if (is_number(a) && is_number(b)) {
		long long r;
		if (both_int(a, b) && !__builtin_add_overflow(ival(a), ival(b), &r))
			return json_integer(r);
		return json_real(num_value(a) + num_value(b));
	}
	if (json_is_string(a) && json_is_string(b)) {
		struct buf s = BUF_INIT;
		buf_add(&s, json_string_value(a), json_string_length(a));
		buf_add(&s, json_string_value(b), json_string_length(b));
		json_t *r = tstr(s.s, s.len);
		buf_release(&s);
		return r;
	}
	if (json_is_array(a) && json_is_array(b)) {
		json_t *r = json_copy((json_t *)a);
		json_array_extend(r, (json_t *)b);
		return r;
	}
	if (json_is_string(a) || json_is_array(a))
		eval_fail(ev, "can only concatenate %s (not \"%s\") to %s", py_type_name(a),
		          py_type_name(b), py_type_name(a));
	else
		eval_fail(ev, "unsupported operand type(s) for +: '%s' and '%s'", py_type_name(a),
		          py_type_name(b));
	return NULL;
}

static json_t *arith_div(struct eval *ev, const char *op, const json_t *a, const json_t *b)
{
	double x = num_value(a), y = num_value(b);
	if (y == 0) {
		eval_fail(ev, "%s",
		          op[0] == '%' ? "integer division or modulo by zero"
		          : op[1]      ? "integer division or modulo by zero"
		                       : "division by zero");
		return NULL;
	}
	if (op[0] == '/' && !op[1])
		return json_real(x / y);
	int ints = both_int(a, b);
	long long i = 0;
	double d;
	if (op[0] == '/') {
		d = floor(x / y);
		if (ints) {
			long long p = ival(a), q = ival(b);
			i = p / q - ((p % q != 0) && ((p < 0) != (q < 0)));
		}
	} else {
		d = fmod(x, y);
		if (d != 0 && ((d < 0) != (y < 0)))
			d += y;
		if (ints) {
			long long p = ival(a), q = ival(b);
			i = p % q;
			if (i != 0 && ((i < 0) != (q < 0)))
				i += q;
		}
	}
	return num_result(d, ints, i);
}

static json_t *arith_pow(const json_t *a, const json_t *b)
{
	if (both_int(a, b) && ival(b) >= 0) {
		long long base = ival(a), e = ival(b), r = 1;
		int ovf = 0;
		/* square and multiply: a huge exponent of 0, 1 or -1 stays fast */
		while (e > 0 && !ovf) {
			if (e & 1)
				ovf = __builtin_mul_overflow(r, base, &r);
			e >>= 1;
			if (e && !ovf)
				ovf = __builtin_mul_overflow(base, base, &base);
		}
		if (!ovf)
			return json_integer(r);
	}
	return json_real(pow(num_value(a), num_value(b)));
}

static json_t *arith(struct eval *ev, const char *op, const json_t *a, const json_t *b)
{
	if (op[0] == '+')
		return arith_plus(ev, a, b);
	if (op[0] == '%' && json_is_string(a))
		return py_format(ev, a, b);
	if (op[0] == '*' && !op[1]) {
		if ((json_is_string(a) || json_is_array(a)) &&
		    (json_is_integer(b) || json_is_boolean(b)))
			return repeat(ev, a, ival(b));
		if ((json_is_string(b) || json_is_array(b)) &&
		    (json_is_integer(a) || json_is_boolean(a)))
			return repeat(ev, b, ival(a));
	}
	if (!is_number(a) || !is_number(b)) {
		eval_fail(ev, "unsupported operand type(s) for %s: '%s' and '%s'", op,
		          py_type_name(a), py_type_name(b));
		return NULL;
	}
	long long r;
	switch (op[0]) {
	case '-':
		if (both_int(a, b) && !__builtin_sub_overflow(ival(a), ival(b), &r))
			return json_integer(r);
		return json_real(num_value(a) - num_value(b));
	case '*':
		if (op[1])
			return arith_pow(a, b);
		if (both_int(a, b) && !__builtin_mul_overflow(ival(a), ival(b), &r))
			return json_integer(r);
		return json_real(num_value(a) * num_value(b));
	default:
		return arith_div(ev, op, a, b);
	}
}

static json_t *eval_binop(struct eval *ev, const struct node *n)
{
	json_t *a = eval_expr(ev, n->a), *b = NULL, *r = NULL;
	if (!a)
		return NULL;
	if (is_undef(a)) {
		eval_fail_undef(ev, a);
		goto out;
	}
	b = eval_expr(ev, n->b);
	if (!b)
		goto out;
	if (is_undef(b)) {
		eval_fail_undef(ev, b);
		goto out;
	}
	ev->pos = n->pos;
	r = arith(ev, n->op, a, b);
out:
	json_decref(a);
	json_decref(b);
	return r;
}

static int contains(struct eval *ev, const json_t *item, const json_t *coll, int *out)
{
	if (json_is_string(coll)) {
		if (!json_is_string(item))
			return eval_fail(ev,
			                 "'in <string>' requires string as left operand, not %s",
			                 py_type_name(item));
		*out = strstr(json_string_value(coll), json_string_value(item)) != NULL;
		return 0;
	}
	if (json_is_object(coll)) {
		char *k = json_is_string(item) ? NULL : py_str_dup(item);
		*out = json_object_get(coll, k ? k : json_string_value(item)) != NULL &&
		       (json_is_string(item) || json_is_integer(item));
		free(k);
		return 0;
	}
	if (json_is_array(coll)) {
		size_t i;
		json_t *x;
		*out = 0;
		json_array_foreach (coll, i, x)
			if (py_equal(x, item)) {
				*out = 1;
				break;
			}
		return 0;
	}
	return eval_fail(ev, "argument of type '%s' is not iterable", py_type_name(coll));
}

static int compare_one(struct eval *ev, const char *op, const json_t *a, const json_t *b, int *out)
{
	if (is_undef(a))
		return eval_fail_undef(ev, a);
	if (is_undef(b))
		return eval_fail_undef(ev, b);
	if (!strcmp(op, "in") || !strcmp(op, "ni")) {
		if (contains(ev, a, b, out) < 0)
			return -1;
		if (op[0] == 'n')
			*out = !*out;
		return 0;
	}
	if (!strcmp(op, "==") || !strcmp(op, "!=")) {
		*out = py_equal(a, b) == (op[0] == '=');
		return 0;
	}
	int c;
	if (py_compare(NULL, a, b, &c) < 0)
		return eval_fail(ev, "'%s' not supported between instances of '%s' and '%s'", op,
		                 py_type_name(a), py_type_name(b));
	if (!strcmp(op, "<"))
		*out = c < 0;
	else if (!strcmp(op, "<="))
		*out = c <= 0;
	else if (!strcmp(op, ">"))
		*out = c > 0;
	else
		*out = c >= 0;
	return 0;
}

static json_t *eval_compare(struct eval *ev, const struct node *n)
{
	json_t *left = eval_expr(ev, n->a);
	int ok = 1;
	for (int i = 0; left && i < n->nkids && ok; i++) {
		json_t *right = eval_expr(ev, n->kids[i]->a);
		if (!right) {
			json_decref(left);
			return NULL;
		}
		ev->pos = n->kids[i]->pos;
		if (compare_one(ev, n->kids[i]->op, left, right, &ok) < 0) {
			json_decref(right);
			json_decref(left);
			return NULL;
		}
		json_decref(left);
		left = right;
	}
	if (!left)
		return NULL;
	json_decref(left);
	return json_boolean(ok);
}

static json_t *eval_logic(struct eval *ev, const struct node *n)
{
	json_t *a = eval_expr(ev, n->a);
	if (!a)
		return NULL;
	int t = truth(ev, a);
	if (t < 0) {
		json_decref(a);
		return NULL;
	}
	if ((n->kind == N_AND) ? !t : t)
		return a;
	json_decref(a);
	return eval_expr(ev, n->b);
}

static json_t *eval_unary(struct eval *ev, const struct node *n)
{
	json_t *a = eval_expr(ev, n->a), *r = NULL;
	if (!a)
		return NULL;
	if (is_undef(a)) {
		eval_fail_undef(ev, a);
	} else if (n->kind == N_NOT) {
		r = json_boolean(!py_truthy(a));
	} else if (!is_number(a)) {
		ev->pos = n->pos;
		eval_fail(ev, "bad operand type for unary %c: '%s'", n->kind == N_NEG ? '-' : '+',
		          py_type_name(a));
	} else if (n->kind == N_POS) {
		r = json_is_boolean(a) ? json_integer(json_is_true(a)) : json_incref(a);
	} else if (json_is_real(a)) {
		r = json_real(-json_real_value(a));
	} else {
		r = json_integer(-ival(a));
	}
	json_decref(a);
	return r;
}

static json_t *eval_cond(struct eval *ev, const struct node *n)
{
	json_t *c = eval_expr(ev, n->b);
	if (!c)
		return NULL;
	int t = truth(ev, c);
	json_decref(c);
	if (t < 0)
		return NULL;
	if (t)
		return eval_expr(ev, n->a);
	if (n->c)
		return eval_expr(ev, n->c);
	return undef_lenient();
}

static json_t *eval_concat(struct eval *ev, const struct node *n)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < n->nkids; i++) {
		json_t *v = eval_expr(ev, n->kids[i]);
		if (!v || is_undef(v)) {
			if (v)
				eval_fail_undef(ev, v);
			json_decref(v);
			buf_release(&b);
			return NULL;
		}
		py_str(v, &b);
		json_decref(v);
	}
	json_t *r = tstr(b.s ? b.s : "", b.len);
	buf_release(&b);
	return r;
}

/* Positional and keyword arguments of a call, filter or test. */
static int eval_args(struct eval *ev, const struct node *n, json_t **args, json_t **kw)
{
	*args = json_array();
	*kw = json_object();
	for (int i = 0; i < n->nkids; i++) {
		json_t *v = eval_expr(ev, n->kids[i]);
		if (!v)
			goto fail;
		json_array_append_new(*args, v);
	}
	for (int i = 0; i < n->nkw; i++) {
		json_t *v = eval_expr(ev, n->kw[i]);
		if (!v)
			goto fail;
		json_object_set_new(*kw, n->kwnames[i], v);
	}
	return 0;
fail:
	json_decref(*args);
	json_decref(*kw);
	*args = *kw = NULL;
	return -1;
}

const char *plugin_short_name(const char *name)
{
	static const char *const prefixes[] = {"ansible.builtin.", "ansible.legacy.",
	                                       "community.general.", "ansible.utils.", NULL};
	for (int i = 0; prefixes[i]; i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return name + strlen(prefixes[i]);
	return name;
}

static json_t *eval_filter(struct eval *ev, const struct node *n)
{
	const struct filter_def *f = n->def ? n->def : filter_find(plugin_short_name(n->name));
	json_t *in = NULL, *args = NULL, *kw = NULL, *r = NULL;
	if (!f) {
		ev->pos = n->pos;
		eval_fail(ev, "template error while templating string: No filter named '%s'.",
		          n->name);
		return NULL;
	}
	in = eval_expr(ev, n->a);
	if (!in || eval_args(ev, n, &args, &kw) < 0)
		goto out;
	ev->pos = n->pos;
	if (!f->undef_ok && (eval_check_defined(ev, in) < 0 || eval_check_defined(ev, args) < 0 ||
	                     eval_check_defined(ev, kw) < 0))
		goto out;
	r = f->fn(ev, in, args, kw);
	if (!r && !ev->e->code)
		eval_fail(ev, "filter '%s' failed", n->name);
	else if (!r && ev->e->code == ERR_TMPL && !strstr(ev->e->msg, n->name) &&
	         !strstr(ev->e->msg, "' filter"))
		err_prefix(ev->e, "in the '%s' filter", n->name); /* say which one failed */
out:
	json_decref(in);
	json_decref(args);
	json_decref(kw);
	return r;
}

static json_t *eval_test(struct eval *ev, const struct node *n)
{
	const struct test_def *t = n->def ? n->def : test_find(plugin_short_name(n->name));
	json_t *in = NULL, *args = NULL, *kw = NULL, *r = NULL;
	int res = 0;
	if (!t) {
		ev->pos = n->pos;
		eval_fail(ev, "template error while templating string: No test named '%s'.",
		          n->name);
		return NULL;
	}
	in = eval_expr(ev, n->a);
	if (!in || eval_args(ev, n, &args, &kw) < 0)
		goto out;
	ev->pos = n->pos;
	if (!t->undef_ok && (eval_check_defined(ev, in) < 0 || eval_check_defined(ev, args) < 0))
		goto out;
	ev->test_kw = kw;
	int trc = t->fn(ev, in, args, &res);
	ev->test_kw = NULL;
	if (trc < 0)
		goto out;
	r = json_boolean(n->negate ? !res : res);
out:
	json_decref(in);
	json_decref(args);
	json_decref(kw);
	return r;
}

static json_t *eval_call(struct eval *ev, const struct node *n)
{
	json_t *args = NULL, *kw = NULL, *obj = NULL, *r = NULL;
	const struct node *callee = n->a;
	if (callee->kind == N_GETATTR) {
		obj = eval_expr(ev, callee->a);
		if (!obj)
			return NULL;
		if (is_undef(obj)) {
			eval_fail_undef(ev, obj);
			goto out;
		}
	} else if (callee->kind != N_NAME) {
		ev->pos = n->pos;
		eval_fail(ev, "this expression cannot be called");
		return NULL;
	}
	if (eval_args(ev, n, &args, &kw) < 0)
		goto out;
	ev->pos = n->pos;
	if (obj) {
		if (eval_check_defined(ev, args) < 0)
			goto out;
		r = method_call(ev, obj, callee->name, args, kw);
	} else {
		int found = 0;
		r = global_call(ev, callee->name, args, kw, &found);
		if (!found && !ev->e->code) {
			json_t *v = eval_var(ev, callee->name);
			if (v && is_macro(v))
				r = macro_call(ev, v, args, kw);
			else if (v && is_undef(v))
				eval_fail_undef(ev, v);
			else if (v)
				eval_fail(ev, "'%s' object is not callable", py_type_name(v));
			json_decref(v);
		}
	}
out:
	json_decref(obj);
	json_decref(args);
	json_decref(kw);
	return r;
}

json_t *eval_expr(struct eval *ev, const struct node *n)
{
	switch (n->kind) {
	case N_CONST:
		return json_incref(n->val);
	case N_NAME:
		ev->pos = n->pos;
		return undef_at(eval_var(ev, n->name), n->pos);
	case N_GETATTR:
		return eval_getattr(ev, n);
	case N_GETITEM:
		return eval_getitem(ev, n);
	case N_SLICE:
		return eval_slice(ev, n);
	case N_LIST:
	case N_TUPLE:
		return eval_list(ev, n);
	case N_DICT:
		return eval_dict(ev, n);
	case N_BINOP:
		return eval_binop(ev, n);
	case N_NEG:
	case N_POS:
	case N_NOT:
		return eval_unary(ev, n);
	case N_AND:
	case N_OR:
		return eval_logic(ev, n);
	case N_COMPARE:
		return eval_compare(ev, n);
	case N_COND:
		return eval_cond(ev, n);
	case N_FILTER:
		return eval_filter(ev, n);
	case N_TEST:
		return eval_test(ev, n);
	case N_CALL:
		return eval_call(ev, n);
	case N_CONCAT:
		return eval_concat(ev, n);
	}
	ev->pos = n->pos;
	eval_fail(ev, "internal error: unknown node %d", n->kind);
	return NULL;
}
