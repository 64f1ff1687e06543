/*
 * yaml_dump: a port of the part of the YAML emitter that Ansible's
 * yaml.dump(v, Dumper=AnsibleDumper, default_flow_style=False or None,
 * allow_unicode=True, indent=N) exercises - AnsibleDumper is libyaml's
 * CSafeDumper - for JSON-shaped data: block collections, empty flow
 * collections, sorted keys, and the plain / single / double quoted scalar
 * choice with folding at 80 columns. Ansible's to_yaml, to_nice_yaml and
 * ansible-inventory --yaml all go through that emitter, so matching it byte
 * for byte is what makes drover's output diff cleanly against Ansible's.
 */
#include "yaml/yaml.h"
#include "util/mem.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEST_WIDTH 80

struct emitter {
	struct buf *out;
	int best_indent;
	int indent; /* -1: none yet (PyYAML's None) */
	int *indents;
	int nindents, capindents;
	int column;
	int whitespace, indention, open_ended; /* open_ended: unused by libyaml's rules */
	int flow_level;
	int flow_auto;
	int root, sequence, mapping, simple_key; /* context of the current node */
	json_t *anchors; /* "%p" of a list/dict met twice -> anchor number */
	json_t *emitted; /* "%p" of anchored nodes already written */
	int nanchors;
};

static void ptr_key(const json_t *v, char *key, size_t size)
{
	snprintf(key, size, "%p", (const void *)v);
}

static int cmp_str(const void *a, const void *b);

/*
 * PyYAML's Serializer.anchor_node: a list or dict reached a second time
 * (the same json_t, shared) gets an anchor, numbered in the order the
 * second meetings happen in a walk with sorted keys; it is written once
 * with &idNNN and then as *idNNN, as ansible-inventory --yaml does.
 */
static void anchor_walk(struct emitter *em, const json_t *v, json_t *seen)
{
	if (!json_is_array(v) && !json_is_object(v))
		return;
	char key[32];
	ptr_key(v, key, sizeof(key));
	if (json_object_get(seen, key)) {
		if (!json_object_get(em->anchors, key))
			json_object_set_new(em->anchors, key, json_integer(++em->nanchors));
		return;
	}
	json_object_set_new(seen, key, json_true());
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			anchor_walk(em, json_array_get(v, i), seen);
		return;
	}
	size_t n = json_object_size(v), i = 0;
	const char **keys = xmalloc((n + 1) * sizeof(*keys));
	const char *k;
	json_t *x;
	json_object_foreach ((json_t *)v, k, x)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		anchor_walk(em, json_object_get(v, keys[i]), seen);
	free(keys);
}

struct analysis {
	int empty, multiline;
	int allow_flow_plain, allow_block_plain, allow_single_quoted;
};

/* Code points of a UTF-8 string; invalid bytes pass through as themselves. */
static uint32_t *utf8_decode(const char *s, size_t len, size_t *n)
{
	uint32_t *cp = xmalloc((len + 1) * sizeof(*cp));
	size_t i = 0, k = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
		uint32_t v = extra == 3 ? c & 7u : extra == 2 ? c & 15u : extra == 1 ? c & 31u : c;
		if (extra && i + (size_t)extra >= len) {
			extra = 0;
			v = c;
		}
		for (int j = 1; j <= extra; j++)
			v = (v << 6) | ((unsigned char)s[i + (size_t)j] & 63u);
		cp[k++] = v;
		i += (size_t)extra + 1;
	}
	*n = k;
	return cp;
}

static void put_cp(struct buf *b, uint32_t c)
{
	char t[4];
	if (c < 0x80) {
		buf_addc(b, (char)c);
	} else if (c < 0x800) {
		t[0] = (char)(0xC0 | (c >> 6));
		t[1] = (char)(0x80 | (c & 63));
		buf_add(b, t, 2);
	} else if (c < 0x10000) {
		t[0] = (char)(0xE0 | (c >> 12));
		t[1] = (char)(0x80 | ((c >> 6) & 63));
		t[2] = (char)(0x80 | (c & 63));
		buf_add(b, t, 3);
	} else {
		t[0] = (char)(0xF0 | (c >> 18));
		t[1] = (char)(0x80 | ((c >> 12) & 63));
		t[2] = (char)(0x80 | ((c >> 6) & 63));
		t[3] = (char)(0x80 | (c & 63));
		buf_add(b, t, 4);
	}
}

