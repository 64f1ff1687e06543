/*
 * become_cases.c - become (sudo with a password, su) tests, included by
 * tests/test_conn.c after ssh_cases.c and pct_cases.c, whose sshd, per-run
 * test user (with a sudo password) and pct stand-in they use.
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
	struct conn_exec_opts o;
	int ret, rc;
	char out[64];
};

/* A become command that takes two seconds, for watching process lists. */
static void *become_sleep(void *arg)
{
	struct become_run *b = arg;
	struct conn_result r;
	struct err e;

	err_init(&e);
	b->ret = conn_exec(b->c, "sleep 2; id -un", &b->o, &r, &e);
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
	struct become_run b = {.c = c, .o = {.become = 1, .become_password = test_pw}};
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
	assert_string_equal(b.out, "root\n");
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

/* fn's result in a child process that is the test user (0 when it passed). */
static int as_test_user(int (*fn)(void))
{
	struct passwd *pw = getpwnam(test_user);
	int status;
	pid_t pid;

	assert_non_null(pw);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(pw->pw_gid) || initgroups(test_user, pw->pw_gid) || setuid(pw->pw_uid))
			_exit(100);
		setenv("HOME", pw->pw_dir, 1);
		if (chdir("/"))
			_exit(101);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_local_become_password(void **state)
{
	int bad;

	(void)state;
	bad = as_test_user(local_become_as_user);
	if (bad)
		fail_msg("local become as %s failed: code %d (1 connect, 2 sudo with the "
		         "password, 4 wrong password not reported)",
		         test_user, bad);
}

/*
 * su with a password (become_method: su). User A (the per-run test user)
 * becomes user B, a throwaway user with a password of its own, created and
 * removed around each su test.
 */
static char su_user[32];
static char su_pw[48];

static int su_setup(void **state)
{
	(void)state;
	snprintf(su_user, sizeof(su_user), "drovsu%d", (int)getpid());
	snprintf(su_pw, sizeof(su_pw), "su-%ld-%d'\"$x ;", (long)time(NULL), (int)getpid());
	sh("sh conn/sshd.sh deluser %s", su_user);
	if (sh("useradd -m -s /bin/sh %s", su_user) || set_password(su_user, su_pw))
		return -1;
	return 0;
}

static int su_teardown(void **state)
{
	(void)state;
	return sh("sh conn/sshd.sh deluser %s", su_user) ? -1 : 0;
}

static struct conn_exec_opts su_opts(const char *pw)
{
	struct conn_exec_opts o = {.become = 1, .become_method = "su"};

	o.become_user = su_user;
	o.become_password = pw;
	return o;
}

/* Every byte value, the terminal's special characters included (^C ^D ^Z
 * ^\ ^S ^Q ^V, CR, DEL), then filler: more than a terminal line or buffer. */
static char *su_payload(size_t *n)
{
	size_t i, len = 300000;
	char *p = xmalloc(len);

	for (i = 0; i < len; i++)
		p[i] = i < 256 ? (char)i : (char)("ab\r\n\x03\x04\x7f"[i % 7]);
	*n = len;
	return p;
}

static int out_is(const struct conn_result *r, const char *want)
{
	return !strcmp(buf_str(&r->out), want);
}

/* The checks both transports must pass; returns a bit per failure so a
 * forked child can report them. */
static int su_checks(struct conn *c)
{
	struct conn_exec_opts o = su_opts(su_pw);
	struct conn_result r;
	struct err e;
	char want[64], path[300];
	struct buf b = BUF_INIT;
	struct passwd *pw = getpwnam(su_user);
	size_t n;
	char *in = su_payload(&n);
	double t0;
	int bad = 0, ret;

	snprintf(want, sizeof(want), "%s\n", su_user);
	err_init(&e);
	/* runs as B; nothing of su's prompt shows; stderr joins stdout (a pty) */
	ret = conn_exec(c, "id -un; echo to-err >&2; exit 3", &o, &r, &e);
	snprintf(path, sizeof(path), "%s\nto-err\n", su_user);
	if (ret || r.rc != 3 || !out_is(&r, path) || r.err.len)
		bad |= 1;
	conn_result_release(&r);
	/* stdin crosses the terminal byte for byte and ends */
	o.stdin_data = in;
	o.stdin_len = n;
	err_init(&e);
	ret = conn_exec(c, "cat", &o, &r, &e);
	if (ret || r.rc || r.out.len != n || memcmp(r.out.s, in, n))
		bad |= 2;
	conn_result_release(&r);
	o.stdin_data = NULL;
	o.stdin_len = 0;
	/* without stdin the command reads /dev/null, not the terminal */
	err_init(&e);
	if (conn_exec(c, "wc -c", &o, &r, &e) || r.rc || strcmp(buf_str(&r.out), "0\n"))
		bad |= 4;
	conn_result_release(&r);
	/* files written and read as B */
	snprintf(path, sizeof(path), "%s/su-put.bin", pw ? pw->pw_dir : "/nonexistent");
	err_init(&e);
	if (conn_put(c, in, n, path, 0600, &o, &e) || conn_get(c, path, &b, &o, &e) || b.len != n ||
	    memcmp(b.s, in, n))
		bad |= 8;
	buf_release(&b);
	{
		struct stat st;
		if (stat(path, &st) || !pw || st.st_uid != pw->pw_uid)
			bad |= 8;
	}
	/* a wrong password fails clearly and soon, without the password */
	o.become_password = "not-B's-password";
	err_init(&e);
	t0 = now_s();
	ret = conn_exec(c, "id -un", &o, &r, &e);
	if (ret != ERR_GENERIC || !strstr(e.msg, "Incorrect su password") ||
	    strstr(e.msg, "not-B") || now_s() - t0 > 10 || strstr(buf_str(&r.out), "not-B"))
		bad |= 16;
	conn_result_release(&r);
	free(in);
	return bad;
}

static const char *const su_check_names =
    "1 id/rc/stderr, 2 stdin, 4 no stdin, 8 put/get as B, 16 wrong password";

static void test_ssh_su_password(void **state)
{
	struct conn_pool *pool;
	struct conn *c = ssh_as(&pool, TEST_USER);
	struct become_run w = {.c = c, .o = su_opts(su_pw)};
	char want[64];
	pthread_t t;
	int bad, seen = 0, i;

	(void)state;
	bad = su_checks(c);
	if (bad)
		fail_msg("su over ssh as %s to %s: failed checks %d (%s)", test_user, su_user, bad,
		         su_check_names);
	/* the password is in no process's argv while su runs */
	pthread_create(&t, NULL, become_sleep, &w);
	for (i = 0; i < 30; i++) {
		seen |= in_any_cmdline(su_pw);
		usleep(50000);
	}
	pthread_join(t, NULL);
	snprintf(want, sizeof(want), "%s\n", su_user);
	assert_int_equal(w.ret, 0);
	assert_string_equal(w.out, want);
	assert_false(seen);
	conn_pool_free(pool);
}

/* As user A: the local connection on a pseudo-terminal. */
static int local_su_as_user(void)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	struct conn *c;
	struct err e;
	int bad;

	err_init(&e);
	c = conn_pool_get(pool, "localhost", NULL, NULL, NULL, &e);
	bad = c ? su_checks(c) : 64;
	conn_pool_free(pool);
	return bad;
}

