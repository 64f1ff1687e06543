/*
 * Python `re` patterns on top of the C library's POSIX regex engine.
 *
 * Ansible users write Python regexes; we translate them to GNU extended
 * regular expressions: \d \D to classes, `.` to "anything but a newline",
 * (?:...) and (?P<name>...) to plain groups with the group numbers mapped
 * back, (?i) to REG_ICASE, lazy quantifiers to greedy ones (the only lossy
 * step: the leftmost-longest match is taken). Lookaround assertions have no
 * POSIX equivalent and are reported as unsupported.
 */
#include "template/filters.h"
#include "util/mem.h"

#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 32

struct pyre {
	regex_t re;
	int ngroups;             /* Python capture groups */
	int map[MAX_GROUPS + 1]; /* Python group -> POSIX group */
	char *names[MAX_GROUPS + 1];
	int cached; /* a shallow copy of a cache entry: never freed */
};

/*
 * Compiled patterns, kept for the life of the process: a role's
 * regex_replace runs for every host and loop item. glibc's regexec locks
 * the compiled pattern, so threads may share one.
 */
#define RE_CACHE 64

struct re_entry {
	char *pattern;
	int flags;
	struct pyre re;
};

static struct re_entry re_cache[RE_CACHE];
static int re_cached;
static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;

static void pyre_free(struct pyre *r)
{
	if (r->cached)
		return;
	regfree(&r->re);
	for (int i = 0; i <= MAX_GROUPS; i++)
		free(r->names[i]);
}

static int class_escape(char c, struct buf *out)
{
	switch (c) {
	case 'd':
		buf_adds(out, "0-9");
		return 0;
	case 's':
		buf_adds(out, "[:space:]");
		return 0;
	case 'w':
		buf_adds(out, "[:alnum:]_");
		return 0;
	case 'n':
		buf_addc(out, '\n');
		return 0;
	case 't':
		buf_addc(out, '\t');
		return 0;
	case 'r':
		buf_addc(out, '\r');
		return 0;
	case 'D':
	case 'S':
	case 'W':
		return -1;
	default:
		buf_addc(out, c);
		return 0;
	}
}

/* [...] starting at p[0] == '['; returns chars consumed or -1. */
static int translate_class(const char *p, struct buf *out)
{
	struct buf body = BUF_INIT;
	int i = 1, neg = 0, has_rbr = 0, has_dash = 0, has_caret = 0;
	if (p[i] == '^') {
		neg = 1;
		i++;
	}
	int first = 1;
	for (; p[i] && (p[i] != ']' || first); i++, first = 0) {
		char c = p[i];
		if (c == '\\' && p[i + 1]) {
			c = p[++i];
			if (c == ']')
				has_rbr = 1;
			else if (c == '-')
				has_dash = 1;
			else if (c == '^')
				has_caret = 1;
			else if (c == '[')
				buf_addc(&body, '[');
			else if (class_escape(c, &body) < 0) {
				buf_release(&body);
				return -1;
			}
			continue;
		}
		if (c == ']')
			has_rbr = 1;
		else if (c == '^')
			has_caret = 1;
		else if (c == '-' && (first || p[i + 1] == ']'))
			has_dash = 1;
		else if (c == '[' && p[i + 1] == ':')
			buf_adds(&body, "[:"), i++;
		else
			buf_addc(&body, c);
	}
	if (p[i] != ']') {
		buf_release(&body);
		return -1;
	}
	buf_addc(out, '[');
	if (neg)
		buf_addc(out, '^');
	if (has_rbr)
		buf_addc(out, ']');
	if (body.len)
		buf_add(out, body.s, body.len);
	if (has_caret)
		buf_addc(out, '^');
	if (has_dash)
		buf_addc(out, '-');
	buf_addc(out, ']');
	buf_release(&body);
	return i + 1;
}

