/*
 * ssh_cases.c - ssh connection tests, included by tests/test_conn.c (one
 * cmocka executable per subsystem). They run against a real OpenSSH sshd
 * that tests/conn/sshd.sh starts on 127.0.0.1 and a high port.
 */

static char sshd_dir[256];
/* A user whose login shell reads no rc files, so stderr is the command's;
 * one per test process, since several test runs may share the machine. */
static char test_user[32];
#define TEST_USER test_user
static char test_pw[40];
static char pct_dir[300];
static int sshd_port;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char standin_path[600];

/* Sessions get the pct test stand-in on PATH (the pct cases use it). */
static int sshd_start(void)
{
	return sh("SSHD_SETENV='PATH=%s DROVER_PCT_STANDIN=%s/pct' sh conn/sshd.sh start '%s' "
	          "127.0.0.1 %d",
	          standin_path, tmpdir, sshd_dir, sshd_port);
}

static int sshd_stop(void)
{
	return sh("sh conn/sshd.sh stop '%s'", sshd_dir);
}

/* Connections accepted by the test sshd so far. */
static int sshd_logins(void)
{
	char path[300], *log, *p;
	size_t len;
	int n = 0;

	snprintf(path, sizeof(path), "%s/sshd.log", sshd_dir);
	log = read_file(path, &len);
	for (p = log; p && (p = strstr(p, "Accepted publickey")); p++)
		n++;
	free(log);
	return n;
}

/* Vars for a host on the test sshd; extra is "key=value" pairs to add. */
static json_t *ssh_vars(const char *user, const char *common_args)
{
	char key[300], args[600];

	snprintf(key, sizeof(key), "%s/id_ed25519", sshd_dir);
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s/known_hosts %s", sshd_dir,
	         common_args ? common_args : "");
	return json_pack("{s:s, s:i, s:s, s:s, s:s}", "ansible_host", "127.0.0.1", "ansible_port",
	                 sshd_port, "ansible_user", user, "ansible_ssh_private_key_file", key,
	                 "ansible_ssh_common_args", args);
}

static struct conn *ssh_get(struct conn_pool *pool, const char *name, json_t *vars, struct err *e)
{
	struct conn *c;

	err_init(e);
	c = conn_pool_get(pool, name, vars, NULL, NULL, e);
	json_decref(vars);
	return c;
}

static struct conn *ssh_as(struct conn_pool **pool, const char *user)
{
	struct err e;
	char msg[2600];
	struct conn *c;

	*pool = conn_pool_new(NULL);
	c = ssh_get(*pool, "node1", ssh_vars(user, NULL), &e);
	if (!c)
		fail_msg("ssh connect: %s", err_format(&e, msg, sizeof(msg)));
	assert_string_equal(c->ops->name, "ssh");
	return c;
}

static const char *test_user_nl(void)
{
	static char s[40];

	snprintf(s, sizeof(s), "%s\n", test_user);
	return s;
}

static struct conn *ssh_root(struct conn_pool **pool)
{
	return ssh_as(pool, "root");
}

static void test_ssh_exec(void **state)
{
	struct conn_pool *pool;
	struct conn *c = ssh_as(&pool, TEST_USER);
	struct conn_exec_opts o = {0};
	struct conn_result r;
	const char *env[] = {"Q=it's $(id) `x` \"y\"", NULL};
	size_t n = 2 << 20, i;
	char *in = xmalloc(n);

	(void)state;
	run_ok(c, "echo out; echo err >&2; exit 7", NULL, &r);
	assert_int_equal(r.rc, 7);
	assert_string_equal(buf_str(&r.out), "out\n");
	assert_string_equal(buf_str(&r.err), "err\n");
	conn_result_release(&r);

	o.env = env;
	o.chdir = "/tmp";
	run_ok(c, "printf '%s|' \"$Q\"; pwd", &o, &r);
	assert_string_equal(buf_str(&r.out), "it's $(id) `x` \"y\"|/tmp\n");
	conn_result_release(&r);

	for (i = 0; i < n; i++)
		in[i] = (char)(i * 7 + i / 1000);
	memset(&o, 0, sizeof(o));
	o.stdin_data = in;
	o.stdin_len = n;
	run_ok(c, "cat", &o, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.out.len, n);
	assert_memory_equal(r.out.s, in, n);
	conn_result_release(&r);

	run_ok(c, "kill -KILL $$", NULL, &r);
	assert_int_equal(r.rc, 128 + 9);
	conn_result_release(&r);
	free(in);
	conn_pool_free(pool);
}

