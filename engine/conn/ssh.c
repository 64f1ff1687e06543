/*
 * ssh.c - hosts over SSH with libssh: one session per host for the whole
 * run, one channel per command, many commands at once on one session.
 *
 * A libssh session is not thread-safe, so every libssh call on a session and
 * its channels happens under the host's lock. Output reaches each command
 * through channel callbacks, whichever thread happens to read the socket, so
 * nobody holds the lock while idle: one waiting thread (the poller) sleeps in
 * poll() on the socket without the lock, the others sleep on a condition
 * variable, and whoever reads a packet wakes its owner. At most
 * SSH_MAX_CHANNELS commands run at once (OpenSSH allows MaxSessions = 10);
 * the rest queue.
 *
 * A lost session (sshd gone, network down) fails the commands that were on
 * it with ERR_UNREACH; the next command reconnects once, so a host that
 * rebooted is reached again.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/callbacks.h>

#include "conn/ssh_int.h"
#include "util/log.h"
#include "util/mem.h"

#define SSH_MAX_CHANNELS 8

struct ssh_host;

struct ssh_job {
	struct ssh_host *h;
	struct conn_result *r;
	int news;   /* something arrived since the owner last looked */
	int closed; /* the server closed the channel: the command is over */
	int rc;
	struct ssh_channel_callbacks_struct cb;
};

struct ssh_host {
	pthread_mutex_t lock; /* the session and all its channels */
	pthread_cond_t cond;  /* output arrived, a slot freed, the session died */
	struct ssh_settings st;
	ssh_session s;
	ssh_event ev;
	int wake[2]; /* wakes the poller when someone else read its output */
	int dead;
	char lost[400];
	char label[300];  /* user@addr:port, for messages */
	int channels;     /* slots taken: commands running or about to */
	int open;         /* channels open on the current session */
	int max_channels; /* the most the server allows at once */
	struct ssh_job *poller;
	double last_io;
};

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;

static void ssh_lib_init(void)
{
	ssh_init();
}

static void host_lost(struct ssh_host *h, const char *why)
{
	if (!h->dead)
		snprintf(h->lost, sizeof(h->lost), "%s", why && *why ? why : "connection closed");
	h->dead = 1;
	pthread_cond_broadcast(&h->cond);
	if (h->poller && write(h->wake[1], "x", 1) < 0)
		errno = 0;
}

static void job_news(struct ssh_job *j)
{
	struct ssh_host *h = j->h;

	j->news = 1;
	h->last_io = conn_now();
	pthread_cond_broadcast(&h->cond);
	if (h->poller == j && write(h->wake[1], "x", 1) < 0)
		errno = 0; /* the pipe is full: the poller wakes anyway */
}

static int cb_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr, void *ud)
{
	struct ssh_job *j = ud;

	(void)s;
	(void)ch;
	buf_add(is_stderr ? &j->r->err : &j->r->out, data, len);
	job_news(j);
	return (int)len;
}

static void cb_eof(ssh_session s, ssh_channel ch, void *ud)
{
	(void)s;
	(void)ch;
	job_news(ud);
}

static void cb_close(ssh_session s, ssh_channel ch, void *ud)
{
	struct ssh_job *j = ud;

	(void)s;
	(void)ch;
	j->closed = 1;
	job_news(j);
}

static void cb_exit_status(ssh_session s, ssh_channel ch, int status, void *ud)
{
	struct ssh_job *j = ud;

	(void)s;
	(void)ch;
	j->rc = status;
	job_news(j);
}

static void cb_exit_signal(ssh_session s, ssh_channel ch, const char *sig, int core,
                           const char *msg, const char *lang, void *ud)
{
	static const char *const names[] = {"",     "HUP",  "INT",  "QUIT", "ILL",  "TRAP",
	                                    "ABRT", "BUS",  "FPE",  "KILL", "USR1", "SEGV",
	                                    "USR2", "PIPE", "ALRM", "TERM"};
	struct ssh_job *j = ud;
	int i;

	(void)s;
	(void)ch;
	(void)core;
	(void)msg;
	(void)lang;
	for (i = 1; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (sig && !strcmp(sig, names[i]))
			j->rc = 128 + i;
	job_news(j);
}

static int cb_wontblock(ssh_session s, ssh_channel ch, uint32_t bytes, void *ud)
{
	(void)s;
	(void)ch;
	(void)bytes;
	job_news(ud);
	return 0;
}

static struct ssh_callbacks_struct session_cb = {
    .auth_function = ssh_auth_prompt,
};

static void host_disconnect(struct ssh_host *h)
{
	if (h->ev) {
		ssh_event_remove_session(h->ev, h->s);
		ssh_event_free(h->ev);
		h->ev = NULL;
	}
	if (h->s) {
		ssh_disconnect(h->s);
		ssh_free(h->s);
		h->s = NULL;
	}
}

/*
 * libssh 0.10 cannot send OpenSSH's keepalive request, and the ignore
 * messages we send get no answer, so a peer that vanished (powered off, NAT
 * state dropped) is detected by TCP itself: keepalive probes after
 * ServerAliveInterval of silence, and unacknowledged data given up after
 * ServerAliveInterval * ServerAliveCountMax. A ProxyCommand pipe is not a
 * socket; the calls then fail harmlessly.
 */
static void tcp_keepalive(const struct ssh_settings *st, int fd)
{
	int on = 1, idle = st->alive, cnt = st->alive_max > 0 ? st->alive_max : 3;
	unsigned int user_ms = (unsigned int)(idle * cnt) * 1000u;

	if (fd < 0 || idle <= 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)))
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms));
}

