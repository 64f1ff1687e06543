/*
 * command.c - command, shell and raw: run something on the host.
 *
 * command splits its free-form text like Python's shlex and quotes every
 * word, so no shell expansion happens, as in Ansible; shell hands the text
 * to the shell. The creates/removes checks go in the same round trip as
 * the command itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "modules/common.h"
#include "util/mem.h"

#define SKIP_MARK "__drover_skip__"

/* shlex.split(s, posix=True). Returns -1 on an unclosed quote. */
static int shlex_split(const char *s, json_t *out)
{
	struct buf w = BUF_INIT;
	int inword = 0, ret = 0;
	for (const char *p = s;; p++) {
		if (!*p || ((*p == ' ' || *p == '\t' || *p == '\n') && inword != 2)) {
			if (inword)
				json_array_append_new(out, json_string(buf_str(&w)));
			buf_reset(&w);
			inword = 0;
			if (!*p)
				break;
			continue;
		}
		inword = 1;
		if (*p == '\\') {
			if (p[1])
				buf_addc(&w, *++p);
		} else if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q) {
				ret = -1;
				break;
			}
			buf_add(&w, p + 1, (size_t)(q - p - 1));
			p = q;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] && strchr("\\\"$`\n", p[1]))
					p++;
				buf_addc(&w, *p);
			}
			if (!*p) {
				ret = -1;
				break;
			}
		} else {
			buf_addc(&w, *p);
		}
	}
	buf_release(&w);
	return ret;
}

static void now_str(struct timeval *tv, char out[40])
{
	struct tm tm;
	char tmp[32];
	localtime_r(&tv->tv_sec, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, 40, "%s.%06ld", tmp, (long)tv->tv_usec);
}

static void set_times(json_t *result, struct timeval *a, struct timeval *b)
{
	char s[40], t[40], d[40];
	long long us = (b->tv_sec - a->tv_sec) * 1000000LL + (b->tv_usec - a->tv_usec);
	now_str(a, s);
	now_str(b, t);
	snprintf(d, sizeof(d), "%lld:%02lld:%02lld.%06lld", us / 3600000000LL, us / 60000000LL % 60,
	         us / 1000000LL % 60, us % 1000000LL);
	json_object_set_new(result, "start", json_string(s));
	json_object_set_new(result, "end", json_string(t));
	json_object_set_new(result, "delta", json_string(d));
}

