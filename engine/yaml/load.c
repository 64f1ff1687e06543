/*
 * libyaml events -> Jansson values, resolving plain scalars as PyYAML's
 * YAML 1.1 resolver does (see yaml.h for the rules).
 */
#include "yaml/yaml.h"
#include "util/log.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void srcpos_set_key(json_t *obj, const char *key, const char *file, int line, int col);

struct anchor {
	char *name;
	json_t *val;
};

struct loader {
	yaml_parser_t parser;
	const char *name; /* for messages; NULL: no positions */
	const char *msgname;
	struct anchor *anchors;
	size_t nanchors;
	struct err *e;
	int depth;
};

static json_t *parse_node(struct loader *l, yaml_event_t *ev);

static int next_event(struct loader *l, yaml_event_t *ev)
{
	if (yaml_parser_parse(&l->parser, ev))
		return 0;
	yaml_parser_t *p = &l->parser;
	const yaml_mark_t *m = &p->problem_mark;
	if (p->context)
		err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
		        "YAML syntax error: %s %s (line %d, column %d)", p->problem, p->context,
		        (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	else
		err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
		        "YAML syntax error: %s", p->problem ? p->problem : "malformed document");
	return -1;
}

static int all_match(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

static int oneof(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static const char *const yes_words[] = {"yes",  "Yes", "YES", "true", "True",
                                        "TRUE", "on",  "On",  "ON",   NULL};
static const char *const no_words[] = {"no",    "No",  "NO",  "false", "False",
                                       "FALSE", "off", "Off", "OFF",   NULL};
static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};

/* Copy s without '_' into out (size n); returns 0 if it fits. */
static int strip_us(const char *s, char *out, size_t n)
{
	size_t j = 0;
	for (; *s; s++) {
		if (*s == '_')
			continue;
		if (j + 1 >= n)
			return -1;
		out[j++] = *s;
	}
	out[j] = '\0';
	return 0;
}

/* Sexagesimal "1:30:05" -> base-60 value of the parts; digits checked. */
static int sexagesimal(const char *s, double *out)
{
	double v = 0;
	const char *p = s;
	while (*p) {
		char *end;
		double part = strtod(p, &end);
		if (end == p)
			return -1;
		v = v * 60 + part;
		p = end;
		if (*p == ':')
			p++;
		else if (*p)
			return -1;
	}
	*out = v;
	return 0;
}

static int is_int(const char *s)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!*p)
		return 0;
	if (p[0] == '0' && p[1] == 'b')
		return all_match(p + 2, "01_");
	if (p[0] == '0' && p[1] == 'x')
		return all_match(p + 2, "0123456789abcdefABCDEF_");
	if (p[0] == '0')
		return p[1] == '\0' || all_match(p + 1, "01234567_");
	if (!isdigit((unsigned char)p[0]))
		return 0;
	if (strchr(p, ':')) {
		/* [1-9][0-9_]*(:[0-5]?[0-9])+ */
		const char *c = strchr(p, ':');
		for (const char *q = p; q < c; q++)
			if (!isdigit((unsigned char)*q) && *q != '_')
				return 0;
		while (*c == ':') {
			c++;
			if (!isdigit((unsigned char)c[0]))
				return 0;
			if (isdigit((unsigned char)c[1])) {
				if (c[0] > '5')
					return 0;
				c += 2;
			} else {
				c += 1;
			}
		}
		return *c == '\0';
	}
	return all_match(p, "0123456789_");
}

static json_t *make_int(const char *s)
{
	char buf[128];
	int neg = 0;
	const char *p = s;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strip_us(p, buf, sizeof(buf)))
		return NULL;
	errno = 0;
	long long v;
	if (strchr(buf, ':')) {
		double d;
		/* beyond what a long long holds the cast is undefined: keep the text */
		if (sexagesimal(buf, &d) || d >= 9.2e18)
			return NULL;
		v = (long long)d;
	} else if (buf[0] == '0' && buf[1] == 'b') {
		v = strtoll(buf + 2, NULL, 2);
	} else if (buf[0] == '0' && buf[1] == 'x') {
		v = strtoll(buf + 2, NULL, 16);
	} else if (buf[0] == '0') {
		v = strtoll(buf, NULL, 8);
	} else {
		v = strtoll(buf, NULL, 10);
	}
	if (errno == ERANGE)
		return NULL; /* out of json_int_t range: keep the text */
	return json_integer(neg ? -v : v);
}