/* Called with h->lock held. */
static int host_connect(struct ssh_host *h, struct err *e)
{
	ssh_session s = ssh_new();
	char *user = NULL;
	unsigned int port = 22;
	int ret;

	if (!s)
		return err_set(e, ERR_NOMEM, NULL, 0, 0, "cannot create an ssh session");
	ssh_set_callbacks(s, &session_cb);
	ret = ssh_settings_apply(&h->st, s, e);
	if (ret)
		goto fail;
	if (ssh_connect(s) != SSH_OK) {
		ssh_options_get_port(s, &port);
		ret = err_set(e, ERR_UNREACH, NULL, 0, 0,
		              "Failed to connect to the host via ssh: ssh: connect to host %s port "
		              "%u: %s",
		              h->st.addr, port, ssh_get_error(s));
		goto fail;
	}
	tcp_keepalive(&h->st, ssh_get_fd(s));
	ssh_options_get(s, SSH_OPTIONS_USER, &user);
	ssh_options_get_port(s, &port);
	snprintf(h->label, sizeof(h->label), "%s@%s:%u", user ? user : "?", h->st.addr, port);
	ret = ssh_verify_host(&h->st, s, port, e);
	if (!ret)
		ret = ssh_authenticate(&h->st, s, h->label, e);
	if (ret)
		goto fail;
	h->ev = ssh_event_new();
	if (!h->ev || ssh_event_add_session(h->ev, s) != SSH_OK) {
		ret = err_set(e, ERR_INTERNAL, NULL, 0, 0, "cannot watch the ssh session");
		goto fail;
	}
	h->s = s;
	h->dead = 0;
	h->lost[0] = '\0';
	h->last_io = conn_now();
	ssh_string_free_char(user);
	return 0;
fail:
	if (h->ev) {
		ssh_event_free(h->ev);
		h->ev = NULL;
	}
	ssh_string_free_char(user);
	ssh_disconnect(s);
	ssh_free(s);
	return ret;
}

static void host_free(struct ssh_host *h)
{
	host_disconnect(h);
	ssh_settings_release(&h->st);
	close(h->wake[0]);
	close(h->wake[1]);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

static int ssh_open(struct conn *c, struct err *e)
{
	struct ssh_host *h = xcalloc(1, sizeof(*h));
	int ret;

	pthread_once(&ssh_once, ssh_lib_init);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->max_channels = SSH_MAX_CHANNELS;
	if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK)) {
		h->wake[0] = h->wake[1] = -1;
		ret = err_set(e, ERR_IO, NULL, 0, 0, "pipe: %s", strerror(errno));
		goto out;
	}
	ret = ssh_settings_load(c, &h->st, e);
	if (!ret) {
		pthread_mutex_lock(&h->lock);
		ret = host_connect(h, e);
		pthread_mutex_unlock(&h->lock);
	}
out:
	if (ret)
		host_free(h);
	else
		c->priv = h;
	return ret;
}

static void ssh_close(struct conn *c)
{
	if (c->priv)
		host_free(c->priv);
	c->priv = NULL;
}

/* Read whatever the socket holds and hand it to the channels' callbacks. */
static void host_pump(struct ssh_host *h)
{
	if (h->dead)
		return;
	if (ssh_event_dopoll(h->ev, 0) == SSH_ERROR || !ssh_is_connected(h->s))
		host_lost(h, ssh_get_error(h->s));
}

static void keepalive(struct ssh_host *h)
{
	if (h->dead || h->st.alive <= 0 || conn_now() - h->last_io < h->st.alive)
		return;
	h->last_io = conn_now();
	if (ssh_send_ignore(h->s, "drover keepalive") != SSH_OK)
		host_lost(h, ssh_get_error(h->s));
}

