/*
 * replace.c - replace: substitute every match of a regex in a file, as
 * Python's re.subn with re.MULTILINE does, optionally only between the
 * after and before matches.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

/* re.subn over text; returns the number of substitutions. */
static long subn(const struct mod_re *re, const char *repl, const char *text, struct buf *out)
{
	regmatch_t m[MOD_RE_GROUPS];
	const char *p = text;
	long n = 0;
	while (*p && mod_re_search(re, p, p != text && p[-1] != '\n', m)) {
		buf_add(out, p, (size_t)m[0].rm_so);
		mod_re_expand(re, repl, p, m, out);
		n++;
		if (m[0].rm_eo == m[0].rm_so) {
			/* an empty match: keep one character and move on */
			if (!p[m[0].rm_eo])
				break;
			buf_addc(out, p[m[0].rm_eo]);
			p += m[0].rm_eo + 1;
		} else {
			p += m[0].rm_eo;
		}
	}
	buf_adds(out, p);
	return n;
}

/* Where after ends and before starts, in text; -1 when one is missing. */
static int section(const json_t *args, const char *text, size_t *a, size_t *b, struct buf *why)
{
	const char *after = mod_str(args, "after"), *before = mod_str(args, "before");
	regmatch_t m[MOD_RE_GROUPS];
	struct mod_re re;
	*a = 0;
	*b = strlen(text);
	if (after) {
		if (mod_re_compile(&re, after, 1, why) < 0)
			return -2;
		int hit = mod_re_search(&re, text, 0, m);
		mod_re_free(&re);
		if (!hit)
			return -1;
		*a = (size_t)m[0].rm_eo;
	}
	if (before) {
		if (mod_re_compile(&re, before, 1, why) < 0)
			return -2;
		int hit = mod_re_search(&re, text + *a, *a && text[*a - 1] != '\n', m);
		mod_re_free(&re);
		if (!hit)
			return -1;
		*b = *a + (size_t)m[0].rm_so;
	}
	return 0;
}

static int replace_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *path = mod_str(args, "path"), *regexp = mod_str(args, "regexp");
	const char *repl = mod_str(args, "replace");
	struct buf data = BUF_INIT, out = BUF_INIT, why = BUF_INIT;
	struct mod_re re = {0};
	struct mod_stat st;
	size_t a, b;
	char *mid = NULL;
	int ret;
	if ((ret = mod_read(ctx, path, &st, &data, e)) < 0)
		goto out;
	if (!st.exists) {
		mod_fail(result, "Path %s does not exist !", path);
		json_object_set_new(result, "rc", json_integer(257));
		goto out;
	}
	if (st.type == 'd') {
		mod_fail(result, "Path %s is a directory !", path);
		goto out;
	}
	if (mod_re_compile(&re, regexp, 1, &why) < 0) {
		mod_fail(result, "%s", buf_str(&why));
		goto out;
	}
	int s = section(args, buf_str(&data), &a, &b, &why);
	if (s == -2) {
		mod_fail(result, "%s", buf_str(&why));
		goto out;
	}
	long n = 0;
	if (s == 0) {
		mid = xstrndup(data.s ? data.s + a : "", b - a);
		buf_add(&out, data.s, a);
		n = subn(&re, repl, mid, &out);
		buf_add(&out, data.s ? data.s + b : "", data.len - b);
	} else {
		buf_add(&out, data.s ? data.s : "", data.len);
	}
	char msg[64] = "";
	if (n)
		snprintf(msg, sizeof(msg), "%ld replacements made", n);
	ret = mod_edit_finish(ctx, args, path, &st, &data, &out, msg, "backup_file", result, e);
	json_object_set_new(result, "rc", json_integer(0));
out:
	free(mid);
	mod_re_free(&re);
	mod_stat_release(&st);
	buf_release(&data);
	buf_release(&out);
	buf_release(&why);
	return ret;
}

static const struct module_arg replace_args[] = {
    {"path", ARG_PATH, 1, NULL, NULL, 0, "dest,destfile,name", "The file to edit."},
    {"regexp", ARG_STR, 1, NULL, NULL, 0, NULL,
     "A Python regular expression, matched in MULTILINE mode (^ and $ at each line)."},
    {"replace", ARG_STR, 0, "\"\"", NULL, 0, NULL,
     "The replacement; \\1 and \\g<name> insert groups. Empty deletes the matches."},
    {"after", ARG_STR, 0, NULL, NULL, 0, NULL, "Only replace after the first match of this."},
    {"before", ARG_STR, 0, NULL, NULL, 0, NULL, "Only replace before the first match of this."},
    MOD_ARGS_EDIT,
    {"encoding", ARG_STR, 0, "\"utf-8\"", NULL, 0, NULL, "Accepted; files are bytes."},
    MOD_ARG_UNSAFE_WRITES_ATOMIC,
    MOD_ARG_ATTRIBUTES,
    {NULL},
};

static const char *const replace_aliases[] = {"ansible.builtin.replace", "ansible.legacy.replace",
                                              NULL};

const struct module_def module_replace = {
    "replace",
    replace_aliases,
    MOD_CHECK_MODE | MOD_DIFF,
    replace_args,
    "Replace every match of a regular expression in a file",
    "Like Python's re.subn in MULTILINE mode over the file (or the part between after "
    "and before), done on the controller with POSIX regex after translating \\d \\s \\w "
    "and friends.",
    replace_run,
};
