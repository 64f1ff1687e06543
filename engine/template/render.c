/*
 * Statements, variables and the public API of tmpl.h.
 *
 * Result types follow Ansible 2.14's Templar with jinja2_native off: every
 * output node ({{ }} value or text) is collected natively, then
 * ansible_eval_concat joins them: one node is turned to text unless it
 * came from a string-type filter (to_json, string...), and text starting
 * with '[' or '{', or equal to True/False, is parsed back as a Python
 * literal. A template that is exactly `{{ name }}` naming a number, bool
 * or null variable returns it untouched (Templar's SINGLE_VAR shortcut).
 */
#include "template/tmpl_int.h"
#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 64

struct outlist {
	json_t **v;
	int n, cap;
	int native_text; /* the single node came from a string-type filter */
};

static json_t *concat(struct outlist *o, int literal);

static void out_push(struct outlist *o, json_t *v)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->v = xrealloc(o->v, (size_t)o->cap * sizeof(*o->v));
	}
	o->v[o->n++] = v;
}

static void out_release(struct outlist *o)
{
	for (int i = 0; i < o->n; i++)
		json_decref(o->v[i]);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* ---- parse cache: ASTs are immutable once built, shared by all threads ---- */

#define CACHE_SLOTS 8192

struct cache_slot {
	char *key;  /* kind, then the text */
	size_t len; /* of the text */
	struct node *ast;
};

static struct cache_slot cache[CACHE_SLOTS];
static int cache_used;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Eight bytes at a time: texts are hashed on every render. */
static unsigned long hash_str(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001B3ULL;
	return (unsigned long)(h ^ (h >> 29));
}

/* kind: 'E' an expression, '0' + LEX_* flags a template */
static const struct node *parse_cached(struct eval *ev, char kind, const char *text,
                                       struct node **owned)
{
	size_t tlen = strlen(text);
	unsigned long h = (hash_str(text, tlen) ^ (unsigned char)kind) % CACHE_SLOTS;
	const struct node *ast = NULL;
	*owned = NULL;
	pthread_mutex_lock(&cache_lock);
	for (unsigned long i = h; cache[i].key; i = (i + 1) % CACHE_SLOTS)
		if (cache[i].len == tlen && cache[i].key[0] == kind &&
		    !memcmp(cache[i].key + 1, text, tlen)) {
			ast = cache[i].ast;
			break;
		}
	pthread_mutex_unlock(&cache_lock);
	if (ast)
		return ast;
	char msg[1024];
	int errpos = 0;
	/* checked once per text, here on a cache miss: Jansson needs UTF-8 */
	if (!utf8_valid(text, strlen(text))) {
		eval_fail(ev, "the template text is not valid UTF-8");
		return NULL;
	}
	char *key = xasprintf("%c%s", kind, text);
	struct node *n = kind == 'E' ? parse_expression(text, &errpos, msg, sizeof(msg))
	                             : parse_template(text, kind - '0', &errpos, msg, sizeof(msg));
	if (!n) {
		ev->pos = errpos;
		eval_fail(ev, "template error while templating string: %s. String: %s", msg, text);
		free(key);
		return NULL;
	}
	pthread_mutex_lock(&cache_lock);
	if (cache_used < CACHE_SLOTS / 2) {
		unsigned long i = h;
		while (cache[i].key && strcmp(cache[i].key, key))
			i = (i + 1) % CACHE_SLOTS;
		if (!cache[i].key) {
			cache[i].key = key;
			cache[i].len = tlen;
			cache[i].ast = n;
			cache_used++;
			key = NULL;
		} else {
			*owned = n; /* another thread won the race */
		}
	} else {
		*owned = n;
	}
	pthread_mutex_unlock(&cache_lock);
	free(key);
	return n;
}

/* ---- variables ---- */

static json_t *render_value(struct eval *parent, const json_t *v);

static int resolving(struct eval *ev, const char *name);
static int needs_render(const json_t *v);

json_t *eval_var(struct eval *ev, const char *name)
{
	for (struct frame *f = ev->scope; f; f = f->up) {
		json_t *v = json_object_get(f->vars, name);
		if (v)
			return json_incref(v);
	}
	json_t *v = ev->cache ? json_object_get(ev->cache, name) : NULL;
	if (v)
		return json_incref(v);
	const json_t *raw = ev->ctx->vars ? json_object_get(ev->ctx->vars, name) : NULL;
	if (!raw) {
		if (!strcmp(name, "omit"))
			return tstrz(TMPL_OMIT);
		if (!strcmp(name, "vars") && ev->ctx->vars)
			return json_incref((json_t *)ev->ctx->vars);
		return undef_new("'%s' is undefined", name);
	}
	/* hostvars and vars are Ansible's special objects: never rendered whole */
	if (!strcmp(name, "hostvars") || !strcmp(name, "vars"))
		return json_incref((json_t *)raw);
	/* a plain scalar needs neither rendering nor a cache entry */
	if (!json_is_array(raw) && !json_is_object(raw) &&
	    (!json_is_string(raw) || !tmpl_has_template(json_string_value(raw))))
		return json_incref((json_t *)raw);
	if (!needs_render(raw)) {
		json_object_set(ev->cache, name, (json_t *)raw); /* skip the walk next time */
		return json_incref((json_t *)raw);
	}
	if (resolving(ev, name)) {
		eval_fail(ev, "recursive loop detected in template string: %s",
		          json_is_string(raw) ? json_string_value(raw) : name);
		return NULL;
	}
	json_t *stack = json_object_get(ev->cache, "\x01resolving");
	json_object_set_new(stack, name, json_true());
	v = render_value(ev, raw);
	json_object_del(stack, name);
	if (v)
		json_object_set(ev->cache, name, v);
	return v;
}

static int resolving(struct eval *ev, const char *name)
{
	json_t *stack = json_object_get(ev->cache, "\x01resolving");
	if (!stack) {
		stack = json_object();
		json_object_set_new(ev->cache, "\x01resolving", stack);
	}
	return json_object_get(stack, name) != NULL;
}

static int needs_render(const json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return tmpl_has_template(json_string_value(v)) && !yaml_is_unsafe(v);
	case JSON_ARRAY:
		json_array_foreach (v, i, x)
			if (needs_render(x))
				return 1;
		return 0;
	case JSON_OBJECT:
		json_object_foreach ((json_t *)v, k, x)
			if (needs_render(x))
				return 1;
		return 0;
	default:
		return 0;
	}
}