static void test_ssh_put_get(void **state)
{
	struct conn_pool *pool;
	struct conn *c = ssh_root(&pool);
	char path[300], data[256];
	struct buf b = BUF_INIT;
	struct stat st;
	struct err e;
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		data[i] = (char)i;
	snprintf(path, sizeof(path), "%s/it's remote.bin", tmpdir);
	err_init(&e);
	assert_int_equal(conn_put(c, data, sizeof(data), path, 0640, NULL, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_size, 256);
	assert_int_equal(conn_put(c, data, 10, path, -1, NULL, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(conn_get(c, path, &b, NULL, &e), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.s, data, 10);
	buf_release(&b);
	assert_int_equal(test_count_entries(tmpdir, ".drover-"), 0);

	err_init(&e);
	assert_int_equal(conn_get(c, "/nonexistent/f", &b, NULL, &e), ERR_IO);
	assert_non_null(strstr(e.msg, "No such file"));
	buf_release(&b);
	conn_pool_free(pool);

	/* ~/ is the login user's home on the host */
	c = ssh_as(&pool, TEST_USER);
	assert_int_equal(conn_put(c, "kubeconfig", 10, "~/it's.conf", 0600, NULL, &e), 0);
	assert_int_equal(conn_get(c, "~/it's.conf", &b, NULL, &e), 0);
	assert_string_equal(buf_str(&b), "kubeconfig");
	buf_release(&b);
	snprintf(path, sizeof(path), "%s/it's.conf", getpwnam(test_user)->pw_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	conn_pool_free(pool);
}

static void expect_unreach(struct conn_pool *pool, json_t *vars, const char *const *needles)
{
	struct err e;
	char msg[2600];

	assert_null(ssh_get(pool, "node1", vars, &e));
	assert_int_equal(e.code, ERR_UNREACH);
	err_format(&e, msg, sizeof(msg));
	for (; *needles; needles++)
		if (!strstr(msg, *needles))
			fail_msg("'%s' not in: %s", *needles, msg);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_ssh_host_keys(void **state)
{
	static const char *const unknown[] = {
	    "Failed to connect to the host via ssh", "not a known host",          "ssh-keyscan -p",
	    "StrictHostKeyChecking=accept-new",      "host_key_checking = False", NULL};
	static const char *const changed[] = {"REMOTE HOST IDENTIFICATION HAS CHANGED",
	                                      "ssh-keygen -f", NULL};
	struct conn_defaults d = {.host_key_checking = 1};
	struct conn_pool *pool = conn_pool_new(&d);
	char kh[300], args[400], *text, wrong[300], *pub;
	struct err e;
	size_t len;

	(void)state;
	snprintf(kh, sizeof(kh), "%s/kh-empty", tmpdir);
	write_text(kh, "");
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s", kh);
	expect_unreach(pool, ssh_vars("root", args), unknown);
	conn_pool_free(pool);
	pool = conn_pool_new(&d);

	/* accept-new records the key, and the recorded key is then trusted */
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new",
	         kh);
	if (!ssh_get(pool, "node1", ssh_vars("root", args), &e))
		fail_msg("accept-new: %s", e.msg);
	conn_pool_free(pool);
	text = read_file(kh, &len);
	assert_non_null(strstr(text, "ssh-ed25519"));
	free(text);
	pool = conn_pool_new(&d);
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s", kh);
	if (!ssh_get(pool, "node1", ssh_vars("root", args), &e))
		fail_msg("recorded key: %s", e.msg);
	conn_pool_free(pool);

	/* host_key_checking off: connects, records nothing */
	d.host_key_checking = 0;
	pool = conn_pool_new(&d);
	snprintf(kh, sizeof(kh), "%s/kh-off", tmpdir);
	write_text(kh, "");
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s", kh);
	if (!ssh_get(pool, "node1", ssh_vars("root", args), &e))
		fail_msg("accept-new: %s", e.msg);
	conn_pool_free(pool);
	text = read_file(kh, &len);
	assert_int_equal(len, 0);
	free(text);

	/* a changed key is refused even with checking off or accept-new */
	snprintf(wrong, sizeof(wrong), "%s/wrong_ed25519.pub", sshd_dir);
	pub = read_file(wrong, &len);
	snprintf(kh, sizeof(kh), "%s/kh-changed", tmpdir);
	text = xasprintf("[127.0.0.1]:%d %s", sshd_port, pub);
	write_text(kh, text);
	free(text);
	free(pub);
	pool = conn_pool_new(&d);
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s", kh);
	expect_unreach(pool, ssh_vars("root", args), changed);
	conn_pool_free(pool);
	d.host_key_checking = 1;
	pool = conn_pool_new(&d);
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new",
	         kh);
	expect_unreach(pool, ssh_vars("root", args), changed);
	conn_pool_free(pool);
}

static void test_ssh_auth_failures(void **state)
{
	static const char *const denied[] = {"Failed to connect to the host via ssh",
	                                     "root@127.0.0.1", "Permission denied", NULL};
	static const char *const refused[] = {
	    "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1", NULL};
	struct conn_pool *pool = conn_pool_new(NULL);
	char key[300];
	json_t *v;

	(void)state;
	v = ssh_vars("root", NULL);
	snprintf(key, sizeof(key), "%s/wrong_ed25519", sshd_dir);
	json_object_set_new(v, "ansible_ssh_private_key_file", json_string(key));
	expect_unreach(pool, v, denied);

	/* a fresh pool: the pool keeps the first vars it saw for a host */
	conn_pool_free(pool);
	pool = conn_pool_new(NULL);
	v = ssh_vars("root", NULL);
	json_object_set_new(v, "ansible_port", json_integer(1));
	expect_unreach(pool, v, refused);
	conn_pool_free(pool);
}

/* No key file given: the key comes from ssh-agent. */
static void test_ssh_agent(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL), *agent_pool;
	char sock[300], line[300], msg[2600];
	struct conn_result r;
	struct conn *c;
	struct err e;
	int pid = 0;
	FILE *p;
	json_t *v;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/agent.sock", tmpdir);
	snprintf(line, sizeof(line), "ssh-agent -s -a '%s'", sock);
	p = popen(line, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, "SSH_AGENT_PID=", 14))
			pid = atoi(line + 14);
	pclose(p);
	assert_true(pid > 0);
	assert_int_equal(
	    sh("SSH_AUTH_SOCK='%s' ssh-add -q '%s/id_ed25519' 2>/dev/null", sock, sshd_dir), 0);
	setenv("SSH_AUTH_SOCK", sock, 1);
	v = ssh_vars(TEST_USER, NULL);
	json_object_del(v, "ansible_ssh_private_key_file");
	c = ssh_get(pool, "node1", v, &e);

	/* a wrong key file, then the agent's key; IdentitiesOnly=yes stops
	 * after the key file, as OpenSSH does */
	snprintf(line, sizeof(line), "%s/wrong_ed25519", sshd_dir);
	v = ssh_vars(TEST_USER, NULL);
	json_object_set_new(v, "ansible_ssh_private_key_file", json_string(line));
	agent_pool = conn_pool_new(NULL);
	assert_non_null(ssh_get(agent_pool, "node2", v, &e));
	v = ssh_vars(TEST_USER, "-o IdentitiesOnly=yes");
	json_object_set_new(v, "ansible_ssh_private_key_file", json_string(line));
	assert_null(ssh_get(agent_pool, "node3", v, &e));
	assert_non_null(strstr(e.msg, "Permission denied"));
	conn_pool_free(agent_pool);

	unsetenv("SSH_AUTH_SOCK");
	kill(pid, SIGTERM);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	run_ok(c, "id -un", NULL, &r);
	assert_string_equal(buf_str(&r.out), test_user_nl());
	conn_result_release(&r);
	conn_pool_free(pool);
}

/* A key with a passphrase and no terminal to ask on: a clear refusal, no
 * prompt that would hang an unattended run. */
static void test_ssh_key_passphrase_no_tty(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	char key[300];
	struct err e;
	json_t *v;
	int saved = dup(0), null = open("/dev/null", O_RDONLY);

	(void)state;
	snprintf(key, sizeof(key), "%s/locked_ed25519", tmpdir);
	assert_int_equal(sh("ssh-keygen -q -t ed25519 -N 'secret phrase' -f '%s'", key), 0);
	assert_int_equal(sh("cat '%s.pub' >> '%s/authorized_keys'", key, sshd_dir), 0);
	v = ssh_vars(TEST_USER, NULL);
	json_object_set_new(v, "ansible_ssh_private_key_file", json_string(key));
	dup2(null, 0);
	assert_null(ssh_get(pool, "node1", v, &e));
	dup2(saved, 0);
	close(saved);
	close(null);
	assert_int_equal(e.code, ERR_UNREACH);
	assert_non_null(strstr(e.msg, "Permission denied"));
	assert_non_null(strstr(e.msg, "passphrase"));
	assert_non_null(strstr(e.msg, key));
	conn_pool_free(pool);
}

/* Options carried over from Ansible configs: OpenSSH-only ones are accepted
 * quietly, an unknown one is warned about once per run, not per host. */
static void test_ssh_common_args(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	const char *args = "-C -o ControlMaster=auto -o ControlPersist=60s -o NoSuchOption=1 "
	                   "-o ServerAliveInterval=5 -o ConnectTimeout=5";
	int warns = log_warn_count();
	struct err e;

	(void)state;
	assert_non_null(ssh_get(pool, "node1", ssh_vars(TEST_USER, args), &e));
	assert_non_null(ssh_get(pool, "node2", ssh_vars(TEST_USER, args), &e));
	assert_int_equal(log_warn_count() - warns, 1);
	conn_pool_free(pool);

	pool = conn_pool_new(NULL);
	assert_null(ssh_get(pool, "node3", ssh_vars(TEST_USER, "-o ConnectTimeout=soon"), &e));
	assert_int_equal(e.code, ERR_GENERIC);
	assert_non_null(strstr(e.msg, "ConnectTimeout=soon"));
	assert_non_null(strstr(e.msg, "ansible_ssh_common_args"));
	conn_pool_free(pool);
}

/* A port that accepts TCP but never speaks SSH must not hang the run. */
static void test_ssh_silent_server(void **state)
{
	struct conn_defaults d = {.host_key_checking = 1, .timeout = 2};
	struct conn_pool *pool = conn_pool_new(&d);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct err e;
	json_t *v;
	double t0;

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	v = ssh_vars("root", NULL);
	json_object_set_new(v, "ansible_port", json_integer(ntohs(sa.sin_port)));
	t0 = now_s();
	assert_null(ssh_get(pool, "node1", v, &e));
	assert_int_equal(e.code, ERR_UNREACH);
	assert_true(now_s() - t0 < 6.0);
	close(fd);
	conn_pool_free(pool);
}

static void test_ssh_timeout(void **state)
{
	struct conn_pool *pool;
	struct conn *c = ssh_root(&pool);
	struct conn_exec_opts o = {.timeout = 1};
	struct conn_result r;
	struct err e;
	double t0 = now_s();

	(void)state;
	err_init(&e);
	assert_int_equal(conn_exec(c, "sleep 100", &o, &r, &e), ERR_TIMEOUT);
	assert_true(now_s() - t0 < 4.0);
	conn_result_release(&r);
	/* the session is still good */
	run_ok(c, "echo still", NULL, &r);
	assert_string_equal(buf_str(&r.out), "still\n");
	conn_result_release(&r);
	/* a command that timed out is stopped: it never goes on to its next step */
	char mark[] = "/tmp/drover-timeout-XXXXXX", cmd[128];
	int fd = mkstemp(mark);
	assert_true(fd >= 0);
	close(fd);
	unlink(mark);
	snprintf(cmd, sizeof(cmd), "sleep 2; touch %s", mark);
	assert_int_equal(conn_exec(c, cmd, &o, &r, &e), ERR_TIMEOUT);
	conn_result_release(&r);
	sleep(3);
	assert_int_equal(access(mark, F_OK), -1);
	unlink(mark);
	conn_pool_free(pool);
}

struct ssh_worker {
	struct conn *c;
	int id, bad;
	char why[256];
};

static void *ssh_worker_run(void *arg)
{
	struct ssh_worker *w = arg;
	struct conn_result r;
	struct err e;
	char cmd[128], want[64];
	int i;

	for (i = 0; i < 10; i++) {
		err_init(&e);
		/* varied sizes and exit codes so crossed streams would show */
		snprintf(cmd, sizeof(cmd),
		         "echo %d-%d; head -c %d /dev/zero | tr '\\0' %c >&2; exit %d", w->id, i,
		         (w->id * 997 + i * 131) % 70000, 'a' + w->id, (w->id + i) % 5);
		snprintf(want, sizeof(want), "%d-%d\n", w->id, i);
		if (conn_exec(w->c, cmd, NULL, &r, &e)) {
			snprintf(w->why, sizeof(w->why), "%s", e.msg);
			w->bad++;
			continue;
		}
		if (r.rc != (w->id + i) % 5 || strcmp(buf_str(&r.out), want) ||
		    r.err.len != (size_t)((w->id * 997 + i * 131) % 70000)) {
			size_t k = 0;
			while (k < r.err.len && r.err.s[k] == 'a' + w->id)
				k++;
			snprintf(w->why, sizeof(w->why),
			         "rc %d out '%s' err %zu, other at %zu: %.60s", r.rc,
			         buf_str(&r.out), r.err.len, k, r.err.s ? r.err.s + k : "");
			w->bad++;
		}
		conn_result_release(&r);
	}
	return NULL;
}

static void test_ssh_threads_one_session(void **state)
{
	struct conn_pool *pool;
	struct conn *c;
	struct ssh_worker w[20];
	pthread_t t[20];
	int i, before = sshd_logins();

	(void)state;
	c = ssh_as(&pool, TEST_USER);
	for (i = 0; i < 20; i++) {
		w[i] = (struct ssh_worker){.c = c, .id = i};
		pthread_create(&t[i], NULL, ssh_worker_run, &w[i]);
	}
	for (i = 0; i < 20; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 20; i++) {
		if (w[i].bad)
			fail_msg("worker %d: %d bad, last: %s", i, w[i].bad, w[i].why);
	}
	conn_pool_free(pool);
	assert_int_equal(sshd_logins() - before, 1);
}

/* A server with MaxSessions 2: drover learns the limit and queues. */
static void test_ssh_max_sessions(void **state)
{
	char dir[300], key[300], args[400], msg[2600];
	struct conn_pool *pool = conn_pool_new(NULL);
	struct ssh_worker w[6];
	pthread_t t[6];
	struct conn *c;
	struct err e;
	json_t *v;
	int i, port = sshd_port + 1;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sshd-max2", tmpdir);
	assert_int_equal(sh("mkdir -p '%s' && cp '%s/id_ed25519' '%s/id_ed25519.pub' '%s/'", dir,
	                    sshd_dir, sshd_dir, dir),
	                 0);
	if (sh("SSHD_MAXSESSIONS=2 sh conn/sshd.sh start '%s' 127.0.0.1 %d", dir, port))
		fail_msg("cannot start the second sshd on port %d", port);
	v = ssh_vars(TEST_USER, NULL);
	snprintf(key, sizeof(key), "%s/id_ed25519", dir);
	snprintf(args, sizeof(args), "-o UserKnownHostsFile=%s/known_hosts", dir);
	json_object_set_new(v, "ansible_port", json_integer(port));
	json_object_set_new(v, "ansible_ssh_private_key_file", json_string(key));
	json_object_set_new(v, "ansible_ssh_common_args", json_string(args));
	c = ssh_get(pool, "max2", v, &e);
	if (!c) {
		sh("sh conn/sshd.sh stop '%s'", dir);
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	}
	for (i = 0; i < 6; i++) {
		w[i] = (struct ssh_worker){.c = c, .id = i};
		pthread_create(&t[i], NULL, ssh_worker_run, &w[i]);
	}
	for (i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	conn_pool_free(pool);
	sh("sh conn/sshd.sh stop '%s'", dir);
	for (i = 0; i < 6; i++)
		if (w[i].bad)
			fail_msg("worker %d: %d bad, last: %s", i, w[i].bad, w[i].why);
}

static void *slow_cmd(void *arg)
{
	struct conn *c = arg;
	struct conn_result r;
	struct err e;
	int ret;

	err_init(&e);
	ret = conn_exec(c, "sleep 30", NULL, &r, &e);
	conn_result_release(&r);
	return (void *)(intptr_t)ret;
}

static void test_ssh_sshd_killed(void **state)
{
	struct conn_pool *pool;
	struct conn *c = ssh_as(&pool, TEST_USER);
	struct ssh_worker w[5];
	struct conn_result r;
	struct err e;
	pthread_t t[5];
	void *ret;
	double t0;
	int i, logins;

	(void)state;
	run_ok(c, "true", NULL, &r);
	conn_result_release(&r);
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, slow_cmd, c);
	usleep(300000);
	t0 = now_s();
	assert_int_equal(sshd_stop(), 0);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], &ret);
		assert_int_equal((int)(intptr_t)ret, ERR_UNREACH);
	}
	assert_true(now_s() - t0 < 5.0);

	err_init(&e);
	assert_int_equal(conn_exec(c, "true", NULL, &r, &e), ERR_UNREACH);
	assert_non_null(strstr(e.msg, "Failed to connect to the host via ssh"));
	conn_result_release(&r);

	/* the host comes back (a reboot): the next commands, arriving together,
	 * reconnect once and share the new session */
	assert_int_equal(sshd_start(), 0);
	logins = sshd_logins();
	for (i = 0; i < 5; i++) {
		w[i] = (struct ssh_worker){.c = c, .id = i};
		pthread_create(&t[i], NULL, ssh_worker_run, &w[i]);
	}
	for (i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 5; i++)
		if (w[i].bad)
			fail_msg("worker %d: %d bad, last: %s", i, w[i].bad, w[i].why);
	assert_int_equal(sshd_logins() - logins, 1);
	conn_pool_free(pool);
}

