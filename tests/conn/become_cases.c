/*
 * become_cases.c - become (sudo with a password, su) tests, included by
 * tests/test_conn.c after ssh_cases.c, whose sshd and per-run test user
 * (with a sudo password) they use.
 */

/* Does any process's argv contain needle? */
static int in_any_cmdline(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[300], *cl;
	size_t len, i;
	int found = 0;

	while (d && (de = readdir(d)) && !found) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		cl = read_file(path, &len);
		for (i = 0; cl && i < len; i++)
			if (!cl[i])
				cl[i] = ' ';
		found = cl && strstr(cl, needle);
		free(cl);
	}
	if (d)
		closedir(d);
	return found;
}

struct become_run {
	struct conn *c;
	int ret, rc;
	char out[64];
};

static void *become_sleep(void *arg)
{
	struct become_run *b = arg;
	struct conn_exec_opts o = {.become = 1, .become_password = test_pw};
	struct conn_result r;
	struct err e;

	err_init(&e);
	b->ret = conn_exec(b->c, "sleep 2; id -u", &o, &r, &e);
	b->rc = r.rc;
	snprintf(b->out, sizeof(b->out), "%s", buf_str(&r.out));
	conn_result_release(&r);
	return NULL;
}

static void test_ssh_become_password(void **state)
{
	struct conn_pool *pool;
	struct conn *c = ssh_as(&pool, TEST_USER);
	struct conn_exec_opts o = {.become = 1};
	struct conn_result r;
	struct become_run b = {.c = c};
	char path[300], msg[2600];
	struct stat st;
	struct err e;
	pthread_t t;
	int seen = 0, i;

	(void)state;
	if (access("/usr/bin/sudo", X_OK))
		fail_msg("sudo is not installed (apt-get install sudo)");
	/* the user's first sudo: the command runs as root, stdin reaches the
	 * command, and nothing of the exchange with sudo (its first-use lecture,
	 * the prompt) shows in the output */
	o.become_password = test_pw;
	o.stdin_data = "line1\nline2\n";
	o.stdin_len = 12;
	run_ok(c, "id -u; cat", &o, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(buf_str(&r.out), "0\nline1\nline2\n");
	assert_string_equal(buf_str(&r.err), "");
	conn_result_release(&r);

	/* a wrong password: sudo asks again, drover stops and says so */
	o.become_password = "not-the-password";
	err_init(&e);
	assert_true(conn_exec(c, "id -u", &o, &r, &e) < 0);
	err_format(&e, msg, sizeof(msg));
	assert_non_null(strstr(msg, "Incorrect sudo password"));
	assert_null(strstr(msg, "not-the-password"));
	conn_result_release(&r);

	/* the password never shows in any process's argv while sudo runs */
	pthread_create(&t, NULL, become_sleep, &b);
	for (i = 0; i < 30; i++) {
		seen |= in_any_cmdline(test_pw);
		usleep(50000);
	}
	pthread_join(t, NULL);
	assert_int_equal(b.ret, 0);
	assert_string_equal(b.out, "0\n");
	assert_false(seen);

	/* files written under become go through sudo */
	snprintf(path, sizeof(path), "%s/become-ssh.txt", tmpdir);
	o.become_password = test_pw;
	o.stdin_data = NULL;
	o.stdin_len = 0;
	err_init(&e);
	if (conn_put(c, "root's file\n", 12, path, 0600, &o, &e))
		fail_msg("put: %s", err_format(&e, msg, sizeof(msg)));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* no password: sudo -n fails instead of waiting for one */
	o.become_password = NULL;
	run_ok(c, "id -u", &o, &r);
	assert_int_not_equal(r.rc, 0);
	assert_non_null(strstr(buf_str(&r.err), "password"));
	conn_result_release(&r);
	conn_pool_free(pool);
}

/* In a child that is the test user: the local connection's sudo prompt. */
static int local_become_as_user(void)
{
	struct conn_exec_opts o = {.become = 1, .become_password = test_pw};
	struct conn_pool *pool;
	struct conn_result r;
	struct conn *c;
	struct err e;
	int bad = 0;

	pool = conn_pool_new(NULL);
	err_init(&e);
	c = conn_pool_get(pool, "localhost", NULL, NULL, NULL, &e);
	if (!c)
		bad |= 1;
	o.stdin_data = "in\n";
	o.stdin_len = 3;
	if (c && (conn_exec(c, "id -u; cat", &o, &r, &e) || r.rc ||
	          strcmp(buf_str(&r.out), "0\nin\n") || r.err.len))
		bad |= 2;
	if (c)
		conn_result_release(&r);
	o.become_password = "wrong";
	err_init(&e);
	if (c && (conn_exec(c, "id -u", &o, &r, &e) != ERR_GENERIC ||
	          !strstr(e.msg, "Incorrect sudo password")))
		bad |= 4;
	if (c)
		conn_result_release(&r);
	conn_pool_free(pool);
	return bad;
}

static void test_local_become_password(void **state)
{
	struct passwd *pw = getpwnam(test_user);
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(pw);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(pw->pw_gid) || initgroups(test_user, pw->pw_gid) || setuid(pw->pw_uid))
			_exit(100);
		setenv("HOME", pw->pw_dir, 1);
		if (chdir("/"))
			_exit(101);
		_exit(local_become_as_user());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("local become as %s failed: code %d (1 connect, 2 sudo with the "
		         "password, 4 wrong password not reported)",
		         test_user, WEXITSTATUS(status));
}
