/*
 * test_conn.c - connections: local, the pool, become, pct (through a
 * test stand-in for Proxmox's pct) and ssh against a real private sshd that
 * tests/conn/sshd.sh starts on a loopback address.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn/conn.h"
#include "util/log.h"
#include "util/mem.h"

static char tmpdir[256];

/* Entries of dir whose name contains part. */
static int test_count_entries(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strstr(de->d_name, part) != NULL;
	closedir(d);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct conn *local_conn(struct conn_pool **pool)
{
	struct err e;
	struct conn *c;

	err_init(&e);
	*pool = conn_pool_new(NULL);
	c = conn_pool_get(*pool, "localhost", NULL, NULL, NULL, &e);
	assert_non_null(c);
	assert_string_equal(c->ops->name, "local");
	return c;
}

static void run_ok(struct conn *c, const char *cmd, const struct conn_exec_opts *o,
                   struct conn_result *r)
{
	struct err e;
	char msg[2600];

	err_init(&e);
	if (conn_exec(c, cmd, o, r, &e))
		fail_msg("conn_exec(%s): %s", cmd, err_format(&e, msg, sizeof(msg)));
}

static void test_local_rc_and_streams(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	struct conn_result r;

	(void)state;
	run_ok(c, "echo out; echo err >&2; exit 3", NULL, &r);
	assert_int_equal(r.rc, 3);
	assert_string_equal(buf_str(&r.out), "out\n");
	assert_string_equal(buf_str(&r.err), "err\n");
	conn_result_release(&r);

	run_ok(c, "kill -TERM $$", NULL, &r);
	assert_int_equal(r.rc, 128 + SIGTERM);
	conn_result_release(&r);

	/* A command that writes a lot to both streams while we feed it a lot
	 * must not deadlock on full pipes. */
	{
		size_t n = 3 << 20, i;
		char *in = xmalloc(n);
		struct conn_exec_opts o = {0};
		for (i = 0; i < n; i++)
			in[i] = (char)('a' + i % 26);
		o.stdin_data = in;
		o.stdin_len = n;
		run_ok(c, "tee /dev/stderr", &o, &r);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.out.len, n);
		assert_int_equal(r.err.len, n);
		assert_memory_equal(r.out.s, in, n);
		conn_result_release(&r);
		free(in);
	}
	conn_pool_free(pool);
}

static void test_local_env_quoting(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	struct conn_result r;
	struct conn_exec_opts o = {0};
	char pwned[300], want[600];
	struct err e;
	const char *env[4];

	(void)state;
	snprintf(pwned, sizeof(pwned), "%s/pwned", tmpdir);
	char *v1 = xasprintf("X=$(touch %s)`touch %s`", pwned, pwned);
	env[0] = v1;
	env[1] = "Y=it's \"quoted\" \\ $HOME ; exit 9\nline2";
	env[2] = "EMPTY=";
	env[3] = NULL;
	o.env = env;
	run_ok(c, "printf '%s|%s|%s' \"$X\" \"$Y\" \"${EMPTY-unset}\"", &o, &r);
	assert_int_equal(r.rc, 0);
	snprintf(want, sizeof(want),
	         "$(touch %s)`touch %s`|it's \"quoted\" \\ $HOME ; exit 9\nline2|", pwned, pwned);
	assert_string_equal(buf_str(&r.out), want);
	assert_int_equal(access(pwned, F_OK), -1);
	conn_result_release(&r);
	free(v1);

	env[0] = "BAD NAME=x";
	env[1] = NULL;
	err_init(&e);
	assert_true(conn_exec(c, "true", &o, &r, &e) < 0);
	assert_non_null(strstr(e.msg, "BAD NAME"));
	conn_result_release(&r);
	conn_pool_free(pool);
}

static void test_local_chdir(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	struct conn_result r;
	struct conn_exec_opts o = {0};
	char dir[400], want[410];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/it's a dir $(x)", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	o.chdir = dir;
	run_ok(c, "pwd", &o, &r);
	snprintf(want, sizeof(want), "%s\n", dir);
	assert_string_equal(buf_str(&r.out), want);
	conn_result_release(&r);

	o.chdir = "/nonexistent/drover";
	run_ok(c, "echo should-not-run", &o, &r);
	assert_int_not_equal(r.rc, 0);
	assert_null(strstr(buf_str(&r.out), "should-not-run"));
	conn_result_release(&r);
	conn_pool_free(pool);
}

