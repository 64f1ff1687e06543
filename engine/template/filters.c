/*
 * Filters, part one: defaults, conversions, strings and paths, with the
 * semantics of Jinja2 3.1's builtins and ansible-core 2.14's core filters.
 * The table at the end of filters_data.c lists every filter.
 *
 * A filter gets its input and arguments (new references it must not keep
 * without incref), returns a new reference, or NULL with ev->e set.
 */
#include "template/tmpl_int.h"
#include "util/digest.h"
#include "template/filters.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <ctype.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *arg_get(json_t *args, json_t *kw, size_t i, const char *name)
{
	json_t *v = name ? json_object_get(kw, name) : NULL;
	if (v)
		return v;
	return json_array_get(args, i);
}

int arg_bool(json_t *args, json_t *kw, size_t i, const char *name, int def)
{
	json_t *v = arg_get(args, kw, i, name);
	return v ? py_truthy(v) : def;
}

const char *arg_str(json_t *args, json_t *kw, size_t i, const char *name, const char *def)
{
	json_t *v = arg_get(args, kw, i, name);
	return json_is_string(v) ? json_string_value(v) : def;
}

json_t *str_result(struct buf *b)
{
	json_t *r = tstr(b->s ? b->s : "", b->len);
	buf_release(b);
	return r;
}

/* str(in) for filters that take text */
char *text_of(const json_t *v)
{
	return py_str_dup(v);
}

static json_t *f_default(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	json_t *def = arg_get(args, kw, 0, "default_value");
	int boolean = arg_bool(args, kw, 1, "boolean", 0);
	if (is_undef(in) || (boolean && !py_truthy(in)))
		return def ? json_incref(def) : tstrz("");
	return json_incref(in);
}

static json_t *f_mandatory(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	if (!is_undef(in))
		return json_incref(in);
	const char *msg = arg_str(args, kw, 0, "msg", NULL);
	if (msg) {
		eval_fail(ev, "%s", msg);
		return NULL;
	}
	const char *u = undef_msg(in);
	const char *end = strstr(u, "' is undefined");
	if (u[0] == '\'' && end)
		eval_fail(ev, "Mandatory variable '%.*s'  not defined.", (int)(end - u - 1), u + 1);
	else
		eval_fail(ev, "Mandatory variable  not defined.");
	return NULL;
}

static json_t *f_int(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	long long v;
	json_t *def = arg_get(args, kw, 0, "default");
	json_t *basev = arg_get(args, kw, 1, "base");
	int base = basev ? num_int(basev, 0, 36) : 10;
	if (json_is_string(in) && base != 10) {
		char *end;
		const char *s = json_string_value(in);
		if (base == 16 && (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)))
			s += 2;
		v = strtoll(s, &end, base);
		if (end != s && !*end)
			return json_integer(v);
	} else if (py_to_int(in, &v) == 0) {
		return json_integer(v);
	} else {
		double d;
		if (json_is_string(in) && py_to_float(in, &d) == 0 && !isnan(d) && !isinf(d)) {
			json_t *f = json_real(d);
			json_t *r = json_integer(num_ll(f));
			json_decref(f);
			return r;
		}
	}
	return def ? json_incref(def) : json_integer(0);
}

static json_t *f_float(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	double d;
	if (py_to_float(in, &d) == 0)
		return json_real(d);
	json_t *def = arg_get(args, kw, 0, "default");
	return def ? json_incref(def) : json_real(0.0);
}

static json_t *f_bool(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	if (json_is_null(in) || json_is_boolean(in))
		return json_incref(in);
	if (json_is_string(in)) {
		static const char *const yes[] = {"yes", "on", "1", "true", NULL};
		for (int i = 0; yes[i]; i++)
			if (!strcasecmp(json_string_value(in), yes[i]))
				return json_true();
		return json_false();
	}
	return json_boolean(json_is_integer(in) && json_integer_value(in) == 1);
}

static json_t *f_string(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	char *s = text_of(in);
	json_t *r = tstrz(s);
	free(s);
	return r;
}

