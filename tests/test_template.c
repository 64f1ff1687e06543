/*
 * test_template: the template engine against ansible-core's own answers.
 *
 * data/template/cases.json holds several hundred templates with the result
 * (or error) that ansible-core 2.14's Templar gives for them, computed by
 * tests/gen/template_cases.py. One cmocka test runs them all and names
 * every case that differs. The other tests cover what the case file cannot
 * express: positions in errors, !unsafe, tmpl_eval, the omit token, the
 * parse cache under threads, yaml_dump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "template/tmpl.h"
#include "util/buf.h"
#include "util/err.h"
#include "yaml/yaml.h"

static json_t *load_cases(void)
{
	json_error_t je;
	json_t *doc = json_load_file("data/template/cases.json", 0, &je);
	if (!doc)
		fail_msg("cannot load data/template/cases.json: %s (line %d)", je.text, je.line);
	return doc;
}

/* Strict equality: 1 and 1.0 differ, as they do for Ansible's callers. */
static int same(const json_t *a, const json_t *b)
{
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_real(a))
		return json_real_value(a) == json_real_value(b);
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach ((json_t *)a, k, v) {
			json_t *w = json_object_get(b, k);
			if (!w || !same(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

static int run_case(const json_t *defaults, const json_t *c, const char *basedir)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *kind = json_string_value(json_object_get(c, "kind"));
	const char *text = json_string_value(json_object_get(c, "template"));
	json_t *vars = json_deep_copy(defaults);
	json_object_update(vars, json_object_get(c, "vars"));
	int file = !strcmp(kind, "file");
	struct tmpl_ctx ctx = {
	    vars, "cases.json", 1, 1, basedir, 1, file, json_is_true(json_object_get(c, "lstrip"))};
	struct err e;
	err_init(&e);
	json_t *got = NULL;
	int rc = 0;
	if (!strcmp(kind, "cond")) {
		int res;
		json_t *cond = json_string(text);
		rc = tmpl_cond(cond, &ctx, &res, &e);
		json_decref(cond);
		if (rc == 0)
			got = json_boolean(res);
	} else {
		got = tmpl_render(text, &ctx, &e);
		rc = got ? 0 : -1;
	}
	const json_t *want = json_object_get(c, "result");
	const char *want_err = json_string_value(json_object_get(c, "error"));
	int ok;
	char *gs = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
	if (want_err) {
		ok = rc < 0 && strstr(e.msg, want_err);
		if (!ok)
			printf("FAIL %s\n  want error containing: %s\n  got: %s%s\n", name,
			       want_err, rc < 0 ? "error " : "", rc < 0 ? e.msg : gs);
	} else {
		ok = rc == 0 && same(want, got);
		if (!ok) {
			char *ws = json_dumps(want, JSON_ENCODE_ANY);
			printf("FAIL %s\n  want: %s\n  got:  %s\n", name, ws, rc < 0 ? e.msg : gs);
			free(ws);
		}
	}
	free(gs);
	json_decref(got);
	json_decref(vars);
	return ok;
}

static void test_ansible_cases(void **state)
{
	(void)state;
	json_t *doc = load_cases();
	const json_t *defaults = json_object_get(doc, "vars");
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(doc, "env"), k, v)
		setenv(k, json_string_value(v), 1);
	unsetenv("DROVER_UNSET_ENV");
	const char *basedir = json_string_value(json_object_get(doc, "basedir"));
	json_t *cases = json_object_get(doc, "cases");
	size_t i, failed = 0;
	json_t *c;
	json_array_foreach (cases, i, c)
		failed += !run_case(defaults, c, basedir);
	printf("%zu of %zu template cases match ansible-core\n", json_array_size(cases) - failed,
	       json_array_size(cases));
	json_decref(doc);
	assert_int_equal(failed, 0);
}

static json_t *vars_of(const char *json)
{
	json_error_t je;
	json_t *v = json_loads(json, 0, &je);
	assert_non_null(v);
	return v;
}

static void test_error_positions(void **state)
{
	(void)state;
	json_t *vars = vars_of("{\"x\": 1}");
	struct tmpl_ctx ctx = {vars, "play.yml", 12, 9, NULL, 1, 0, 0};
	struct err e;
	char out[4096];

	err_init(&e);
	assert_null(tmpl_render("port: {{ nope }}", &ctx, &e));
	assert_int_equal(e.code, ERR_UNDEF);
	assert_string_equal(e.file, "play.yml");
	assert_int_equal(e.line, 12);
	assert_int_equal(e.col, 9 + 9); /* the name starts 9 bytes into the text */
	assert_non_null(
	    strstr(err_format(&e, out, sizeof(out)), "play.yml:12:18: 'nope' is undefined"));

	err_init(&e);
	assert_null(tmpl_render("a\nb {{ x | nosuch }}", &ctx, &e));
	assert_int_equal(e.line, 13);
	assert_int_equal(e.col, 10); /* the filter's name */
	assert_non_null(strstr(e.msg, "nosuch"));

	err_init(&e);
	assert_null(tmpl_render("{% if x %}\n{{ x + }}\n{% endif %}", &ctx, &e));
	assert_int_equal(e.code, ERR_TMPL);
	assert_int_equal(e.line, 13);
	json_decref(vars);
}

static void test_unsafe_and_values(void **state)
{
	(void)state;
	struct err e;
	json_t *vars = vars_of("{\"x\": 2, \"y\": \"{{ x }}\"}");
	json_t *raw = json_string("{{ x }}");
	yaml_mark_unsafe(raw);
	json_object_set(vars, "raw", raw);
	struct tmpl_ctx ctx = {vars, NULL, 0, 0, NULL, 1, 0, 0};

	err_init(&e);
	json_t *r = tmpl_render("{{ raw }}", &ctx, &e);
	assert_non_null(r);
	assert_string_equal(json_string_value(r), "{{ x }}"); /* never rendered */
	json_decref(r);

	/* a registered result carrying a template is data, never rendered */
	json_t *reg = json_pack("{s:s,s:[s]}", "stdout", "{{ x }}", "lines", "{{ x * 2 }}");
	tmpl_mark_unsafe(reg);
	json_object_set_new(vars, "reg", reg);
	err_init(&e);
	r = tmpl_render("{{ reg.stdout }} {{ reg.lines[0] }}", &ctx, &e);
	assert_non_null(r);
	assert_string_equal(json_string_value(r), "{{ x }} {{ x * 2 }}");
	json_decref(r);

	json_t *tree =
	    json_pack("{s:O,s:[s,i],s:s}", "u", raw, "l", "{{ x * 3 }}", 7, "{{ 'k' }}", "v");
	err_init(&e);
	r = tmpl_render_value(tree, &ctx, &e);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "u")), "{{ x }}");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "l"), 0)), "6");
	assert_string_equal(json_string_value(json_object_get(r, "k")), "v");
	json_decref(r);
	json_decref(tree);

	err_init(&e);
	r = tmpl_eval("[x, y | int, omit]", &ctx, &e);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_array_get(r, 0)), 2);
	assert_int_equal(json_integer_value(json_array_get(r, 1)), 2);
	assert_string_equal(json_string_value(json_array_get(r, 2)), TMPL_OMIT);
	json_decref(r);

	err_init(&e);
	assert_null(tmpl_eval("missing.attr", &ctx, &e));
	assert_non_null(strstr(e.msg, "'missing' is undefined"));

	json_t *v = json_pack("[b,n,f,s]", 1, 0.5, "it's");
	char *t = tmpl_to_text(v);
	assert_string_equal(t, "[True, None, 0.5, \"it's\"]");
	free(t);
	json_decref(v);
	assert_int_equal(tmpl_has_template("a {{ b"), 1);
	assert_int_equal(tmpl_has_template("a { b } %}"), 0);
	json_t *empty = json_string("");
	assert_int_equal(tmpl_truthy(empty), 0);
	json_decref(empty);
	json_decref(raw);
	json_decref(vars);
}