static int valid_brace(const char *p)
{
	/* {n} {n,} {n,m} {,m} */
	int i = 1, digits = 0;
	while (isdigit((unsigned char)p[i]))
		i++, digits++;
	if (p[i] == '}')
		return digits > 0;
	if (p[i] != ',')
		return 0;
	i++;
	while (isdigit((unsigned char)p[i]))
		i++, digits++;
	return p[i] == '}' && digits > 0;
}

static int translate(struct eval *ev, const char *p, struct pyre *r, int *icase, struct buf *out)
{
	int posix_groups = 0;
	/* what came last: 0 start, '(' or '|', 'q' a quantifier, 'a' an atom */
	int last = 0;
	for (size_t i = 0; p[i];) {
		char c = p[i];
		int quant = c == '*' || c == '+' || c == '?' || (c == '{' && valid_brace(p + i));
		if (quant) {
			/* Python refuses these; glibc would take exponential time */
			if (last == 'q')
				return eval_fail(ev, "multiple repeat at position %zu", i);
			if (last != 'a')
				return eval_fail(ev, "nothing to repeat at position %zu", i);
			size_t end = c == '{' ? (size_t)(strchr(p + i, '}') - p) : i;
			buf_add(out, p + i, end - i + 1);
			i = end + 1;
			/* lazy (?) and possessive (+) forms: the greedy match is taken */
			if (p[i] == '?' || p[i] == '+')
				i++;
			last = 'q';
			continue;
		}
		last = c == '(' || c == '|' ? c : 'a';
		if (c == '\\' && p[i + 1]) {
			char e = p[i + 1];
			i += 2;
			if (e == 'd')
				buf_adds(out, "[0-9]");
			else if (e == 'D')
				buf_adds(out, "[^0-9]");
			else if (strchr("wWsSbB", e))
				buf_addc(out, '\\'), buf_addc(out, e);
			else if (e == 'A')
				buf_addc(out, '^');
			else if (e == 'Z' || e == 'z')
				buf_addc(out, '$');
			else if (e == 'n')
				buf_addc(out, '\n');
			else if (e == 't')
				buf_addc(out, '\t');
			else if (e == 'r')
				buf_addc(out, '\r');
			else if (isdigit((unsigned char)e) && e != '0') {
				int g = e - '0';
				if (g > r->ngroups)
					return eval_fail(ev, "invalid group reference %d", g);
				buf_addf(out, "\\%d", r->map[g]);
			} else if (isalnum((unsigned char)e))
				buf_addc(out, e);
			else
				buf_addc(out, '\\'), buf_addc(out, e);
			continue;
		}
		if (c == '[') {
			int n = translate_class(p + i, out);
			if (n < 0)
				return eval_fail(ev,
				                 "unsupported or unterminated character set in "
				                 "regular expression '%s'",
				                 p);
			i += (size_t)n;
			continue;
		}
		if (c == '(') {
			posix_groups++;
			if (p[i + 1] == '?') {
				const char *q = p + i + 2;
				if (*q == ':') {
					buf_addc(out, '(');
					i += 3;
					continue;
				}
				if (*q == 'P' && q[1] == '<') {
					const char *end = strchr(q, '>');
					if (!end || r->ngroups >= MAX_GROUPS)
						return eval_fail(ev, "bad group name in '%s'", p);
					r->ngroups++;
					r->map[r->ngroups] = posix_groups;
					r->names[r->ngroups] =
					    xstrndup(q + 2, (size_t)(end - q - 2));
					buf_addc(out, '(');
					i = (size_t)(end - p) + 1;
					continue;
				}
				posix_groups--;
				if (strchr("aiLmsux", *q)) {
					/* inline flags (?i) */
					for (; *q && *q != ')'; q++)
						if (*q == 'i')
							*icase = 1;
					i = (size_t)(q - p) + (*q ? 1 : 0);
					continue;
				}
				return eval_fail(
				    ev,
				    "regular expression feature '(?%c' is not supported "
				    "by drover (POSIX regex engine)",
				    *q);
			}
			if (r->ngroups >= MAX_GROUPS)
				return eval_fail(ev, "too many groups in regular expression");
			r->ngroups++;
			r->map[r->ngroups] = posix_groups;
			buf_addc(out, '(');
			i++;
			continue;
		}
		if (c == '.') {
			buf_adds(out, "[^\n]");
			i++;
			continue;
		}
		if (c == '{') { /* not a quantifier: a literal brace, as in Python */
			buf_adds(out, "\\{");
			i++;
			continue;
		}
		buf_addc(out, c);
		i++;
	}
	return 0;
}

