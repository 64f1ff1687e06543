/*
 * reboot.c - reboot: reboot the host and wait until it is back, as
 * ansible-core 2.14's reboot action does it on Linux.
 *
 * Read the boot id (boot_time_command), run the reboot command (`shutdown
 * -r {pre_reboot_delay // 60} "{msg}"`, shutdown found in search_paths, or
 * reboot_command), wait post_reboot_delay, then retry with Ansible's backoff
 * (1, 2, 4, 8, 12 s ...) until the boot id differs, then until test_command
 * succeeds, each within reboot_timeout. A host that never went down is not
 * mistaken for one that came back, and a pct container that is `stopped` in
 * between is only "not back yet". Each try reconnects as needed and drops a
 * broken session (conn_try), so the next task of the run uses the new one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "modules/common.h"

struct rb {
	struct task_ctx *ctx;
	const json_t *args;
	int ct;           /* connect_timeout; 0: the host's own */
	int timeout;      /* reboot_timeout */
	char before[256]; /* boot id before the reboot */
	char out[256], why[1024];
};

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

static void trimmed(char *dst, size_t n, const struct buf *b)
{
	const char *s = buf_str(b);
	size_t len = b->len;

	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	snprintf(dst, n, "%.*s", (int)len, s);
}

/* The delays, reboot_timeout and connect_timeout, or their *_sec names. */
static int num(const json_t *args, const char *key)
{
	long long v = mod_int(args, key);
	return v < 0 ? 0 : v > 86400 * 30 ? 86400 * 30 : (int)v;
}

/*
 * One try of cmd on a host that may be rebooting. 0 with the trimmed output
 * in b->out; -1 with the reason in b->why (no connection, or a non-zero rc).
 */
static int try_cmd(struct rb *b, const char *cmd)
{
	struct conn_exec_opts o = b->ctx->exec;
	struct conn_result r;
	struct err e;
	char out[512], err[512];
	int ret;

	err_init(&e);
	o.timeout = b->ct > 0 ? b->ct : 10;
	ret = conn_try(&b->ctx->conn, cmd, &o, b->ct, &r, &e);
	if (ret < 0) {
		snprintf(b->why, sizeof(b->why), "%s", e.msg);
	} else {
		trimmed(out, sizeof(out), &r.out);
		trimmed(err, sizeof(err), &r.err);
		if (r.rc != 0) {
			snprintf(b->why, sizeof(b->why), "rc: %d, stdout: %s, stderr: %s", r.rc,
			         out, err);
			ret = -1;
		} else {
			snprintf(b->out, sizeof(b->out), "%s", out);
		}
	}
	conn_result_release(&r);
	return ret;
}

static int check_boot_id(struct rb *b)
{
	if (try_cmd(b, mod_str(b->args, "boot_time_command")))
		return -1;
	if (!*b->out || !strcmp(b->out, b->before)) {
		snprintf(b->why, sizeof(b->why), "boot time has not changed");
		return -1;
	}
	return 0;
}

static int check_test_command(struct rb *b)
{
	return try_cmd(b, mod_str(b->args, "test_command"));
}

/* Retry check with Ansible's backoff until it works or reboot_timeout; the
 * last try is at the deadline, so a host back just in time counts. */
static int wait_until(struct rb *b, int (*check)(struct rb *), const char *desc, json_t *result)
{
	double end = now_s() + b->timeout, pause;
	struct timespec ts;

	for (int fails = 0;; fails++) {
		if (check(b) == 0)
			return 0;
		if (now_s() >= end)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		pause = fails < 4 ? (double)(1 << fails) : 12;
		pause += (double)(ts.tv_nsec % 1000) / 1000; /* hosts do not retry in step */
		if (b->ctx->progress)
			b->ctx->progress(b->ctx, "waiting for %s to reboot (%s): %s", b->ctx->host,
			                 desc, b->why);
		nap(pause < end - now_s() ? pause : end - now_s());
	}
	mod_fail(result, "Timed out waiting for %s (timeout=%d)", desc, b->timeout);
	json_object_set_new(result, "rebooted", json_true());
	return -1;
}