static void put_cps(struct emitter *em, const uint32_t *t, size_t start, size_t end)
{
	for (size_t i = start; i < end; i++)
		put_cp(em->out, t[i]);
	em->column += (int)(end - start);
}

static int is_break(uint32_t c)
{
	return c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static int is_ws(uint32_t c)
{
	return c == 0 || c == ' ' || c == '\t' || c == '\r' || is_break(c);
}

static void push_indent(struct emitter *em)
{
	if (em->nindents == em->capindents) {
		em->capindents = em->capindents ? em->capindents * 2 : 16;
		em->indents = xrealloc(em->indents, (size_t)em->capindents * sizeof(int));
	}
	em->indents[em->nindents++] = em->indent;
}

static void increase_indent(struct emitter *em, int flow, int indentless)
{
	push_indent(em);
	if (em->indent < 0)
		em->indent = flow ? em->best_indent : 0;
	else if (!indentless)
		em->indent += em->best_indent;
}

static void pop_indent(struct emitter *em)
{
	em->indent = em->indents[--em->nindents];
}

static void write_indicator(struct emitter *em, const char *ind, int need_ws, int whitespace,
                            int indention)
{
	if (!em->whitespace && need_ws) {
		buf_addc(em->out, ' ');
		em->column++;
	}
	buf_adds(em->out, ind);
	em->column += (int)strlen(ind);
	em->whitespace = whitespace;
	em->indention = em->indention && indention;
	em->open_ended = 0;
}

static void write_line_break(struct emitter *em)
{
	buf_addc(em->out, '\n');
	em->whitespace = 1;
	em->indention = 1;
	em->column = 0;
}

static void write_indent(struct emitter *em)
{
	int indent = em->indent < 0 ? 0 : em->indent;
	if (!em->indention || em->column > indent || (em->column == indent && !em->whitespace))
		write_line_break(em);
	if (em->column < indent) {
		em->whitespace = 1;
		for (; em->column < indent; em->column++)
			buf_addc(em->out, ' ');
	}
}

static void analyze(const uint32_t *s, size_t n, struct analysis *a)
{
	memset(a, 0, sizeof(*a));
	if (n == 0) {
		a->empty = 1;
		a->allow_block_plain = a->allow_single_quoted = 1;
		return;
	}
	int block_ind = 0, flow_ind = 0, line_breaks = 0, special = 0;
	int lead_sp = 0, lead_br = 0, trail_sp = 0, trail_br = 0, break_sp = 0, sp_break = 0;
	if (n >= 3 && ((s[0] == '-' && s[1] == '-' && s[2] == '-') ||
	               (s[0] == '.' && s[1] == '.' && s[2] == '.')))
		block_ind = flow_ind = 1;
	int preceded_ws = 1, followed_ws = n == 1 || is_ws(s[1]);
	int prev_space = 0, prev_break = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t ch = s[i];
		if (i == 0) {
			if (ch < 128 && strchr("#,[]{}&*!|>'\"%@`", (int)ch)) {
				flow_ind = block_ind = 1;
			}
			if (ch == '?' || ch == ':') {
				flow_ind = 1;
				if (followed_ws)
					block_ind = 1;
			}
			if (ch == '-' && followed_ws)
				flow_ind = block_ind = 1;
		} else {
			if (ch < 128 && strchr(",?[]{}", (int)ch))
				flow_ind = 1;
			if (ch == ':') {
				flow_ind = 1;
				if (followed_ws)
					block_ind = 1;
			}
			if (ch == '#' && preceded_ws)
				flow_ind = block_ind = 1;
		}
		if (is_break(ch))
			line_breaks = 1;
		if (!(ch == '\n' || (ch >= 0x20 && ch <= 0x7E))) {
			/* libyaml prints no 4-byte characters */
			int uni = (ch == 0x85 || (ch >= 0xA0 && ch <= 0xD7FF) ||
			           (ch >= 0xE000 && ch <= 0xFFFD)) &&
			          ch != 0xFEFF;
			if (!uni)
				special = 1;
		}
		if (ch == ' ') {
			if (i == 0)
				lead_sp = 1;
			if (i == n - 1)
				trail_sp = 1;
			if (prev_break)
				break_sp = 1;
			prev_space = 1;
			prev_break = 0;
		} else if (is_break(ch)) {
			if (i == 0)
				lead_br = 1;
			if (i == n - 1)
				trail_br = 1;
			if (prev_space)
				sp_break = 1;
			prev_space = 0;
			prev_break = 1;
		} else {
			prev_space = prev_break = 0;
		}
		preceded_ws = is_ws(ch);
		followed_ws = i + 2 >= n || is_ws(s[i + 2]);
	}
	a->multiline = line_breaks;
	a->allow_flow_plain = a->allow_block_plain = a->allow_single_quoted = 1;
	if (lead_sp || lead_br || trail_sp || trail_br)
		a->allow_flow_plain = a->allow_block_plain = 0;
	if (break_sp)
		a->allow_flow_plain = a->allow_block_plain = a->allow_single_quoted = 0;
	if (sp_break || special)
		a->allow_flow_plain = a->allow_block_plain = a->allow_single_quoted = 0;
	if (line_breaks)
		a->allow_flow_plain = a->allow_block_plain = 0;
	if (flow_ind)
		a->allow_flow_plain = 0;
	if (block_ind)
		a->allow_block_plain = 0;
}

