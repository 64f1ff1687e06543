/*
 * The host/group graph and source dispatch. The graph is built the way
 * Ansible's InventoryData builds it, so orders (hosts in definition order,
 * groups in creation order, children in the order they were added) come
 * out the same in `drover inventory --list` as in ansible-inventory.
 */
#include "inventory/inv_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct inv_priv *priv(const struct inventory *inv)
{
	return inv->priv;
}

void inventory_init(struct inventory *inv)
{
	memset(inv, 0, sizeof(*inv));
	struct inv_priv *p = xcalloc(1, sizeof(*p));
	p->host_idx = json_object();
	p->group_idx = json_object();
	inv->priv = p;
	inv->gv_files = json_pack("{s:[],s:[]}", "inventory", "playbook");
	inv_add_group(inv, "all");
	inv_add_group(inv, "ungrouped");
	inv_add_child(inv, "all", "ungrouped", NULL, 0, 0, NULL);
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void inventory_release(struct inventory *inv)
{
	for (int i = 0; i < inv->nhosts; i++) {
		struct inv_host *h = inv->hosts[i];
		free(h->name);
		free(h->source);
		json_decref(h->vars);
		free_names(h->groups, h->ngroups);
		free(h);
	}
	for (int i = 0; i < inv->ngroups; i++) {
		struct inv_group *g = inv->groups[i];
		free(g->name);
		json_decref(g->vars);
		free_names(g->children, g->nchildren);
		free_names(g->hosts, g->nhosts);
		free_names(g->parents, g->nparents);
		free(g);
	}
	free(inv->hosts);
	free(inv->groups);
	free_names(inv->dirs, inv->ndirs);
	json_decref(inv->gv_files);
	if (inv->priv) {
		json_decref(priv(inv)->host_idx);
		json_decref(priv(inv)->group_idx);
		free(inv->priv);
	}
	memset(inv, 0, sizeof(*inv));
}

static void push_name(char ***v, int *n, const char *s)
{
	*v = xrealloc(*v, (size_t)(*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static int has_name(char *const *v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

struct inv_host *inventory_host(const struct inventory *inv, const char *name)
{
	json_t *i = json_object_get(priv(inv)->host_idx, name);
	return i ? inv->hosts[json_integer_value(i)] : NULL;
}

struct inv_group *inventory_group(const struct inventory *inv, const char *name)
{
	json_t *i = json_object_get(priv(inv)->group_idx, name);
	return i ? inv->groups[json_integer_value(i)] : NULL;
}

struct inv_group *inv_add_group(struct inventory *inv, const char *name)
{
	struct inv_group *g = inventory_group(inv, name);
	if (g)
		return g;
	/* Ansible's TRANSFORM_INVALID_GROUP_CHARS=never: keep the name, warn once */
	int bad = isdigit((unsigned char)name[0]);
	for (const char *c = name; *c; c++)
		bad |= !(isalnum((unsigned char)*c) || *c == '_' || (*c & 0x80));
	if (bad && !priv(inv)->warned_names) {
		priv(inv)->warned_names = 1;
		log_warn("Invalid characters were found in group names but not replaced, use -vvvv "
		         "to see details");
	}
	if (bad)
		log_verbose(4, "Not replacing invalid character(s) in group name (%s)", name);
	g = xcalloc(1, sizeof(*g));
	g->name = xstrdup(name);
	g->vars = json_object();
	g->priority = 1;
	inv->groups = xrealloc(inv->groups, (size_t)(inv->ngroups + 1) * sizeof(*inv->groups));
	json_object_set_new(priv(inv)->group_idx, name, json_integer(inv->ngroups));
	inv->groups[inv->ngroups++] = g;
	return g;
}

void inv_group_add_host(struct inventory *inv, struct inv_group *g, struct inv_host *h)
{
	(void)inv;
	if (has_name(g->hosts, g->nhosts, h->name))
		return;
	push_name(&g->hosts, &g->nhosts, h->name);
	push_name(&h->groups, &h->ngroups, g->name);
}

struct inv_host *inv_add_host(struct inventory *inv, const char *name, const char *group)
{
	struct inv_host *h = inventory_host(inv, name);
	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->name = xstrdup(name);
		h->vars = json_object();
		h->source = priv(inv)->cur_source ? xstrdup(priv(inv)->cur_source) : NULL;
		inv->hosts = xrealloc(inv->hosts, (size_t)(inv->nhosts + 1) * sizeof(*inv->hosts));
		json_object_set_new(priv(inv)->host_idx, name, json_integer(inv->nhosts));
		inv->hosts[inv->nhosts++] = h;
	}
	if (group)
		inv_group_add_host(inv, inv_add_group(inv, group), h);
	return h;
}

/* Is `a` the group `b` or one of b's ancestors? */
static int is_ancestor(const struct inventory *inv, const char *a, const char *b)
{
	/* breadth first over parents, each group once */
	json_t *todo = json_pack("[s]", b), *seen = json_object();
	int found = 0;
	for (size_t i = 0; i < json_array_size(todo) && !found; i++) {
		const char *name = json_string_value(json_array_get(todo, i));
		found = !strcmp(name, a);
		const struct inv_group *g = inventory_group(inv, name);
		for (int k = 0; g && k < g->nparents; k++) {
			if (json_object_get(seen, g->parents[k]))
				continue;
			json_object_set_new(seen, g->parents[k], json_true());
			json_array_append_new(todo, json_string(g->parents[k]));
		}
	}
	json_decref(todo);
	json_decref(seen);
	return found;
}

int inv_add_child(struct inventory *inv, const char *parent, const char *child, const char *file,
                  int line, int col, struct err *e)
{
	struct inv_group *p = inv_add_group(inv, parent);
	struct inv_group *c = inv_add_group(inv, child);
	if (has_name(p->children, p->nchildren, child))
		return 0;
	if (is_ancestor(inv, child, parent))
		return err_set(e, ERR_PARSE, file, line, col,
		               "adding group '%s' as a child of '%s' creates a dependency loop",
		               child, parent);
	push_name(&p->children, &p->nchildren, child);
	push_name(&c->parents, &c->nparents, parent);
	return 0;
}

int inv_group_set(struct inv_group *g, const char *key, json_t *val, const char *file, int line,
                  int col, struct err *e)
{
	if (strcmp(key, "ansible_group_priority")) {
		json_object_set(g->vars, key, val);
		return 0;
	}
	char *end = NULL;
	if (json_is_integer(val)) {
		g->priority = (int)json_integer_value(val);
	} else if (json_is_string(val) &&
	           (g->priority = (int)strtol(json_string_value(val), &end, 10), end) &&
	           *json_string_value(val) && !*end) {
		/* "10" as int() takes it */
	} else {
		return err_set(e, ERR_PARSE, file, line, col,
		               "ansible_group_priority of group '%s' must be a whole number",
		               g->name);
	}
	return 0;
}

void inv_host_set(struct inv_host *h, const char *key, json_t *val)
{
	json_object_set_new(h->vars, key, val);
}

/* Ansible's default INVENTORY_IGNORE_EXTS and IGNORED_ALWAYS. */
static int ignored_entry(const char *n)
{
	static const char *const exts[] = {".pyc", ".pyo", ".swp",  ".bak", "~",    ".rpm",  ".md",
	                                   ".txt", ".rst", ".orig", ".ini", ".cfg", ".retry"};
	if (n[0] == '.' || !strcmp(n, "host_vars") || !strcmp(n, "group_vars") ||
	    !strcmp(n, "vars_plugins"))
		return 1;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (str_endswith(n, exts[i]))
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of a directory (NULL-terminated), or NULL with errno. */
static char **list_dir(const char *path, int *n)
{
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	char **v = NULL;
	*n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		push_name(&v, n, de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, (size_t)*n, sizeof(*v), cmp_str);
	return v ? v : xcalloc(1, sizeof(*v));
}

static const char *file_ext(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot : "";
}

static int load_file(struct inventory *inv, const char *path, struct err *e)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		return err_set(e, ERR_IO, path, 0, 0, "cannot read inventory: %s", strerror(errno));
	if (!strncmp(text, "#!", 2) && !access(path, X_OK)) {
		free(text);
		return err_set(e, ERR_PARSE, path, 1, 1,
		               "this is an inventory script, which drover does not run: save "
		               "what it describes with `ansible-inventory -i %s --list --yaml > "
		               "inventory.yml` and use that",
		               path);
	}
	const char *ext = file_ext(path);
	int yamlish = !strcmp(ext, ".yml") || !strcmp(ext, ".yaml") || !strcmp(ext, ".json");
	int rc = 0;
	priv(inv)->cur_source = path;
	if (yamlish || !*ext) {
		struct err ye;
		err_init(&ye);
		json_t *root = yaml_load_str(text, len, path, &ye);
		if (root && json_is_object(root) && json_object_size(root)) {
			rc = inv_load_yaml(inv, path, root, e);
			json_decref(root);
			goto done;
		}
		int empty = !root || json_is_null(root) ||
		            (json_is_object(root) && !json_object_size(root));
		json_decref(root);
		if (yamlish) {
			/* An empty file is an empty inventory, as Ansible's ini plugin
			 * ends up reading it. */
			if (ye.code)
				rc = err_set(e, ye.code, ye.file, ye.line, ye.col, "%s", ye.msg);
			else if (!empty)
				rc = err_set(e, ERR_PARSE, path, 1, 1,
				             "a YAML inventory must be a mapping of groups "
				             "(all: {hosts: ..., children: ...})");
			goto done;
		}
	}
	rc = inv_load_ini(inv, path, text, e);
done:
	priv(inv)->cur_source = NULL;
	free(text);
	return rc;
}

static int load_path(struct inventory *inv, const char *path, int depth, struct err *e)
{
	struct stat st;
	if (stat(path, &st))
		return err_set(e, ERR_IO, path, 0, 0, "cannot read inventory: %s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return load_file(inv, path, e);
	if (depth > 32)
		return err_set(e, ERR_IO, path, 0, 0, "inventory directories nest too deep");
	int n = 0, rc = 0;
	char **names = list_dir(path, &n);
	if (!names)
		return err_set(e, ERR_IO, path, 0, 0, "cannot list inventory directory: %s",
		               strerror(errno));
	for (int i = 0; i < n && !rc; i++) {
		if (ignored_entry(names[i]))
			continue;
		char *full = xasprintf("%s/%s", path, names[i]);
		rc = load_path(inv, full, depth + 1, e);
		free(full);
	}
	free_names(names, n);
	return rc;
}

static int load_source(struct inventory *inv, const char *source, struct err *e);

static int load_host_list(struct inventory *inv, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t l = strlen(t);
		while (l && (t[l - 1] == ' ' || t[l - 1] == '\t'))
			t[--l] = '\0';
		if (!*t)
			continue;
		char *host = NULL;
		int port = 0;
		if (!inv_split_port(t, &host, &port))
			host = xstrdup(t);
		if (!inventory_host(inv, host)) {
			struct inv_host *h = inv_add_host(inv, host, "ungrouped");
			if (port)
				inv_host_set(h, "ansible_port", json_integer(port));
		}
		free(host);
	}
	free(copy);
	return 0;
}

/* Ansible's unfrackpath(follow=False): ~ expanded, made absolute and
 * normalised, symlinks left alone. inventory_dir and messages use it. */
static char *abs_path(const char *p)
{
	struct buf b = BUF_INIT, out = BUF_INIT;
	const char *home = getenv("HOME");
	char cwd[4096];
	if (p[0] == '~' && (p[1] == '/' || !p[1]) && home) {
		buf_adds(&b, home);
		p++;
	} else if (p[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		buf_adds(&b, cwd);
		buf_addc(&b, '/');
	}
	buf_adds(&b, p);
	char *save = NULL;
	for (char *seg = strtok_r(b.s, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			char *slash = out.len ? strrchr(out.s, '/') : NULL;
			if (slash) {
				out.len = (size_t)(slash - out.s);
				out.s[out.len] = '\0';
			}
			continue;
		}
		buf_addc(&out, '/');
		buf_adds(&out, seg);
	}
	if (!out.len)
		buf_addc(&out, '/');
	buf_release(&b);
	return buf_detach(&out);
}

int inventory_load(struct inventory *inv, const char *source, struct err *e)
{
	struct stat st;
	if (strchr(source, ',') && stat(source, &st))
		return load_host_list(inv, source);
	char *path = abs_path(source);
	int rc = load_source(inv, path, e);
	free(path);
	return rc;
}

static int load_source(struct inventory *inv, const char *source, struct err *e)
{
	struct stat st;
	if (stat(source, &st))
		return err_set(e, ERR_IO, source, 0, 0,
		               "cannot read inventory: %s (give a file, a directory or a host "
		               "list ending in a comma, such as 'host1,')",
		               strerror(errno));
	if (load_path(inv, source, 0, e))
		return e->code;
	if (S_ISDIR(st.st_mode)) {
		push_name(&inv->dirs, &inv->ndirs, source);
	} else {
		char *d = xstrdup(source), *slash = strrchr(d, '/');
		if (slash)
			*(slash == d ? slash + 1 : slash) = '\0';
		push_name(&inv->dirs, &inv->ndirs, d);
		free(d);
	}
	return 0;
}

struct inv_host *inv_localhost(struct inventory *inv, const char *name)
{
	static const char *const names[] = {"127.0.0.1", "localhost", "::1"};
	for (int i = 0; i < inv->nhosts; i++)
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (!strcmp(inv->hosts[i]->name, names[j]))
				return inv->hosts[i];
	const char *prev = priv(inv)->cur_source;
	priv(inv)->cur_source = NULL;
	struct inv_host *h = inv_add_host(inv, name, NULL);
	priv(inv)->cur_source = prev;
	h->implicit = 1;
	inv_host_set(h, "ansible_connection", json_string("local"));
	return h;
}