/* A session whose server side hangs (a host that vanished without closing
 * TCP looks the same): the next command gives up on it within the connect
 * timeout and reconnects. */
static void test_ssh_stale_session(void **state)
{
	struct conn_defaults d = {.host_key_checking = 1, .timeout = 2};
	struct conn_pool *pool = conn_pool_new(&d);
	char path[300], *pid;
	struct conn_result r;
	struct conn *c;
	struct err e;
	size_t len;
	double t0;

	(void)state;
	c = ssh_get(pool, "node1", ssh_vars(TEST_USER, NULL), &e);
	assert_non_null(c);
	run_ok(c, "true", NULL, &r);
	conn_result_release(&r);
	snprintf(path, sizeof(path), "%s/sshd.pid", sshd_dir);
	pid = read_file(path, &len);
	assert_non_null(pid);
	/* freeze every process serving the session, not the listener */
	assert_int_equal(sh("for p in $(ps -o pid= --ppid %d); do kill -STOP $p; "
	                    "ps -o pid= --ppid $p | xargs -r kill -STOP; done",
	                    atoi(pid)),
	                 0);
	t0 = now_s();
	run_ok(c, "echo fresh", NULL, &r);
	assert_string_equal(buf_str(&r.out), "fresh\n");
	assert_true(now_s() - t0 < 8.0);
	conn_result_release(&r);
	conn_pool_free(pool);
	/* the frozen session is of no use to anyone any more */
	sh("for p in $(ps -o pid= --ppid %d); do ps -o pid= --ppid $p | xargs -r kill -KILL; "
	   "kill -KILL $p; done",
	   atoi(pid));
	free(pid);
}

