/*
 * pool.c - one connection per inventory host, opened on first use and kept
 * for the run. The pool lock only guards the list; each connection is opened
 * under its own lock, so hosts connect in parallel.
 *
 * A session that broke is not closed under the feet of whoever still holds
 * it: conn_pool_reset retires the entry (lookups skip it) and adds a fresh
 * one, and retired entries are closed with the pool. There is one per
 * broken session, so they stay few.
 */
#include <signal.h>
#include <string.h>

#include "conn/conn_int.h"
#include "util/log.h"
#include "util/mem.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct conn_pool *conn_pool_new(const struct conn_defaults *d)
{
	struct conn_pool *p = xcalloc(1, sizeof(*p));

	if (d) {
		p->d = *d;
		p->d.user = dup_or_null(d->user);
		p->d.private_key = dup_or_null(d->private_key);
		p->d.password = dup_or_null(d->password);
		p->d.connection = dup_or_null(d->connection);
	} else {
		p->d.host_key_checking = 1;
	}
	if (p->d.timeout <= 0)
		p->d.timeout = 10;
	pthread_mutex_init(&p->lock, NULL);
	/* A host that closes its end must fail a write, not kill drover.
	 * Local children get the default disposition back before exec. */
	signal(SIGPIPE, SIG_IGN);
	return p;
}

void conn_pool_free(struct conn_pool *p)
{
	size_t i;

	if (!p)
		return;
	for (i = p->n; i-- > 0;) {
		struct conn *c = p->conns[i];
		if (c->opened && c->ops->close)
			c->ops->close(c);
		json_decref(c->vars);
		free(c->host);
		free(c->key);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	free(p->conns);
	free((char *)p->d.user);
	if (p->d.password) {
		explicit_bzero((char *)p->d.password, strlen(p->d.password));
		free((char *)p->d.password);
	}
	free((char *)p->d.private_key);
	free((char *)p->d.connection);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct {
	const char *name;
	const struct conn_ops *ops;
} conn_types[] = {
    {"ssh", &conn_ssh_ops},
    {"smart", &conn_ssh_ops},
    {"paramiko", &conn_ssh_ops},
    {"paramiko_ssh", &conn_ssh_ops},
    {"ansible.builtin.ssh", &conn_ssh_ops},
    {"ansible.legacy.ssh", &conn_ssh_ops},
    {"local", &conn_local_ops},
    {"ansible.builtin.local", &conn_local_ops},
    {"ansible.legacy.local", &conn_local_ops},
    {"pct", &conn_pct_ops},
    {"community.proxmox.proxmox_pct_remote", &conn_pct_ops},
    {"community.general.proxmox_pct_remote", &conn_pct_ops},
};

static int is_local_name(const char *host)
{
	return !strcmp(host, "localhost") || !strcmp(host, "127.0.0.1") || !strcmp(host, "::1");
}

static const struct conn_ops *choose_ops(const struct conn_pool *p, const char *host,
                                         const json_t *vars, struct err *e)
{
	const json_t *v = vars ? json_object_get(vars, "ansible_connection") : NULL;
	const char *name = json_is_string(v) ? json_string_value(v) : NULL;
	size_t i;

	/* Implicit localhost is local, as in Ansible, even under -c. */
	if (!name && is_local_name(host) && !json_object_get(vars, "ansible_host"))
		return &conn_local_ops;
	if (p->d.connection && *p->d.connection)
		name = p->d.connection;
	if (!name || !*name)
		name = "ssh";
	for (i = 0; i < sizeof(conn_types) / sizeof(conn_types[0]); i++)
		if (!strcmp(name, conn_types[i].name))
			return conn_types[i].ops;
	err_set(e, ERR_GENERIC, NULL, 0, 0,
	        "unknown connection type '%s' (ansible_connection or -c): drover knows ssh, "
	        "local and pct (community.proxmox.proxmox_pct_remote)",
	        name);
	return NULL;
}

/* The vars that decide where and how a connection goes. */
static const char *const conn_var_names[] = {"ansible_connection",
                                             "ansible_host",
                                             "ansible_ssh_host",
                                             "ansible_port",
                                             "ansible_ssh_port",
                                             "ansible_user",
                                             "ansible_ssh_user",
                                             "ansible_ssh_private_key_file",
                                             "ansible_private_key_file",
                                             "ansible_password",
                                             "ansible_ssh_pass",
                                             "ansible_ssh_password",
                                             "ansible_ssh_common_args",
                                             "ansible_ssh_extra_args",
                                             "ansible_host_key_checking",
                                             "ansible_ssh_host_key_checking",
                                             "ansible_ssh_timeout",
                                             "ansible_timeout",
                                             "pct_vmid",
                                             "pct_host",
                                             "proxmox_vmid",
                                             NULL};

static char *conn_key(const json_t *vars)
{
	json_t *k = json_object();
	char *s;
	int i;

	for (i = 0; conn_var_names[i]; i++) {
		json_t *v = json_object_get(vars, conn_var_names[i]);
		if (v)
			json_object_set(k, conn_var_names[i], v);
	}
	s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(k);
	return s ? s : xstrdup("{}");
}

/* A new entry for host (the pool lock is held). */
static struct conn *conn_add(struct conn_pool *p, const struct conn_ops *ops, const char *host,
                             char *key, const json_t *vars)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->ops = ops;
	c->key = key;
	c->host = xstrdup(host);
	c->vars = vars ? json_deep_copy(vars) : json_object();
	if (!c->vars)
		c->vars = json_object();
	c->pool = p;
	pthread_mutex_init(&c->lock, NULL);
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->conns = xrealloc(p->conns, p->cap * sizeof(*p->conns));
	}
	p->conns[p->n++] = c;
	return c;
}

