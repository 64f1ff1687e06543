/*
 * Host names in inventories: "host:port" and ranges ("node[01:10]",
 * "db[1:9:2]", "web[a:f]", several per name), following Ansible's
 * parse_address and expand_hostname_range, with errors that say where.
 */
#include "inventory/inv_int.h"
#include "util/buf.h"
#include "util/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int word(int c)
{
	return isalnum(c) || c == '_' || (c & 0x80);
}

/* "[a:z]" or "[0:9]" with an optional ":step", as the address regex
 * allows inside a label; returns its length or 0. */
static size_t addr_range(const char *s)
{
	if (*s != '[')
		return 0;
	size_t i = 1;
	if (isalpha((unsigned char)s[1]) && s[2] == ':' && isalpha((unsigned char)s[3])) {
		i = 4;
	} else {
		size_t a = strspn(s + 1, "0123456789");
		if (!a || s[1 + a] != ':')
			return 0;
		size_t b = strspn(s + 2 + a, "0123456789");
		if (!b)
			return 0;
		i = 2 + a + b;
	}
	if (s[i] == ':') {
		size_t st = strspn(s + i + 1, "0123456789");
		if (!st)
			return 0;
		i += 1 + st;
	}
	return s[i] == ']' ? i + 1 : 0;
}

/* Ansible's hostname pattern: dot-separated labels of word characters,
 * '-' and ranges, not ending a label in '-' or '_'. */
static int valid_hostname(const char *s)
{
	while (*s) {
		size_t n = 0, r;
		char last = 0;
		if (*s == '-')
			return 0;
		while (s[n] && s[n] != '.') {
			if ((r = addr_range(s + n))) {
				n += r;
				last = ']';
			} else if (word((unsigned char)s[n]) || s[n] == '-') {
				last = s[n++];
			} else {
				return 0;
			}
		}
		if (!n || last == '-' || last == '_')
			return 0;
		s += n;
		if (*s == '.' && !*++s)
			return 0;
	}
	return 1;
}

/* Loose, but enough to tell "fe80::1" from "web:db": compressed (::) or
 * all eight groups. */
static int valid_ipv6(const char *s)
{
	int colons = 0;
	for (const char *c = s; *c; c++)
		colons += *c == ':';
	return *s && strspn(s, "0123456789abcdefABCDEF:.[]") == strlen(s) &&
	       (strstr(s, "::") || colons == 7);
}

int inv_split_port(const char *s, char **host, int *port)
{
	size_t len = strlen(s);
	size_t digits = 0;
	while (digits < len && isdigit((unsigned char)s[len - 1 - digits]))
		digits++;
	if (!digits || digits == len || s[len - 1 - digits] != ':' || digits > 5)
		return 0;
	size_t hl = len - 1 - digits;
	char *h = xstrndup(s, hl);
	int ok;
	if (hl > 2 && h[0] == '[' && h[hl - 1] == ']' && !addr_range(h)) {
		/* [host]:port, the only way to give an IPv6 address a port */
		memmove(h, h + 1, hl - 2);
		h[hl - 2] = '\0';
		ok = valid_ipv6(h) || valid_hostname(h);
	} else {
		/* host:port: no ':' outside brackets in the host part */
		ok = 1;
		for (size_t i = 0; i < hl && ok; i++) {
			if (h[i] == '[') {
				char *c = strchr(h + i, ']');
				if (!c)
					ok = 0;
				else
					i = (size_t)(c - h);
			} else if (h[i] == ':' || h[i] == ']') {
				ok = 0;
			}
		}
		ok = ok && valid_hostname(h);
	}
	if (!ok) {
		free(h);
		return 0;
	}
	*host = h;
	*port = atoi(s + len - digits);
	return 1;
}

static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static int num(const char *s, long *out)
{
	char *end;
	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	*out = strtol(s, &end, 10);
	return *end || *out > 1000000 ? -1 : 0;
}

#define RANGE_ERR(...) err_set(x->e, ERR_PARSE, x->file, x->line, x->col, __VA_ARGS__)

