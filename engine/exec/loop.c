/*
 * Loop items: `loop:` and the with_* lookups users still write (items, list,
 * dict, sequence, nested, together, subelements, indexed_items, fileglob,
 * first_found), producing what Ansible's lookup plugins produce.
 */
#include "exec/exec_int.h"
#include "playbook/playbook.h"
#include "util/buf.h"
#include "util/mem.h"

#include <glob.h>
#include <string.h>
#include <sys/stat.h>

static json_t *listify(json_t *v)
{
	if (json_is_array(v))
		return v;
	json_t *l = json_array();
	if (!json_is_null(v))
		json_array_append(l, v);
	json_decref(v);
	return l;
}

static json_t *with_items(json_t *terms)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (terms, i, v) {
		if (json_is_array(v))
			json_array_extend(out, v);
		else
			json_array_append(out, v);
	}
	return out;
}

static json_t *with_dict(json_t *d, struct err *e)
{
	const char *k;
	json_t *v, *out;
	if (json_is_array(d) && json_array_size(d) == 1)
		d = json_array_get(d, 0);
	if (!json_is_object(d)) {
		err_set(e, ERR_GENERIC, NULL, 0, 0, "with_dict expects a dict");
		return NULL;
	}
	out = json_array();
	json_object_foreach (d, k, v) {
		json_array_append_new(out, json_pack("{ss sO}", "key", k, "value", v));
	}
	return out;
}

/* "start=1 end=5 stride=1 format=%d", "1-5", "count=3" */
static json_t *with_sequence(json_t *terms, struct err *e)
{
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach (terms, i, t) {
		long start = 1, end = 0, stride = 1, count = -1;
		const char *fmt = "%d";
		char fbuf[64] = "";
		const char *s = json_string_value(t);
		json_t *kv = s ? pb_parse_kv(s, 0, e) : NULL;
		if (!kv)
			goto bad;
		const char *raw = json_string_value(json_object_get(kv, "_raw_params"));
		if (raw && sscanf(raw, "%ld-%ld", &start, &end) != 2)
			end = strtol(raw, NULL, 0);
		const json_t *x;
		if ((x = json_object_get(kv, "start")))
			start = strtol(json_string_value(x), NULL, 0);
		if ((x = json_object_get(kv, "end")))
			end = strtol(json_string_value(x), NULL, 0);
		if ((x = json_object_get(kv, "stride")))
			stride = strtol(json_string_value(x), NULL, 0);
		if ((x = json_object_get(kv, "count")))
			count = strtol(json_string_value(x), NULL, 0);
		if ((x = json_object_get(kv, "format"))) {
			snprintf(fbuf, sizeof(fbuf), "%s", json_string_value(x));
			fmt = fbuf;
		}
		json_decref(kv);
		if (count >= 0)
			end = start + (count - 1) * stride;
		if (!stride || (stride > 0 && end < start - 1) || !strchr(fmt, '%'))
			goto bad;
		for (long n = start; stride > 0 ? n <= end : n >= end; n += stride) {
			char item[256];
			snprintf(item, sizeof(item), fmt, (int)n);
			json_array_append_new(out, json_string(item));
		}
	}
	return out;
bad:
	json_decref(out);
	err_set(e, ERR_GENERIC, NULL, 0, 0,
	        "with_sequence: use 'start=N end=M [stride=S] [format=F]', 'count=N' or 'N-M'");
	return NULL;
}

static json_t *with_nested(json_t *terms)
{
	json_t *out = json_array();
	json_array_append_new(out, json_array());
	size_t i, j, k;
	json_t *l, *v, *p;
	json_array_foreach (terms, i, l) {
		json_t *next = json_array();
		json_t *ll = listify(json_incref(l));
		json_array_foreach (out, j, p) {
			json_array_foreach (ll, k, v) {
				json_t *c = json_copy(p);
				json_array_append(c, v);
				json_array_append_new(next, c);
			}
		}
		json_decref(ll);
		json_decref(out);
		out = next;
	}
	return out;
}

static json_t *with_together(json_t *terms)
{
	json_t *out = json_array();
	size_t n = 0, i, j;
	json_t *l;
	json_array_foreach (terms, i, l)
		if (json_array_size(l) > n)
			n = json_array_size(l);
	for (j = 0; j < n; j++) {
		json_t *row = json_array();
		json_array_foreach (terms, i, l) {
			json_t *v = json_array_get(l, j);
			json_array_append(row, v ? v : json_null());
		}
		json_array_append_new(out, row);
	}
	return out;
}

static json_t *with_subelements(json_t *terms, struct err *e)
{
	json_t *list = json_array_get(terms, 0);
	const char *key = json_string_value(json_array_get(terms, 1));
	size_t i, j;
	json_t *el, *sub;
	if (!json_is_array(list) || !key) {
		err_set(e, ERR_GENERIC, NULL, 0, 0,
		        "with_subelements expects [list of dicts, 'key']");
		return NULL;
	}
	json_t *out = json_array();
	json_array_foreach (list, i, el) {
		const json_t *subs = json_object_get(el, key);
		if (!json_is_array(subs)) {
			json_decref(out);
			err_set(e, ERR_GENERIC, NULL, 0, 0,
			        "could not find '%s' key in iterated item", key);
			return NULL;
		}
		/* the item's first element is the dict without the subelement key */
		json_t *rest = json_copy(el);
		json_object_del(rest, key);
		json_array_foreach (subs, j, sub) {
			json_array_append_new(out, json_pack("[OO]", rest, sub));
		}
		json_decref(rest);
	}
	return out;
}

