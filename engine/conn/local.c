/*
 * local.c - the controller itself as a host: /bin/sh -c CMD through
 * posix_spawn, stdout/stderr captured with poll so neither pipe can fill
 * up and deadlock, a timeout that kills the whole process group, and native
 * file transfer (temp file + rename).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "conn/conn_int.h"
#include "util/mem.h"

extern char **environ;

static int local_open(struct conn *c, struct err *e)
{
	(void)c;
	(void)e;
	return 0;
}

static void local_close(struct conn *c)
{
	(void)c;
}

/* The child gets its own session (so a timeout can kill everything it
 * started and it cannot read the controller's terminal), default SIGPIPE,
 * and no blocked signals. */
static void spawn_attrs(posix_spawnattr_t *at)
{
	sigset_t none, def;

	posix_spawnattr_init(at);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &def);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
	                                 POSIX_SPAWN_SETSIGDEF);
}

/* /bin/sh -c cmd with the file actions fa (destroyed here). */
static int spawn(const char *cmd, posix_spawn_file_actions_t *fa, pid_t *pid, struct err *e)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	posix_spawnattr_t at;
	int rc;

	spawn_attrs(&at);
	rc = posix_spawn(pid, "/bin/sh", fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(fa);
	posix_spawnattr_destroy(&at);
	if (rc)
		return err_set(e, ERR_IO, NULL, 0, 0, "cannot run /bin/sh: %s", strerror(rc));
	return 0;
}

static int spawn_sh(const char *cmd, int fds[3], pid_t *pid, struct err *e)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, ret = 0, rc;
	posix_spawn_file_actions_t fa;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot create pipes: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	if ((ret = spawn(cmd, &fa, pid, e)))
		goto out;
	fds[0] = in[1];
	fds[1] = out[0];
	fds[2] = er[0];
	in[1] = out[0] = er[0] = -1;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
out:
	for (rc = 0; rc < 2; rc++) {
		if (in[rc] >= 0)
			close(in[rc]);
		if (out[rc] >= 0)
			close(out[rc]);
		if (er[rc] >= 0)
			close(er[rc]);
	}
	return ret;
}

/*
 * The same on a new pseudo-terminal (su asks for its password there): the
 * child's session gets the terminal as its controlling tty and as fds 0-2,
 * so stdout and stderr merge. fds[0] is a second descriptor of the master,
 * so closing stdin does not hang the terminal up; echo and the \n -> \r\n
 * translation start off, so neither the password nor stdin comes back.
 */
static int spawn_pty(const char *cmd, int fds[3], pid_t *pid, struct err *e)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s = -1, ret = 0;
	posix_spawn_file_actions_t fa;
	struct termios t;
	char name[128];

	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)) ||
	    (s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot open a pseudo-terminal: %s",
		              strerror(errno));
		goto out;
	}
	if (!tcgetattr(s, &t)) {
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		t.c_oflag &= ~(tcflag_t)ONLCR;
		tcsetattr(s, TCSANOW, &t);
	}
	posix_spawn_file_actions_init(&fa);
	/* opened after setsid: the terminal becomes the controlling one */
	posix_spawn_file_actions_addopen(&fa, 0, name, O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, 0, 1);
	posix_spawn_file_actions_adddup2(&fa, 0, 2);
	if ((ret = spawn(cmd, &fa, pid, e)))
		goto out;
	fds[0] = fcntl(m, F_DUPFD_CLOEXEC, 0);
	fds[1] = m;
	fds[2] = -1;
	m = -1;
	fcntl(fds[1], F_SETFL, O_NONBLOCK); /* shared with fds[0] */
out:
	if (s >= 0)
		close(s);
	if (m >= 0)
		close(m);
	return ret;
}

static int read_into(int *fd, struct buf *b)
{
	char chunk[65536];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n > 0) {
		buf_add(b, chunk, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	close(*fd);
	*fd = -1;
	return 0;
}

static void write_stdin(struct conn_feed *f, int *fd)
{
	const char *p;
	int close_now;
	size_t len = conn_feed_next(f, &p, &close_now);
	ssize_t n;

	if (close_now) {
		close(*fd);
		*fd = -1;
		return;
	}
	if (!len)
		return;
	n = write(*fd, p, len);
	if (n > 0)
		conn_feed_advance(f, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* The command stopped reading (EPIPE): the rest of stdin is moot. */
		close(*fd);
		*fd = -1;
	}
}

static int wait_child(pid_t pid, double deadline, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, deadline > 0 ? WNOHANG : 0);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		if (deadline > 0 && conn_now() >= deadline)
			return 1;
		if (deadline > 0)
			usleep(2000);
	}
}

/* su -c runs the command in a session of its own, out of reach of a kill
 * of ours; su passes SIGTERM on, so it gets a moment before SIGKILL. */
