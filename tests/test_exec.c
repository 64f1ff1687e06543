/*
 * The executor through its API, on real local connections: forks run hosts
 * in parallel, an unreachable host exits 4 and drops out, Ctrl-C stops new
 * work and exits 130, the json callback's shape, and ad-hoc runs. Task
 * runtime keywords: throttle's bound under many threads, no_log masking
 * (results, and stderr written in pieces), module_defaults errors, async
 * limits (poll 0 returns at once; modules that cannot go to the background
 * are refused; bad job ids).
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
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/exec_int.h"
#include "exec/session.h"
#include "yaml/yaml.h"

struct run {
	struct inventory inv;
	struct conn_pool *pool;
	struct output *out;
	FILE *f;
	char *text;
	size_t len;
	json_t *extra;
	struct exec_cfg cfg;
};

static char dir[] = "/tmp/drover-test-exec-XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void run_open(struct run *r, enum out_kind kind, int forks)
{
	struct err e;
	char path[512];
	struct conn_defaults d = {.timeout = 2, .host_key_checking = 0};
	memset(r, 0, sizeof(*r));
	err_init(&e);
	inventory_init(&r->inv);
	snprintf(path, sizeof(path), "%s/hosts", dir);
	assert_int_equal(inventory_load(&r->inv, path, &e), 0);
	assert_int_equal(inventory_finish(&r->inv, &e), 0);
	r->pool = conn_pool_new(&d);
	r->f = open_memstream(&r->text, &r->len);
	r->out = output_new(kind, 0, r->f);
	r->extra = json_object();
	r->cfg.inv = &r->inv;
	r->cfg.pool = r->pool;
	r->cfg.out = r->out;
	r->cfg.extra_vars = r->extra;
	r->cfg.forks = forks;
}

static void run_close(struct run *r)
{
	output_free(r->out);
	fclose(r->f);
	free(r->text);
	conn_pool_free(r->pool);
	inventory_release(&r->inv);
	json_decref(r->extra);
}

static int run_playbook(struct run *r, const char *name, double *secs)
{
	struct err e;
	struct timespec a, b;
	char path[512];
	struct pb_env env = {session_action_flags, NULL, NULL};
	err_init(&e);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct playbook *pb = playbook_load(path, &env, &e);
	if (!pb)
		fail_msg("%s: %s", name, e.msg);
	clock_gettime(CLOCK_MONOTONIC, &a);
	int rc = exec_playbook(&r->cfg, pb, &e);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (secs)
		*secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	playbook_free(pb);
	fflush(r->f);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file("hosts", "[web]\nh1\nh2\nh3\n[gone]\ndead ansible_connection=ssh "
	                    "ansible_host=127.0.0.1 ansible_port=1\n"
	                    "[all:vars]\nansible_connection=local\n");
	write_file("sleep.yml", "- hosts: web\n  gather_facts: false\n  tasks:\n"
	                        "    - command: sleep 1\n");
	write_file("unreach.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n"
	                          "    - name: first\n      command: echo hi\n"
	                          "    - name: second\n      debug: msg=after\n");
	write_file("defaults_group.yml",
	           "- hosts: h1\n  gather_facts: false\n  tasks:\n"
	           "    - name: grouped\n      ping:\n      module_defaults:\n"
	           "        group/aws:\n          region: x\n");
	write_file("async_limits.yml",
	           "- hosts: h1\n  gather_facts: false\n  tasks:\n"
	           "    - name: background\n      shell: sleep 3; echo done\n"
	           "      async: 10\n      poll: 0\n"
	           "    - name: stat in background\n      stat: path=/\n"
	           "      async: 10\n      poll: 0\n      ignore_errors: true\n"
	           "    - name: bad jid\n      async_status: jid=../../etc/passwd\n"
	           "      ignore_errors: true\n");
	write_file("long.yml", "- hosts: h1\n  gather_facts: false\n  tasks:\n"
	                       "    - name: long\n      command: sleep 2\n"
	                       "    - name: never\n      command: echo never\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_forks_parallel(void **state)
{
	(void)state;
	struct run r;
	double t3, t1;
	run_open(&r, OUT_DEFAULT, 3);
	assert_int_equal(run_playbook(&r, "sleep.yml", &t3), 0);
	run_close(&r);
	run_open(&r, OUT_DEFAULT, 1);
	assert_int_equal(run_playbook(&r, "sleep.yml", &t1), 0);
	assert_non_null(strstr(r.text, "h3                         : ok=1    changed=1"));
	run_close(&r);
	if (t3 > 2.5 || t1 < 3.0)
		fail_msg("forks 3 took %.2fs (want < 2.5), forks 1 took %.2fs (want >= 3)", t3, t1);
}

static void test_unreachable(void **state)
{
	(void)state;
	struct run r;
	run_open(&r, OUT_JSON, 5);
	assert_int_equal(run_playbook(&r, "unreach.yml", NULL), 4);
	json_error_t je;
	json_t *doc = json_loads(r.text, 0, &je);
	if (!doc)
		fail_msg("not json: %s\n%s", je.text, r.text);
	json_t *st = json_object_get(json_object_get(doc, "stats"), "dead");
	assert_int_equal(json_integer_value(json_object_get(st, "unreachable")), 1);
	assert_non_null(json_object_get(st, "failures"));
	json_t *play = json_array_get(json_object_get(doc, "plays"), 0);
	json_t *tasks = json_object_get(play, "tasks");
	/* every entry's duration has a start and an end */
	assert_true(json_is_string(
	    json_object_get(json_object_get(json_object_get(play, "play"), "duration"), "end")));
	assert_true(json_is_string(json_object_get(
	    json_object_get(json_object_get(json_array_get(tasks, 1), "task"), "duration"),
	    "end")));
	json_t *first = json_object_get(json_object_get(json_array_get(tasks, 0), "hosts"), "dead");
	assert_true(json_is_true(json_object_get(first, "unreachable")));
	/* the unreachable host is not tried again */
	json_t *second = json_object_get(json_array_get(tasks, 1), "hosts");
	assert_null(json_object_get(second, "dead"));
	assert_non_null(json_object_get(second, "h1"));
	json_decref(doc);
	run_close(&r);
}