static void test_cond_forms(void **state)
{
	(void)state;
	json_t *vars = vars_of("{\"x\": 3, \"s\": \"false\"}");
	struct tmpl_ctx ctx = {vars, "t.yml", 4, 3, NULL, 1, 0, 0};
	struct err e;
	int res;
	json_t *c;

	err_init(&e);
	assert_int_equal(tmpl_cond(json_true(), &ctx, &res, &e), 0);
	assert_int_equal(res, 1);
	assert_int_equal(tmpl_cond(json_null(), &ctx, &res, &e), 0); /* no condition: run */
	assert_int_equal(res, 1);
	c = json_pack("[s,s]", "x > 1", "s");
	assert_int_equal(tmpl_cond(c, &ctx, &res, &e), 0);
	assert_int_equal(res, 1); /* the string "false" is true */
	json_decref(c);
	c = json_pack("[s,s]", "x > 1", "x > 5");
	assert_int_equal(tmpl_cond(c, &ctx, &res, &e), 0);
	assert_int_equal(res, 0);
	json_decref(c);
	/* a when: that renders to a/a/a/... thousands long: an error, not a crash */
	c = json_string("{{ 'a/' * 5000 }}a");
	assert_true(tmpl_cond(c, &ctx, &res, &e) < 0);
	assert_non_null(strstr(e.msg, "too complex"));
	json_decref(c);
	err_init(&e);
	c = json_string("undefined_thing");
	assert_true(tmpl_cond(c, &ctx, &res, &e) < 0);
	assert_non_null(strstr(e.msg, "'undefined_thing' is undefined"));
	assert_non_null(strstr(e.msg, "The conditional check 'undefined_thing' failed"));
	json_decref(c);
	json_decref(vars);
}

