/*
 * ast.literal_eval for the text Ansible's concat tries to turn back into a
 * value. The Jinja expression parser reads Python literals too; anything
 * other than constants, lists, tuples, dicts and a unary minus on a number
 * is not a literal. Ansible maps the JSON names true/false/null as well.
 */
#include "template/tmpl_int.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

static json_t *to_value(const struct node *n)
{
	json_t *r = NULL;
	switch (n->kind) {
	case N_CONST:
		return json_incref(n->val);
	case N_NAME:
		return strcmp(n->name, "null") ? NULL : json_null();
	case N_NEG:
	case N_POS:
		r = to_value(n->a);
		if (!r || !json_is_number(r)) {
			json_decref(r);
			return NULL;
		}
		if (n->kind == N_POS)
			return r;
		json_t *neg = json_is_integer(r) ? json_integer(-json_integer_value(r))
		                                 : json_real(-json_real_value(r));
		json_decref(r);
		return neg;
	case N_LIST:
	case N_TUPLE:
		r = json_array();
		for (int i = 0; i < n->nkids; i++) {
			json_t *v = to_value(n->kids[i]);
			if (!v)
				goto fail;
			json_array_append_new(r, v);
		}
		return r;
	case N_DICT:
		r = json_object();
		for (int i = 0; i + 1 < n->nkids; i += 2) {
			json_t *k = to_value(n->kids[i]), *v;
			if (!k || json_is_array(k) || json_is_object(k)) {
				json_decref(k);
				goto fail;
			}
			v = to_value(n->kids[i + 1]);
			if (!v) {
				json_decref(k);
				goto fail;
			}
			char *ks = py_str_dup(k);
			json_object_set_new(r, ks, v);
			free(ks);
			json_decref(k);
		}
		return r;
	default:
		return NULL;
	}
fail:
	json_decref(r);
	return NULL;
}

json_t *pylit_parse(const char *text)
{
	/* most text starting with '[' (an INI section, a log line) is no
	 * literal: a list or dict must also end with its bracket */
	size_t len = strlen(text);
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\t' ||
	               text[len - 1] == '\r'))
		len--;
	if (len && text[0] == '[' && text[len - 1] != ']')
		return NULL;
	if (len && text[0] == '{' && text[len - 1] != '}')
		return NULL;
	char msg[256];
	int errpos;
	struct node *n = parse_expression(text, &errpos, msg, sizeof(msg));
	if (!n)
		return NULL;
	json_t *v = to_value(n);
	node_free(n);
	return v;
}