static int pyre_compile_new(struct eval *ev, const char *pat, int icase, int mline, struct pyre *r);

static int pyre_compile(struct eval *ev, const char *pat, int icase, int mline, struct pyre *r)
{
	int flags = (icase ? 1 : 0) | (mline ? 2 : 0);
	pthread_mutex_lock(&re_lock);
	for (int i = 0; i < re_cached; i++)
		if (re_cache[i].flags == flags && !strcmp(re_cache[i].pattern, pat)) {
			*r = re_cache[i].re;
			pthread_mutex_unlock(&re_lock);
			return 0;
		}
	pthread_mutex_unlock(&re_lock);
	if (pyre_compile_new(ev, pat, icase, mline, r) < 0)
		return -1;
	pthread_mutex_lock(&re_lock);
	if (re_cached < RE_CACHE) {
		re_cache[re_cached].pattern = xstrdup(pat);
		re_cache[re_cached].flags = flags;
		re_cache[re_cached].re = *r;
		re_cache[re_cached].re.cached = 1;
		re_cached++;
		r->cached = 1;
	}
	pthread_mutex_unlock(&re_lock);
	return 0;
}

static int pyre_compile_new(struct eval *ev, const char *pat, int icase, int mline, struct pyre *r)
{
	struct buf out = BUF_INIT;
	memset(r, 0, sizeof(*r));
	int ic = icase;
	if (translate(ev, pat, r, &ic, &out) < 0) {
		buf_release(&out);
		for (int i = 0; i <= MAX_GROUPS; i++)
			free(r->names[i]);
		return -1;
	}
	buf_add(&out, "", 0); /* allocates and NUL-terminates */
	int flags = REG_EXTENDED | (ic ? REG_ICASE : 0) | (mline ? REG_NEWLINE : 0);
	int rc = regcomp(&r->re, out.s, flags);
	buf_release(&out);
	if (rc) {
		char msg[256];
		regerror(rc, &r->re, msg, sizeof(msg));
		for (int i = 0; i <= MAX_GROUPS; i++)
			free(r->names[i]);
		return eval_fail(ev, "invalid regular expression '%s': %s", pat, msg);
	}
	return 0;
}

/* Search s from offset; m[0..] POSIX match offsets absolute in s. */
static int pyre_exec(struct pyre *r, const char *s, size_t off, regmatch_t *m)
{
	int rc = regexec(&r->re, s + off, MAX_GROUPS + 1, m, off ? REG_NOTBOL : 0);
	if (rc)
		return 0;
	for (int i = 0; i <= MAX_GROUPS; i++)
		if (m[i].rm_so >= 0) {
			m[i].rm_so += (regoff_t)off;
			m[i].rm_eo += (regoff_t)off;
		}
	return 1;
}

static json_t *group_val(struct pyre *r, const char *s, regmatch_t *m, int g)
{
	int pg = g == 0 ? 0 : r->map[g];
	if (m[pg].rm_so < 0)
		return json_null();
	return tstr(s + m[pg].rm_so, (size_t)(m[pg].rm_eo - m[pg].rm_so));
}

static int group_by_name(struct pyre *r, const char *name)
{
	for (int i = 1; i <= r->ngroups; i++)
		if (r->names[i] && !strcmp(r->names[i], name))
			return i;
	char *end;
	long g = strtol(name, &end, 10);
	return *end || g < 0 || g > r->ngroups ? -1 : (int)g;
}

