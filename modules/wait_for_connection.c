/*
 * wait_for_connection.c - wait_for_connection: retry until the host can be
 * reached and runs a trivial command (after a reboot, while it is
 * provisioned, or while it is still powered off when the task starts).
 *
 * The module manages its own connection (MOD_LAZY_CONN): the executor hands
 * it unopened, so a host that is down at the start is what this task waits
 * for, not UNREACHABLE. Each try opens the connection if needed and runs
 * `echo pong` (Ansible runs its ping module); a session that broke is reset
 * (conn_try) so the next try starts afresh. Results and messages follow
 * ansible-core 2.14's wait_for_connection action.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "modules/common.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	if (s <= 0)
		return;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One try: 0 when the host answered, else -1 with the reason in why. */
static int ping(struct task_ctx *ctx, int connect_timeout, char *why, size_t n)
{
	struct conn_exec_opts o = ctx->exec;
	struct conn_result r;
	struct err e;
	int ret;

	err_init(&e);
	o.timeout = connect_timeout;
	ret = conn_try(&ctx->conn, "echo pong", &o, connect_timeout, &r, &e);
	if (ret < 0) {
		snprintf(why, n, "%s", e.msg);
	} else if (r.rc != 0 || strncmp(buf_str(&r.out), "pong", 4)) {
		snprintf(why, n, "ping test failed (rc=%d): %.*s", r.rc,
		         (int)strcspn(buf_str(&r.err), "\n"), buf_str(&r.err));
		ret = -1;
	}
	conn_result_release(&r);
	return ret;
}

static int wfc_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	double timeout = (double)mod_int(args, "timeout"), sleep_s = (double)mod_int(args, "sleep");
	int ct = (int)mod_int(args, "connect_timeout");
	double start = now_s(), end;
	char why[1024] = "no attempt made";

	(void)e;
	if (ctx->check) {
		/* Ansible skips it under check mode. */
		json_object_set_new(result, "skipped", json_true());
		mod_set_changed(result, 0);
		return 0;
	}
	nap((double)mod_int(args, "delay"));
	end = now_s() + timeout;
	for (int attempt = 1;; attempt++) {
		if (ping(ctx, ct, why, sizeof(why)) == 0)
			break;
		if (now_s() >= end) {
			mod_fail(result, "timed out waiting for ping module test: %s", why);
			break;
		}
		if (ctx->progress)
			ctx->progress(ctx, "waiting for connection (attempt %d): %s", attempt, why);
		nap(sleep_s < end - now_s() ? sleep_s : end - now_s());
	}
	json_object_set_new(result, "elapsed", json_integer((json_int_t)(now_s() - start)));
	if (!json_object_get(result, "failed"))
		mod_set_changed(result, 0);
	return 0;
}

static const struct module_arg wfc_args[] = {
    {"timeout", ARG_INT, 0, "600", NULL, 0, NULL, "Seconds to keep trying (after delay)."},
    {"delay", ARG_INT, 0, "0", NULL, 0, NULL, "Seconds to wait before the first try."},
    {"sleep", ARG_INT, 0, "1", NULL, 0, NULL, "Seconds between tries."},
    {"connect_timeout", ARG_INT, 0, "5", NULL, 0, NULL,
     "Seconds one try may take to connect and to run its command."},
    {NULL},
};

static const char *const wfc_aliases[] = {"ansible.builtin.wait_for_connection",
                                          "ansible.legacy.wait_for_connection", NULL};

const struct module_def module_wait_for_connection = {
    "wait_for_connection",
    wfc_aliases,
    MOD_CHECK_MODE | MOD_LAZY_CONN,
    wfc_args,
    "Wait until the host can be reached and run a command",
    "Opens the host's connection and runs a trivial command every sleep seconds until it "
    "works or timeout passes. A host that is down when the task starts is waited for, not "
    "UNREACHABLE; a broken session is dropped and opened anew. Skipped in check mode.",
    wfc_run,
};