static json_t *f_length(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	if (json_is_string(in))
		return json_integer(
		    (json_int_t)utf8_len(json_string_value(in), json_string_length(in)));
	if (json_is_array(in))
		return json_integer((json_int_t)json_array_size(in));
	if (json_is_object(in))
		return json_integer((json_int_t)json_object_size(in));
	eval_fail(ev, "object of type '%s' has no len()", py_type_name(in));
	return NULL;
}

static json_t *f_list(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	json_t *l = py_iter(ev, in);
	if (!l)
		return NULL;
	json_t *r = json_copy(l); /* a new list, never the input */
	json_decref(l);
	return r;
}

static json_t *f_ternary(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	json_t *t = arg_get(args, kw, 0, "true_val"), *f = arg_get(args, kw, 1, "false_val");
	json_t *n = arg_get(args, kw, 2, "none_val");
	if (json_is_null(in) && n && !json_is_null(n))
		return json_incref(n);
	json_t *r = py_truthy(in) ? t : f;
	return r ? json_incref(r) : json_null();
}

static json_t *path_part(json_t *in, int dir)
{
	char *s = text_of(in);
	const char *slash = strrchr(s, '/');
	json_t *r;
	if (!dir) {
		r = tstrz(slash ? slash + 1 : s);
	} else if (!slash) {
		r = tstrz("");
	} else {
		/* os.path.dirname: head without trailing slashes unless all slashes */
		size_t n = (size_t)(slash - s) + 1;
		size_t k = n;
		while (k > 0 && s[k - 1] == '/')
			k--;
		r = tstr(s, k ? k : n);
	}
	free(s);
	return r;
}

static json_t *f_basename(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	return path_part(in, 0);
}

static json_t *f_dirname(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	return path_part(in, 1);
}

static json_t *case_map(json_t *in, int mode)
{
	char *s = text_of(in);
	json_t *r = utf8_case(s, strlen(s), mode);
	free(s);
	return r;
}

static json_t *f_lower(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	return case_map(in, 'l');
}

static json_t *f_upper(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	return case_map(in, 'u');
}

static json_t *f_capitalize(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	return case_map(in, 'c');
}

static json_t *f_title(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	return case_map(in, 't');
}

static json_t *f_trim(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	json_t *chars = arg_get(args, kw, 0, "chars");
	json_t *a = json_array();
	if (chars)
		json_array_append(a, chars);
	json_t *s = json_is_string(in) ? json_incref(in) : f_string(ev, in, NULL, NULL);
	json_t *r = method_call(ev, s, "strip", a, NULL);
	json_decref(s);
	json_decref(a);
	return r;
}

static json_t *f_replace(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *s = json_is_string(in) ? json_incref(in) : f_string(ev, in, NULL, NULL);
	json_t *r = method_call(ev, s, "replace", args, kw);
	json_decref(s);
	return r;
}

static json_t *f_split(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *s = json_is_string(in) ? json_incref(in) : f_string(ev, in, NULL, NULL);
	json_t *r = method_call(ev, s, "split", args, kw);
	json_decref(s);
	return r;
}

static json_t *f_indent(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	json_t *w = arg_get(args, kw, 0, "width");
	int first = arg_bool(args, kw, 1, "first", 0), blank = arg_bool(args, kw, 2, "blank", 0);
	struct buf pad = BUF_INIT, b = BUF_INIT;
	if (json_is_string(w))
		buf_adds(&pad, json_string_value(w));
	else
		for (long long i = 0; i < (w ? num_int(w, 0, 4096) : 4); i++)
			buf_addc(&pad, ' ');
	buf_add(&pad, "", 0); /* allocates and NUL-terminates */
	char *s = text_of(in);
	/* Jinja 3.1: a trailing newline stays without indentation */
	size_t len = strlen(s);
	int trailing_nl = len && s[len - 1] == '\n';
	if (trailing_nl)
		s[len - 1] = '\0';
	int line = 0;
	for (char *p = s;; line++) {
		char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		if ((line > 0 || first) && (blank || l > 0))
			buf_adds(&b, pad.s);
		buf_add(&b, p, l);
		if (!nl)
			break;
		buf_addc(&b, '\n');
		p = nl + 1;
	}
	if (trailing_nl)
		buf_addc(&b, '\n');
	free(s);
	buf_release(&pad);
	return str_result(&b);
}