static int expand(struct eval *ev, struct pyre *r, const char *repl, const char *s, regmatch_t *m,
                  struct buf *b)
{
	for (const char *p = repl; *p; p++) {
		if (*p != '\\' || !p[1]) {
			buf_addc(b, *p);
			continue;
		}
		char c = *++p;
		int g = -1;
		if (isdigit((unsigned char)c)) {
			g = c - '0';
			if (isdigit((unsigned char)p[1]) && g * 10 + (p[1] - '0') <= r->ngroups)
				g = g * 10 + (*++p - '0');
		} else if (c == 'g' && p[1] == '<') {
			const char *end = strchr(p, '>');
			if (!end)
				return eval_fail(ev, "missing >, unterminated name");
			char *name = xstrndup(p + 2, (size_t)(end - p - 2));
			g = group_by_name(r, name);
			free(name);
			if (g < 0)
				return eval_fail(ev, "unknown group name in replacement");
			p = end;
		} else if (c == 'n') {
			buf_addc(b, '\n');
			continue;
		} else if (c == 't') {
			buf_addc(b, '\t');
			continue;
		} else if (c == '\\') {
			buf_addc(b, '\\');
			continue;
		} else if (isalpha((unsigned char)c)) {
			return eval_fail(ev, "bad escape \\%c", c);
		} else {
			buf_addc(b, '\\');
			buf_addc(b, c);
			continue;
		}
		if (g > r->ngroups)
			return eval_fail(ev, "invalid group reference %d", g);
		int pg = g == 0 ? 0 : r->map[g];
		if (m[pg].rm_so >= 0)
			buf_add(b, s + m[pg].rm_so, (size_t)(m[pg].rm_eo - m[pg].rm_so));
	}
	return 0;
}

/* Python 3.7+ iteration: an empty match right after the previous match's
 * end is allowed only when that match was not empty. Calls fn per match. */
typedef int (*match_fn)(struct eval *ev, struct pyre *r, const char *s, regmatch_t *m, void *arg);

static int each_match(struct eval *ev, struct pyre *r, const char *s, size_t n, match_fn fn,
                      void *arg, size_t *last_end)
{
	regmatch_t m[MAX_GROUPS + 1];
	size_t off = 0;
	*last_end = 0;
	while (off <= n && pyre_exec(r, s, off, m)) {
		if (fn(ev, r, s, m, arg) < 0)
			return -1;
		*last_end = (size_t)m[0].rm_eo;
		if (m[0].rm_eo == m[0].rm_so) {
			if ((size_t)m[0].rm_eo >= n)
				break;
			/* step over one character (a whole UTF-8 sequence) */
			off = (size_t)m[0].rm_eo + 1;
			while (off < n && ((unsigned char)s[off] & 0xC0) == 0x80)
				off++;
		} else {
			off = (size_t)m[0].rm_eo;
		}
	}
	return 0;
}

struct sub_state {
	struct buf out;
	const char *repl;
	size_t copied; /* input copied up to here */
};

static int sub_fn(struct eval *ev, struct pyre *r, const char *s, regmatch_t *m, void *arg)
{
	struct sub_state *st = arg;
	buf_add(&st->out, s + st->copied, (size_t)m[0].rm_so - st->copied);
	st->copied = (size_t)m[0].rm_eo;
	return expand(ev, r, st->repl, s, m, &st->out);
}

static json_t *f_regex_replace(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *pat = arg_str(args, kw, 0, "pattern", "");
	struct sub_state st = {BUF_INIT, arg_str(args, kw, 1, "replacement", ""), 0};
	struct pyre r;
	char *s = text_of(in);
	size_t n = strlen(s), end;
	json_t *res = NULL;
	if (pyre_compile(ev, pat, arg_bool(args, kw, 2, "ignorecase", 0),
	                 arg_bool(args, kw, 3, "multiline", 0), &r) < 0)
		goto out;
	/* characters stepped over after an empty match are copied lazily,
	 * through st.copied */
	if (each_match(ev, &r, s, n, sub_fn, &st, &end) == 0) {
		buf_add(&st.out, s + st.copied, n - st.copied);
		res = str_result(&st.out);
	}
	pyre_free(&r);
out:
	buf_release(&st.out);
	free(s);
	return res;
}

