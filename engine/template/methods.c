/*
 * Python methods callable from templates (str.split, dict.get,
 * list.append...), the `%` string operator, and Jinja's global functions
 * (range, dict, namespace, lookup/query/q).
 */
#include "template/filters.h"
#include "util/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int is_space_char(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static json_t *s_strip(const char *s, size_t n, const char *chars, int left, int right)
{
	size_t a = 0, b = n;
	while (left && a < b && (chars ? strchr(chars, s[a]) != NULL : is_space_char(s[a])))
		a++;
	while (right && b > a &&
	       (chars ? strchr(chars, s[b - 1]) != NULL : is_space_char(s[b - 1])))
		b--;
	return tstr(s + a, b - a);
}

/* str.split / str.rsplit */
static json_t *s_split(const char *s, size_t n, json_t *sepv, long long maxsplit, int right)
{
	json_t *out = json_array();
	const char *sep = json_is_string(sepv) ? json_string_value(sepv) : NULL;
	size_t sl = sep ? strlen(sep) : 0;
	if (!sep) {
		/* runs of whitespace; leading/trailing ignored */
		json_t *parts = json_array();
		size_t i = 0;
		while (i < n) {
			while (i < n && is_space_char(s[i]))
				i++;
			if (i >= n)
				break;
			size_t st = i;
			while (i < n && !is_space_char(s[i]))
				i++;
			json_array_append_new(parts, tstr(s + st, i - st));
		}
		size_t np = json_array_size(parts);
		if (maxsplit < 0 || (size_t)maxsplit + 1 >= np) {
			json_decref(out);
			return parts;
		}
		/* rejoin the unsplit remainder as Python keeps it */
		size_t keep = (size_t)maxsplit;
		if (!right) {
			for (size_t k = 0; k < keep; k++)
				json_array_append(out, json_array_get(parts, k));
			const char *rest = s;
			for (size_t k = 0; k < keep; k++) {
				while (is_space_char(*rest))
					rest++;
				while (*rest && !is_space_char(*rest))
					rest++;
			}
			while (is_space_char(*rest))
				rest++;
			size_t rl = n - (size_t)(rest - s);
			while (rl && is_space_char(rest[rl - 1]))
				rl--;
			json_array_append_new(out, tstr(rest, rl));
		} else {
			const char *end = s + n;
			for (size_t k = 0; k < keep; k++) {
				while (end > s && is_space_char(end[-1]))
					end--;
				while (end > s && !is_space_char(end[-1]))
					end--;
			}
			while (end > s && is_space_char(end[-1]))
				end--;
			const char *st = s;
			while (st < end && is_space_char(*st))
				st++;
			json_array_append_new(out, tstr(st, (size_t)(end - st)));
			for (size_t k = np - keep; k < np; k++)
				json_array_append(out, json_array_get(parts, k));
		}
		json_decref(parts);
		return out;
	}
	if (!right) {
		const char *p = s, *end = s + n;
		long long done = 0;
		for (;;) {
			const char *hit = (maxsplit < 0 || done < maxsplit)
			                      ? memmem(p, (size_t)(end - p), sep, sl)
			                      : NULL;
			if (!hit) {
				json_array_append_new(out, tstr(p, (size_t)(end - p)));
				break;
			}
			json_array_append_new(out, tstr(p, (size_t)(hit - p)));
			p = hit + sl;
			done++;
		}
		return out;
	}
	/* rsplit with a separator: split from the right, then reverse */
	json_t *rev = json_array();
	size_t end = n;
	long long done = 0;
	while (maxsplit < 0 || done < maxsplit) {
		size_t hit = (size_t)-1;
		for (size_t i = end >= sl ? end - sl + 1 : 0; i-- > 0;)
			if (!memcmp(s + i, sep, sl)) {
				hit = i;
				break;
			}
		if (hit == (size_t)-1)
			break;
		json_array_append_new(rev, tstr(s + hit + sl, end - hit - sl));
		end = hit;
		done++;
	}
	json_array_append_new(rev, tstr(s, end));
	for (size_t i = json_array_size(rev); i-- > 0;)
		json_array_append(out, json_array_get(rev, i));
	json_decref(rev);
	return out;
}

static int affix(const char *s, size_t n, const json_t *a, int end)
{
	if (json_is_array(a)) {
		size_t i;
		json_t *x;
		json_array_foreach (a, i, x)
			if (affix(s, n, x, end))
				return 1;
		return 0;
	}
	const char *p = json_string_value(a);
	size_t pl = json_string_length(a);
	if (!p || pl > n)
		return 0;
	return !memcmp(end ? s + n - pl : s, p, pl);
}