static json_t *f_quote(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	char *s = json_is_null(in) ? xstrdup("") : text_of(in);
	struct buf b = BUF_INIT;
	int safe = *s != '\0';
	for (const char *p = s; *p && safe; p++)
		safe = isalnum((unsigned char)*p) || strchr("@%+=:,./-_", *p);
	if (safe) {
		buf_adds(&b, s);
	} else {
		/* shlex.quote: 'it'"'"'s' */
		buf_addc(&b, '\'');
		for (const char *p = s; *p; p++)
			if (*p == '\'')
				buf_adds(&b, "'\"'\"'");
			else
				buf_addc(&b, *p);
		buf_addc(&b, '\'');
	}
	free(s);
	return str_result(&b);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *f_b64encode(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	char *s = text_of(in);
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf_addc(&b, b64chars[(v >> 18) & 63]);
		buf_addc(&b, b64chars[(v >> 12) & 63]);
		buf_addc(&b, i + 1 < n ? b64chars[(v >> 6) & 63] : '=');
		buf_addc(&b, i + 2 < n ? b64chars[v & 63] : '=');
	}
	free(s);
	return str_result(&b);
}

static json_t *f_b64decode(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	char *s = text_of(in);
	struct buf b = BUF_INIT;
	unsigned v = 0;
	int bits = 0, bad = 0, pad = 0;
	for (const char *p = s; *p; p++) {
		const char *c = strchr(b64chars, *p);
		if (*p == '=') {
			pad++;
			continue;
		}
		if (!c || !*p || pad) {
			/* Python's b64decode discards characters outside the alphabet */
			if (isspace((unsigned char)*p) || !c)
				continue;
			bad = 1;
			break;
		}
		v = (v << 6) | (unsigned)(c - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(&b, (char)((v >> bits) & 0xFF));
		}
	}
	free(s);
	if (bad || bits >= 6) {
		buf_release(&b);
		eval_fail(ev, "b64decode: Incorrect padding");
		return NULL;
	}
	return str_result(&b);
}

static json_t *f_to_json(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args;
	struct buf b = BUF_INIT;
	json_t *ind = json_object_get(kw, "indent");
	int sort = json_is_true(json_object_get(kw, "sort_keys"));
	py_json_dump(in, ind ? num_int(ind, 0, 64) : -1, sort, &b);
	return str_result(&b);
}

static json_t *f_to_nice_json(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	struct buf b = BUF_INIT;
	json_t *ind = arg_get(args, kw, 0, "indent");
	py_json_dump(in, ind ? num_int(ind, 0, 64) : 4, arg_bool(args, kw, 1, "sort_keys", 1), &b);
	return str_result(&b);
}

static json_t *f_to_yaml(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args;
	struct buf b = BUF_INIT;
	json_t *ind = json_object_get(kw, "indent");
	yaml_dump_style(in, ind ? num_int(ind, 0, 64) : 2, 1, &b);
	return str_result(&b);
}

static json_t *f_to_nice_yaml(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	struct buf b = BUF_INIT;
	json_t *ind = arg_get(args, kw, 0, "indent");
	yaml_dump(in, ind ? num_int(ind, 0, 64) : 4, &b);
	return str_result(&b);
}

static json_t *f_from_json(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	json_error_t je;
	char *s = text_of(in);
	json_t *r = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	free(s);
	if (!r)
		eval_fail(ev, "from_json: %s (line %d, column %d)", je.text, je.line, je.column);
	return r;
}

