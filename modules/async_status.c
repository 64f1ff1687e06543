/*
 * async_status.c - async_status: the state of a job started with async:
 * (engine/exec/async.c, which describes the files under ~/.ansible_async/),
 * and, once it finished, the result its module would have returned
 * (command and shell: rc, stdout, stderr, cmd, start/end/delta, msg), so
 * `until: job.finished` loops work as in Ansible. mode=cleanup removes the
 * job's files. One round trip each; sizes go before contents so output of
 * any bytes is read back exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modules/common.h"
#include "util/mem.h"

/* "N\n" then N bytes; -1 for a missing file. */
static const char status_sh[] =
    "s() { if [ -f \"$1\" ]; then wc -c <\"$1\"; cat \"$1\"; else echo -1; fi; }\n"
    "[ -f \"$f\" ] || { echo \"none $f\"; exit 0; }\n"
    "echo \"$f\"; s \"$f\"\n"
    "case $(cat \"$f\") in *'\"finished\": 1'*) s \"$f.meta\"; s \"$f.out\"; s \"$f.err\";; "
    "esac\n";

static const char cleanup_sh[] = "[ -f \"$f\" ] || { echo \"none $f\"; exit 0; }\n"
                                 "echo \"$f\"; rm -f \"$f\" \"$f\".*\n";

/* The next "N\n<N bytes>" section of *p; NULL for a missing file. */
static json_t *section(const char **p, const char *end)
{
	char *nl;
	long n = strtol(*p, &nl, 10);
	if (nl == *p || *nl != '\n' || n < 0 || end - (nl + 1) < n) {
		*p = nl && *nl == '\n' ? nl + 1 : end;
		return NULL;
	}
	json_t *v = json_stringn(nl + 1, (size_t)n);
	*p = nl + 1 + n;
	return v ? v : json_string("");
}

static void empty_output(json_t *result)
{
	json_object_set_new(result, "stdout", json_string(""));
	json_object_set_new(result, "stderr", json_string(""));
	json_object_set_new(result, "stdout_lines", json_array());
	json_object_set_new(result, "stderr_lines", json_array());
}

static void set_delta(json_t *result)
{
	struct tm a = {0}, b = {0};
	const char *s = json_string_value(json_object_get(result, "start"));
	const char *t = json_string_value(json_object_get(result, "end"));
	if (!s || !t || !strptime(s, "%Y-%m-%d %H:%M:%S", &a) ||
	    !strptime(t, "%Y-%m-%d %H:%M:%S", &b))
		return;
	long d = (long)difftime(mktime(&b), mktime(&a));
	if (d < 0)
		d = 0;
	json_object_set_new(result, "delta",
	                    json_sprintf("%ld:%02ld:%02ld.000000", d / 3600, d / 60 % 60, d % 60));
	json_object_set_new(result, "start", json_sprintf("%s.000000", s));
	json_object_set_new(result, "end", json_sprintf("%s.000000", t));
}

/* A finished command or shell job: the result that module returns. */
static void command_result(json_t *result, const json_t *meta, json_t *out, json_t *err)
{
	struct conn_result r = {0};
	int rc = (int)json_integer_value(json_object_get(result, "rc"));
	r.rc = rc;
	buf_add(&r.out, json_string_value(out), json_string_length(out));
	buf_add(&r.err, json_string_value(err), json_string_length(err));
	mod_result_cmd(result, &r);
	if (json_is_false(json_object_get(meta, "strip"))) {
		json_object_set(result, "stdout", out);
		json_object_set(result, "stderr", err);
	}
	json_object_set(result, "cmd", json_object_get(meta, "cmd"));
	set_delta(result);
	mod_set_changed(result, 1);
	json_object_set_new(result, "msg", json_string(rc ? "non-zero return code" : ""));
	if (rc)
		json_object_set_new(result, "failed", json_true());
	conn_result_release(&r);
}