static void test_ssh_proxycommand(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	struct conn_result r;
	struct conn *c;
	struct err e;
	char args[900], msg[2600];

	(void)state;
	/* what ProxyJump becomes: the OpenSSH client relays the connection */
	snprintf(args, sizeof(args),
	         "-o 'ProxyCommand=ssh -q -i %s/id_ed25519 -o UserKnownHostsFile=%s/known_hosts "
	         "-o BatchMode=yes -p %d -W %%h:%%p root@127.0.0.1'",
	         sshd_dir, sshd_dir, sshd_port);
	c = ssh_get(pool, "node1", ssh_vars("root", args), &e);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	run_ok(c, "echo $SSH_CLIENT", NULL, &r);
	assert_non_null(strstr(buf_str(&r.out), "127.0.0.1"));
	conn_result_release(&r);
	conn_pool_free(pool);
}

static void test_ssh_password_login(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	struct conn_result r;
	struct conn *c;
	struct err e;
	char msg[2600];
	json_t *v = ssh_vars(TEST_USER, NULL);

	(void)state;
	json_object_del(v, "ansible_ssh_private_key_file");
	json_object_set_new(v, "ansible_password", json_string(test_pw));
	c = ssh_get(pool, "node1", v, &e);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	run_ok(c, "id -un", NULL, &r);
	assert_string_equal(buf_str(&r.out), test_user_nl());
	conn_result_release(&r);
	conn_pool_free(pool);

	pool = conn_pool_new(NULL);
	v = ssh_vars(TEST_USER, NULL);
	json_object_del(v, "ansible_ssh_private_key_file");
	json_object_set_new(v, "ansible_password", json_string("wrong password"));
	assert_null(ssh_get(pool, "node1", v, &e));
	assert_int_equal(e.code, ERR_UNREACH);
	assert_non_null(strstr(e.msg, "Permission denied"));
	assert_null(strstr(e.msg, "wrong password"));
	conn_pool_free(pool);
}