static json_t *f_from_yaml(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	if (!json_is_string(in))
		return json_incref(in);
	struct err e2;
	err_init(&e2);
	json_t *r = yaml_load_str(json_string_value(in), json_string_length(in), NULL, &e2);
	if (!r)
		eval_fail(ev, "from_yaml: %s", e2.msg);
	return r;
}

static json_t *f_hash(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	const char *algo = arg_str(args, kw, 0, "hashtype", "sha1");
	if (!digest_known(algo)) {
		eval_fail(ev, "unsupported hash type %s", algo);
		return NULL;
	}
	char *s = text_of(in), hex[129];
	digest_hex(algo, s, strlen(s), hex);
	free(s);
	return tstrz(hex);
}

static json_t *f_md5(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	json_t *a = json_pack("[s]", "md5");
	json_t *r = f_hash(ev, in, a, NULL);
	json_decref(a);
	return r;
}

static json_t *f_sha1(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	return f_hash(ev, in, NULL, NULL);
}

static json_t *f_type_debug(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	static const char *const ansible_names[] = {"dict", "list", "str", NULL};
	const char *t = py_type_name(in);
	(void)ansible_names;
	return tstrz(t);
}

static json_t *f_abs(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	if (!is_number(in)) {
		eval_fail(ev, "bad operand type for abs(): '%s'", py_type_name(in));
		return NULL;
	}
	if (json_is_real(in))
		return json_real(fabs(json_real_value(in)));
	long long v = json_is_boolean(in) ? json_is_true(in) : json_integer_value(in);
	return json_integer(v < 0 ? -v : v);
}

static json_t *f_round(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *pv = arg_get(args, kw, 0, "precision");
	const char *method = arg_str(args, kw, 1, "method", "common");
	int prec = pv ? num_int(pv, -300, 300) : 0;
	if (!is_number(in)) {
		eval_fail(ev, "round: a number is required, got '%s'", py_type_name(in));
		return NULL;
	}
	double v = num_value(in), m = pow(10, prec), r;
	if (!strcmp(method, "common") && !json_is_real(in))
		return json_integer((json_int_t)v); /* round(int) stays an int */
	if (!strcmp(method, "floor"))
		r = floor(v * m) / m;
	else if (!strcmp(method, "ceil"))
		r = ceil(v * m) / m;
	else
		r = rint(v * m) / m;
	return json_real(r);
}

static json_t *f_regex_escape(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	char *s = text_of(in);
	struct buf b = BUF_INIT;
	/* re.escape: everything but ASCII letters, digits and _ gets a backslash */
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 128 && !isalnum(c) && c != '_')
			buf_addc(&b, '\\');
		buf_addc(&b, (char)c);
	}
	free(s);
	return str_result(&b);
}