static void *interrupt_soon(void *arg)
{
	(void)arg;
	usleep(500000);
	exec_interrupt();
	return NULL;
}

static void test_interrupt(void **state)
{
	(void)state;
	struct run r;
	pthread_t th;
	double secs;
	run_open(&r, OUT_DEFAULT, 5);
	pthread_create(&th, NULL, interrupt_soon, NULL);
	int rc = run_playbook(&r, "long.yml", &secs);
	pthread_join(th, NULL);
	assert_int_equal(rc, 130);
	assert_null(strstr(r.text, "TASK [never]"));
	assert_non_null(strstr(r.text, "PLAY RECAP"));
	assert_true(secs < 4);
	run_close(&r);
}

static void test_adhoc(void **state)
{
	(void)state;
	struct run r;
	struct err e;
	err_init(&e);
	run_open(&r, OUT_ADHOC, 5);
	json_t *args = json_pack("{ss}", "_raw_params", "echo $((40 + 2))");
	/* interrupted by the test before: the flag must not leak into new runs */
	int rc = exec_adhoc(&r.cfg, "h2", "shell", args, &e);
	json_decref(args);
	fflush(r.f);
	assert_int_equal(rc, 0);
	assert_string_equal(r.text, "h2 | CHANGED | rc=0 >>\n42\n");
	run_close(&r);
}

/* The result of task number ti on host in a json callback document. */
static json_t *task_result(json_t *doc, size_t ti, const char *host)
{
	json_t *play = json_array_get(json_object_get(doc, "plays"), 0);
	json_t *task = json_array_get(json_object_get(play, "tasks"), ti);
	return json_object_get(json_object_get(task, "hosts"), host);
}

static json_t *run_json(const char *pb, int want_rc, double *secs)
{
	struct run r;
	json_error_t je;
	run_open(&r, OUT_JSON, 5);
	assert_int_equal(run_playbook(&r, pb, secs), want_rc);
	json_t *doc = json_loads(r.text, 0, &je);
	if (!doc)
		fail_msg("not json: %s\n%s", je.text, r.text);
	run_close(&r);
	return doc;
}

static int busy, peak;