struct thread_arg {
	const json_t *vars;
	int ok;
};

static void *render_many(void *p)
{
	struct thread_arg *a = p;
	struct tmpl_ctx ctx = {a->vars, NULL, 0, 0, NULL, 1, 0, 0};
	a->ok = 1;
	for (int i = 0; i < 300; i++) {
		struct err e;
		err_init(&e);
		char text[64];
		snprintf(text, sizeof(text), "{%% for i in l %%}{{ i * %d }},{%% endfor %%}",
		         i % 7);
		json_t *r = tmpl_render(text, &ctx, &e);
		char want[64];
		int k = i % 7;
		snprintf(want, sizeof(want), "%d,%d,%d,", k, 2 * k, 3 * k);
		if (!r || strcmp(json_string_value(r), want))
			a->ok = 0;
		json_decref(r);
	}
	return NULL;
}

static void test_threads_share_cache(void **state)
{
	(void)state;
	json_t *vars = vars_of("{\"l\": [1, 2, 3]}");
	pthread_t th[4];
	struct thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i].vars = vars;
		pthread_create(&th[i], NULL, render_many, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(args[i].ok);
	}
	json_decref(vars);
}

static void test_yaml_dump(void **state)
{
	(void)state;
	json_t *v = vars_of("{\"b\": [1, {\"x\": \"yes\", \"e\": []}], \"a\": {\"s\": \"a: b\", "
	                    "\"m\": \"l1\\nl2\", \"n\": null}}");
	struct buf b = BUF_INIT;
	yaml_dump(v, 2, &b);
	assert_string_equal(b.s,
	                    "a:\n  m: 'l1\n\n    l2'\n  n: null\n  s: 'a: b'\nb:\n- 1\n- e: []\n"
	                    "  x: 'yes'\n");
	buf_reset(&b);
	yaml_dump(v, 4, &b);
	assert_string_equal(b.s,
	                    "a:\n    m: 'l1\n\n        l2'\n    n: null\n    s: 'a: b'\nb:\n- 1\n"
	                    "-   e: []\n    x: 'yes'\n");
	buf_release(&b);
	json_decref(v);

	/* a shared list or dict gets an anchor, as PyYAML's serializer does */
	json_t *d = json_pack("{s:[i]}", "x", 1), *l = json_pack("[i,i]", 1, 2), *e = json_object();
	v = json_pack("{s:{s:O,s:i},s:{s:O},s:[O,O],s:{s:O},s:O,s:[{s:O},{s:O}],s:O,s:O}", "a",
	              "env", d, "v", 1, "b", "env", d, "c", d, d, "e", "l", l, "f", l, "g", "m", l,
	              "m", d, "h", e, "i", e);
	yaml_dump(v, 2, &b);
	assert_string_equal(b.s,
	                    "a:\n  env: &id001\n    x:\n    - 1\n  v: 1\nb:\n  env: *id001\nc:\n"
	                    "- *id001\n- *id001\ne:\n  l: &id002\n  - 1\n  - 2\nf: *id002\ng:\n"
	                    "- m: *id002\n- m: *id001\nh: &id003 {}\ni: *id003\n");
	buf_release(&b);
	json_decref(v);
	json_decref(d);
	json_decref(l);
	json_decref(e);
}

