/* Module cases: uri, get_url and wait_for on a port against a small HTTP server on loopback, and
 * the drain PDB message. Included by tests/test_modules.c, whose fixture (a local connection, a
 * scratch directory, run()/expect_ok()...) they use. */
/* ---- uri, get_url, wait_for on a port: a small HTTP server on loopback ---- */

static int http_fd = -1, http_port;
static pthread_t http_thread;

/* Answers by path: /json, /status/404, /echo (method and body back as JSON),
 * /big.bin; anything else is a 200 with a short text. */
static void http_answer(int c)
{
	char req[8192];
	ssize_t n = 0, k;
	while (n < (ssize_t)sizeof(req) - 1 &&
	       (k = read(c, req + n, sizeof(req) - 1 - (size_t)n)) > 0) {
		n += k;
		req[n] = '\0';
		char *end = strstr(req, "\r\n\r\n");
		const char *cl = strcasestr(req, "Content-Length:");
		if (end && (!cl || (ssize_t)(end + 4 - req) + atol(cl + 15) <= n))
			break;
	}
	req[n > 0 ? n : 0] = '\0';
	char method[16] = "", path[256] = "";
	sscanf(req, "%15s %255s", method, path);
	const char *body = strstr(req, "\r\n\r\n");
	body = body ? body + 4 : "";
	char out[9000], content[8192];
	const char *type = "text/plain", *status = "200 OK";
	if (!strcmp(path, "/json")) {
		type = "application/json";
		snprintf(content, sizeof(content), "{\"nodes\": [\"a\", \"b\"], \"ok\": true}");
	} else if (!strcmp(path, "/status/404")) {
		status = "404 Not Found";
		snprintf(content, sizeof(content), "no such thing");
	} else if (!strcmp(path, "/echo")) {
		type = "application/json";
		json_t *j = json_pack("{s:s, s:s}", "method", method, "body", body);
		char *d = json_dumps(j, 0);
		snprintf(content, sizeof(content), "%s", d);
		free(d);
		json_decref(j);
	} else if (!strncmp(path, "/api/v1/", 8)) {
		/* a stand-in for the Kubernetes API server: node n1 runs pod
		 * shop/db-0, whose PodDisruptionBudget refuses every eviction
		 * with the API's own 429 Status */
		static const char pod[] =
		    "{\"metadata\": {\"name\": \"db-0\", \"namespace\": \"shop\", \"uid\": "
		    "\"u1\", \"ownerReferences\": [{\"kind\": \"StatefulSet\", \"name\": \"db\", "
		    "\"controller\": true}]}, \"spec\": {\"nodeName\": \"n1\"}, \"status\": "
		    "{\"phase\": \"Running\"}}";
		type = "application/json";
		if (strstr(path, "/eviction")) {
			status = "429 Too Many Requests";
			snprintf(content, sizeof(content),
			         "{\"kind\": \"Status\", \"status\": \"Failure\", \"message\": "
			         "\"Cannot evict pod as it would violate the pod's disruption "
			         "budget.\", \"reason\": \"TooManyRequests\", \"code\": 429}");
		} else if (!strncmp(path, "/api/v1/pods?", 13)) {
			snprintf(content, sizeof(content), "{\"items\": [%s], \"metadata\": {}}",
			         pod);
		} else if (strstr(path, "/pods/db-0")) {
			snprintf(content, sizeof(content), "%s", pod);
		} else {
			snprintf(content, sizeof(content),
			         "{\"metadata\": {\"name\": \"n1\"}, \"spec\": {}}");
		}
	} else {
		snprintf(content, sizeof(content), "payload v1\n");
	}
	int len =
	    snprintf(out, sizeof(out),
	             "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nX-Drover-Test: "
	             "yes\r\nConnection: close\r\n\r\n%s",
	             status, type, strlen(content), content);
	if (write(c, out, (size_t)len) < 0)
		return;
}

static void *http_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(http_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		http_answer(c);
		close(c);
	}
}

