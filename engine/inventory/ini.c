/*
 * INI inventories, read as Ansible's ini plugin reads them: host lines are
 * split like a POSIX shell (shlex with comments), so quotes are stripped
 * before each value is typed as a Python literal; [g:vars] lines are
 * key=value with the raw text typed the same way; [g:children] lines name
 * groups, which may be declared later in the file.
 */
#include "inventory/inv_int.h"
#include "util/buf.h"
#include "util/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct ini {
	struct inventory *inv;
	const char *path;
	int line;
	struct err *e;
	json_t *pending; /* group -> {"line": n, "state": s, "parents": [..]} */
};

/* shlex.split(line, comments=True): returns a new array of tokens, or NULL
 * with *why set (unclosed quote, trailing backslash). */
static json_t *shlex_split(const char *s, const char **why)
{
	json_t *out = json_array();
	struct buf tok = BUF_INIT;
	int in_tok = 0;
	char quote = 0;
	for (;; s++) {
		char c = *s;
		if (quote) {
			if (!c) {
				*why = "No closing quotation";
				goto fail;
			}
			if (c == quote) {
				quote = 0;
			} else if (quote == '"' && c == '\\' && (s[1] == '"' || s[1] == '\\')) {
				buf_addc(&tok, *++s);
			} else {
				buf_addc(&tok, c);
			}
			continue;
		}
		if (!c || c == '#' || isspace((unsigned char)c)) {
			if (in_tok)
				json_array_append_new(out,
				                      json_stringn(tok.s ? tok.s : "", tok.len));
			buf_reset(&tok);
			in_tok = 0;
			if (!c || c == '#')
				break;
			continue;
		}
		in_tok = 1;
		if (c == '\'' || c == '"') {
			quote = c;
		} else if (c == '\\') {
			if (!s[1]) {
				*why = "No escaped character";
				goto fail;
			}
			buf_addc(&tok, *++s);
		} else {
			buf_addc(&tok, c);
		}
	}
	buf_release(&tok);
	return out;
fail:
	buf_release(&tok);
	json_decref(out);
	return NULL;
}

/* A value as Ansible types it: a Python literal, else the text. */
static json_t *ini_value(const char *s)
{
	json_t *v = inv_pyliteral(s);
	return v ? v : json_string(s);
}

#define INI_ERR(col, ...) err_set(p->e, ERR_PARSE, p->path, p->line, col, __VA_ARGS__)

static int host_line(struct ini *p, const char *line, const char *group)
{
	const char *why = NULL;
	json_t *toks = shlex_split(line, &why);
	int rc = 0, port = 0;
	json_t *names = NULL;
	if (!toks)
		return INI_ERR(1, "cannot parse host line '%s': %s", line, why);
	if (!json_array_size(toks))
		goto out;
	const char *pat = json_string_value(json_array_get(toks, 0));
	names = inv_expand_hosts(pat, &port, p->path, p->line, 1, p->e);
	if (!names) {
		rc = p->e->code;
		goto out;
	}
	if (!port && pat[strlen(pat) - 1] == ':') {
		rc = INI_ERR(
		    1, "host '%s' ends in ':', which is kept for a port number (host:2222)", pat);
		goto out;
	}
	json_t *vars = json_object();
	for (size_t i = 1; i < json_array_size(toks) && !rc; i++) {
		const char *t = json_string_value(json_array_get(toks, i));
		const char *eq = strchr(t, '=');
		if (!eq) {
			rc = INI_ERR(1, "expected key=value host variable after '%s', got: %s", pat,
			             t);
			break;
		}
		char *k = xstrndup(t, (size_t)(eq - t));
		json_object_set_new(vars, k, ini_value(eq + 1));
		free(k);
	}
	size_t i;
	json_t *n;
	json_array_foreach (names, i, n) {
		if (rc)
			break;
		struct inv_host *h = inv_add_host(p->inv, json_string_value(n), group);
		if (port)
			inv_host_set(h, "ansible_port", json_integer(port));
		json_object_update(h->vars, vars);
	}
	json_decref(vars);
out:
	json_decref(names);
	json_decref(toks);
	return rc;
}

static int vars_line(struct ini *p, const char *line, const char *group)
{
	const char *eq = strchr(line, '=');
	if (!eq)
		return INI_ERR(1, "expected key=value in [%s:vars], got: %s", group, line);
	char *k = xstrndup(line, (size_t)(eq - line));
	size_t kl = strlen(k);
	while (kl && isspace((unsigned char)k[kl - 1]))
		k[--kl] = '\0';
	const char *v = eq + 1;
	while (isspace((unsigned char)*v))
		v++;
	json_t *val = ini_value(v);
	int rc = inv_group_set(inv_add_group(p->inv, group), k, val, p->path, p->line, 1, p->e);
	json_decref(val);
	free(k);
	return rc;
}

static void pend(struct ini *p, const char *group, const char *state, const char *parent)
{
	json_t *d = json_object_get(p->pending, group);
	if (!d) {
		d = json_pack("{s:i,s:s,s:[]}", "line", p->line, "state", state, "parents");
		json_object_set_new(p->pending, group, d);
	}
	if (parent)
		json_array_append_new(json_object_get(d, "parents"), json_string(parent));
}