static void test_local_su_password(void **state)
{
	int bad;

	(void)state;
	bad = as_test_user(local_su_as_user);
	if (bad)
		fail_msg("local su as %s to %s: failed checks %d (%s)", test_user, su_user, bad,
		         su_check_names);
}

/* su that never asks (here: an exe that only sleeps) cannot hang a run:
 * the connect timeout + 2 s bounds it, even with no command timeout. */
static void test_su_never_asks(void **state)
{
	struct conn_defaults d = {.host_key_checking = 1, .timeout = 1};
	struct conn_exec_opts o = su_opts(su_pw);
	struct conn_pool *pool = conn_pool_new(&d);
	struct conn_result r;
	struct err e;
	struct conn *c;
	double t0;

	(void)state;
	err_init(&e);
	c = conn_pool_get(pool, "localhost", NULL, NULL, NULL, &e);
	assert_non_null(c);
	o.become_exe = "echo waiting; sleep 30 #";
	t0 = now_s();
	assert_int_equal(conn_exec(c, "id -un", &o, &r, &e), ERR_TIMEOUT);
	assert_true(now_s() - t0 < 6);
	assert_non_null(strstr(e.msg, "Timeout waiting for privilege escalation"));
	assert_non_null(strstr(e.msg, "did not ask for a password"));
	assert_non_null(strstr(e.msg, "waiting"));
	conn_result_release(&r);
	conn_pool_free(pool);
}

