/*
 * The YAML loader reads what Ansible reads: PyYAML's YAML 1.1 typing of
 * plain scalars (expected values below were taken from PyYAML's
 * safe_load), anchors and merge keys, block scalars, !unsafe and !vault,
 * duplicate keys, and errors and positions that name file:line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"
#include "yaml/yaml.h"

static json_t *load(const char *text, struct err *e)
{
	err_init(e);
	return yaml_load_str(text, strlen(text), "t.yml", e);
}

/* "k: TEXT" -> kind ('b' bool, 'n' null, 'i' int, 'f' float, 's' string) and value. */
static void check_scalar(const char *text, char kind, const char *want)
{
	struct err e;
	char *doc = xasprintf("k: %s\n", text);
	json_t *root = load(doc, &e);
	if (!root)
		fail_msg("'%s': %s", text, e.msg);
	json_t *v = json_object_get(root, "k");
	int ok = 0;
	switch (kind) {
	case 'b':
		ok = json_is_boolean(v) && json_is_true(v) == !strcmp(want, "true");
		break;
	case 'n':
		ok = json_is_null(v);
		break;
	case 'i':
		ok = json_is_integer(v) && json_integer_value(v) == atoll(want);
		break;
	case 'f':
		ok = json_is_real(v) && fabs(json_real_value(v) - atof(want)) < 1e-9;
		break;
	case 's':
		ok = json_is_string(v) && !strcmp(json_string_value(v), want);
		break;
	}
	if (!ok) {
		char *got = json_dumps(v, JSON_ENCODE_ANY);
		fail_msg("'%s': got %s, want %c %s", text, got, kind, want);
	}
	json_decref(root);
	free(doc);
}

