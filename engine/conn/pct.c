/*
 * pct.c - a Proxmox container reached through its node: every command runs
 * as `pct exec VMID -- /bin/sh -c '<cmd>'` over the node's own connection
 * (ssh or local), so many containers share one session to their node.
 *
 * Two ways to name the node, as users write them:
 *   ansible_connection=pct, pct_vmid=101, pct_host=<inventory host of the node>
 *   ansible_connection=community.proxmox.proxmox_pct_remote,
 *     ansible_host=<node address>, proxmox_vmid=101 (ansible_user, port and
 *     key then describe the ssh connection to the node, as in Ansible)
 * File transfer streams through stdin/stdout of pct exec (conn.c).
 */
#include <ctype.h>
#include <string.h>

#include "conn/conn_int.h"
#include "util/mem.h"

struct pct {
	char vmid[32];
};

static const char *pct_vmid(struct conn *c, char *tmp, size_t n)
{
	const char *v = conn_var(c, "pct_vmid", tmp, n);

	return v ? v : conn_var(c, "proxmox_vmid", tmp, n);
}

static int vmid_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return i > 0 && i < 16;
}

/* Vars for a node given only by address (proxmox_pct_remote): the
 * container's own ssh settings describe how to reach the node. */
static json_t *node_vars_from(const struct conn *c)
{
	static const char *const keep[] = {"ansible_host",
	                                   "ansible_port",
	                                   "ansible_user",
	                                   "ansible_ssh_private_key_file",
	                                   "ansible_private_key_file",
	                                   "ansible_password",
	                                   "ansible_ssh_pass",
	                                   "ansible_ssh_common_args",
	                                   "ansible_ssh_extra_args",
	                                   "ansible_ssh_host_key_checking",
	                                   "ansible_host_key_checking",
	                                   "ansible_ssh_timeout",
	                                   NULL};
	json_t *v = json_object();
	size_t i;

	for (i = 0; keep[i]; i++) {
		json_t *x = json_object_get(c->vars, keep[i]);
		if (x)
			json_object_set(v, keep[i], x);
	}
	json_object_set_new(v, "ansible_connection", json_string("ssh"));
	return v;
}

int pct_parent(struct conn *c, const json_t *(*resolve)(void *ud, const char *host), void *ud,
               struct err *e)
{
	char tmp[64], htmp[64];
	const char *vmid = pct_vmid(c, tmp, sizeof(tmp));
	const char *node = conn_var(c, "pct_host", htmp, sizeof(htmp));
	const json_t *nv, *conn_type;
	json_t *own = NULL;
	char *key = NULL;

	if (!vmid || !vmid_ok(vmid))
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "%s uses the pct connection but %s: set pct_vmid (or proxmox_vmid) "
		               "to the container's numeric VMID",
		               c->host, vmid ? "its VMID is not a number" : "has no pct_vmid");
	if (node) {
		if (!strcmp(node, c->host))
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "%s: pct_host names the container itself; it must name the "
			               "Proxmox node",
			               c->host);
		nv = resolve ? resolve(ud, node) : NULL;
		if (!nv)
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "%s: pct_host '%s' is not a host in the inventory; add the "
			               "Proxmox node to the inventory",
			               c->host, node);
		conn_type = json_object_get(nv, "ansible_connection");
		if (json_is_string(conn_type) && strstr(json_string_value(conn_type), "pct"))
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "%s: pct_host '%s' is itself a pct container; it must be "
			               "the Proxmox node, reached by ssh or local",
			               c->host, node);
		c->parent = conn_pool_get(c->pool, node, nv, resolve, ud, e);
	} else {
		node = conn_var(c, "ansible_host", htmp, sizeof(htmp));
		if (!node)
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "%s uses the pct connection but names no Proxmox node: set "
			               "pct_host (an inventory host) or ansible_host (its address)",
			               c->host);
		own = node_vars_from(c);
		key = xasprintf("proxmox node %s", node);
		c->parent = conn_pool_get(c->pool, key, own, NULL, NULL, e);
	}
	json_decref(own);
	free(key);
	return c->parent ? 0 : e->code;
}

static int pct_open(struct conn *c, struct err *e)
{
	struct pct *p = xcalloc(1, sizeof(*p));
	char tmp[64], cmd[96];
	struct conn_job j = {0};
	struct conn_result r = {0};
	int ret;

	snprintf(p->vmid, sizeof(p->vmid), "%s", pct_vmid(c, tmp, sizeof(tmp)));
	snprintf(cmd, sizeof(cmd), "pct status %s", p->vmid);
	j.cmd = cmd;
	/* Opening a container is asking its node about it: the connect
	 * timeout (conn_open's, or the host's) bounds that question. */
	j.timeout = conn_var_int(c, "ansible_ssh_timeout", 60);
	if (j.timeout <= 0)
		j.timeout = 60;
	ret = c->parent->ops->exec(c->parent, &j, &r, e);
	if (!ret && (r.rc != 0 || !strstr(buf_str(&r.out), "status: running"))) {
		struct buf *b = r.rc ? &r.err : &r.out;
		while (b->len && isspace((unsigned char)b->s[b->len - 1]))
			b->s[--b->len] = '\0';
		ret = err_set(e, ERR_UNREACH, NULL, 0, 0,
		              "container %s on Proxmox node %s is not running: `pct status %s` "
		              "said: %s",
		              p->vmid, c->parent->host, p->vmid, b->len ? buf_str(b) : "(nothing)");
	}
	conn_result_release(&r);
	if (ret)
		free(p);
	else
		c->priv = p;
	return ret;
}

static int pct_exec(struct conn *c, const struct conn_job *j, struct conn_result *r, struct err *e)
{
	struct pct *p = c->priv;
	struct conn_job pj = *j;
	struct buf cmd = BUF_INIT;
	int ret;

	/* pct sets PATH=/sbin:/bin:/usr/sbin:/usr/bin before attaching, which
	 * hides /usr/local/bin (where k3s lives). Give commands the PATH sshd
	 * gives them, so a playbook runs the same over pct as over ssh. */
	struct buf inner = BUF_INIT;
	buf_adds(&inner, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; "
	                 "export PATH\n");
	buf_adds(&inner, j->cmd);
	buf_addf(&cmd, "pct exec %s -- /bin/sh -c ", p->vmid);
	buf_add_shquote(&cmd, buf_str(&inner));
	buf_release(&inner);
	pj.cmd = buf_str(&cmd);
	ret = c->parent->ops->exec(c->parent, &pj, r, e);
	/* pct exec itself failing on a container that stopped since: the host is
	 * gone, not the command. */
	if (!ret && r->rc != 0 && strstr(buf_str(&r->err), "not running"))
		ret = err_set(e, ERR_UNREACH, NULL, 0, 0,
		              "container %s on Proxmox node %s is not running: %s", p->vmid,
		              c->parent->host, buf_str(&r->err));
	buf_release(&cmd);
	return ret;
}

static void pct_close(struct conn *c)
{
	free(c->priv);
	c->priv = NULL;
}

const struct conn_ops conn_pct_ops = {
    .name = "pct",
    .open = pct_open,
    .exec = pct_exec,
    .put = NULL,
    .get = NULL,
    .close = pct_close,
};
