/*
 * conn.c - the connection pool and the conn_* wrappers.
 *
 * The wrappers turn a command plus its options (env, chdir, become) into one
 * POSIX sh command line, every interpolated value single-quoted, and hand it
 * to the transport. File transfer under become, or on transports without a
 * native put/get, is streamed through exec (cat > tmp && mv).
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "conn/conn_int.h"
#include "util/log.h"
#include "util/mem.h"

static int env_name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* "export A='x'; cd 'dir' || exit 1; CMD" */
static int build_inner(const char *cmd, const struct conn_exec_opts *o, struct buf *b,
                       struct err *e)
{
	const char *const *env;

	for (env = o->env; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		if (!eq || !env_name_ok(*env, (size_t)(eq - *env)))
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "invalid environment entry '%.*s': expected NAME=value with "
			               "NAME made of letters, digits and _",
			               (int)(eq ? eq - *env : (long)strlen(*env)), *env);
		buf_adds(b, "export ");
		buf_add(b, *env, (size_t)(eq - *env) + 1);
		buf_add_shquote(b, eq + 1);
		buf_adds(b, "; ");
	}
	if (o->chdir && *o->chdir) {
		buf_adds(b, "cd ");
		buf_add_shquote(b, o->chdir);
		buf_adds(b, " || exit 1; ");
	}
	buf_adds(b, cmd);
	return 0;
}

/* pct exec already runs as root in the container: sudo to root is a no-op
 * there, and minimal containers have no sudo at all. */
static int become_needed(const struct conn *c, const struct conn_exec_opts *o)
{
	const char *u = o->become_user && *o->become_user ? o->become_user : "root";

	if (!o->become)
		return 0;
	return !(c->ops == &conn_pct_ops && !strcmp(u, "root"));
}

/* sudo -H -S [-n | -p PROMPT] -u USER -- /bin/sh -c INNER. sudo -S reads
 * the password from stdin; -p sets a prompt nobody else prints, so we answer
 * exactly that prompt and nothing else (conn_feed). */
static void wrap_sudo(const char *user, const char *pw, struct buf *inner, struct buf *full,
                      char prompt[64], char ok[64], struct conn_job *j)
{
	char hex[33];

	if (pw) {
		conn_random_hex(hex, 32);
		snprintf(prompt, 64, "[sudo via drover, key=%s] password:", hex);
		snprintf(ok, 64, "DROVER-BECOME-OK-%s", hex);
		buf_adds(full, "sudo -H -S -p ");
		buf_add_shquote(full, prompt);
		j->prompt = prompt;
		j->ok = ok;
		j->password = pw;
	} else {
		buf_adds(full, "sudo -H -S -n");
	}
	buf_adds(full, " -u ");
	buf_add_shquote(full, user);
	buf_adds(full, " -- /bin/sh -c ");
	if (pw) {
		struct buf w = BUF_INIT;
		buf_addf(&w, "echo %s; %s", ok, buf_str(inner));
		buf_add_shquote(full, buf_str(&w));
		buf_release(&w);
	} else {
		buf_add_shquote(full, buf_str(inner));
	}
}

static int wrap_become(const struct conn_exec_opts *o, struct buf *inner, struct buf *full,
                       char prompt[64], char ok[64], struct conn_job *j, struct err *e)
{
	const char *u = o->become_user && *o->become_user ? o->become_user : "root";
	const char *m = o->become_method && *o->become_method ? o->become_method : "sudo";
	const char *pw = o->become_password && *o->become_password ? o->become_password : NULL;

	if (!strcmp(m, "sudo")) {
		wrap_sudo(u, pw, inner, full, prompt, ok, j);
		return 0;
	}
	if (strcmp(m, "su"))
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "become_method '%s' is not supported: use sudo or su", m);
	/* su reads a password only from a terminal, and drover runs commands
	 * without one: su works where it needs none (the login user is root). */
	if (pw)
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "become_method su cannot take a password (su asks on a terminal); "
		               "use become_method sudo, or connect as root");
	buf_adds(full, "su -s /bin/sh -c ");
	buf_add_shquote(full, buf_str(inner));
	buf_addc(full, ' ');
	buf_add_shquote(full, u);
	return 0;
}

/* Fill j from cmd and o. The markers live in the caller's prompt/ok arrays. */
static int build_job(const struct conn *c, const char *cmd, const struct conn_exec_opts *o,
                     struct buf *full, char prompt[64], char ok[64], struct conn_job *j,
                     struct err *e)
{
	static const struct conn_exec_opts none;
	struct buf inner = BUF_INIT;
	int ret;

	if (!o)
		o = &none;
	memset(j, 0, sizeof(*j));
	ret = build_inner(cmd, o, &inner, e);
	if (!ret && become_needed(c, o))
		ret = wrap_become(o, &inner, full, prompt, ok, j, e);
	else if (!ret)
		buf_add(full, inner.s ? inner.s : "", inner.len);
	if (ret)
		goto out;
	j->cmd = buf_str(full);
	j->in = o->stdin_data;
	j->in_len = o->stdin_data ? o->stdin_len : 0;
	j->timeout = o->timeout;
out:
	buf_release(&inner);
	return ret;
}

