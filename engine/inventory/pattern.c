/*
 * Host patterns, evaluated as Ansible's InventoryManager.get_hosts does:
 * split on ',' (or ':' when the whole is not one address), plain parts
 * first, then '&' intersections, then '!' exclusions. A part matches group
 * names and host names by shell wildcard, or by regex after '~' (POSIX ERE
 * here, anchored at the start as Python's re.match); a group match may take
 * a subscript: g[0], g[-1], g[1:], g[1:3].
 */
#include "inventory/inv_int.h"
#include "util/log.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* split_host_pattern: new array of trimmed, non-empty parts. */
static json_t *split_pattern(const char *pat)
{
	json_t *out = json_array();
	if (strchr(pat, ',') || inv_valid_address(pat)) {
		char *copy = xstrdup(pat);
		for (char *p = copy, *c;; p = c + 1) {
			c = strchr(p, ',');
			if (c)
				*c = '\0';
			while (isspace((unsigned char)*p))
				p++;
			size_t n = strlen(p);
			while (n && isspace((unsigned char)p[n - 1]))
				p[--n] = '\0';
			if (n)
				json_array_append_new(out, json_string(p));
			if (!c)
				break;
		}
		free(copy);
		return out;
	}
	/* (?:[^\s:\[\]]|\[[^\]]*\])+ */
	const char *s = pat;
	while (*s) {
		const char *start = s;
		for (;;) {
			if (*s == '[') {
				const char *c = strchr(s, ']');
				if (!c)
					break;
				s = c + 1;
			} else if (*s && !isspace((unsigned char)*s) && *s != ':' && *s != ']') {
				s++;
			} else {
				break;
			}
		}
		if (s > start)
			json_array_append_new(out, json_stringn(start, (size_t)(s - start)));
		else
			s++;
	}
	return out;
}

struct sub {
	int has, range;
	long start, end;
};

/* A whole decimal number [s, e) with an optional leading '-'. */
static int whole(const char *s, const char *e, int neg_ok, long *out)
{
	const char *d = s + (neg_ok && *s == '-');
	if (d == e || (size_t)(e - d) != strspn(d, "0123456789") || (size_t)(e - d) > 9)
		return 0;
	*out = strtol(s, NULL, 10);
	return 1;
}

/* Ansible's PATTERN_WITH_SUBSCRIPT: "expr[n]" (n may be negative),
 * "expr[a:b]" or "expr[a:]"; returns expr, and the subscript in sub. */
static char *split_subscript(const char *pat, struct sub *sub)
{
	size_t n = strlen(pat);
	const char *lb = strrchr(pat, '['), *rb = pat + n - 1;
	memset(sub, 0, sizeof(*sub));
	if (pat[0] == '~' || !lb || lb == pat || *rb != ']')
		return xstrdup(pat);
	const char *sep = lb + 1 + strcspn(lb + 1, ":-]");
	if (*sep == '-' && sep == lb + 1) /* [-n] */
		sep = lb + 2 + strcspn(lb + 2, ":-]");
	if (sep == rb) {
		if (whole(lb + 1, rb, 1, &sub->start))
			sub->has = 1;
	} else if (whole(lb + 1, sep, 0, &sub->start)) {
		sub->end = -1;
		sub->has = sep + 1 == rb || whole(sep + 1, rb, 0, &sub->end);
		sub->range = 1;
		if (sub->has && *sep == '-')
			log_warn("Use [x:y] inclusive subscripts instead of [x-y] which has been "
			         "removed");
	}
	return sub->has ? xstrndup(pat, (size_t)(lb - pat)) : xstrdup(pat);
}

struct sel {
	struct inventory *inv;
	struct err *e;
};

static int match_name(const char *pat, const regex_t *re, const char *name)
{
	if (re) {
		regmatch_t m;
		return !regexec(re, name, 1, &m, 0) && m.rm_so == 0;
	}
	return !fnmatch(pat, name, FNM_NOESCAPE);
}

