/*
 * common.c - helpers the built-in modules share; see common.h.
 */
#include "modules/common.h"

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

void mod_mode_str(unsigned mode, char out[8])
{
	snprintf(out, 8, "%04o", mode & 07777);
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

/* SHA-1 (FIPS 180-4): what Ansible's checksum is, on both sides. */
struct sha1 {
	uint32_t h[5];
	uint64_t len;
	unsigned char blk[64];
	size_t n;
};

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void sha1_block(struct sha1 *c, const unsigned char *p)
{
	uint32_t w[80], a = c->h[0], b = c->h[1], d = c->h[2], e = c->h[3], f = c->h[4];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t k, fn;
		if (i < 20) {
			fn = (b & d) | (~b & e);
			k = 0x5A827999;
		} else if (i < 40) {
			fn = b ^ d ^ e;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			fn = (b & d) | (b & e) | (d & e);
			k = 0x8F1BBCDC;
		} else {
			fn = b ^ d ^ e;
			k = 0xCA62C1D6;
		}
		uint32_t t = ROL(a, 5) + fn + f + k + w[i];
		f = e;
		e = d;
		d = ROL(b, 30);
		b = a;
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += d;
	c->h[3] += e;
	c->h[4] += f;
}

static void sha1_add(struct sha1 *c, const unsigned char *p, size_t len)
{
	c->len += len;
	while (len) {
		size_t k = 64 - c->n < len ? 64 - c->n : len;
		memcpy(c->blk + c->n, p, k);
		c->n += k;
		p += k;
		len -= k;
		if (c->n == 64) {
			sha1_block(c, c->blk);
			c->n = 0;
		}
	}
}

void mod_sha1(const void *data, size_t len, char out[41])
{
	struct sha1 c = {{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}, 0, {0}, 0};
	unsigned char pad[72] = {0x80};
	uint64_t bits = 0;
	sha1_add(&c, data, len);
	bits = c.len * 8;
	size_t padlen = c.n < 56 ? 56 - c.n : 120 - c.n;
	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_add(&c, pad, padlen + 8);
	for (int i = 0; i < 5; i++)
		snprintf(out + 8 * i, 9, "%08x", c.h[i]);
}

/* MD5 (RFC 1321), for the md5sum copy reports next to the sha1 checksum. */
static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const unsigned md5_r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                   5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                   4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                   6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void md5_block(uint32_t h[4], const unsigned char *p)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (int i = 0; i < 64; i++) {
		uint32_t f;
		int g;
		if (i < 16)
			f = (b & c) | (~b & d), g = i;
		else if (i < 32)
			f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
		else if (i < 48)
			f = b ^ c ^ d, g = (3 * i + 5) % 16;
		else
			f = c ^ (b | ~d), g = (7 * i) % 16;
		uint32_t t = d;
		d = c;
		c = b;
		b = b + ROL(a + f + md5_k[i] + w[g], md5_r[i]);
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

void mod_md5(const void *data, size_t len, char out[33])
{
	uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
	const unsigned char *p = data;
	unsigned char tail[128] = {0};
	size_t full = len / 64 * 64, rest = len - full;
	uint64_t bits = (uint64_t)len * 8;
	for (size_t i = 0; i < full; i += 64)
		md5_block(h, p + i);
	if (rest)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	size_t tl = rest < 56 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tl - 8 + i] = (unsigned char)(bits >> (8 * i));
	for (size_t i = 0; i < tl; i += 64)
		md5_block(h, tail + i);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			snprintf(out + 8 * i + 2 * j, 3, "%02x", (h[i] >> (8 * j)) & 0xff);
}
