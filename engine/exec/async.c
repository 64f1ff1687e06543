/*
 * async: S and poll: P on a task, as ansible-core 2.14 runs them, with
 * nothing but POSIX sh on the host.
 *
 * drover's modules run on the controller, so only a command the host can
 * run alone can go to the background: command and shell tasks. Their module
 * builds the command line as usual, against a connection that captures it
 * instead of running it (capture_ops); the command then runs in a job
 * started with nohup, with its output and exit status in files under
 * ~/.ansible_async/ (Ansible's place, in the home of the user commands run
 * as, so async_status needs the same become):
 *
 *   JID       the status, JSON: {"started": 1, "finished": 0, ...} while it
 *             runs; "finished": 1 with "rc", "start", "end" when it is done;
 *             {"failed": true, "msg": "Timeout exceeded", ...} when the job
 *             was killed after S seconds (setsid's process group when there
 *             is setsid, else the job's shell)
 *   JID.meta  result fields known at start, from the controller:
 *             {"module": "shell", "cmd": ..., "strip": true}
 *   JID.cmd, JID.in, JID.out, JID.err, JID.pid
 *
 * modules/async_status.c reads them back and builds the module's result.
 * poll 0 returns at once with ansible_job_id, started, finished and
 * results_file; poll P runs async_status every P seconds until the job has
 * finished or S seconds passed, then removes the files, as Ansible does.
 * A polled job past S is killed by the controller when it gives up (its
 * own watchdog waits P + 5 more seconds, for a controller that went away),
 * so the failure is Ansible's "did not complete" and not the watchdog's.
 * Other modules: poll 0 is refused; with poll P they run in the foreground,
 * each of their commands limited to S seconds.
 */
#include "exec/exec_int.h"
#include "modules/module.h"
#include "util/buf.h"
#include "util/mem.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct capture {
	struct buf cmd, in;
	int n;
};

static int cap_exec(struct conn *c, const struct conn_job *j, struct conn_result *r, struct err *e)
{
	struct capture *cp = c->priv;
	if (cp->n++)
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "async: the module ran more than one command");
	buf_adds(&cp->cmd, j->cmd);
	if (j->in)
		buf_add(&cp->in, j->in, j->in_len);
	r->rc = 0;
	return 0;
}

static int cap_put(struct conn *c, const void *data, size_t len, const char *path, int mode,
                   struct err *e)
{
	(void)c, (void)data, (void)len, (void)path, (void)mode;
	return err_set(e, ERR_GENERIC, NULL, 0, 0, "async: the module copies files");
}

static int cap_get(struct conn *c, const char *path, struct buf *out, struct err *e)
{
	(void)c, (void)path, (void)out;
	return err_set(e, ERR_GENERIC, NULL, 0, 0, "async: the module reads files");
}

static const struct conn_ops capture_ops = {
    "captured for async", NULL, cap_exec, cap_put, cap_get, NULL};

/* Runs in the background: $1 the status file, $2 S, $3 the job id. */
static const char job_script[] =
    "f=$1 t=$2 j=$3\n"
    "s=$(date '+%Y-%m-%d %H:%M:%S')\n"
    "if command -v setsid >/dev/null 2>&1; then\n"
    "  setsid /bin/sh \"$f.cmd\" <\"$f.in\" >\"$f.out\" 2>\"$f.err\" &\n"
    "else\n"
    "  /bin/sh \"$f.cmd\" <\"$f.in\" >\"$f.out\" 2>\"$f.err\" &\n"
    "fi\n"
    "p=$!; echo $p >\"$f.pid\"\n"
    "(trap 'kill $z 2>/dev/null; exit 0' TERM; sleep \"$t\" & z=$!; wait $z;\n"
    "  : >\"$f.killed\"; kill -s KILL -- \"-$p\" 2>/dev/null || kill -s KILL \"$p\") &\n"
    "w=$!\n"
    "wait $p; rc=$?\n"
    "kill $w 2>/dev/null\n"
    "e=$(date '+%Y-%m-%d %H:%M:%S')\n"
    "if [ -f \"$f.killed\" ]; then\n"
    "  printf '{\"failed\": true, \"finished\": 1, \"msg\": \"Timeout exceeded\", "
    "\"ansible_job_id\": \"%s\"}\\n' \"$j\" >\"$f.tmp\"\n"
    "else\n"
    "  printf '{\"started\": 1, \"finished\": 1, \"ansible_job_id\": \"%s\", \"rc\": %d, "
    "\"start\": \"%s\", \"end\": \"%s\"}\\n' \"$j\" \"$rc\" \"$s\" \"$e\" >\"$f.tmp\"\n"
    "fi\n"
    "mv \"$f.tmp\" \"$f\"\n";