static void write_plain(struct emitter *em, const uint32_t *t, size_t n, int split)
{
	if (em->root)
		em->open_ended = 1;
	if (n == 0)
		return;
	if (!em->whitespace) {
		buf_addc(em->out, ' ');
		em->column++;
	}
	em->whitespace = em->indention = 0;
	int spaces = 0;
	size_t start = 0;
	for (size_t end = 0; end <= n; end++) {
		uint32_t ch = end < n ? t[end] : 0;
		int none = end == n;
		if (spaces) {
			if (none || ch != ' ') {
				if (start + 1 == end && em->column > BEST_WIDTH && split) {
					write_indent(em);
					em->whitespace = em->indention = 0;
				} else {
					put_cps(em, t, start, end);
				}
				start = end;
			}
		} else if (none || ch == ' ') {
			put_cps(em, t, start, end);
			start = end;
		}
		if (!none)
			spaces = ch == ' ';
	}
}

static void write_single_quoted(struct emitter *em, const uint32_t *t, size_t n, int split)
{
	write_indicator(em, "'", 1, 0, 0);
	int spaces = 0, breaks = 0;
	size_t start = 0;
	for (size_t end = 0; end <= n; end++) {
		int none = end == n;
		uint32_t ch = none ? 0 : t[end];
		if (spaces) {
			if (none || ch != ' ') {
				if (start + 1 == end && em->column > BEST_WIDTH && split &&
				    start != 0 && end != n)
					write_indent(em);
				else
					put_cps(em, t, start, end);
				start = end;
			}
		} else if (breaks) {
			if (none || !is_break(ch)) {
				if (t[start] == '\n')
					write_line_break(em);
				for (size_t i = start; i < end; i++) {
					if (t[i] == '\n') {
						write_line_break(em);
					} else {
						put_cp(em->out, t[i]);
						em->whitespace = em->indention = 1;
						em->column = 0;
					}
				}
				write_indent(em);
				start = end;
			}
		} else if (none || ch == ' ' || is_break(ch) || ch == '\'') {
			if (start < end) {
				put_cps(em, t, start, end);
				start = end;
			}
		}
		if (ch == '\'' && !none) {
			buf_adds(em->out, "''");
			em->column += 2;
			start = end + 1;
		}
		if (!none) {
			spaces = ch == ' ';
			breaks = is_break(ch);
		}
	}
	write_indicator(em, "'", 0, 0, 0);
}

static const char *escape_for(uint32_t ch)
{
	switch (ch) {
	case 0:
		return "0";
	case 7:
		return "a";
	case 8:
		return "b";
	case 9:
		return "t";
	case 10:
		return "n";
	case 11:
		return "v";
	case 12:
		return "f";
	case 13:
		return "r";
	case 27:
		return "e";
	case '"':
		return "\"";
	case '\\':
		return "\\";
	case 0x85:
		return "N";
	case 0xA0:
		return "_";
	case 0x2028:
		return "L";
	case 0x2029:
		return "P";
	}
	return NULL;
}

