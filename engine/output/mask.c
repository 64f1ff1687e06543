/*
 * no_log values out of sight: a module's no_log arguments (passwords,
 * tokens) are replaced by "********" wherever they appear in its result,
 * as Ansible's remove_values does, and in what the run writes to stderr
 * while that module runs on the thread (the -vvv command lines, warnings).
 *
 * stderr goes through a stream of our own (fopencookie) for the session.
 * A thread with no secrets writes straight through; a thread running a
 * module with secrets holds partial lines until their newline, so a secret
 * is never cut in two between writes and missed.
 */
#include "output/output.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MASK     "********"
#define HOLD_MAX (1 << 20) /* a longer line is masked and written in pieces */

static __thread const json_t *thread_secrets;
static __thread struct buf held;
static FILE *saved_stderr;

/* Longest first, so a secret inside another is not masked half-way. */
static int cmp_len(const void *a, const void *b)
{
	size_t la = strlen(json_string_value(*(json_t *const *)a));
	size_t lb = strlen(json_string_value(*(json_t *const *)b));
	return la < lb ? 1 : la > lb ? -1 : 0;
}

char *output_mask_text(const char *s, const json_t *secrets)
{
	size_t n = json_array_size(secrets), k = 0;
	struct buf b = BUF_INIT;
	if (!n)
		return xstrdup(s);
	json_t **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		if (json_is_string(json_array_get(secrets, i)) &&
		    *json_string_value(json_array_get(secrets, i)))
			v[k++] = json_array_get(secrets, i);
	qsort(v, k, sizeof(*v), cmp_len);
	for (const char *p = s; *p;) {
		size_t i;
		for (i = 0; i < k; i++) {
			const char *w = json_string_value(v[i]);
			size_t wl = strlen(w);
			if (!strncmp(p, w, wl)) {
				buf_adds(&b, MASK);
				p += wl;
				break;
			}
		}
		if (i == k)
			buf_addc(&b, *p++);
	}
	free(v);
	if (!b.len)
		return xstrdup("");
	return buf_detach(&b);
}

json_t *output_mask_json(const json_t *v, const json_t *secrets)
{
	if (!json_array_size(secrets))
		return json_incref((json_t *)v);
	if (json_is_string(v)) {
		char *m = output_mask_text(json_string_value(v), secrets);
		json_t *r = json_string(m);
		free(m);
		return r ? r : json_incref((json_t *)v);
	}
	if (json_is_array(v)) {
		json_t *r = json_array(), *it;
		size_t i;
		json_array_foreach (v, i, it)
			json_array_append_new(r, output_mask_json(it, secrets));
		return r;
	}
	if (json_is_object(v)) {
		json_t *r = json_object(), *it;
		const char *k;
		json_object_foreach ((json_t *)v, k, it) {
			char *mk = output_mask_text(k, secrets);
			json_object_set_new(r, mk, output_mask_json(it, secrets));
			free(mk);
		}
		return r;
	}
	return json_incref((json_t *)v);
}

static void write_all(const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Mask and write the first n bytes held, keep the rest. */
static void flush_held(size_t n)
{
	if (!n)
		return;
	char *part = xstrndup(held.s, n);
	char *m = output_mask_text(part, thread_secrets);
	write_all(m, strlen(m));
	free(m);
	free(part);
	memmove(held.s, held.s + n, held.len - n);
	held.len -= n;
	held.s[held.len] = '\0';
}

static ssize_t cookie_write(void *cookie, const char *data, size_t n)
{
	(void)cookie;
	if (!json_array_size(thread_secrets) && !held.len) {
		write_all(data, n);
		return (ssize_t)n;
	}
	buf_add(&held, data, n);
	const char *nl = memrchr(held.s, '\n', held.len);
	if (nl)
		flush_held((size_t)(nl - held.s) + 1);
	else if (held.len > HOLD_MAX)
		flush_held(held.len);
	return (ssize_t)n;
}

void output_mask_thread(const json_t *secrets)
{
	if (!secrets && held.len)
		flush_held(held.len);
	if (!secrets)
		buf_release(&held);
	thread_secrets = secrets;
}

void output_mask_stderr(int on)
{
	static const cookie_io_functions_t fns = {NULL, cookie_write, NULL, NULL};
	if (on && !saved_stderr) {
		FILE *f = fopencookie(NULL, "w", fns);
		if (!f)
			return; /* unmasked stderr rather than none */
		setvbuf(f, NULL, _IONBF, 0);
		fflush(stderr);
		saved_stderr = stderr;
		stderr = f;
	} else if (!on && saved_stderr) {
		FILE *f = stderr;
		stderr = saved_stderr;
		saved_stderr = NULL;
		fclose(f);
	}
}
