/*
 * Python semantics over JSON values: truthiness, equality and ordering,
 * str() and repr() (what Ansible prints for lists, dicts, True/False/None
 * inside text), int()/float() conversion, iteration. Booleans count as the
 * integers 0 and 1, as in Python.
 */
#include "template/tmpl_int.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <wctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *undef_new(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *u = json_object();
	json_object_set_new(u, TMPL_UNDEF_KEY, tstrz(msg));
	return u;
}

int is_undef(const json_t *v)
{
	return v && json_is_object(v) && json_object_size(v) <= 3 &&
	       json_object_get(v, TMPL_UNDEF_KEY) != NULL;
}

/* Jinja's plain Undefined (an inline if without else): prints as "", is
 * false, but still fails `is defined`. */
json_t *undef_lenient(void)
{
	json_t *u = undef_new("the inline if-expression evaluated to false and no else section "
	                      "was defined.");
	json_object_set_new(u, "\x01lenient", json_true());
	return u;
}

/* Remember where an undefined value arose, for the error that reports it. */
json_t *undef_at(json_t *v, int pos)
{
	if (is_undef(v) && !json_object_get(v, "\x01pos"))
		json_object_set_new(v, "\x01pos", json_integer(pos));
	return v;
}

int is_lenient(const json_t *v)
{
	return is_undef(v) && json_object_get(v, "\x01lenient") != NULL;
}

const char *undef_msg(const json_t *v)
{
	return json_string_value(json_object_get(v, TMPL_UNDEF_KEY));
}

const char *py_type_name(const json_t *v)
{
	if (is_undef(v))
		return "AnsibleUndefined";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "dict";
	case JSON_ARRAY:
		return "list";
	case JSON_STRING:
		return "str";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "NoneType";
	}
}

int py_truthy(const json_t *v)
{
	if (!v)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_TRUE:
		return 1;
	default:
		return 0;
	}
}

int tmpl_truthy(const json_t *v)
{
	return v && py_truthy(v);
}

int is_number(const json_t *v)
{
	return json_is_number(v) || json_is_boolean(v);
}

double num_value(const json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	return json_number_value(v);
}

static long long int_value(const json_t *v)
{
	return json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
}

