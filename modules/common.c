/*
 * common.c - helpers the built-in modules share; see common.h.
 */
#include "modules/common.h"
#include "util/digest.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

int mod_sh(struct task_ctx *ctx, const char *cmd, struct conn_result *r, struct err *e)
{
	if (!ctx->conn)
		return err_set(e, ERR_INTERNAL, NULL, 0, 0, "module needs a connection to %s",
		               ctx->host ? ctx->host : "the host");
	return conn_exec(ctx->conn, cmd, &ctx->exec, r, e);
}

void mod_fail(json_t *result, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(result, "failed", json_true());
	json_object_set_new(result, "msg", json_string(msg));
	if (!json_object_get(result, "changed"))
		json_object_set_new(result, "changed", json_false());
}

const char *mod_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

int mod_bool(const json_t *args, const char *key)
{
	return json_is_true(json_object_get(args, key));
}

long long mod_int(const json_t *args, const char *key)
{
	const json_t *v = json_object_get(args, key);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

int mod_clause_len(const char *text)
{
	size_t n = strlen(text);
	while (n && (text[n - 1] == '.' || isspace((unsigned char)text[n - 1])))
		n--;
	return (int)n;
}

void mod_mode_str(unsigned mode, char out[8])
{
	snprintf(out, 8, "0%03o", mode & 07777);
}

/* The bits one of u, g, o stands for, and where its rwx sit. */
static unsigned who_bits(char w)
{
	switch (w) {
	case 'u':
		return 04700;
	case 'g':
		return 02070;
	case 'o':
		return 01007;
	}
	return 07777;
}

static unsigned perm_bits(const char **pp, unsigned cur, int isdir)
{
	unsigned bits = 0;
	const char *p = *pp;
	if (*p == 'u' || *p == 'g' || *p == 'o') {
		/* copy another class's rwx */
		int shift = *p == 'u' ? 6 : *p == 'g' ? 3 : 0;
		unsigned rwx = (cur >> shift) & 7;
		*pp = p + 1;
		return rwx << 6 | rwx << 3 | rwx;
	}
	for (; *p && strchr("rwxXst", *p); p++) {
		switch (*p) {
		case 'r':
			bits |= 0444;
			break;
		case 'w':
			bits |= 0222;
			break;
		case 'x':
			bits |= 0111;
			break;
		case 'X':
			if (isdir || (cur & 0111))
				bits |= 0111;
			break;
		case 's':
			bits |= 06000;
			break;
		case 't':
			bits |= 01000;
			break;
		}
	}
	*pp = p;
	return bits;
}

static int mode_symbolic(const char *s, unsigned cur, int isdir, unsigned *out, struct buf *why)
{
	const char *p = s;
	while (*p) {
		unsigned who = 0;
		for (; *p && strchr("ugoa", *p); p++)
			who |= who_bits(*p);
		if (!who)
			who = 07777;
		if (!*p || !strchr("+-=", *p))
			goto bad;
		while (*p && strchr("+-=", *p)) {
			char op = *p++;
			unsigned bits = perm_bits(&p, cur, isdir) & who;
			if (op == '=')
				cur = (cur & ~who) | bits;
			else if (op == '+')
				cur |= bits;
			else
				cur &= ~bits;
		}
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	*out = cur & 07777;
	return 0;
bad:
	buf_addf(why, "bad symbolic permission for mode: %s", s);
	return -1;
}

int mod_mode_parse(const json_t *v, unsigned cur, int isdir, unsigned *out, struct buf *why)
{
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0 || n > 07777) {
			buf_addf(why, "mode must be in octal or symbolic form, got %lld",
			         (long long)n);
			return -1;
		}
		*out = (unsigned)n;
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s) {
		buf_addf(why, "mode must be in octal or symbolic form");
		return -1;
	}
	const char *d = s;
	if (d[0] == '0' && (d[1] == 'o' || d[1] == 'O'))
		d += 2;
	if (*d && strspn(d, "01234567") == strlen(d)) {
		unsigned long n = strtoul(d, NULL, 8);
		if (n > 07777) {
			buf_addf(why, "mode must be in octal or symbolic form, got %s", s);
			return -1;
		}
		*out = (unsigned)n;
		return 0;
	}
	return mode_symbolic(s, cur, isdir, out, why);
}

void mod_stat_cmd(struct buf *cmd, const char *tag, const char *path, int checksum)
{
	buf_adds(cmd, "p=");
	buf_add_shquote(cmd, path);
	buf_addf(
	    cmd,
	    "; if [ -e \"$p\" ] || [ -L \"$p\" ]; then"
	    " printf '%s S '; stat -c '%%f %%u %%g %%s %%Y %%X %%Z %%i %%d %%h %%U %%G' -- \"$p\";"
	    " if [ -L \"$p\" ]; then printf '%s L '; readlink -- \"$p\";"
	    " if [ -d \"$p\" ]; then echo '%s D'; fi; fi;",
	    tag, tag, tag);
	if (checksum)
		buf_addf(cmd,
		         " if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf '%s C ';"
		         " sha1sum < \"$p\"; fi;",
		         tag);
	buf_addf(cmd, " else echo '%s S -'; fi\n", tag);
}