struct expand {
	const char *file;
	int line, col;
	struct err *e;
	json_t *out;
};

static int expand(struct expand *x, const char *name, int depth);

/* Each value of the range [beg:end:step] put in place of name's first
 * [...] (lb..rb), the result expanded further. */
static int expand_seq(struct expand *x, const char *name, const char *lb, const char *rb,
                      const char *beg, const char *end, long step, int width, int depth)
{
	const char *lbeg = strlen(beg) == 1 ? strchr(letters, beg[0]) : NULL;
	const char *lend = strlen(end) == 1 ? strchr(letters, end[0]) : NULL;
	long b, e;
	if (lbeg && lend) {
		b = lbeg - letters;
		e = lend - letters;
		if (b > e)
			return RANGE_ERR("host range in '%s' must have begin <= end", name);
	} else if (num(beg, &b) || num(end, &e)) {
		return RANGE_ERR("host range in '%s' needs numbers or single letters, not '%s:%s'",
		                 name, beg, end);
	}
	for (long v = b; v <= e; v += step) {
		struct buf nb = BUF_INIT;
		buf_add(&nb, name, (size_t)(lb - name));
		if (lbeg && lend)
			buf_addc(&nb, letters[v]);
		else
			buf_addf(&nb, "%0*ld", width, v);
		buf_adds(&nb, rb + 1);
		int rc = expand(x, buf_str(&nb), depth + 1);
		buf_release(&nb);
		if (rc)
			return rc;
	}
	return 0;
}

/* The first [a:b:c] of name, expanded, then the rest recursively. */
static int expand(struct expand *x, const char *name, int depth)
{
	const char *lb = strchr(name, '['), *rb = strchr(name, ']');
	if (!lb) {
		json_array_append_new(x->out, json_string(name));
		return 0;
	}
	if (!rb || rb < lb || depth > 16)
		return RANGE_ERR("host range in '%s' has an unbalanced '[' or ']'", name);
	char *inner = xstrndup(lb + 1, (size_t)(rb - lb - 1));
	char *parts[4] = {0};
	int n = 0, rc = 0;
	for (char *p = inner, *c; n < 4; p = c + 1) {
		parts[n++] = p;
		if (!(c = strchr(p, ':')))
			break;
		*c = '\0';
	}
	const char *beg = parts[0], *end = n > 1 ? parts[1] : "";
	long step = 1;
	if (n != 2 && n != 3) {
		rc = RANGE_ERR("host range [%s] in '%s' must be begin:end or begin:end:step",
		               lb + 1 == rb ? "" : parts[0], name);
		goto out;
	}
	if (!*beg)
		beg = "0";
	if (!*end) {
		rc = RANGE_ERR("host range in '%s' must give an end value", name);
		goto out;
	}
	if (n == 3 && (num(parts[2], &step) || step < 1)) {
		rc = RANGE_ERR("host range step '%s' in '%s' must be a whole number above 0",
		               parts[2], name);
		goto out;
	}
	int width = beg[0] == '0' && strlen(beg) > 1 ? (int)strlen(beg) : 0;
	if (width && strlen(end) != (size_t)width) {
		rc = RANGE_ERR("host range in '%s' must have begin and end of equal length "
		               "(zero padding)",
		               name);
		goto out;
	}
	rc = expand_seq(x, name, lb, rb, beg, end, step, width, depth);
out:
	free(inner);
	return rc;
}

json_t *inv_expand_hosts(const char *pattern, int *port, const char *file, int line, int col,
                         struct err *e)
{
	char *host = NULL;
	*port = 0;
	if (!inv_split_port(pattern, &host, port))
		host = xstrdup(pattern);
	struct expand x = {file, line, col, e, json_array()};
	if (expand(&x, host, 0)) {
		json_decref(x.out);
		x.out = NULL;
	}
	free(host);
	return x.out;
}

int inv_valid_address(const char *s)
{
	char *h = NULL;
	int port;
	if (inv_split_port(s, &h, &port)) {
		free(h);
		return 1;
	}
	return valid_hostname(s) || valid_ipv6(s);
}