static int is_float(const char *s)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF"))
		return 2;
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return 2;
	const char *dot = strchr(p, '.');
	if (!dot)
		return 0;
	if (dot == p) {
		if (p != s) /* "\.[0-9_]+" takes no sign */
			return 0;
	} else if (!isdigit((unsigned char)p[0])) {
		return 0;
	}
	const char *q = p;
	int colon = 0;
	for (; q < dot; q++) {
		if (*q == ':')
			colon = 1;
		else if (!isdigit((unsigned char)*q) && *q != '_')
			return 0;
	}
	q = dot + 1;
	if (dot == p && !(isdigit((unsigned char)*q) || *q == '_'))
		return 0;
	while (isdigit((unsigned char)*q) || *q == '_')
		q++;
	if (*q == 'e' || *q == 'E') {
		if (colon)
			return 0;
		q++;
		if (*q != '-' && *q != '+')
			return 0;
		q++;
		if (!isdigit((unsigned char)*q))
			return 0;
		while (isdigit((unsigned char)*q))
			q++;
	}
	return *q == '\0';
}

static json_t *make_float(const char *s)
{
	char buf[128];
	if (strip_us(s, buf, sizeof(buf)))
		return NULL;
	if (strchr(buf, ':')) {
		int neg = buf[0] == '-';
		double d;
		if (sexagesimal(buf + (buf[0] == '-' || buf[0] == '+'), &d))
			return NULL;
		return json_real(neg ? -d : d);
	}
	char *end;
	double d = strtod(buf, &end);
	if (*end || !isfinite(d))
		return NULL; /* Jansson has no inf/nan: keep the text */
	return json_real(d);
}

/* PyYAML's implicit resolver for a plain scalar. */
static json_t *resolve_plain(const char *s, size_t len)
{
	if (strlen(s) != len) /* embedded NUL: only a string can hold it */
		return json_stringn(s, len);
	if (oneof(s, null_words))
		return json_null();
	if (oneof(s, yes_words))
		return json_true();
	if (oneof(s, no_words))
		return json_false();
	json_t *v = NULL;
	if (is_int(s))
		v = make_int(s);
	else if (is_float(s))
		v = make_float(s);
	return v ? v : json_stringn(s, len);
}

static json_t *resolve_tagged(struct loader *l, const char *tag, const char *s, size_t len,
                              const yaml_mark_t *m)
{
	if (!strcmp(tag, "!unsafe")) {
		json_t *v = json_stringn(s, len);
		yaml_mark_unsafe(v);
		return v;
	}
	if (!strcmp(tag, "!vault") || !strcmp(tag, "!vault-encrypted")) {
		err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
		        "vault-encrypted values are not supported yet: decrypt this value "
		        "(ansible-vault decrypt) or pass it with -e");
		return NULL;
	}
	if (!strcmp(tag, "tag:yaml.org,2002:str"))
		return json_stringn(s, len);
	json_t *v = resolve_plain(s, len);
	if (!strcmp(tag, "tag:yaml.org,2002:int") && !json_is_integer(v)) {
		json_decref(v);
		v = NULL;
	} else if (!strcmp(tag, "tag:yaml.org,2002:float") && json_is_integer(v)) {
		json_t *r = json_real((double)json_integer_value(v));
		json_decref(v);
		v = r;
	} else if (!strcmp(tag, "tag:yaml.org,2002:bool") && !json_is_boolean(v)) {
		json_decref(v);
		v = NULL;
	}
	if (!v)
		err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
		        "value '%.*s' does not fit its tag %s", (int)len, s, tag);
	return v;
}

static void remember(struct loader *l, const yaml_char_t *anchor, json_t *v)
{
	if (!anchor)
		return;
	for (size_t i = 0; i < l->nanchors; i++) {
		if (!strcmp(l->anchors[i].name, (const char *)anchor)) {
			json_decref(l->anchors[i].val);
			l->anchors[i].val = json_incref(v);
			return;
		}
	}
	l->anchors = xrealloc(l->anchors, (l->nanchors + 1) * sizeof(*l->anchors));
	l->anchors[l->nanchors].name = xstrdup((const char *)anchor);
	l->anchors[l->nanchors].val = json_incref(v);
	l->nanchors++;
}

static void mark(struct loader *l, json_t *v, const yaml_mark_t *m)
{
	if (l->name && v)
		srcpos_set(v, l->name, (int)m->line + 1, (int)m->column + 1);
}

static json_t *parse_scalar(struct loader *l, yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	json_t *v;
	if (tag && strcmp(tag, "!"))
		v = resolve_tagged(l, tag, s, len, &ev->start_mark);
	else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag)
		v = resolve_plain(s, len);
	else
		v = json_stringn(s, len);
	if (!v)
		return NULL;
	mark(l, v, &ev->start_mark);
	remember(l, ev->data.scalar.anchor, v);
	return v;
}