static void *throttled(void *arg)
{
	const struct pb_task *t = arg;
	exec_throttle_enter(t, 2);
	int n = __atomic_add_fetch(&busy, 1, __ATOMIC_SEQ_CST);
	int p = __atomic_load_n(&peak, __ATOMIC_SEQ_CST);
	while (n > p &&
	       !__atomic_compare_exchange_n(&peak, &p, n, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	usleep(20000);
	__atomic_sub_fetch(&busy, 1, __ATOMIC_SEQ_CST);
	exec_throttle_leave(t, 2);
	return NULL;
}

/* 12 threads on one task with throttle 2: never more than 2 inside, and 2
 * do run together (the bound is not just serialisation). */
static void test_throttle_bound(void **state)
{
	(void)state;
	struct pb_task t = {0};
	pthread_t th[12];
	for (int i = 0; i < 12; i++)
		pthread_create(&th[i], NULL, throttled, &t);
	for (int i = 0; i < 12; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(peak, 2);
}

static void test_mask_values(void **state)
{
	(void)state;
	json_t *secrets = json_pack("[ss]", "pw", "pw-long");
	char *t = output_mask_text("user pw-long pw x", secrets);
	assert_string_equal(t, "user ******** ******** x");
	free(t);
	json_t *r =
	    json_pack("{s:s, s:[s, i], s:{s:s}}", "msg", "bad pw", "list", "pw", 3, "pw", "k", "v");
	json_t *m = output_mask_json(r, secrets);
	char *d = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(d, "{\"********\":{\"k\":\"v\"},\"list\":[\"********\",3],"
	                       "\"msg\":\"bad ********\"}");
	free(d);
	json_decref(m);
	json_decref(r);
	json_decref(secrets);
}

/* stderr through the mask: a secret written in two pieces is still caught;
 * a thread without secrets writes straight through. */
static void test_mask_stderr(void **state)
{
	(void)state;
	char path[600];
	snprintf(path, sizeof(path), "%s/stderr.txt", dir);
	int saved = dup(2);
	FILE *f = fopen(path, "w+");
	assert_non_null(f);
	dup2(fileno(f), 2);
	output_mask_stderr(1);
	json_t *secrets = json_pack("[s]", "hunter2");
	output_mask_thread(secrets);
	fputs("cmd: echo hun", stderr);
	fputs("ter2 done\npartial hunter", stderr);
	output_mask_thread(NULL); /* flushes the held partial line */
	fputs("2 plain\n", stderr);
	output_mask_stderr(0);
	json_decref(secrets);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char buf[256] = {0};
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	assert_string_equal(buf, "cmd: echo ******** done\npartial hunter2 plain\n");
}

static void test_module_defaults_errors(void **state)
{
	(void)state;
	json_t *doc = run_json("defaults_group.yml", 2, NULL);
	const char *m0 = json_string_value(json_object_get(task_result(doc, 0, "h1"), "msg"));
	assert_non_null(m0);
	assert_non_null(strstr(m0, "defaults_group.yml:7:9: "));
	assert_non_null(strstr(m0, "action groups ('group/aws') are not supported by drover"));
	json_decref(doc);
	write_file("defaults_unknown.yml",
	           "- hosts: h1\n  gather_facts: false\n  tasks:\n"
	           "    - name: unknown\n      ping:\n      module_defaults:\n"
	           "        nosuch_module:\n          a: 1\n");
	doc = run_json("defaults_unknown.yml", 2, NULL);
	const char *m1 = json_string_value(json_object_get(task_result(doc, 0, "h1"), "msg"));
	assert_non_null(m1);
	assert_non_null(strstr(m1, "Could not resolve action nosuch_module in module_defaults"));
	json_decref(doc);
}

static void test_async_limits(void **state)
{
	(void)state;
	double secs;
	json_t *doc = run_json("async_limits.yml", 0, &secs);
	json_t *bg = task_result(doc, 0, "h1");
	assert_int_equal(json_integer_value(json_object_get(bg, "started")), 1);
	assert_int_equal(json_integer_value(json_object_get(bg, "finished")), 0);
	assert_true(secs < 2.5); /* the 3 s job was left running */
	const char *ms = json_string_value(json_object_get(task_result(doc, 1, "h1"), "msg"));
	assert_non_null(ms);
	assert_non_null(strstr(ms, "async with poll: 0 runs only command and shell tasks"));
	const char *mj = json_string_value(json_object_get(task_result(doc, 2, "h1"), "msg"));
	assert_non_null(mj);
	assert_non_null(strstr(mj, "invalid job id '../../etc/passwd'"));
	/* the job finishes on its own; its files are then removed */
	const char *jid = json_string_value(json_object_get(bg, "ansible_job_id"));
	const char *rf = json_string_value(json_object_get(bg, "results_file"));
	assert_non_null(jid);
	assert_non_null(rf);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd),
	         "for i in 1 2 3 4 5 6 7 8 9 10; do grep -q '\"finished\": 1' '%s' && break; "
	         "sleep 0.5; done; grep -q '\"rc\": 0' '%s' && grep -qx done '%s.out' && "
	         "rm -f '%s' '%s'.*",
	         rf, rf, rf, rf, rf);
	assert_int_equal(system(cmd), 0);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forks_parallel), cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_interrupt),      cmocka_unit_test(test_adhoc),
	    cmocka_unit_test(test_throttle_bound), cmocka_unit_test(test_mask_values),
	    cmocka_unit_test(test_mask_stderr),    cmocka_unit_test(test_module_defaults_errors),
	    cmocka_unit_test(test_async_limits),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	srcpos_free_all();
	return rc;
}