static int findall_fn(struct eval *ev, struct pyre *r, const char *s, regmatch_t *m, void *arg)
{
	(void)ev;
	json_t *out = arg;
	if (r->ngroups == 0) {
		json_array_append_new(out, group_val(r, s, m, 0));
	} else if (r->ngroups == 1) {
		json_t *g = group_val(r, s, m, 1);
		json_array_append_new(out, json_is_null(g) ? tstrz("") : g);
		if (json_is_null(g))
			json_decref(g);
	} else {
		json_t *t = json_array();
		for (int i = 1; i <= r->ngroups; i++) {
			json_t *g = group_val(r, s, m, i);
			json_array_append_new(t, json_is_null(g) ? tstrz("") : g);
			if (json_is_null(g))
				json_decref(g);
		}
		json_array_append_new(out, t);
	}
	return 0;
}

static json_t *f_regex_findall(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *pat = arg_str(args, kw, 0, "regex", "");
	struct pyre r;
	char *s = text_of(in);
	size_t end;
	json_t *out = NULL;
	if (pyre_compile(ev, pat, arg_bool(args, kw, 2, "ignorecase", 0),
	                 arg_bool(args, kw, 1, "multiline", 0), &r) == 0) {
		out = json_array();
		if (each_match(ev, &r, s, strlen(s), findall_fn, out, &end) < 0) {
			json_decref(out);
			out = NULL;
		}
		pyre_free(&r);
	}
	free(s);
	return out;
}

static json_t *f_regex_search(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *pat = arg_str(args, kw, 0, "regex", "");
	struct pyre r;
	regmatch_t m[MAX_GROUPS + 1];
	char *s = text_of(in);
	json_t *out = NULL;
	int icase = json_is_true(json_object_get(kw, "ignorecase"));
	int mline = json_is_true(json_object_get(kw, "multiline"));
	if (pyre_compile(ev, pat, icase, mline, &r) < 0) {
		free(s);
		return NULL;
	}
	if (!pyre_exec(&r, s, 0, m)) {
		out = json_null();
		goto done;
	}
	if (json_array_size(args) <= 1) {
		out = group_val(&r, s, m, 0);
		goto done;
	}
	out = json_array();
	for (size_t i = 1; i < json_array_size(args); i++) {
		const char *a = json_string_value(json_array_get(args, i));
		int g = -1;
		if (a && !strncmp(a, "\\g<", 3) && strchr(a, '>')) {
			char *name = xstrndup(a + 3, (size_t)(strchr(a, '>') - a - 3));
			g = group_by_name(&r, name);
			free(name);
		} else if (a && a[0] == '\\' && isdigit((unsigned char)a[1])) {
			g = atoi(a + 1);
		} else {
			eval_fail(ev, "Unknown argument");
			json_decref(out);
			out = NULL;
			goto done;
		}
		if (g < 0 || g > r.ngroups) {
			eval_fail(ev, "no such group");
			json_decref(out);
			out = NULL;
			goto done;
		}
		json_array_append_new(out, group_val(&r, s, m, g));
	}
done:
	pyre_free(&r);
	free(s);
	return out;
}

int regex_match_at(struct eval *ev, const char *s, const char *pattern, int icase, int mline,
                   int anchored, int *out)
{
	struct pyre r;
	regmatch_t m[MAX_GROUPS + 1];
	if (pyre_compile(ev, pattern, icase, mline, &r) < 0)
		return -1;
	*out = 0;
	if (!anchored) {
		*out = pyre_exec(&r, s, 0, m);
	} else {
		/* re.match: a match starting at 0; POSIX finds the leftmost one,
		 * which starts at 0 whenever any match there exists */
		*out = pyre_exec(&r, s, 0, m) && m[0].rm_so == 0;
	}
	pyre_free(&r);
	return 0;
}

const struct filter_def filters_regex[] = {
    {"regex_replace", f_regex_replace, 0},
    {"regex_findall", f_regex_findall, 0},
    {"regex_search", f_regex_search, 0},
    {NULL, NULL, 0},
};
