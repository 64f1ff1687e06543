/*
 * Plays, blocks and tasks from YAML. Every shape check names the
 * file:line:col of the offending key or value, as Ansible's "The error
 * appears to be in ..." does, and says what is expected.
 */
#include "playbook/pb_int.h"
#include "util/mem.h"

#include <libgen.h>
#include <string.h>

static const char *const block_keys[] = {
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "vars",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "any_errors_fatal",
    "delegate_to",
    "delegate_facts",
    "no_log",
    "check_mode",
    "diff",
    "run_once",
    "remote_user",
    "connection",
    "module_defaults",
    "collections",
    "throttle",
    "debugger",
    "port",
    "timeout",
    "become_exe",
    NULL,
};

static const char *const task_keys[] = {
    "name",
    "action",
    "local_action",
    "args",
    "when",
    "loop",
    "loop_control",
    "register",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "until",
    "retries",
    "delay",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "notify",
    "listen",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "environment",
    "no_log",
    "check_mode",
    "diff",
    "tags",
    "vars",
    "collections",
    "connection",
    "remote_user",
    "any_errors_fatal",
    "throttle",
    "timeout",
    "debugger",
    "module_defaults",
    "poll",
    "async",
    "port",
    "become_exe",
    NULL,
};

/* Actions the executor handles itself. */
static const char *const own_actions[] = {
    "include_tasks", "import_tasks", "include_role",    "import_role",
    "meta",          "include",      "import_playbook", NULL,
};

