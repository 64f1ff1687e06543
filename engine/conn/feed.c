/*
 * feed.c - the small helpers the transports share: connection-var lookups,
 * markers, and the stdin feeder that answers sudo's password prompt the way
 * Ansible does (wait for the prompt or the "become succeeded" line before
 * any stdin is sent, so the password never reaches the command and stdin
 * never reaches sudo).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "conn/conn_int.h"
#include "util/mem.h"

const char *conn_var(const struct conn *c, const char *name, char *tmp, size_t tmpsz)
{
	const json_t *v = c->vars ? json_object_get(c->vars, name) : NULL;
	const char *s;

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v)) {
		s = json_string_value(v);
		return *s ? s : NULL;
	}
	if (json_is_integer(v)) {
		snprintf(tmp, tmpsz, "%lld", (long long)json_integer_value(v));
		return tmp;
	}
	if (json_is_real(v)) {
		snprintf(tmp, tmpsz, "%g", json_real_value(v));
		return tmp;
	}
	if (json_is_boolean(v)) {
		snprintf(tmp, tmpsz, "%s", json_is_true(v) ? "True" : "False");
		return tmp;
	}
	return NULL;
}

int conn_var_int(const struct conn *c, const char *name, int def)
{
	char tmp[64], *end;
	const char *s = conn_var(c, name, tmp, sizeof(tmp));
	long v;

	if (!s)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 1000000)
		return -1;
	return (int)v;
}

void conn_random_hex(char *out, size_t nhex)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static unsigned long long counter;
	unsigned char raw[32];
	size_t i, n = (nhex + 1) / 2;

	if (n > sizeof(raw))
		n = sizeof(raw);
	if (getrandom(raw, n, 0) != (ssize_t)n) {
		/* No entropy source: unique is enough for markers and temp names. */
		unsigned long long x;
		pthread_mutex_lock(&lock);
		x = ++counter ^ ((unsigned long long)getpid() << 32) ^
		    (unsigned long long)time(NULL);
		pthread_mutex_unlock(&lock);
		for (i = 0; i < n; i++)
			raw[i] = (unsigned char)(x >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	for (i = 0; i < nhex && i / 2 < n; i++)
		out[i] = "0123456789abcdef"[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 15];
	out[i] = '\0';
}

double conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void conn_feed_init(struct conn_feed *f, const struct conn_job *j)
{
	memset(f, 0, sizeof(*f));
	f->j = j;
	f->waiting = j->password != NULL;
}

void conn_feed_release(struct conn_feed *f)
{
	if (f->pw) {
		explicit_bzero(f->pw, f->pw_len);
		free(f->pw);
		f->pw = NULL;
	}
}

enum cut { CUT_TEXT, CUT_LINE, CUT_THROUGH };

/* Remove the first occurrence of needle from b: just the text, the text and
 * the newline after it (not before the line is complete), or everything from
 * the start of b through it. */
static int buf_cut(struct buf *b, const char *needle, enum cut how)
{
	size_t nl = strlen(needle), from, end;
	char *at;

	if (!b->len || !needle)
		return 0;
	at = memmem(b->s, b->len, needle, nl);
	if (!at)
		return 0;
	from = how == CUT_THROUGH ? 0 : (size_t)(at - b->s);
	end = (size_t)(at - b->s) + nl;
	if (how == CUT_LINE && end == b->len)
		return 0;
	if (how == CUT_LINE && b->s[end] == '\n')
		end++;
	memmove(b->s + from, b->s + end, b->len - end);
	b->len -= end - from;
	b->s[b->len] = '\0';
	return 1;
}

int conn_feed_scan(struct conn_feed *f, struct conn_result *r, struct err *e)
{
	const struct conn_job *j = f->j;

	if (j->scan) /* su on a terminal: its own prompts (conn.c) */
		return j->scan(f, r, e);
	if (j->ok && !f->ok_seen && buf_cut(&r->out, j->ok, CUT_LINE)) {
		f->ok_seen = 1;
		f->waiting = 0;
	}
	/* Before the password, stderr holds only sudo's own chatter (the first-
	 * use lecture): it goes with the prompt. Once the command runs sudo asks
	 * no more; stop scanning its stderr. */
	while (j->prompt && !f->ok_seen && buf_cut(&r->err, j->prompt, CUT_THROUGH)) {
		if (++f->prompted > 1)
			return err_set(e, ERR_GENERIC, NULL, 0, 0, "Incorrect sudo password");
		f->pw_len = strlen(j->password) + 1;
		f->pw = xmalloc(f->pw_len + 1);
		memcpy(f->pw, j->password, f->pw_len - 1);
		f->pw[f->pw_len - 1] = '\n';
		f->pw_off = 0;
	}
	return 0;
}

size_t conn_feed_next(struct conn_feed *f, const char **p, int *close_now)
{
	const struct conn_job *j = f->j;

	*close_now = 0;
	if (f->pw && f->pw_off < f->pw_len) {
		*p = f->pw + f->pw_off;
		return f->pw_len - f->pw_off;
	}
	if (f->waiting || f->closed)
		return 0;
	if (j->in && f->in_off < j->in_len) {
		*p = j->in + f->in_off;
		return j->in_len - f->in_off;
	}
	f->closed = 1;
	*close_now = 1;
	return 0;
}

void conn_feed_advance(struct conn_feed *f, size_t n)
{
	if (f->pw && f->pw_off < f->pw_len) {
		f->pw_off += n;
		if (f->pw_off >= f->pw_len)
			conn_feed_release(f);
		return;
	}
	f->in_off += n;
}

void conn_feed_drop(struct conn_feed *f)
{
	conn_feed_release(f);
	f->waiting = 0;
	f->in_off = f->j->in_len;
	f->closed = 1;
}

void conn_feed_finish(struct conn_feed *f, struct conn_result *r)
{
	const struct conn_job *j = f->j;

	if (j->ok && !f->ok_seen && buf_cut(&r->out, j->ok, CUT_LINE))
		f->ok_seen = 1;
	if (j->prompt)
		while (buf_cut(&r->err, j->prompt, CUT_TEXT))
			;
	conn_feed_release(f);
}
