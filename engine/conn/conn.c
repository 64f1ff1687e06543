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

/* Shell words of become_flags, split on blanks as Ansible's shlex.split
 * does for the flags it writes back (quotes in sudo flags are unheard of). */
static int next_word(const char **p, const char **w, size_t *n)
{
	while (**p && isspace((unsigned char)**p))
		(*p)++;
	*w = *p;
	while (**p && !isspace((unsigned char)**p))
		(*p)++;
	*n = (size_t)(*p - *w);
	return *n > 0;
}

/* With a password, sudo must be allowed to ask: Ansible drops -n and
 * --non-interactive from the flags and the last n of a -XnY cluster. */
static void add_sudo_flags(struct buf *b, const char *flags, int pw)
{
	const char *p = flags, *w;
	size_t n, i, last;

	while (next_word(&p, &w, &n)) {
		if (pw && ((n == 2 && !memcmp(w, "-n", 2)) ||
		           (n == 17 && !memcmp(w, "--non-interactive", 17))))
			continue;
		buf_addc(b, ' ');
		if (!pw || n < 2 || w[0] != '-' || w[1] == '-') {
			buf_add(b, w, n);
			continue;
		}
		for (i = 1, last = 0; i < n && (isalnum((unsigned char)w[i]) || w[i] == '_'); i++)
			if (w[i] == 'n')
				last = i;
		buf_add(b, w, last ? last : n);
		if (last)
			buf_add(b, w + last + 1, n - last - 1);
	}
}

/* sudo FLAGS [-p PROMPT] -u USER -- /bin/sh -c INNER, FLAGS by default
 * Ansible's -H -S -n. sudo -S reads the password from stdin; -p sets a prompt
 * nobody else prints, so we answer exactly that prompt and nothing else
 * (conn_feed). */
static void wrap_sudo(const struct conn_exec_opts *o, const char *user, const char *pw,
                      struct buf *inner, struct buf *full, char prompt[64], char ok[64],
                      struct conn_job *j)
{
	char hex[33];

	buf_adds(full, o->become_exe && *o->become_exe ? o->become_exe : "sudo");
	add_sudo_flags(full, o->become_flags ? o->become_flags : "-H -S -n", pw != NULL);
	if (pw) {
		conn_random_hex(hex, 32);
		snprintf(prompt, 64, "[sudo via drover, key=%s] password:", hex);
		snprintf(ok, 64, "DROVER-BECOME-OK-%s", hex);
		buf_adds(full, " -p ");
		buf_add_shquote(full, prompt);
		j->prompt = prompt;
		j->ok = ok;
		j->password = pw;
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

/* su's prompt as Ansible recognises it, in the languages it knows. */
static const char *const su_prompts[] = {
    "Password", "암호",   "パスワード", "Adgangskode", "Contraseña", "Contrasenya",
    "Hasło",    "Heslo",  "Jelszó",     "Lösenord",    "Mật khẩu",   "Mot de passe",
    "Parola",   "Parool", "Pasahitza",  "Passord",     "Passwort",   "Salasana",
    "Sandi",    "Senha",  "Wachtwoord", "ססמה",        "Лозинка",    "Парола",
    "Пароль",   "गुप्तशब्द", "शब्दकूट",      "సంకేతపదము",    "හස්පදය",      "密码",
    "密碼",     "口令",   NULL,
};

/* "(\w+'s )?PROMPT ?(:|：)" at the start of s (a line su left open). */
static int su_is_prompt(const char *s, size_t n)
{
	size_t i = 0, k, len;
	int p;

	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	i = i && i + 3 <= n && !memcmp(s + i, "'s ", 3) ? i + 3 : 0;
	for (p = 0; su_prompts[p]; p++) {
		len = strlen(su_prompts[p]);
		if (n - i < len || strncasecmp(s + i, su_prompts[p], len))
			continue;
		k = i + len;
		if (k < n && s[k] == ' ')
			k++;
		if ((k < n && s[k] == ':') || (k + 3 <= n && !memcmp(s + k, "\xef\xbc\x9a", 3)))
			return 1;
	}
	return 0;
}

/* Remove everything through the ok line: before it, the terminal held only
 * su's own words (the prompt, the newline after the password). */
static int su_cut_ok(struct buf *b, const char *ok)
{
	char *at = b->len ? memmem(b->s, b->len, ok, strlen(ok)) : NULL;
	char *nl = at ? memchr(at, '\n', b->len - (size_t)(at - b->s)) : NULL;
	size_t end;

	if (!nl)
		return 0;
	end = (size_t)(nl - b->s) + 1;
	memmove(b->s, b->s + end, b->len - end);
	b->len -= end;
	b->s[b->len] = '\0';
	return 1;
}

/* The terminal output so far, short and safe for a message: nothing after
 * the password was typed (a terminal that echoed it would show it). */
static const char *su_said(struct conn_feed *f, struct conn_result *r)
{
	size_t n = r->out.len;

	if (f->prompted || !n)
		return "(nothing)";
	while (n && isspace((unsigned char)r->out.s[n - 1]))
		r->out.s[--n] = '\0';
	return n > 300 ? r->out.s + n - 300 : r->out.s;
}

/* conn_job.scan for su on a terminal: answer the prompt once, stop at
 * "Authentication failure" or a second prompt, and give up when su neither
 * asked nor ran the command in time. */
static int su_scan(struct conn_feed *f, struct conn_result *r, struct err *e)
{
	const struct conn_job *j = f->j;
	const char *tail;
	int ret;

	if (f->ok_seen)
		return 0;
	if (su_cut_ok(&r->out, j->ok)) {
		f->ok_seen = 1;
		f->waiting = 0;
		return 0;
	}
	if (r->out.len && memmem(r->out.s, r->out.len, "Authentication failure", 22)) {
		buf_reset(&r->out);
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "Incorrect su password: su said 'Authentication failure' (the "
		               "become password must be the become_user's own password)");
	}
	tail = r->out.len ? memrchr(r->out.s, '\n', r->out.len) : NULL;
	tail = tail ? tail + 1 : buf_str(&r->out);
	if (su_is_prompt(tail, r->out.len - (size_t)(tail - r->out.s))) {
		if (f->prompted++) {
			buf_reset(&r->out);
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "Incorrect su password: su asked for it again");
		}
		r->out.len = (size_t)(tail - r->out.s); /* the prompt is answered */
		r->out.s[r->out.len] = '\0';
		f->pw_len = strlen(j->password) + 1;
		f->pw = xmalloc(f->pw_len + 1);
		memcpy(f->pw, j->password, f->pw_len - 1);
		f->pw[f->pw_len - 1] = '\n';
		f->pw_off = 0;
	}
	if (j->deadline > 0 && conn_now() > j->deadline) {
		ret = err_set(e, ERR_TIMEOUT, NULL, 0, 0,
		              "Timeout waiting for privilege escalation: su %s within the "
		              "connect timeout + 2 s; the terminal showed: %s",
		              f->prompted ? "took the password but did not run the command"
		                          : "did not ask for a password",
		              su_said(f, r));
		buf_reset(&r->out);
		return ret;
	}
	return 0;
}