/* Inputs the fuzzer found; each once crashed, leaked or hung. */
static void test_fuzz_regressions(void **state)
{
	(void)state;
	json_t *vars = vars_of("{\"s\": \"hello\", \"l\": [1, 2, 3]}");
	struct tmpl_ctx ctx = {vars, NULL, 0, 0, NULL, 1, 0, 0};
	struct err e;
	static const char *const errors[][2] = {
	    {"{{ \x91 }}", "not valid UTF-8"},
	    {"{{ s.replace(\"l\",D\"\") }}", "expected token ','"},
	    {"{{ 'ab' * 99999999999 }}", "too large"},
	    {"{{ '%99999999s' % s }}", "not all arguments converted"},
	    {"{{ [1] is contains < 2 }}", "needs the item"},
	    {"{% set l = [] %}{{ l.append(l) }}", "cannot hold itself"},
	    {"{{ ('x' * 4000) | join('-' * 900) | join('-' * 900) }}", "too large"},
	    {"{{ ('x' * 9000) | replace('', '-' * 3000) }}", "too large"},
	    {"{% set ns = namespace(x=[]) %}{% for i in range(999) %}{% set ns.x = [ns.x] %}"
	     "{% endfor %}",
	     "nest over 64 levels"},
	    {"{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "recursive loop"},
	    {"{{ 'a' | regex_findall('(x ={0,??+++++++~???6])') }}", "multiple repeat"},
	    {"{{ 'a' | regex_search('*a') }}", "nothing to repeat"},
	    {"{{ range(55555555555555555555555555555555) }}",
	     "cannot be interpreted as an integer"},
	};
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		err_init(&e);
		assert_null(tmpl_render(errors[i][0], &ctx, &e));
		assert_non_null(strstr(e.msg, errors[i][1]));
	}
	static const char *const fine[][2] = {
	    {"{{ (() * 999999999993) | length }}", "0"},
	    {"{{ 1 ** 99999999999 }}", "1"},
	    {"{{ 'x' | indent(99999999999999999999) | length }}", "1"},
	    {"{{ 9223372036854775807 + 1 }}", "9.223372036854776e+18"},
	    {"{{ '' }}", ""},
	    {"{{ l.append(4) }}{{ l | length }}", "4"},
	    {"{{ l | length }}", "3"}, /* the caller's list is unchanged */
	    {"{{ now(fmt='%Y') | length }}", "4"},
	    {"{{ '\xc3\xa9' | b64encode | b64decode }}", "\xc3\xa9"},
	};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		err_init(&e);
		json_t *r = tmpl_render(fine[i][0], &ctx, &e);
		assert_non_null(r);
		assert_string_equal(json_string_value(r), fine[i][1]);
		json_decref(r);
	}
	json_decref(vars);
}

/* Run the drover binary; stdout into out, exit code returned. */
static int run_drover(const char *args, char *out, size_t size)
{
	const char *bin = getenv("DROVER_BIN");
	if (!bin)
		fail_msg("DROVER_BIN is not set (ctest sets it)");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s' template %s 2>&1", bin, args);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
	(void)state;
	char out[4096];
	assert_int_equal(run_drover("-e x=5 -e '{\"l\": [1, \"a\"]}' '{{ x | int + 1 }} {{ l }}'",
	                            out, sizeof(out)),
	                 0);
	assert_string_equal(out, "6 [1, 'a']\n");
	assert_int_equal(
	    run_drover("--json -e '{\"l\": [1, \"a\"]}' '{{ l + [none] }}'", out, sizeof(out)), 0);
	assert_string_equal(out, "[1,\"a\",null]\n");
	assert_int_equal(
	    run_drover("--when -e x=5 'x | int > 3 and x is defined'", out, sizeof(out)), 0);
	assert_string_equal(out, "True\n");
	assert_int_equal(run_drover("-e @data/template/extra.yml @data/template/templates/cfg.j2",
	                            out, sizeof(out)),
	                 0);
	assert_string_equal(out, "server: k3s-1:6443\n- alice\n- bob\n");
	assert_int_equal(
	    run_drover("-i data/template/hosts.ini --host web2 "
	               "'{{ inventory_hostname }} {{ port }} {{ groups.web | length }}'",
	               out, sizeof(out)),
	    0);
	assert_string_equal(out, "web2 8080 2\n");
	assert_int_equal(run_drover("'ok {{ missing.x }}'", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "<command line>:1:7: 'missing' is undefined"));
	assert_int_equal(run_drover("'{% if %}'", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "template error while templating string"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ansible_cases),
	    cmocka_unit_test(test_error_positions),
	    cmocka_unit_test(test_unsafe_and_values),
	    cmocka_unit_test(test_cond_forms),
	    cmocka_unit_test(test_threads_share_cache),
	    cmocka_unit_test(test_yaml_dump),
	    cmocka_unit_test(test_cli),
	    cmocka_unit_test(test_fuzz_regressions),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	srcpos_free_all();
	return rc;
}