int py_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	if (is_number(a) && is_number(b)) {
		if ((json_is_integer(a) || json_is_boolean(a)) &&
		    (json_is_integer(b) || json_is_boolean(b)))
			return int_value(a) == int_value(b);
		return num_value(a) == num_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!py_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach ((json_t *)a, k, v) {
			json_t *w = json_object_get(b, k);
			if (!w || !py_equal(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

int py_compare(struct eval *ev, const json_t *a, const json_t *b, int *out)
{
	if (!a || !b) {
		if (ev)
			eval_fail(ev, "a comparison is missing its operand");
		return -2;
	}
	if (is_number(a) && is_number(b)) {
		if (!json_is_real(a) && !json_is_real(b)) {
			long long x = int_value(a), y = int_value(b);
			*out = x < y ? -1 : x > y;
		} else {
			double x = num_value(a), y = num_value(b);
			*out = x < y ? -1 : x > y;
		}
		return 0;
	}
	if (json_is_string(a) && json_is_string(b)) {
		/* UTF-8 byte order is code point order, Python's order */
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		*out = c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
		return 0;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t la = json_array_size(a), lb = json_array_size(b);
		for (size_t i = 0; i < la && i < lb; i++) {
			if (py_equal(json_array_get(a, i), json_array_get(b, i)))
				continue;
			return py_compare(ev, json_array_get(a, i), json_array_get(b, i), out);
		}
		*out = la < lb ? -1 : la > lb;
		return 0;
	}
	if (ev)
		eval_fail(ev, "'<' not supported between instances of '%s' and '%s'",
		          py_type_name(a), py_type_name(b));
	return -2;
}

void py_float_repr(double d, struct buf *b)
{
	if (isnan(d)) {
		buf_adds(b, "nan");
		return;
	}
	if (isinf(d)) {
		buf_adds(b, d > 0 ? "inf" : "-inf");
		return;
	}
	char tmp[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	char digits[32];
	size_t nd = 0;
	const char *p = tmp;
	if (*p == '-') {
		buf_addc(b, '-');
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	int exp = atoi(p + 1);
	if (exp >= -4 && exp < 16) {
		if (exp >= 0) {
			for (int i = 0; i <= exp; i++)
				buf_addc(b, (size_t)i < nd ? digits[i] : '0');
			buf_addc(b, '.');
			if ((size_t)exp + 1 < nd)
				buf_add(b, digits + exp + 1, nd - (size_t)exp - 1);
			else
				buf_addc(b, '0');
		} else {
			buf_adds(b, "0.");
			for (int i = 0; i < -exp - 1; i++)
				buf_addc(b, '0');
			buf_add(b, digits, nd);
		}
	} else {
		buf_addc(b, digits[0]);
		if (nd > 1) {
			buf_addc(b, '.');
			buf_add(b, digits + 1, nd - 1);
		}
		buf_addf(b, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
	}
}

/* Is code point c printable as Python's str.isprintable() sees it? A close
 * approximation: controls and a few separators are not. */
static int printable(unsigned long c)
{
	if (c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0xAD)
		return 0;
	if (c == 0x2028 || c == 0x2029 || (c >= 0xD800 && c < 0xE000) || c == 0xFEFF)
		return 0;
	return 1;
}

static unsigned long utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
	if (extra && *i + (size_t)extra >= n) {
		(*i)++;
		return c;
	}
	unsigned long v = extra == 3 ? c & 7u : extra == 2 ? c & 15u : extra == 1 ? c & 31u : c;
	for (int j = 1; j <= extra; j++)
		v = (v << 6) | (s[*i + (size_t)j] & 63u);
	*i += (size_t)extra + 1;
	return v;
}

size_t utf8_len(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			k++;
	return k;
}

static void repr_string(const char *s, size_t n, struct buf *b)
{
	char q = '\'';
	if (memchr(s, '\'', n) && !memchr(s, '"', n))
		q = '"';
	buf_addc(b, q);
	size_t i = 0;
	while (i < n) {
		size_t st = i;
		unsigned long c = utf8_next((const unsigned char *)s, n, &i);
		if (c == (unsigned long)(unsigned char)q || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else if (c == '\n') {
			buf_adds(b, "\\n");
		} else if (c == '\r') {
			buf_adds(b, "\\r");
		} else if (c == '\t') {
			buf_adds(b, "\\t");
		} else if (!printable(c)) {
			if (c < 0x100)
				buf_addf(b, "\\x%02lx", c);
			else if (c < 0x10000)
				buf_addf(b, "\\u%04lx", c);
			else
				buf_addf(b, "\\U%08lx", c);
		} else {
			buf_add(b, s + st, i - st);
		}
	}
	buf_addc(b, q);
}

void py_repr(const json_t *v, struct buf *b)
{
	size_t i;
	const char *k;
	json_t *x;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (is_undef(v)) {
			buf_adds(b, "AnsibleUndefined");
			return;
		}
		buf_addc(b, '{');
		i = 0;
		json_object_foreach ((json_t *)v, k, x) {
			if (i++)
				buf_adds(b, ", ");
			repr_string(k, strlen(k), b);
			buf_adds(b, ": ");
			py_repr(x, b);
		}
		buf_addc(b, '}');
		return;
	case JSON_ARRAY:
		buf_addc(b, '[');
		json_array_foreach (v, i, x) {
			if (i)
				buf_adds(b, ", ");
			py_repr(x, b);
		}
		buf_addc(b, ']');
		return;
	case JSON_STRING:
		repr_string(json_string_value(v), json_string_length(v), b);
		return;
	case JSON_INTEGER:
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	case JSON_REAL:
		py_float_repr(json_real_value(v), b);
		return;
	case JSON_TRUE:
		buf_adds(b, "True");
		return;
	case JSON_FALSE:
		buf_adds(b, "False");
		return;
	default:
		buf_adds(b, "None");
	}
}

void py_str(const json_t *v, struct buf *b)
{
	if (json_is_string(v))
		buf_add(b, json_string_value(v), json_string_length(v));
	else
		py_repr(v, b);
}

char *py_str_dup(const json_t *v)
{
	struct buf b = BUF_INIT;
	py_str(v, &b);
	buf_add(&b, "", 0); /* allocates and NUL-terminates */
	return buf_detach(&b);
}

char *tmpl_to_text(const json_t *v)
{
	if (json_is_null(v))
		return xstrdup("");
	return py_str_dup(v);
}

static int parse_int_text(const char *s, long long *out)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	char *end;
	errno = 0;
	/* Python's int() allows underscores between digits; rare in practice */
	long long v = strtoll(s, &end, 10);
	if (end == s || errno)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int py_to_int(const json_t *v, long long *out)
{
	if (json_is_integer(v) || json_is_boolean(v)) {
		*out = int_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (isnan(d) || isinf(d))
			return -1;
		*out = num_ll(v);
		return 0;
	}
	if (json_is_string(v))
		return parse_int_text(json_string_value(v), out);
	return -1;
}

int py_to_float(const json_t *v, double *out)
{
	if (is_number(v)) {
		*out = num_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	const char *s = json_string_value(v);
	char *end;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!*s)
		return -1;
	/* strtod would take hex floats, which Python's float() refuses */
	if (strchr(s, 'x') || strchr(s, 'X'))
		return -1;
	double d = strtod(s, &end);
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (end == s || *end)
		return -1;
	*out = d;
	return 0;
}

json_t *py_iter(struct eval *ev, const json_t *v)
{
	if (json_is_array(v))
		return json_incref((json_t *)v);
	json_t *l = json_array();
	if (json_is_object(v) && !is_undef(v)) {
		const char *k;
		json_t *x;
		json_object_foreach ((json_t *)v, k, x)
			json_array_append_new(l, tstrz(k));
		return l;
	}
	if (json_is_string(v)) {
		const unsigned char *s = (const unsigned char *)json_string_value(v);
		size_t n = json_string_length(v), i = 0;
		while (i < n) {
			size_t st = i;
			utf8_next(s, n, &i);
			json_array_append_new(l, tstr((const char *)s + st, i - st));
		}
		return l;
	}
	json_decref(l);
	if (is_undef(v))
		eval_fail_undef(ev, v);
	else
		eval_fail(ev, "'%s' object is not iterable", py_type_name(v));
	return NULL;
}

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static void put_cp(struct buf *b, unsigned long c)
{
	char t[4];
	size_t n = 0;
	if (c < 0x80) {
		t[n++] = (char)c;
	} else if (c < 0x800) {
		t[n++] = (char)(0xC0 | (c >> 6));
		t[n++] = (char)(0x80 | (c & 63));
	} else if (c < 0x10000) {
		t[n++] = (char)(0xE0 | (c >> 12));
		t[n++] = (char)(0x80 | ((c >> 6) & 63));
		t[n++] = (char)(0x80 | (c & 63));
	} else {
		t[n++] = (char)(0xF0 | (c >> 18));
		t[n++] = (char)(0x80 | ((c >> 12) & 63));
		t[n++] = (char)(0x80 | ((c >> 6) & 63));
		t[n++] = (char)(0x80 | (c & 63));
	}
	buf_add(b, t, n);
}

/*
 * Case mapping of UTF-8 text through the C.UTF-8 locale (so é becomes É
 * as in Python). mode: 'l' lower, 'u' upper, 'c' capitalize, 't' Jinja's
 * title (words start after - whitespace ( { [ <), 'T' Python's str.title
 * (words start after any non-letter).
 */
json_t *utf8_case(const char *s, size_t n, int mode)
{
	pthread_once(&utf8_once, utf8_locale_init);
	struct buf b = BUF_INIT;
	int start = 1;
	size_t i = 0;
	while (i < n) {
		unsigned long c = utf8_next((const unsigned char *)s, n, &i);
		int up;
		if (mode == 'l')
			up = 0;
		else if (mode == 'u')
			up = 1;
		else
			up = start;
		wint_t w = (wint_t)c;
		if (utf8_locale)
			w = up ? towupper_l(w, utf8_locale) : towlower_l(w, utf8_locale);
		else if (c < 128)
			w = (wint_t)(up ? toupper((int)c) : tolower((int)c));
		put_cp(&b, (unsigned long)w);
		if (mode == 'c')
			start = 0;
		else if (mode == 't')
			start = c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			        c == '\v' || c == '\f' || c == '(' || c == '{' || c == '[' ||
			        c == '<';
		else if (mode == 'T')
			start =
			    !(utf8_locale ? iswalpha_l((wint_t)c, utf8_locale) : isalpha((int)c));
	}
	json_t *r = tstr(b.s ? b.s : "", b.len);
	buf_release(&b);
	return r;
}

static int utf8_valid_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
	unsigned char c = s[i];
	size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	if (!k || i + k > n || (k == 2 && c < 0xC2) || (k == 4 && c > 0xF4))
		return 0;
	for (size_t j = 1; j < k; j++)
		if ((s[i + j] & 0xC0) != 0x80)
			return 0;
	if (k == 3 && ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0)))
		return 0;
	if (k == 4 && ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90)))
		return 0;
	*len = k;
	return 1;
}

int utf8_valid(const char *s, size_t n)
{
	size_t k;
	for (size_t i = 0; i < n; i += k)
		if (!utf8_valid_at((const unsigned char *)s, n, i, &k) || s[i] == '\0')
			return 0;
	return 1;
}

/*
 * A JSON string that never fails: bytes that are not UTF-8 (from a file,
 * a command, b64decode, a byte-wise regex group) become U+FFFD, as Python's
 * errors='replace' does, instead of Jansson refusing them.
 */
json_t *tstr(const char *s, size_t n)
{
	json_t *r = json_stringn(s, n);
	if (r)
		return r;
	struct buf b = BUF_INIT;
	size_t k;
	for (size_t i = 0; i < n; i += k) {
		if (utf8_valid_at((const unsigned char *)s, n, i, &k) && s[i] != '\0') {
			buf_add(&b, s + i, k);
		} else {
			buf_adds(&b, "\xEF\xBF\xBD");
			k = 1;
		}
	}
	r = json_stringn(b.s ? b.s : "", b.len);
	buf_release(&b);
	return r;
}

json_t *tstrz(const char *s)
{
	return tstr(s, strlen(s));
}

long long num_ll(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_boolean(v))
		return json_is_true(v);
	double d = json_is_real(v) ? json_real_value(v) : 0;
	if (isnan(d))
		return 0;
	if (d >= 9.2233720368547758e18)
		return LLONG_MAX;
	if (d <= -9.2233720368547758e18)
		return LLONG_MIN;
	return (long long)d;
}

int num_int(const json_t *v, int lo, int hi)
{
	long long n = num_ll(v);
	return n < lo ? lo : n > hi ? hi : (int)n;
}

/* 1 if v is target or holds it (a cycle in the making), or nests deeper
 * than limit levels: values a template builds up step by step (append,
 * namespace attributes) are kept shallow and acyclic, since printing,
 * copying and freeing them all recurse. */
int value_too_deep(const json_t *v, const json_t *target, int limit)
{
	size_t i;
	const char *k;
	json_t *x;
	if (v == target || limit <= 0)
		return 1;
	if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			if ((json_is_array(x) || json_is_object(x)) &&
			    value_too_deep(x, target, limit - 1))
				return 1;
	} else if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, x)
			if ((json_is_array(x) || json_is_object(x)) &&
			    value_too_deep(x, target, limit - 1))
				return 1;
	}
	return 0;
}