static void parse_status(const char *p, const char *end, json_t *result)
{
	json_t *st = section(&p, end), *data = NULL;
	if (st)
		data = json_loads(json_string_value(st), 0, NULL);
	if (!json_is_object(data)) { /* not written yet: still starting */
		json_object_set_new(result, "started", json_integer(1));
		json_object_set_new(result, "finished", json_integer(0));
		empty_output(result);
		goto out;
	}
	json_object_update(result, data);
	/* Ansible's reading: no "started" is a final result (a killed job) */
	if (!json_object_get(data, "started") || !json_object_get(data, "finished"))
		json_object_set_new(result, "finished",
		                    json_integer(json_object_get(data, "started") ? 0 : 1));
	if (!json_object_get(data, "started"))
		json_object_set_new(result, "started", json_integer(1));
	if (json_integer_value(json_object_get(result, "finished")) != 1 ||
	    !json_object_get(data, "rc")) {
		empty_output(result);
		goto out;
	}
	json_t *meta_s = section(&p, end), *o = section(&p, end), *e = section(&p, end);
	json_t *meta = meta_s ? json_loads(json_string_value(meta_s), 0, NULL) : NULL;
	if (!o)
		o = json_string("");
	if (!e)
		e = json_string("");
	command_result(result, meta, o, e);
	json_decref(meta);
	json_decref(meta_s);
	json_decref(o);
	json_decref(e);
out:
	json_decref(data);
	json_decref(st);
}

static int valid_jid(const char *j)
{
	return *j &&
	       strspn(j, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	           strlen(j) &&
	       j[0] != '.';
}

static int async_status_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *jid = mod_str(args, "jid"), *mode = mod_str(args, "mode");
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	int cleanup = !strcmp(mode, "cleanup"), ret;
	json_object_set_new(result, "ansible_job_id", json_string(jid));
	if (!valid_jid(jid)) {
		mod_fail(result, "invalid job id '%s': ids are letters, digits, '.', '_' and '-'",
		         jid);
		return 0;
	}
	buf_adds(&cmd, "f=\"$HOME/.ansible_async/\"");
	buf_add_shquote(&cmd, jid);
	buf_addc(&cmd, '\n');
	buf_adds(&cmd, cleanup ? cleanup_sh : status_sh);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	const char *p = buf_str(&r.out), *end = p + r.out.len;
	size_t n = strcspn(p, "\n");
	mod_set_changed(result, 0);
	if (r.rc != 0 || !n || !strncmp(p, "none ", 5)) {
		mod_fail(result, "%s", r.rc ? buf_str(&r.err) : "could not find job");
		json_object_set_new(result, "started", json_integer(1));
		json_object_set_new(result, "finished", json_integer(1));
		if (!r.rc && n > 5)
			json_object_set_new(result, "results_file", json_stringn(p + 5, n - 5));
		empty_output(result);
		goto out;
	}
	json_t *path = json_stringn(p, n);
	if (cleanup) {
		json_object_set_new(result, "erased", path);
		json_object_set_new(result, "started", json_integer(0));
		json_object_set_new(result, "finished", json_integer(0));
		empty_output(result);
		goto out;
	}
	json_object_set_new(result, "results_file", path);
	parse_status(p + n + (p[n] ? 1 : 0), end, result);
	json_object_set_new(result, "ansible_job_id", json_string(jid));
out:
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static const char *const modes[] = {"status", "cleanup", NULL};

static const struct module_arg async_status_args[] = {
    {"jid", ARG_STR, 1, NULL, NULL, 0, NULL, "Job id (ansible_job_id of the async task)."},
    {"mode", ARG_STR, 0, "\"status\"", modes, 0, NULL,
     "status reports the job; cleanup removes its files under ~/.ansible_async."},
    {NULL},
};

static const char *const async_status_aliases[] = {"ansible.builtin.async_status",
                                                   "ansible.legacy.async_status", NULL};

const struct module_def module_async_status = {
    "async_status",
    async_status_aliases,
    MOD_CHECK_MODE,
    async_status_args,
    "Report on (or clean up) a job started with async",
    "Reads the job's files under ~/.ansible_async/ on the host (the home of the user the "
    "task runs as: use the same become as the async task). While the job runs: started 1, "
    "finished 0. Once it finished: finished 1 and the result of the job's command or shell "
    "task (rc, stdout, stderr, cmd, start, end, delta; failed on a non-zero rc), or "
    "\"Timeout exceeded\" when it ran past its async seconds and was killed. "
    "mode=cleanup removes the files (erased: the path). Works with POSIX sh alone.",
    async_status_run,
};
