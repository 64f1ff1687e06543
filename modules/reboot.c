/*
 * reboot.c - reboot: reboot the host and wait until it is back.
 *
 * "Back" means a new boot id (/proc/sys/kernel/random/boot_id) and a
 * working test_command, as Ansible's reboot action checks it, so a host
 * that never went down is not mistaken for one that came back.
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
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Output of cmd, or -1 when the host did not answer / the command failed. */
static int ask(struct task_ctx *ctx, const char *cmd, int timeout, char *out, size_t n,
               struct err *e)
{
	struct conn_result r = {0};
	struct conn_exec_opts o = ctx->exec;
	o.timeout = timeout;
	int ret = conn_exec(ctx->conn, cmd, &o, &r, e);
	if (ret == 0 && r.rc == 0)
		snprintf(out, n, "%.*s", (int)strcspn(buf_str(&r.out), "\n"), buf_str(&r.out));
	else if (ret == 0)
		ret = -1;
	conn_result_release(&r);
	return ret;
}

static int reboot_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *boot_cmd = mod_str(args, "boot_time_command");
	const char *test_cmd = mod_str(args, "test_command");
	int ct = (int)mod_int(args, "connect_timeout");
	double timeout = (double)mod_int(args, "reboot_timeout"), start;
	char before[256] = "", after[256] = "", ignore[256];
	struct buf cmd = BUF_INIT;
	int ret;
	if (ctx->check) {
		mod_set_changed(result, 1);
		json_object_set_new(result, "rebooted", json_true());
		return 0;
	}
	if ((ret = ask(ctx, boot_cmd, ct, before, sizeof(before), e)) < 0) {
		if (e->code)
			return ret;
		mod_fail(result, "cannot read the boot id with '%s' before rebooting", boot_cmd);
		return 0;
	}
	/* in the background so the command returns before the host goes down */
	buf_addf(&cmd, "(sleep %lld; shutdown -r now ", mod_int(args, "pre_reboot_delay") + 1);
	buf_add_shquote(&cmd, mod_str(args, "msg"));
	buf_adds(&cmd, " || reboot) >/dev/null 2>&1 </dev/null &\n");
	struct err se;
	err_init(&se);
	struct conn_result r = {0};
	ret = conn_exec(ctx->conn, buf_str(&cmd), &ctx->exec, &r, &se);
	conn_result_release(&r);
	buf_release(&cmd);
	if (ret == 0 && r.rc != 0) {
		mod_fail(result, "the reboot command failed");
		return 0;
	}
	start = now_s();
	nap(2);
	for (;;) {
		struct err we;
		err_init(&we);
		if (ask(ctx, boot_cmd, ct, after, sizeof(after), &we) == 0 &&
		    strcmp(after, before) &&
		    ask(ctx, test_cmd, ct, ignore, sizeof(ignore), &we) == 0)
			break;
		if (ctx->progress)
			ctx->progress(ctx, "waiting for %s to come back", ctx->host);
		if (now_s() - start > timeout) {
			mod_fail(result,
			         "Timed out waiting for the host to come back after reboot "
			         "(reboot_timeout=%.0f)",
			         timeout);
			json_object_set_new(result, "rebooted", json_true());
			mod_set_changed(result, 1);
			return 0;
		}
		nap(2);
	}
	nap((double)mod_int(args, "post_reboot_delay"));
	json_object_set_new(result, "rebooted", json_true());
	json_object_set_new(result, "elapsed", json_integer((json_int_t)(now_s() - start)));
	mod_set_changed(result, 1);
	return 0;
}

static const struct module_arg reboot_args[] = {
    {"reboot_timeout", ARG_INT, 0, "600", NULL, 0, NULL,
     "Seconds to wait for the host to come back."},
    {"msg", ARG_STR, 0, "\"Reboot initiated by Ansible\"", NULL, 0, NULL,
     "Message shown to logged-in users."},
    {"pre_reboot_delay", ARG_INT, 0, "0", NULL, 0, NULL, "Seconds before rebooting."},
    {"post_reboot_delay", ARG_INT, 0, "0", NULL, 0, NULL,
     "Seconds to wait after the host is back."},
    {"connect_timeout", ARG_INT, 0, "5", NULL, 0, NULL, "Seconds one check may take."},
    {"test_command", ARG_STR, 0, "\"whoami\"", NULL, 0, NULL,
     "Must succeed for the host to count as back."},
    {"boot_time_command", ARG_STR, 0, "\"cat /proc/sys/kernel/random/boot_id\"", NULL, 0, NULL,
     "Its output must change across the reboot."},
    {"search_paths", ARG_LIST, 0, NULL, NULL, 0, NULL, "Accepted for compatibility."},
    {NULL},
};

static const char *const reboot_aliases[] = {"ansible.builtin.reboot", "ansible.legacy.reboot",
                                             NULL};

const struct module_def module_reboot = {
    "reboot",
    reboot_aliases,
    MOD_CHECK_MODE,
    reboot_args,
    "Reboot the host and wait until it is back",
    "Reads the boot id, reboots in the background, then polls until the boot id has "
    "changed and test_command succeeds, or reboot_timeout passes.",
    reboot_run,
};
