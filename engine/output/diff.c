/*
 * --diff output: a module's {"before", "after", "before_header",
 * "after_header"} as the unified diff Ansible's default callback prints
 * (difflib.unified_diff, 3 lines of context). Lines are matched by a plain
 * LCS table, which gives the same hunks as difflib for the small config
 * files drover edits; files past DIFF_MAX_LINES are summarised instead.
 */
#include "output/output.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <string.h>

#define DIFF_MAX_LINES 4000
#define DIFF_CONTEXT   3

struct lines {
	const char **v;
	size_t *len;
	size_t n;
};

/* Split keeping each line's '\n'; a last line without one gets Ansible's
 * "\ No newline at end of file" marker when printed. */
static void split_lines(const char *s, struct lines *l)
{
	size_t cap = 16;
	l->v = xcalloc(cap, sizeof(*l->v));
	l->len = xcalloc(cap, sizeof(*l->len));
	l->n = 0;
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s + 1) : strlen(s);
		if (l->n == cap) {
			cap *= 2;
			l->v = xrealloc(l->v, cap * sizeof(*l->v));
			l->len = xrealloc(l->len, cap * sizeof(*l->len));
		}
		l->v[l->n] = s;
		l->len[l->n++] = n;
		s += n;
	}
}

static int same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->v[i], b->v[j], a->len[i]);
}

static void add_line(struct buf *out, char tag, const char *s, size_t n)
{
	buf_addc(out, tag);
	buf_add(out, s, n);
	if (!n || s[n - 1] != '\n')
		buf_adds(out, "\n\\ No newline at end of file\n");
}

static void range(struct buf *out, size_t start, size_t len)
{
	if (len == 1)
		buf_addf(out, "%zu", start + 1);
	else
		buf_addf(out, "%zu,%zu", len ? start + 1 : start, len);
}

/* ops: 0 equal, 1 delete (a), 2 insert (b), in order. */
static void emit_hunks(struct buf *out, const struct lines *a, const struct lines *b,
                       const char *ops, size_t nops)
{
	size_t i = 0;
	while (i < nops) {
		while (i < nops && !ops[i])
			i++;
		if (i >= nops)
			break;
		/* hunk from i - context to the last change followed by > 2*context equals */
		size_t start = i >= DIFF_CONTEXT ? i - DIFF_CONTEXT : 0, end = i, eq = 0;
		for (size_t k = i; k < nops; k++) {
			if (ops[k]) {
				end = k;
				eq = 0;
			} else if (++eq > 2 * DIFF_CONTEXT) {
				break;
			}
		}
		size_t stop = end + DIFF_CONTEXT + 1 < nops ? end + DIFF_CONTEXT + 1 : nops;
		size_t ai = 0, bi = 0, an = 0, bn = 0;
		for (size_t k = 0; k < start; k++) {
			ai += ops[k] != 2;
			bi += ops[k] != 1;
		}
		for (size_t k = start; k < stop; k++) {
			an += ops[k] != 2;
			bn += ops[k] != 1;
		}
		buf_adds(out, "@@ -");
		range(out, ai, an);
		buf_adds(out, " +");
		range(out, bi, bn);
		buf_adds(out, " @@\n");
		for (size_t k = start; k < stop; k++) {
			if (ops[k] == 0)
				add_line(out, ' ', a->v[ai], a->len[ai]), ai++, bi++;
			else if (ops[k] == 1)
				add_line(out, '-', a->v[ai], a->len[ai]), ai++;
			else
				add_line(out, '+', b->v[bi], b->len[bi]), bi++;
		}
		i = stop;
	}
}

