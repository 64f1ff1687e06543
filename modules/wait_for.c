/*
 * wait_for.c - wait_for: wait for a port, a file or a string in a file, on
 * the host itself.
 *
 * The whole wait is one shell loop on the host (one round trip however
 * long it takes). A port is probed with nc, else bash's /dev/tcp; drained
 * counts established connections with ss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

static const char *const states[] = {"started", "stopped", "present", "absent", "drained", NULL};

static const char probe_sh[] =
    "probe() { if command -v nc >/dev/null 2>&1; then nc -z -w \"$ct\" \"$h\" \"$port\" "
    "</dev/null >/dev/null 2>&1; elif command -v bash >/dev/null 2>&1; then timeout \"$ct\" "
    "bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' \"$h\" \"$port\" 2>/dev/null; else echo '@noprobe'; "
    "exit 3; fi; }\n"
    "conns() { ss -Htn state established \"( sport = :$port )\" 2>/dev/null | wc -l; }\n";

/* Python \d in a grep -E pattern; the rest of ERE matches what people use. */
static char *ere(const char *py)
{
	struct buf b = BUF_INIT;
	for (const char *p = py; *p; p++) {
		if (p[0] == '\\' && p[1] == 'd') {
			buf_adds(&b, "[0-9]");
			p++;
		} else {
			buf_addc(&b, *p);
		}
	}
	return buf_detach(&b);
}

/* The condition that ends the wait, as a sh test. */
static int condition(const json_t *args, struct buf *c, json_t *result)
{
	const char *state = mod_str(args, "state"), *path = mod_str(args, "path");
	const char *re = mod_str(args, "search_regex");
	int port = (int)mod_int(args, "port");
	if (port && path) {
		mod_fail(result, "port and path parameter can not both be passed to wait_for");
		return -1;
	}
	if (path) {
		if (!strcmp(state, "drained")) {
			mod_fail(result, "state=%s is for ports, not paths", state);
			return -1;
		}
		if (!strcmp(state, "absent") || !strcmp(state, "stopped")) {
			buf_adds(c, "[ ! -e \"$path\" ]");
		} else if (re) {
			char *x = ere(re);
			buf_adds(c, "[ -r \"$path\" ] && grep -Eq -- ");
			buf_add_shquote(c, x);
			buf_adds(c, " \"$path\"");
			free(x);
		} else {
			buf_adds(c, "[ -e \"$path\" ]");
		}
		return 0;
	}
	if (port) {
		if (!strcmp(state, "stopped") || !strcmp(state, "absent"))
			buf_adds(c, "! probe");
		else if (!strcmp(state, "drained"))
			buf_adds(c, "[ \"$(conns)\" -eq 0 ]");
		else
			buf_adds(c, "probe");
		return 0;
	}
	buf_adds(c, "false"); /* nothing to wait for: sleep out the timeout */
	return 0;
}

static void timeout_msg(const json_t *args, json_t *result)
{
	const char *state = mod_str(args, "state"), *path = mod_str(args, "path");
	const char *host = mod_str(args, "host"), *re = mod_str(args, "search_regex");
	const char *custom = mod_str(args, "msg");
	long long port = mod_int(args, "port");
	if (custom)
		mod_fail(result, "%s", custom);
	else if (path && (!strcmp(state, "absent") || !strcmp(state, "stopped")))
		mod_fail(result, "Timeout when waiting for %s to be absent.", path);
	else if (path && re)
		mod_fail(result, "Timeout when waiting for search string %s in %s", re, path);
	else if (path)
		mod_fail(result, "Timeout when waiting for file %s", path);
	else if (!strcmp(state, "stopped") || !strcmp(state, "absent"))
		mod_fail(result, "Timeout when waiting for %s:%lld to stop.", host, port);
	else if (!strcmp(state, "drained"))
		mod_fail(result, "Timeout when waiting for %s:%lld to drain", host, port);
	else
		mod_fail(result, "Timeout when waiting for %s:%lld", host, port);
}