static json_t *f_comment(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	char *s = text_of(in);
	struct buf b = BUF_INIT;
	buf_adds(&b, "#\n");
	for (char *p = s;;) {
		char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		buf_adds(&b, l ? "# " : "#");
		buf_add(&b, p, l);
		buf_addc(&b, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	buf_adds(&b, "#");
	free(s);
	return str_result(&b);
}

static json_t *f_path_join(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)args, (void)kw;
	json_t *parts = json_is_array(in) ? json_incref(in) : json_pack("[O]", in);
	struct buf b = BUF_INIT;
	size_t i;
	json_t *p;
	json_array_foreach (parts, i, p) {
		if (!json_is_string(p)) {
			json_decref(parts);
			buf_release(&b);
			eval_fail(ev, "path_join: expected strings, got '%s'", py_type_name(p));
			return NULL;
		}
		const char *s = json_string_value(p);
		if (s[0] == '/')
			buf_reset(&b);
		else if (b.len && b.s[b.len - 1] != '/')
			buf_addc(&b, '/');
		buf_adds(&b, s);
	}
	json_decref(parts);
	return str_result(&b);
}

static json_t *f_splitext(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev, (void)args, (void)kw;
	char *s = text_of(in);
	const char *base = strrchr(s, '/') ? strrchr(s, '/') + 1 : s;
	const char *dot = strrchr(base, '.');
	const char *b = base;
	while (*b == '.')
		b++;
	json_t *r;
	if (!dot || dot < b)
		r = json_pack("[ss]", s, "");
	else
		r = json_pack("[s#s]", s, (int)(dot - s), dot);
	free(s);
	return r;
}

json_t *py_format(struct eval *ev, const json_t *fmt, const json_t *args);

/* Jinja's format: "%s-%s" | format(a, b), "%(k)s" | format(k=v) */
static json_t *f_format(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	if (json_array_size(args) && json_object_size(kw)) {
		eval_fail(ev, "can't handle positional and keyword arguments at the same time");
		return NULL;
	}
	json_t *s = json_is_string(in) ? json_incref(in) : f_string(ev, in, NULL, NULL);
	json_t *r = py_format(ev, s, json_object_size(kw) ? kw : args);
	json_decref(s);
	return r;
}

/* getattr only: JSON values have no attributes Jinja would find */
static json_t *f_attr(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	(void)ev;
	json_t *name = arg_get(args, kw, 0, "name");
	char *n = name ? text_of(name) : xstrdup("");
	json_t *r = undef_new("'%s object' has no attribute '%s'", py_type_name(in), n);
	free(n);
	return r;
}

/* Ansible's strftime: "%Y-%m-%d" | strftime(second=None, utc=False) */
static json_t *f_strftime(struct eval *ev, json_t *in, json_t *args, json_t *kw)
{
	json_t *sec = arg_get(args, kw, 0, "second");
	int utc = arg_bool(args, kw, 1, "utc", 0);
	time_t t = time(NULL);
	if (sec && !json_is_null(sec)) {
		double d;
		if (py_to_float(sec, &d) < 0) {
			char *s = text_of(sec);
			eval_fail(ev, "Invalid value for epoch value (%s)", s);
			free(s);
			return NULL;
		}
		t = (time_t)num_ll(sec);
	}
	struct tm tm;
	if (utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	char *fmt = text_of(in), out[512];
	size_t n = strftime(out, sizeof(out), fmt, &tm);
	free(fmt);
	return tstr(out, n);
}

const struct filter_def filters_core[] = {
    {"strftime", f_strftime, 0},
    {"format", f_format, 0},
    {"attr", f_attr, 0},
    {"default", f_default, 1},
    {"d", f_default, 1},
    {"mandatory", f_mandatory, 1},
    {"int", f_int, 0},
    {"float", f_float, 0},
    {"bool", f_bool, 0},
    {"string", f_string, 0},
    {"length", f_length, 0},
    {"count", f_length, 0},
    {"list", f_list, 0},
    {"ternary", f_ternary, 0},
    {"basename", f_basename, 0},
    {"dirname", f_dirname, 0},
    {"lower", f_lower, 0},
    {"upper", f_upper, 0},
    {"capitalize", f_capitalize, 0},
    {"title", f_title, 0},
    {"trim", f_trim, 0},
    {"replace", f_replace, 0},
    {"split", f_split, 0},
    {"indent", f_indent, 0},
    {"quote", f_quote, 0},
    {"b64encode", f_b64encode, 0},
    {"b64decode", f_b64decode, 0},
    {"to_json", f_to_json, 0},
    {"to_nice_json", f_to_nice_json, 0},
    {"to_yaml", f_to_yaml, 0},
    {"to_nice_yaml", f_to_nice_yaml, 0},
    {"from_json", f_from_json, 0},
    {"from_yaml", f_from_yaml, 0},
    {"hash", f_hash, 0},
    {"md5", f_md5, 0},
    {"sha1", f_sha1, 0},
    {"checksum", f_sha1, 0},
    {"type_debug", f_type_debug, 0},
    {"abs", f_abs, 0},
    {"round", f_round, 0},
    {"regex_escape", f_regex_escape, 0},
    {"comment", f_comment, 0},
    {"path_join", f_path_join, 0},
    {"splitext", f_splitext, 0},
    {NULL, NULL, 0},
};