static int wait_ms(const struct ssh_host *h, double deadline)
{
	double ms = 1000;

	if (h->st.alive > 0 && h->st.alive * 1000.0 < ms)
		ms = h->st.alive * 1000.0;
	if (deadline > 0 && (deadline - conn_now()) * 1000 < ms)
		ms = (deadline - conn_now()) * 1000;
	return ms < 1 ? 1 : (int)ms;
}

/* Sleep until something happens for j. Called and returns with h->lock held. */
static void job_wait(struct ssh_host *h, struct ssh_job *j, double deadline)
{
	char drain[64];

	if (j->news || h->dead) {
		j->news = 0;
		return;
	}
	if (!h->poller) {
		struct pollfd pf[2] = {{ssh_get_fd(h->s), POLLIN, 0}, {h->wake[0], POLLIN, 0}};
		int ms = wait_ms(h, deadline);
		h->poller = j;
		pthread_mutex_unlock(&h->lock);
		if (poll(pf, 2, ms) > 0 && pf[1].revents)
			while (read(h->wake[0], drain, sizeof(drain)) > 0)
				;
		pthread_mutex_lock(&h->lock);
		h->poller = NULL;
		host_pump(h);
		keepalive(h);
		pthread_cond_broadcast(&h->cond); /* someone else may take the socket */
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)wait_ms(h, deadline) * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
	j->news = 0;
}

/* Feed stdin as far as the channel window allows, without blocking. */
static int job_feed(struct ssh_host *h, ssh_channel ch, struct conn_feed *f)
{
	const char *p;
	int close_now, n;
	size_t len;
	uint32_t win;

	for (;;) {
		len = conn_feed_next(f, &p, &close_now);
		if (close_now) {
			ssh_channel_send_eof(ch);
			return 0;
		}
		win = ssh_channel_window_size(ch);
		if (!len || !win)
			return 0;
		if (len > win)
			len = win;
		n = ssh_channel_write(ch, p, (uint32_t)len);
		if (n < 0) {
			if (!ssh_is_connected(h->s))
				host_lost(h, ssh_get_error(h->s));
			return -1;
		}
		conn_feed_advance(f, (size_t)n);
	}
}

static int lost_err(struct ssh_host *h, struct err *e)
{
	return err_set(e, ERR_UNREACH, NULL, 0, 0,
	               "Failed to connect to the host via ssh: %s: connection lost: %s", h->label,
	               h->lost);
}

/* Wait for a channel slot. Called with h->lock held. */
static void slot_take(struct ssh_host *h)
{
	while (h->channels >= h->max_channels)
		pthread_cond_wait(&h->cond, &h->lock);
	h->channels++;
}

/* Replace a lost session once nobody else still uses it. */
static int reconnect(struct ssh_host *h, struct err *e)
{
	while (h->dead && h->open > 0)
		pthread_cond_wait(&h->cond, &h->lock);
	if (!h->dead)
		return 0;
	log_verbose(2, "<%s> reconnecting (%s)", h->label, h->lost);
	host_disconnect(h);
	return host_connect(h, e);
}

/*
 * Open a channel, holding a slot. A lost session is reconnected once. A
 * server that refuses a channel while others are open allows fewer sessions
 * than we assumed (MaxSessions): remember the lower limit and queue.
 */
static int job_open(struct ssh_host *h, ssh_channel *out, struct err *e)
{
	int reconnects = 0, refusals = 0;
	ssh_channel ch;

	for (;;) {
		if (h->dead && (reconnects++ || reconnect(h, e)))
			return e->code ? e->code : lost_err(h, e);
		ch = ssh_channel_new(h->s);
		if (ch && ssh_channel_open_session(ch) == SSH_OK) {
			h->open++;
			*out = ch;
			return 0;
		}
		if (ch)
			ssh_channel_free(ch);
		/* No channel and nothing else open on the session: it is gone or
		 * stale (a host that vanished without closing TCP times out here),
		 * so reconnect once rather than keep talking to it. */
		if (!ssh_is_connected(h->s) || !h->open) {
			host_lost(h, ssh_get_error(h->s));
			continue;
		}
		if (refusals++ >= SSH_MAX_CHANNELS)
			return err_set(
			    e, ERR_UNREACH, NULL, 0, 0,
			    "Failed to connect to the host via ssh: %s: the server refused "
			    "a session channel: %s",
			    h->label, ssh_get_error(h->s));
		h->max_channels = h->open > 0 ? h->open : 1;
		log_verbose(2, "<%s> server allows %d sessions at once", h->label, h->max_channels);
		h->channels--;
		slot_take(h);
	}
}

