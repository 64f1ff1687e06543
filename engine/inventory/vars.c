/*
 * After loading: the rules Ansible's reconcile_inventory applies (every
 * group under `all`, hosts in no group go to `ungrouped`), group depths,
 * group_vars/ and host_vars/ files, and a host's merged variables in
 * Ansible's precedence order (VariableManager.get_vars for one host).
 */
#include "inventory/inv_int.h"
#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Depth: the longest path from `all`, relaxed edge by edge (the graph is
 * acyclic, so this settles within ngroups rounds). */
static void group_depths(struct inventory *inv)
{
	for (int i = 0; i < inv->ngroups; i++)
		inv->groups[i]->depth = 0;
	for (int round = 0, changed = 1; changed && round <= inv->ngroups; round++) {
		changed = 0;
		for (int i = 0; i < inv->ngroups; i++) {
			const struct inv_group *g = inv->groups[i];
			for (int j = 0; j < g->nchildren; j++) {
				struct inv_group *c = inventory_group(inv, g->children[j]);
				if (c && c->depth < g->depth + 1) {
					c->depth = g->depth + 1;
					changed = 1;
				}
			}
		}
	}
}

static void reconcile(struct inventory *inv, struct err *e)
{
	for (int i = 0; i < inv->ngroups; i++) {
		struct inv_group *g = inv->groups[i];
		if (strcmp(g->name, "all") && !g->nparents)
			inv_add_child(inv, "all", g->name, NULL, 0, 0, e);
	}
	group_depths(inv);
	struct inv_group *ung = inventory_group(inv, "ungrouped");
	for (int i = 0; i < inv->nhosts; i++) {
		struct inv_host *h = inv->hosts[i];
		int others = 0, in_ung = 0;
		for (int j = 0; j < h->ngroups; j++) {
			if (!strcmp(h->groups[j], "ungrouped"))
				in_ung = 1;
			else if (strcmp(h->groups[j], "all"))
				others = 1;
		}
		if (in_ung && others) {
			for (int j = 0; j < ung->nhosts; j++)
				if (!strcmp(ung->hosts[j], h->name)) {
					free(ung->hosts[j]);
					memmove(ung->hosts + j, ung->hosts + j + 1,
					        (size_t)(ung->nhosts - j - 1) * sizeof(char *));
					ung->nhosts--;
					break;
				}
			for (int j = 0; j < h->ngroups; j++)
				if (!strcmp(h->groups[j], "ungrouped")) {
					free(h->groups[j]);
					memmove(h->groups + j, h->groups + j + 1,
					        (size_t)(h->ngroups - j - 1) * sizeof(char *));
					h->ngroups--;
					break;
				}
		} else if (!in_ung && !others && !h->implicit) {
			inv_group_add_host(inv, ung, h);
		}
	}
	for (int i = 0; i < inv->ngroups; i++)
		if (inventory_host(inv, inv->groups[i]->name))
			log_warn("Found both group and host with same name: %s",
			         inv->groups[i]->name);
}

/* One vars file: a mapping (merged into acc), or nothing. */
static int merge_file(json_t *acc, const char *path, struct err *e)
{
	json_t *v = yaml_load_file(path, e);
	if (!v)
		return e->code;
	int rc = 0;
	if (json_is_object(v))
		json_object_update(acc, v);
	else if (!json_is_null(v) && !(json_is_string(v) && !*json_string_value(v)))
		rc = err_set(e, ERR_PARSE, path, 1, 1,
		             "a vars file must hold a mapping of variable names to values");
	json_decref(v);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Ansible's _get_dir_vars_files: sorted, hidden and backups skipped,
 * extension-less subdirectories searched, files .yml .yaml .json or none. */
static int merge_dir(json_t *acc, const char *dir, int depth, struct err *e)
{
	DIR *d = opendir(dir);
	if (!d || depth > 32) {
		if (d)
			closedir(d);
		return 0;
	}
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (nm[0] == '.' || str_endswith(nm, "~"))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = xstrdup(nm);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *full = xasprintf("%s/%s", dir, v[i]);
		const char *dot = strrchr(v[i], '.');
		const char *ext = dot ? dot : "";
		struct stat st;
		if (!rc && !stat(full, &st)) {
			if (S_ISDIR(st.st_mode) && !*ext)
				rc = merge_dir(acc, full, depth + 1, e);
			else if (S_ISREG(st.st_mode) &&
			         (!*ext || !strcmp(ext, ".yml") || !strcmp(ext, ".yaml") ||
			          !strcmp(ext, ".json")))
				rc = merge_file(acc, full, e);
		}
		free(full);
		free(v[i]);
	}
	free(v);
	return rc;
}

