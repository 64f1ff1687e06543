/*
 * Ansible's k=v argument splitting (parse_kv/split_args): whitespace splits
 * words except inside quotes and {{ }} / {% %}; a word whose key part is an
 * identifier followed by '=' is a parameter, its value unquoted.
 */
#include "playbook/playbook.h"
#include "util/buf.h"
#include "util/mem.h"

#include <ctype.h>
#include <string.h>

/* Keys pulled out of free-form text for raw-params modules (command...). */
static const char *const raw_keys[] = {
    "creates",           "removes",          "chdir", "executable", "warn", "stdin",
    "stdin_add_newline", "strip_empty_ends", "argv",  NULL,
};

static int is_raw_key(const char *k, size_t n)
{
	for (int i = 0; raw_keys[i]; i++)
		if (strlen(raw_keys[i]) == n && !strncmp(raw_keys[i], k, n))
			return 1;
	return 0;
}

/* Length of the next word starting at s (quote and jinja aware), -1 when a
 * quote or jinja block is not closed. */
static long word_len(const char *s)
{
	const char *p = s;
	char q = 0;
	int depth = 0;
	while (*p) {
		if (q) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == q)
				q = 0;
		} else if (p[0] == '{' && (p[1] == '{' || p[1] == '%' || p[1] == '#')) {
			depth++;
			p++;
		} else if (depth && (p[0] == '}' || p[0] == '%' || p[0] == '#') && p[1] == '}') {
			depth--;
			p++;
		} else if (!depth && (*p == '"' || *p == '\'')) {
			q = *p;
		} else if (!depth && isspace((unsigned char)*p)) {
			break;
		}
		p++;
	}
	if (q || depth)
		return -1;
	return p - s;
}

static void unquote(const char *v, size_t n, struct buf *out)
{
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		for (size_t i = 1; i + 1 < n; i++) {
			if (v[i] == '\\' && i + 2 < n && (v[i + 1] == v[0] || v[i + 1] == '\\'))
				i++;
			buf_addc(out, v[i]);
		}
		return;
	}
	buf_add(out, v, n);
}

/* Length of an identifier key before '=', or 0 when the word is not k=v. */
static size_t kv_key(const char *w, size_t n)
{
	size_t i = 0;
	while (i < n && (isalnum((unsigned char)w[i]) || w[i] == '_'))
		i++;
	return (i > 0 && i < n && w[i] == '=') ? i : 0;
}

json_t *pb_parse_kv(const char *s, int raw, struct err *e)
{
	json_t *out = json_object();
	struct buf free_text = BUF_INIT, val = BUF_INIT;
	const char *p = s;
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		long n = word_len(p);
		if (n < 0) {
			err_set(e, ERR_PARSE, NULL, 0, 0,
			        "unbalanced quotes or jinja braces in arguments: %s", s);
			json_decref(out);
			out = NULL;
			goto done;
		}
		size_t k = kv_key(p, (size_t)n);
		if (k && (!raw || is_raw_key(p, k))) {
			char *key = xstrndup(p, k);
			buf_reset(&val);
			unquote(p + k + 1, (size_t)n - k - 1, &val);
			json_object_set_new(out, key, json_string(buf_str(&val)));
			free(key);
		} else {
			if (free_text.len)
				buf_addc(&free_text, ' ');
			buf_add(&free_text, p, (size_t)n);
		}
		p += n;
	}
	if (free_text.len)
		json_object_set_new(out, "_raw_params", json_string(buf_str(&free_text)));
done:
	buf_release(&free_text);
	buf_release(&val);
	return out;
}
