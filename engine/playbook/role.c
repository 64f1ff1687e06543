/*
 * Roles: found on the roles path, loaded from tasks/ handlers/ defaults/
 * vars/ meta/, dependencies first. A role's tasks hang under one block node
 * that carries the role (its vars and defaults) and the keywords of the
 * entry that named it.
 */
#include "playbook/pb_int.h"
#include "util/buf.h"
#include "util/mem.h"

#include <libgen.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keys of a roles: entry that are keywords rather than role params. */
static const char *const role_entry_keys[] = {
    "role",
    "name",
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "vars",
    "environment",
    "ignore_errors",
    "delegate_to",
    "no_log",
    "check_mode",
    "diff",
    "run_once",
    "remote_user",
    "connection",
    "any_errors_fatal",
    "ignore_unreachable",
    "collections",
    "module_defaults",
    "debugger",
    "throttle",
    "timeout",
    "become_flags",
    NULL,
};

static int is_dir(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

int pb_is_file(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISREG(st.st_mode);
}

char *pb_resolve(struct playbook *pb, const char *basedir, const char *name, const char *sub)
{
	char *cand[4] = {NULL};
	char *found = NULL;
	if (name[0] == '/') {
		cand[0] = xstrdup(name);
	} else {
		cand[0] = xasprintf("%s/%s", basedir, name);
		cand[1] = xasprintf("%s/%s/%s", basedir, sub, name);
		cand[2] = xasprintf("%s/%s", pb->dir, name);
	}
	for (int i = 0; i < 4; i++) {
		if (!found && cand[i] && pb_is_file(cand[i]))
			found = cand[i], cand[i] = NULL;
		free(cand[i]);
	}
	return found;
}

static char *role_find(struct playbook *pb, const char *name)
{
	struct buf b = BUF_INIT;
	if (strchr(name, '/')) {
		char *p = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", pb->dir, name);
		if (is_dir(p))
			return p;
		free(p);
		return NULL;
	}
	buf_addf(&b, "%s/roles", pb->dir);
	if (pb->env.roles_path)
		buf_addf(&b, ":%s", pb->env.roles_path);
	buf_addf(&b, ":%s", pb->dir);
	char *paths = buf_detach(&b), *save = NULL, *found = NULL;
	for (char *d = strtok_r(paths, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		if (is_dir(p))
			found = p;
		else
			free(p);
	}
	free(paths);
	return found;
}

/* role/sub/main.yml, .yaml, or main; NULL when none (not an error). */
static char *role_file(const char *rpath, const char *sub, const char *base)
{
	static const char *const exts[] = {".yml", ".yaml", "", ".json", NULL};
	for (int i = 0; exts[i]; i++) {
		char *p = xasprintf("%s/%s/%s%s", rpath, sub, base, exts[i]);
		if (pb_is_file(p))
			return p;
		free(p);
	}
	return NULL;
}

static json_t *role_vars_file(const char *rpath, const char *sub, const char *base, struct err *e)
{
	char *p = role_file(rpath, sub, base ? base : "main");
	json_t *v;
	if (!p)
		return json_object();
	v = yaml_load_file(p, e);
	if (v && json_is_null(v)) {
		json_decref(v);
		v = json_object();
	}
	if (v && !json_is_object(v)) {
		err_set(e, ERR_PARSE, p, 1, 1, "%s/%s must be a dict of variables", sub,
		        base ? base : "main");
		json_decref(v);
		v = NULL;
	}
	free(p);
	return v;
}

struct role_req {
	const char *name;
	const char *tasks_from, *handlers_from, *vars_from, *defaults_from;
	json_t *params;     /* borrowed */
	json_t *kw;         /* keywords for the body block, borrowed */
	const json_t *at;   /* where the role was named, for errors */
	const json_t *vars; /* the entry's or import's vars: role vars too (NULL) */
	int allow_dup;      /* include_role's allow_duplicates; -1: the role's meta */
};

static int role_load_deps(struct playbook *pb, struct pb_role *r, struct pb_task *parent,
                          struct pb_list *out, struct pb_list *handlers, int *allow_dup,
                          struct err *e);

/* Ansible's Role.load hashes a role's params with the entry's when, tags,
 * vars and *_from files and whether an include or import named it: two
 * entries with the same hash are one role, run once per play (unless
 * duplicates are allowed); any difference makes another role. */
static char *role_key(const char *rpath, const struct role_req *q)
{
	json_t *k =
	    json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:s?, s:s?, s:s?, s:s?, s:b}", "path", rpath,
	              "params", q->params, "when", json_object_get(q->kw, "when"), "tags",
	              json_object_get(q->kw, "tags"), "vars", (json_t *)q->vars, "tasks",
	              q->tasks_from, "handlers", q->handlers_from, "vars_from", q->vars_from,
	              "defaults", q->defaults_from, "include", q->allow_dup >= 0);
	char *s = json_dumps(k, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(k);
	return s;
}

/* The role's body block. It carries allow_duplicates for the executor's
 * once-per-play check: include_role's (default true), else meta's. */
static struct pb_task *role_body(struct playbook *pb, const struct role_req *q,
                                 struct pb_task *parent, const char *rpath, int meta_dup)
{
	int dup = q->allow_dup >= 0 ? q->allow_dup : meta_dup;
	json_t *kw = q->kw ? json_incref(q->kw) : NULL;
	if (dup) {
		json_decref(kw);
		kw = q->kw ? json_copy(q->kw) : json_object();
		json_object_set_new(kw, "allow_duplicates", json_true());
	}
	struct pb_task *body = pb_task_new(pb, PB_BLOCK, kw, parent, rpath);
	json_decref(kw);
	return body;
}

static int role_load_list(struct playbook *pb, const char *file, struct pb_task *body, int handler,
                          struct pb_list *out, struct err *e)
{
	json_t *doc = yaml_load_file(file, e);
	char *d = xstrdup(file);
	int rc = doc ? pb_load_list(pb, doc, NULL, body, dirname(d), handler, out, e) : ERR_IO;
	free(d);
	json_decref(doc);
	return rc;
}

/* Load one role into out (a body block) and its handlers into handlers. */
static int role_load(struct playbook *pb, const struct role_req *q, struct pb_task *parent,
                     struct pb_list *out, struct pb_list *handlers, struct err *e)
{
	char *rpath = role_find(pb, q->name), *tf = NULL, *hf = NULL;
	int rc = ERR_PARSE;
	if (!rpath) {
		struct srcpos sp = {0};
		if (q->at)
			srcpos_get(q->at, &sp);
		return err_set(e, ERR_IO, sp.file, sp.line, sp.col,
		               "the role '%s' was not found in %s/roles:%s%s%s", q->name, pb->dir,
		               pb->env.roles_path ? pb->env.roles_path : "",
		               pb->env.roles_path ? ":" : "", pb->dir);
	}
	struct pb_role *r = xcalloc(1, sizeof(*r));
	pthread_mutex_lock(&pb->lock);
	pb->roles = xrealloc(pb->roles, (size_t)(pb->nroles + 1) * sizeof(*pb->roles));
	pb->roles[pb->nroles++] = r;
	pthread_mutex_unlock(&pb->lock);
	r->name = xstrdup(strrchr(q->name, '/') ? strrchr(q->name, '/') + 1 : q->name);
	r->path = rpath;
	r->params = q->params ? json_deep_copy(q->params) : json_object();
	r->key = role_key(rpath, q);
	if (!(r->defaults = role_vars_file(rpath, "defaults", q->defaults_from, e)) ||
	    !(r->vars = role_vars_file(rpath, "vars", q->vars_from, e)))
		goto out;
	/* Ansible adds them to the role's vars, which a public role (roles:,
	 * import_role, include_role public) shows to the whole play */
	if (json_is_object(q->vars))
		json_object_update(r->vars, (json_t *)q->vars);
	int meta_dup = 0;
	if (role_load_deps(pb, r, parent, out, handlers, &meta_dup, e))
		goto out;
	struct pb_task *body = role_body(pb, q, parent, rpath, meta_dup);
	body->role = r;
	tf = role_file(rpath, "tasks", q->tasks_from ? q->tasks_from : "main");
	if (q->tasks_from && !tf) {
		err_set(e, ERR_IO, NULL, 0, 0, "role '%s' has no tasks/%s", r->name, q->tasks_from);
		goto out;
	}
	if (tf && role_load_list(pb, tf, body, 0, &body->block, e))
		goto out;
	hf = role_file(rpath, "handlers", q->handlers_from ? q->handlers_from : "main");
	if (hf && handlers) {
		struct pb_task *hb = pb_task_new(pb, PB_BLOCK, NULL, parent, rpath);
		hb->role = r;
		hb->handler = 1;
		if (role_load_list(pb, hf, hb, 1, &hb->block, e))
			goto out;
		pb_list_push(handlers, hb);
	}
	pb_list_push(out, body);
	rc = 0;
out:
	free(tf);
	free(hf);
	return rc;
}

/* A roles: entry or dependency: its name may be a template, rendered with
 * the parse-time vars (names.c). */
static int role_render_load(struct playbook *pb, struct role_req *q, struct pb_task *parent,
                            struct pb_list *out, struct pb_list *handlers, struct err *e)
{
	char *name = NULL;
	const char *orig = q->name;
	int rc = pb_render_name(pb, parent, NULL, q->at, NULL, q->name,
	                        "use include_role to name the role with those", &name, e);
	if (!rc) {
		q->name = name;
		rc = role_load(pb, q, parent, out, handlers, e);
		q->name = orig;
	}
	free(name);
	return rc;
}

/* A roles: entry ("name", {role: name, k: v...}) into a request. */
static int role_req_parse(json_t *entry, struct role_req *q, struct err *e)
{
	memset(q, 0, sizeof(*q));
	q->at = entry;
	q->allow_dup = -1;
	if (json_is_string(entry)) {
		q->name = json_string_value(entry);
		return 0;
	}
	if (!json_is_object(entry))
		return pb_err_at(e, entry, NULL, "a role must be a name or a dict with 'role'");
	const json_t *n = json_object_get(entry, "role");
	if (!n)
		n = json_object_get(entry, "name");
	if (!json_is_string(n))
		return pb_err_at(e, entry, NULL, "a role entry needs 'role: NAME'");
	q->name = json_string_value(n);
	q->params = json_object();
	q->kw = json_object();
	q->vars = json_object_get(entry, "vars");
	const char *k;
	json_t *v;
	json_object_foreach (entry, k, v) {
		if (pb_in(role_entry_keys, k))
			json_object_set(q->kw, k, v);
		else
			json_object_set(q->params, k, v);
	}
	return 0;
}

static int role_load_deps(struct playbook *pb, struct pb_role *r, struct pb_task *parent,
                          struct pb_list *out, struct pb_list *handlers, int *allow_dup,
                          struct err *e)
{
	char *mf = role_file(r->path, "meta", "main");
	json_t *meta = mf ? yaml_load_file(mf, e) : NULL;
	const json_t *deps = json_object_get(meta, "dependencies");
	size_t i;
	json_t *d;
	int rc = mf && !meta ? ERR_IO : 0;
	*allow_dup = json_is_true(json_object_get(meta, "allow_duplicates"));
	json_array_foreach (deps, i, d) {
		struct role_req q;
		if ((rc = role_req_parse(d, &q, e)))
			break;
		rc = role_render_load(pb, &q, parent, out, handlers, e);
		json_decref(q.params);
		json_decref(q.kw);
		if (rc)
			break;
	}
	free(mf);
	json_decref(meta);
	return rc;
}

int pb_roles_load(struct playbook *pb, struct pb_play *p, const json_t *roles, struct pb_list *out,
                  struct err *e)
{
	size_t i;
	json_t *entry;
	if (!roles || json_is_null(roles))
		return 0;
	if (!json_is_array(roles))
		return pb_err_at(e, p->kw, "roles", "'roles' must be a list of roles");
	json_array_foreach (roles, i, entry) {
		struct role_req q;
		if (role_req_parse(entry, &q, e))
			return e->code;
		int rc = role_render_load(pb, &q, NULL, out, &p->handlers, e);
		json_decref(q.params);
		json_decref(q.kw);
		if (rc)
			return rc;
	}
	return 0;
}

static int arg_bool(const json_t *v, int def)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1"))
			return 1;
		if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0"))
			return 0;
	}
	return def;
}