static int dq_plain_char(uint32_t ch)
{
	if (ch == '"' || ch == '\\' || ch == 0x85 || ch == 0x2028 || ch == 0x2029 || ch == 0xFEFF)
		return 0;
	return (ch >= 0x20 && ch <= 0x7E) || (ch >= 0xA0 && ch <= 0xD7FF) ||
	       (ch >= 0xE000 && ch <= 0xFFFD);
}

/* libyaml's writer: folds at a space once past the width, the space
 * becoming the line break (a following space is escaped with '\'). */
static void write_double_quoted(struct emitter *em, const uint32_t *t, size_t n, int split)
{
	write_indicator(em, "\"", 1, 0, 0);
	int spaces = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t ch = t[i];
		if (!dq_plain_char(ch)) {
			char esc[16];
			const char *r = escape_for(ch);
			if (r)
				snprintf(esc, sizeof(esc), "\\%s", r);
			else if (ch <= 0xFF)
				snprintf(esc, sizeof(esc), "\\x%02X", (unsigned)ch);
			else if (ch <= 0xFFFF)
				snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)ch);
			else
				snprintf(esc, sizeof(esc), "\\U%08X", (unsigned)ch);
			buf_adds(em->out, esc);
			em->column += (int)strlen(esc);
			spaces = 0;
		} else if (ch == ' ') {
			if (split && !spaces && em->column > BEST_WIDTH && i != 0 && i != n - 1) {
				write_indent(em);
				if (i + 1 < n && t[i + 1] == ' ') {
					buf_addc(em->out, '\\');
					em->column++;
				}
			} else {
				put_cps(em, t, i, i + 1);
			}
			spaces = 1;
		} else {
			put_cps(em, t, i, i + 1);
			spaces = 0;
		}
	}
	write_indicator(em, "\"", 0, 0, 0);
}

/* PyYAML's YAML 1.1 implicit resolvers: a string matching one of these
 * would load back as something else, so it cannot be written plain. */
static const char *const resolver_res[] = {
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
    "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    "^(<<|=|~|null|Null|NULL|)$",
    "^([0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:"
    "[0-9][0-9](\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?"
    "|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9])$",
};

#define NRES (sizeof(resolver_res) / sizeof(resolver_res[0]))

static regex_t resolver_re[NRES];
static pthread_once_t resolver_once = PTHREAD_ONCE_INIT;

/* Compiled once for the process; to_nice_yaml runs on worker threads. */
static void resolver_compile(void)
{
	for (size_t i = 0; i < NRES; i++)
		if (regcomp(&resolver_re[i], resolver_res[i], REG_EXTENDED | REG_NOSUB))
			abort();
}

static int resolves_to_other(const char *s)
{
	regex_t *re = resolver_re;
	pthread_once(&resolver_once, resolver_compile);
	/* Python's $ also matches before one trailing newline. */
	size_t len = strlen(s);
	char *copy = NULL;
	if (len && s[len - 1] == '\n') {
		copy = xstrndup(s, len - 1);
		s = copy;
	}
	int hit = 0;
	for (size_t i = 0; i < NRES && !hit; i++)
		hit = regexec(&re[i], s, 0, NULL, 0) == 0;
	free(copy);
	return hit;
}

