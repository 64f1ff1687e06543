/*
 * Shared pieces of the k3s modules. k3s_probe reads everything the modules
 * need to know about a node in one shell round trip, because over SSH or
 * pct every round trip costs.
 */
#include "modules/k3s.h"
#include "util/buf.h"
#include "util/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int k3s_version_parse(const char *s, struct k3s_version *v)
{
	memset(v, 0, sizeof(*v));
	if (!s)
		return -1;
	if (*s == 'v')
		s++;
	char *end;
	int *parts[3] = {&v->major, &v->minor, &v->patch};
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		*parts[i] = (int)strtol(s, &end, 10);
		s = end;
		if (i < 2) {
			if (*s != '.')
				return -1;
			s++;
		}
	}
	if (!strncmp(s, "-rc", 3)) {
		v->rc = (int)strtol(s + 3, &end, 10);
		if (end == s + 3)
			return -1;
		s = end;
	}
	if (!*s)
		return 0;
	if (strncmp(s, "+k3s", 4) || !isdigit((unsigned char)s[4]))
		return -1;
	v->rev = (int)strtol(s + 4, &end, 10);
	return *end ? -1 : 0;
}

int k3s_version_cmp(const struct k3s_version *a, const struct k3s_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	/* a release (rc 0) sorts after its candidates */
	if (a->rc != b->rc) {
		if (!a->rc || !b->rc)
			return a->rc ? -1 : 1;
		return a->rc < b->rc ? -1 : 1;
	}
	if (a->rev != b->rev)
		return a->rev < b->rev ? -1 : 1;
	return 0;
}

/*
 * Prints key=value lines. The agent token is never printed: only whether
 * the env file holds one. The unit's ExecStart continuation lines are
 * joined into one.
 */
static const char probe_script[] =
    "b=/usr/local/bin/k3s\n"
    "if [ -x \"$b\" ]; then echo installed=1; "
    "echo \"version_line=$(\"$b\" --version 2>/dev/null | head -n 1)\"; "
    "else echo installed=0; fi\n"
    "for u in k3s k3s-agent; do f=/etc/systemd/system/$u.service\n"
    "  [ -f \"$f\" ] || continue\n"
    "  echo unit=$u\n"
    "  echo \"active_$u=$(systemctl is-active $u.service 2>/dev/null)\"\n"
    "  echo \"enabled_$u=$(systemctl is-enabled $u.service 2>/dev/null)\"\n"
    "  echo \"exec_$u=$(sed -n '/^ExecStart=/,/[^\\\\]$/p' \"$f\" | "
    "sed 's/\\\\$//' | tr '\\n' ' ')\"\n"
    "  if [ -f \"$f.env\" ]; then\n"
    "    echo \"env_$u=$f.env\"\n"
    "    sed -n \"s/^K3S_URL=['\\\"]*\\([^'\\\"]*\\).*/url_$u=\\1/p\" \"$f.env\"\n"
    "    grep -q '^K3S_TOKEN=' \"$f.env\" && echo token_$u=1\n"
    "  fi\n"
    "done\n"
    "c=/etc/rancher/k3s/config.yaml\n"
    "if [ -f \"$c\" ]; then\n"
    "  grep -q '^cluster-init: *true' \"$c\" && echo cfg_cluster_init=1\n"
    "  grep -q '^datastore-endpoint:' \"$c\" && echo cfg_external=1\n"
    "  sed -n 's/^node-name: *[\"'\\'']*\\([^\"'\\'']*\\).*/cfg_node_name=\\1/p' \"$c\"\n"
    "  sed -n 's/^server: *[\"'\\'']*\\([^\"'\\'']*\\).*/cfg_server=\\1/p' \"$c\"\n"
    "fi\n"
    "[ -d /var/lib/rancher/k3s/server/db/etcd ] && echo etcd_dir=1\n"
    "[ -f /var/lib/rancher/k3s/server/db/state.db ] && echo sqlite_db=1\n"
    "echo \"hostname=$(hostname 2>/dev/null || cat /etc/hostname)\"\n";

static const char *kv(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The value of "--flag VALUE" or "--flag=VALUE" in a unit's exec line. */
static char *exec_flag(const char *exec, const char *flag)
{
	const char *p = exec;
	size_t n = strlen(flag);
	while ((p = strstr(p, flag))) {
		const char *v = p + n;
		if (*v == '=' || *v == ' ' || *v == '\'') {
			while (*v == '=' || *v == ' ' || *v == '\'')
				v++;
			size_t len = strcspn(v, "' ");
			return xstrndup(v, len);
		}
		p = v;
	}
	return NULL;
}

static json_t *probe_parse(const char *out)
{
	json_t *raw = json_object();
	char *copy = xstrdup(out), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (!strcmp(line, "unit")) {
			json_t *units = json_object_get(raw, "units");
			if (!units)
				json_object_set_new(raw, "units", units = json_array());
			json_array_append_new(units, json_string(eq + 1));
		} else {
			json_object_set_new(raw, line, json_string(eq + 1));
		}
	}
	free(copy);
	return raw;
}

