/*
 * conn.h - how drover reaches a host: the connection interface (redis's
 * ConnectionType vtable) and the per-run pool of open connections.
 *
 * Callers use the conn_* wrappers, never the ops table. A connection is
 * opened on first use and reused by every task of the run; the pool owns
 * them and closes them at the end. Connections know nothing about tasks.
 *
 * Failures: ERR_UNREACH when the host cannot be reached, authenticated, or
 * the connection was lost (the executor reports UNREACHABLE); ERR_TIMEOUT
 * when a command ran past its timeout; other codes for local problems. A
 * command that ran and exited non-zero is NOT an error: rc says so.
 *
 * Every conn_* call is safe to make from several worker threads at once, on
 * the same or different connections.
 *
 * Transports: local (/bin/sh -c on the controller), ssh (libssh; one session
 * per host, a channel per command, at most 8 at once or fewer if the server
 * says so; a lost session is reconnected once on the next command, so hosts
 * that reboot come back) and pct (`pct exec VMID` over the Proxmox node's
 * own connection, shared by all its containers). Choice: -c, else
 * ansible_connection, else local for an implicit localhost, else ssh.
 *
 * Become builds Ansible's command lines. sudo: `sudo FLAGS -u USER --
 * /bin/sh -c CMD` (FLAGS default -H -S -n; with a password -n is dropped and
 * sudo gets `-p <random marker>`; the password is written to its stdin only
 * when that marker appears). su: `su FLAGS USER -c '/bin/sh -c CMD'`; with a
 * password the command runs on a terminal (su asks there), the password is
 * typed at su's "Password:" prompt, the command's stdin goes through the
 * terminal in raw mode (`head -c LEN`), and stdout and stderr arrive merged
 * in out, as in Ansible. The password is never on a command line, in a log,
 * in the output or in an error message. A wrong password ("Incorrect sudo
 * password", "Incorrect su password") is ERR_GENERIC; su that neither asks
 * nor runs within the connect timeout + 2 s is ERR_TIMEOUT.
 * conn_put/conn_get under become stream through the command (cat > tmp; mv).
 * conn_pool_new ignores SIGPIPE process-wide (a host hanging up must not
 * kill the run); local commands still start with the default disposition.
 */
#ifndef DROVER_CONN_H
#define DROVER_CONN_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct conn_result {
	int rc;         /* exit status; 128+N for a signal; -1 unknown */
	struct buf out; /* stdout */
	struct buf err; /* stderr */
};

struct conn_exec_opts {
	const char *stdin_data; /* may be NULL */
	size_t stdin_len;
	const char *const *env;      /* NULL-terminated "NAME=value", exported for the command */
	int timeout;                 /* seconds; 0 = none */
	int become;                  /* run through sudo */
	const char *become_user;     /* default root */
	const char *become_password; /* typed at sudo's or su's prompt; never logged */
	const char *become_method;   /* "sudo" (default) or "su" */
	const char *become_flags;    /* shell words as written; NULL: Ansible's defaults
	                                (sudo -H -S -n, su none) */
	const char *become_exe;      /* NULL: "sudo" or "su" */
	const char *chdir;           /* may be NULL */
};

struct conn;
struct conn_feed;

/*
 * One command as a transport runs it: conn.c has already applied env, chdir
 * and become, so cmd is complete. When become needs a password, stdin is held
 * back until sudo prints `prompt` on stderr (then `password` goes first) or
 * the command prints the `ok` line on stdout; both markers are removed from
 * the captured output. Transports do this with the conn_feed helpers
 * (conn_int.h). With `pty` the command runs on a terminal (su reads its
 * password there): stdout and stderr both arrive in out, and `scan` replaces
 * the marker search; transports call conn_feed_scan at least once a second
 * while a deadline is set.
 */
struct conn_job {
	const char *cmd;
	const char *in; /* stdin, may be NULL */
	size_t in_len;
	int timeout;                        /* seconds; 0 = none */
	const char *prompt, *ok, *password; /* all NULL without a become password */
	int pty;                            /* run on a pseudo-terminal */
	int (*scan)(struct conn_feed *f, struct conn_result *r, struct err *e); /* NULL: sudo's */
	double deadline; /* conn_now() by which become must have run the command; 0 = none */
};

/* The transport vtable. Only conn.c calls it. */
struct conn_ops {
	const char *name;
	int (*open)(struct conn *c, struct err *e);
	/* Run j->cmd with /bin/sh -c on the host. */
	int (*exec)(struct conn *c, const struct conn_job *j, struct conn_result *r, struct err *e);
	/* Native file transfer without become; NULL means conn.c streams the
	 * data through exec (cat > tmp && mv). put is atomic (temp file in the
	 * same dir, then rename); mode < 0 keeps an existing file's mode, or
	 * 0644 for a new file. */
	int (*put)(struct conn *c, const void *data, size_t len, const char *path, int mode,
	           struct err *e);
	int (*get)(struct conn *c, const char *path, struct buf *out, struct err *e);
	void (*close)(struct conn *c);
};