static int http_start(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	http_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (http_fd < 0 || bind(http_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(http_fd, 16) < 0 || getsockname(http_fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	http_port = ntohs(a.sin_port);
	return pthread_create(&http_thread, NULL, http_loop, NULL);
}

static void http_stop(void)
{
	shutdown(http_fd, SHUT_RDWR);
	close(http_fd);
	pthread_join(http_thread, NULL);
}

static void test_uri(void **state)
{
	(void)state;
	assert_int_equal(http_start(), 0);
	json_t *r = run("uri", "{\"url\": \"http://127.0.0.1:%d/json\"}", http_port);
	assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
	json_t *js = json_object_get(r, "json");
	assert_int_equal(json_array_size(json_object_get(js, "nodes")), 2);
	assert_string_equal(s(r, "x_drover_test"), "yes");
	assert_string_equal(s(r, "msg"), "OK (33 bytes)");
	expect_ok(r, 0);

	r = run("uri", "{\"url\": \"http://127.0.0.1:%d/status/404\"}", http_port);
	assert_true(failed(r));
	assert_string_equal(s(r, "msg"), "Status code was 404 and not [200]: OK (13 bytes)");
	json_decref(r);
	expect_ok(run("uri",
	              "{\"url\": \"http://127.0.0.1:%d/status/404\", \"status_code\": "
	              "[200, 404]}",
	              http_port),
	          0);

	r = run("uri",
	        "{\"url\": \"http://127.0.0.1:%d/echo\", \"method\": \"POST\", "
	        "\"body_format\": \"json\", \"body\": {\"k\": \"v\"}}",
	        http_port);
	js = json_object_get(r, "json");
	assert_string_equal(s(js, "method"), "POST");
	assert_string_equal(s(js, "body"), "{\"k\":\"v\"}");
	json_decref(r);
	r = run("uri",
	        "{\"url\": \"http://127.0.0.1:%d/echo\", \"method\": \"PUT\", "
	        "\"body_format\": \"form-urlencoded\", \"body\": {\"a b\": \"c&d\"}, "
	        "\"return_content\": true}",
	        http_port);
	js = json_object_get(r, "json");
	assert_string_equal(s(js, "body"), "a+b=c%26d");
	assert_non_null(json_object_get(r, "content"));
	json_decref(r);

	/* nothing listens on port 1: status -1, a clear failure */
	r = run("uri", "{\"url\": \"http://127.0.0.1:1/\", \"timeout\": 2}");
	assert_true(failed(r));
	assert_int_equal(json_integer_value(json_object_get(r, "status")), -1);
	json_decref(r);

	/* wait_for a port that answers, and one that does not */
	expect_ok(run("wait_for", "{\"port\": %d, \"timeout\": 5}", http_port), 0);
	r = run("wait_for", "{\"port\": 1, \"timeout\": 1, \"sleep\": 0.2}");
	assert_true(failed(r));
	assert_string_equal(s(r, "msg"), "Timeout when waiting for 127.0.0.1:1");
	json_decref(r);
	expect_ok(run("wait_for", "{\"port\": 1, \"state\": \"stopped\", \"timeout\": 3}"), 0);
	http_stop();
}

static void test_get_url(void **state)
{
	(void)state;
	assert_int_equal(http_start(), 0);
	/* sha1 of "payload v1\n" */
	char sum[41];
	mod_sha1_test("payload v1\n", sum);
	json_t *r = run("get_url",
	                "{\"url\": \"http://127.0.0.1:%d/file.txt\", \"dest\": \"%s\", "
	                "\"mode\": \"0640\"}",
	                http_port, P("dl.txt"));
	assert_string_equal(s(r, "checksum_src"), sum);
	assert_string_equal(s(r, "mode"), "0640");
	expect_ok(r, 1);
	assert_file(P("dl.txt"), "payload v1\n");
	/* exists and no force: not downloaded again */
	expect_ok(run("get_url", "{\"url\": \"http://127.0.0.1:%d/file.txt\", \"dest\": \"%s\"}",
	              http_port, P("dl.txt")),
	          0);
	/* force with the same content: still ok */
	expect_ok(run("get_url",
	              "{\"url\": \"http://127.0.0.1:%d/file.txt\", \"dest\": \"%s\", "
	              "\"force\": true}",
	              http_port, P("dl.txt")),
	          0);
	/* into a directory, checked by checksum */
	char ck[64];
	snprintf(ck, sizeof(ck), "sha1:%s", sum);
	r = run("get_url",
	        "{\"url\": \"http://127.0.0.1:%d/some/file.txt?x=1\", \"dest\": \"%s\", "
	        "\"checksum\": \"%s\"}",
	        http_port, dir, ck);
	assert_string_equal(s(r, "dest"), P("file.txt"));
	expect_ok(r, 1);
	r = run("get_url",
	        "{\"url\": \"http://127.0.0.1:%d/x\", \"dest\": \"%s\", \"checksum\": "
	        "\"sha1:0000000000000000000000000000000000000000\"}",
	        http_port, P("bad.txt"));
	assert_true(failed(r));
	assert_non_null(strstr(s(r, "msg"), "did not match"));
	json_decref(r);
	assert_int_equal(access(P("bad.txt"), F_OK), -1);
	r = run("get_url", "{\"url\": \"http://127.0.0.1:%d/status/404\", \"dest\": \"%s\"}",
	        http_port, P("404.txt"));
	assert_true(failed(r));
	/* Ansible's words and the server's status */
	assert_string_equal(s(r, "msg"), "Request failed");
	assert_int_equal(json_integer_value(json_object_get(r, "status_code")), 404);
	json_decref(r);
	/* a dest in a missing directory: Ansible's message, also under -C */
	for (int check = 0; check < 2; check++) {
		r = (check ? run_check : run)(
		    "get_url", "{\"url\": \"http://127.0.0.1:%d/x\", \"dest\": \"%s\"}", http_port,
		    P("no-dir/x"));
		assert_true(failed(r));
		char want[1200];
		snprintf(want, sizeof(want), "Destination %s does not exist", P("no-dir"));
		assert_string_equal(s(r, "msg"), want);
		json_decref(r);
	}
	/* a dest ending in / gets the URL's name without a doubled slash */
	r = run("get_url", "{\"url\": \"http://127.0.0.1:%d/other.txt\", \"dest\": \"%s/\"}",
	        http_port, dir);
	assert_string_equal(s(r, "dest"), P("other.txt"));
	expect_ok(r, 1);
	/* check mode asks the server (HEAD, as Ansible): a 404 fails, a
	 * good URL would change, and nothing is written */
	r = run_check("get_url", "{\"url\": \"http://127.0.0.1:%d/status/404\", \"dest\": \"%s\"}",
	              http_port, P("404.txt"));
	assert_true(failed(r));
	json_decref(r);
	expect_ok(run_check("get_url",
	                    "{\"url\": \"http://127.0.0.1:%d/new.txt\", \"dest\": \"%s\"}",
	                    http_port, P("new.txt")),
	          1);
	assert_int_equal(access(P("new.txt"), F_OK), -1);
	/* on the controller, then copied */
	expect_ok(run("get_url",
	              "{\"url\": \"http://127.0.0.1:%d/file.txt\", \"dest\": \"%s\", "
	              "\"remote_src\": false}",
	              http_port, P("dl2.txt")),
	          1);
	assert_file(P("dl2.txt"), "payload v1\n");
	assert_int_equal(temp_files_left(), 0);
	http_stop();
}

/* drain (method api) blocked by a PodDisruptionBudget: the failure names
 * the pod and the budget's message as one clause, so the rollout playbook
 * that quotes it and adds '.' ends with "budget)." and never "budget..". */
static void test_drain_pdb_message(void **state)
{
	(void)state;
	assert_int_equal(http_start(), 0);
	char kc[512];
	snprintf(kc, sizeof(kc),
	         "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: "
	         "http://127.0.0.1:%d\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
	         "current-context: x\nusers:\n- name: u\n  user: {token: t0k}\n",
	         http_port);
	spit(P("kubeconfig"), kc);
	json_t *r = run("drain",
	                "{\"node\": \"n1\", \"method\": \"api\", \"kubeconfig\": \"%s\", "
	                "\"timeout\": 1}",
	                P("kubeconfig"));
	assert_true(failed(r));
	const char *msg = s(r, "msg");
	assert_non_null(strstr(msg, "shop/db-0: blocked by a PodDisruptionBudget (Cannot evict pod "
	                            "as it would violate the pod's disruption budget)"));
	assert_null(strstr(msg, ".."));
	assert_null(strstr(msg, ".)"));
	json_decref(r);
	http_stop();
	assert_int_equal(mod_clause_len("budget."), 6);
	assert_int_equal(mod_clause_len("wait... \n"), 4);
	assert_int_equal(mod_clause_len(""), 0);
}