/* Vars for one entity from DIR/group_vars or DIR/host_vars (new ref), or
 * NULL when there are none. */
static json_t *find_vars(const char *base, const char *name, struct err *e)
{
	static const char *const exts[] = {"", ".yml", ".yaml", ".json"};
	if (name[0] == '/')
		return NULL;
	json_t *acc = json_object();
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		char *p = xasprintf("%s/%s%s", base, name, exts[i]);
		struct stat st;
		int rc = 0, found = !stat(p, &st);
		if (found)
			rc = S_ISDIR(st.st_mode) ? merge_dir(acc, p, 0, e) : merge_file(acc, p, e);
		free(p);
		if (rc) {
			json_decref(acc);
			return NULL;
		}
		if (found)
			break;
	}
	if (!json_object_size(acc)) {
		json_decref(acc);
		return NULL;
	}
	return acc;
}

static int load_vars_dir(struct inventory *inv, const char *dir, const char *side, struct err *e)
{
	json_t *d = json_pack("{s:{},s:{}}", "group_vars", "host_vars");
	char *gdir = xasprintf("%s/group_vars", dir), *hdir = xasprintf("%s/host_vars", dir);
	int rc = 0;
	for (int i = 0; i < inv->ngroups && !rc; i++) {
		json_t *v = find_vars(gdir, inv->groups[i]->name, e);
		rc = e->code;
		if (v)
			json_object_set_new(json_object_get(d, "group_vars"), inv->groups[i]->name,
			                    v);
	}
	/* the implicit localhost may be created later, by a pattern naming it */
	static const char *const local[] = {"localhost", "127.0.0.1", "::1"};
	for (int i = 0; i < inv->nhosts + 3 && !rc; i++) {
		const char *name = i < inv->nhosts ? inv->hosts[i]->name : local[i - inv->nhosts];
		if (i >= inv->nhosts && inventory_host(inv, name))
			continue;
		json_t *v = find_vars(hdir, name, e);
		rc = e->code;
		if (v)
			json_object_set_new(json_object_get(d, "host_vars"), name, v);
	}
	if (!rc)
		json_array_append(json_object_get(inv->gv_files, side), d);
	json_decref(d);
	free(gdir);
	free(hdir);
	return rc;
}

int inventory_finish(struct inventory *inv, struct err *e)
{
	struct inv_priv *p = inv->priv;
	if (p->finished)
		return 0;
	p->finished = 1;
	reconcile(inv, e);
	for (int i = 0; i < inv->ndirs && !e->code; i++)
		load_vars_dir(inv, inv->dirs[i], "inventory", e);
	return e->code;
}

int inventory_add_vars_dir(struct inventory *inv, const char *dir, struct err *e)
{
	return load_vars_dir(inv, dir, "playbook", e);
}

static int cmp_groups(const void *a, const void *b)
{
	const struct inv_group *x = *(struct inv_group *const *)a;
	const struct inv_group *y = *(struct inv_group *const *)b;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void add_ancestors(const struct inventory *inv, const char *name, json_t *seen, int guard)
{
	if (json_object_get(seen, name) || guard > 10000)
		return;
	json_object_set_new(seen, name, json_true());
	const struct inv_group *g = inventory_group(inv, name);
	for (int i = 0; g && i < g->nparents; i++)
		add_ancestors(inv, g->parents[i], seen, guard + 1);
}

json_t *inv_host_groups_sorted(const struct inventory *inv, const struct inv_host *h)
{
	json_t *seen = json_object();
	for (int i = 0; i < h->ngroups; i++)
		add_ancestors(inv, h->groups[i], seen, 0);
	json_object_del(seen, "all");
	size_t n = json_object_size(seen), k = 0;
	struct inv_group **v = xcalloc(n + 1, sizeof(*v));
	const char *name;
	json_t *val;
	json_object_foreach (seen, name, val) {
		v[k++] = inventory_group(inv, name);
	}
	qsort(v, n, sizeof(*v), cmp_groups);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, json_string(v[i]->name));
	free(v);
	json_decref(seen);
	return out;
}

/* Merge the named entity's data from every dir of one side. */
static void merge_side(json_t *acc, const json_t *side, const char *kind, const char *name)
{
	size_t i;
	json_t *d;
	json_array_foreach (side, i, d) {
		json_t *v = json_object_get(json_object_get(d, kind), name);
		if (v)
			json_object_update(acc, v);
	}
}

