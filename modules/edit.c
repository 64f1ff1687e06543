/*
 * edit.c - what the in-place editors (lineinfile, blockinfile, replace)
 * share: Python regexes over <regex.h>, reading a file with its stat in one
 * round trip, and writing the edit back with backup, attributes and diff.
 *
 * Editing happens on the controller, as Ansible's modules do it in Python
 * on the host: the file comes over once, goes back once if it changed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "modules/common.h"
#include "util/mem.h"

static void bracket_escape(struct buf *o, char c, int *dash)
{
	switch (c) {
	case 'd':
		buf_adds(o, "0-9");
		break;
	case 's':
		buf_adds(o, "[:space:]");
		break;
	case 'w':
		buf_adds(o, "[:alnum:]_");
		break;
	case 't':
		buf_addc(o, '\t');
		break;
	case 'n':
		buf_addc(o, '\n');
		break;
	case '-':
		*dash = 1;
		break;
	default:
		buf_addc(o, c);
	}
}

/* [...] from p (at '['); returns the position after ']'. */
static const char *bracket(const char *p, struct buf *o)
{
	int dash = 0;
	buf_addc(o, *p++);
	if (*p == '^')
		buf_addc(o, *p++);
	if (*p == ']')
		buf_addc(o, *p++);
	for (; *p && *p != ']'; p++) {
		if (*p == '\\' && p[1])
			bracket_escape(o, *++p, &dash);
		else if (*p == '[' && p[1] == ':') {
			const char *end = strstr(p, ":]");
			size_t n = end ? (size_t)(end - p) + 2 : 1;
			buf_add(o, p, n);
			p += n - 1;
		} else
			buf_addc(o, *p);
	}
	if (dash)
		buf_addc(o, '-');
	buf_addc(o, ']');
	return *p ? p + 1 : p;
}

/* A backslash escape outside [...]: Python's classes in POSIX words. */
static void escape(char c, struct buf *o)
{
	switch (c) {
	case 'd':
		buf_adds(o, "[0-9]");
		break;
	case 'D':
		buf_adds(o, "[^0-9]");
		break;
	case 'A':
		buf_adds(o, "\\`");
		break;
	case 'Z':
	case 'z':
		buf_adds(o, "\\'");
		break;
	case 't':
		buf_addc(o, '\t');
		break;
	case 'n':
		buf_addc(o, '\n');
		break;
	case 'r':
		buf_addc(o, '\r');
		break;
	default:
		buf_addc(o, '\\');
		buf_addc(o, c);
	}
}

static int translate(struct mod_re *r, const char *p, struct buf *o, int *icase, struct buf *why)
{
	int posix = 0;
	if (!strncmp(p, "(?i)", 4)) {
		*icase = 1;
		p += 4;
	}
	while (*p) {
		if (*p == '[') {
			p = bracket(p, o);
			continue;
		}
		if (*p == '(' && p[1] == '?') {
			if (p[2] == ':') {
				posix++;
				buf_addc(o, '(');
				p += 3;
				continue;
			}
			if (p[2] == 'P' && p[3] == '<') {
				const char *end = strchr(p + 4, '>');
				if (!end || r->ngroups + 1 >= MOD_RE_GROUPS)
					goto bad;
				r->ngroups++;
				r->map[r->ngroups] = ++posix;
				r->names[r->ngroups] = xstrndup(p + 4, (size_t)(end - p - 4));
				buf_addc(o, '(');
				p = end + 1;
				continue;
			}
			goto bad;
		}
		if (*p == '(') {
			if (r->ngroups + 1 >= MOD_RE_GROUPS)
				goto bad;
			r->ngroups++;
			r->map[r->ngroups] = ++posix;
			buf_addc(o, *p++);
			continue;
		}
		if (*p == '?' && o->len && strchr("*+?}", o->s[o->len - 1]) &&
		    !(o->len >= 2 && o->s[o->len - 2] == '\\')) {
			p++; /* lazy quantifier: POSIX has none, take it greedily */
			continue;
		}
		if (*p == '\\' && p[1]) {
			escape(p[1], o);
			p += 2;
			continue;
		}
		buf_addc(o, *p++);
	}
	return 0;
bad:
	buf_addf(why, "unsupported regular expression syntax near: %.20s", p);
	return -1;
}

int mod_re_compile(struct mod_re *r, const char *py, int multiline, struct buf *why)
{
	struct buf o = BUF_INIT;
	int icase = 0, rc;
	memset(r, 0, sizeof(*r));
	if (translate(r, py, &o, &icase, why) < 0) {
		buf_release(&o);
		return -1;
	}
	rc = regcomp(&r->re, buf_str(&o),
	             REG_EXTENDED | (icase ? REG_ICASE : 0) | (multiline ? REG_NEWLINE : 0));
	if (rc) {
		char msg[256];
		regerror(rc, &r->re, msg, sizeof(msg));
		buf_addf(why, "bad regular expression '%s': %s", py, msg);
		buf_release(&o);
		return -1;
	}
	r->compiled = 1;
	buf_release(&o);
	return 0;
}

int mod_re_search(const struct mod_re *r, const char *subject, int notbol, regmatch_t *m)
{
	return regexec(&r->re, subject, MOD_RE_GROUPS, m, notbol ? REG_NOTBOL : 0) == 0;
}

static void add_group(const struct mod_re *r, int g, const char *subj, const regmatch_t *m,
                      struct buf *out)
{
	if (g < 1 || g > r->ngroups)
		return;
	const regmatch_t *x = &m[r->map[g]];
	if (x->rm_so >= 0)
		buf_add(out, subj + x->rm_so, (size_t)(x->rm_eo - x->rm_so));
}