static int job_loop(struct ssh_host *h, struct ssh_job *j, ssh_channel ch, struct conn_feed *f,
                    int timeout, struct err *e)
{
	double deadline = timeout > 0 ? conn_now() + timeout : 0;

	for (;;) {
		/* scan first: a password the scan just queued goes out now, not
		 * after the next wait (up to a second per sudo command) */
		if (conn_feed_scan(f, j->r, e))
			return e->code;
		if (job_feed(h, ch, f) < 0)
			conn_feed_drop(f); /* the command no longer reads stdin */
		if (j->closed)
			return 0;
		if (h->dead)
			return lost_err(h, e);
		if (deadline > 0 && conn_now() >= deadline) {
			ssh_channel_request_send_signal(ch, "KILL");
			return err_set(e, ERR_TIMEOUT, NULL, 0, 0,
			               "command timed out after %d seconds", timeout);
		}
		job_wait(h, j, deadline);
	}
}

static void job_init(struct ssh_job *j, struct ssh_host *h, struct conn_result *r)
{
	memset(j, 0, sizeof(*j));
	j->h = h;
	j->r = r;
	j->rc = -1;
	j->cb = (struct ssh_channel_callbacks_struct){
	    .userdata = j,
	    .channel_data_function = cb_data,
	    .channel_eof_function = cb_eof,
	    .channel_close_function = cb_close,
	    .channel_exit_status_function = cb_exit_status,
	    .channel_exit_signal_function = cb_exit_signal,
	    .channel_write_wontblock_function = cb_wontblock,
	};
	ssh_callbacks_init(&j->cb);
}

/* A terminal for the command (su reads its password only from one); its
 * stdout and stderr then arrive merged, as with ssh -tt. "dumb" keeps
 * colours and cursor games out of the output. */
static int job_pty(ssh_channel ch, int pty)
{
	return !pty || ssh_channel_request_pty_size(ch, "dumb", 200, 50) == SSH_OK;
}

/* Open a channel for j and start cmd on it. Called with h->lock held. */
static int job_start(struct ssh_host *h, struct ssh_job *j, const char *cmd, int pty,
                     ssh_channel *ch, struct err *e)
{
	int ret = job_open(h, ch, e);

	if (ret)
		return ret;
	ssh_set_channel_callbacks(*ch, &j->cb);
	if (job_pty(*ch, pty) && ssh_channel_request_exec(*ch, cmd) == SSH_OK)
		return 0;
	if (!ssh_is_connected(h->s))
		host_lost(h, ssh_get_error(h->s));
	if (h->dead)
		return lost_err(h, e);
	return err_set(e, ERR_UNREACH, NULL, 0, 0,
	               "Failed to connect to the host via ssh: %s: cannot run a command: %s",
	               h->label, ssh_get_error(h->s));
}

static int ssh_exec(struct conn *c, const struct conn_job *cj, struct conn_result *r, struct err *e)
{
	struct ssh_host *h = c->priv;
	struct buf cmd = BUF_INIT;
	struct ssh_job j;
	struct conn_feed f;
	ssh_channel ch = NULL;
	int ret;

	job_init(&j, h, r);
	conn_feed_init(&f, cj);
	/* sshd runs this with the login shell's -c. `exec` makes /bin/sh take
	 * that shell's place instead of being its child: one fork less per
	 * command on the host, and a timeout's KILL reaches the command's own
	 * shell rather than an idle parent. */
	if (cj->timeout > 0)
		/* sshd refuses a signal request (our KILL at the deadline) on a
		 * root login, so the host stops the command too: timeout(1) kills
		 * the command's whole process group, where the host has it */
		buf_addf(
		    &cmd,
		    "t=; command -v timeout >/dev/null 2>&1 && t='timeout -s KILL %d'; exec $t ",
		    cj->timeout);
	else
		buf_adds(&cmd, "exec ");
	buf_adds(&cmd, "/bin/sh -c ");
	buf_add_shquote(&cmd, cj->cmd);

	pthread_mutex_lock(&h->lock);
	slot_take(h);
	ret = job_start(h, &j, buf_str(&cmd), cj->pty, &ch, e);
	if (!ret)
		ret = job_loop(h, &j, ch, &f, cj->timeout, e);
	if (ch) {
		/* libssh keeps a freed channel until the server's close: it must
		 * not call back into this stack frame after we return */
		ssh_remove_channel_callbacks(ch, &j.cb);
		ssh_channel_free(ch);
		h->open--;
	}
	h->channels--;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (!ret) {
		conn_feed_finish(&f, r);
		r->rc = j.rc;
	}
	conn_feed_release(&f);
	buf_release(&cmd);
	return ret;
}

const struct conn_ops conn_ssh_ops = {
    .name = "ssh",
    .open = ssh_open,
    .exec = ssh_exec,
    .put = NULL, /* streamed through exec: cat > tmp && mv (conn.c) */
    .get = NULL,
    .close = ssh_close,
};