/* ProxyJump through the test sshd to itself: two logins, one for the jump
 * host (OpenSSH's ssh -W, reading the -F config) and one for the target. */
static void test_ssh_proxyjump(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	struct conn_result r;
	struct conn *c;
	struct err e;
	char cfg[300], text[1200], args[700], msg[2600];
	int before = sshd_logins();

	(void)state;
	snprintf(cfg, sizeof(cfg), "%s/jump_config", tmpdir);
	snprintf(text, sizeof(text),
	         "Host jumphost\n  HostName 127.0.0.1\n  Port %d\n  User root\n"
	         "  IdentityFile %s/id_ed25519\n  UserKnownHostsFile %s/known_hosts\n"
	         "  BatchMode yes\n",
	         sshd_port, sshd_dir, sshd_dir);
	write_text(cfg, text);
	snprintf(args, sizeof(args), "-F %s -o ProxyJump=jumphost", cfg);
	c = ssh_get(pool, "node1", ssh_vars(TEST_USER, args), &e);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	run_ok(c, "id -un", NULL, &r);
	assert_string_equal(buf_str(&r.out), test_user_nl());
	conn_result_release(&r);
	assert_int_equal(sshd_logins() - before, 2);
	conn_pool_free(pool);
}

static int set_password(const char *user, const char *pw)
{
	FILE *p = popen("chpasswd", "w");

	if (!p)
		return -1;
	fprintf(p, "%s:%s\n", user, pw);
	return pclose(p) == 0 ? 0 : -1;
}