/* Ansible's shutdown args on Linux; the message is kept inside the double
 * quotes whatever it holds. */
static void shutdown_args(const json_t *args, struct buf *cmd)
{
	const char *m = mod_str(args, "msg");

	buf_addf(cmd, " -r %d \"", num(args, "pre_reboot_delay") / 60);
	for (; m && *m; m++) {
		if (strchr("\"\\$`", *m))
			buf_addc(cmd, '\\');
		buf_addc(cmd, *m);
	}
	buf_addc(cmd, '"');
}

/* The reboot command with its binary found in search_paths (Ansible runs
 * its find module there). Returns -1 with result failed when it is not. */
static int reboot_cmd(struct rb *b, struct buf *cmd, json_t *result, struct err *e)
{
	const char *given = mod_str(b->args, "reboot_command");
	const json_t *paths = json_object_get(b->args, "search_paths"), *p;
	struct buf bin = BUF_INIT, find = BUF_INIT, list = BUF_INIT;
	struct conn_result r = {0};
	size_t i;
	int ret = 0;

	buf_add(&bin, given ? given : "shutdown", given ? strcspn(given, " ") : 8);
	if (buf_str(&bin)[0] != '/') {
		buf_adds(&find, "for d in");
		json_array_foreach (paths, i, p) {
			if (!json_is_string(p))
				continue;
			buf_addc(&find, ' ');
			buf_add_shquote(&find, json_string_value(p));
			buf_addf(&list, "%s'%s'", i ? ", " : "", json_string_value(p));
		}
		buf_adds(&find, "; do if [ -e \"$d\"/");
		buf_add_shquote(&find, buf_str(&bin));
		buf_adds(&find, " ]; then echo \"$d\"; exit 0; fi; done; exit 1");
		if ((ret = mod_sh(b->ctx, buf_str(&find), &r, e)) < 0)
			goto out;
		if (r.rc != 0 || !r.out.len) {
			mod_fail(result, "Unable to find command \"%s\" in search paths: [%s]",
			         buf_str(&bin), buf_str(&list));
			ret = -1;
			goto out;
		}
		trimmed(b->out, sizeof(b->out), &r.out);
		buf_addf(cmd, "%s/", b->out);
	}
	buf_adds(cmd, buf_str(&bin));
	if (given && given[strcspn(given, " ")])
		buf_adds(cmd, given + strcspn(given, " "));
	else if (!given)
		shutdown_args(b->args, cmd);
out:
	conn_result_release(&r);
	buf_release(&bin);
	buf_release(&find);
	buf_release(&list);
	return ret;
}

/*
 * Issue the reboot. The host may go down before the command's status comes
 * back: a lost connection (or a command that never returns) is the reboot
 * under way, as in Ansible. So is a command killed by a signal: the host's
 * shutdown stopped it (Ansible's ssh sees exit 255 then, a lost
 * connection; over pct the container's shutdown kills `pct exec`'s child).
 * -1 with result failed when the command failed.
 */
static int issue(struct rb *b, const char *cmd, json_t *result)
{
	struct conn_exec_opts o = b->ctx->exec;
	struct conn_result r = {0};
	struct err e;
	char out[512], err[512];
	int ret;

	err_init(&e);
	o.timeout = 60;
	ret = conn_exec(b->ctx->conn, cmd, &o, &r, &e);
	if (ret < 0 && e.code != ERR_UNREACH && e.code != ERR_TIMEOUT) {
		mod_fail(result, "Reboot command failed. Error was: '%s'", e.msg);
		json_object_set_new(result, "rebooted", json_false());
		ret = -1;
	} else if (!ret && r.rc != 0 && r.rc <= 128) {
		trimmed(out, sizeof(out), &r.out);
		trimmed(err, sizeof(err), &r.err);
		mod_fail(result, "Reboot command failed. Error was: '%s, %s'", out, err);
		json_object_set_new(result, "rebooted", json_false());
		ret = -1;
	} else {
		ret = 0;
	}
	conn_result_release(&r);
	return ret;
}