static void add_unique(json_t *out, json_t *seen, const char *name)
{
	if (json_object_get(seen, name))
		return;
	json_object_set_new(seen, name, json_true());
	json_array_append_new(out, json_string(name));
}

/* _enumerate_matches: new array of host names, or NULL with e set. */
static json_t *enumerate(struct sel *s, const char *pat)
{
	regex_t re;
	int is_re = pat[0] == '~';
	if (is_re) {
		/* Python's re.match anchors at the start only; some ERE engines
		 * report the leftmost-longest match, so anchoring is checked on
		 * the match offset. */
		if (regcomp(&re, pat + 1, REG_EXTENDED)) {
			err_set(s->e, ERR_GENERIC, NULL, 0, 0, "Invalid host list pattern: %s",
			        pat);
			return NULL;
		}
	}
	json_t *out = json_array(), *seen = json_object();
	int groups = 0;
	for (int i = 0; i < s->inv->ngroups; i++) {
		if (!match_name(pat, is_re ? &re : NULL, s->inv->groups[i]->name))
			continue;
		groups++;
		json_t *hs = inventory_group_hosts(s->inv, s->inv->groups[i]->name);
		size_t k;
		json_t *h;
		json_array_foreach (hs, k, h) {
			if (!inventory_host(s->inv, json_string_value(h))->implicit)
				add_unique(out, seen, json_string_value(h));
		}
		json_decref(hs);
	}
	if (!groups || is_re || strpbrk(pat, ".?*[")) {
		for (int i = 0; i < s->inv->nhosts; i++) {
			struct inv_host *h = s->inv->hosts[i];
			if ((!h->implicit || !strcmp(h->name, pat)) &&
			    match_name(pat, is_re ? &re : NULL, h->name))
				add_unique(out, seen, h->name);
		}
	}
	if (!json_array_size(out) &&
	    (!strcmp(pat, "localhost") || !strcmp(pat, "127.0.0.1") || !strcmp(pat, "::1")))
		add_unique(out, seen, inv_localhost(s->inv, pat)->name);
	if (!json_array_size(out) && !groups && strcmp(pat, "all"))
		log_warn("Could not match supplied host pattern, ignoring: %s", pat);
	if (is_re)
		regfree(&re);
	json_decref(seen);
	return out;
}

static json_t *match_one(struct sel *s, const char *part)
{
	if (part[0] == '&' || part[0] == '!')
		part++;
	struct sub sub;
	char *expr = split_subscript(part, &sub);
	json_t *hosts = expr[0] ? enumerate(s, expr) : json_array();
	free(expr);
	if (!hosts || !sub.has || !json_array_size(hosts))
		return hosts;
	long n = (long)json_array_size(hosts);
	json_t *out = json_array();
	if (sub.range && sub.end) {
		long end = sub.end == -1 ? n - 1 : sub.end;
		for (long i = sub.start; i <= end && i < n; i++)
			json_array_append(out, json_array_get(hosts, (size_t)i));
	} else {
		long i = sub.start < 0 ? n + sub.start : sub.start;
		if (i < 0 || i >= n) {
			err_set(s->e, ERR_GENERIC, NULL, 0, 0,
			        "No hosts matched the subscripted pattern '%s'", part);
			json_decref(out);
			out = NULL;
		} else {
			json_array_append(out, json_array_get(hosts, (size_t)i));
		}
	}
	json_decref(hosts);
	return out;
}

static json_t *name_set(const json_t *arr)
{
	json_t *set = json_object();
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v) {
		json_object_set(set, json_string_value(v), json_true());
	}
	return set;
}

/* Ansible's order_patterns: plain parts, then &, then !; only & and !
 * parts alone imply `all`. New array. */