/* The line "TAG X rest" of out, or NULL. */
static const char *tag_line(const char *out, const char *tag, char kind, size_t *len)
{
	size_t tl = strlen(tag);
	for (const char *l = out; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (n >= tl + 2 && !strncmp(l, tag, tl) && l[tl] == ' ' && l[tl + 1] == kind) {
			const char *rest = l + tl + 2;
			if (*rest == ' ')
				rest++;
			*len = n - (size_t)(rest - l);
			return rest;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

int mod_stat_parse(const char *out, const char *tag, struct mod_stat *st)
{
	size_t n;
	const char *l = tag_line(out, tag, 'S', &n);
	memset(st, 0, sizeof(*st));
	if (!l)
		return -1;
	if (n == 1 && *l == '-')
		return 0;
	char *line = xstrndup(l, n);
	unsigned rawmode = 0;
	int got = sscanf(line, "%x %lld %lld %lld %lld %lld %lld %lld %lld %lld %63s %63s",
	                 &rawmode, &st->uid, &st->gid, &st->size, &st->mtime, &st->atime,
	                 &st->ctime, &st->inode, &st->dev, &st->nlink, st->owner, st->group);
	free(line);
	if (got < 12)
		return -1;
	st->exists = 1;
	st->mode = rawmode & 07777;
	st->raw = rawmode;
	st->type = S_ISREG(rawmode) ? 'f' : S_ISDIR(rawmode) ? 'd' : S_ISLNK(rawmode) ? 'l' : 'o';
	if ((l = tag_line(out, tag, 'L', &n)))
		st->link = xstrndup(l, n);
	st->target_isdir = tag_line(out, tag, 'D', &n) != NULL;
	if ((l = tag_line(out, tag, 'C', &n)) && n >= 40) {
		memcpy(st->sha1, l, 40);
		st->sha1[40] = '\0';
	}
	return 0;
}

void mod_stat_release(struct mod_stat *st)
{
	free(st->link);
	st->link = NULL;
}

int mod_stat(struct task_ctx *ctx, const char *path, int checksum, struct mod_stat *st,
             struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	int ret;
	memset(st, 0, sizeof(*st));
	mod_stat_cmd(&cmd, "@", path, checksum);
	ret = mod_sh(ctx, buf_str(&cmd), &r, e);
	if (ret < 0)
		goto out;
	if (mod_stat_parse(buf_str(&r.out), "@", st) < 0)
		ret = err_set(e, ERR_GENERIC, NULL, 0, 0, "cannot stat %s on %s: %s", path,
		              ctx->host ? ctx->host : "host", buf_str(&r.err));
out:
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

json_t *mod_lines(const char *text, size_t len)
{
	json_t *a = json_array();
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		json_array_append_new(a, json_stringn(text + i, n));
		i += n + 1;
	}
	return a;
}

/* Ansible strips one trailing newline from stdout/stderr. */
static json_t *stripped(const struct buf *b, size_t *n)
{
	const char *s = buf_str(b);
	*n = b->len;
	while (*n && (s[*n - 1] == '\n' || s[*n - 1] == '\r'))
		(*n)--;
	return json_stringn(s, *n);
}

void mod_result_cmd(json_t *result, const struct conn_result *r)
{
	size_t n;
	json_t *out = stripped(&r->out, &n);
	json_object_set_new(result, "rc", json_integer(r->rc));
	json_object_set_new(result, "stdout_lines", mod_lines(json_string_value(out), n));
	json_object_set_new(result, "stdout", out);
	json_t *err = stripped(&r->err, &n);
	json_object_set_new(result, "stderr_lines", mod_lines(json_string_value(err), n));
	json_object_set_new(result, "stderr", err);
}

void mod_set_changed(json_t *result, int changed)
{
	json_object_set_new(result, "changed", json_boolean(changed));
}

void mod_result_file(json_t *result, const struct mod_stat *st)
{
	char m[8];
	if (!st->exists) {
		json_object_set_new(result, "state", json_string("absent"));
		return;
	}
	mod_mode_str(st->mode, m);
	json_object_set_new(result, "mode", json_string(m));
	json_object_set_new(result, "owner", json_string(st->owner));
	json_object_set_new(result, "group", json_string(st->group));
	json_object_set_new(result, "uid", json_integer(st->uid));
	json_object_set_new(result, "gid", json_integer(st->gid));
	json_object_set_new(result, "size", json_integer(st->size));
	json_object_set_new(result, "state",
	                    json_string(st->type == 'd'   ? "directory"
	                                : st->type == 'l' ? "link"
	                                : st->type == 'f' ? "file"
	                                                  : "file"));
}

void mod_diff(json_t *result, const char *before, const char *after, const char *bhdr,
              const char *ahdr)
{
	json_t *d = json_object();
	if (before)
		json_object_set_new(d, "before", json_string(before));
	if (after)
		json_object_set_new(d, "after", json_string(after));
	if (bhdr)
		json_object_set_new(d, "before_header", json_string(bhdr));
	if (ahdr)
		json_object_set_new(d, "after_header", json_string(ahdr));
	json_object_set_new(result, "diff", d);
}

/* An owner or group that is a number is compared as an id. */
static int same_id(const char *want, const char *name, long long id)
{
	if (!strcmp(want, name))
		return 1;
	char *end;
	long long n = strtoll(want, &end, 10);
	return *want && !*end && n == id;
}

int mod_attrs_cmd(const json_t *args, const char *path, const struct mod_stat *st, struct buf *cmd,
                  int *changed, json_t *result)
{
	const json_t *mode = json_object_get(args, "mode");
	const char *owner = mod_str(args, "owner"), *group = mod_str(args, "group");
	int link = st->type == 'l';
	if (owner && *owner && (!st->exists || !same_id(owner, st->owner, st->uid))) {
		buf_addf(cmd, "chown %s", link ? "-h " : "");
		buf_add_shquote(cmd, owner);
		buf_adds(cmd, " -- ");
		buf_add_shquote(cmd, path);
		buf_adds(cmd, " &&\n");
		*changed = 1;
	}
	if (group && *group && (!st->exists || !same_id(group, st->group, st->gid))) {
		buf_addf(cmd, "chgrp %s", link ? "-h " : "");
		buf_add_shquote(cmd, group);
		buf_adds(cmd, " -- ");
		buf_add_shquote(cmd, path);
		buf_adds(cmd, " &&\n");
		*changed = 1;
	}
	if (mode && !json_is_null(mode) && !link) {
		struct buf why = BUF_INIT;
		unsigned want;
		if (mod_mode_parse(mode, st->mode, st->type == 'd', &want, &why) < 0) {
			mod_fail(result, "%s", buf_str(&why));
			buf_release(&why);
			return -1;
		}
		if (!st->exists || want != st->mode) {
			buf_addf(cmd, "chmod %04o -- ", want);
			buf_add_shquote(cmd, path);
			buf_adds(cmd, " &&\n");
			*changed = 1;
		}
	}
	return 0;
}

int mod_sh_checked(struct task_ctx *ctx, const char *cmd, json_t *result, struct err *e)
{
	struct conn_result r = {0};
	int ret = mod_sh(ctx, cmd, &r, e);
	if (ret < 0)
		goto out;
	if (r.rc != 0) {
		size_t n = r.err.len;
		const char *s = buf_str(&r.err);
		while (n && s[n - 1] == '\n')
			n--;
		mod_fail(result, "%.*s", (int)n, n ? s : "command failed");
		json_object_set_new(result, "rc", json_integer(r.rc));
		ret = 1;
	}
out:
	conn_result_release(&r);
	return ret;
}

static char *try_path(const char *dir, const char *sub, const char *src)
{
	char *p = sub ? xasprintf("%s/%s/%s", dir, sub, src) : xasprintf("%s/%s", dir, src);
	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return NULL;
}

char *mod_find_src(const struct task_ctx *ctx, const char *src, const char *subdir)
{
	char *p = NULL;
	if (src[0] == '~' && (src[1] == '/' || !src[1]) && getenv("HOME")) {
		p = xasprintf("%s%s", getenv("HOME"), src + 1);
		if (access(p, F_OK) == 0)
			return p;
		free(p);
		return NULL;
	}
	if (src[0] == '/')
		return access(src, F_OK) == 0 ? xstrdup(src) : NULL;
	if (ctx->role_path && (p = try_path(ctx->role_path, subdir, src)))
		return p;
	if (ctx->role_path && (p = try_path(ctx->role_path, NULL, src)))
		return p;
	if (ctx->basedir && (p = try_path(ctx->basedir, subdir, src)))
		return p;
	if (ctx->basedir && (p = try_path(ctx->basedir, NULL, src)))
		return p;
	if (access(src, F_OK) == 0)
		return xstrdup(src);
	return NULL;
}

/* Ansible's checksum is SHA-1, on both sides. */
void mod_sha1(const void *data, size_t len, char out[41])
{
	char hex[65];
	digest_hex("sha1", data, len, hex);
	memcpy(out, hex, 41);
}

void mod_md5(const void *data, size_t len, char out[33])
{
	char hex[65];
	digest_hex("md5", data, len, hex);
	memcpy(out, hex, 33);
}