static json_t *s_replace(const char *s, size_t n, json_t *args, size_t limit)
{
	const char *old = json_string_value(json_array_get(args, 0));
	const char *new = json_string_value(json_array_get(args, 1));
	json_t *cv = json_array_get(args, 2);
	long long count = cv ? json_integer_value(cv) : -1;
	if (!old || !new)
		return NULL;
	size_t ol = strlen(old), nl = strlen(new);
	/* the result could grow past the limit: refuse before building it */
	if (nl > ol && (ol == 0 ? (n + 1) * nl + n : (n / ol) * (nl - ol) + n) > limit)
		return NULL;
	struct buf b = BUF_INIT;
	const char *p = s, *end = s + n;
	long long done = 0;
	if (ol == 0) {
		/* "" matches between every character */
		for (size_t i = 0; i <= n; i++) {
			if (count < 0 || done < count) {
				buf_adds(&b, new);
				done++;
			}
			if (i < n)
				buf_addc(&b, s[i]);
		}
		return str_result(&b);
	}
	while (p < end) {
		const char *hit =
		    (count < 0 || done < count) ? memmem(p, (size_t)(end - p), old, ol) : NULL;
		if (!hit)
			break;
		buf_add(&b, p, (size_t)(hit - p));
		buf_adds(&b, new);
		p = hit + ol;
		done++;
	}
	buf_add(&b, p, (size_t)(end - p));
	return str_result(&b);
}

static long long count_sub(const char *s, size_t n, const char *sub)
{
	size_t sl = strlen(sub);
	long long c = 0;
	if (!sl)
		return (long long)utf8_len(s, n) + 1;
	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), sub, sl)); p += sl)
		c++;
	return c;
}

static json_t *s_case(const char *s, size_t n, const char *how)
{
	int mode = !strcmp(how, "lower")        ? 'l'
	           : !strcmp(how, "upper")      ? 'u'
	           : !strcmp(how, "capitalize") ? 'c'
	                                        : 'T';
	return utf8_case(s, n, mode);
}

static json_t *s_is(const char *s, size_t n, const char *how)
{
	if (!n)
		return json_false();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok = !strcmp(how, "isdigit")   ? isdigit(c)
		         : !strcmp(how, "isalpha") ? isalpha(c)
		         : !strcmp(how, "isalnum") ? isalnum(c)
		                                   : is_space_char((char)c);
		if (!ok)
			return json_false();
	}
	return json_true();
}

json_t *py_format(struct eval *ev, const json_t *fmt, const json_t *args);

/* str.format with {} {0} {name} fields and no format specs beyond them */
static json_t *s_format(struct eval *ev, const char *s, json_t *args, json_t *kw)
{
	struct buf b = BUF_INIT;
	size_t auto_idx = 0;
	for (const char *p = s; *p; p++) {
		if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
			buf_addc(&b, *p++);
			continue;
		}
		if (*p != '{') {
			buf_addc(&b, *p);
			continue;
		}
		const char *end = strchr(p, '}');
		if (!end) {
			buf_release(&b);
			eval_fail(ev, "Single '{' encountered in format string");
			return NULL;
		}
		char *field = xstrndup(p + 1, (size_t)(end - p - 1));
		char *colon = strchr(field, ':');
		if (colon)
			*colon = '\0';
		json_t *v;
		if (!*field)
			v = json_array_get(args, auto_idx++);
		else if (isdigit((unsigned char)*field))
			v = json_array_get(args, (size_t)atoi(field));
		else
			v = kw ? json_object_get(kw, field) : NULL;
		free(field);
		if (!v) {
			buf_release(&b);
			eval_fail(ev, "Replacement index out of range for positional args tuple");
			return NULL;
		}
		py_str(v, &b);
		p = end;
	}
	return str_result(&b);
}