static int conn_ready(struct conn *c, struct err *e)
{
	if (!c || !c->opened)
		return err_set(e, ERR_INTERNAL, NULL, 0, 0, "connection used before it was opened");
	return 0;
}

static int run(struct conn *c, const char *cmd, const struct conn_exec_opts *o,
               struct conn_result *r, struct err *e)
{
	struct buf full = BUF_INIT;
	struct conn_job j;
	char prompt[64], ok[64];
	int ret;

	r->rc = -1;
	ret = conn_ready(c, e);
	if (!ret)
		ret = build_job(c, cmd, o, &full, prompt, ok, &j, e);
	if (!ret) {
		log_verbose(3, "<%s> %s: %s", c->host, c->ops->name, j.cmd);
		ret = c->ops->exec(c, &j, r, e);
	}
	buf_release(&full);
	return ret;
}

int conn_exec(struct conn *c, const char *cmd, const struct conn_exec_opts *o,
              struct conn_result *r, struct err *e)
{
	memset(r, 0, sizeof(*r));
	return run(c, cmd, o, r, e);
}

void conn_result_release(struct conn_result *r)
{
	buf_release(&r->out);
	buf_release(&r->err);
}

static void trim_right(struct buf *b)
{
	while (b->len && isspace((unsigned char)b->s[b->len - 1]))
		b->s[--b->len] = '\0';
}

/* A remote path in sh: ~ and ~/... mean the (become) user's home there,
 * as in Ansible; everything else is quoted as is. */
static void add_path(struct buf *b, const char *path)
{
	if (path[0] == '~' && (path[1] == '/' || !path[1])) {
		buf_adds(b, "\"$HOME\"");
		if (path[1])
			buf_add_shquote(b, path + 1);
		return;
	}
	buf_add_shquote(b, path);
}

/* The temp file sits beside path so the final mv is a rename(2). */
static void put_script(struct buf *b, const char *path, int mode)
{
	const char *slash = strrchr(path, '/');
	struct buf tmp = BUF_INIT;
	char hex[17];

	conn_random_hex(hex, 16);
	if (slash)
		buf_add(&tmp, path, (size_t)(slash - path) + 1);
	buf_addf(&tmp, ".%s.drover-%s", slash ? slash + 1 : path, hex);

	buf_adds(b, "d=");
	add_path(b, path);
	buf_adds(b, "; t=");
	add_path(b, buf_str(&tmp));
	buf_adds(b, "; if [ -d \"$d\" ]; then echo \"$d is a directory\" >&2; exit 1; fi; "
	            "umask 077; cat > \"$t\" && { ");
	if (mode >= 0)
		buf_addf(b, "chmod %o \"$t\"", (unsigned)mode & 07777);
	else
		buf_adds(b, "if [ -e \"$d\" ]; then chmod \"$(stat -c %a \"$d\")\" \"$t\"; "
		            "else chmod 644 \"$t\"; fi");
	buf_adds(b, "; } && { [ ! -e \"$d\" ] || chown \"$(stat -c %u:%g \"$d\")\" \"$t\" "
	            "2>/dev/null || true; } && mv -f \"$t\" \"$d\" || { rc=$?; rm -f \"$t\"; "
	            "exit $rc; }");
	buf_release(&tmp);
}

int conn_put(struct conn *c, const void *data, size_t len, const char *path, int mode,
             const struct conn_exec_opts *o, struct err *e)
{
	struct conn_exec_opts po;
	struct conn_result r;
	struct buf cmd = BUF_INIT;
	int ret;

	if ((ret = conn_ready(c, e)))
		return ret;
	if (c->ops->put && !(o && become_needed(c, o)))
		return c->ops->put(c, data, len, path, mode, e);
	po = o ? *o : (struct conn_exec_opts){0};
	po.stdin_data = data ? data : "";
	po.stdin_len = len;
	po.chdir = NULL;
	put_script(&cmd, path, mode);
	ret = conn_exec(c, buf_str(&cmd), &po, &r, e);
	if (!ret && r.rc != 0) {
		trim_right(&r.err);
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot write %s (rc=%d): %s", path, r.rc,
		              r.err.len ? buf_str(&r.err) : "no error output");
	}
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

int conn_get(struct conn *c, const char *path, struct buf *out, const struct conn_exec_opts *o,
             struct err *e)
{
	struct conn_exec_opts go;
	struct conn_result r;
	struct buf cmd = BUF_INIT;
	int ret;

	if ((ret = conn_ready(c, e)))
		return ret;
	if (c->ops->get && !(o && become_needed(c, o)))
		return c->ops->get(c, path, out, e);
	go = o ? *o : (struct conn_exec_opts){0};
	go.stdin_data = NULL;
	go.stdin_len = 0;
	go.chdir = NULL;
	buf_adds(&cmd, "cat -- ");
	add_path(&cmd, path);
	ret = conn_exec(c, buf_str(&cmd), &go, &r, e);
	if (!ret && r.rc != 0) {
		trim_right(&r.err);
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot read %s (rc=%d): %s", path, r.rc,
		              r.err.len ? buf_str(&r.err) : "no error output");
	}
	if (!ret)
		buf_add(out, r.out.s ? r.out.s : "", r.out.len);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}