/* A path test on the host: glob patterns expand, others are quoted. */
static void add_exists(struct buf *cmd, const char *path)
{
	if (strpbrk(path, "*?[")) {
		buf_adds(cmd, "(set +f; for f in ");
		for (const char *p = path; *p; p++) {
			if (!strchr("*?[]", *p) && !(*p >= 'a' && *p <= 'z') &&
			    !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9'))
				buf_addc(cmd, '\\');
			buf_addc(cmd, *p);
		}
		buf_adds(cmd, "; do [ -e \"$f\" ] && exit 0; done; exit 1)");
	} else {
		buf_adds(cmd, "[ -e ");
		buf_add_shquote(cmd, path);
		buf_adds(cmd, " ]");
	}
}

static void add_quoted_n(struct buf *cmd, const char *s, size_t n)
{
	char *t = xstrndup(s, n);
	buf_add_shquote(cmd, t);
	free(t);
}

static int name_char(char c, int first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

/*
 * One word of a command, expanded on the host as Ansible's command module
 * does it (os.path.expandvars, then expanduser): $NAME and ${NAME} become
 * the variable's value when it is set and stay as written when not, a
 * leading ~ or ~user is the home directory; nothing else is interpreted.
 */
static void add_expanded(struct buf *cmd, const char *w)
{
	const char *p = w, *lit = w;
	size_t n = 0;
	if (*p == '~') {
		for (n = 1; p[n] && p[n] != '/' && (name_char(p[n], 0) || strchr(".-", p[n])); n++)
			;
		if (!p[n] || p[n] == '/') {
			n += p[n] == '/';   /* the prefix ends at an unquoted slash */
			buf_add(cmd, p, n); /* unquoted: the shell's tilde expansion */
			p = lit = w + n;
		}
	}
	for (; *p; p++) {
		int brace = p[0] == '$' && p[1] == '{';
		const char *name = p + 1 + brace;
		for (n = 0; p[0] == '$' && name_char(name[n], n == 0); n++)
			;
		if (!n || (brace && name[n] != '}'))
			continue;
		if (p > lit)
			add_quoted_n(cmd, lit, (size_t)(p - lit));
		buf_addf(cmd, "\"${%.*s-\\$%s%.*s%s}\"", (int)n, name, brace ? "{" : "", (int)n,
		         name, brace ? "\\}" : "");
		p = name + n + brace - 1;
		lit = p + 1;
	}
	if (p > lit || lit == w)
		add_quoted_n(cmd, lit, (size_t)(p - lit));
}

/* The command line to run, and the "cmd" value Ansible reports. */
static int build_cmd(const json_t *args, int shell, struct buf *cmd, json_t **shown, json_t *result)
{
	const char *raw = mod_str(args, "_raw_params");
	const char *c = mod_str(args, "cmd");
	const json_t *argv = json_object_get(args, "argv");
	if (raw && !*raw)
		raw = NULL;
	if (!!raw + !!c + !!json_array_size(argv) != 1) {
		mod_fail(result,
		         raw || c || json_array_size(argv)
		             ? "only one of 'cmd', 'argv' or a free-form command may be given"
		             : "no command given");
		return -1;
	}
	if (shell) {
		const char *text = raw ? raw : c;
		const char *exe = mod_str(args, "executable");
		if (!text) {
			mod_fail(result, "shell takes a free-form command or cmd, not argv");
			return -1;
		}
		if (exe) {
			buf_add_shquote(cmd, exe);
			buf_adds(cmd, " -c ");
			buf_add_shquote(cmd, text);
		} else {
			buf_adds(cmd, text);
		}
		*shown = json_string(text);
		return 0;
	}
	json_t *words = json_array();
	if (json_array_size(argv)) {
		json_array_extend(words, (json_t *)argv);
	} else if (shlex_split(raw ? raw : c, words) < 0) {
		mod_fail(result, "No closing quotation in: %s", raw ? raw : c);
		json_decref(words);
		return -1;
	}
	size_t i;
	json_t *w;
	json_array_foreach (words, i, w) {
		char *text = json_is_string(w) ? xstrdup(json_string_value(w)) : tmpl_to_text(w);
		if (i)
			buf_addc(cmd, ' ');
		add_expanded(cmd, text);
		free(text);
	}
	*shown = words;
	return 0;
}

/* creates/removes as a shell guard; returns 1 when there is one. */
static int add_guard(const json_t *args, struct buf *cmd)
{
	const char *creates = mod_str(args, "creates"), *removes = mod_str(args, "removes");
	if (!creates && !removes)
		return 0;
	if (creates) {
		buf_adds(cmd, "if ");
		add_exists(cmd, creates);
		buf_adds(cmd, "; then echo " SKIP_MARK "c; exit 0; fi\n");
	}
	if (removes) {
		buf_adds(cmd, "if ! ");
		add_exists(cmd, removes);
		buf_adds(cmd, "; then echo " SKIP_MARK "r; exit 0; fi\n");
	}
	return 1;
}

static void skipped_by_guard(json_t *result, const json_t *args, char which, int check)
{
	const char *path = mod_str(args, which == 'c' ? "creates" : "removes");
	const char *how = which == 'c' ? "exists" : "does not exist";
	char msg[1024], out[1024];
	snprintf(msg, sizeof(msg), "%s not run command since '%s' %s", check ? "Would" : "Did",
	         path, how);
	snprintf(out, sizeof(out), "skipped, since %s %s", path, how);
	json_object_set_new(result, "msg", json_string(msg));
	json_object_set_new(result, "stdout", json_string(out));
	json_object_set_new(result, "stdout_lines", mod_lines(out, strlen(out)));
	json_object_set_new(result, "stderr", json_string(""));
	json_object_set_new(result, "stderr_lines", json_array());
	json_object_set_new(result, "rc", json_integer(0));
	json_object_set_new(result, "start", json_null());
	json_object_set_new(result, "end", json_null());
	json_object_set_new(result, "delta", json_null());
	mod_set_changed(result, 0);
}

static int run_common(struct task_ctx *ctx, const json_t *args, json_t *result, int shell,
                      struct err *e)
{
	struct buf cmd = BUF_INIT, guard = BUF_INIT, in = BUF_INIT;
	struct conn_result r = {0};
	struct conn_exec_opts o = ctx->exec;
	struct timeval t0, t1;
	json_t *shown = NULL;
	int ret = 0, guarded;

	if (build_cmd(args, shell, &cmd, &shown, result) < 0)
		goto out;
	json_object_set(result, "cmd", shown);
	guarded = add_guard(args, &guard);
	if (ctx->check && !guarded) {
		json_object_set_new(result, "msg",
		                    json_string("Command would have run if not in check mode"));
		json_object_set_new(result, "skipped", json_true());
		json_object_set_new(result, "rc", json_integer(0));
		mod_set_changed(result, 0);
		goto out;
	}
	if (ctx->check)
		buf_adds(&guard, "exit 0\n");
	if (mod_str(args, "chdir"))
		o.chdir = mod_str(args, "chdir");
	if (mod_str(args, "stdin")) {
		buf_adds(&in, mod_str(args, "stdin"));
		if (mod_bool(args, "stdin_add_newline"))
			buf_addc(&in, '\n');
		o.stdin_data = buf_str(&in);
		o.stdin_len = in.len;
	}
	if (guarded) {
		buf_add(&guard, cmd.s, cmd.len);
		buf_reset(&cmd);
		buf_add(&cmd, guard.s, guard.len);
	}
	gettimeofday(&t0, NULL);
	if ((ret = conn_exec(ctx->conn, buf_str(&cmd), &o, &r, e)) < 0)
		goto out;
	gettimeofday(&t1, NULL);
	const char *mark = strstr(buf_str(&r.out), SKIP_MARK);
	if (mark && mark == buf_str(&r.out)) {
		skipped_by_guard(result, args, mark[strlen(SKIP_MARK)], ctx->check);
		goto out;
	}
	if (ctx->check) {
		json_object_set_new(result, "msg",
		                    json_string("Command would have run if not in check mode"));
		json_object_set_new(result, "rc", json_integer(0));
		mod_set_changed(result, 1);
		goto out;
	}
	mod_result_cmd(result, &r);
	if (!mod_bool(args, "strip_empty_ends")) {
		/* keep trailing newlines, as strip_empty_ends: false asks */
		json_object_set_new(result, "stdout", json_stringn(buf_str(&r.out), r.out.len));
		json_object_set_new(result, "stderr", json_stringn(buf_str(&r.err), r.err.len));
	}
	set_times(result, &t0, &t1);
	mod_set_changed(result, 1);
	if (r.rc != 0) {
		json_object_set_new(result, "failed", json_true());
		json_object_set_new(result, "msg", json_string("non-zero return code"));
	} else {
		json_object_set_new(result, "msg", json_string(""));
	}
out:
	json_decref(shown);
	conn_result_release(&r);
	buf_release(&cmd);
	buf_release(&guard);
	buf_release(&in);
	return ret;
}

static int command_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	return run_common(ctx, args, result, 0, e);
}

static int shell_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	return run_common(ctx, args, result, 1, e);
}