/* become_flags and become_exe as Ansible puts them on the command line, and
 * su without a password (from root) on plain pipes. */
static void test_become_flags_exe(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	struct conn_exec_opts o = su_opts(NULL);
	struct conn_result r;
	struct passwd *pw = getpwnam(su_user);
	char want[400];
	struct err e;

	(void)state;
	assert_non_null(pw);
	/* su USER -c '/bin/sh -c CMD': no pty, stderr apart */
	run_ok(c, "echo \"$(id -un) $HOME\"; echo e >&2", &o, &r);
	snprintf(want, sizeof(want), "%s %s\n", su_user, pw->pw_dir);
	assert_int_equal(r.rc, 0);
	assert_string_equal(buf_str(&r.out), want);
	assert_string_equal(buf_str(&r.err), "e\n");
	conn_result_release(&r);
	/* become_flags go before the user: a login shell starts in the home */
	o.become_flags = "-";
	o.become_exe = "/bin/su";
	run_ok(c, "pwd", &o, &r);
	snprintf(want, sizeof(want), "%s\n", pw->pw_dir);
	assert_string_equal(buf_str(&r.out), want);
	conn_result_release(&r);
	/* the exact argv: EXE FLAGS USER -c '/bin/sh -c CMD' */
	o.become_exe = "printf '<%s>'";
	o.become_flags = "-l -m";
	run_ok(c, "true", &o, &r);
	snprintf(want, sizeof(want), "<-l><-m><%s><-c></bin/sh -c 'true'>", su_user);
	assert_string_equal(buf_str(&r.out), want);
	conn_result_release(&r);
	/* sudo: Ansible's default flags, -u USER, then the command */
	o.become_method = "sudo";
	o.become_flags = NULL;
	run_ok(c, "true", &o, &r);
	snprintf(want, sizeof(want), "<-H><-S><-n><-u><%s><--></bin/sh><-c><true>", su_user);
	assert_string_equal(buf_str(&r.out), want);
	conn_result_release(&r);
	o.become_flags = "-E -H";
	o.become_user = NULL;
	run_ok(c, "true", &o, &r);
	assert_string_equal(buf_str(&r.out), "<-E><-H><-u><root><--></bin/sh><-c><true>");
	conn_result_release(&r);
	o.become_method = "doas";
	err_init(&e);
	assert_int_equal(conn_exec(c, "true", &o, &r, &e), ERR_GENERIC);
	assert_non_null(strstr(e.msg, "become_method 'doas' is not supported"));
	conn_result_release(&r);
	conn_pool_free(pool);
}

