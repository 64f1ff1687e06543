/*
 * pause.c - pause: wait a while, or until the operator presses enter.
 *
 * A prompt needs a terminal: with stdin not a TTY (CI, cron) waiting for
 * input would hang forever, so it is an error instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "modules/common.h"
#include "util/log.h"

/* Local time as Python's str(datetime.now()), which Ansible's pause returns. */
static json_t *stamp(const struct timeval *tv)
{
	struct tm tm;
	char s[64];
	time_t t = tv->tv_sec;
	localtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	return json_sprintf("%s.%06ld", s, (long)tv->tv_usec);
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int pause_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const json_t *sec = json_object_get(args, "seconds"),
	             *min = json_object_get(args, "minutes");
	const char *prompt = mod_str(args, "prompt");
	double secs = sec ? json_number_value(sec) : min ? json_number_value(min) * 60 : -1;
	char line[4096] = "";
	struct timeval t0, t1;
	(void)ctx;
	(void)e;
	mod_set_changed(result, 0);
	gettimeofday(&t0, NULL);
	if (secs < 0 || prompt) {
		if (!isatty(0)) {
			mod_fail(result, "pause: cannot prompt, stdin is not a terminal; give "
			                 "seconds or minutes instead of waiting for input");
			return 0;
		}
		log_lock();
		fprintf(stderr, "[%s]\n%s:\n", ctx->host ? ctx->host : "pause",
		        prompt ? prompt : "Press enter to continue, Ctrl+C to interrupt");
		log_unlock();
		if (secs < 0) {
			if (!fgets(line, sizeof(line), stdin))
				line[0] = '\0';
			line[strcspn(line, "\n")] = '\0';
		}
	}
	if (secs >= 0)
		sleep_ms((long long)(secs * 1000));
	gettimeofday(&t1, NULL);
	double delta = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6;
	char out[128];
	snprintf(out, sizeof(out), "Paused for %.2g %s", sec || !min ? delta : delta / 60,
	         sec || !min ? "seconds" : "minutes");
	json_object_set_new(result, "start", stamp(&t0));
	json_object_set_new(result, "stop", stamp(&t1));
	json_object_set_new(result, "delta", json_integer((json_int_t)delta));
	json_object_set_new(result, "echo", json_boolean(mod_bool(args, "echo")));
	json_object_set_new(result, "rc", json_integer(0));
	json_object_set_new(result, "stdout", json_string(out));
	json_object_set_new(result, "user_input", json_string(line));
	return 0;
}

static const struct module_arg pause_args[] = {
    {"seconds", ARG_FLOAT, 0, NULL, NULL, 0, NULL, "How long to wait, in seconds."},
    {"minutes", ARG_FLOAT, 0, NULL, NULL, 0, NULL, "How long to wait, in minutes."},
    {"prompt", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Text to show; without seconds/minutes waits for enter (needs a terminal)."},
    {"echo", ARG_BOOL, 0, "true", NULL, 0, NULL, "Echo what is typed."},
    {NULL},
};

static const char *const pause_aliases[] = {"ansible.builtin.pause", "ansible.legacy.pause", NULL};

const struct module_def module_pause = {
    "pause",
    pause_aliases,
    MOD_CHECK_MODE | MOD_CONTROLLER,
    pause_args,
    "Wait for a time, or for the operator",
    "Waits seconds or minutes; with a prompt and no time, waits for enter. Prompting "
    "when stdin is not a terminal is an error rather than a hang.",
    pause_run,
};