/* Alive and not a zombie (an orphan may wait a while for a reaper). */
static int process_alive(int pid)
{
	char path[64], *stat, *paren;
	size_t len;
	int alive;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	stat = read_file(path, &len);
	if (!stat)
		return 0;
	paren = strrchr(stat, ')');
	alive = paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
	free(stat);
	return alive;
}

static void test_local_timeout(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	struct conn_result r;
	struct conn_exec_opts o = {0};
	char cmd[600], pidf[300], msg[2600];
	struct err e;
	double t0;
	size_t len;
	char *pid;

	(void)state;
	snprintf(pidf, sizeof(pidf), "%s/bg.pid", tmpdir);
	/* The background sleep holds stdout open: the whole group must die. */
	snprintf(cmd, sizeof(cmd), "sleep 100 & echo $! > '%s'; sleep 100", pidf);
	o.timeout = 1;
	err_init(&e);
	t0 = now_s();
	assert_int_equal(conn_exec(c, cmd, &o, &r, &e), ERR_TIMEOUT);
	assert_true(now_s() - t0 < 4.0);
	assert_non_null(strstr(err_format(&e, msg, sizeof(msg)), "timed out after 1 second"));
	conn_result_release(&r);
	pid = read_file(pidf, &len);
	assert_non_null(pid);
	usleep(100000);
	assert_false(process_alive(atoi(pid)));
	free(pid);
	conn_pool_free(pool);
}