static json_t *parse_sequence(struct loader *l, yaml_event_t *start)
{
	json_t *arr = json_array();
	mark(l, arr, &start->start_mark);
	remember(l, start->data.sequence_start.anchor, arr);
	for (;;) {
		yaml_event_t ev;
		if (next_event(l, &ev))
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return arr;
		}
		json_t *item = parse_node(l, &ev);
		yaml_event_delete(&ev);
		if (!item)
			goto fail;
		json_array_append_new(arr, item);
	}
fail:
	json_decref(arr);
	return NULL;
}

/* Merge sources in the order PyYAML's flatten_mapping lays down their
 * pairs: each << in turn, a list of mappings from last to first. */
static int merge_sources(struct loader *l, json_t *out, json_t *src, const yaml_mark_t *m)
{
	if (json_is_object(src)) {
		json_array_append(out, src);
		return 0;
	}
	if (!json_is_array(src))
		goto bad;
	for (size_t i = json_array_size(src); i-- > 0;) {
		if (!json_is_object(json_array_get(src, i)))
			goto bad;
		json_array_append(out, json_array_get(src, i));
	}
	return 0;
bad:
	err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
	        "a merge key (<<) needs a mapping or a list of mappings");
	return -1;
}

static void key_pos(struct loader *l, json_t *obj, const char *key, const json_t *from,
                    const char *from_key, const yaml_mark_t *m)
{
	struct srcpos p;
	if (!l->name)
		return;
	if (!srcpos_key(from, from_key, &p))
		srcpos_set_key(obj, key, p.file, p.line, p.col);
	else
		srcpos_set_key(obj, key, l->name, (int)m->line + 1, (int)m->column + 1);
}

/* Rebuild obj as the merged pairs followed by its own, as PyYAML does: a
 * later pair replaces an earlier value but keeps its place (a Python
 * dict), so explicit keys win and merged keys come first. obj keeps its
 * identity, which anchors and positions refer to. */
static void apply_merges(struct loader *l, json_t *obj, const json_t *sources, const yaml_mark_t *m)
{
	json_t *own = json_object(), *pos = json_object();
	const char *k;
	json_t *v;
	struct srcpos p;
	json_object_foreach (obj, k, v) {
		json_object_set(own, k, v);
		if (l->name && !srcpos_key(obj, k, &p))
			json_object_set_new(pos, k, json_pack("[i,i]", p.line, p.col));
	}
	json_object_clear(obj);
	size_t i;
	json_t *src;
	json_array_foreach (sources, i, src) {
		json_object_foreach (src, k, v) {
			json_object_set(obj, k, v);
			key_pos(l, obj, k, src, k, m);
		}
	}
	json_object_foreach (own, k, v) {
		json_object_set(obj, k, v);
		json_t *kp = json_object_get(pos, k);
		if (kp)
			srcpos_set_key(obj, k, l->name,
			               (int)json_integer_value(json_array_get(kp, 0)),
			               (int)json_integer_value(json_array_get(kp, 1)));
	}
	json_decref(own);
	json_decref(pos);
}

/* A mapping key as text. PyYAML types plain keys like values, and Python's
 * JSON writes the bool, null and int keys as true/false/null/decimal: so
 * {yes: 1, 0x1F: 2} is {"true": 1, "31": 2} in Ansible's output too. */