static const char *role_unit(const json_t *raw, const char **role)
{
	/* With both units present (an agent that was turned into a server),
	 * the active one tells the role; a server unit wins a tie. */
	const char *srv_active = kv(raw, "active_k3s");
	const char *agt_active = kv(raw, "active_k3s-agent");
	int has_srv = kv(raw, "exec_k3s") != NULL, has_agt = kv(raw, "exec_k3s-agent") != NULL;
	if (has_agt && (!has_srv || (agt_active && !strcmp(agt_active, "active") &&
	                             !(srv_active && !strcmp(srv_active, "active"))))) {
		*role = "agent";
		return "k3s-agent";
	}
	if (has_srv) {
		*role = "server";
		return "k3s";
	}
	*role = NULL;
	return NULL;
}

static json_t *probe_build(const json_t *raw)
{
	json_t *r = json_object();
	int installed = kv(raw, "installed") && !strcmp(kv(raw, "installed"), "1");
	json_object_set_new(r, "installed", json_boolean(installed));
	const char *vl = kv(raw, "version_line");
	char ver[64] = "";
	if (vl && sscanf(vl, "k3s version %63s", ver) == 1)
		json_object_set_new(r, "version", json_string(ver));
	else
		json_object_set_new(r, "version", json_null());
	const char *role;
	const char *unit = role_unit(raw, &role);
	json_object_set_new(r, "role", role ? json_string(role) : json_null());
	json_object_set_new(r, "unit", unit ? json_sprintf("%s.service", unit) : json_null());
	json_t *units = json_object_get(raw, "units");
	json_object_set_new(r, "units", units ? json_incref(units) : json_array());
	char key[64];
	const char *exec = "";
	if (unit) {
		snprintf(key, sizeof(key), "active_%s", unit);
		json_object_set_new(r, "active",
		                    json_boolean(kv(raw, key) && !strcmp(kv(raw, key), "active")));
		snprintf(key, sizeof(key), "enabled_%s", unit);
		json_object_set_new(r, "enabled",
		                    json_boolean(kv(raw, key) && !strcmp(kv(raw, key), "enabled")));
		snprintf(key, sizeof(key), "exec_%s", unit);
		exec = kv(raw, key) ? kv(raw, key) : "";
		snprintf(key, sizeof(key), "env_%s", unit);
		json_object_set_new(r, "env_file",
		                    kv(raw, key) ? json_string(kv(raw, key)) : json_null());
	} else {
		json_object_set_new(r, "active", json_false());
		json_object_set_new(r, "enabled", json_false());
		json_object_set_new(r, "env_file", json_null());
	}
	/* exec_args: what follows the binary in ExecStart */
	const char *args = strstr(exec, "k3s ");
	json_object_set_new(r, "exec_args", json_string(args ? args + 4 : ""));
	const char *ds = NULL;
	if (role && !strcmp(role, "server")) {
		if (strstr(exec, "--datastore-endpoint") || kv(raw, "cfg_external"))
			ds = "external";
		else if (kv(raw, "etcd_dir") || strstr(exec, "--cluster-init") ||
		         kv(raw, "cfg_cluster_init"))
			ds = "etcd";
		else
			ds = "sqlite";
	}
	json_object_set_new(r, "datastore", ds ? json_string(ds) : json_null());
	const char *url = kv(raw, "url_k3s-agent");
	char *flag_server = exec_flag(exec, "--server");
	if (!url)
		url = flag_server ? flag_server : kv(raw, "cfg_server");
	json_object_set_new(r, "server_url",
	                    role && !strcmp(role, "agent") && url ? json_string(url) : json_null());
	free(flag_server);
	char *nn = exec_flag(exec, "--node-name");
	const char *node = nn                         ? nn
	                   : kv(raw, "cfg_node_name") ? kv(raw, "cfg_node_name")
	                                              : kv(raw, "hostname");
	json_object_set_new(r, "node_name", node ? json_string(node) : json_null());
	free(nn);
	return r;
}

json_t *k3s_probe(struct task_ctx *ctx, struct conn *conn, struct err *e)
{
	struct conn_result res = {0};
	struct conn_exec_opts o = ctx->exec;
	if (conn_exec(conn, probe_script, &o, &res, e) < 0) {
		conn_result_release(&res);
		return NULL;
	}
	json_t *raw = probe_parse(buf_str(&res.out));
	json_t *r = probe_build(raw);
	json_decref(raw);
	conn_result_release(&res);
	return r;
}

int k3s_kubectl(struct task_ctx *ctx, struct conn *conn, const char *args, struct conn_result *r,
                struct err *e)
{
	struct buf cmd = BUF_INIT;
	buf_addf(&cmd, "/usr/local/bin/k3s kubectl %s", args);
	struct conn_exec_opts o = ctx->exec;
	int rc = conn_exec(conn, buf_str(&cmd), &o, r, e);
	buf_release(&cmd);
	return rc;
}

const char *k3s_first_server(const struct task_ctx *ctx)
{
	const json_t *groups = json_object_get(ctx->vars, "groups");
	const json_t *servers = json_object_get(groups, "k3s_servers");
	return json_string_value(json_array_get(servers, 0));
}