static int ssh_setup(void **state)
{
	char cwd[400], *path;
	int i;

	(void)state;
	if (setup_tmp(state))
		return -1;
	snprintf(sshd_dir, sizeof(sshd_dir), "%s/sshd", tmpdir);
	snprintf(pct_dir, sizeof(pct_dir), "%s/pct", tmpdir);
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	snprintf(standin_path, sizeof(standin_path),
	         "%s/conn/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", cwd);
	/* local children (a Proxmox node reached with the local connection)
	 * find the stand-in the same way */
	path = xasprintf("%s/conn/bin:%s", cwd, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	free(path);
	setenv("DROVER_PCT_STANDIN", pct_dir, 1);
	chmod(tmpdir, 0711); /* the test user's sshd reads authorized_keys inside */
	sshd_port = 20000 + (int)(getpid() % 10000);
	snprintf(test_pw, sizeof(test_pw), "pw-%ld-%d'\"$x", (long)time(NULL), (int)getpid());
	snprintf(test_user, sizeof(test_user), "drovert%d", (int)getpid());
	if (sh("sh conn/sshd.sh user %s", TEST_USER) || set_password(TEST_USER, test_pw))
		return -1;
	/* another test may hold the port: try a few */
	for (i = 0; i < 5; i++, sshd_port += 7919)
		if (sshd_start() == 0)
			return 0;
	return -1;
}

static int ssh_teardown(void **state)
{
	sshd_stop();
	sh("sh conn/sshd.sh deluser %s", test_user);
	return teardown_tmp(state);
}