struct conn {
	const struct conn_ops *ops;
	char *host;          /* inventory name */
	char *key;           /* the connection vars it was opened with, for the pool */
	json_t *vars;        /* the host's connection vars (ansible_host, ...), owned */
	void *priv;          /* the transport's state */
	struct conn *parent; /* pct: the Proxmox host's connection (borrowed) */
	int opened;
	int retired; /* replaced by conn_pool_reset: kept alive, never handed out again */
	pthread_mutex_t lock;
	struct conn_pool *pool;
	/* pct: how to find the Proxmox node when the connection opens later */
	const json_t *(*resolve)(void *ud, const char *host);
	void *ud;
};

/* Settings that come from the CLI and config rather than the inventory. */
struct conn_defaults {
	const char *user;        /* -u / remote_user */
	const char *private_key; /* --private-key / private_key_file */
	const char *password;    /* -k */
	int host_key_checking;   /* config; 1 by default */
	int timeout;             /* connect timeout, seconds */
	const char *connection;  /* -c: overrides ansible_connection when set */
};

struct conn_pool;

struct conn_pool *conn_pool_new(const struct conn_defaults *d);
/* Close every connection and free the pool. */
void conn_pool_free(struct conn_pool *p);
/*
 * The connection for inventory host `host` with its merged vars `vars`
 * (borrowed; the pool copies what it needs). Opens it on first use. The
 * same host with different connection vars (another ansible_user, port,
 * key, ...) gets its own connection, as OpenSSH's ControlPath would. For pct,
 * `resolve` gives the vars of the Proxmox host named by pct_host.
 * Returns a borrowed pointer owned by the pool, or NULL with e set.
 */
struct conn *conn_pool_get(struct conn_pool *p, const char *host, const json_t *vars,
                           const json_t *(*resolve)(void *ud, const char *host), void *ud,
                           struct err *e);

/*
 * Lazy connections, for modules that manage their own (MOD_LAZY_CONN:
 * wait_for_connection, reboot), where a host that is down is expected.
 *
 * conn_pool_lazy: the pool's entry for the host, like conn_pool_get but
 * without opening it. NULL with e set only when the settings can never work
 * (an unknown connection type).
 *
 * conn_open: open c now if it is not open. connect_timeout > 0 bounds this
 * attempt instead of the host's own connect timeout (an explicit
 * ConnectTimeout in ansible_ssh_common_args still wins). ERR_UNREACH when
 * the host cannot be reached; a later call tries again.
 *
 * conn_pool_reset: drop a host's session that broke (the host rebooted or
 * hangs) and return the pool's replacement entry, not open yet; later
 * conn_pool_get calls for the host get the replacement. The old entry stays
 * valid (threads still using it do not crash; its own transport reconnects
 * it) until conn_pool_free, so this is safe while other workers use the
 * pool or even the same host. A pct container's replacement keeps the
 * Proxmox node's session: only the container is looked at again. A
 * connection that was never opened is returned as is.
 *
 * conn_try: one attempt to reach a host that may be down: open *c if
 * needed, then run cmd (o->timeout bounds it). On a connection failure
 * (ERR_UNREACH, ERR_TIMEOUT) an open session is reset and *c replaced, so the
 * next attempt starts afresh. Returns as conn_exec does.
 */
struct conn *conn_pool_lazy(struct conn_pool *p, const char *host, const json_t *vars,
                            const json_t *(*resolve)(void *ud, const char *host), void *ud,
                            struct err *e);
int conn_open(struct conn *c, int connect_timeout, struct err *e);
struct conn *conn_pool_reset(struct conn *c);
int conn_try(struct conn **c, const char *cmd, const struct conn_exec_opts *o, int connect_timeout,
             struct conn_result *r, struct err *e);

int conn_exec(struct conn *c, const char *cmd, const struct conn_exec_opts *o,
              struct conn_result *r, struct err *e);
int conn_put(struct conn *c, const void *data, size_t len, const char *path, int mode,
             const struct conn_exec_opts *o, struct err *e);
int conn_get(struct conn *c, const char *path, struct buf *out, const struct conn_exec_opts *o,
             struct err *e);
void conn_result_release(struct conn_result *r);

extern const struct conn_ops conn_local_ops, conn_ssh_ops, conn_pct_ops;

#endif