/* A group declared after [x:children] named it: make the links now. */
static int resolve_pending(struct ini *p, const char *group)
{
	json_t *d = json_object_get(p->pending, group);
	if (!d)
		return 0;
	json_incref(d);
	json_object_del(p->pending, group);
	int rc = 0;
	size_t i;
	json_t *par;
	json_array_foreach (json_object_get(d, "parents"), i, par) {
		if (rc)
			break;
		rc =
		    inv_add_child(p->inv, json_string_value(par), group, p->path, p->line, 1, p->e);
		json_t *pd = json_object_get(p->pending, json_string_value(par));
		if (!rc && pd &&
		    !strcmp(json_string_value(json_object_get(pd, "state")), "children"))
			rc = resolve_pending(p, json_string_value(par));
	}
	json_decref(d);
	return rc;
}

/* "[name]" or "[name:kind]" with an optional comment; 1 if it is one. */
static int section(const char *line, char **group, char **state)
{
	size_t n = strcspn(line + 1, ":] \t\r\n\v\f");
	if (line[0] != '[' || !n)
		return 0;
	const char *s = line + 1 + n, *kind = NULL;
	size_t kn = 0;
	if (*s == ':') {
		kind = s + 1;
		while (isalnum((unsigned char)kind[kn]) || kind[kn] == '_')
			kn++;
		if (!kn)
			return 0;
		s = kind + kn;
	}
	if (*s != ']')
		return 0;
	s++;
	while (isspace((unsigned char)*s))
		s++;
	if (*s && *s != '#')
		return 0;
	*group = xstrndup(line + 1, n);
	*state = kind ? xstrndup(kind, kn) : xstrdup("hosts");
	return 1;
}

static int enter_section(struct ini *p, const char *group, const char *state)
{
	if (strcmp(state, "hosts") && strcmp(state, "children") && strcmp(state, "vars"))
		return INI_ERR(1,
		               "section [%s:%s] has unknown type '%s' (use hosts, children or "
		               "vars)",
		               group, state, state);
	if (!inventory_group(p->inv, group)) {
		if (!strcmp(state, "vars") && !json_object_get(p->pending, group))
			pend(p, group, "vars", NULL);
		inv_add_group(p->inv, group);
	}
	json_t *d = json_object_get(p->pending, group);
	if (d && strcmp(state, "vars")) {
		if (!strcmp(json_string_value(json_object_get(d, "state")), "children"))
			return resolve_pending(p, group);
		json_object_del(p->pending, group);
	}
	return 0;
}

static int child_line(struct ini *p, const char *line, const char *group)
{
	size_t n = strcspn(line, ":] \t\r\n\v\f");
	const char *rest = line + n;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (!n || (*rest && *rest != '#'))
		return INI_ERR(1, "expected a group name in [%s:children], got: %s", group, line);
	char *child = xstrndup(line, n);
	int rc = 0;
	if (!inventory_group(p->inv, child))
		pend(p, child, "children", group);
	else
		rc = inv_add_child(p->inv, group, child, p->path, p->line, 1, p->e);
	free(child);
	return rc;
}

static int check_pending(struct ini *p)
{
	const char *g;
	json_t *d;
	json_object_foreach (p->pending, g, d) {
		int line = (int)json_integer_value(json_object_get(d, "line"));
		const char *state = json_string_value(json_object_get(d, "state"));
		json_t *parents = json_object_get(d, "parents");
		if (!strcmp(state, "vars"))
			return err_set(p->e, ERR_PARSE, p->path, line, 1,
			               "section [%s:vars] is for a group that is defined nowhere: "
			               "add a [%s] section or put it under a [...:children]",
			               g, g);
		return err_set(
		    p->e, ERR_PARSE, p->path, line, 1,
		    "section [%s:children] names group '%s', which is defined nowhere: "
		    "add a [%s] section",
		    json_string_value(json_array_get(parents, json_array_size(parents) - 1)), g, g);
	}
	return 0;
}

static int ini_line(struct ini *p, char *line, char **group, char **state)
{
	char *g = NULL, *st = NULL;
	if (section(line, &g, &st)) {
		free(*group);
		free(*state);
		*group = g;
		*state = st;
		return enter_section(p, g, st);
	}
	size_t n = strlen(line);
	if (line[0] == '[' && !strchr(line, ']'))
		return INI_ERR(1, "'%s' looks like a section header without its closing ']'", line);
	if (line[0] == '[' && line[n - 1] == ']')
		return INI_ERR(1,
		               "invalid section '%s': a section is [group], [group:vars] or "
		               "[group:children], with no spaces",
		               line);
	if (!strcmp(*state, "hosts"))
		return host_line(p, line, *group);
	if (!strcmp(*state, "vars"))
		return vars_line(p, line, *group);
	return child_line(p, line, *group);
}

int inv_load_ini(struct inventory *inv, const char *path, const char *text, struct err *e)
{
	struct ini p = {inv, path, 0, e, json_object()};
	char *group = xstrdup("ungrouped"), *state = xstrdup("hosts");
	char *copy = xstrdup(text);
	int rc = 0;
	for (char *line = copy, *next; line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		while (isspace((unsigned char)*line))
			line++;
		size_t n = strlen(line);
		while (n && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		if (!n || line[0] == '#' || line[0] == ';')
			continue;
		rc = ini_line(&p, line, &group, &state);
	}
	if (!rc)
		rc = check_pending(&p);
	free(copy);
	free(group);
	free(state);
	json_decref(p.pending);
	return rc;
}