static json_t *render_text(struct eval *parent, const char *text);

/* A variable's value, its templates rendered (Templar.template on a var). */
static json_t *render_value(struct eval *parent, const json_t *v)
{
	if (!needs_render(v))
		return json_incref((json_t *)v);
	if (json_is_string(v)) {
		struct err inner;
		err_init(&inner);
		struct eval sub = *parent;
		sub.e = &inner;
		sub.scope = NULL;
		sub.text_mode = sub.raw_backslashes = 0; /* variables: Templar.template */
		sub.depth = parent->depth + 1;
		json_t *r = render_text(&sub, json_string_value(v));
		if (r)
			return r;
		if (inner.code == ERR_UNDEF)
			return undef_new("%s: %s", json_string_value(v), inner.msg);
		/* the error is in a variable's value: report it where the variable
		 * is used, naming the value, as Ansible does */
		if (!strncmp(inner.msg, "recursive loop", 14) ||
		    !strncmp(inner.msg, "An unhandled exception", 22))
			eval_fail(parent, "%s", inner.msg);
		else
			eval_fail(parent,
			          "An unhandled exception occurred while templating '%.200s'. "
			          "Error was: %.1500s",
			          json_string_value(v), inner.msg);
		parent->e->code = inner.code;
		return NULL;
	}
	size_t i;
	const char *k;
	json_t *x, *out;
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach (v, i, x) {
			json_t *r = render_value(parent, x);
			if (!r)
				goto fail;
			json_array_append_new(out, r);
		}
		return out;
	}
	out = json_object();
	json_object_foreach ((json_t *)v, k, x) {
		json_t *r = render_value(parent, x);
		if (!r)
			goto fail;
		json_object_set_new(out, k, r);
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* ---- statements ---- */

static int render_body(struct eval *ev, const struct node *body, struct outlist *out);

static int assign(struct eval *ev, const struct node *target, json_t *v, json_t *vars)
{
	if (target->kind == N_NAME) {
		json_object_set(vars, target->name, v);
		return 0;
	}
	if (target->kind == N_GETATTR && target->a->kind == N_NAME) {
		json_t *ns = eval_var(ev, target->a->name);
		int rc = 0;
		if (!json_is_object(ns) || is_undef(ns) || !json_object_get(ns, "\x01namespace")) {
			ev->pos = target->pos;
			rc = eval_fail(ev, "cannot assign attribute on non-namespace object");
		} else if (value_too_deep(v, ns, 64)) {
			ev->pos = target->pos;
			rc = eval_fail(ev,
			               "a namespace cannot hold itself (or nest over 64 levels)");
		} else {
			json_object_set(ns, target->name, v);
		}
		json_decref(ns);
		return rc;
	}
	if (target->kind != N_TUPLE && target->kind != N_LIST) {
		ev->pos = target->pos;
		return eval_fail(ev, "can't assign to this expression");
	}
	if (!json_is_array(v) && !json_is_object(v) && !json_is_string(v)) {
		ev->pos = target->pos;
		return eval_fail(ev, "cannot unpack non-iterable %s object", py_type_name(v));
	}
	json_t *items = py_iter(ev, v);
	if (!items)
		return -1;
	int rc = 0;
	if ((int)json_array_size(items) != target->nkids) {
		ev->pos = target->pos;
		rc = eval_fail(ev, "%s values to unpack (expected %d, got %d)",
		               (int)json_array_size(items) > target->nkids ? "too many"
		                                                           : "not enough",
		               target->nkids, (int)json_array_size(items));
	}
	for (int i = 0; rc == 0 && i < target->nkids; i++)
		rc = assign(ev, target->kids[i], json_array_get(items, (size_t)i), vars);
	json_decref(items);
	return rc;
}

static json_t *loop_info(json_t *items, size_t i, size_t n)
{
	json_t *l = json_object();
	json_object_set_new(l, "index", json_integer((json_int_t)i + 1));
	json_object_set_new(l, "index0", json_integer((json_int_t)i));
	json_object_set_new(l, "revindex", json_integer((json_int_t)(n - i)));
	json_object_set_new(l, "revindex0", json_integer((json_int_t)(n - i - 1)));
	json_object_set_new(l, "first", json_boolean(i == 0));
	json_object_set_new(l, "last", json_boolean(i + 1 == n));
	json_object_set_new(l, "length", json_integer((json_int_t)n));
	json_object_set_new(l, "depth", json_integer(1));
	json_object_set_new(l, "depth0", json_integer(0));
	if (i > 0)
		json_object_set(l, "previtem", json_array_get(items, i - 1));
	if (i + 1 < n)
		json_object_set(l, "nextitem", json_array_get(items, i + 1));
	return l;
}

/* Items of the loop after its `if` filter. */
static json_t *loop_items(struct eval *ev, const struct node *n)
{
	json_t *seq = eval_expr(ev, n->b);
	if (!seq)
		return NULL;
	json_t *items = py_iter(ev, seq);
	json_decref(seq);
	if (!items || !n->d)
		return items;
	json_t *kept = json_array();
	struct frame f = {json_object(), ev->scope};
	size_t i;
	json_t *x;
	json_array_foreach (items, i, x) {
		json_t *c = NULL;
		int t = -1;
		ev->scope = &f;
		if (assign(ev, n->a, x, f.vars) == 0 && (c = eval_expr(ev, n->d)))
			t = is_undef(c) ? eval_fail_undef(ev, c) : py_truthy(c);
		ev->scope = f.up;
		json_decref(c);
		if (t < 0) {
			json_decref(kept);
			kept = NULL;
			break;
		}
		if (t)
			json_array_append(kept, x);
	}
	json_decref(f.vars);
	json_decref(items);
	return kept;
}

static int render_for(struct eval *ev, const struct node *n, struct outlist *out)
{
	json_t *items = loop_items(ev, n);
	if (!items)
		return -1;
	size_t count = json_array_size(items);
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		struct frame f = {json_object(), ev->scope};
		if (n->negate) /* the parser saw `loop` in the body */
			json_object_set_new(f.vars, "loop", loop_info(items, i, count));
		ev->scope = &f;
		rc = assign(ev, n->a, json_array_get(items, i), f.vars);
		if (rc == 0)
			rc = render_body(ev, n->kids[0], out);
		ev->scope = f.up;
		json_decref(f.vars);
	}
	json_decref(items);
	if (rc == 0 && count == 0 && n->c)
		rc = render_body(ev, n->c, out);
	return rc;
}

