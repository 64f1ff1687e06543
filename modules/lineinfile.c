/*
 * lineinfile.c - lineinfile: make sure one line is in a file (or not),
 * following Ansible's module line by line: regexp / search_string / exact
 * line, insertafter / insertbefore (with EOF and BOF), backrefs, firstmatch.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

struct lines {
	char **v; /* each line with its newline, if it had one */
	size_t n;
};

static void lines_split(const struct buf *b, struct lines *l)
{
	size_t i = 0;
	l->v = NULL;
	l->n = 0;
	while (i < b->len) {
		const char *nl = memchr(b->s + i, '\n', b->len - i);
		size_t n = nl ? (size_t)(nl - (b->s + i)) + 1 : b->len - i;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = xstrndup(b->s + i, n);
		i += n;
	}
}

static void lines_insert(struct lines *l, size_t at, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof(*l->v));
	l->v[at] = s;
	l->n++;
}

static void lines_join(const struct lines *l, struct buf *b)
{
	for (size_t i = 0; i < l->n; i++)
		buf_adds(b, l->v[i]);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* The line without its line ending, for comparisons. */
static char *bare(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

struct spec {
	struct mod_re re, ins;
	int has_re, has_ins;
	const char *search, *line, *after, *before;
	int firstmatch, backrefs;
};

/* Does line match what we look for? m filled for a regexp. */
static int matches(const struct spec *s, const char *line, regmatch_t *m)
{
	char *b = bare(line);
	int yes;
	if (s->has_re)
		yes = mod_re_search(&s->re, b, 0, m);
	else if (s->search)
		yes = strstr(b, s->search) != NULL;
	else
		yes = !strcmp(b, s->line);
	free(b);
	return yes;
}

static const char *present(struct spec *s, struct lines *l)
{
	regmatch_t m[MOD_RE_GROUPS], keep[MOD_RE_GROUPS];
	long found = -1, ins = -1;
	char *matched = NULL;
	for (size_t i = 0; i < l->n; i++) {
		if (matches(s, l->v[i], m)) {
			found = (long)i;
			memcpy(keep, m, sizeof(m));
			if (s->firstmatch)
				break;
		} else if (s->has_ins) {
			char *b = bare(l->v[i]);
			int hit = mod_re_search(&s->ins, b, 0, m);
			free(b);
			if (hit) {
				ins = s->after ? (long)i + 1 : (long)i;
				if (s->firstmatch)
					break;
			}
		}
	}
	if (found >= 0) {
		struct buf nl = BUF_INIT;
		if (s->backrefs && s->has_re) {
			matched = bare(l->v[found]);
			mod_re_expand(&s->re, s->line, matched, keep, &nl);
			free(matched);
		} else {
			buf_adds(&nl, s->line);
		}
		buf_addc(&nl, '\n');
		if (!strcmp(l->v[found], buf_str(&nl))) {
			buf_release(&nl);
			return "";
		}
		free(l->v[found]);
		l->v[found] = buf_detach(&nl);
		return "line replaced";
	}
	if (s->backrefs)
		return "";
	char *add = xasprintf("%s\n", s->line);
	if ((s->before && !strcmp(s->before, "BOF")) || (s->after && !strcmp(s->after, "BOF"))) {
		lines_insert(l, 0, add);
	} else if ((s->after && !strcmp(s->after, "EOF")) || ins < 0) {
		if (l->n && !strchr(l->v[l->n - 1], '\n')) {
			char *fixed = xasprintf("%s\n", l->v[l->n - 1]);
			free(l->v[l->n - 1]);
			l->v[l->n - 1] = fixed;
		}
		lines_insert(l, l->n, add);
	} else {
		/* Don't insert the line if it already sits at the insertion point. */
		char *b = (size_t)ins < l->n ? bare(l->v[ins]) : NULL;
		int same = b && !strcmp(b, s->line);
		free(b);
		if (same) {
			free(add);
			return "";
		}
		if (ins > 0 && !strchr(l->v[ins - 1], '\n')) {
			char *fixed = xasprintf("%s\n", l->v[ins - 1]);
			free(l->v[ins - 1]);
			l->v[ins - 1] = fixed;
		}
		lines_insert(l, (size_t)ins, add);
	}
	return "line added";
}

static long absent(struct spec *s, struct lines *l)
{
	regmatch_t m[MOD_RE_GROUPS];
	size_t w = 0;
	long found = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (matches(s, l->v[i], m)) {
			free(l->v[i]);
			found++;
		} else {
			l->v[w++] = l->v[i];
		}
	}
	l->n = w;
	return found;
}

/* Fill s from args; -1 with a failure in result for args that clash. */
static int spec_init(struct spec *s, const json_t *args, json_t *result)
{
	const char *state = mod_str(args, "state"), *regexp = mod_str(args, "regexp");
	struct buf why = BUF_INIT;
	s->search = mod_str(args, "search_string");
	s->line = mod_str(args, "line");
	s->after = mod_str(args, "insertafter");
	s->before = mod_str(args, "insertbefore");
	s->firstmatch = mod_bool(args, "firstmatch");
	s->backrefs = mod_bool(args, "backrefs");
	if (regexp && s->search)
		buf_adds(&why, "parameters are mutually exclusive: regexp|search_string");
	else if (s->after && s->before)
		buf_adds(&why, "parameters are mutually exclusive: insertbefore|insertafter");
	else if (!strcmp(state, "present") && !s->line)
		buf_adds(&why, "state is present but all of the following are missing: line");
	else if (!strcmp(state, "absent") && !s->line && !regexp && !s->search)
		buf_adds(&why,
		         "one of line, search_string, or regexp is required with state=absent");
	else if (s->backrefs && !regexp)
		buf_adds(&why, "regexp is required with backrefs=true");
	else if (regexp)
		mod_re_compile(&s->re, regexp, 0, &why);
	const char *insre = s->after && strcmp(s->after, "EOF") && strcmp(s->after, "BOF")
	                        ? s->after
	                    : s->before && strcmp(s->before, "BOF") ? s->before
	                                                            : NULL;
	if (!why.len && insre)
		mod_re_compile(&s->ins, insre, 0, &why);
	s->has_re = s->re.compiled;
	s->has_ins = s->ins.compiled;
	if (why.len)
		mod_fail(result, "%s", buf_str(&why));
	buf_release(&why);
	return json_is_true(json_object_get(result, "failed")) ? -1 : 0;
}

/* A missing file or a directory; 1 when that ends the task. */
static int check_file(const json_t *args, const char *path, const struct mod_stat *st,
                      json_t *result)
{
	if (st->exists && st->type == 'd') {
		mod_fail(result, "Path %s is a directory !", path);
		json_object_set_new(result, "rc", json_integer(256));
		return 1;
	}
	if (st->exists)
		return 0;
	if (!strcmp(mod_str(args, "state"), "absent")) {
		json_object_set_new(result, "found", json_integer(0));
		json_object_set_new(result, "msg", json_string("file not present"));
		mod_set_changed(result, 0);
		return 1;
	}
	if (!mod_bool(args, "create")) {
		mod_fail(result, "Destination %s does not exist !", path);
		json_object_set_new(result, "rc", json_integer(257));
		return 1;
	}
	return 0;
}

static int lineinfile_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *path = mod_str(args, "path");
	struct spec s = {0};
	struct lines l = {0};
	struct buf data = BUF_INIT, out = BUF_INIT;
	struct mod_stat st;
	const char *msg;
	char cnt[64];
	int ret;
	memset(&st, 0, sizeof(st));
	if ((ret = mod_read(ctx, path, &st, &data, e)) < 0)
		goto out;
	if (spec_init(&s, args, result) < 0 || check_file(args, path, &st, result))
		goto out;
	lines_split(&data, &l);
	if (!strcmp(mod_str(args, "state"), "present")) {
		msg = present(&s, &l);
	} else {
		long found = absent(&s, &l);
		json_object_set_new(result, "found", json_integer(found));
		snprintf(cnt, sizeof(cnt), "%ld line(s) removed", found);
		msg = found ? cnt : "";
	}
	lines_join(&l, &out);
	json_object_set_new(result, "backup", json_string(""));
	ret = mod_edit_finish(ctx, args, path, &st, &data, &out, msg, "backup", result, e);
out:
	lines_free(&l);
	mod_re_free(&s.re);
	mod_re_free(&s.ins);
	mod_stat_release(&st);
	buf_release(&data);
	buf_release(&out);
	return ret;
}

