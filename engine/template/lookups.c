/*
 * Lookups, run on the controller: env, file, pipe, template, fileglob,
 * first_found, vars, dict, items/list. Relative paths are searched as
 * Ansible does for a play: ctx->basedir/files/ (templates/ for template),
 * then ctx->basedir itself.
 *
 * lookup() joins a list of strings with commas (one non-string item is
 * returned as itself); query()/q() always return the list.
 */
#include "template/filters.h"
#include "util/mem.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Find a file for a lookup: absolute, basedir/<sub>/term, basedir/term. */
static char *find_path(struct eval *ev, const char *term, const char *sub)
{
	if (term[0] == '/')
		return is_file(term) ? xstrdup(term) : NULL;
	const char *base = ev->ctx->basedir ? ev->ctx->basedir : ".";
	char *p = xasprintf("%s/%s/%s", base, sub, term);
	if (is_file(p))
		return p;
	free(p);
	p = xasprintf("%s/%s", base, term);
	if (is_file(p))
		return p;
	free(p);
	return NULL;
}

static json_t *l_env(struct eval *ev, json_t *terms, json_t *kw)
{
	(void)ev;
	json_t *out = json_array();
	json_t *def = json_object_get(kw, "default");
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		const char *v = json_is_string(t) ? getenv(json_string_value(t)) : NULL;
		if (v)
			json_array_append_new(out, tstrz(v));
		else
			json_array_append(out, def ? def : tstrz(""));
		if (!v && !def)
			json_decref(json_array_get(out, json_array_size(out) - 1));
	}
	return out;
}

static char *rstrip_ws(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static json_t *l_file(struct eval *ev, json_t *terms, json_t *kw)
{
	json_t *out = json_array();
	json_t *rs = json_object_get(kw, "rstrip");
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		char *path =
		    json_is_string(t) ? find_path(ev, json_string_value(t), "files") : NULL;
		size_t len;
		char *data = path ? read_file(path, &len) : NULL;
		free(path);
		if (!data) {
			char *ts = text_of(t);
			eval_fail(
			    ev,
			    "The 'file' lookup had an issue accessing the file '%s'. file not "
			    "found, use -vvvvv to see paths searched",
			    ts);
			free(ts);
			json_decref(out);
			return NULL;
		}
		if (!rs || py_truthy(rs))
			rstrip_ws(data);
		json_array_append_new(out, tstrz(data));
		free(data);
	}
	return out;
}

static json_t *l_pipe(struct eval *ev, json_t *terms, json_t *kw)
{
	(void)kw;
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		char *cmd = text_of(t);
		char *full = ev->ctx->basedir ? xasprintf("cd '%s' && %s", ev->ctx->basedir, cmd)
		                              : xstrdup(cmd);
		FILE *f = popen(full, "r");
		struct buf b = BUF_INIT;
		char chunk[4096];
		size_t n;
		int status = -1;
		if (f) {
			while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
				buf_add(&b, chunk, n);
			status = pclose(f);
		}
		free(full);
		if (status != 0) {
			eval_fail(ev, "lookup_plugin.pipe(%s) returned %d", cmd,
			          status > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : status);
			free(cmd);
			buf_release(&b);
			json_decref(out);
			return NULL;
		}
		free(cmd);
		buf_add(&b, "", 0); /* allocates and NUL-terminates */
		rstrip_ws(b.s);
		json_array_append_new(out, tstrz(b.s));
		buf_release(&b);
	}
	return out;
}

static json_t *l_template(struct eval *ev, json_t *terms, json_t *kw)
{
	(void)kw;
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		char *path =
		    json_is_string(t) ? find_path(ev, json_string_value(t), "templates") : NULL;
		size_t len;
		char *data = path ? read_file(path, &len) : NULL;
		free(path);
		if (!data) {
			char *ts = text_of(t);
			eval_fail(ev, "the template file %s could not be found for the lookup", ts);
			free(ts);
			json_decref(out);
			return NULL;
		}
		json_t *r = eval_render_text(ev, data, 0);
		free(data);
		if (!r) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, r);
	}
	return out;
}

static json_t *l_fileglob(struct eval *ev, json_t *terms, json_t *kw)
{
	(void)kw;
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		const char *term = json_string_value(t);
		if (!term)
			continue;
		const char *base = ev->ctx->basedir ? ev->ctx->basedir : ".";
		char *pats[2] = {NULL, NULL};
		if (term[0] == '/') {
			pats[0] = xstrdup(term);
		} else {
			pats[0] = xasprintf("%s/files/%s", base, term);
			pats[1] = xasprintf("%s/%s", base, term);
		}
		for (int k = 0; k < 2 && pats[k]; k++) {
			glob_t g;
			if (glob(pats[k], 0, NULL, &g) == 0) {
				int any = 0;
				for (size_t j = 0; j < g.gl_pathc; j++)
					if (is_file(g.gl_pathv[j])) {
						json_array_append_new(out, tstrz(g.gl_pathv[j]));
						any = 1;
					}
				globfree(&g);
				if (any)
					break;
			}
		}
		free(pats[0]);
		free(pats[1]);
	}
	return out;
}

static void ff_collect(json_t *files, json_t *paths, const json_t *t)
{
	size_t i;
	json_t *x;
	if (json_is_array(t)) {
		json_array_foreach (t, i, x)
			ff_collect(files, paths, x);
	} else if (json_is_object(t)) {
		json_t *f = json_object_get(t, "files"), *p = json_object_get(t, "paths");
		if (f)
			ff_collect(files, NULL, f);
		if (p && paths)
			ff_collect(paths, NULL, p);
	} else if (json_is_string(t)) {
		/* comma or semicolon separated lists are split, as Ansible does */
		char *s = xstrdup(json_string_value(t)), *save = NULL;
		for (char *part = strtok_r(s, ",;", &save); part;
		     part = strtok_r(NULL, ",;", &save))
			json_array_append_new(files, tstrz(part));
		free(s);
	}
}

