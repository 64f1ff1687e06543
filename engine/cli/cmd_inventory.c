/*
 * drover inventory: ansible-inventory's --list, --graph, --host and --yaml,
 * with the same output byte for byte, so users can diff the two.
 */
#include "cli/cli.h"
#include "inventory/inventory.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's repr(float): the shortest text that reads back the same. */
static void add_float(struct buf *b, double d)
{
	char tmp[64];
	int p;
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	char digits[32];
	size_t nd = 0;
	const char *s = tmp;
	if (*s == '-') {
		buf_addc(b, '-');
		s++;
	}
	for (; *s && *s != 'e'; s++)
		if (*s != '.')
			digits[nd++] = *s;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	int decpt = atoi(s + 1) + 1; /* value = 0.DIGITS * 10^decpt */
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			buf_adds(b, "0.");
			for (int i = 0; i < -decpt; i++)
				buf_addc(b, '0');
			buf_adds(b, digits);
		} else if ((size_t)decpt >= nd) {
			buf_adds(b, digits);
			for (size_t i = nd; i < (size_t)decpt; i++)
				buf_addc(b, '0');
			buf_adds(b, ".0");
		} else {
			buf_add(b, digits, (size_t)decpt);
			buf_addc(b, '.');
			buf_adds(b, digits + decpt);
		}
		return;
	}
	buf_addc(b, digits[0]);
	if (nd > 1) {
		buf_addc(b, '.');
		buf_adds(b, digits + 1);
	}
	buf_addf(b, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
}

static void add_jstr(struct buf *b, const char *s, size_t n)
{
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '\b':
			buf_adds(b, "\\b");
			break;
		case '\f':
			buf_adds(b, "\\f");
			break;
		default:
			if (c < 0x20)
				buf_addf(b, "\\u%04x", c);
			else
				buf_addc(b, (char)c);
		}
	}
	buf_addc(b, '"');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void py_json(struct buf *b, const json_t *v, int level);

static void py_json_object(struct buf *b, const json_t *v, int level)
{
	size_t n = json_object_size(v), k = 0;
	if (!n) {
		buf_adds(b, "{}");
		return;
	}
	const char **keys = xcalloc(n, sizeof(*keys));
	const char *key;
	json_t *val;
	json_object_foreach ((json_t *)v, key, val) {
		keys[k++] = key;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	buf_adds(b, "{\n");
	for (size_t i = 0; i < n; i++) {
		buf_addf(b, "%*s", (level + 1) * 4, "");
		add_jstr(b, keys[i], strlen(keys[i]));
		buf_adds(b, ": ");
		py_json(b, json_object_get(v, keys[i]), level + 1);
		buf_adds(b, i + 1 < n ? ",\n" : "\n");
	}
	buf_addf(b, "%*s}", level * 4, "");
	free(keys);
}

/* json.dumps(v, sort_keys=True, indent=4, ensure_ascii=False). */
static void py_json(struct buf *b, const json_t *v, int level)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		py_json_object(b, v, level);
		return;
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		if (!n) {
			buf_adds(b, "[]");
			return;
		}
		buf_adds(b, "[\n");
		for (size_t i = 0; i < n; i++) {
			buf_addf(b, "%*s", (level + 1) * 4, "");
			py_json(b, json_array_get(v, i), level + 1);
			buf_adds(b, i + 1 < n ? ",\n" : "\n");
		}
		buf_addf(b, "%*s]", level * 4, "");
		return;
	}
	case JSON_STRING:
		add_jstr(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		buf_addf(b, "%lld", (long long)json_integer_value(v));
		return;
	case JSON_REAL:
		add_float(b, json_real_value(v));
		return;
	case JSON_TRUE:
		buf_adds(b, "true");
		return;
	case JSON_FALSE:
		buf_adds(b, "false");
		return;
	default:
		buf_adds(b, "null");
		return;
	}
}