static void stop_child(pid_t pid, int pty, int *status)
{
	double until = conn_now() + 2; /* generous: su is slow on a loaded host */

	if (pty && kill(-pid, SIGTERM) == 0)
		for (; conn_now() < until; usleep(10000))
			if (waitpid(pid, status, WNOHANG) == pid) {
				kill(-pid, SIGKILL); /* what is left of its group */
				return;
			}
	kill(-pid, SIGKILL);
	waitpid(pid, status, 0);
}

static int pump(int fds[3], struct conn_feed *f, struct conn_result *r, double deadline,
                struct err *e)
{
	struct pollfd pf[3];
	const char *p;
	int close_now, ms, i, n;

	while (fds[1] >= 0 || fds[2] >= 0) {
		if (fds[0] >= 0 && !conn_feed_next(f, &p, &close_now) && close_now) {
			close(fds[0]);
			fds[0] = -1;
		}
		n = 0;
		for (i = 0; i < 3; i++) {
			pf[n].fd = fds[i];
			pf[n].events = i ? POLLIN : POLLOUT;
			if (fds[i] >= 0 && (i || conn_feed_next(f, &p, &close_now)))
				n++;
		}
		ms = -1;
		if (deadline > 0) {
			double left = deadline - conn_now();
			if (left <= 0)
				return 1;
			ms = (int)(left * 1000) + 1;
		}
		if (f->j->deadline > 0 && !f->ok_seen && (ms < 0 || ms > 500))
			ms = 500; /* su's own deadline is checked by the scan */
		if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR)
			return err_set(e, ERR_IO, NULL, 0, 0, "poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == fds[0])
				write_stdin(f, &fds[0]);
			else
				read_into(pf[i].fd == fds[1] ? &fds[1] : &fds[2],
				          pf[i].fd == fds[1] ? &r->out : &r->err);
		}
		if (conn_feed_scan(f, r, e))
			return -1;
	}
	return 0;
}

static int local_exec(struct conn *c, const struct conn_job *j, struct conn_result *r,
                      struct err *e)
{
	int fds[3] = {-1, -1, -1}, status = 0, ret, i;
	double deadline = j->timeout > 0 ? conn_now() + j->timeout : 0;
	struct conn_feed f;
	pid_t pid;

	(void)c;
	r->rc = -1;
	conn_feed_init(&f, j);
	ret = j->pty ? spawn_pty(j->cmd, fds, &pid, e) : spawn_sh(j->cmd, fds, &pid, e);
	if (ret)
		goto out;
	ret = pump(fds, &f, r, deadline, e);
	if (ret == 0)
		ret = wait_child(pid, deadline, &status);
	if (ret != 0) {
		stop_child(pid, j->pty, &status);
		if (ret > 0)
			ret = err_set(e, ERR_TIMEOUT, NULL, 0, 0,
			              "command timed out after %d seconds", j->timeout);
		else
			ret = e->code ? e->code : ERR_IO;
		goto out;
	}
	conn_feed_finish(&f, r);
	r->rc = WIFEXITED(status)     ? WEXITSTATUS(status)
	        : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
	                              : -1;
out:
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	conn_feed_release(&f);
	return ret;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ~ and ~/... are the user's home, as on a remote host. */
static char *expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || !path[1]) && home && *home)
		return xasprintf("%s%s", home, path + 1);
	return xstrdup(path);
}

static int local_put(struct conn *c, const void *data, size_t len, const char *given, int mode,
                     struct err *e)
{
	char hex[17], *path = expand_home(given), *dcopy = xstrdup(path), *bcopy = xstrdup(path);
	char *tmp;
	struct stat st;
	int fd, ret = 0, have = stat(path, &st) == 0;

	(void)c;
	conn_random_hex(hex, 16);
	tmp = xasprintf("%s/.%s.drover-%s", dirname(dcopy), basename(bcopy), hex);
	if (have && S_ISDIR(st.st_mode)) {
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot write %s: it is a directory", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (mode < 0)
		mode = have ? (int)(st.st_mode & 07777) : 0644;
	/* Keep the old owner when allowed; otherwise the file is simply ours. */
	if (have && fchown(fd, st.st_uid, st.st_gid) != 0)
		errno = 0;
	if (write_all(fd, data, len) || fchmod(fd, (mode_t)mode)) {
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
	} else if (close(fd) || rename(tmp, path)) {
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
out:
	free(tmp);
	free(dcopy);
	free(bcopy);
	free(path);
	return ret;
}

static int local_get(struct conn *c, const char *given, struct buf *out, struct err *e)
{
	char *path = expand_home(given), *data;
	size_t len;
	int ret = 0;

	(void)c;
	data = read_file(path, &len);
	if (data)
		buf_add(out, data, len);
	else
		ret = err_set(e, ERR_IO, NULL, 0, 0, "cannot read %s: %s", given, strerror(errno));
	free(data);
	free(path);
	return ret;
}

const struct conn_ops conn_local_ops = {
    .name = "local",
    .open = local_open,
    .exec = local_exec,
    .put = local_put,
    .get = local_get,
    .close = local_close,
};
