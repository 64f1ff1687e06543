/*
 * wait_for_connection.c - wait_for_connection: retry a trivial command
 * until the host answers (after a reboot, or while it is provisioned).
 */
#include <errno.h>
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
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int wfc_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	double timeout = (double)mod_int(args, "timeout"), sleep_s = (double)mod_int(args, "sleep");
	double start = now_s();
	struct conn_exec_opts o = ctx->exec;
	char last[1024] = "no attempt made";
	(void)e;
	o.timeout = (int)mod_int(args, "connect_timeout");
	nap((double)mod_int(args, "delay"));
	for (int attempt = 1;; attempt++) {
		struct conn_result r = {0};
		struct err te;
		err_init(&te);
		int ret = conn_exec(ctx->conn, "true", &o, &r, &te);
		int rc = r.rc;
		conn_result_release(&r);
		if (ret == 0 && rc == 0)
			break;
		snprintf(last, sizeof(last), "%s", ret < 0 ? te.msg : "the test command failed");
		if (ctx->progress)
			ctx->progress(ctx, "waiting for connection (attempt %d): %s", attempt,
			              last);
		if (now_s() - start + sleep_s > timeout) {
			mod_fail(result, "timed out waiting for connection: %s", last);
			json_object_set_new(result, "elapsed",
			                    json_integer((json_int_t)(now_s() - start)));
			return 0;
		}
		nap(sleep_s);
	}
	json_object_set_new(result, "elapsed", json_integer((json_int_t)(now_s() - start)));
	mod_set_changed(result, 0);
	return 0;
}

static const struct module_arg wfc_args[] = {
    {"timeout", ARG_INT, 0, "600", NULL, 0, NULL, "Seconds to keep trying."},
    {"delay", ARG_INT, 0, "0", NULL, 0, NULL, "Seconds to wait before the first try."},
    {"sleep", ARG_INT, 0, "1", NULL, 0, NULL, "Seconds between tries."},
    {"connect_timeout", ARG_INT, 0, "5", NULL, 0, NULL, "Seconds one try may take."},
    {NULL},
};

static const char *const wfc_aliases[] = {"ansible.builtin.wait_for_connection",
                                          "ansible.legacy.wait_for_connection", NULL};

const struct module_def module_wait_for_connection = {
    "wait_for_connection",
    wfc_aliases,
    MOD_CHECK_MODE,
    wfc_args,
    "Wait until the host can be reached and run a command",
    "Retries a trivial command through the host's connection (which reconnects as "
    "needed) every sleep seconds until it succeeds or timeout passes.",
    wfc_run,
};
