/*
 * pct_cases.c - pct connection tests, included by tests/test_conn.c after
 * ssh_cases.c. The Proxmox node is reached locally or over the test sshd;
 * `pct` itself is the test stand-in tests/conn/bin/pct (containers are
 * directories under $DROVER_PCT_STANDIN, see that script).
 */

static void pct_make(const char *vmid, const char *status)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s/root", pct_dir, vmid);
	assert_int_equal(
	    sh("mkdir -p '%s' && echo %s > '%s/%s/status'", path, status, pct_dir, vmid), 0);
}

/* The inventory as the executor would resolve it: pve is the node. */
static const json_t *pct_resolve(void *ud, const char *host)
{
	return !strcmp(host, "pve") ? ud : NULL;
}

static struct conn *pct_get(struct conn_pool *pool, const char *name, const char *vmid,
                            json_t *node_vars, struct err *e)
{
	json_t *v = json_pack("{s:s, s:s, s:s}", "ansible_connection", "pct", "pct_host", "pve",
	                      "pct_vmid", vmid);
	struct conn *c;

	err_init(e);
	c = conn_pool_get(pool, name, v, pct_resolve, node_vars, e);
	json_decref(v);
	return c;
}

static int exec_count(void)
{
	char path[400], *log, *p;
	size_t len;
	int n = 0;

	snprintf(path, sizeof(path), "%s/exec.log", pct_dir);
	log = read_file(path, &len);
	for (p = log; p && *p; p++)
		n += *p == '\n';
	free(log);
	return n;
}

static void test_pct_local_node(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *node = json_pack("{s:s}", "ansible_connection", "local");
	struct conn_exec_opts o = {0};
	const char *env[] = {"Q=a'b\"c $(touch pwned) `touch pwned2`", NULL};
	struct conn_result r;
	struct buf b = BUF_INIT;
	char path[400], msg[2600];
	struct stat st;
	struct conn *c;
	struct err e;

	(void)state;
	pct_make("101", "running");
	c = pct_get(pool, "ct101", "101", node, &e);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	assert_string_equal(c->ops->name, "pct");
	assert_non_null(c->parent);
	assert_string_equal(c->parent->ops->name, "local");

	/* quoting survives both layers: pct's sh -c and the node's */
	o.env = env;
	run_ok(c, "printf '%s|' \"$Q\"; basename \"$(dirname \"$(pwd)\")\"; exit 3", &o, &r);
	assert_int_equal(r.rc, 3);
	assert_string_equal(buf_str(&r.out), "a'b\"c $(touch pwned) `touch pwned2`|101\n");
	conn_result_release(&r);
	snprintf(path, sizeof(path), "%s/101/root/pwned", pct_dir);
	assert_int_equal(access(path, F_OK), -1);

	/* files stream through pct exec's stdin/stdout */
	err_init(&e);
	assert_int_equal(conn_put(c, "in the ct\n", 10, "conf.txt", 0600, NULL, &e), 0);
	snprintf(path, sizeof(path), "%s/101/root/conf.txt", pct_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(conn_get(c, "conf.txt", &b, NULL, &e), 0);
	assert_string_equal(buf_str(&b), "in the ct\n");
	buf_release(&b);

	/* become to root: pct exec already runs as root */
	o.env = NULL;
	o.become = 1;
	run_ok(c, "id -u", &o, &r);
	assert_string_equal(buf_str(&r.out), "0\n");
	conn_result_release(&r);
	conn_pool_free(pool);
	json_decref(node);
}

static void test_pct_stopped(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *node = json_pack("{s:s}", "ansible_connection", "local");
	struct err e;
	char msg[2600];

	(void)state;
	pct_make("102", "stopped");
	assert_null(pct_get(pool, "ct102", "102", node, &e));
	assert_int_equal(e.code, ERR_UNREACH);
	err_format(&e, msg, sizeof(msg));
	assert_non_null(strstr(msg, "102"));
	assert_non_null(strstr(msg, "status: stopped"));

	/* a VMID that does not exist: the node's own message */
	assert_null(pct_get(pool, "ct999", "999", node, &e));
	assert_int_equal(e.code, ERR_UNREACH);
	assert_non_null(strstr(e.msg, "999.conf' does not exist"));

	assert_null(pct_get(pool, "ctbad", "10x", node, &e));
	assert_int_equal(e.code, ERR_GENERIC);
	assert_non_null(strstr(e.msg, "pct_vmid"));
	conn_pool_free(pool);
	json_decref(node);
}

/* Two containers on one Proxmox node over ssh share one ssh session. */
static void test_pct_over_ssh_shared(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *node = ssh_vars("root", NULL);
	struct conn_result r;
	struct conn *a, *b;
	struct err e;
	char msg[2600];
	int logins = sshd_logins(), execs;

	(void)state;
	pct_make("103", "running");
	pct_make("104", "running");
	a = pct_get(pool, "ct103", "103", node, &e);
	if (!a)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	b = pct_get(pool, "ct104", "104", node, &e);
	assert_non_null(b);
	assert_ptr_equal(a->parent, b->parent);
	assert_string_equal(a->parent->ops->name, "ssh");
	execs = exec_count();
	run_ok(a, "basename \"$(dirname \"$(pwd)\")\"", NULL, &r);
	assert_string_equal(buf_str(&r.out), "103\n");
	conn_result_release(&r);
	run_ok(b, "basename \"$(dirname \"$(pwd)\")\"", NULL, &r);
	assert_string_equal(buf_str(&r.out), "104\n");
	conn_result_release(&r);
	assert_int_equal(exec_count() - execs, 2);
	assert_int_equal(sshd_logins() - logins, 1);
	conn_pool_free(pool);
	json_decref(node);
}

/* community.proxmox.proxmox_pct_remote: the node is ansible_host, reached
 * with the container's own ssh settings. */
static void test_pct_remote_style(void **state)
{
	struct conn_pool *pool = conn_pool_new(NULL);
	json_t *v = ssh_vars("root", NULL);
	struct conn_result r;
	struct conn *c;
	struct err e;
	char msg[2600];

	(void)state;
	pct_make("105", "running");
	json_object_set_new(v, "ansible_connection",
	                    json_string("community.proxmox.proxmox_pct_remote"));
	json_object_set_new(v, "proxmox_vmid", json_integer(105));
	err_init(&e);
	c = conn_pool_get(pool, "ct105", v, NULL, NULL, &e);
	json_decref(v);
	if (!c)
		fail_msg("%s", err_format(&e, msg, sizeof(msg)));
	assert_string_equal(c->parent->ops->name, "ssh");
	run_ok(c, "basename \"$(dirname \"$(pwd)\")\"", NULL, &r);
	assert_string_equal(buf_str(&r.out), "105\n");
	conn_result_release(&r);
	conn_pool_free(pool);
}