static const char *const from_keys[] = {"tasks_from", "handlers_from", "vars_from", "defaults_from",
                                        NULL};

/* include_role/import_role args into q; names[] receives the strings (the
 * role and the *_from files), rendered when t is an import. */
static int role_req_from_args(struct playbook *pb, const struct pb_task *t, const json_t *args,
                              struct role_req *q, char *names[5], struct err *e)
{
	const json_t *n = json_object_get(args, "name");
	memset(q, 0, sizeof(*q));
	q->at = t->kw;
	q->vars = json_object_get(t->kw, "vars");
	q->allow_dup = arg_bool(json_object_get(args, "allow_duplicates"), 1);
	if (!n)
		n = json_object_get(args, "role");
	for (int i = 0; i < 5; i++) {
		const json_t *v = i ? json_object_get(args, from_keys[i - 1]) : n;
		if (!v)
			continue;
		if (!json_is_string(v))
			return pb_err_at(e, t->kw, t->action, "'%s' of %s must be a string",
			                 i ? from_keys[i - 1] : "name", t->action);
		if (t->kind == PB_INCLUDE_ROLE)
			names[i] = xstrdup(json_string_value(v));
		else if (pb_render_name(pb, t, NULL, t->kw, t->action, json_string_value(v),
		                        "use include_role to name the role with those", &names[i],
		                        e))
			return e->code;
	}
	q->name = names[0];
	q->tasks_from = names[1];
	q->handlers_from = names[2];
	q->vars_from = names[3];
	q->defaults_from = names[4];
	return 0;
}

