/*
 * Variables: every layer beats the ones below it in Ansible's order, facts
 * appear as ansible_facts.x and ansible_x, -e parsing, omit, and the
 * precedence a real playbook run shows (role defaults < inventory < play <
 * vars_files < role vars < block < task < set_fact < extra vars).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vars/vars.h"
#include "yaml/yaml.h"

static void test_each_layer_beats_lower(void **state)
{
	(void)state;
	/* for every pair lo < hi, a key set in both comes from hi (ansible_k: a
	 * fact named so keeps its name) */
	for (int lo = 0; lo < VL_N; lo++) {
		for (int hi = lo + 1; hi < VL_N; hi++) {
			struct vars_stack s = {0};
			json_t *a = json_pack("{ss}", "ansible_k", "lo");
			json_t *b = json_pack("{ss}", "ansible_k", "hi");
			s.layer[lo] = a;
			s.layer[hi] = b;
			json_t *m = vars_merge(&s);
			const char *got = json_string_value(json_object_get(m, "ansible_k"));
			if (!got || strcmp(got, "hi"))
				fail_msg("layer %d should beat layer %d", hi, lo);
			json_decref(m);
			json_decref(a);
			json_decref(b);
		}
	}
}

static void test_facts_injected(void **state)
{
	(void)state;
	struct vars_stack s = {0};
	json_t *facts = json_pack("{ss si}", "os_family", "Debian", "ansible_processor_vcpus", 4);
	json_t *inv = json_pack("{ss}", "ansible_os_family", "from inventory");
	s.layer[VL_FACTS] = facts;
	s.layer[VL_INVENTORY] = inv;
	json_t *m = vars_merge(&s);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(m, "ansible_facts"), "os_family")),
	    "Debian");
	/* facts beat inventory vars, as in Ansible */
	assert_string_equal(json_string_value(json_object_get(m, "ansible_os_family")), "Debian");
	assert_int_equal(json_integer_value(json_object_get(m, "ansible_processor_vcpus")), 4);
	json_decref(m);
	json_decref(facts);
	json_decref(inv);
}

static void test_extra_vars(void **state)
{
	(void)state;
	struct err e;
	char path[] = "/tmp/drover-test-vars-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *y = "from_file: 1\nlist: [a, b]\n";
	assert_int_equal(write(fd, y, strlen(y)), (int)strlen(y));
	close(fd);
	char at[64];
	snprintf(at, sizeof(at), "@%s", path);
	char *vals[] = {"a=1 b='two words'", "{\"b\": 2, \"c\": [1]}", "{d: yes}", at, "a=last"};
	err_init(&e);
	json_t *v = vars_parse_extra(vals, 5, &e);
	unlink(path);
	assert_non_null(v);
	/* k=v values stay strings; JSON/YAML keeps types; later -e wins */
	assert_string_equal(json_string_value(json_object_get(v, "a")), "last");
	assert_int_equal(json_integer_value(json_object_get(v, "b")), 2);
	assert_true(json_is_array(json_object_get(v, "c")));
	assert_true(json_is_true(json_object_get(v, "d")));
	assert_int_equal(json_integer_value(json_object_get(v, "from_file")), 1);
	json_decref(v);

	char *bad[] = {"just words"};
	err_init(&e);
	assert_null(vars_parse_extra(bad, 1, &e));
	assert_non_null(strstr(e.msg, "extra vars must be k=v pairs"));
	char *missing[] = {"@/nonexistent/drover.yml"};
	err_init(&e);
	assert_null(vars_parse_extra(missing, 1, &e));
	assert_int_not_equal(e.code, 0);
	char *list[] = {"[1, 2]"};
	err_init(&e);
	assert_null(vars_parse_extra(list, 1, &e));
	assert_non_null(strstr(e.msg, "must be a dict"));
}

static void test_omit(void **state)
{
	(void)state;
	json_t *a = json_pack("{ss ss s{ss ss}}", "keep", "x", "drop", vars_omit, "nested", "keep",
	                      "y", "drop", vars_omit);
	vars_strip_omit(a);
	assert_non_null(json_object_get(a, "keep"));
	assert_null(json_object_get(a, "drop"));
	assert_null(json_object_get(json_object_get(a, "nested"), "drop"));
	assert_non_null(json_object_get(json_object_get(a, "nested"), "keep"));
	json_decref(a);
}

static void test_version(void **state)
{
	(void)state;
	json_t *v = vars_ansible_version();
	assert_string_equal(json_string_value(json_object_get(v, "full")), "2.14.18");
	assert_int_equal(json_integer_value(json_object_get(v, "major")), 2);
	assert_int_equal(json_integer_value(json_object_get(v, "minor")), 14);
	assert_int_equal(json_integer_value(json_object_get(v, "revision")), 18);
	json_decref(v);
}

/* The whole chain through a real run: playbooks/precedence.yml prints the
 * winning layer for each variable; compare with what Ansible prints. */
static void test_precedence_run(void **state)
{
	(void)state;
	const char *bin = getenv("DROVER_BIN");
	if (!bin)
		fail_msg("DROVER_BIN is not set");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "cd playbooks/precedence && NO_COLOR=1 %s run -i hosts -e x_extra=extra "
	         "site.yml 2>&1",
	         bin);
	FILE *p = popen(cmd, "r");
	char line[1024], got[4096] = "";
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "\"msg\""))
			strncat(got, line, sizeof(got) - strlen(got) - 1);
	assert_int_equal(pclose(p), 0);
	assert_string_equal(got, "    \"msg\": \"role_defaults inventory play vars_files role_vars "
	                         "block task fact extra\"\n"
	                         "    \"msg\": \"hostvar groupvar_child child\"\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_layer_beats_lower),
	    cmocka_unit_test(test_facts_injected),
	    cmocka_unit_test(test_extra_vars),
	    cmocka_unit_test(test_omit),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_precedence_run),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	srcpos_free_all();
	return rc;
}