static json_t *names_array(char *const *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* ansible-inventory's json_inventory: each group once, empty keys dropped. */
static void list_group(const struct inventory *inv, const struct inv_group *g, json_t *out,
                       json_t *seen)
{
	json_t *d = json_object();
	json_object_set_new(out, g->name, d);
	if (strcmp(g->name, "all") && g->nhosts)
		json_object_set_new(d, "hosts", names_array(g->hosts, g->nhosts));
	if (g->nchildren)
		json_object_set_new(d, "children", names_array(g->children, g->nchildren));
	for (int i = 0; i < g->nchildren; i++) {
		if (json_object_get(seen, g->children[i]))
			continue;
		json_object_set_new(seen, g->children[i], json_true());
		list_group(inv, inventory_group(inv, g->children[i]), out, seen);
	}
	if (!json_object_size(d))
		json_object_del(out, g->name);
}

static json_t *inventory_list(const struct inventory *inv)
{
	json_t *out = json_object(), *seen = json_object(), *hv = json_object();
	list_group(inv, inventory_group(inv, "all"), out, seen);
	json_t *hosts = inventory_group_hosts(inv, "all");
	size_t i;
	json_t *h;
	json_array_foreach (hosts, i, h) {
		json_t *vars = inventory_host_vars(inv, json_string_value(h), 0);
		if (json_object_size(vars))
			json_object_set(hv, json_string_value(h), vars);
		json_decref(vars);
	}
	json_object_set_new(out, "_meta", json_pack("{s:o}", "hostvars", hv));
	json_decref(hosts);
	json_decref(seen);
	return out;
}

/* ansible-inventory's yaml_inventory: nested groups, host vars only at a
 * host's first appearance. */
static json_t *yaml_group(const struct inventory *inv, const struct inv_group *g, json_t *seen)
{
	json_t *d = json_object(), *children = json_object(), *hosts = json_object();
	for (int i = 0; i < g->nchildren; i++)
		if (strcmp(g->children[i], "all"))
			json_object_set_new(
			    children, g->children[i],
			    yaml_group(inv, inventory_group(inv, g->children[i]), seen));
	for (int i = 0; strcmp(g->name, "all") && i < g->nhosts; i++) {
		json_t *vars = NULL;
		if (!json_object_get(seen, g->hosts[i])) {
			json_object_set_new(seen, g->hosts[i], json_true());
			vars = inventory_host_vars(inv, g->hosts[i], 0);
		}
		json_object_set_new(hosts, g->hosts[i], vars ? vars : json_object());
	}
	if (json_object_size(children))
		json_object_set(d, "children", children);
	if (json_object_size(hosts))
		json_object_set(d, "hosts", hosts);
	json_decref(children);
	json_decref(hosts);
	return d;
}

static void graph(const struct inventory *inv, const struct inv_group *g, int depth, struct buf *b)
{
	for (int i = 0; i < depth; i++)
		buf_adds(b, "  |");
	buf_addf(b, "%s@%s:\n", depth ? "--" : "", g->name);
	for (int i = 0; i < g->nchildren; i++)
		graph(inv, inventory_group(inv, g->children[i]), depth + 1, b);
	for (int i = 0; strcmp(g->name, "all") && i < g->nhosts; i++) {
		for (int j = 0; j <= depth; j++)
			buf_adds(b, "  |");
		buf_addf(b, "--%s\n", g->hosts[i]);
	}
}

static int report(struct err *e)
{
	char msg[4096];
	log_error("%s", err_format(e, msg, sizeof(msg)));
	return EXIT_ERROR;
}

/* Load every source of c (-i, else the config's) into inv, finished. */
static int load_sources(struct cli *c, struct inventory *inv, struct err *e)
{
	const struct strlist *src = cli_inventories(c);
	for (int i = 0; i < src->n; i++)
		if (inventory_load(inv, src->v[i], e))
			return e->code;
	if (!src->n)
		log_warn("No inventory was parsed, only implicit localhost is available");
	return inventory_finish(inv, e);
}

static int show_host(struct inventory *inv, const char *pattern, struct buf *out, struct err *e)
{
	json_t *hosts = inventory_select(inv, pattern, NULL, e);
	if (!hosts)
		return e->code;
	int rc = 0;
	if (json_array_size(hosts) != 1) {
		rc = err_set(e, ERR_GENERIC, NULL, 0, 0,
		             "You must pass a single valid host to --host parameter ('%s' matches "
		             "%zu hosts)",
		             pattern, json_array_size(hosts));
	} else {
		json_t *vars =
		    inventory_host_vars(inv, json_string_value(json_array_get(hosts, 0)), 0);
		py_json(out, vars, 0);
		json_decref(vars);
	}
	json_decref(hosts);
	return rc;
}

int cmd_inventory(struct cli *c)
{
	struct inventory inv;
	struct err e;
	struct buf out = BUF_INIT;
	int rc = EXIT_OK;
	err_init(&e);
	inventory_init(&inv);
	if (!c->list && !c->graph && !c->host) {
		log_error("No action selected, at least one of --host, --graph or --list needs to "
		          "be specified.");
		rc = EXIT_ERROR;
		goto out;
	}
	if (load_sources(c, &inv, &e)) {
		rc = report(&e);
		goto out;
	}
	if (c->host) {
		if (show_host(&inv, c->host, &out, &e))
			rc = report(&e);
	} else if (c->graph) {
		const char *name = c->args.n ? c->args.v[0] : "all";
		const struct inv_group *g = inventory_group(&inv, name);
		if (!g) {
			log_error("Pattern must be valid group name when using --graph ('%s' is "
			          "not a group)",
			          name);
			rc = EXIT_ERROR;
			goto out;
		}
		graph(&inv, g, 0, &out);
		if (out.len)
			out.s[--out.len] = '\0';
	} else if (c->yaml) {
		json_t *seen = json_object(), *top = json_object();
		json_object_set_new(top, "all",
		                    yaml_group(&inv, inventory_group(&inv, "all"), seen));
		yaml_dump(top, 2, &out);
		json_decref(top);
		json_decref(seen);
	} else {
		json_t *list = inventory_list(&inv);
		py_json(&out, list, 0);
		json_decref(list);
	}
	if (rc == EXIT_OK && out.len) {
		fputs(buf_str(&out), stdout);
		if (out.s[out.len - 1] != '\n')
			fputc('\n', stdout);
	}
out:
	buf_release(&out);
	inventory_release(&inv);
	return rc;
}