int pb_role_import(struct playbook *pb, struct pb_task *t, struct pb_list *out, struct err *e)
{
	struct role_req q;
	char *names[5] = {NULL};
	int rc = role_req_from_args(pb, t, t->args, &q, names, e);
	if (!rc && !q.name)
		rc = pb_err_at(e, t->kw, t->action, "import_role needs 'name: ROLE'");
	if (!rc && (rc = role_load(pb, &q, t, &t->block, pb->cur_handlers, e)))
		pb_err_at(e, t->kw, t->action, "cannot import role '%s'", q.name);
	if (!rc)
		pb_list_push(out, t);
	for (int i = 0; i < 5; i++)
		free(names[i]);
	return rc;
}

static int is_include(const struct pb_task *t)
{
	return t && (t->kind == PB_INCLUDE || t->kind == PB_INCLUDE_ROLE);
}

static void when_add(json_t *out, const json_t *w)
{
	if (json_is_array(w))
		json_array_extend(out, (json_t *)w);
	else if (w)
		json_array_append(out, (json_t *)w);
}

/* The when: of the blocks, imports and roles around inc, outermost first.
 * Ansible checks them again on every included task (only the include's
 * own when is checked once). An include body above carries those above
 * it, so the walk stops there. */
static json_t *outer_when(const struct pb_task *inc)
{
	const struct pb_task *chain[64];
	int n = 0;
	for (const struct pb_task *a = inc->parent; a && n < 64; a = a->parent) {
		if (is_include(a))
			continue;
		chain[n++] = a;
		if (is_include(a->parent))
			break;
	}
	json_t *out = json_array();
	while (n-- > 0)
		when_add(out, json_object_get(chain[n]->kw, "when"));
	return out;
}

