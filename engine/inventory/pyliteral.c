/*
 * Python's ast.literal_eval, which Ansible's INI inventory applies to every
 * value: numbers (0x1F, 1_000, 1e3, but 0755 is a syntax error and stays
 * text), quoted strings with Python escapes, True/False/None, lists, tuples
 * (as lists), dicts and sets (as lists). Anything else is not a literal and
 * the caller keeps the text, as Ansible does.
 */
#include "inventory/inv_int.h"
#include "util/buf.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lit {
	const char *p;
	int depth;
};

static json_t *parse_value(struct lit *l);

static void skip_ws(struct lit *l)
{
	for (;;) {
		while (*l->p == ' ' || *l->p == '\t' || *l->p == '\f' ||
		       (l->depth && (*l->p == '\n' || *l->p == '\r')))
			l->p++;
		if (*l->p != '#')
			return;
		while (*l->p && *l->p != '\n')
			l->p++;
		if (!l->depth)
			return;
	}
}

static int is_ident(int c)
{
	return isalnum(c) || c == '_' || (c & 0x80);
}

/* digit (_? digit)* with digits from set; returns chars consumed. */
static size_t digitpart(const char *s, const char *set, struct buf *out)
{
	size_t i = 0;
	if (!*s || !strchr(set, s[0]))
		return 0;
	for (;;) {
		buf_addc(out, s[i++]);
		if (s[i] && strchr(set, s[i]))
			continue;
		if (s[i] == '_' && s[i + 1] && strchr(set, s[i + 1])) {
			i++;
			continue;
		}
		return i;
	}
}

static json_t *parse_prefixed_int(struct lit *l, const char *set, int base, int neg)
{
	struct buf b = BUF_INIT;
	size_t n = digitpart(l->p + 2, set, &b);
	json_t *v = NULL;
	if (n && !is_ident((unsigned char)l->p[2 + n])) {
		errno = 0;
		long long x = strtoll(buf_str(&b), NULL, base);
		if (!errno)
			v = json_integer(neg ? -x : x);
		l->p += 2 + n;
	}
	buf_release(&b);
	return v;
}

static json_t *parse_number(struct lit *l, int neg)
{
	const char *s = l->p;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_prefixed_int(l, "0123456789abcdefABCDEF", 16, neg);
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		return parse_prefixed_int(l, "01234567", 8, neg);
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		return parse_prefixed_int(l, "01", 2, neg);
	struct buf b = BUF_INIT;
	json_t *v = NULL;
	size_t i = digitpart(s, "0123456789", &b);
	int is_float = 0;
	if (s[i] == '.') {
		buf_addc(&b, '.');
		i++;
		i += digitpart(s + i, "0123456789", &b);
		is_float = 1;
	}
	if (b.len == 0 || !strcmp(buf_str(&b), "."))
		goto out;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1;
		struct buf ex = BUF_INIT;
		buf_addc(&ex, 'e');
		if (s[j] == '+' || s[j] == '-')
			buf_addc(&ex, s[j++]);
		size_t n = digitpart(s + j, "0123456789", &ex);
		if (n) {
			buf_adds(&b, buf_str(&ex));
			i = j + n;
			is_float = 1;
		}
		buf_release(&ex);
	}
	if (is_ident((unsigned char)s[i]))
		goto out; /* 1abc, 1j (complex): not something JSON can hold */
	const char *t = buf_str(&b);
	if (is_float) {
		double d = strtod(t, NULL);
		if (isfinite(d))
			v = json_real(neg ? -d : d);
	} else if (t[0] == '0' && strspn(t, "0") != strlen(t)) {
		goto out; /* 0755: leading zeros are a syntax error in Python 3 */
	} else {
		errno = 0;
		long long x = strtoll(t, NULL, 10);
		if (!errno)
			v = json_integer(neg ? -x : x);
	}
	l->p = s + i;
out:
	buf_release(&b);
	return v;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