static char *plain_key(const yaml_event_t *kev)
{
	const char *s = (const char *)kev->data.scalar.value;
	if (kev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || kev->data.scalar.tag ||
	    !strcmp(s, "<<"))
		return xstrdup(s);
	json_t *v = resolve_plain(s, kev->data.scalar.length);
	char *key;
	if (json_is_integer(v))
		key = xasprintf("%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v) || json_is_null(v))
		key = xstrdup(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
	else
		key = xstrdup(s);
	json_decref(v);
	return key;
}

static json_t *parse_mapping(struct loader *l, yaml_event_t *start)
{
	json_t *obj = json_object();
	json_t *seen = json_object(); /* explicit keys: name -> true */
	json_t *merges = json_array();
	yaml_mark_t merge_mark = start->start_mark;
	mark(l, obj, &start->start_mark);
	remember(l, start->data.mapping_start.anchor, obj);
	for (;;) {
		yaml_event_t kev, vev;
		if (next_event(l, &kev))
			goto fail;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		yaml_mark_t km = kev.start_mark;
		int is_merge = kev.type == YAML_SCALAR_EVENT &&
		               kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		               !strcmp((const char *)kev.data.scalar.value, "<<");
		char *key = NULL;
		if (kev.type == YAML_SCALAR_EVENT) {
			key = plain_key(&kev);
			if (kev.data.scalar.anchor) {
				json_t *ks = json_string(key);
				remember(l, kev.data.scalar.anchor, ks);
				json_decref(ks);
			}
		} else if (kev.type == YAML_ALIAS_EVENT) {
			json_t *a = parse_node(l, &kev);
			if (!a) {
				yaml_event_delete(&kev);
				goto fail;
			}
			key = xstrdup(json_is_string(a) ? json_string_value(a) : "");
			json_decref(a);
		} else {
			err_set(l->e, ERR_PARSE, l->msgname, (int)km.line + 1, (int)km.column + 1,
			        "a mapping key must be a plain value, not a list or mapping");
			yaml_event_delete(&kev);
			goto fail;
		}
		yaml_event_delete(&kev);
		if (next_event(l, &vev)) {
			free(key);
			goto fail;
		}
		json_t *val = parse_node(l, &vev);
		yaml_event_delete(&vev);
		if (!val) {
			free(key);
			goto fail;
		}
		if (is_merge) {
			merge_mark = km;
			json_array_append_new(merges, val);
			free(key);
			continue;
		}
		if (json_object_get(seen, key))
			log_warn(
			    "While constructing a mapping from %s, line %d, column %d, found a "
			    "duplicate dict key (%s). Using last defined value only.",
			    l->msgname ? l->msgname : "<string>", (int)km.line + 1,
			    (int)km.column + 1, key);
		json_object_set_new(seen, key, json_true());
		json_object_set_new(obj, key, val);
		if (l->name)
			srcpos_set_key(obj, key, l->name, (int)km.line + 1, (int)km.column + 1);
		free(key);
	}
	if (json_array_size(merges)) {
		json_t *sources = json_array();
		size_t i;
		json_t *src;
		int bad = 0;
		json_array_foreach (merges, i, src) {
			bad = bad || merge_sources(l, sources, src, &merge_mark);
		}
		if (!bad)
			apply_merges(l, obj, sources, &merge_mark);
		json_decref(sources);
		if (bad)
			goto fail;
	}
	json_decref(seen);
	json_decref(merges);
	return obj;
fail:
	json_decref(seen);
	json_decref(merges);
	json_decref(obj);
	return NULL;
}

static json_t *parse_node(struct loader *l, yaml_event_t *ev)
{
	json_t *v = NULL;
	const yaml_mark_t *m = &ev->start_mark;
	if (++l->depth > 1000) {
		err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
		        "YAML nesting is deeper than 1000 levels");
		l->depth--;
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = parse_scalar(l, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		v = parse_sequence(l, ev);
		break;
	case YAML_MAPPING_START_EVENT:
		v = parse_mapping(l, ev);
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		for (size_t i = l->nanchors; i-- > 0;)
			if (!strcmp(l->anchors[i].name, name)) {
				v = json_incref(l->anchors[i].val);
				break;
			}
		if (!v)
			err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
			        "found undefined alias '%s'", name);
		break;
	}
	default:
		err_set(l->e, ERR_PARSE, l->msgname, (int)m->line + 1, (int)m->column + 1,
		        "unexpected YAML event %d", ev->type);
	}
	l->depth--;
	return v;
}

static json_t *load(struct loader *l)
{
	yaml_event_t ev;
	json_t *root = NULL;
	int docs = 0;
	for (;;) {
		if (next_event(l, &ev))
			goto fail;
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				err_set(l->e, ERR_PARSE, l->msgname, (int)ev.start_mark.line + 1,
				        (int)ev.start_mark.column + 1,
				        "expected a single document in the stream, found another");
				yaml_event_delete(&ev);
				goto fail;
			}
		} else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_END_EVENT) {
			root = parse_node(l, &ev);
			if (!root) {
				yaml_event_delete(&ev);
				goto fail;
			}
		}
		yaml_event_delete(&ev);
	}
	return root ? root : json_null();
fail:
	json_decref(root);
	return NULL;
}

json_t *yaml_load_str(const char *text, size_t len, const char *name, struct err *e)
{
	struct loader l = {0};
	l.name = name;
	l.msgname = name ? name : "<string>";
	l.e = e;
	yaml_parser_initialize(&l.parser);
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
	json_t *v = load(&l);
	yaml_parser_delete(&l.parser);
	for (size_t i = 0; i < l.nanchors; i++) {
		free(l.anchors[i].name);
		json_decref(l.anchors[i].val);
	}
	free(l.anchors);
	return v;
}

json_t *yaml_load_file(const char *path, struct err *e)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text) {
		err_set(e, ERR_IO, path, 0, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	json_t *v = yaml_load_str(text, len, path, e);
	free(text);
	return v;
}
