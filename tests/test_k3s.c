/*
 * k3s version rules the upgrade relies on: parsing release tags and
 * ordering them (refusing downgrades and minor-version jumps depends on it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "modules/k3s.h"

static void test_parse(void **state)
{
	(void)state;
	struct k3s_version v;
	assert_int_equal(k3s_version_parse("v1.31.4+k3s1", &v), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 31);
	assert_int_equal(v.patch, 4);
	assert_int_equal(v.rev, 1);
	assert_int_equal(v.rc, 0);
	assert_int_equal(k3s_version_parse("1.30.6+k3s2", &v), 0);
	assert_int_equal(v.rev, 2);
	assert_int_equal(k3s_version_parse("v1.32.0-rc2+k3s1", &v), 0);
	assert_int_equal(v.rc, 2);
	assert_int_equal(k3s_version_parse("v1.29.3", &v), 0);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	struct k3s_version v;
	const char *bad[] = {"",
	                     "v",
	                     "latest",
	                     "v1.31",
	                     "v1.31.x+k3s1",
	                     "v1.31.4+k3s",
	                     "v1.31.4+rke2r1",
	                     "v1.31.4+k3s1 ",
	                     "stable",
	                     NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(k3s_version_parse(bad[i], &v), -1);
	assert_int_equal(k3s_version_parse(NULL, &v), -1);
}

static int cmp(const char *a, const char *b)
{
	struct k3s_version x, y;
	assert_int_equal(k3s_version_parse(a, &x), 0);
	assert_int_equal(k3s_version_parse(b, &y), 0);
	int c = k3s_version_cmp(&x, &y);
	return c < 0 ? -1 : c > 0;
}

static void test_order(void **state)
{
	(void)state;
	assert_int_equal(cmp("v1.30.6+k3s1", "v1.31.4+k3s1"), -1);
	assert_int_equal(cmp("v1.31.4+k3s1", "v1.31.4+k3s1"), 0);
	assert_int_equal(cmp("v1.31.4+k3s2", "v1.31.4+k3s1"), 1);
	assert_int_equal(cmp("v1.31.10+k3s1", "v1.31.9+k3s1"), 1); /* numeric, not text */
	assert_int_equal(cmp("v1.32.0-rc1+k3s1", "v1.32.0+k3s1"), -1);
	assert_int_equal(cmp("v1.32.0-rc2+k3s1", "v1.32.0-rc1+k3s1"), 1);
	assert_int_equal(cmp("v2.0.0+k3s1", "v1.99.99+k3s9"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests_name("k3s", tests, NULL, NULL);
}