static int raw_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	struct conn_result r = {0};
	struct buf cmd = BUF_INIT;
	const char *text = mod_str(args, "_raw_params");
	const char *exe = mod_str(args, "executable");
	int ret;
	if (!text || !*text) {
		mod_fail(result, "raw needs a free-form command");
		return 0;
	}
	if (exe) {
		buf_add_shquote(&cmd, exe);
		buf_adds(&cmd, " -c ");
		buf_add_shquote(&cmd, text);
	} else {
		buf_adds(&cmd, text);
	}
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) == 0) {
		mod_result_cmd(result, &r);
		mod_set_changed(result, 1);
		if (r.rc != 0)
			mod_fail(result, "non-zero return code");
	}
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static const struct module_arg command_args[] = {
    {"cmd", ARG_STR, 0, NULL, NULL, 0, NULL, "The command to run, split like a shell would."},
    {"argv", ARG_LIST, 0, NULL, NULL, 0, NULL, "The command as a list of words, no splitting."},
    {"creates", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "A path or glob; when it exists the command is not run."},
    {"removes", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "A path or glob; when it does not exist the command is not run."},
    {"chdir", ARG_PATH, 0, NULL, NULL, 0, NULL, "Change into this directory first."},
    {"stdin", ARG_STR, 0, NULL, NULL, 0, NULL, "Text fed to the command's stdin."},
    {"stdin_add_newline", ARG_BOOL, 0, "true", NULL, 0, NULL, "Append a newline to stdin."},
    {"strip_empty_ends", ARG_BOOL, 0, "true", NULL, 0, NULL,
     "Strip trailing newlines from stdout and stderr."},
    {"warn", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted for old playbooks; ignored."},
    {NULL},
};

static const struct module_arg shell_args[] = {
    {"cmd", ARG_STR, 0, NULL, NULL, 0, NULL, "The shell command line to run."},
    {"creates", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "A path or glob; when it exists the command is not run."},
    {"removes", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "A path or glob; when it does not exist the command is not run."},
    {"chdir", ARG_PATH, 0, NULL, NULL, 0, NULL, "Change into this directory first."},
    {"executable", ARG_PATH, 0, NULL, NULL, 0, NULL, "The shell to use (default /bin/sh)."},
    {"stdin", ARG_STR, 0, NULL, NULL, 0, NULL, "Text fed to the command's stdin."},
    {"stdin_add_newline", ARG_BOOL, 0, "true", NULL, 0, NULL, "Append a newline to stdin."},
    {"strip_empty_ends", ARG_BOOL, 0, "true", NULL, 0, NULL,
     "Strip trailing newlines from stdout and stderr."},
    {"warn", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted for old playbooks; ignored."},
    {NULL},
};

static const struct module_arg raw_args[] = {
    {"executable", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "Run the command through this shell instead of /bin/sh."},
    {NULL},
};

static const char *const command_aliases[] = {"ansible.builtin.command", "ansible.legacy.command",
                                              NULL};
static const char *const shell_aliases[] = {"ansible.builtin.shell", "ansible.legacy.shell", NULL};
static const char *const raw_aliases[] = {"ansible.builtin.raw", "ansible.legacy.raw", NULL};

const struct module_def module_command = {
    "command",
    command_aliases,
    MOD_CHECK_MODE | MOD_RAW_PARAMS,
    command_args,
    "Run a command on the host, without a shell",
    "Runs a command with its words quoted, so shell syntax ($HOME, *, |, >) is passed "
    "through literally. Use shell for pipes and redirections. In check mode the "
    "command is skipped unless creates or removes decides it would not run.",
    command_run,
};

const struct module_def module_shell = {
    "shell",
    shell_aliases,
    MOD_CHECK_MODE | MOD_RAW_PARAMS,
    shell_args,
    "Run a command on the host through a shell",
    "Runs the text with /bin/sh (or executable), so pipes, redirections and variables "
    "work. In check mode the command is skipped unless creates or removes decides it "
    "would not run.",
    shell_run,
};

const struct module_def module_raw = {
    "raw",
    raw_aliases,
    MOD_RAW_PARAMS,
    raw_args,
    "Run a raw command on the host",
    "Runs the text as it is with /bin/sh, with no checks: the module for hosts that "
    "can run nothing else yet.",
    raw_run,
};