static void merge_side_groups(json_t *acc, const json_t *side, const json_t *groups)
{
	size_t i, j;
	json_t *d, *g;
	/* Per source dir, all the host's groups in order: a later source's
	 * lower group still wins over an earlier source's higher group, as in
	 * Ansible's get_vars_from_inventory_sources. */
	json_array_foreach (side, i, d) {
		json_array_foreach (groups, j, g) {
			json_t *v =
			    json_object_get(json_object_get(d, "group_vars"), json_string_value(g));
			if (v)
				json_object_update(acc, v);
		}
	}
}

json_t *inventory_host_vars(const struct inventory *inv, const char *host, int with_magic)
{
	const struct inv_host *h = inventory_host(inv, host);
	if (!h)
		return NULL;
	const json_t *isrc = json_object_get(inv->gv_files, "inventory");
	const json_t *psrc = json_object_get(inv->gv_files, "playbook");
	json_t *groups = inv_host_groups_sorted(inv, h);
	json_t *acc = json_object();
	size_t i;
	json_t *g;
	json_object_update(acc, inventory_group(inv, "all")->vars);
	json_array_foreach (groups, i, g) {
		json_object_update(acc, inventory_group(inv, json_string_value(g))->vars);
	}
	merge_side(acc, isrc, "group_vars", "all");
	merge_side(acc, psrc, "group_vars", "all");
	merge_side_groups(acc, isrc, groups);
	merge_side_groups(acc, psrc, groups);
	json_object_update(acc, h->vars);
	merge_side(acc, isrc, "host_vars", h->name);
	merge_side(acc, psrc, "host_vars", h->name);
	if (with_magic) {
		size_t n = json_array_size(groups);
		const char **v = xcalloc(n + 1, sizeof(*v));
		json_array_foreach (groups, i, g) {
			v[i] = json_string_value(g);
		}
		qsort(v, n, sizeof(*v), cmp_str);
		json_t *names = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(names, json_string(v[i]));
		free(v);
		json_object_set_new(acc, "group_names", names);
		json_object_set_new(acc, "inventory_hostname", json_string(h->name));
		size_t short_len = strcspn(h->name, ".");
		int is_ip =
		    strspn(h->name, "0123456789.") == strlen(h->name) || strchr(h->name, ':');
		json_object_set_new(acc, "inventory_hostname_short",
		                    is_ip ? json_string(h->name)
		                          : json_stringn(h->name, short_len));
		json_object_set_new(acc, "groups", inventory_groups_var(inv));
		if (h->source) {
			char *dir = xstrdup(h->source), *slash = strrchr(dir, '/');
			if (slash)
				*slash = '\0';
			json_object_set_new(acc, "inventory_file", json_string(h->source));
			json_object_set_new(acc, "inventory_dir", json_string(slash ? dir : "."));
			free(dir);
		} else {
			json_object_set_new(acc, "inventory_file", json_null());
			json_object_set_new(acc, "inventory_dir", json_null());
		}
	}
	json_decref(groups);
	return acc;
}

json_t *inventory_group_hosts(const struct inventory *inv, const char *group)
{
	const struct inv_group *top = inventory_group(inv, group);
	if (!top)
		return NULL;
	/* Ansible's _walk_relationship(preserve_ordering): the group, its
	 * children, then each further generation. */
	json_t *order = json_array(), *seen = json_object();
	json_array_append_new(order, json_string(top->name));
	json_object_set_new(seen, top->name, json_true());
	for (size_t i = 0; i < json_array_size(order); i++) {
		const struct inv_group *g =
		    inventory_group(inv, json_string_value(json_array_get(order, i)));
		for (int j = 0; g && j < g->nchildren; j++) {
			if (json_object_get(seen, g->children[j]))
				continue;
			json_object_set_new(seen, g->children[j], json_true());
			json_array_append_new(order, json_string(g->children[j]));
		}
	}
	json_t *hosts = json_array(), *hseen = json_object();
	size_t i;
	json_t *name;
	json_array_foreach (order, i, name) {
		const struct inv_group *g = inventory_group(inv, json_string_value(name));
		for (int j = 0; j < g->nhosts; j++) {
			if (json_object_get(hseen, g->hosts[j]))
				continue;
			json_object_set_new(hseen, g->hosts[j], json_true());
			json_array_append_new(hosts, json_string(g->hosts[j]));
		}
	}
	json_decref(order);
	json_decref(seen);
	json_decref(hseen);
	return hosts;
}

json_t *inventory_groups_var(const struct inventory *inv)
{
	json_t *out = json_object();
	for (int i = 0; i < inv->ngroups; i++)
		json_object_set_new(out, inv->groups[i]->name,
		                    inventory_group_hosts(inv, inv->groups[i]->name));
	return out;
}