static void float_repr(double d, char *out, size_t size)
{
	if (isnan(d)) {
		snprintf(out, size, ".nan");
		return;
	}
	if (isinf(d)) {
		snprintf(out, size, d > 0 ? ".inf" : "-.inf");
		return;
	}
	char tmp[64];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* tmp is [-]D[.DDD]e[+-]XX: rebuild it the way Python's repr does. */
	char digits[32];
	size_t nd = 0;
	const char *p = tmp;
	int neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	digits[nd] = '\0';
	int exp = atoi(p + 1);
	char res[64];
	size_t r = 0;
	if (neg)
		res[r++] = '-';
	if (exp >= -4 && exp < 16) {
		if (exp >= 0) {
			for (int i = 0; i <= exp; i++)
				res[r++] = (size_t)i < nd ? digits[i] : '0';
			res[r++] = '.';
			if ((size_t)exp + 1 < nd)
				for (size_t i = (size_t)exp + 1; i < nd; i++)
					res[r++] = digits[i];
			else
				res[r++] = '0';
		} else {
			res[r++] = '0';
			res[r++] = '.';
			for (int i = 0; i < -exp - 1; i++)
				res[r++] = '0';
			for (size_t i = 0; i < nd; i++)
				res[r++] = digits[i];
		}
		res[r] = '\0';
	} else {
		/* PyYAML writes 1e+16 as 1.0e+16 so that it reads back as a float. */
		res[r++] = digits[0];
		res[r++] = '.';
		if (nd > 1)
			for (size_t i = 1; i < nd; i++)
				res[r++] = digits[i];
		else
			res[r++] = '0';
		snprintf(res + r, sizeof(res) - r, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
	}
	snprintf(out, size, "%s", res);
}

/* The scalar text of a non-container value and whether it may be plain. */
static char *scalar_text(const json_t *v, int *implicit_plain)
{
	char tmp[64];
	*implicit_plain = 1;
	switch (json_typeof(v)) {
	case JSON_STRING:
		*implicit_plain = !resolves_to_other(json_string_value(v));
		return xstrndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return xstrdup(tmp);
	case JSON_REAL:
		float_repr(json_real_value(v), tmp, sizeof(tmp));
		return xstrdup(tmp);
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	default:
		return xstrdup("null");
	}
}

static void emit_scalar(struct emitter *em, const json_t *v)
{
	int implicit;
	char *text = scalar_text(v, &implicit);
	size_t n;
	uint32_t *cp = utf8_decode(text, strlen(text), &n);
	struct analysis a;
	analyze(cp, n, &a);
	increase_indent(em, 1, 0);
	int split = !em->simple_key;
	char style = '"';
	if (implicit && !(em->simple_key && (a.empty || a.multiline)) &&
	    ((em->flow_level && a.allow_flow_plain) || (!em->flow_level && a.allow_block_plain)))
		style = 0;
	else if (a.allow_single_quoted && !(em->simple_key && a.multiline))
		style = '\'';
	if (style == 0)
		write_plain(em, cp, n, split);
	else if (style == '\'')
		write_single_quoted(em, cp, n, split);
	else
		write_double_quoted(em, cp, n, split);
	pop_indent(em);
	free(cp);
	free(text);
}

static void emit_node(struct emitter *em, const json_t *v, int root, int seq, int map, int skey);

static int is_empty_coll(const json_t *v)
{
	return (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_object(v) && json_object_size(v) == 0);
}

static void emit_sequence(struct emitter *em, const json_t *v)
{
	int indentless = em->mapping && !em->indention;
	increase_indent(em, 0, indentless);
	size_t i;
	const json_t *item;
	json_array_foreach (v, i, item) {
		write_indent(em);
		write_indicator(em, "-", 1, 0, 1);
		emit_node(em, item, 0, 1, 0, 0);
	}
	pop_indent(em);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int simple_key_ok(const char *k)
{
	size_t n;
	uint32_t *cp = utf8_decode(k, strlen(k), &n);
	struct analysis a;
	analyze(cp, n, &a);
	free(cp);
	return n <= 128 && !a.multiline;
}

static void emit_mapping(struct emitter *em, const json_t *v)
{
	increase_indent(em, 0, 0);
	size_t n = json_object_size(v), i = 0;
	const char **keys = xmalloc(n * sizeof(*keys));
	const char *k;
	json_t *val;
	json_object_foreach ((json_t *)v, k, val)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		json_t *key = json_string(keys[i]);
		write_indent(em);
		if (simple_key_ok(keys[i])) {
			emit_node(em, key, 0, 0, 1, 1);
			write_indicator(em, ":", 0, 0, 0);
		} else {
			write_indicator(em, "?", 1, 0, 1);
			emit_node(em, key, 0, 0, 1, 0);
			write_indent(em);
			write_indicator(em, ":", 1, 0, 1);
		}
		emit_node(em, json_object_get(v, keys[i]), 0, 0, 1, 0);
		json_decref(key);
	}
	free(keys);
	pop_indent(em);
}

static int all_scalars(const json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			if (json_is_array(x) || json_is_object(x))
				return 0;
	} else {
		json_object_foreach ((json_t *)v, k, x)
			if (json_is_array(x) || json_is_object(x))
				return 0;
	}
	return 1;
}