static json_t *with_indexed(json_t *terms)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_t *flat = with_items(terms);
	json_array_foreach (flat, i, v) {
		json_array_append_new(out, json_pack("[IO]", (json_int_t)i, v));
	}
	json_decref(flat);
	return out;
}

static char *search_file(const struct pb_task *t, const char *name, const char *sub)
{
	struct stat st;
	if (name[0] == '/')
		return stat(name, &st) ? NULL : xstrdup(name);
	const struct pb_role *r = pb_task_role(t);
	char *cand[4] = {
	    r ? xasprintf("%s/%s/%s", r->path, sub, name) : NULL,
	    xasprintf("%s/%s/%s", t->basedir, sub, name),
	    xasprintf("%s/%s", t->basedir, name),
	    NULL,
	};
	char *found = NULL;
	for (int i = 0; i < 4; i++) {
		if (!found && cand[i] && !stat(cand[i], &st))
			found = cand[i], cand[i] = NULL;
		free(cand[i]);
	}
	return found;
}

static json_t *with_fileglob(const struct pb_task *t, json_t *terms)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (terms, i, v) {
		const char *pat = json_string_value(v);
		glob_t g;
		if (!pat)
			continue;
		char *full =
		    pat[0] == '/' ? xstrdup(pat) : xasprintf("%s/files/%s", t->basedir, pat);
		if (!glob(full, 0, NULL, &g)) {
			for (size_t k = 0; k < g.gl_pathc; k++) {
				struct stat st;
				if (!stat(g.gl_pathv[k], &st) && S_ISREG(st.st_mode))
					json_array_append_new(out, json_string(g.gl_pathv[k]));
			}
			globfree(&g);
		}
		free(full);
	}
	return out;
}

static json_t *with_first_found(const struct pb_task *t, json_t *terms, struct err *e)
{
	size_t i, j;
	json_t *v, *f;
	json_array_foreach (terms, i, v) {
		json_t *files = json_is_object(v) ? json_object_get(v, "files") : v;
		json_t *paths = json_is_object(v) ? json_object_get(v, "paths") : NULL;
		json_t *fl = listify(json_incref(files));
		json_array_foreach (fl, j, f) {
			char *found = NULL;
			const char *name = json_string_value(f);
			if (!name)
				continue;
			if (json_is_array(paths)) {
				for (size_t k = 0; k < json_array_size(paths) && !found; k++) {
					char *p = xasprintf(
					    "%s/%s", json_string_value(json_array_get(paths, k)),
					    name);
					found = search_file(t, p, "files");
					free(p);
				}
			} else {
				found = search_file(t, name, "files");
			}
			if (found) {
				json_decref(fl);
				json_t *r = json_pack("[s]", found);
				free(found);
				return r;
			}
		}
		json_decref(fl);
	}
	err_set(e, ERR_GENERIC, NULL, 0, 0,
	        "No file was found when using first_found. Use errors='ignore' to allow this "
	        "task to be skipped if no files are found");
	return NULL;
}

static json_t *render(const struct pb_task *t, const char *key, const json_t *vars, struct err *e)
{
	struct tmpl_ctx c;
	struct srcpos sp;
	exec_tmpl_ctx(t, vars, &c);
	if (!srcpos_key(t->kw, key, &sp)) {
		c.file = sp.file;
		c.line = sp.line;
		c.col = sp.col;
	}
	return tmpl_render_value(json_object_get(t->kw, key), &c, e);
}

json_t *exec_loop_items(const struct pb_task *t, const json_t *vars, struct err *e)
{
	const char *k, *with = NULL;
	json_t *v, *terms, *out = NULL;
	if (json_object_get(t->kw, "loop")) {
		if (!(terms = render(t, "loop", vars, e)))
			return NULL;
		if (!json_is_array(terms)) {
			char *s = tmpl_to_text(terms);
			err_set(e, ERR_GENERIC, NULL, 0, 0,
			        "Invalid data passed to 'loop', it requires a list, got this "
			        "instead: %s. Hint: If you passed a list/dict of just one element, "
			        "try adding wantlist=True to your lookup invocation or use "
			        "q/query instead of lookup.",
			        s);
			free(s);
			json_decref(terms);
			return NULL;
		}
		return terms;
	}
	json_object_foreach (t->kw, k, v)
		if (str_startswith(k, "with_"))
			with = k;
	if (!with)
		return NULL;
	if (!(terms = render(t, with, vars, e)))
		return NULL;
	const char *w = with + 5;
	if (!strcmp(w, "dict")) {
		out = with_dict(terms, e);
		json_decref(terms);
		return out;
	}
	terms = listify(terms);
	if (!strcmp(w, "items"))
		out = with_items(terms);
	else if (!strcmp(w, "list"))
		out = json_incref(terms);
	else if (!strcmp(w, "sequence"))
		out = with_sequence(terms, e);
	else if (!strcmp(w, "nested") || !strcmp(w, "cartesian"))
		out = with_nested(terms);
	else if (!strcmp(w, "together"))
		out = with_together(terms);
	else if (!strcmp(w, "subelements"))
		out = with_subelements(terms, e);
	else if (!strcmp(w, "indexed_items"))
		out = with_indexed(terms);
	else if (!strcmp(w, "fileglob"))
		out = with_fileglob(t, terms);
	else if (!strcmp(w, "first_found"))
		out = with_first_found(t, terms, e);
	else
		err_set(e, ERR_GENERIC, NULL, 0, 0,
		        "'%s' is not a known loop; use loop: or with_items/list/dict/sequence/"
		        "nested/together/subelements/indexed_items/fileglob/first_found",
		        with);
	json_decref(terms);
	return out;
}