static int render_setblock(struct eval *ev, const struct node *n, struct outlist *out)
{
	(void)out;
	struct outlist sub = {0};
	int rc = render_body(ev, n->c, &sub);
	json_t *text = NULL, *v = NULL;
	if (rc == 0) {
		text = concat(&sub, 0);
		struct frame f = {json_object(), ev->scope};
		json_object_set(f.vars, "\x01body", text);
		ev->scope = &f;
		v = eval_expr(ev, n->b);
		ev->scope = f.up;
		json_decref(f.vars);
		rc = v ? 0 : -1;
	}
	struct frame *top = ev->scope;
	if (rc == 0)
		rc = assign(ev, n->a, v, top->vars);
	json_decref(text);
	json_decref(v);
	out_release(&sub);
	return rc;
}

static int is_native_text(const struct node *n)
{
	static const char *const names[] = {"string",       "to_json", "to_nice_json", "to_yaml",
	                                    "to_nice_yaml", "ppretty", "json",         NULL};
	if (n->kind == N_COND)
		return is_native_text(n->a) && (!n->c || is_native_text(n->c));
	if (n->kind != N_FILTER)
		return 0;
	const char *name = strrchr(n->name, '.') ? strrchr(n->name, '.') + 1 : n->name;
	for (int i = 0; names[i]; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

static int render_output(struct eval *ev, const struct node *n, struct outlist *out)
{
	json_t *v = eval_expr(ev, n->a);
	if (!v)
		return -1;
	ev->pos = n->a->pos;
	if (eval_check_defined(ev, v) < 0) {
		json_decref(v);
		return -1;
	}
	if (json_is_null(v) || is_lenient(v)) {
		json_decref(v);
		v = tstrz("");
	} else if (n->a->kind == N_TUPLE) {
		/* a tuple prints as (a, b), which no literal_eval turns back */
		struct buf b = BUF_INIT;
		py_repr(v, &b);
		b.s[0] = '(';
		b.s[b.len - 1] = ')';
		if (json_array_size(v) == 1) {
			b.len--;
			buf_adds(&b, ",)");
		}
		json_decref(v);
		v = tstr(b.s, b.len);
		buf_release(&b);
	}
	out_push(out, v);
	out->native_text = out->n == 1 && is_native_text(n->a);
	return 0;
}

/* Where {% include %} looks: beside the template, then basedir/templates
 * and basedir, as the template module's search path does. */
static char *find_include(struct eval *ev, const char *name)
{
	char *cands[3] = {NULL, NULL, NULL};
	const char *base = ev->ctx->basedir ? ev->ctx->basedir : ".";
	if (name[0] == '/') {
		cands[0] = xstrdup(name);
	} else {
		if (ev->ctx->file && strchr(ev->ctx->file, '/'))
			cands[0] =
			    xasprintf("%.*s/%s", (int)(strrchr(ev->ctx->file, '/') - ev->ctx->file),
			              ev->ctx->file, name);
		cands[1] = xasprintf("%s/templates/%s", base, name);
		cands[2] = xasprintf("%s/%s", base, name);
	}
	char *found = NULL;
	for (int i = 0; i < 3; i++) {
		struct stat st;
		if (!found && cands[i] && stat(cands[i], &st) == 0 && S_ISREG(st.st_mode))
			found = cands[i];
		else
			free(cands[i]);
	}
	return found;
}

static int render_include(struct eval *ev, const struct node *n, struct outlist *out)
{
	json_t *name = eval_expr(ev, n->a);
	if (!name)
		return -1;
	int rc = -1;
	char *path = json_is_string(name) ? find_include(ev, json_string_value(name)) : NULL;
	size_t len;
	char *text = path ? read_file(path, &len) : NULL;
	ev->pos = n->pos;
	if (!text) {
		if (n->negate)
			rc = 0;
		else if (is_undef(name))
			eval_fail_undef(ev, name);
		else
			eval_fail(ev, "the included template '%s' was not found",
			          json_is_string(name) ? json_string_value(name) : "?");
		goto out;
	}
	if (ev->depth > MAX_DEPTH) {
		eval_fail(ev, "recursive loop detected in template string: {%% include %%}");
		goto out;
	}
	struct node *owned;
	const char *saved = ev->src;
	ev->src = text;
	ev->depth++;
	const struct node *ast = parse_cached(
	    ev, (char)('0' + (ev->ctx->trim_blocks ? LEX_TRIM_BLOCKS : 0)), text, &owned);
	/* the included text sees the including template's variables */
	if (ast)
		rc = render_body(ev, ast, out);
	ev->depth--;
	ev->src = saved;
	node_free(owned);
out:
	free(text);
	free(path);
	json_decref(name);
	return rc;
}

/*
 * A macro is a value in the scope that defines it: a dict holding the
 * address of its node. The node lives in the parse cache (or in the AST
 * being rendered) for as long as the macro can be called.
 */
#define MACRO_KEY "\x01macro"

int is_macro(const json_t *v)
{
	return json_is_object(v) && json_object_get(v, MACRO_KEY) != NULL;
}

static int define_macro(struct eval *ev, const struct node *n)
{
	json_t *m = json_object();
	json_object_set_new(m, MACRO_KEY, json_integer((json_int_t)(intptr_t)n));
	/* macros see the scope they were defined in, not their caller's */
	json_object_set_new(m, "\x01scope", json_integer((json_int_t)(intptr_t)ev->scope));
	json_object_set_new(ev->scope->vars, n->name, m);
	return 0;
}

json_t *macro_call(struct eval *ev, const json_t *macro, json_t *args, json_t *kw)
{
	const struct node *n =
	    (const struct node *)(intptr_t)json_integer_value(json_object_get(macro, MACRO_KEY));
	size_t nargs = json_array_size(args);
	if (ev->depth > MAX_DEPTH) {
		eval_fail(ev, "macro '%s' calls itself too deeply (recursive loop)", n->name);
		return NULL;
	}
	if (nargs > (size_t)(n->nkids + n->nkw)) {
		eval_fail(ev, "macro '%s' takes not more than %d argument(s)", n->name,
		          n->nkids + n->nkw);
		return NULL;
	}
	/* the defining frame, if it is still live (it is on the current chain) */
	struct frame *def =
	    (struct frame *)(intptr_t)json_integer_value(json_object_get(macro, "\x01scope"));
	struct frame *up = ev->scope;
	for (struct frame *s = ev->scope; s; s = s->up)
		if (s == def)
			up = def;
	struct frame f = {json_object(), up};
	struct frame *caller = ev->scope;
	json_t *r = NULL;
	struct outlist out = {0};
	for (int i = 0; i < n->nkids + n->nkw; i++) {
		const char *pname = i < n->nkids ? n->kids[i]->name : n->kwnames[i - n->nkids];
		json_t *v = (size_t)i < nargs ? json_incref(json_array_get(args, (size_t)i)) : NULL;
		if (!v && json_object_get(kw, pname))
			v = json_incref(json_object_get(kw, pname));
		if (!v && i >= n->nkids)
			v = eval_expr(ev, n->kw[i - n->nkids]);
		if (!v)
			v = undef_new("parameter '%s' was not provided", pname);
		json_object_set_new(f.vars, pname, v);
	}
	ev->scope = &f;
	ev->depth++;
	if (render_body(ev, n->c, &out) == 0)
		r = concat(&out, 0);
	ev->depth--;
	ev->scope = caller;
	out_release(&out);
	json_decref(f.vars);
	if (r && !json_is_string(r)) {
		char *s = py_str_dup(r);
		json_decref(r);
		r = tstrz(s);
		free(s);
	}
	return r;
}

static int render_node(struct eval *ev, const struct node *n, struct outlist *out)
{
	json_t *c;
	int t;
	switch (n->kind) {
	case S_DATA:
		out_push(out, json_incref(n->val));
		return 0;
	case S_OUTPUT:
		return render_output(ev, n, out);
	case S_IF:
		c = eval_expr(ev, n->a);
		if (!c)
			return -1;
		t = is_undef(c) ? eval_fail_undef(ev, c) : py_truthy(c);
		json_decref(c);
		if (t < 0)
			return -1;
		if (t)
			return render_body(ev, n->b, out);
		if (!n->c)
			return 0;
		return n->c->kind == S_IF ? render_node(ev, n->c, out) : render_body(ev, n->c, out);
	case S_FOR:
		return render_for(ev, n, out);
	case S_SET: {
		json_t *v = eval_expr(ev, n->b);
		if (!v)
			return -1;
		int rc = assign(ev, n->a, v, ev->scope->vars);
		json_decref(v);
		return rc;
	}
	case S_SETBLOCK:
		return render_setblock(ev, n, out);
	case S_INCLUDE:
		return render_include(ev, n, out);
	case S_MACRO:
		return define_macro(ev, n);
	case S_BODY:
		return render_body(ev, n, out);
	}
	ev->pos = n->pos;
	return eval_fail(ev, "internal error: unknown statement %d", n->kind);
}

static int render_body(struct eval *ev, const struct node *body, struct outlist *out)
{
	for (int i = 0; i < body->nkids; i++)
		if (render_node(ev, body->kids[i], out) < 0)
			return -1;
	return 0;
}

/* ansible_eval_concat */
static json_t *concat(struct outlist *o, int literal)
{
	if (o->n == 0)
		return tstrz("");
	struct buf b = BUF_INIT;
	if (o->n == 1) {
		json_t *v = o->v[0];
		/* unsafe text comes back as it is, still unsafe (Ansible returns a
		 * NativeJinjaUnsafeText untouched) */
		if (o->native_text || (!literal && json_is_string(v)) ||
		    (json_is_string(v) && yaml_is_unsafe(v)))
			return json_incref(v);
		/* repr + literal_eval gives back the same list, dict or bool */
		if (literal && (json_is_array(v) || json_is_object(v) || json_is_boolean(v)))
			return json_incref(v);
		py_str(v, &b);
	} else {
		for (int i = 0; i < o->n; i++)
			py_str(o->v[i], &b);
	}
	buf_add(&b, "", 0); /* allocates and NUL-terminates */
	json_t *r = NULL;
	if (literal &&
	    (b.s[0] == '[' || b.s[0] == '{' || !strcmp(b.s, "True") || !strcmp(b.s, "False")))
		r = pylit_parse(b.s);
	if (!r)
		r = json_stringn_nocheck(b.s, b.len); /* valid pieces */
	buf_release(&b);
	return r;
}

static size_t trailing_newlines(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && s[n - 1 - k] == '\n')
		k++;
	return k;
}

/* Templar's SINGLE_VAR: "{{ name }}" naming a number, bool or null var. */
static json_t *single_var(struct eval *ev, const char *text)
{
	const char *p = text + 2, *end;
	while (isspace((unsigned char)*p))
		p++;
	end = p;
	while (isalnum((unsigned char)*end) || *end == '_')
		end++;
	const char *q = end;
	while (isspace((unsigned char)*q))
		q++;
	if (q[0] != '}' || q[1] != '}' || (q[2] && strcmp(q + 2, "\n")))
		return NULL;
	char *name = xstrndup(p, (size_t)(end - p));
	const json_t *v = ev->ctx->vars ? json_object_get(ev->ctx->vars, name) : NULL;
	free(name);
	if (v && (json_is_number(v) || json_is_boolean(v) || json_is_null(v)))
		return json_incref((json_t *)v);
	return NULL;
}

static json_t *render_text(struct eval *ev, const char *text)
{
	if (!tmpl_has_template(text))
		return tstrz(text);
	if (ev->depth > MAX_DEPTH) {
		eval_fail(ev, "recursive loop detected in template string: %s", text);
		return NULL;
	}
	if (!ev->text_mode && !strncmp(text, "{{", 2)) {
		json_t *sv = single_var(ev, text);
		if (sv)
			return sv;
	}
	struct node *owned;
	const char *saved = ev->src;
	ev->src = text;
	int flags = (ev->ctx->trim_blocks ? LEX_TRIM_BLOCKS : 0) |
	            (ev->ctx->lstrip_blocks ? LEX_LSTRIP_BLOCKS : 0) |
	            (ev->text_mode || ev->raw_backslashes ? LEX_RAW_BACKSLASHES : 0);
	const struct node *ast = parse_cached(ev, (char)('0' + flags), text, &owned);
	if (!ast) {
		ev->src = saved;
		return NULL;
	}
	struct outlist out = {0};
	struct frame top = {json_object(), ev->scope};
	ev->scope = &top;
	json_t *r = NULL;
	if (render_body(ev, ast, &out) == 0)
		r = concat(&out, !ev->text_mode);
	ev->scope = top.up;
	ev->src = saved;
	json_decref(top.vars);
	out_release(&out);
	node_free(owned);
	if (r && json_is_string(r)) {
		size_t want = trailing_newlines(text, strlen(text));
		size_t have = trailing_newlines(json_string_value(r), json_string_length(r));
		if (want > have) {
			struct buf b = BUF_INIT;
			buf_add(&b, json_string_value(r), json_string_length(r));
			for (; have < want; have++)
				buf_addc(&b, '\n');
			json_decref(r);
			r = json_stringn_nocheck(b.s, b.len);
			buf_release(&b);
		}
	}
	return r;
}

json_t *eval_render_text(struct eval *ev, const char *text, int native)
{
	struct eval sub = *ev;
	sub.scope = NULL;
	sub.depth = ev->depth + 1;
	sub.text_mode = 0;
	sub.raw_backslashes = 1; /* the template lookup's escape_backslashes=False */
	json_t *r = render_text(&sub, text);
	if (r && !native && !json_is_string(r)) {
		char *s = py_str_dup(r);
		json_decref(r);
		r = tstrz(s);
		free(s);
	}
	return r;
}

static void eval_init(struct eval *ev, const struct tmpl_ctx *ctx, struct err *e)
{
	memset(ev, 0, sizeof(*ev));
	ev->ctx = ctx;
	ev->e = e;
	ev->cache = json_object();
}

int tmpl_has_template(const char *s)
{
	for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{'))
		if (p[1] == '{' || p[1] == '%' || p[1] == '#')
			return 1;
	return 0;
}

json_t *tmpl_render(const char *text, const struct tmpl_ctx *ctx, struct err *e)
{
	struct eval ev;
	eval_init(&ev, ctx, e);
	ev.text_mode = ctx->text_mode;
	json_t *r = render_text(&ev, text);
	json_decref(ev.cache);
	return r;
}

static json_t *render_tree(struct eval *ev, const json_t *v)
{
	if (json_is_string(v)) {
		/* plain text is shared, not copied; it keeps its source position */
		if (!tmpl_has_template(json_string_value(v)) || yaml_is_unsafe(v))
			return json_incref((json_t *)v);
		return render_text(ev, json_string_value(v));
	}
	size_t i;
	const char *k;
	json_t *x, *out;
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach (v, i, x) {
			json_t *r = render_tree(ev, x);
			if (!r)
				goto fail;
			json_array_append_new(out, r);
		}
		return out;
	}
	if (!json_is_object(v))
		return json_incref((json_t *)v);
	out = json_object();
	json_object_foreach ((json_t *)v, k, x) {
		json_t *r = render_tree(ev, x), *kr = NULL;
		if (r && tmpl_has_template(k)) {
			kr = render_text(ev, k);
			if (kr && !json_is_string(kr)) {
				char *s = py_str_dup(kr);
				json_decref(kr);
				kr = tstrz(s);
				free(s);
			}
		}
		if (!r || (tmpl_has_template(k) && !kr)) {
			json_decref(r);
			goto fail;
		}
		json_object_set_new(out, kr ? json_string_value(kr) : k, r);
		json_decref(kr);
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

json_t *tmpl_render_value(const json_t *v, const struct tmpl_ctx *ctx, struct err *e)
{
	struct eval ev;
	eval_init(&ev, ctx, e);
	json_t *r = render_tree(&ev, v);
	json_decref(ev.cache);
	return r;
}

static json_t *eval_text_expr(struct eval *ev, const char *expr)
{
	struct node *owned;
	ev->src = expr;
	const struct node *ast = parse_cached(ev, 'E', expr, &owned);
	if (!ast)
		return NULL;
	struct frame top = {json_object(), NULL};
	ev->scope = &top;
	json_t *r = eval_expr(ev, ast);
	ev->scope = NULL;
	json_decref(top.vars);
	node_free(owned);
	return r;
}

json_t *tmpl_eval(const char *expr, const struct tmpl_ctx *ctx, struct err *e)
{
	struct eval ev;
	eval_init(&ev, ctx, e);
	json_t *r = eval_text_expr(&ev, expr);
	if (r && eval_check_defined(&ev, r) < 0) {
		json_decref(r);
		r = NULL;
	}
	json_decref(ev.cache);
	return r;
}

static int cond_text(const char *text, const struct tmpl_ctx *ctx, int *result, struct err *e)
{
	struct eval ev;
	eval_init(&ev, ctx, e);
	json_t *cv = NULL, *r = NULL;
	int rc = -1;
	if (tmpl_has_template(text)) {
		log_warn("conditional statements should not include jinja2 templating delimiters "
		         "such as {{ }} or {%% %%}. Found: %s",
		         text);
		cv = render_text(&ev, text);
		if (!cv)
			goto out;
		if (!json_is_string(cv) || json_string_length(cv) == 0) {
			*result = py_truthy(cv);
			rc = 0;
			goto out;
		}
		text = json_string_value(cv);
	}
	r = eval_text_expr(&ev, text);
	if (!r)
		goto out;
	if (is_undef(r)) {
		eval_fail_undef(&ev, r);
		goto out;
	}
	*result = py_truthy(r);
	rc = 0;
out:
	if (rc < 0 && e->code) {
		char msg[sizeof(e->msg)];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		snprintf(e->msg, sizeof(e->msg),
		         "The conditional check '%.700s' failed. The error was: error while "
		         "evaluating conditional (%.700s): %.600s",
		         text, text, msg);
	}
	json_decref(cv);
	json_decref(r);
	json_decref(ev.cache);
	return rc < 0 ? e->code : 0;
}

int tmpl_cond(const json_t *cond, const struct tmpl_ctx *ctx, int *result, struct err *e)
{
	*result = 1;
	if (!cond || json_is_null(cond))
		return 0;
	if (json_is_array(cond)) {
		size_t i;
		json_t *c;
		json_array_foreach (cond, i, c) {
			int rc = tmpl_cond(c, ctx, result, e);
			if (rc < 0 || !*result)
				return rc;
		}
		return 0;
	}
	if (!json_is_string(cond)) {
		*result = py_truthy(cond);
		return 0;
	}
	if (json_string_length(cond) == 0)
		return 0;
	if (yaml_is_unsafe(cond) && tmpl_has_template(json_string_value(cond)))
		return err_set(e, ERR_TMPL, ctx->file, ctx->line, ctx->col,
		               "Conditional is marked as unsafe, and cannot be evaluated.");
	return cond_text(json_string_value(cond), ctx, result, e);
}

void tmpl_mark_unsafe(json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_string(v) && tmpl_has_template(json_string_value(v)))
		yaml_mark_unsafe(v); /* only strings that could ever be rendered */
	else if (json_is_array(v))
		json_array_foreach (v, i, x)
			tmpl_mark_unsafe(x);
	else if (json_is_object(v))
		json_object_foreach (v, k, x)
			tmpl_mark_unsafe(x);
}
