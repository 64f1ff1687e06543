/*
 * k3s_install: install k3s on a node, or upgrade it, without ever changing
 * what the node is.
 *
 * Re-running k3s's install.sh with only INSTALL_K3S_VERSION on an agent
 * turns it into a server (no K3S_URL, no command: it defaults to server).
 * So an upgrade always passes the node's existing role, its ExecStart
 * arguments and, for agents, its env file (K3S_URL, K3S_TOKEN) back to the
 * script. The token is sourced on the node or fed on stdin: it never
 * appears in a command line, the output or the result.
 */
#include "modules/k3s.h"
#include "util/buf.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <stdio.h>
#include <string.h>

static const char *const install_aliases[] = {"drover.k3s.k3s_install", NULL};
static const char *const roles[] = {"server", "agent", NULL};

static const struct module_arg install_args[] = {
    {"version", ARG_STR, 0, NULL, NULL, 0, NULL, "Target version, e.g. v1.31.4+k3s1."},
    {"channel", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Resolve the target from this release channel when no version is given."},
    {"channel_url", ARG_STR, 0, "\"https://update.k3s.io/v1-release/channels\"", NULL, 0, NULL,
     "Channel service for 'channel'."},
    {"role", ARG_STR, 0, NULL, roles, 0, NULL,
     "server or agent. Default: the installed role; required for a fresh install."},
    {"server_url", ARG_STR, 0, NULL, NULL, 0, NULL,
     "K3S_URL to join (agents, and servers joining an HA cluster)."},
    {"token", ARG_STR, 0, NULL, NULL, 1, NULL,
     "Join token. Default: the agent's existing one, or the first server's node-token."},
    {"cluster_init", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Start a new HA cluster with embedded etcd (first server)."},
    {"extra_args", ARG_LIST, 0, NULL, NULL, 0, NULL,
     "k3s arguments after the role. Default on upgrade: the unit's current ones."},
    {"config", ARG_DICT, 0, NULL, NULL, 0, NULL, "Written to /etc/rancher/k3s/config.yaml."},
    {"install_script_url", ARG_STR, 0, "\"https://get.k3s.io\"", NULL, 0, NULL,
     "Where the node downloads install.sh from."},
    {"install_env", ARG_DICT, 0, NULL, NULL, 0, NULL,
     "More environment for install.sh (INSTALL_K3S_CHANNEL_URL, GITHUB_URL, ...)."},
    {"airgap_binary", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "Controller path of the k3s binary to copy (INSTALL_K3S_SKIP_DOWNLOAD)."},
    {"install_script_src", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "Controller path of install.sh to copy instead of downloading it."},
    {"allow_downgrade", ARG_BOOL, 0, "false", NULL, 0, NULL, "Permit a lower version."},
    {"wait_timeout", ARG_INT, 0, "180", NULL, 0, NULL,
     "Seconds to wait for the unit to be active afterwards."},
    {NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

#define NODE_TOKEN  "/var/lib/rancher/k3s/server/node-token"
#define CONFIG_PATH "/etc/rancher/k3s/config.yaml"

static const char *arg_s(const json_t *args, const char *k)
{
	const char *s = json_string_value(json_object_get(args, k));
	return s && *s ? s : NULL;
}

/* Split a unit's ExecStart arguments ("server '--a' 'b c'") into words. */
static json_t *split_exec(const char *s)
{
	json_t *words = json_array();
	struct buf w = BUF_INIT;
	int in_word = 0;
	for (const char *p = s;; p++) {
		if (!*p || *p == ' ' || *p == '\t') {
			if (in_word)
				json_array_append_new(words, json_string(buf_str(&w)));
			buf_reset(&w);
			in_word = 0;
			if (!*p)
				break;
		} else if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q)
				q = p + strlen(p);
			buf_add(&w, p + 1, (size_t)(q - p - 1));
			in_word = 1;
			p = *q ? q : q - 1;
		} else if (*p == '"') {
			const char *q = strchr(p + 1, '"');
			if (!q)
				q = p + strlen(p);
			buf_add(&w, p + 1, (size_t)(q - p - 1));
			in_word = 1;
			p = *q ? q : q - 1;
		} else {
			buf_addc(&w, *p);
			in_word = 1;
		}
	}
	buf_release(&w);
	return words;
}

/* The words after the role: the user's, else the unit's current ones. */
static void add_exec_words(struct buf *cmd, const json_t *args, const json_t *probe)
{
	const json_t *extra = json_object_get(args, "extra_args");
	size_t i;
	json_t *w;
	if (json_is_array(extra)) {
		json_array_foreach (extra, i, w) {
			buf_addc(cmd, ' ');
			buf_add_shquote(cmd, json_string_value(w) ? json_string_value(w) : "");
		}
		return;
	}
	json_t *words = split_exec(json_string_value(json_object_get(probe, "exec_args")));
	json_array_foreach (words, i, w) {
		if (i == 0)
			continue; /* the role word */
		if (json_is_true(json_object_get(args, "cluster_init")) &&
		    !strcmp(json_string_value(w), "--cluster-init"))
			continue;
		buf_addc(cmd, ' ');
		buf_add_shquote(cmd, json_string_value(w));
	}
	json_decref(words);
}

static char *read_token(struct task_ctx *ctx, const char *server, struct err *e)
{
	if (!ctx->conn_for)
		return NULL;
	struct conn *c = ctx->conn_for(ctx, server, e);
	if (!c)
		return NULL;
	struct conn_result r = {0};
	struct conn_exec_opts o = ctx->exec;
	char *tok = NULL;
	if (conn_exec(c, "cat " NODE_TOKEN, &o, &r, e) == 0 && r.rc == 0 && r.out.len) {
		size_t n = strcspn(buf_str(&r.out), "\r\n");
		tok = xstrndup(buf_str(&r.out), n);
	}
	conn_result_release(&r);
	return tok;
}

struct plan {
	const char *target, *role;
	const char *url; /* K3S_URL to export, or NULL */
	char *token;     /* fed on stdin, or NULL */
	int source_env;  /* source the agent's existing env file */
	const char *env_file;
	char *config; /* YAML to write, or NULL */
};

static void build_script(struct buf *cmd, const json_t *args, const json_t *probe,
                         const struct plan *pl, const char *script_path)
{
	buf_adds(cmd, "set -e\n");
	if (pl->source_env) {
		buf_adds(cmd, "set -a; . ");
		buf_add_shquote(cmd, pl->env_file);
		buf_adds(cmd, "; set +a\n");
	}
	if (pl->token)
		/* read fails at EOF without a newline, yet sets the variable */
		buf_adds(cmd,
		         "IFS= read -r K3S_TOKEN || [ -n \"$K3S_TOKEN\" ]; export K3S_TOKEN\n");
	buf_adds(cmd, "export INSTALL_K3S_VERSION=");
	buf_add_shquote(cmd, pl->target);
	buf_adds(cmd, "\n");
	if (pl->url) {
		buf_adds(cmd, "export K3S_URL=");
		buf_add_shquote(cmd, pl->url);
		buf_adds(cmd, "\n");
	}
	/* install.sh hashes the binary before and after to decide on a
	 * restart; an airgap binary is in place before it starts, so it
	 * would see no change and leave the old k3s running */
	if (arg_s(args, "airgap_binary"))
		buf_adds(cmd,
		         "export INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_FORCE_RESTART=true\n");
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(args, "install_env"), k, v) {
		char *text = json_is_string(v) ? xstrdup(json_string_value(v))
		                               : json_dumps(v, JSON_ENCODE_ANY);
		buf_addf(cmd, "export %s=", k);
		buf_add_shquote(cmd, text);
		buf_adds(cmd, "\n");
		free(text);
	}
	if (script_path) {
		buf_adds(cmd, "sh ");
		buf_add_shquote(cmd, script_path);
	} else {
		buf_adds(cmd, "curl -sfL ");
		buf_add_shquote(cmd, arg_s(args, "install_script_url"));
		buf_adds(cmd, " | sh -s -");
	}
	buf_addc(cmd, ' ');
	buf_adds(cmd, pl->role);
	if (json_is_true(json_object_get(args, "cluster_init")))
		buf_adds(cmd, " --cluster-init");
	add_exec_words(cmd, args, probe);
	buf_adds(cmd, " 2>&1\n");
}

static int run_sh(struct task_ctx *ctx, const char *cmd, const char *in, struct conn_result *r,
                  struct err *e)
{
	struct conn_exec_opts o = ctx->exec;
	if (in) {
		o.stdin_data = in;
		o.stdin_len = strlen(in);
	}
	return conn_exec(ctx->conn, cmd, &o, r, e);
}

/* Copy controller files for airgap installs; returns the script path or NULL. */
static int stage_airgap(struct task_ctx *ctx, const json_t *args, const char **script,
                        json_t *result, struct err *e)
{
	const char *bin = arg_s(args, "airgap_binary"), *src = arg_s(args, "install_script_src");
	*script = NULL;
	const char *files[2][2] = {{bin, "/usr/local/bin/k3s"},
	                           {src, "/usr/local/lib/drover-k3s-install.sh"}};
	for (int i = 0; i < 2; i++) {
		if (!files[i][0])
			continue;
		size_t len;
		char *data = read_file(files[i][0], &len);
		if (!data) {
			mod_fail(result, "cannot read %s on the controller", files[i][0]);
			return 1;
		}
		struct conn_exec_opts o = ctx->exec;
		int rc = conn_put(ctx->conn, data, len, files[i][1], 0755, &o, e);
		free(data);
		if (rc < 0)
			return rc;
	}
	if (src)
		*script = "/usr/local/lib/drover-k3s-install.sh";
	return 0;
}

static int write_config(struct task_ctx *ctx, const char *yaml, struct err *e)
{
	struct conn_result r = {0};
	int rc = run_sh(ctx, "mkdir -p /etc/rancher/k3s", NULL, &r, e);
	conn_result_release(&r);
	if (rc < 0)
		return rc;
	struct conn_exec_opts o = ctx->exec;
	return conn_put(ctx->conn, yaml, strlen(yaml), CONFIG_PATH, 0600, &o, e);
}

/* 1 when the config file differs from what we would write. */
static int config_differs(struct task_ctx *ctx, const char *yaml, struct err *e)
{
	struct buf cur = BUF_INIT;
	struct conn_exec_opts o = ctx->exec;
	int rc = conn_get(ctx->conn, CONFIG_PATH, &cur, &o, e);
	int differs = rc < 0 || strcmp(buf_str(&cur), yaml) != 0;
	if (rc < 0 && e->code != ERR_UNREACH)
		err_init(e); /* a missing file just differs */
	buf_release(&cur);
	return differs;
}

static int wait_active(struct task_ctx *ctx, const char *unit, int timeout, struct err *e)
{
	struct buf cmd = BUF_INIT;
	buf_addf(&cmd,
	         "i=0; while [ $i -lt %d ]; do systemctl is-active --quiet %s && exit 0; "
	         "sleep 2; i=$((i+2)); done; systemctl is-active %s; exit 1",
	         timeout, unit, unit);
	struct conn_result r = {0};
	int rc = run_sh(ctx, buf_str(&cmd), NULL, &r, e);
	if (rc == 0)
		rc = r.rc == 0 ? 0 : 1;
	conn_result_release(&r);
	buf_release(&cmd);
	return rc;
}

static const char *resolve_target(const json_t *args, json_t *result, char **owned)
{
	const char *v = arg_s(args, "version");
	*owned = NULL;
	if (v) {
		struct k3s_version kv;
		if (k3s_version_parse(v, &kv)) {
			mod_fail(result, "version '%s' is not a k3s version (e.g. v1.31.4+k3s1)",
			         v);
			return NULL;
		}
		return v;
	}
	const char *ch = arg_s(args, "channel");
	if (!ch) {
		mod_fail(result, "say which version to install: 'version' (e.g. from k3s_release) "
		                 "or 'channel'");
		return NULL;
	}
	struct buf why = BUF_INIT;
	const char *source;
	*owned = k3s_channel_version(arg_s(args, "channel_url"), ch, 10, NULL, &why, &source);
	if (!*owned)
		mod_fail(result, "cannot resolve channel '%s': %s", ch, buf_str(&why));
	buf_release(&why);
	return *owned;
}

/* Check role and version rules; fills pl. Returns 1 when result failed. */
static int plan_checks(struct task_ctx *ctx, const json_t *args, const json_t *probe,
                       struct plan *pl, json_t *result)
{
	const char *cur_role = json_string_value(json_object_get(probe, "role"));
	const char *want = arg_s(args, "role");
	const char *cur_ver = json_string_value(json_object_get(probe, "version"));
	if (json_array_size(json_object_get(probe, "units")) > 1)
		mod_fail(result,
		         "%s has both k3s.service and k3s-agent.service installed: it "
		         "was probably turned from an agent into a server by re-running "
		         "install.sh without K3S_URL. Remove the wrong unit by hand, then "
		         "re-run.",
		         ctx->host);
	else if (!cur_role && !want)
		mod_fail(result, "k3s is not installed on %s: say role: server or agent",
		         ctx->host);
	else if (cur_role && want && strcmp(cur_role, want))
		mod_fail(result, "%s is a k3s %s; k3s_install will not turn it into a %s",
		         ctx->host, cur_role, want);
	if (json_is_true(json_object_get(result, "failed")))
		return 1;
	pl->role = want ? want : cur_role;
	struct k3s_version a, b;
	if (cur_ver && !k3s_version_parse(cur_ver, &a) && !k3s_version_parse(pl->target, &b) &&
	    k3s_version_cmp(&a, &b) > 0 &&
	    !json_is_true(json_object_get(args, "allow_downgrade"))) {
		mod_fail(result,
		         "refusing to downgrade %s from %s to %s (allow_downgrade: true "
		         "permits it)",
		         ctx->host, cur_ver, pl->target);
		return 1;
	}
	return 0;
}

/* Agent join settings: explicit, else the env file, else the first server. */
static int plan_join(struct task_ctx *ctx, const json_t *args, const json_t *probe, struct plan *pl,
                     json_t *result, struct err *e)
{
	pl->url = arg_s(args, "server_url");
	const char *tok = arg_s(args, "token");
	pl->env_file = json_string_value(json_object_get(probe, "env_file"));
	int is_agent = !strcmp(pl->role, "agent");
	if (tok) {
		pl->token = xstrdup(tok);
		return 0;
	}
	if (is_agent && pl->env_file && json_is_true(json_object_get(probe, "installed"))) {
		pl->source_env = 1; /* keeps K3S_URL and K3S_TOKEN as they are */
		return 0;
	}
	if (!is_agent && !pl->url)
		return 0; /* a first server needs no token */
	const char *first = k3s_first_server(ctx);
	if (!first || !strcmp(first, ctx->host)) {
		mod_fail(result,
		         "no join token for %s: give 'token', or put the first server in "
		         "group k3s_servers so its node-token can be read",
		         ctx->host);
		return 1;
	}
	pl->token = read_token(ctx, first, e);
	if (!pl->token) {
		if (e->code == ERR_UNREACH)
			return e->code;
		err_init(e);
		mod_fail(result, "cannot read the join token from %s:%s", first, NODE_TOKEN);
		return 1;
	}
	if (is_agent && !pl->url) {
		mod_fail(result, "agent %s needs server_url (K3S_URL) to join", ctx->host);
		return 1;
	}
	return 0;
}

static int do_install(struct task_ctx *ctx, const json_t *args, const json_t *probe,
                      struct plan *pl, json_t *result, struct err *e)
{
	const char *script = NULL;
	int rc = stage_airgap(ctx, args, &script, result, e);
	if (rc)
		return rc < 0 ? rc : 0;
	if (pl->config && (rc = write_config(ctx, pl->config, e)) < 0)
		return rc;
	struct buf cmd = BUF_INIT;
	build_script(&cmd, args, probe, pl, script);
	struct conn_result r = {0};
	rc = run_sh(ctx, buf_str(&cmd), pl->token, &r, e);
	buf_release(&cmd);
	if (rc < 0) {
		conn_result_release(&r);
		return rc;
	}
	json_object_set_new(result, "stdout", json_string(buf_str(&r.out)));
	json_object_set_new(result, "stderr", json_string(buf_str(&r.err)));
	if (r.rc != 0) {
		const char *out = r.out.len ? buf_str(&r.out) : buf_str(&r.err);
		size_t n = strlen(out);
		const char *tail = n > 400 ? out + n - 400 : out;
		mod_fail(result,
		         "install.sh failed on %s (rc=%d) while moving to %s; k3s there "
		         "is as install.sh left it: check 'systemctl status' and re-run. "
		         "Last output: %s",
		         ctx->host, r.rc, pl->target, tail);
		json_object_set_new(result, "rc", json_integer(r.rc));
	}
	conn_result_release(&r);
	return 0;
}

static int install_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	struct plan pl = {0};
	char *owned = NULL;
	int rc = 0;
	json_t *probe = NULL, *after = NULL;
	if (!(pl.target = resolve_target(args, result, &owned)))
		goto out;
	if (!(probe = k3s_probe(ctx, ctx->conn, e))) {
		rc = e->code;
		goto out;
	}
	if (plan_checks(ctx, args, probe, &pl, result))
		goto out;
	const char *cur = json_string_value(json_object_get(probe, "version"));
	json_object_set_new(result, "version_before", cur ? json_string(cur) : json_null());
	json_object_set_new(result, "version", json_string(pl.target));
	json_object_set_new(result, "role", json_string(pl.role));
	if (json_object_get(args, "config") && json_is_object(json_object_get(args, "config"))) {
		struct buf y = BUF_INIT;
		yaml_dump(json_object_get(args, "config"), 2, &y);
		pl.config = buf_detach(&y);
	}
	int cfg_changed = pl.config && config_differs(ctx, pl.config, e);
	if (e->code) {
		rc = e->code;
		goto out;
	}
	if (cur && !strcmp(cur, pl.target) && !cfg_changed &&
	    json_is_true(json_object_get(probe, "active"))) {
		json_object_set_new(result, "changed", json_false());
		json_object_set_new(result, "msg",
		                    json_sprintf("k3s %s already at %s", pl.role, pl.target));
		goto out;
	}
	json_object_set_new(result, "changed", json_true());
	json_object_set_new(result, "msg",
	                    cur ? json_sprintf("k3s %s %s -> %s", pl.role, cur, pl.target)
	                        : json_sprintf("k3s %s installed at %s", pl.role, pl.target));
	if (ctx->check)
		goto out;
	if ((rc = plan_join(ctx, args, probe, &pl, result, e)) != 0 ||
	    json_is_true(json_object_get(result, "failed")))
		goto out;
	if ((rc = do_install(ctx, args, probe, &pl, result, e)) < 0 ||
	    json_is_true(json_object_get(result, "failed")))
		goto out;
	const char *unit = !strcmp(pl.role, "agent") ? "k3s-agent" : "k3s";
	int timeout = (int)json_integer_value(json_object_get(args, "wait_timeout"));
	if ((rc = wait_active(ctx, unit, timeout, e)) != 0) {
		if (rc > 0) {
			mod_fail(result, "%s.service on %s is not active %d s after the install",
			         unit, ctx->host, timeout);
			rc = 0;
		}
		goto out;
	}
	if (!(after = k3s_probe(ctx, ctx->conn, e))) {
		rc = e->code;
		goto out;
	}
	const char *now = json_string_value(json_object_get(after, "version"));
	json_object_set_new(result, "version_after", now ? json_string(now) : json_null());
	json_object_set_new(result, "unit", json_sprintf("%s.service", unit));
	if (!now || strcmp(now, pl.target))
		mod_fail(result, "after install.sh, %s runs k3s %s, not %s", ctx->host,
		         now ? now : "(none)", pl.target);
	else if (!json_string_value(json_object_get(after, "role")) ||
	         strcmp(json_string_value(json_object_get(after, "role")), pl.role))
		mod_fail(result, "after install.sh, %s is no longer a k3s %s", ctx->host, pl.role);
out:
	free(owned);
	free(pl.token);
	free(pl.config);
	json_decref(probe);
	json_decref(after);
	return rc;
}

const struct module_def module_k3s_install = {
    .name = "k3s_install",
    .aliases = install_aliases,
    .flags = MOD_CHECK_MODE,
    .args = install_args,
    .summary = "Install or upgrade k3s on a node, keeping its role",
    .description = "Installs k3s at a version (or a channel's version) with k3s's install.sh, or "
                   "upgrades it. On upgrade the node keeps its role and join settings: the script "
                   "gets the node's role, its unit's ExecStart arguments and, for an agent, its "
                   "env file (K3S_URL, K3S_TOKEN) back, so an agent never becomes a server. Fresh "
                   "agents join with server_url and a token (by default read from the first host "
                   "of group k3s_servers). 'config' is written to /etc/rancher/k3s/config.yaml. "
                   "Airgap: airgap_binary and install_script_src are copied from the controller "
                   "and INSTALL_K3S_SKIP_DOWNLOAD is set. Refuses downgrades unless "
                   "allow_downgrade. ok when the version and config already match and the unit is "
                   "active; changed with version_before and version_after; waits for the unit to "
                   "be active.",
    .run = install_run,
};