static int reboot_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	struct rb b = {.ctx = ctx, .args = args};
	struct buf cmd = BUF_INIT;
	struct conn_result r;
	double start;
	int ret;

	if (ctx->check) {
		mod_set_changed(result, 1);
		json_object_set_new(result, "elapsed", json_integer(0));
		json_object_set_new(result, "rebooted", json_true());
		return 0;
	}
	if (!strcmp(ctx->conn->ops->name, "local")) {
		mod_fail(result,
		         "Running reboot with local connection would reboot the control node.");
		json_object_set_new(result, "elapsed", json_integer(0));
		json_object_set_new(result, "rebooted", json_false());
		return 0;
	}
	b.ct = num(args, "connect_timeout");
	b.timeout = num(args, "reboot_timeout");
	if ((ret = mod_sh(ctx, mod_str(args, "boot_time_command"), &r, e)) < 0)
		return ret;
	trimmed(b.before, sizeof(b.before), &r.out);
	if (r.rc != 0) {
		char out[512], err[512];
		trimmed(out, sizeof(out), &r.out);
		trimmed(err, sizeof(err), &r.err);
		mod_fail(
		    result,
		    "reboot: failed to get host boot time info, rc: %d, stdout: %s, stderr: %s",
		    r.rc, out, err);
		json_object_set_new(result, "reboot", json_false()); /* sic, as Ansible */
	}
	conn_result_release(&r);
	if (json_object_get(result, "failed"))
		return 0;
	if ((ret = reboot_cmd(&b, &cmd, result, e)) < 0) {
		buf_release(&cmd);
		return e->code ? ret : 0;
	}
	ret = issue(&b, buf_str(&cmd), result);
	buf_release(&cmd);
	start = now_s();
	if (!ret) {
		nap(num(args, "post_reboot_delay"));
		if (!wait_until(&b, check_boot_id, "last boot time check", result) &&
		    !wait_until(&b, check_test_command, "post-reboot test command", result)) {
			json_object_set_new(result, "rebooted", json_true());
			mod_set_changed(result, 1);
		}
	}
	json_object_set_new(result, "elapsed", json_integer((json_int_t)(now_s() - start)));
	return 0;
}

static const struct module_arg reboot_args[] = {
    {"reboot_timeout", ARG_INT, 0, "600", NULL, 0, "reboot_timeout_sec",
     "Seconds to wait for the new boot id, then again for test_command."},
    {"msg", ARG_STR, 0, "\"Reboot initiated by Ansible\"", NULL, 0, NULL,
     "Message shown to logged-in users."},
    {"pre_reboot_delay", ARG_INT, 0, "0", NULL, 0, "pre_reboot_delay_sec",
     "Seconds before rebooting, passed to shutdown in whole minutes (as Ansible does)."},
    {"post_reboot_delay", ARG_INT, 0, "0", NULL, 0, "post_reboot_delay_sec",
     "Seconds to wait after the reboot command before checking."},
    {"connect_timeout", ARG_INT, 0, NULL, NULL, 0, "connect_timeout_sec",
     "Seconds one check may take to connect and run (default: the host's connect "
     "timeout; 10 s for the command)."},
    {"test_command", ARG_STR, 0, "\"whoami\"", NULL, 0, NULL,
     "Must succeed for the host to count as back."},
    {"boot_time_command", ARG_STR, 0, "\"cat /proc/sys/kernel/random/boot_id\"", NULL, 0, NULL,
     "Its output must change across the reboot."},
    {"reboot_command", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Command that reboots (its first word is looked up in search_paths unless absolute); "
     "default shutdown -r MINUTES \"msg\"."},
    {"search_paths", ARG_LIST, 0,
     "[\"/sbin\", \"/bin\", \"/usr/sbin\", \"/usr/bin\", "
     "\"/usr/local/sbin\"]",
     NULL, 0, NULL, "Where the reboot command's binary is looked for."},
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
    "Reads the boot id, runs shutdown -r (or reboot_command), then reconnects with backoff "
    "until the boot id has changed and test_command succeeds, each within reboot_timeout. "
    "Over pct the Proxmox node's session stays and only the container is waited for. "
    "Refuses the local connection. Check mode reports changed without rebooting.",
    reboot_run,
};