static void add_utf8(struct buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (char)(0xC0 | (cp >> 6)));
		buf_addc(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_addc(b, (char)(0xE0 | (cp >> 12)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addc(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		buf_addc(b, (char)(0xF0 | (cp >> 18)));
		buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addc(b, (char)(0x80 | (cp & 0x3F)));
	}
}

/* One backslash escape at s (after the backslash); returns chars used or 0. */
static size_t escape(const char *s, struct buf *b)
{
	static const char from[] = "\n\\'\"abfnrtv", to[] = "\0\\'\"\a\b\f\n\r\t\v";
	const char *k = *s ? strchr(from, *s) : NULL;
	if (k) {
		if (*s != '\n')
			buf_addc(b, to[k - from]);
		return 1;
	}
	if (*s >= '0' && *s <= '7') {
		unsigned v = 0;
		size_t i = 0;
		while (i < 3 && s[i] >= '0' && s[i] <= '7')
			v = v * 8 + (unsigned)(s[i++] - '0');
		add_utf8(b, v);
		return i;
	}
	size_t want = *s == 'x' ? 2 : *s == 'u' ? 4 : *s == 'U' ? 8 : 0;
	if (!want) {
		buf_addc(b, '\\'); /* unknown escapes stay as written */
		buf_addc(b, *s);
		return *s ? 1 : 0;
	}
	unsigned long cp = 0;
	for (size_t i = 1; i <= want; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return 0;
		cp = cp * 16 + (unsigned long)hexval((unsigned char)s[i]);
	}
	if (cp > 0x10FFFF)
		return 0;
	add_utf8(b, cp);
	return want + 1;
}

/* One quoted string (prefix already consumed) appended to b; 0 or -1. */
static int parse_quoted(struct lit *l, int raw, struct buf *b)
{
	char q = *l->p;
	int triple = l->p[1] == q && l->p[2] == q;
	l->p += triple ? 3 : 1;
	for (;;) {
		char c = *l->p;
		if (!c || (!triple && c == '\n'))
			return -1;
		if (c == q && (!triple || (l->p[1] == q && l->p[2] == q))) {
			l->p += triple ? 3 : 1;
			return 0;
		}
		if (c == '\\' && raw) {
			buf_addc(b, c);
			if (l->p[1])
				buf_addc(b, l->p[1]);
			l->p += l->p[1] ? 2 : 1;
			continue;
		}
		if (c == '\\') {
			size_t n = escape(l->p + 1, b);
			if (!n)
				return -1;
			l->p += 1 + n;
			continue;
		}
		buf_addc(b, c);
		l->p++;
	}
}

/* A string prefix (r, b, u, rb, ...) then a quote; -1 if not a string. */
static int string_prefix(const char *s, int *raw, int *bytes)
{
	size_t n = 0;
	*raw = *bytes = 0;
	while (n < 2 && s[n] && strchr("rRbBuUfF", s[n])) {
		if (s[n] == 'f' || s[n] == 'F')
			return -1; /* f-strings are not literals */
		*raw |= s[n] == 'r' || s[n] == 'R';
		*bytes |= s[n] == 'b' || s[n] == 'B';
		n++;
	}
	return s[n] == '\'' || s[n] == '"' ? (int)n : -1;
}

/* Adjacent literals concatenate; bytes and text may not mix. */
static json_t *parse_strings(struct lit *l)
{
	struct buf b = BUF_INIT;
	int raw, bytes, kind = -1, n;
	while ((n = string_prefix(l->p, &raw, &bytes)) >= 0) {
		l->p += n;
		if ((kind >= 0 && kind != bytes) || parse_quoted(l, raw, &b)) {
			buf_release(&b);
			return NULL;
		}
		kind = bytes;
		skip_ws(l);
	}
	json_t *v = kind >= 0 ? json_stringn(b.s ? b.s : "", b.len) : NULL;
	buf_release(&b);
	return v;
}

/* Keys as Python's json.dumps writes non-string keys. */
static char *key_text(const json_t *k)
{
	if (json_is_string(k))
		return xstrdup(json_string_value(k));
	if (json_is_integer(k))
		return xasprintf("%lld", (long long)json_integer_value(k));
	if (json_is_true(k))
		return xstrdup("true");
	if (json_is_false(k))
		return xstrdup("false");
	if (json_is_null(k))
		return xstrdup("null");
	return NULL; /* floats and unhashable keys: leave the text alone */
}

static json_t *parse_seq(struct lit *l, char close, int braces)
{
	json_t *arr = json_array(), *obj = NULL;
	l->p++;
	for (;;) {
		skip_ws(l);
		if (*l->p == close) {
			l->p++;
			if (!obj && braces && !json_array_size(arr))
				obj = json_object(); /* {} is a dict, not a set */
			return obj ? (json_decref(arr), obj) : arr;
		}
		json_t *k = parse_value(l);
		if (!k)
			goto fail;
		skip_ws(l);
		if (braces && *l->p == ':' && !json_array_size(arr)) {
			l->p++;
			json_t *v = parse_value(l);
			char *kt = key_text(k);
			json_decref(k);
			if (!v || !kt) {
				json_decref(v);
				free(kt);
				goto fail;
			}
			if (!obj)
				obj = json_object();
			json_object_set_new(obj, kt, v);
			free(kt);
			skip_ws(l);
		} else if (obj) {
			json_decref(k);
			goto fail;
		} else {
			json_array_append_new(arr, k);
		}
		if (*l->p == ',')
			l->p++;
		else if (*l->p != close)
			goto fail;
	}
fail:
	json_decref(arr);
	json_decref(obj);
	return NULL;
}

static json_t *parse_value(struct lit *l)
{
	json_t *v = NULL;
	if (++l->depth > 100)
		goto out;
	skip_ws(l);
	const char *s = l->p;
	int raw, bytes, neg = 0;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		l->p++;
		skip_ws(l);
		s = l->p;
		if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1])))
			v = parse_number(l, neg);
	} else if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
		v = parse_number(l, 0);
	} else if (string_prefix(s, &raw, &bytes) >= 0) {
		v = parse_strings(l);
	} else if (*s == '[') {
		v = parse_seq(l, ']', 0);
	} else if (*s == '{') {
		v = parse_seq(l, '}', 1);
	} else if (*s == '(') {
		/* (x) is x; (x,) and () are tuples, which JSON holds as lists */
		const char *save = l->p;
		l->p++;
		skip_ws(l);
		json_t *inner = *l->p == ')' ? NULL : parse_value(l);
		skip_ws(l);
		if (inner && *l->p == ')') {
			l->p++;
			v = inner;
		} else {
			json_decref(inner);
			l->p = save;
			v = parse_seq(l, ')', 0);
		}
	} else if (is_ident((unsigned char)*s)) {
		size_t n = 0;
		while (is_ident((unsigned char)s[n]))
			n++;
		if (n == 4 && !strncmp(s, "True", 4))
			v = json_true();
		else if (n == 5 && !strncmp(s, "False", 5))
			v = json_false();
		else if (n == 4 && !strncmp(s, "None", 4))
			v = json_null();
		if (v)
			l->p += n;
	}
out:
	l->depth--;
	return v;
}

json_t *inv_pyliteral(const char *s)
{
	struct lit l = {s, 0};
	/* ast.literal_eval strips leading blanks before parsing */
	json_t *v = parse_value(&l);
	if (!v)
		return NULL;
	skip_ws(&l);
	if (*l.p == ',') {
		/* "a, b" is a tuple without its parentheses */
		json_t *t = json_array();
		json_array_append_new(t, v);
		v = t;
		while (*l.p == ',') {
			l.p++;
			skip_ws(&l);
			if (!*l.p || *l.p == '\n')
				break;
			json_t *item = parse_value(&l);
			if (!item) {
				json_decref(v);
				return NULL;
			}
			json_array_append_new(v, item);
			skip_ws(&l);
		}
	}
	while (*l.p == '\n' || *l.p == '\r')
		l.p++;
	if (*l.p) {
		json_decref(v);
		return NULL;
	}
	return v;
}