/* With a password sudo must be allowed to ask: -n goes, even inside -HSn. */
static void test_ssh_sudo_flags_password(void **state)
{
	struct conn_pool *pool;
	struct conn *c = ssh_as(&pool, TEST_USER);
	struct conn_exec_opts o = {.become = 1};
	struct conn_result r;

	(void)state;
	o.become_password = test_pw;
	o.become_flags = "-HSn --non-interactive";
	run_ok(c, "id -u; echo $HOME", &o, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(buf_str(&r.out), "0\n/root\n");
	conn_result_release(&r);
	conn_pool_free(pool);
}

/* pct: su runs inside the container, on a terminal the Proxmox node's ssh
 * session provides (here the node login is user A and the container is the
 * test stand-in, so su really asks). */
static void test_pct_su_password(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *node = ssh_vars(TEST_USER, NULL);
	struct conn_exec_opts o = su_opts(su_pw);
	struct conn_result r;
	struct conn *c;
	struct err e;
	char want[64], msg[2600];

	(void)state;
	pct_make("107", "running");
	c = pct_get(pool, "ct107", "107", node, &e);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	o.stdin_data = "from stdin\n";
	o.stdin_len = 11;
	run_ok(c, "id -un; cat", &o, &r);
	snprintf(want, sizeof(want), "%s\nfrom stdin\n", su_user);
	assert_int_equal(r.rc, 0);
	assert_string_equal(buf_str(&r.out), want);
	conn_result_release(&r);
	o.become_password = "wrong";
	err_init(&e);
	assert_int_equal(conn_exec(c, "id -un", &o, &r, &e), ERR_GENERIC);
	assert_non_null(strstr(e.msg, "Incorrect su password"));
	conn_result_release(&r);
	conn_pool_free(pool);
	json_decref(node);
}

/* su's prompt in other languages and forms (Ansible's list): a stand-in su
 * (become_exe) that asks with $PROMPT, checks the password it reads on the
 * terminal and then runs the command as su would. */
static void test_su_localized_prompts(void **state)
{
	static const char *const prompts[] = {"Пароль: ", "Mot de passe : ", "密码：",
	                                      "drovsu's password:", "PASSWORD:"};
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);
	struct conn_exec_opts o = su_opts("sekrit word");
	struct conn_result r;
	char exe[300], msg[2600];
	struct err e;
	size_t i;

	(void)state;
	snprintf(exe, sizeof(exe), "%s/fake-su", tmpdir);
	assert_int_equal(sh("printf '%%s\\n' '#!/bin/sh' 'printf \"%%s\" \"$PROMPT\"' "
	                    "'IFS= read -r pw' '[ \"$pw\" = \"sekrit word\" ] || "
	                    "{ echo; echo \"su: Authentication failure\"; exit 1; }' "
	                    "'echo' 'exec /bin/sh -c \"$3\"' > '%s' && chmod 755 '%s'",
	                    exe, exe),
	                 0);
	o.become_exe = exe;
	for (i = 0; i < sizeof(prompts) / sizeof(prompts[0]); i++) {
		setenv("PROMPT", prompts[i], 1);
		err_init(&e);
		if (conn_exec(c, "echo ran", &o, &r, &e))
			fail_msg("prompt '%s': %s", prompts[i], err_format(&e, msg, sizeof(msg)));
		assert_string_equal(buf_str(&r.out), "ran\n");
		conn_result_release(&r);
	}
	unsetenv("PROMPT");
	conn_pool_free(pool);
}

/* A command timeout under su on a terminal stops the command too, although
 * su -c runs it in a session of its own (from root su does not ask, so this
 * is the terminal path without the prompt). Over ssh the command may stay
 * behind, as under Ansible: sshd hangs su up, and su passes on only TERM. */
static void su_timeout_on(struct conn *c, const char *pw, const char *cmd)
{
	struct conn_exec_opts o = su_opts(pw);
	struct conn_result r;
	struct err e;
	double t0;
	int i;

	o.timeout = 2;
	err_init(&e);
	t0 = now_s();
	assert_int_equal(conn_exec(c, cmd, &o, &r, &e), ERR_TIMEOUT);
	assert_true(now_s() - t0 < 6);
	conn_result_release(&r);
	for (i = 0; i < 30 && in_any_cmdline(cmd); i++)
		usleep(100000);
	assert_false(in_any_cmdline(cmd));
}

static void test_su_pty_timeout(void **state)
{
	struct conn_pool *pool;
	struct conn *c = local_conn(&pool);

	(void)state;
	su_timeout_on(c, "unused: root is not asked", "sleep 37.25");
	conn_pool_free(pool);
}