static void test_scalars(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		char kind;
		const char *want;
	} cases[] = {
	    {"yes", 'b', "true"},
	    {"Yes", 'b', "true"},
	    {"YES", 'b', "true"},
	    {"yEs", 's', "yEs"},
	    {"no", 'b', "false"},
	    {"No", 'b', "false"},
	    {"NO", 'b', "false"},
	    {"true", 'b', "true"},
	    {"True", 'b', "true"},
	    {"TRUE", 'b', "true"},
	    {"false", 'b', "false"},
	    {"on", 'b', "true"},
	    {"On", 'b', "true"},
	    {"ON", 'b', "true"},
	    {"off", 'b', "false"},
	    {"OFF", 'b', "false"},
	    {"y", 's', "y"},
	    {"n", 's', "n"},
	    {"~", 'n', ""},
	    {"null", 'n', ""},
	    {"Null", 'n', ""},
	    {"NULL", 'n', ""},
	    {"", 'n', ""},
	    {"0644", 'i', "420"},
	    {"0o644", 's', "0o644"},
	    {"0x1F", 'i', "31"},
	    {"0b101", 'i', "5"},
	    {"1_000", 'i', "1000"},
	    {"1:30", 'i', "90"},
	    {"-1:30", 'i', "-90"},
	    /* beyond a 64-bit int: kept as text, never an undefined cast */
	    {"488888800020632629:0", 's', "488888800020632629:0"},
	    {"1.5", 'f', "1.5"},
	    {"1e3", 's', "1e3"},
	    {"1.0e+3", 'f', "1000"},
	    {"1.0e3", 's', "1.0e3"},
	    {".5", 'f', "0.5"},
	    {"-.5", 's', "-.5"},
	    {"+12", 'i', "12"},
	    {"-0", 'i', "0"},
	    {"00", 'i', "0"},
	    {"09", 's', "09"},
	    {"1.", 'f', "1"},
	    {"'yes'", 's', "yes"},
	    {"\"1\"", 's', "1"},
	    {"1.2.3", 's', "1.2.3"},
	    {"0.1_5", 'f', "0.15"},
	    {"6.8523015e+5", 'f', "685230.15"},
	    {"v1.30", 's', "v1.30"},
	    {"!!str 12", 's', "12"},
	    {"!!int \"12\"", 'i', "12"},
	    {"'0644'", 's', "0644"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_scalar(cases[i].text, cases[i].kind, cases[i].want);
}

/* Plain keys are typed as values are; Ansible's JSON writes them back as
 * Python's json does. Quoted keys stay as written. */
static void test_keys(void **state)
{
	(void)state;
	struct err e;
	json_t *r =
	    load("{yes: 1, No: 2, ~: 3, 0x1F: 4, 1_000: 5, 2.5: 6, 'yes': 7, abc: 8, 0o7: 9}", &e);
	assert_non_null(r);
	char *s = json_dumps(r, JSON_COMPACT);
	assert_string_equal(s, "{\"true\":1,\"false\":2,\"null\":3,\"31\":4,\"1000\":5,"
	                       "\"2.5\":6,\"yes\":7,\"abc\":8,\"0o7\":9}");
	free(s);
	json_decref(r);
}

static void test_anchors_and_merge(void **state)
{
	(void)state;
	struct err e;
	json_t *r = load("base: &b {a: 1, b: 2}\n"
	                 "other: &o {b: 20, c: 30}\n"
	                 "alias: *b\n"
	                 "m:\n  <<: [*b, *o]\n  b: explicit\n  d: 4\n"
	                 "n:\n  d: first\n  <<: *o\n",
	                 &e);
	assert_non_null(r);
	/* an alias is the anchored value itself */
	assert_ptr_equal(json_object_get(r, "alias"), json_object_get(r, "base"));
	json_t *m = json_object_get(r, "m");
	assert_string_equal(json_string_value(json_object_get(m, "b")), "explicit");
	assert_int_equal(json_integer_value(json_object_get(m, "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(m, "c")), 30);
	assert_int_equal(json_object_size(m), 4);
	json_t *n = json_object_get(r, "n");
	assert_string_equal(json_string_value(json_object_get(n, "d")), "first");
	assert_int_equal(json_integer_value(json_object_get(n, "b")), 20);
	json_decref(r);
	/* key order as PyYAML builds the dict: merged pairs (a list of
	 * mappings last to first), then the mapping's own; values: explicit
	 * keys win, then earlier mappings in the list */
	r = load("base: &b {a: 1, b: 2}\no: &o {z: 9, a: 7}\n"
	         "m:\n  c: 3\n  <<: [*b, *o]\n  b: 20\n  d: 4\n"
	         "empty:\n  <<: []\n  k: v\n",
	         &e);
	assert_non_null(r);
	char *order = json_dumps(json_object_get(r, "m"), JSON_COMPACT);
	assert_string_equal(order, "{\"z\":9,\"a\":1,\"b\":20,\"c\":3,\"d\":4}");
	free(order);
	struct srcpos p;
	assert_int_equal(srcpos_key(json_object_get(r, "m"), "d", &p), 0);
	assert_int_equal(p.line, 7);
	assert_int_equal(srcpos_key(json_object_get(r, "m"), "z", &p), 0);
	assert_int_equal(p.line, 2); /* where the merged value was written */
	json_decref(r);
	assert_null(load("a: &x [1]\nb:\n  <<: *x\n", &e));
	assert_non_null(strstr(e.msg, "merge key"));
	assert_int_equal(e.line, 3);
	assert_null(load("a: *nowhere\n", &e));
	assert_non_null(strstr(e.msg, "undefined alias"));
	assert_int_equal(e.line, 1);
}

static void test_block_scalars(void **state)
{
	(void)state;
	struct err e;
	json_t *r = load("lit: |\n  a\n  b\n\n"
	                 "fold: >\n  a\n  b\n\n  c\n"
	                 "strip: |-\n  a\n  b\n"
	                 "fstrip: >-\n  a\n  b\n"
	                 "keep: |+\n  a\n\n"
	                 "end: 1\n",
	                 &e);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "lit")), "a\nb\n");
	assert_string_equal(json_string_value(json_object_get(r, "fold")), "a b\nc\n");
	assert_string_equal(json_string_value(json_object_get(r, "strip")), "a\nb");
	assert_string_equal(json_string_value(json_object_get(r, "fstrip")), "a b");
	assert_string_equal(json_string_value(json_object_get(r, "keep")), "a\n\n");
	json_decref(r);
}

static void test_unsafe_and_vault(void **state)
{
	(void)state;
	struct err e;
	json_t *r = load("a: !unsafe '{{ not_templated }}'\nb: '{{ templated }}'\n", &e);
	assert_non_null(r);
	assert_true(yaml_is_unsafe(json_object_get(r, "a")));
	assert_false(yaml_is_unsafe(json_object_get(r, "b")));
	assert_string_equal(json_string_value(json_object_get(r, "a")), "{{ not_templated }}");
	json_decref(r);
	assert_null(load("x: 1\nsecret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n", &e));
	assert_string_equal(e.file, "t.yml");
	assert_int_equal(e.line, 2);
	assert_non_null(strstr(e.msg, "vault"));
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	struct err e;
	int before = log_warn_count();
	json_t *r = load("a: 1\nb: 2\na: 3\n", &e);
	assert_non_null(r);
	assert_int_equal(log_warn_count(), before + 1);
	assert_int_equal(json_integer_value(json_object_get(r, "a")), 3);
	json_decref(r);
}

static void test_errors(void **state)
{
	(void)state;
	struct err e;
	assert_null(load("a: 1\nb: [1, 2\nc: 3\n", &e));
	assert_int_equal(e.code, ERR_PARSE);
	assert_string_equal(e.file, "t.yml");
	assert_true(e.line >= 2);
	assert_true(e.col >= 1);
	assert_non_null(strstr(e.msg, "YAML syntax error"));
	assert_null(load("a: 1\n  b: 2\n", &e));
	assert_int_equal(e.line, 2);
	assert_int_equal(e.col, 4);
	assert_null(load("a: 1\n---\nb: 2\n", &e));
	assert_int_equal(e.line, 2);
	assert_non_null(strstr(e.msg, "single document"));
	assert_null(load("? [a, b]\n: 1\n", &e));
	assert_non_null(strstr(e.msg, "mapping key"));
	err_init(&e);
	assert_null(yaml_load_file("/nonexistent/x.yml", &e));
	assert_int_equal(e.code, ERR_IO);
	assert_string_equal(e.file, "/nonexistent/x.yml");
	/* an empty document is null, not an error */
	json_t *r = load("", &e);
	assert_true(json_is_null(r));
	json_decref(r);
}

static void test_positions(void **state)
{
	(void)state;
	struct err e;
	json_t *r =
	    load("# comment\nplay:\n  - name: first\n    flag: yes\n  - name: second\n", &e);
	assert_non_null(r);
	json_t *list = json_object_get(r, "play");
	struct srcpos p;
	assert_int_equal(srcpos_get(list, &p), 0);
	assert_string_equal(p.file, "t.yml");
	assert_int_equal(p.line, 3);
	assert_int_equal(p.col, 3);
	json_t *second = json_array_get(list, 1);
	assert_int_equal(srcpos_get(json_object_get(second, "name"), &p), 0);
	assert_int_equal(p.line, 5);
	assert_int_equal(p.col, 11);
	/* booleans have no position of their own: their key does */
	json_t *first = json_array_get(list, 0);
	assert_int_equal(srcpos_get(json_object_get(first, "flag"), &p), -1);
	assert_int_equal(srcpos_key(first, "flag", &p), 0);
	assert_int_equal(p.line, 4);
	assert_int_equal(p.col, 5);
	assert_int_equal(srcpos_key(first, "missing", &p), -1);
	json_decref(r);
	/* no name: no positions recorded */
	r = yaml_load_str("a: [1]\n", 7, NULL, &e);
	assert_int_equal(srcpos_get(json_object_get(r, "a"), &p), -1);
	json_decref(r);
}

static int teardown(void **state)
{
	(void)state;
	srcpos_free_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_anchors_and_merge),
	    cmocka_unit_test(test_block_scalars),
	    cmocka_unit_test(test_unsafe_and_vault),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_positions),
	};
	return cmocka_run_group_tests_name("yaml", tests, NULL, teardown);
}