static json_t *l_first_found(struct eval *ev, json_t *terms, json_t *kw)
{
	json_t *files = json_array(), *paths = json_array(), *out = json_array();
	ff_collect(files, paths, terms);
	if (json_object_get(kw, "files"))
		ff_collect(files, NULL, json_object_get(kw, "files"));
	if (json_object_get(kw, "paths"))
		ff_collect(paths, NULL, json_object_get(kw, "paths"));
	size_t i, j;
	json_t *f, *p;
	char *found = NULL;
	json_array_foreach (files, i, f) {
		const char *fn = json_string_value(f);
		if (json_array_size(paths) == 0 || fn[0] == '/') {
			found = find_path(ev, fn, "files");
		} else {
			json_array_foreach (paths, j, p) {
				char *cand = xasprintf("%s/%s", json_string_value(p), fn);
				char *hit = find_path(ev, cand, "files");
				free(cand);
				if (hit) {
					found = hit;
					break;
				}
			}
		}
		if (found)
			break;
	}
	if (found) {
		char *abs = realpath(found, NULL);
		json_array_append_new(out, tstrz(abs ? abs : found));
		free(abs);
		free(found);
	} else if (!py_truthy(json_object_get(kw, "skip"))) {
		eval_fail(ev, "No file was found when using first_found.");
		json_decref(out);
		out = NULL;
	}
	json_decref(files);
	json_decref(paths);
	return out;
}

static json_t *l_vars(struct eval *ev, json_t *terms, json_t *kw)
{
	json_t *out = json_array(), *def = json_object_get(kw, "default");
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		if (!json_is_string(t)) {
			eval_fail(ev,
			          "Invalid setting identifier, \"%s\" is not a string, it is a %s",
			          "?", py_type_name(t));
			json_decref(out);
			return NULL;
		}
		json_t *v = eval_var(ev, json_string_value(t));
		if (v && is_undef(v)) {
			json_decref(v);
			if (def) {
				json_array_append(out, def);
				continue;
			}
			eval_fail(ev, "No variable found with this name: %s", json_string_value(t));
			v = NULL;
		}
		if (!v) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, v);
	}
	return out;
}

static json_t *l_dict(struct eval *ev, json_t *terms, json_t *kw)
{
	(void)kw;
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		if (!json_is_object(t)) {
			eval_fail(ev, "with_dict expects a dict");
			json_decref(out);
			return NULL;
		}
		const char *k;
		json_t *v;
		json_object_foreach (t, k, v)
			json_array_append_new(out, json_pack("{sssO}", "key", k, "value", v));
	}
	return out;
}

static json_t *l_items(struct eval *ev, json_t *terms, json_t *kw)
{
	(void)ev, (void)kw;
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		if (json_is_array(t))
			json_array_extend(out, t);
		else
			json_array_append(out, t);
	}
	return out;
}

static json_t *l_list(struct eval *ev, json_t *terms, json_t *kw)
{
	(void)ev, (void)kw;
	return json_copy(terms);
}

struct lookup_def {
	const char *name;
	json_t *(*fn)(struct eval *ev, json_t *terms, json_t *kw);
};

static const struct lookup_def lookups[] = {
    {"env", l_env},
    {"file", l_file},
    {"pipe", l_pipe},
    {"template", l_template},
    {"fileglob", l_fileglob},
    {"first_found", l_first_found},
    {"vars", l_vars},
    {"dict", l_dict},
    {"items", l_items},
    {"list", l_list},
    {NULL, NULL},
};

json_t *lookup_call(struct eval *ev, json_t *args, json_t *kw, int wantlist)
{
	const char *name = json_string_value(json_array_get(args, 0));
	if (!name) {
		eval_fail(ev, "lookup needs the plugin name as its first argument");
		return NULL;
	}
	if (!strncmp(name, "ansible.builtin.", 16))
		name += 16;
	const struct lookup_def *l = NULL;
	for (const struct lookup_def *d = lookups; d->name; d++)
		if (!strcmp(d->name, name))
			l = d;
	if (!l) {
		eval_fail(ev, "lookup plugin (%s) not found", name);
		return NULL;
	}
	json_t *terms = json_array();
	for (size_t i = 1; i < json_array_size(args); i++)
		json_array_append(terms, json_array_get(args, i));
	json_t *opts = json_deep_copy(kw);
	if (json_is_true(json_object_get(opts, "wantlist")))
		wantlist = 1;
	json_object_del(opts, "wantlist");
	const char *errors = json_string_value(json_object_get(opts, "errors"));
	json_t *ran = l->fn(ev, terms, opts);
	json_decref(terms);
	json_decref(opts);
	if (!ran && errors && (!strcmp(errors, "ignore") || !strcmp(errors, "warn"))) {
		ev->e->code = 0;
		return wantlist ? json_array() : json_null();
	}
	if (!ran || wantlist || json_array_size(ran) == 0)
		return ran;
	int all_str = 1;
	size_t i;
	json_t *x;
	json_array_foreach (ran, i, x)
		all_str &= json_is_string(x);
	json_t *r;
	if (all_str) {
		struct buf b = BUF_INIT;
		json_array_foreach (ran, i, x) {
			if (i)
				buf_addc(&b, ',');
			buf_adds(&b, json_string_value(x));
		}
		r = str_result(&b);
	} else if (json_array_size(ran) == 1) {
		r = json_incref(json_array_get(ran, 0));
	} else {
		r = json_incref(ran);
	}
	json_decref(ran);
	return r;
}