/* The live (not retired) entry for host and key (the pool lock is held). */
static struct conn *conn_find(struct conn_pool *p, const char *host, const char *key)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->conns[i]->retired && !strcmp(p->conns[i]->host, host) &&
		    !strcmp(p->conns[i]->key, key))
			return p->conns[i];
	return NULL;
}

static struct conn *find_or_add(struct conn_pool *p, const char *host, const json_t *vars,
                                const json_t *(*resolve)(void *ud, const char *host), void *ud,
                                struct err *e)
{
	const struct conn_ops *ops;
	struct conn *c;
	char *key = conn_key(vars);

	if (!host || !*host) {
		free(key);
		err_set(e, ERR_GENERIC, NULL, 0, 0, "connection requested for an empty host name");
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	c = conn_find(p, host, key);
	if (!c && (ops = choose_ops(p, host, vars, e))) {
		c = conn_add(p, ops, host, key, vars);
		key = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	free(key);
	/* The first caller that knows how to find a pct node teaches the
	 * entry, so a later lazy open can find it too (conn_open reads these
	 * under the same lock). */
	if (c && resolve) {
		pthread_mutex_lock(&c->lock);
		if (!c->resolve) {
			c->resolve = resolve;
			c->ud = ud;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return c;
}

/*
 * Open with the connect timeout bounded for this attempt: transports read
 * it from the connection vars when they open. Set after pct_parent, so a
 * proxmox_pct_remote node (whose vars come from the container's) keeps
 * its own session key.
 */
static int open_bounded(struct conn *c, int connect_timeout, struct err *e)
{
	json_t *old = NULL;
	int ret;

	if (connect_timeout > 0) {
		old = json_incref(json_object_get(c->vars, "ansible_ssh_timeout"));
		json_object_set_new(c->vars, "ansible_ssh_timeout", json_integer(connect_timeout));
	}
	log_verbose(3, "<%s> opening %s connection", c->host, c->ops->name);
	ret = c->ops->open(c, e);
	if (connect_timeout > 0) {
		if (old)
			json_object_set_new(c->vars, "ansible_ssh_timeout", old);
		else
			json_object_del(c->vars, "ansible_ssh_timeout");
	}
	return ret;
}

int conn_open(struct conn *c, int connect_timeout, struct err *e)
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (!c->opened) {
		if (c->ops == &conn_pct_ops && !c->parent)
			ret = pct_parent(c, c->resolve, c->ud, e);
		if (!ret)
			ret = open_bounded(c, connect_timeout, e);
		if (!ret)
			c->opened = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

struct conn *conn_pool_get(struct conn_pool *p, const char *host, const json_t *vars,
                           const json_t *(*resolve)(void *ud, const char *host), void *ud,
                           struct err *e)
{
	struct conn *c = find_or_add(p, host, vars, resolve, ud, e);

	if (!c || conn_open(c, 0, e))
		return NULL;
	return c;
}

struct conn *conn_pool_lazy(struct conn_pool *p, const char *host, const json_t *vars,
                            const json_t *(*resolve)(void *ud, const char *host), void *ud,
                            struct err *e)
{
	return find_or_add(p, host, vars, resolve, ud, e);
}

struct conn *conn_pool_reset(struct conn *c)
{
	struct conn_pool *p = c->pool;
	struct conn *n;

	/* c's lock first (as conn_open takes it before a pct node's pool
	 * lookup): an open in progress has settled c->opened and c->vars. */
	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&p->lock);
	/* Two workers resetting the same session get the same replacement. */
	if (c->retired) {
		n = conn_find(p, c->host, c->key);
	} else if (!c->opened) {
		n = c;
	} else {
		log_verbose(2, "<%s> dropping the %s session to open a new one", c->host,
		            c->ops->name);
		c->retired = 1;
		n = conn_add(p, c->ops, c->host, xstrdup(c->key), c->vars);
		n->resolve = c->resolve;
		n->ud = c->ud;
		n->parent = c->parent; /* pct: the node's session stays */
	}
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&c->lock);
	return n ? n : c;
}

int conn_try(struct conn **c, const char *cmd, const struct conn_exec_opts *o, int connect_timeout,
             struct conn_result *r, struct err *e)
{
	int ret = conn_open(*c, connect_timeout, e);

	memset(r, 0, sizeof(*r));
	r->rc = -1;
	if (!ret)
		ret = conn_exec(*c, cmd, o, r, e);
	if (ret && (e->code == ERR_UNREACH || e->code == ERR_TIMEOUT))
		*c = conn_pool_reset(*c);
	return ret;
}