static const char *const states[] = {"present", "absent", NULL};

static const struct module_arg lineinfile_args[] = {
    {"path", ARG_PATH, 1, NULL, NULL, 0, "dest,destfile,name", "The file to edit."},
    {"line", ARG_STR, 0, NULL, NULL, 0, "value", "The line to have in the file."},
    {"regexp", ARG_STR, 0, NULL, NULL, 0, "regex",
     "A Python regular expression; the last matching line is replaced (or removed)."},
    {"search_string", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Literal text; the last line containing it is replaced (or removed)."},
    {"state", ARG_STR, 0, "\"present\"", states, 0, NULL, "present or absent."},
    {"insertafter", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Insert after the last line matching this regex, or EOF (default) or BOF."},
    {"insertbefore", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Insert before the last line matching this regex, or BOF."},
    {"create", ARG_BOOL, 0, "false", NULL, 0, NULL, "Create the file when it is missing."},
    {"backrefs", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "line may use \\1 groups of regexp; no match leaves the file alone."},
    {"firstmatch", ARG_BOOL, 0, "false", NULL, 0, NULL, "Use the first match, not the last."},
    MOD_ARGS_EDIT,
    MOD_ARG_UNSAFE_WRITES_ATOMIC,
    MOD_ARG_ATTRIBUTES,
    {NULL},
};

static const char *const lineinfile_aliases[] = {"ansible.builtin.lineinfile",
                                                 "ansible.legacy.lineinfile", NULL};

const struct module_def module_lineinfile = {
    "lineinfile",
    lineinfile_aliases,
    MOD_CHECK_MODE | MOD_DIFF,
    lineinfile_args,
    "Make sure a line is in a file, or is not",
    "Replaces the last line matching regexp (or containing search_string, or equal to "
    "line), or adds line after insertafter / before insertbefore; with state=absent "
    "removes every matching line. Python regexes are translated to POSIX.",
    lineinfile_run,
};