static json_t *str_method(struct eval *ev, json_t *obj, const char *name, json_t *args, json_t *kw)
{
	const char *s = json_string_value(obj);
	size_t n = json_string_length(obj);
	json_t *a0 = json_array_get(args, 0);
	if (!strcmp(name, "split") || !strcmp(name, "rsplit")) {
		json_t *ms = arg_get(args, kw, 1, "maxsplit");
		json_t *sep = arg_get(args, kw, 0, "sep");
		if (json_is_string(sep) && json_string_length(sep) == 0) {
			eval_fail(ev, "empty separator");
			return NULL;
		}
		return s_split(s, n, sep, ms ? num_ll(ms) : -1, name[0] == 'r');
	}
	if (!strcmp(name, "strip") || !strcmp(name, "lstrip") || !strcmp(name, "rstrip"))
		return s_strip(s, n, json_string_value(a0), name[0] != 'r', name[0] != 'l');
	if (!strcmp(name, "startswith") || !strcmp(name, "endswith"))
		return json_boolean(a0 && affix(s, n, a0, name[0] == 'e'));
	if (!strcmp(name, "replace")) {
		json_t *r = s_replace(s, n, args, (size_t)MAX_TEXT);
		if (!r && json_is_string(json_array_get(args, 0)) &&
		    json_is_string(json_array_get(args, 1)))
			eval_fail(ev, "the replaced text would be too large (over %ld bytes)",
			          MAX_TEXT);
		return r;
	}
	if (!strcmp(name, "lower") || !strcmp(name, "upper") || !strcmp(name, "title") ||
	    !strcmp(name, "capitalize"))
		return s_case(s, n, name);
	if (!strncmp(name, "is", 2) && (!strcmp(name, "isdigit") || !strcmp(name, "isalpha") ||
	                                !strcmp(name, "isalnum") || !strcmp(name, "isspace")))
		return s_is(s, n, name);
	if (!strcmp(name, "join")) {
		json_t *items = a0 ? py_iter(ev, a0) : NULL;
		if (!items)
			return NULL;
		struct buf b = BUF_INIT;
		size_t i;
		json_t *x;
		json_array_foreach (items, i, x) {
			if (i)
				buf_add(&b, s, n);
			py_str(x, &b);
		}
		json_decref(items);
		return str_result(&b);
	}
	if (!strcmp(name, "format"))
		return s_format(ev, s, args, kw);
	if (!strcmp(name, "find") || !strcmp(name, "index") || !strcmp(name, "rfind")) {
		const char *sub = json_string_value(a0);
		if (!sub)
			return NULL;
		const char *hit = NULL;
		if (name[0] == 'r') {
			for (const char *p = s; (p = strstr(p, sub)); p++)
				hit = p;
		} else {
			hit = strstr(s, sub);
		}
		if (!hit && name[0] == 'i') {
			eval_fail(ev, "substring not found");
			return NULL;
		}
		return json_integer(hit ? (json_int_t)utf8_len(s, (size_t)(hit - s)) : -1);
	}
	if (!strcmp(name, "count") && json_is_string(a0))
		return json_integer(count_sub(s, n, json_string_value(a0)));
	if (!strcmp(name, "splitlines")) {
		json_t *out = json_array();
		const char *p = s, *end = s + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (l && p[l - 1] == '\r')
				l--;
			json_array_append_new(out, tstr(p, l));
			p = nl ? nl + 1 : end;
		}
		return out;
	}
	return NULL;
}

/*
 * list.append and dict.update change a value. When that value is one of the
 * caller's variables (shared, maybe with other threads), change a copy that
 * this render keeps under the variable's name instead.
 */
static json_t *writable(struct eval *ev, json_t *obj)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)ev->ctx->vars, k, v) {
		if (v != obj)
			continue;
		json_t *copy = json_deep_copy(obj);
		json_object_set_new(ev->cache, k, copy);
		return copy;
	}
	return obj;
}

static json_t *dict_method(struct eval *ev, json_t *obj, const char *name, json_t *args)
{
	const char *k;
	json_t *v, *out;
	json_t *a0 = json_array_get(args, 0);
	if (!strcmp(name, "get")) {
		char *key = a0 ? py_str_dup(a0) : NULL;
		v = key ? json_object_get(obj, key) : NULL;
		free(key);
		if (v)
			return json_incref(v);
		v = json_array_get(args, 1);
		return v ? json_incref(v) : json_null();
	}
	if (!strcmp(name, "keys") || !strcmp(name, "values") || !strcmp(name, "items")) {
		out = json_array();
		json_object_foreach (obj, k, v) {
			if (name[0] == 'k')
				json_array_append_new(out, tstrz(k));
			else if (name[0] == 'v')
				json_array_append(out, v);
			else
				json_array_append_new(out, json_pack("[sO]", k, v));
		}
		return out;
	}
	if (!strcmp(name, "update") && json_is_object(a0) && value_too_deep(a0, obj, 64)) {
		eval_fail(ev, "a dict cannot hold itself (or nest over 64 levels) here");
		return NULL;
	}
	if (!strcmp(name, "update") && json_is_object(a0)) {
		json_object_update(writable(ev, obj), a0);
		return json_null();
	}
	if (!strcmp(name, "copy"))
		return json_copy(obj);
	/* loop.cycle('odd', 'even') */
	json_t *idx = json_object_get(obj, "index0");
	if (!strcmp(name, "cycle") && idx && json_object_get(obj, "revindex0") &&
	    json_array_size(args) > 0)
		return json_incref(
		    json_array_get(args, (size_t)json_integer_value(idx) % json_array_size(args)));
	(void)ev;
	return NULL;
}

