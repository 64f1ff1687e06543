/*
 * blockinfile.c - blockinfile: keep a block of lines between marker lines,
 * following Ansible's module step by step.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

struct lines {
	char **v;
	size_t n;
};

static void push(struct lines *l, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
}

static void split_keep(const char *s, size_t len, struct lines *l)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (s + i)) + 1 : len - i;
		push(l, xstrndup(s + i, n));
		i += n;
	}
}

static char *mark(const char *marker, const char *word)
{
	struct buf b = BUF_INIT;
	const char *p = marker, *m;
	while ((m = strstr(p, "{mark}"))) {
		buf_add(&b, p, (size_t)(m - p));
		buf_adds(&b, word);
		p = m + 6;
	}
	buf_adds(&b, p);
	buf_addc(&b, '\n');
	return buf_detach(&b);
}

/* Where the block goes when there are no markers yet. */
static long insert_at(const json_t *args, const struct lines *l, const struct buf *orig,
                      json_t *result)
{
	const char *after = mod_str(args, "insertafter"), *before = mod_str(args, "insertbefore");
	const char *pat = after && strcmp(after, "EOF")     ? after
	                  : before && strcmp(before, "BOF") ? before
	                                                    : NULL;
	struct mod_re re;
	struct buf why = BUF_INIT;
	regmatch_t m[MOD_RE_GROUPS];
	long n0 = -1;
	(void)orig;
	if (!pat)
		return before ? 0 : (long)l->n;
	if (mod_re_compile(&re, pat, 0, &why) < 0) {
		mod_fail(result, "%s", buf_str(&why));
		buf_release(&why);
		return -2;
	}
	for (size_t i = 0; i < l->n; i++)
		if (mod_re_search(&re, l->v[i], 0, m))
			n0 = (long)i;
	mod_re_free(&re);
	if (n0 < 0)
		return (long)l->n;
	return after ? n0 + 1 : n0;
}

/* The marked block to insert; empty for state=absent or an empty block. */
static void build_block(const json_t *args, const char *m0, const char *m1, struct lines *blk)
{
	const char *block = mod_str(args, "block");
	if (strcmp(mod_str(args, "state"), "present") || !block || !*block)
		return;
	push(blk, xstrdup(m0));
	split_keep(block, strlen(block), blk);
	if (!str_endswith(blk->v[blk->n - 1], "\n")) {
		char *f = xasprintf("%s\n", blk->v[blk->n - 1]);
		free(blk->v[blk->n - 1]);
		blk->v[blk->n - 1] = f;
	}
	push(blk, xstrdup(m1));
}