void mod_re_expand(const struct mod_re *r, const char *repl, const char *subj, const regmatch_t *m,
                   struct buf *out)
{
	for (const char *p = repl; *p; p++) {
		if (*p != '\\' || !p[1]) {
			buf_addc(out, *p);
			continue;
		}
		char c = *++p;
		if (c >= '0' && c <= '9') {
			int g = c - '0';
			if (p[1] >= '0' && p[1] <= '9' && g * 10 + (p[1] - '0') <= r->ngroups)
				g = g * 10 + (*++p - '0');
			add_group(r, g, subj, m, out);
		} else if (c == 'g' && p[1] == '<') {
			const char *end = strchr(p, '>');
			if (!end) {
				buf_adds(out, "\\g");
				continue;
			}
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
			int g = atoi(name);
			for (int i = 1; !g && i <= r->ngroups; i++)
				if (r->names[i] && !strcmp(r->names[i], name))
					g = i;
			if (!strcmp(name, "0"))
				buf_add(out, subj + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so));
			else
				add_group(r, g, subj, m, out);
			p = end;
		} else if (c == 'n') {
			buf_addc(out, '\n');
		} else if (c == 't') {
			buf_addc(out, '\t');
		} else if (c == '\\') {
			buf_addc(out, '\\');
		} else {
			buf_addc(out, '\\');
			buf_addc(out, c);
		}
	}
}

void mod_re_free(struct mod_re *r)
{
	if (r->compiled)
		regfree(&r->re);
	for (int i = 0; i < MOD_RE_GROUPS; i++)
		free(r->names[i]);
	memset(r, 0, sizeof(*r));
}

int mod_read(struct task_ctx *ctx, const char *path, struct mod_stat *st, struct buf *data,
             struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	int ret;
	memset(st, 0, sizeof(*st));
	mod_stat_cmd(&cmd, "@", path, 0);
	buf_adds(&cmd, "if [ -f \"$p\" ]; then echo '@ DATA'; cat -- \"$p\" || exit 1; fi\n");
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	const char *out = buf_str(&r.out);
	const char *mark = strstr(out, "@ DATA\n");
	if (r.rc != 0 || mod_stat_parse(out, "@", st) < 0) {
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot read %s: %s", path, buf_str(&r.err));
		goto out;
	}
	if (mark) {
		size_t off = (size_t)(mark - out) + 7;
		buf_add(data, out + off, r.out.len - off);
	}
out:
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static int backup(struct task_ctx *ctx, const char *path, json_t *result, const char *key,
                  struct err *e)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d@%H:%M:%S", &tm);
	char *bk = xasprintf("%s.%d.%s~", path, (int)getpid(), ts);
	struct buf cmd = BUF_INIT;
	buf_adds(&cmd, "cp -p -- ");
	buf_add_shquote(&cmd, path);
	buf_addc(&cmd, ' ');
	buf_add_shquote(&cmd, bk);
	int ret = mod_sh_checked(ctx, buf_str(&cmd), result, e);
	if (ret == 0)
		json_object_set_new(result, key, json_string(bk));
	free(bk);
	buf_release(&cmd);
	return ret;
}

int mod_edit_finish(struct task_ctx *ctx, const json_t *args, const char *path,
                    const struct mod_stat *st, const struct buf *before, const struct buf *after,
                    const char *msg, const char *backup_key, json_t *result, struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct mod_stat cur = *st;
	int changed = !st->exists || before->len != after->len ||
	              (after->len && memcmp(before->s, after->s, after->len));
	int ret = 0;
	if (ctx->diff) {
		char *hdr = xasprintf("%s (content)", path);
		mod_diff(result, st->exists ? buf_str(before) : "", buf_str(after), hdr, hdr);
		free(hdr);
	}
	if (changed && !ctx->check) {
		if (st->exists && mod_bool(args, "backup") &&
		    (ret = backup(ctx, path, result, backup_key, e)) != 0)
			goto out;
		if (mod_str(args, "validate")) {
			ret = mod_put_validated(ctx, args, after->s ? after->s : "", after->len,
			                        path, st->exists ? -1 : 0644, result, e);
			if (ret != 0)
				goto out;
		} else {
			ret = conn_put(ctx->conn, after->s ? after->s : "", after->len, path,
			               st->exists ? -1 : 0644, &ctx->exec, e);
		}
		if (ret == ERR_IO) {
			mod_fail(result, "%s", e->msg);
			err_init(e);
			ret = 1;
			goto out;
		}
		if (ret < 0)
			goto out;
	}
	if (!cur.exists) {
		cur.exists = 1;
		cur.type = 'f';
		cur.mode = 0644;
	}
	int attrs = 0;
	if (mod_attrs_cmd(args, path, &cur, &cmd, &attrs, result) < 0)
		goto out;
	if (attrs && !ctx->check) {
		buf_adds(&cmd, "true\n");
		if ((ret = mod_sh_checked(ctx, buf_str(&cmd), result, e)) != 0)
			goto out;
	}
	if (attrs)
		msg = *msg ? xasprintf("%s and ownership, perms or SE linux context changed", msg)
		           : xstrdup("ownership, perms or SE linux context changed");
	json_object_set_new(result, "msg", json_string(msg));
	if (attrs)
		free((char *)msg);
	mod_set_changed(result, changed || attrs);
out:
	if (ret > 0)
		ret = 0;
	buf_release(&cmd);
	return ret;
}
