/*
 * ssh.c - hosts over SSH (libssh). Being written: until then every ssh host
 * is reported unreachable with a message that says so.
 */
#include "conn/conn_int.h"

static int ssh_open(struct conn *c, struct err *e)
{
	return err_set(e, ERR_UNREACH, NULL, 0, 0,
	               "Failed to connect to the host via ssh: %s: ssh connections are not "
	               "available in this build yet; use ansible_connection=local or pct",
	               c->host);
}

static int ssh_exec(struct conn *c, const struct conn_job *j, struct conn_result *r, struct err *e)
{
	(void)j;
	(void)r;
	return ssh_open(c, e);
}

static void ssh_close(struct conn *c)
{
	(void)c;
}

const struct conn_ops conn_ssh_ops = {
    .name = "ssh",
    .open = ssh_open,
    .exec = ssh_exec,
    .close = ssh_close,
};