/* Ansible's job ids: j, 12 digits, the controller's pid. */
static void job_id(char out[48])
{
	unsigned long long r = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		r = (unsigned long long)time(NULL) ^ ((unsigned long long)clock() << 20);
	if (fd >= 0)
		close(fd);
	snprintf(out, 48, "j%012llu.%d", r % 1000000000000ULL, (int)getpid());
}

/* The start command: the job's files, then the job under nohup. */
static void start_cmd(struct buf *b, const char *jid, const struct capture *cp, const char *meta,
                      long async_s)
{
	buf_adds(b, "umask 077; d=\"$HOME/.ansible_async\"; mkdir -p \"$d\" || exit 1\nf=\"$d/\"");
	buf_add_shquote(b, jid);
	buf_adds(b, "\nprintf '%s\\n' ");
	buf_add_shquote(b, meta);
	buf_adds(b, " >\"$f.meta\" || exit 1\nprintf '%s' ");
	buf_add_shquote(b, buf_str(&cp->cmd));
	buf_adds(b, " >\"$f.cmd\"\n");
	buf_adds(b, cp->in.len ? "cat >\"$f.in\"\n" : ": >\"$f.in\"\n");
	buf_addf(b,
	         "printf '{\"started\": 1, \"finished\": 0, \"ansible_job_id\": \"%%s\"}\\n' "
	         "'%s' >\"$f\"\n",
	         jid);
	buf_adds(b, "nohup /bin/sh -c ");
	buf_add_shquote(b, job_script);
	buf_addf(b, " sh \"$f\" %ld '%s' >/dev/null 2>&1 </dev/null &\necho \"$f\"\n", async_s,
	         jid);
}

/* What the module would have run, captured; 0 with nothing captured when
 * the module answered without running anything (check mode, bad args). */
static int capture(struct task_ctx *ctx, const struct module_def *m, const json_t *args,
                   struct capture *cp, json_t *r0, struct err *e)
{
	struct conn fake = {0};
	struct task_ctx c2 = *ctx;
	fake.ops = &capture_ops;
	fake.host = ctx->conn->host;
	fake.vars = ctx->conn->vars;
	fake.priv = cp;
	fake.opened = 1;
	c2.conn = &fake;
	/* become and environment apply to the job as a whole (start_job) */
	c2.exec.become = 0;
	c2.exec.env = NULL;
	return m->run(&c2, args, r0, e);
}

static int start_job(struct task_ctx *ctx, const struct capture *cp, const json_t *meta,
                     long async_s, char jid[48], json_t *result, struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	struct conn_exec_opts o = ctx->exec;
	char *m = json_dumps(meta, JSON_COMPACT);
	int ret;
	job_id(jid);
	start_cmd(&cmd, jid, cp, m, async_s);
	o.stdin_data = cp->in.len ? buf_str(&cp->in) : NULL;
	o.stdin_len = cp->in.len;
	if ((ret = conn_exec(ctx->conn, buf_str(&cmd), &o, &r, e)) == 0) {
		const char *out = buf_str(&r.out);
		size_t n = strcspn(out, "\n");
		if (r.rc != 0 || !n) {
			json_object_set_new(result, "failed", json_true());
			json_object_set_new(
			    result, "msg",
			    json_sprintf("could not start the async job (rc %d): %s", r.rc,
			                 buf_str(&r.err)));
		} else {
			json_object_set_new(result, "results_file", json_stringn(out, n));
		}
	}
	free(m);
	buf_release(&cmd);
	conn_result_release(&r);
	return ret;
}

/* async_status (mode) for jid through the task's connection. */
static int status(struct task_ctx *ctx, const char *jid, const char *mode, json_t *st,
                  struct err *e)
{
	const struct module_def *as = module_find("async_status");
	json_t *a = json_pack("{ss ss}", "jid", jid, "mode", mode);
	int ret = as ? as->run(ctx, a, st, e)
	             : err_set(e, ERR_INTERNAL, NULL, 0, 0, "no async_status module");
	json_decref(a);
	return ret;
}

static void nap(long seconds)
{
	for (long i = 0; i < seconds * 10 && !exec_stop_flag; i++)
		usleep(100000);
}

/* Ansible's words for a job past its async seconds. */
static void timed_out(json_t *result, long async_s)
{
	json_object_clear(result);
	json_object_set_new(result, "failed", json_true());
	json_object_set_new(result, "changed", json_false());
	json_object_set_new(
	    result, "msg",
	    json_sprintf("async task did not complete within the requested time - %lds", async_s));
}

/* The controller gave up on a polled job: stop it (best effort: its
 * watchdog is the backstop). */
static void kill_job(struct task_ctx *ctx, const char *results_file)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	struct err e;
	if (!results_file)
		return;
	err_init(&e);
	buf_adds(&cmd, "f=");
	buf_add_shquote(&cmd, results_file);
	buf_adds(&cmd, "; p=$(cat \"$f.pid\" 2>/dev/null) || exit 0; : >\"$f.killed\"; "
	               "kill -s KILL -- \"-$p\" 2>/dev/null || kill -s KILL \"$p\" 2>/dev/null; "
	               "exit 0");
	conn_exec(ctx->conn, buf_str(&cmd), &ctx->exec, &r, &e);
	conn_result_release(&r);
	buf_release(&cmd);
}