static void unified(struct buf *out, const char *before, const char *after, const char *from,
                    const char *to)
{
	struct lines a, b;
	split_lines(before, &a);
	split_lines(after, &b);
	if (a.n > DIFF_MAX_LINES || b.n > DIFF_MAX_LINES) {
		buf_addf(out, "diff skipped: more than %d lines\n", DIFF_MAX_LINES);
		goto out;
	}
	size_t w = b.n + 1;
	unsigned *t = xcalloc((a.n + 1) * w, sizeof(*t));
	for (size_t i = a.n; i-- > 0;)
		for (size_t j = b.n; j-- > 0;)
			t[i * w + j] = same(&a, i, &b, j) ? t[(i + 1) * w + j + 1] + 1
			               : t[(i + 1) * w + j] >= t[i * w + j + 1] ? t[(i + 1) * w + j]
			                                                        : t[i * w + j + 1];
	char *ops = xcalloc(a.n + b.n + 1, 1);
	size_t n = 0, i = 0, j = 0;
	int changed = 0;
	while (i < a.n || j < b.n) {
		if (i < a.n && j < b.n && same(&a, i, &b, j))
			ops[n++] = 0, i++, j++;
		else if (i < a.n && (j == b.n || t[(i + 1) * w + j] >= t[i * w + j + 1]))
			ops[n++] = 1, i++, changed = 1;
		else
			ops[n++] = 2, j++, changed = 1;
	}
	if (changed) {
		buf_addf(out, "--- %s\n+++ %s\n", from, to);
		emit_hunks(out, &a, &b, ops, n);
		buf_addc(out, '\n');
	}
	free(ops);
	free(t);
out:
	free(a.v);
	free(a.len);
	free(b.v);
	free(b.len);
}

/* _serialize_diff: json.dumps(indent=4, sort_keys) + "\n" */
static char *append_nl(char *s)
{
	char *r = xasprintf("%s\n", s);
	free(s);
	return r;
}

static void one_diff(struct buf *out, const json_t *d)
{
	const json_t *bf = json_object_get(d, "before"), *af = json_object_get(d, "after");
	if (json_object_get(d, "dst_binary"))
		buf_adds(out, "diff skipped: destination file appears to be binary\n");
	if (json_object_get(d, "src_binary"))
		buf_adds(out, "diff skipped: source file appears to be binary\n");
	if (bf && af) {
		char *from = json_is_string(json_object_get(d, "before_header"))
		                 ? xasprintf("before: %s",
		                             json_string_value(json_object_get(d, "before_header")))
		                 : xstrdup("before");
		char *to = json_is_string(json_object_get(d, "after_header"))
		               ? xasprintf("after: %s",
		                           json_string_value(json_object_get(d, "after_header")))
		               : xstrdup("after");
		char *bs = json_is_string(bf) ? xstrdup(json_string_value(bf))
		           : json_is_null(bf) ? xstrdup("")
		                              : json_dumps(bf, JSON_INDENT(4) | JSON_SORT_KEYS);
		char *as = json_is_string(af) ? xstrdup(json_string_value(af))
		           : json_is_null(af) ? xstrdup("")
		                              : json_dumps(af, JSON_INDENT(4) | JSON_SORT_KEYS);
		if (!json_is_string(bf) && !json_is_null(bf))
			bs = append_nl(bs);
		if (!json_is_string(af) && !json_is_null(af))
			as = append_nl(as);
		unified(out, bs, as, from, to);
		free(from);
		free(to);
		free(bs);
		free(as);
	}
	if (json_is_string(json_object_get(d, "prepared")))
		buf_adds(out, json_string_value(json_object_get(d, "prepared")));
}

void output_diff(struct output *o, const json_t *diff)
{
	struct buf b = BUF_INIT;
	size_t i;
	const json_t *d;
	if (output_kind(o) != OUT_DEFAULT || !diff)
		return;
	if (json_is_array(diff)) {
		json_array_foreach (diff, i, d)
			one_diff(&b, d);
	} else {
		one_diff(&b, diff);
	}
	/* Ansible's display() adds a newline only when the text lacks one */
	if (b.len && b.s[b.len - 1] == '\n')
		b.s[--b.len] = '\0';
	if (b.len)
		output_line(o, "%s", buf_str(&b));
	buf_release(&b);
}