/* su -c gives the command a session of its own, beyond the reach of a kill
 * of ours; su passes SIGTERM on to its shell only. So that shell runs the
 * command in the background, waits for it, and on SIGTERM or SIGHUP takes
 * the whole session down with it. */
#define SU_STOP_ALL "trap 'trap - TERM HUP; kill -TERM 0' TERM HUP; "

/*
 * su FLAGS USER -c '/bin/sh -c CMD', as Ansible builds it. su reads a
 * password only from a terminal, so with one the command runs on a pty: the
 * first thing it does as USER is put the terminal in raw mode without echo
 * and print the ok line; then stdin, if any, crosses the terminal byte for
 * byte and exactly stdin_len of it reaches the command (a terminal has no
 * end of file), which otherwise reads /dev/null.
 */
static void wrap_su(const struct conn *c, const struct conn_exec_opts *o, const char *user,
                    const char *pw, struct buf *inner, struct buf *full, char ok[64],
                    struct conn_job *j)
{
	struct buf w = BUF_INIT, sh = BUF_INIT;
	char hex[33];

	buf_adds(full, o->become_exe && *o->become_exe ? o->become_exe : "su");
	if (o->become_flags && *o->become_flags) {
		buf_addc(full, ' ');
		buf_adds(full, o->become_flags);
	}
	buf_addc(full, ' ');
	buf_add_shquote(full, user);
	buf_adds(full, " -c ");
	if (pw) {
		conn_random_hex(hex, 32);
		snprintf(ok, 64, "DROVER-BECOME-OK-%s", hex);
		buf_addf(&w, "stty raw -echo -iexten 2>/dev/null; echo %s; %s", ok, SU_STOP_ALL);
		if (o->stdin_data && o->stdin_len)
			buf_addf(&w, "exec 3<&0; head -c %zu <&3 3<&- | ", o->stdin_len);
		buf_adds(&w, "/bin/sh -c ");
		buf_add_shquote(&w, buf_str(inner));
		buf_adds(&w, o->stdin_data && o->stdin_len ? " 3<&- & wait $!"
		                                           : " </dev/null & wait $!");
		j->pty = 1;
		j->ok = ok;
		j->password = pw;
		j->scan = su_scan;
		j->deadline =
		    conn_now() + 2 + (c->pool && c->pool->d.timeout > 0 ? c->pool->d.timeout : 10);
	} else {
		buf_add(&w, inner->s ? inner->s : "", inner->len);
	}
	/* on a terminal the user's shell execs ours, which gets su's SIGTERM */
	buf_adds(&sh, pw ? "exec /bin/sh -c " : "/bin/sh -c ");
	buf_add_shquote(&sh, buf_str(&w));
	buf_add_shquote(full, buf_str(&sh));
	buf_release(&w);
	buf_release(&sh);
}

static int wrap_become(const struct conn *c, const struct conn_exec_opts *o, struct buf *inner,
                       struct buf *full, char prompt[64], char ok[64], struct conn_job *j,
                       struct err *e)
{
	const char *u = o->become_user && *o->become_user ? o->become_user : "root";
	const char *m = o->become_method && *o->become_method ? o->become_method : "sudo";
	const char *pw = o->become_password && *o->become_password ? o->become_password : NULL;

	if (!strcmp(m, "sudo"))
		wrap_sudo(o, u, pw, inner, full, prompt, ok, j);
	else if (!strcmp(m, "su"))
		wrap_su(c, o, u, pw, inner, full, ok, j);
	else
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "become_method '%s' is not supported: drover runs sudo and su (set "
		               "become_method, ansible_become_method or --become-method to one of "
		               "them)",
		               m);
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
		ret = wrap_become(c, o, &inner, full, prompt, ok, j, e);
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

/* What a failed transfer command said: stderr, or the terminal's output
 * when it ran on one (su with a password). */
static const char *said(struct conn_result *r)
{
	struct buf *b = r->err.len ? &r->err : &r->out;

	trim_right(b);
	return b->len ? buf_str(b) : "no error output";
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
	if (!ret && r.rc != 0)
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot write %s (rc=%d): %s", path, r.rc,
		              said(&r));
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
	if (!ret && r.rc != 0)
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot read %s (rc=%d): %s", path, r.rc,
		              said(&r));
	if (!ret)
		buf_add(out, r.out.s ? r.out.s : "", r.out.len);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}