int pb_in(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

int pb_err_at(struct err *e, const json_t *obj, const char *key, const char *fmt, ...)
{
	struct srcpos sp = {0};
	va_list ap;
	if (key ? srcpos_key(obj, key, &sp) : srcpos_get(obj, &sp))
		srcpos_get(obj, &sp);
	va_start(ap, fmt);
	err_setv(e, ERR_PARSE, sp.file, sp.line, sp.col, fmt, ap);
	va_end(ap);
	return ERR_PARSE;
}

/* "ansible.builtin.copy" -> "copy" for the names the executor owns. */
const char *pb_short_action(const char *a)
{
	static const char *const prefixes[] = {"ansible.builtin.", "ansible.legacy.", NULL};
	for (int i = 0; prefixes[i]; i++)
		if (str_startswith(a, prefixes[i]))
			return a + strlen(prefixes[i]);
	return a;
}

static int action_flags(struct playbook *pb, const char *name)
{
	const char *s = pb_short_action(name);
	if (pb_in(own_actions, s))
		return 0;
	if (!pb->env.action_flags)
		return -1;
	return pb->env.action_flags(name);
}

struct pb_task *pb_task_new(struct playbook *pb, enum pb_kind kind, json_t *kw,
                            struct pb_task *parent, const char *basedir)
{
	struct pb_task *t = xcalloc(1, sizeof(*t));
	t->kind = kind;
	t->kw = kw ? json_incref(kw) : json_object();
	t->parent = parent;
	t->play = parent ? parent->play : pb->cur_play;
	t->basedir = xstrdup(basedir);
	t->args = json_object();
	if (kw)
		srcpos_get(kw, &t->pos);
	pthread_mutex_lock(&pb->lock);
	t->id = pb->next_id++;
	pb->all = xrealloc(pb->all, (size_t)(pb->nall + 1) * sizeof(*pb->all));
	pb->all[pb->nall++] = t;
	pthread_mutex_unlock(&pb->lock);
	return t;
}

void pb_list_push(struct pb_list *l, struct pb_task *t)
{
	l->v = xrealloc(l->v, (size_t)(l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = t;
}

/* The args of an action written as `module: value`. */
static int action_args(struct playbook *pb, const json_t *task, const char *key, const json_t *v,
                       int flags, json_t **out, struct err *e)
{
	if (json_is_object(v)) {
		/* shared, not copied: loaded YAML is immutable and keeps the
		 * positions template errors point at */
		*out = json_incref((json_t *)v);
		return 0;
	}
	if (json_is_null(v)) {
		*out = json_object();
		return 0;
	}
	if (json_is_string(v)) {
		*out = pb_parse_kv(json_string_value(v), flags > 0 && (flags & PB_RAW_FLAG), e);
		if (!*out)
			return pb_err_at(e, task, key, "cannot parse the arguments of '%s'", key);
		return 0;
	}
	if (json_is_number(v) || json_is_boolean(v)) {
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		*out = json_pack("{ss}", "_raw_params", s);
		free(s);
		return 0;
	}
	(void)pb;
	return pb_err_at(e, task, key,
	                 "the arguments of '%s' must be a dict or a k=v string, not a list", key);
}

/* `action: copy src=a dest=b` / `local_action: ...` */
static int split_action_kw(struct playbook *pb, struct pb_task *t, const char *key, struct err *e)
{
	const json_t *v = json_object_get(t->kw, key);
	if (json_is_object(v)) {
		const json_t *m = json_object_get(v, "module");
		if (!json_is_string(m))
			return pb_err_at(e, t->kw, key, "'%s' needs a 'module' key", key);
		t->action = xstrdup(json_string_value(m));
		t->args = json_deep_copy(v);
		json_object_del(t->args, "module");
		return 0;
	}
	if (!json_is_string(v))
		return pb_err_at(e, t->kw, key, "'%s' must be a string or a dict", key);
	const char *s = json_string_value(v);
	size_t n = strcspn(s, " \t\n");
	t->action = xstrndup(s, n);
	int flags = action_flags(pb, t->action);
	json_t *str = json_string(s + n);
	int rc = action_args(pb, t->kw, key, str, flags, &t->args, e);
	json_decref(str);
	return rc;
}

/* Find the one module key of a task; Ansible's "conflicting action
 * statements" when there are two. */
static int find_action(struct playbook *pb, struct pb_task *t, const char *what, struct err *e)
{
	const char *k, *found = NULL;
	json_t *v;
	int found_flags = 0;
	if (json_object_get(t->kw, "action"))
		found = "action";
	if (json_object_get(t->kw, "local_action")) {
		if (found)
			return pb_err_at(e, t->kw, NULL,
			                 "conflicting action statements: action, local_action");
		found = "local_action";
	}
	json_object_foreach (t->kw, k, v) {
		if (pb_in(task_keys, k) || str_startswith(k, "with_"))
			continue;
		int fl = action_flags(pb, k);
		if (fl < 0)
			return pb_err_at(
			    e, t->kw, k,
			    "couldn't resolve module/action '%s'. This often indicates "
			    "a misspelling, missing collection, or incorrect module "
			    "path; '%s' is also not a valid attribute for a %s",
			    k, k, what);
		if (found)
			return pb_err_at(e, t->kw, k, "conflicting action statements: %s, %s",
			                 found, k);
		found = k;
		found_flags = fl;
	}
	if (!found)
		return pb_err_at(e, t->kw, NULL,
		                 "no module/action detected in task; add a module such as "
		                 "'command' or 'debug'");
	if (!strcmp(found, "action") || !strcmp(found, "local_action"))
		return split_action_kw(pb, t, found, e);
	t->action = xstrdup(found);
	return action_args(pb, t->kw, found, json_object_get(t->kw, found), found_flags, &t->args,
	                   e);
}

/* Shapes of the keywords users get wrong most. */
static int check_task_shapes(const json_t *kw, struct err *e)
{
	const json_t *v;
	if ((v = json_object_get(kw, "when")) && (json_is_object(v)))
		return pb_err_at(e, kw, "when",
		                 "'when' must be a string, a bool or a list of conditions");
	if ((v = json_object_get(kw, "vars")) && !json_is_object(v) && !json_is_null(v))
		return pb_err_at(e, kw, "vars", "'vars' must be a dict of variables");
	if ((v = json_object_get(kw, "register")) && !json_is_string(v))
		return pb_err_at(e, kw, "register", "'register' must be a variable name");
	if ((v = json_object_get(kw, "loop_control")) && !json_is_object(v))
		return pb_err_at(e, kw, "loop_control",
		                 "'loop_control' must be a dict (loop_var, label, index_var, "
		                 "pause)");
	if ((v = json_object_get(kw, "name")) && !json_is_string(v))
		return pb_err_at(e, kw, "name", "a task 'name' must be a string");
	if ((v = json_object_get(kw, "args")) && !json_is_object(v))
		return pb_err_at(e, kw, "args", "'args' must be a dict");
	int nloops = !!json_object_get(kw, "loop");
	const char *k;
	json_t *x;
	json_object_foreach ((json_t *)kw, k, x) {
		if (str_startswith(k, "with_"))
			nloops++;
	}
	if (nloops > 1)
		return pb_err_at(e, kw, NULL, "a task can have only one of loop and with_*");
	return 0;
}

static int load_import(struct playbook *pb, struct pb_task *t, struct pb_list *out, struct err *e);

/* Ansible's TaskInclude.VALID_INCLUDE_KEYWORDS: an include's other
 * keywords would not reach the tasks it brings, so Ansible refuses them. */
static const char *const include_keys[] = {
    "action",       "args", "collections", "debugger", "ignore_errors", "loop",
    "loop_control", "name", "no_log",      "register", "run_once",      "tags",
    "timeout",      "vars", "when",        NULL,
};

static const char *const tasks_args[] = {"file", "_raw_params", "apply", NULL};

static const char *const role_args[] = {
    "name",
    "role",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
    "apply",
    "allow_duplicates",
    "rolespec_validate",
    "public",
    NULL,
};

/* apply: keywords for a block around what the include brings. */
static int check_apply(const struct pb_task *t, const char *a, const json_t *apply, struct err *e)
{
	const char *k;
	json_t *v;
	if (strcmp(a, "include_tasks") && strcmp(a, "include_role"))
		return pb_err_at(e, t->kw, t->action, "Invalid options for %s: apply", t->action);
	if (!json_is_object(apply))
		return pb_err_at(e, apply, NULL,
		                 "'apply' of %s must be a dict of keywords (tags, become, when, "
		                 "vars, environment...)",
		                 t->action);
	json_object_foreach ((json_t *)apply, k, v) {
		if (!pb_in(block_keys, k) || !strcmp(k, "block") || !strcmp(k, "rescue") ||
		    !strcmp(k, "always"))
			return pb_err_at(e, apply, k,
			                 "'%s' is not a valid attribute for a Block (in the apply "
			                 "of %s)",
			                 k, t->action);
	}
	return check_task_shapes(apply, e);
}

/* The keywords and arguments Ansible accepts on includes and imports. */
static int check_include(const struct pb_task *t, const char *a, struct err *e)
{
	int role = !strcmp(a, "include_role") || !strcmp(a, "import_role");
	const char *k;
	json_t *v;
	if (!strcmp(a, "import_tasks") || !strcmp(a, "import_role")) {
		json_object_foreach (t->kw, k, v) {
			if (!strcmp(k, "loop") || str_startswith(k, "with_"))
				return pb_err_at(
				    e, t->kw, k,
				    "You cannot use loops on '%s' statements. You should "
				    "use '%s' instead.",
				    a, role ? "include_role" : "include_tasks");
		}
	}
	if (!strcmp(a, "include_tasks") || !strcmp(a, "include_role")) {
		json_object_foreach (t->kw, k, v) {
			/* HandlerTaskInclude adds listen */
			if (!pb_in(include_keys, k) && strcmp(k, t->action) &&
			    !str_startswith(k, "with_") && !(t->handler && !strcmp(k, "listen")))
				return pb_err_at(
				    e, t->kw, k,
				    "'%s' is not a valid attribute for a %s; to give it to the "
				    "included tasks, put it under the include's apply:",
				    k, role ? "IncludeRole" : "TaskInclude");
		}
	}
	json_object_foreach (t->args, k, v) {
		if (!strcmp(k, "apply")) {
			if (check_apply(t, a, v, e))
				return e->code;
		} else if (!pb_in(role ? role_args : tasks_args, k) ||
		           (!strcmp(k, "public") && strcmp(a, "include_role"))) {
			return pb_err_at(e, t->kw, t->action, "Invalid options for %s: %s",
			                 t->action, k);
		}
	}
	return 0;
}

int pb_load_task(struct playbook *pb, json_t *kw, struct pb_task *parent, const char *basedir,
                 int handler, struct pb_list *out, struct err *e)
{
	if (!json_is_object(kw))
		return pb_err_at(e, kw, NULL, "a task must be a dict (module: args), not a %s",
		                 json_is_array(kw) ? "list" : "value");
	if (json_object_get(kw, "block"))
		return pb_load_block(pb, kw, parent, basedir, handler, out, e);
	if (check_task_shapes(kw, e))
		return e->code;
	struct pb_task *t = pb_task_new(pb, PB_TASK, kw, parent, basedir);
	t->handler = handler;
	json_decref(t->args); /* find_action sets them */
	t->args = NULL;
	const json_t *name = json_object_get(kw, "name");
	if (json_is_string(name))
		t->name = xstrdup(json_string_value(name));
	if (find_action(pb, t, "Task", e))
		return e->code;
	const json_t *extra = json_object_get(kw, "args");
	if (json_is_object(extra)) {
		json_t *merged = json_deep_copy(extra);
		json_object_update(merged, t->args);
		json_decref(t->args);
		t->args = merged;
	}
	const char *a = pb_short_action(t->action);
	if ((!strcmp(a, "import_tasks") || !strcmp(a, "import_role") ||
	     !strcmp(a, "include_tasks") || !strcmp(a, "include_role")) &&
	    check_include(t, a, e))
		return e->code;
	if (!strcmp(a, "import_tasks") || !strcmp(a, "import_role") || !strcmp(a, "include"))
		return load_import(pb, t, out, e);
	if (!strcmp(a, "include_tasks"))
		t->kind = PB_INCLUDE;
	else if (!strcmp(a, "include_role"))
		t->kind = PB_INCLUDE_ROLE;
	else if (!strcmp(a, "meta"))
		t->kind = PB_META;
	pb_list_push(out, t);
	return 0;
}

int pb_load_list(struct playbook *pb, const json_t *obj, const char *key, struct pb_task *parent,
                 const char *basedir, int handler, struct pb_list *out, struct err *e)
{
	const json_t *l = key ? json_object_get(obj, key) : obj;
	size_t i;
	json_t *v;
	if (!l || json_is_null(l))
		return 0;
	if (!json_is_array(l))
		return pb_err_at(e, key ? obj : l, key, "'%s' must be a list of tasks",
		                 key ? key : "the file");
	json_array_foreach (l, i, v) {
		if (pb_load_task(pb, v, parent, basedir, handler, out, e))
			return e->code;
	}
	return 0;
}

int pb_load_block(struct playbook *pb, json_t *kw, struct pb_task *parent, const char *basedir,
                  int handler, struct pb_list *out, struct err *e)
{
	const char *k;
	json_t *v;
	json_object_foreach (kw, k, v) {
		if (!pb_in(block_keys, k))
			return pb_err_at(e, kw, k, "'%s' is not a valid attribute for a Block", k);
	}
	if (check_task_shapes(kw, e))
		return e->code;
	struct pb_task *b = pb_task_new(pb, PB_BLOCK, kw, parent, basedir);
	b->handler = handler;
	const json_t *name = json_object_get(kw, "name");
	if (json_is_string(name))
		b->name = xstrdup(json_string_value(name));
	if (pb_load_list(pb, kw, "block", b, basedir, handler, &b->block, e) ||
	    pb_load_list(pb, kw, "rescue", b, basedir, handler, &b->rescue, e) ||
	    pb_load_list(pb, kw, "always", b, basedir, handler, &b->always, e))
		return e->code;
	pb_list_push(out, b);
	return 0;
}

/* import_tasks / import_role: expanded now, under a block that carries the
 * import's keywords (when, tags, vars...) so its tasks inherit them. */
static int load_import(struct playbook *pb, struct pb_task *t, struct pb_list *out, struct err *e)
{
	const char *a = pb_short_action(t->action);
	t->kind = PB_BLOCK;
	if (!strcmp(a, "import_role"))
		return pb_role_import(pb, t, out, e);
	const json_t *f = json_object_get(t->args, "_raw_params");
	if (!f)
		f = json_object_get(t->args, "file");
	if (!json_is_string(f))
		return pb_err_at(e, t->kw, t->action, "%s needs a file name", a);
	char *name = NULL, *path = NULL;
	json_t *doc = NULL;
	int rc = pb_render_name(pb, t, NULL, t->kw, t->action, json_string_value(f),
	                        "use include_tasks to name the file with those", &name, e);
	if (rc)
		goto out;
	if (!(path = pb_resolve(pb, t->basedir, name, "tasks"))) {
		rc = pb_err_at(e, t->kw, t->action, "could not find or access '%s' (looked in %s)",
		               name, t->basedir);
		goto out;
	}
	rc = ERR_IO;
	if (!(doc = yaml_load_file(path, e)))
		goto out;
	char *d = xstrdup(path);
	rc = pb_load_list(pb, doc, NULL, t, dirname(d), t->handler, &t->block, e);
	free(d);
	if (!rc)
		pb_list_push(out, t);
out:
	json_decref(doc);
	free(name);
	free(path);
	return rc;
}