static json_t *list_method(struct eval *ev, json_t *obj, const char *name, json_t *args)
{
	json_t *a0 = json_array_get(args, 0);
	size_t i;
	json_t *x;
	if ((!strcmp(name, "append") || !strcmp(name, "extend")) && a0 &&
	    value_too_deep(a0, obj, 64)) {
		eval_fail(ev, "a list cannot hold itself (or nest over 64 levels) here");
		return NULL;
	}
	if (!strcmp(name, "append") && a0) {
		json_array_append(writable(ev, obj), a0);
		return json_null();
	}
	if (!strcmp(name, "extend") && json_is_array(a0)) {
		json_array_extend(writable(ev, obj), a0);
		return json_null();
	}
	if (!strcmp(name, "index") && a0) {
		json_array_foreach (obj, i, x)
			if (py_equal(x, a0))
				return json_integer((json_int_t)i);
		eval_fail(ev, "%s is not in list", json_is_string(a0) ? "value" : "item");
		return NULL;
	}
	if (!strcmp(name, "count") && a0) {
		long long c = 0;
		json_array_foreach (obj, i, x)
			c += py_equal(x, a0);
		return json_integer(c);
	}
	return NULL;
}

json_t *method_call(struct eval *ev, json_t *obj, const char *name, json_t *args, json_t *kw)
{
	json_t *r = NULL;
	if (json_is_string(obj))
		r = str_method(ev, obj, name, args, kw);
	else if (json_is_object(obj))
		r = dict_method(ev, obj, name, args);
	else if (json_is_array(obj))
		r = list_method(ev, obj, name, args);
	if (!r && !ev->e->code)
		eval_fail(ev, "'%s' object has no attribute '%s'", py_type_name(obj), name);
	return r;
}