/* poll P: Ansible's _poll_async_result. */
static int poll_job(struct item_run *ir, struct task_ctx *ctx, const char *jid, long async_s,
                    long poll, json_t *result, struct err *e)
{
	struct output *out = ir->pr->x->cfg->out;
	json_t *st = NULL;
	int ret = 0;
	for (long left = async_s; left > 0 && !exec_stop_flag;) {
		nap(poll);
		json_decref(st);
		st = json_object();
		if ((ret = status(ctx, jid, "status", st, e)) < 0)
			goto out;
		if (json_integer_value(json_object_get(st, "finished")) == 1 ||
		    json_object_get(st, "failed"))
			break;
		left -= poll;
		output_line(out, "ASYNC POLL on %s: jid=%s started=%lld finished=%lld", ctx->host,
		            jid, json_integer_value(json_object_get(st, "started")),
		            json_integer_value(json_object_get(st, "finished")));
	}
	if (!st || json_integer_value(json_object_get(st, "finished")) != 1) {
		kill_job(ctx, json_string_value(json_object_get(result, "results_file")));
		timed_out(result, async_s);
		json_object_set_new(result, "async_result", st ? json_incref(st) : json_object());
		output_line(out, "ASYNC FAILED on %s: jid=%s", ctx->host, jid);
		goto out;
	}
	json_object_clear(result);
	json_object_update(result, st);
	json_t *gone = json_object();
	ret = status(ctx, jid, "cleanup", gone, e);
	json_decref(gone);
	output_line(out, "ASYNC %s on %s: jid=%s",
	            json_is_true(json_object_get(st, "failed")) ? "FAILED" : "OK", ctx->host, jid);
out:
	json_decref(st);
	return ret;
}

/* command and shell: captured, started in the background, maybe polled. */
static int run_job(struct item_run *ir, struct task_ctx *ctx, const struct module_def *m,
                   const json_t *args, long async_s, long poll, json_t *result, struct err *e)
{
	struct capture cp = {BUF_INIT, BUF_INIT, 0};
	json_t *r0 = json_object(), *meta = NULL;
	char jid[48];
	int ret = capture(ctx, m, args, &cp, r0, e);
	if (ret < 0 || !cp.n) { /* nothing to run: the module's own answer */
		json_object_update(result, r0);
		goto out;
	}
	meta = json_pack("{ss sO sb}", "module", m->name, "cmd",
	                 json_object_get(r0, "cmd") ?: json_null(), "strip",
	                 !json_is_false(json_object_get(args, "strip_empty_ends")));
	long limit = poll > 0 ? async_s + poll + 5 : async_s;
	if ((ret = start_job(ctx, &cp, meta, limit, jid, result, e)) < 0 ||
	    json_object_get(result, "failed"))
		goto out;
	json_object_set_new(result, "ansible_job_id", json_string(jid));
	json_object_set_new(result, "started", json_integer(1));
	json_object_set_new(result, "finished", json_integer(0));
	json_object_set_new(result, "changed", json_true());
	json_object_set_new(result, "failed", json_integer(0));
	if (poll > 0)
		ret = poll_job(ir, ctx, jid, async_s, poll, result, e);
out:
	json_decref(r0);
	json_decref(meta);
	buf_release(&cp.cmd);
	buf_release(&cp.in);
	return ret;
}

int exec_async_run(struct item_run *ir, struct task_ctx *ctx, const struct module_def *m,
                   const json_t *args, long async_s, json_t *result, struct err *e)
{
	long poll = exec_kw_int(ir, "poll", 15);
	if (!strcmp(m->name, "command") || !strcmp(m->name, "shell"))
		return run_job(ir, ctx, m, args, async_s, poll, result, e);
	if (poll <= 0) {
		json_object_set_new(result, "failed", json_true());
		json_object_set_new(
		    result, "msg",
		    json_sprintf("async with poll: 0 runs only command and shell tasks in drover: "
		                 "%s runs on the controller and cannot be left running on the "
		                 "host; use poll: N (N > 0) or a shell task",
		                 m->name));
		return 0;
	}
	/* in the foreground, each command bounded by S */
	time_t t0 = time(NULL);
	if (!ctx->exec.timeout || ctx->exec.timeout > async_s)
		ctx->exec.timeout = (int)async_s;
	int ret = m->run(ctx, args, result, e);
	if ((ret < 0 && e->code == ERR_TIMEOUT) || time(NULL) - t0 > async_s) {
		timed_out(result, async_s);
		err_init(e);
		ret = 0;
	}
	return ret;
}