/* An include's body block: its apply: keywords (as written, rendered per
 * task like any block's) are the block's, so every included task gets
 * them, and so are the conditions around the include. */
static struct pb_task *include_body(struct playbook *pb, struct pb_task *inc)
{
	const json_t *apply = json_object_get(inc->args, "apply");
	json_t *when = outer_when(inc), *kw = NULL;
	if (json_array_size(when)) {
		kw = json_is_object(apply) ? json_copy((json_t *)apply) : json_object();
		when_add(when, json_object_get(apply, "when"));
		json_object_set(kw, "when", when);
	} else if (json_is_object(apply)) {
		kw = json_incref((json_t *)apply); /* as written: keeps key positions */
	}
	struct pb_task *b = pb_task_new(pb, PB_BLOCK, kw, inc, inc->basedir);
	b->handler = inc->handler;
	json_decref(kw);
	json_decref(when);
	return b;
}

int pb_include_load(struct playbook *pb, struct pb_task *inc, const char *file, const json_t *args,
                    struct pb_task **out, struct pb_list *handlers, struct err *e)
{
	struct pb_task *b = include_body(pb, inc);
	struct pb_play *was = pb->cur_play;
	struct pb_list *was_handlers = pb->cur_handlers;
	char *names[5] = {NULL}, *path = NULL, *d = NULL;
	json_t *doc = NULL;
	int rc = 0;
	*out = b;
	pb->cur_play = inc->play; /* imports in what is included render with its vars */
	pb->cur_handlers = handlers;
	if (inc->kind == PB_INCLUDE_ROLE) {
		struct role_req q;
		rc = role_req_from_args(pb, inc, args, &q, names, e);
		q.name = file;
		if (!rc)
			rc = role_load(pb, &q, b, &b->block, handlers, e);
		goto out;
	}
	if (!(path = pb_resolve(pb, inc->basedir, file, "tasks"))) {
		rc = err_set(e, ERR_IO, inc->pos.file, inc->pos.line, inc->pos.col,
		             "could not find or access '%s' (looked in %s)", file, inc->basedir);
		goto out;
	}
	doc = yaml_load_file(path, e);
	d = xstrdup(path);
	rc = doc ? pb_load_list(pb, doc, NULL, b, dirname(d), inc->handler, &b->block, e) : ERR_IO;
out:
	pb->cur_play = was;
	pb->cur_handlers = was_handlers;
	for (int i = 0; i < 5; i++)
		free(names[i]);
	free(d);
	free(path);
	json_decref(doc);
	return rc;
}

char *pb_include_path(struct playbook *pb, const struct pb_task *inc, const char *file)
{
	return pb_resolve(pb, inc->basedir, file, "tasks");
}
