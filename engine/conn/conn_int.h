/*
 * conn_int.h - what the transports (local.c, ssh.c, pct.c) share with conn.c:
 * the pool's settings, connection-var lookups, and the stdin feeder that
 * answers sudo's password prompt.
 *
 * Not for callers outside engine/conn: they use conn.h.
 */
#ifndef DROVER_CONN_INT_H
#define DROVER_CONN_INT_H

#include "conn/conn.h"

struct conn_pool {
	struct conn_defaults d; /* strings owned (copied) */
	pthread_mutex_t lock;   /* guards conns/n/cap, not the connections */
	struct conn **conns;
	size_t n, cap;
};

/* The string value of a connection var (numbers are formatted into tmp), or
 * NULL when unset, null or empty. */
const char *conn_var(const struct conn *c, const char *name, char *tmp, size_t tmpsz);
/* The var as an int, or def when unset; -1 when set but not a number. */
int conn_var_int(const struct conn *c, const char *name, int def);

/* Random hex for markers and temp names (thread-safe). */
void conn_random_hex(char *out, size_t nhex);

/*
 * The stdin side of a running command. Without a password, stdin is written
 * at once and then closed. With one, nothing is written until conn_feed_scan
 * sees sudo's prompt in r->err (the password line goes first) or the ok line
 * in r->out (sudo did not ask).
 */
struct conn_feed {
	const struct conn_job *j;
	int waiting;  /* stdin held until sudo asked or the command started */
	int prompted; /* prompts seen */
	int ok_seen;
	char *pw; /* "password\n" while it is being written */
	size_t pw_len, pw_off;
	size_t in_off;
	int closed; /* stdin closed */
};

void conn_feed_init(struct conn_feed *f, const struct conn_job *j);
void conn_feed_release(struct conn_feed *f);
/* Call after output was appended to r. Returns <0 with e set when sudo asks a
 * second time (wrong password). */
int conn_feed_scan(struct conn_feed *f, struct conn_result *r, struct err *e);
/* The bytes to write now (len 0: nothing now). *close_now is set when all
 * stdin was written and the transport should send EOF. */
size_t conn_feed_next(struct conn_feed *f, const char **p, int *close_now);
void conn_feed_advance(struct conn_feed *f, size_t n);
/* The command stopped reading: forget the rest of stdin. */
void conn_feed_drop(struct conn_feed *f);
/* Strip a leftover ok line once the command finished (sudo without prompt
 * and very short output can end before a scan saw the whole line). */
void conn_feed_finish(struct conn_feed *f, struct conn_result *r);

/* pct.c: find and open the Proxmox node's connection for c (sets c->parent). */
int pct_parent(struct conn *c, const json_t *(*resolve)(void *ud, const char *host), void *ud,
               struct err *e);

/* Monotonic seconds, for timeouts. */
double conn_now(void);

#endif