static json_t *order_parts(const json_t *parts)
{
	json_t *ordered = json_array();
	for (int pass = 0; pass < 3; pass++) {
		size_t i;
		json_t *p;
		json_array_foreach (parts, i, p) {
			const char *t = json_string_value(p);
			if ((t[0] == '&' ? 1 : t[0] == '!' ? 2 : 0) == pass)
				json_array_append(ordered, p);
		}
		if (pass == 0 && !json_array_size(ordered))
			json_array_append_new(ordered, json_string("all"));
	}
	return ordered;
}

/* Apply one part to hosts (in place, with seen its name set). */
static void apply_part(json_t **hosts, json_t **seen, const char *t, const json_t *that)
{
	size_t k;
	json_t *h;
	if (t[0] != '!' && t[0] != '&') {
		json_array_foreach (that, k, h) {
			if (json_object_get(*seen, json_string_value(h)))
				continue;
			json_object_set(*seen, json_string_value(h), json_true());
			json_array_append(*hosts, h);
		}
		return;
	}
	json_t *tset = name_set(that), *next = json_array();
	json_array_foreach (*hosts, k, h) {
		if (!!json_object_get(tset, json_string_value(h)) == (t[0] == '&'))
			json_array_append(next, h);
	}
	json_decref(tset);
	json_decref(*hosts);
	json_decref(*seen);
	*hosts = next;
	*seen = name_set(next);
}

/* _evaluate_patterns over parts: new array, or NULL with e set. */
static json_t *evaluate(struct sel *s, const json_t *parts)
{
	json_t *ordered = order_parts(parts), *hosts = json_array(), *seen = json_object();
	size_t i;
	json_t *p;
	json_array_foreach (ordered, i, p) {
		const char *t = json_string_value(p);
		json_t *that;
		if (t[0] != '&' && t[0] != '!' && inventory_host(s->inv, t))
			that = json_pack("[s]", t); /* a host's own name, before globbing */
		else
			that = match_one(s, t);
		if (!that) {
			json_decref(hosts);
			hosts = NULL;
			break;
		}
		apply_part(&hosts, &seen, t, that);
		json_decref(that);
	}
	json_decref(seen);
	json_decref(ordered);
	return hosts;
}

/* --limit: its parts, with each @file replaced by the file's lines. */
static json_t *limit_parts(const char *limit, struct err *e)
{
	json_t *parts = split_pattern(limit), *out = json_array();
	size_t i;
	json_t *p;
	json_array_foreach (parts, i, p) {
		const char *t = json_string_value(p);
		if (t[0] != '@') {
			json_array_append(out, p);
			continue;
		}
		char *text = read_file(t + 1, NULL);
		if (!text) {
			err_set(e, ERR_IO, t + 1, 0, 0, "Unable to find limit file %s: %s", t + 1,
			        strerror(errno));
			json_decref(out);
			out = NULL;
			break;
		}
		for (char *line = text, *nl; line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			while (isspace((unsigned char)*line))
				line++;
			size_t n = strlen(line);
			while (n && isspace((unsigned char)line[n - 1]))
				line[--n] = '\0';
			if (n)
				json_array_append_new(out, json_string(line));
		}
		free(text);
	}
	json_decref(parts);
	return out;
}

json_t *inventory_select(struct inventory *inv, const char *pattern, const char *limit,
                         struct err *e)
{
	struct sel s = {inv, e};
	json_t *parts = split_pattern(pattern ? pattern : "all");
	json_t *hosts = evaluate(&s, parts), *sub = NULL, *lparts = NULL;
	if (!hosts || !limit || !*limit)
		goto out;
	lparts = limit_parts(limit, e);
	sub = lparts ? evaluate(&s, lparts) : NULL;
	json_t *kept = NULL;
	if (sub) {
		json_t *set = name_set(sub);
		kept = json_array();
		size_t i;
		json_t *h;
		json_array_foreach (hosts, i, h) {
			if (json_object_get(set, json_string_value(h)))
				json_array_append(kept, h);
		}
		json_decref(set);
	}
	json_decref(hosts);
	hosts = kept;
out:
	json_decref(parts);
	json_decref(lparts);
	json_decref(sub);
	return hosts;
}