static void test_local_put_get(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	char path[300], *got;
	struct stat st;
	struct buf b = BUF_INIT;
	struct err e;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/put.txt", tmpdir);
	err_init(&e);
	assert_int_equal(conn_put(c, "hello\n", 6, path, 0600, NULL, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	got = read_file(path, &len);
	assert_string_equal(got, "hello\n");
	free(got);

	/* mode -1 keeps the existing file's mode */
	assert_int_equal(conn_put(c, "second", 6, path, -1, NULL, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(conn_get(c, path, &b, NULL, &e), 0);
	assert_string_equal(buf_str(&b), "second");
	buf_release(&b);

	/* a new file gets 0644 */
	snprintf(path, sizeof(path), "%s/new.txt", tmpdir);
	assert_int_equal(conn_put(c, "", 0, path, -1, NULL, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_size, 0);

	/* ~ is the home directory, as on a remote host */
	{
		char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
		setenv("HOME", tmpdir, 1);
		err_init(&e);
		assert_int_equal(conn_put(c, "at home", 7, "~/home.txt", -1, NULL, &e), 0);
		assert_int_equal(conn_get(c, "~/home.txt", &b, NULL, &e), 0);
		assert_string_equal(buf_str(&b), "at home");
		buf_release(&b);
		if (home)
			setenv("HOME", home, 1);
		free(home);
		snprintf(path, sizeof(path), "%s/home.txt", tmpdir);
		assert_int_equal(access(path, F_OK), 0);
	}

	/* no temp files left behind */
	assert_int_equal(test_count_entries(tmpdir, ".drover-"), 0);

	err_init(&e);
	assert_int_equal(conn_put(c, "x", 1, tmpdir, 0644, NULL, &e), ERR_IO);
	assert_non_null(strstr(e.msg, "directory"));
	err_init(&e);
	assert_int_equal(conn_put(c, "x", 1, "/nonexistent/dir/f", 0644, NULL, &e), ERR_IO);
	assert_non_null(strstr(e.msg, "/nonexistent/dir/f"));
	err_init(&e);
	assert_int_equal(conn_get(c, "/nonexistent/file", &b, NULL, &e), ERR_IO);
	assert_non_null(strstr(e.msg, "/nonexistent/file"));
	buf_release(&b);
	conn_pool_free(pool);
}

/* become to root as root: sudo runs (no password needed) and file transfer
 * goes through the exec path (cat > tmp && mv). */
static void test_local_become_root(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	struct conn_result r;
	struct conn_exec_opts o = {0};
	const char *env[] = {"V=a'b", NULL};
	char path[300];
	struct buf b = BUF_INIT;
	struct stat st;
	struct err e;

	(void)state;
	if (access("/usr/bin/sudo", X_OK))
		fail_msg("sudo is not installed (apt-get install sudo)");
	o.become = 1;
	o.env = env;
	o.chdir = "/tmp";
	run_ok(c, "echo \"$(id -u) $V $(pwd) $HOME\"", &o, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(buf_str(&r.out), "0 a'b /tmp /root\n");
	conn_result_release(&r);

	snprintf(path, sizeof(path), "%s/become put.txt", tmpdir);
	err_init(&e);
	o.env = NULL;
	o.chdir = NULL;
	assert_int_equal(conn_put(c, "via exec\n", 9, path, 0640, &o, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(conn_put(c, "again", 5, path, -1, &o, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(conn_get(c, path, &b, &o, &e), 0);
	assert_string_equal(buf_str(&b), "again");
	assert_int_equal(test_count_entries(tmpdir, ".drover-"), 0);
	buf_release(&b);

	err_init(&e);
	assert_int_equal(conn_get(c, "/nonexistent/x", &b, &o, &e), ERR_IO);
	assert_non_null(strstr(e.msg, "/nonexistent/x"));
	buf_release(&b);

	/* su from root needs no password (the su cases test the rest) */
	o.become_method = "su";
	o.become_user = "root";
	o.env = env;
	run_ok(c, "echo \"$(id -un) $V\"", &o, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(buf_str(&r.out), "root a'b\n");
	conn_result_release(&r);
	conn_pool_free(pool);
}

static void test_pool_choice(void **state)
{
	struct conn_defaults d = {0};
	struct conn_pool *pool;
	struct conn *a, *b;
	json_t *vars;
	struct err e;

	(void)state;
	d.host_key_checking = 1;
	pool = conn_pool_new(&d);
	err_init(&e);
	vars = json_pack("{s:s}", "ansible_connection", "local");
	a = conn_pool_get(pool, "web1", vars, NULL, NULL, &e);
	b = conn_pool_get(pool, "web1", vars, NULL, NULL, &e);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_string_equal(a->ops->name, "local");
	json_decref(vars);

	/* other vars do not matter; another user is another connection */
	vars = json_pack("{s:s, s:s}", "ansible_connection", "local", "app_version", "1.2");
	assert_ptr_equal(conn_pool_get(pool, "web1", vars, NULL, NULL, &e), a);
	json_decref(vars);
	vars = json_pack("{s:s, s:s}", "ansible_connection", "local", "ansible_user", "deploy");
	b = conn_pool_get(pool, "web1", vars, NULL, NULL, &e);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_ptr_equal(conn_pool_get(pool, "web1", vars, NULL, NULL, &e), b);
	json_decref(vars);

	vars = json_pack("{s:s}", "ansible_connection", "telnet");
	assert_null(conn_pool_get(pool, "web2", vars, NULL, NULL, &e));
	assert_int_equal(e.code, ERR_GENERIC);
	assert_non_null(strstr(e.msg, "telnet"));
	json_decref(vars);

	vars = json_pack("{s:s, s:s, s:i}", "ansible_connection", "pct", "pct_host", "nowhere",
	                 "pct_vmid", 101);
	err_init(&e);
	assert_null(conn_pool_get(pool, "ct1", vars, NULL, NULL, &e));
	assert_non_null(strstr(e.msg, "nowhere"));
	json_decref(vars);
	conn_pool_free(pool);

	/* -c local overrides ansible_connection */
	d.connection = "local";
	pool = conn_pool_new(&d);
	vars = json_pack("{s:s}", "ansible_connection", "ssh");
	a = conn_pool_get(pool, "web1", vars, NULL, NULL, &e);
	assert_non_null(a);
	assert_string_equal(a->ops->name, "local");
	json_decref(vars);
	conn_pool_free(pool);
}

struct worker {
	struct conn_pool *pool;
	int id, bad;
};

static void *local_worker(void *arg)
{
	struct worker *w = arg;
	struct conn_result r;
	struct err e;
	char cmd[64], want[64];
	int i;

	for (i = 0; i < 25; i++) {
		struct conn *c;
		err_init(&e);
		c = conn_pool_get(w->pool, "localhost", NULL, NULL, NULL, &e);
		snprintf(cmd, sizeof(cmd), "echo %d-%d", w->id, i);
		snprintf(want, sizeof(want), "%d-%d\n", w->id, i);
		if (!c || conn_exec(c, cmd, NULL, &r, &e) || r.rc || strcmp(buf_str(&r.out), want))
			w->bad++;
		if (c)
			conn_result_release(&r);
	}
	return NULL;
}

static void test_pool_threads_local(void **state)
{
	struct worker w[8];
	pthread_t t[8];
	struct conn_pool *pool = conn_pool_new(NULL);
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		w[i] = (struct worker){pool, i, 0};
		pthread_create(&t[i], NULL, local_worker, &w[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	conn_pool_free(pool);
}

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/drover-test-conn-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#include "conn/ssh_cases.c"
#include "conn/pct_cases.c"
#include "conn/become_cases.c"

/* ---- lazy connections and reset (wait_for_connection, reboot) ---- */

/* A host that is down: the lazy entry exists without an error, opening it
 * fails UNREACHABLE as often as asked, and once the host is up the same
 * pooled entry opens and the executor's later conn_pool_get gets it. */
static void test_pool_lazy_open(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *v = ssh_vars(TEST_USER, NULL);
	struct conn_result r;
	struct conn *c, *first;
	struct err e;
	int logins;

	(void)state;
	assert_int_equal(sshd_stop(), 0);
	err_init(&e);
	c = conn_pool_lazy(pool, "node1", v, NULL, NULL, &e);
	assert_non_null(c);
	assert_int_equal(e.code, 0);
	assert_false(c->opened);
	assert_int_equal(conn_open(c, 3, &e), ERR_UNREACH);
	assert_non_null(strstr(e.msg, "Connection refused"));
	/* the bounded connect timeout was for that attempt only */
	assert_null(json_object_get(c->vars, "ansible_ssh_timeout"));
	first = c;
	err_init(&e);
	assert_int_equal(conn_try(&c, "echo pong", NULL, 3, &r, &e), ERR_UNREACH);
	assert_ptr_equal(c, first); /* never opened: nothing to reset */
	conn_result_release(&r);

	assert_int_equal(sshd_start(), 0);
	logins = sshd_logins();
	err_init(&e);
	assert_int_equal(conn_try(&c, "echo pong", NULL, 3, &r, &e), 0);
	assert_string_equal(buf_str(&r.out), "pong\n");
	conn_result_release(&r);
	assert_ptr_equal(conn_pool_get(pool, "node1", v, NULL, NULL, &e), c);
	run_ok(c, "true", NULL, &r);
	conn_result_release(&r);
	assert_int_equal(sshd_logins() - logins, 1);
	json_decref(v);
	conn_pool_free(pool);
}

struct reset_worker {
	struct conn *c;
	int runs, bad;
	char why[256];
};

static void *reset_worker_run(void *arg)
{
	struct reset_worker *w = arg;
	struct conn_result r;
	struct err e;

	for (int i = 0; i < w->runs; i++) {
		err_init(&e);
		if (conn_exec(w->c, "sleep 0.05; echo ok", NULL, &r, &e) ||
		    strcmp(buf_str(&r.out), "ok\n")) {
			snprintf(w->why, sizeof(w->why), "%s (out '%s')", e.msg, buf_str(&r.out));
			w->bad++;
		}
		conn_result_release(&r);
	}
	return NULL;
}

/* Resetting a host's session while workers still run commands on it and
 * other hosts use the pool: nobody crashes or loses a command, the pool
 * hands out the replacement from then on, and a second reset of the old
 * entry (another worker that saw it break) gets the same replacement. */
static void test_pool_reset_in_use(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *v = ssh_vars(TEST_USER, NULL);
	struct reset_worker w[4];
	struct conn_result r;
	struct conn *c, *n, *local;
	struct err e;
	pthread_t t[4];
	int i;

	(void)state;
	err_init(&e);
	c = conn_pool_get(pool, "node1", v, NULL, NULL, &e);
	assert_non_null(c);
	local = conn_pool_get(pool, "localhost", NULL, NULL, NULL, &e);
	assert_non_null(local);
	for (i = 0; i < 4; i++) {
		w[i] = (struct reset_worker){.c = i == 3 ? local : c, .runs = 10};
		pthread_create(&t[i], NULL, reset_worker_run, &w[i]);
	}
	usleep(100000);
	n = conn_pool_reset(c);
	assert_ptr_not_equal(n, c);
	assert_false(n->opened);
	assert_ptr_equal(conn_pool_reset(c), n);
	assert_int_equal(conn_open(n, 0, &e), 0);
	run_ok(n, "echo new", NULL, &r);
	assert_string_equal(buf_str(&r.out), "new\n");
	conn_result_release(&r);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++)
		if (w[i].bad)
			fail_msg("worker %d: %d bad, last: %s", i, w[i].bad, w[i].why);
	assert_ptr_equal(conn_pool_get(pool, "node1", v, NULL, NULL, &e), n);
	assert_ptr_equal(conn_pool_get(pool, "localhost", NULL, NULL, NULL, &e), local);
	/* an entry never opened is its own reset */
	local = conn_pool_lazy(pool, "node2", v, NULL, NULL, &e);
	assert_non_null(local);
	assert_ptr_equal(conn_pool_reset(local), local);
	json_decref(v);
	conn_pool_free(pool);
}

/* A container that stops under a session (a reboot through pct): the
 * failure is UNREACHABLE, conn_try resets only the container, and while
 * `pct status` says stopped each try fails again; once it runs, the next
 * try works over the same ssh session to the node (no new login). */
static void test_pct_reset_keeps_node(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *node = ssh_vars("root", NULL);
	struct conn_result r;
	struct conn *c, *old;
	struct err e;
	char msg[2600];
	int logins;

	(void)state;
	pct_make("106", "running");
	c = pct_get(pool, "ct106", "106", node, &e);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	logins = sshd_logins();
	pct_make("106", "stopped");
	old = c;
	err_init(&e);
	assert_int_equal(conn_try(&c, "echo pong", NULL, 5, &r, &e), ERR_UNREACH);
	assert_non_null(strstr(e.msg, "not running"));
	conn_result_release(&r);
	assert_ptr_not_equal(c, old);
	assert_ptr_equal(c->parent, old->parent);
	err_init(&e);
	assert_int_equal(conn_try(&c, "echo pong", NULL, 5, &r, &e), ERR_UNREACH);
	assert_non_null(strstr(e.msg, "status: stopped"));
	conn_result_release(&r);
	pct_make("106", "running");
	err_init(&e);
	assert_int_equal(conn_try(&c, "echo pong", NULL, 5, &r, &e), 0);
	assert_string_equal(buf_str(&r.out), "pong\n");
	conn_result_release(&r);
	assert_int_equal(sshd_logins(), logins);
	assert_ptr_equal(pct_get(pool, "ct106", "106", node, &e), c);
	conn_pool_free(pool);
	json_decref(node);
}

int main(void)
{
	const struct CMUnitTest local[] = {
	    cmocka_unit_test(test_local_rc_and_streams), cmocka_unit_test(test_local_env_quoting),
	    cmocka_unit_test(test_local_chdir),          cmocka_unit_test(test_local_timeout),
	    cmocka_unit_test(test_local_put_get),        cmocka_unit_test(test_local_become_root),
	    cmocka_unit_test(test_pool_choice),          cmocka_unit_test(test_pool_threads_local),
	};
	const struct CMUnitTest ssh[] = {
	    cmocka_unit_test(test_ssh_exec),
	    cmocka_unit_test(test_ssh_put_get),
	    cmocka_unit_test(test_ssh_host_keys),
	    cmocka_unit_test(test_ssh_auth_failures),
	    cmocka_unit_test(test_ssh_agent),
	    cmocka_unit_test(test_ssh_key_passphrase_no_tty),
	    cmocka_unit_test(test_ssh_common_args),
	    cmocka_unit_test(test_ssh_silent_server),
	    cmocka_unit_test(test_ssh_timeout),
	    cmocka_unit_test(test_ssh_threads_one_session),
	    cmocka_unit_test(test_ssh_max_sessions),
	    cmocka_unit_test(test_ssh_stale_session),
	    cmocka_unit_test(test_ssh_proxycommand),
	    cmocka_unit_test(test_ssh_proxyjump),
	    cmocka_unit_test(test_pct_local_node),
	    cmocka_unit_test(test_pct_stopped),
	    cmocka_unit_test(test_pct_over_ssh_shared),
	    cmocka_unit_test(test_pct_remote_style),
	    cmocka_unit_test(test_ssh_become_password),
	    cmocka_unit_test(test_local_become_password),
	    cmocka_unit_test(test_ssh_sudo_flags_password),
	    cmocka_unit_test_setup_teardown(test_ssh_su_password, su_setup, su_teardown),
	    cmocka_unit_test_setup_teardown(test_local_su_password, su_setup, su_teardown),
	    cmocka_unit_test_setup_teardown(test_su_never_asks, su_setup, su_teardown),
	    cmocka_unit_test_setup_teardown(test_become_flags_exe, su_setup, su_teardown),
	    cmocka_unit_test_setup_teardown(test_pct_su_password, su_setup, su_teardown),
	    cmocka_unit_test_setup_teardown(test_su_localized_prompts, su_setup, su_teardown),
	    cmocka_unit_test_setup_teardown(test_su_pty_timeout, su_setup, su_teardown),
	    cmocka_unit_test(test_ssh_password_login),
	    cmocka_unit_test(test_ssh_sshd_killed),
	    cmocka_unit_test(test_pool_reset_in_use),
	    cmocka_unit_test(test_pct_reset_keeps_node),
	    cmocka_unit_test(test_pool_lazy_open),
	};
	int fails = 0;

	fails += cmocka_run_group_tests_name("local", local, setup_tmp, teardown_tmp);
	fails += cmocka_run_group_tests_name("ssh", ssh, ssh_setup, ssh_teardown);
	return fails ? 1 : 0;
}