static void emit_flow(struct emitter *em, const json_t *v)
{
	int seq = json_is_array(v);
	write_indicator(em, seq ? "[" : "{", 1, 1, 0);
	increase_indent(em, 1, 0);
	em->flow_level++;
	size_t n = seq ? json_array_size(v) : json_object_size(v), i;
	const char **keys = NULL;
	if (!seq) {
		const char *k;
		json_t *x;
		keys = xmalloc((n + 1) * sizeof(*keys));
		i = 0;
		json_object_foreach ((json_t *)v, k, x)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), cmp_str);
	}
	for (i = 0; i < n; i++) {
		if (i)
			write_indicator(em, ",", 0, 0, 0);
		if (em->column > BEST_WIDTH)
			write_indent(em);
		if (seq) {
			emit_node(em, json_array_get(v, i), 0, 1, 0, 0);
			continue;
		}
		json_t *key = json_string(keys[i]);
		if (simple_key_ok(keys[i])) {
			emit_node(em, key, 0, 0, 1, 1);
			write_indicator(em, ":", 0, 0, 0);
		} else {
			write_indicator(em, "?", 1, 0, 0);
			emit_node(em, key, 0, 0, 1, 0);
			if (em->column > BEST_WIDTH)
				write_indent(em);
			write_indicator(em, ":", 1, 0, 0);
		}
		emit_node(em, json_object_get(v, keys[i]), 0, 0, 1, 0);
		json_decref(key);
	}
	free(keys);
	em->flow_level--;
	pop_indent(em);
	write_indicator(em, seq ? "]" : "}", 0, 0, 0);
}

static void emit_node(struct emitter *em, const json_t *v, int root, int seq, int map, int skey)
{
	em->root = root;
	em->sequence = seq;
	em->mapping = map;
	em->simple_key = skey;
	int coll = json_is_array(v) || json_is_object(v);
	json_t *anchor = NULL;
	char key[32];
	if (coll && em->nanchors) {
		ptr_key(v, key, sizeof(key));
		anchor = json_object_get(em->anchors, key);
	}
	if (anchor) {
		char ind[32];
		int again = json_object_get(em->emitted, key) != NULL;
		snprintf(ind, sizeof(ind),
		         "%c"
		         "id%03d",
		         again ? '*' : '&', (int)json_integer_value(anchor));
		write_indicator(em, ind, 1, 0, 0);
		if (again)
			return;
		json_object_set_new(em->emitted, key, json_true());
	}
	if (coll && (em->flow_level || is_empty_coll(v) || (em->flow_auto && all_scalars(v))))
		emit_flow(em, v);
	else if (json_is_array(v))
		emit_sequence(em, v);
	else if (json_is_object(v))
		emit_mapping(em, v);
	else
		emit_scalar(em, v);
}

/*
 * flow_auto: PyYAML's default_flow_style=None (to_yaml), where a collection
 * whose items are all scalars is written in flow style: [a, b], {k: v}.
 */
void yaml_dump_style(const json_t *v, int indent, int flow_auto, struct buf *out);
void yaml_dump_style(const json_t *v, int indent, int flow_auto, struct buf *out)
{
	struct emitter em = {0};
	em.out = out;
	em.best_indent = indent > 1 && indent < 10 ? indent : 2;
	em.indent = -1;
	em.whitespace = em.indention = 1;
	em.flow_auto = flow_auto;
	em.anchors = json_object();
	em.emitted = json_object();
	json_t *seen = json_object();
	anchor_walk(&em, v, seen);
	json_decref(seen);
	buf_add(out, "", 0); /* allocates and NUL-terminates */
	emit_node(&em, v, 1, 0, 0, 0);
	json_decref(em.anchors);
	json_decref(em.emitted);
	/* document end: libyaml (Ansible's CSafeDumper) writes no "..." here */
	em.indent = -1;
	write_indent(&em);
	free(em.indents);
}

void yaml_dump(const json_t *v, int indent, struct buf *out)
{
	yaml_dump_style(v, indent, 0, out);
}