static int wait_for_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	struct buf cmd = BUF_INIT, cond = BUF_INIT;
	struct conn_result r = {0};
	struct conn_exec_opts o = ctx->exec;
	long long timeout = mod_int(args, "timeout"), delay = mod_int(args, "delay");
	int ret = 0, nothing = !mod_str(args, "path") && !mod_int(args, "port");
	if (condition(args, &cond, result) < 0)
		goto out;
	buf_adds(&cmd, "h=");
	buf_add_shquote(&cmd, mod_str(args, "host"));
	buf_addf(&cmd, "; port=%lld; ct=%lld; path=", mod_int(args, "port"),
	         mod_int(args, "connect_timeout"));
	buf_add_shquote(&cmd, mod_str(args, "path") ? mod_str(args, "path") : "");
	buf_addf(&cmd, "\n%s", probe_sh);
	buf_addf(&cmd,
	         "sleep %lld; start=$(date +%%s)\n"
	         "while :; do if %s; then echo \"@ok $(( $(date +%%s) - start ))\"; exit 0; fi\n"
	         "  [ $(( $(date +%%s) - start )) -ge %lld ] && { echo \"@timeout $(( $(date +%%s) "
	         "- start ))\"; exit 0; }\n"
	         "  sleep %g; done\n",
	         delay, buf_str(&cond), timeout, json_number_value(json_object_get(args, "sleep")));
	o.timeout = (int)(timeout + delay + 30);
	if ((ret = conn_exec(ctx->conn, buf_str(&cmd), &o, &r, e)) < 0)
		goto out;
	const char *out = buf_str(&r.out);
	const char *ok = strstr(out, "@ok "), *to = strstr(out, "@timeout ");
	if (strstr(out, "@noprobe")) {
		mod_fail(result, "wait_for needs nc or bash on the host to probe a port");
		goto out;
	}
	json_object_set_new(result, "elapsed",
	                    json_integer(atoll(ok   ? ok + 4
	                                       : to ? to + 9
	                                            : "0") +
	                                 delay));
	json_object_set_new(result, "state", json_string(mod_str(args, "state")));
	if (mod_int(args, "port"))
		json_object_set_new(result, "port", json_integer(mod_int(args, "port")));
	if (mod_str(args, "path"))
		json_object_set_new(result, "path", json_string(mod_str(args, "path")));
	if (!mod_int(args, "port"))
		json_object_set_new(result, "port", json_null());
	json_object_set_new(result, "search_regex",
	                    mod_str(args, "search_regex")
	                        ? json_string(mod_str(args, "search_regex"))
	                        : json_null());
	json_object_set_new(result, "match_groups", json_array());
	json_object_set_new(result, "match_groupdict", json_object());
	mod_set_changed(result, 0);
	if (!ok && !(to && nothing))
		timeout_msg(args, result);
out:
	conn_result_release(&r);
	buf_release(&cmd);
	buf_release(&cond);
	return ret;
}

static const struct module_arg wait_for_args[] = {
    {"host", ARG_STR, 0, "\"127.0.0.1\"", NULL, 0, NULL, "The host to probe, seen from the host."},
    {"port", ARG_INT, 0, NULL, NULL, 0, NULL, "The TCP port to wait for."},
    {"path", ARG_PATH, 0, NULL, NULL, 0, NULL, "A file to wait for (or for its removal)."},
    {"search_regex", ARG_STR, 0, NULL, NULL, 0, NULL,
     "With path: wait until the file contains a match (grep -E; \\d works)."},
    {"state", ARG_STR, 0, "\"started\"", states, 0, NULL,
     "started/present: until it is there; stopped/absent: until it is gone; drained: "
     "until the port has no established connections."},
    {"delay", ARG_INT, 0, "0", NULL, 0, NULL, "Seconds to wait before the first check."},
    {"timeout", ARG_INT, 0, "300", NULL, 0, NULL, "Seconds to wait in all."},
    {"sleep", ARG_FLOAT, 0, "1", NULL, 0, NULL, "Seconds between checks."},
    {"connect_timeout", ARG_INT, 0, "5", NULL, 0, NULL, "Seconds for one port probe."},
    {"msg", ARG_STR, 0, NULL, NULL, 0, NULL, "The failure message on timeout."},
    {"exclude_hosts", ARG_LIST, 0, NULL, NULL, 0, NULL, "Accepted; not applied."},
    {"active_connection_states", ARG_LIST, 0, NULL, NULL, 0, NULL,
     "Accepted; drained counts established connections."},
    {NULL},
};

static const char *const wait_for_aliases[] = {"ansible.builtin.wait_for",
                                               "ansible.legacy.wait_for", NULL};

const struct module_def module_wait_for = {
    "wait_for",
    wait_for_aliases,
    MOD_CHECK_MODE,
    wait_for_args,
    "Wait for a port, a file or a string in a file",
    "Runs one loop on the host until the port answers (or stops answering, or drains), "
    "or the file appears, disappears or contains search_regex, or timeout passes. "
    "Without port or path it just waits timeout seconds.",
    wait_for_run,
};