/* Drop an existing block from l; where the new one goes (-2 after a failure). */
static long place(const json_t *args, struct lines *l, const char *m0, const char *m1,
                  const struct buf *data, json_t *result)
{
	long n0 = -1, n1 = -1;
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], m0))
			n0 = (long)i;
		if (!strcmp(l->v[i], m1))
			n1 = (long)i;
	}
	if (n0 < 0 || n1 < 0) {
		n0 = insert_at(args, l, data, result);
	} else {
		long a = n0 < n1 ? n0 : n1, b = n0 < n1 ? n1 : n0;
		for (long i = a; i <= b; i++)
			free(l->v[i]);
		memmove(l->v + a, l->v + b + 1, (l->n - (size_t)b - 1) * sizeof(*l->v));
		l->n -= (size_t)(b - a + 1);
		n0 = a;
	}
	if (n0 > 0 && !str_endswith(l->v[n0 - 1], "\n")) {
		char *f = xasprintf("%s\n", l->v[n0 - 1]);
		free(l->v[n0 - 1]);
		l->v[n0 - 1] = f;
	}
	return n0;
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int blockinfile_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *path = mod_str(args, "path"), *marker = mod_str(args, "marker");
	int present = !strcmp(mod_str(args, "state"), "present");
	struct lines l = {0}, blk = {0};
	struct buf data = BUF_INIT, out = BUF_INIT;
	struct mod_stat st;
	char *m0 = mark(marker, mod_str(args, "marker_begin"));
	char *m1 = mark(marker, mod_str(args, "marker_end"));
	long n0;
	int ret;
	if ((ret = mod_read(ctx, path, &st, &data, e)) < 0)
		goto out;
	if (!st.exists && !present) {
		mod_set_changed(result, 0);
		json_object_set_new(result, "msg", json_sprintf("File %s not present", path));
		goto out;
	}
	if (!st.exists && !mod_bool(args, "create")) {
		mod_fail(result, "Path %s does not exist !", path);
		json_object_set_new(result, "rc", json_integer(257));
		goto out;
	}
	split_keep(data.s, data.len, &l);
	build_block(args, m0, m1, &blk);
	if ((n0 = place(args, &l, m0, m1, &data, result)) == -2)
		goto out;
	for (size_t i = 0; i < (size_t)n0; i++)
		buf_adds(&out, l.v[i]);
	for (size_t i = 0; i < blk.n; i++)
		buf_adds(&out, blk.v[i]);
	for (size_t i = (size_t)n0; i < l.n; i++)
		buf_adds(&out, l.v[i]);
	const char *msg =
	    st.exists && data.len == out.len && (!out.len || !memcmp(data.s, out.s, out.len)) ? ""
	    : !st.exists ? "File created"
	    : !blk.n     ? "Block removed"
	                 : "Block inserted";
	ret = mod_edit_finish(ctx, args, path, &st, &data, &out, msg, "backup_file", result, e);
out:
	free_lines(&l);
	free_lines(&blk);
	free(m0);
	free(m1);
	mod_stat_release(&st);
	buf_release(&data);
	buf_release(&out);
	return ret;
}

static const char *const states[] = {"present", "absent", NULL};

static const struct module_arg blockinfile_args[] = {
    {"path", ARG_PATH, 1, NULL, NULL, 0, "dest,destfile,name", "The file to edit."},
    {"block", ARG_STR, 0, "\"\"", NULL, 0, "content",
     "The lines to keep between the markers; empty removes the block."},
    {"marker", ARG_STR, 0, "\"# {mark} ANSIBLE MANAGED BLOCK\"", NULL, 0, NULL,
     "The marker line template; {mark} becomes marker_begin or marker_end."},
    {"marker_begin", ARG_STR, 0, "\"BEGIN\"", NULL, 0, NULL, "{mark} in the first marker."},
    {"marker_end", ARG_STR, 0, "\"END\"", NULL, 0, NULL, "{mark} in the last marker."},
    {"state", ARG_STR, 0, "\"present\"", states, 0, NULL, "present or absent."},
    {"insertafter", ARG_STR, 0, NULL, NULL, 0, NULL,
     "For a new block: after the last line matching this regex, or EOF (default)."},
    {"insertbefore", ARG_STR, 0, NULL, NULL, 0, NULL,
     "For a new block: before the last line matching this regex, or BOF."},
    {"create", ARG_BOOL, 0, "false", NULL, 0, NULL, "Create the file when it is missing."},
    MOD_ARGS_EDIT,
    MOD_ARG_UNSAFE_WRITES_ATOMIC,
    MOD_ARG_ATTRIBUTES,
    {NULL},
};

static const char *const blockinfile_aliases[] = {"ansible.builtin.blockinfile",
                                                  "ansible.legacy.blockinfile", NULL};

const struct module_def module_blockinfile = {
    "blockinfile",
    blockinfile_aliases,
    MOD_CHECK_MODE | MOD_DIFF,
    blockinfile_args,
    "Keep a marked block of lines in a file",
    "Inserts, updates or removes the lines between \"# BEGIN ANSIBLE MANAGED BLOCK\" and "
    "\"# END ...\" markers (the marker text is configurable).",
    blockinfile_run,
};