/* printf-style `fmt % args`: %s %r %d %i %f %x %%, and %(name)s with a dict */
json_t *py_format(struct eval *ev, const json_t *fmt, const json_t *args)
{
	struct buf b = BUF_INIT;
	const char *s = json_string_value(fmt);
	size_t ai = 0;
	json_t *list = json_is_array(args) ? (json_t *)args : NULL;
	for (const char *p = s; *p; p++) {
		if (*p != '%') {
			buf_addc(&b, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			buf_addc(&b, '%');
			continue;
		}
		const json_t *v = NULL;
		if (*p == '(') {
			const char *end = strchr(p, ')');
			if (!end || !json_is_object(args))
				goto bad;
			char *key = xstrndup(p + 1, (size_t)(end - p - 1));
			v = json_object_get(args, key);
			free(key);
			p = end + 1;
		} else {
			v = list ? json_array_get(list, ai++) : (ai++ == 0 ? args : NULL);
		}
		char spec[32];
		size_t k = 0;
		spec[k++] = '%';
		while (*p && strchr("-+ #0123456789.", *p) && k < 20)
			spec[k++] = *p++;
		/* a width or precision beyond 4 digits is refused, not allocated */
		for (size_t d = 1, run = 0; d < k; d++)
			if ((run = (spec[d] >= '0' && spec[d] <= '9') ? run + 1 : 0) > 4)
				goto bad;
		if (!v || !*p)
			goto bad;
		char conv = *p;
		if (conv == 's' || conv == 'r') {
			struct buf t = BUF_INIT;
			if (conv == 'r')
				py_repr(v, &t);
			else
				py_str(v, &t);
			buf_add(&t, "", 0);
			spec[k++] = 's', spec[k] = '\0';
			buf_addf(&b, spec, t.s);
			buf_release(&t);
		} else if (strchr("dixXo", conv) && is_number(v)) {
			spec[k++] = 'l', spec[k++] = 'l', spec[k++] = conv == 'i' ? 'd' : conv;
			spec[k] = '\0';
			buf_addf(&b, spec, num_ll(v));
		} else if (strchr("feEgG", conv) && is_number(v)) {
			spec[k++] = conv, spec[k] = '\0';
			buf_addf(&b, spec, num_value(v));
		} else {
			goto bad;
		}
	}
	if (list && ai < json_array_size(list))
		goto bad;
	return str_result(&b);
bad:
	buf_release(&b);
	eval_fail(ev, "not all arguments converted during string formatting");
	return NULL;
}

static json_t *g_range(struct eval *ev, json_t *args)
{
	long long a = 0, b = 0, step = 1;
	size_t n = json_array_size(args);
	for (size_t i = 0; i < n; i++)
		if (!json_is_integer(json_array_get(args, i)) &&
		    !json_is_boolean(json_array_get(args, i))) {
			eval_fail(ev, "'%s' object cannot be interpreted as an integer",
			          py_type_name(json_array_get(args, i)));
			return NULL;
		}
	if (n == 1) {
		b = num_ll(json_array_get(args, 0));
	} else if (n >= 2) {
		a = num_ll(json_array_get(args, 0));
		b = num_ll(json_array_get(args, 1));
		if (n >= 3)
			step = num_ll(json_array_get(args, 2));
	} else {
		eval_fail(ev, "range expected at least 1 argument, got 0");
		return NULL;
	}
	if (step == 0) {
		eval_fail(ev, "range() arg 3 must not be zero");
		return NULL;
	}
	long long count = step > 0 ? (b > a ? (b - a + step - 1) / step : 0)
	                           : (a > b ? (a - b - step - 1) / -step : 0);
	if (count > 100000) {
		eval_fail(
		    ev, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
		return NULL;
	}
	json_t *out = json_array();
	for (long long i = 0; i < count; i++)
		json_array_append_new(out, json_integer(a + i * step));
	return out;
}

static json_t *g_dict(struct eval *ev, json_t *args, json_t *kw)
{
	json_t *out = json_object();
	json_t *a0 = json_array_get(args, 0);
	if (json_is_object(a0)) {
		json_object_update(out, a0);
	} else if (json_is_array(a0)) {
		size_t i;
		json_t *pair;
		json_array_foreach (a0, i, pair) {
			if (!json_is_array(pair) || json_array_size(pair) != 2) {
				json_decref(out);
				eval_fail(
				    ev, "dictionary update sequence element #%zu has wrong length",
				    i);
				return NULL;
			}
			char *k = py_str_dup(json_array_get(pair, 0));
			json_object_set(out, k, json_array_get(pair, 1));
			free(k);
		}
	}
	json_object_update(out, kw);
	return out;
}

/* Ansible's now(utc=False, fmt=None): with fmt a strftime string; without,
 * the text of the datetime (drover has no datetime objects). */
static json_t *g_now(json_t *args, json_t *kw)
{
	int utc = arg_bool(args, kw, 0, "utc", 0);
	const char *fmt = arg_str(args, kw, 1, "fmt", NULL);
	struct timespec ts;
	struct tm tm;
	char out[256];
	clock_gettime(CLOCK_REALTIME, &ts);
	if (utc)
		gmtime_r(&ts.tv_sec, &tm);
	else
		localtime_r(&ts.tv_sec, &tm);
	if (fmt) {
		size_t n = strftime(out, sizeof(out), fmt, &tm);
		return tstr(out, n);
	}
	size_t n = strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out + n, sizeof(out) - n, ".%06ld", ts.tv_nsec / 1000);
	return tstrz(out);
}

json_t *global_call(struct eval *ev, const char *name, json_t *args, json_t *kw, int *found)
{
	*found = 1;
	if (!strcmp(name, "now"))
		return g_now(args, kw);
	if (!strcmp(name, "range")) {
		if (eval_check_defined(ev, args) < 0)
			return NULL;
		return g_range(ev, args);
	}
	if (!strcmp(name, "dict"))
		return eval_check_defined(ev, args) < 0 ? NULL : g_dict(ev, args, kw);
	if (!strcmp(name, "namespace")) {
		json_t *ns = g_dict(ev, args, kw);
		if (ns)
			json_object_set_new(ns, "\x01namespace", json_true());
		return ns;
	}
	if (!strcmp(name, "lookup") || !strcmp(name, "query") || !strcmp(name, "q")) {
		if (eval_check_defined(ev, args) < 0)
			return NULL;
		return lookup_call(ev, args, kw, name[0] != 'l');
	}
	if (!strcmp(name, "undef")) {
		const char *h = json_string_value(json_array_get(args, 0));
		return undef_new("%s", h ? h : "Mandatory variable has not been overridden");
	}
	*found = 0;
	return NULL;
}
