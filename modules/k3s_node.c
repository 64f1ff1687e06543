/*
 * drain, uncordon, k3s_wait_ready: node operations through `k3s kubectl` on
 * a server (by default the first host of group k3s_servers, reached through
 * its own connection), so they work when the API is only reachable inside
 * the cluster network — the way operators run them by hand.
 */
#include "modules/common.h"
#include "modules/k3s.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const drain_aliases[] = {"drover.k3s.drain", NULL};
static const char *const uncordon_aliases[] = {"drover.k3s.uncordon", NULL};
static const char *const wait_aliases[] = {"drover.k3s.k3s_wait_ready", NULL};
static const char *const methods[] = {"kubectl", "api", NULL};

/* clang-format off */
#define NODE_ARGS \
	{"node", ARG_STR, 0, NULL, NULL, 0, NULL, \
	 "Kubernetes node name. Default: k3s_node_name, else inventory_hostname."}, \
	{"kubectl_host", ARG_STR, 0, NULL, NULL, 0, NULL, \
	 "Inventory host whose `k3s kubectl` is used. Default: first of k3s_servers."}, \
	{"method", ARG_STR, 0, "\"kubectl\"", methods, 0, NULL, \
	 "kubectl: run `k3s kubectl` on kubectl_host; api: Kubernetes REST from the controller."}, \
	{"kubeconfig", ARG_PATH, 0, NULL, NULL, 0, NULL, \
	 "api: kubeconfig on the controller. Default: fetched from kubectl_host."}, \
	{"api_server", ARG_STR, 0, NULL, NULL, 0, NULL, \
	 "api: the API URL to use instead of the kubeconfig's (https://host:6443)."}
/* clang-format on */

static const struct module_arg drain_args[] = {
    NODE_ARGS,
    {"ignore_daemonsets", ARG_BOOL, 0, "true", NULL, 0, NULL,
     "Leave DaemonSet-managed pods (they would come straight back)."},
    {"delete_emptydir_data", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Evict pods with emptyDir volumes (their data is lost)."},
    {"force", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Also delete pods that no controller manages (they are not recreated)."},
    {"grace_period", ARG_INT, 0, "-1", NULL, 0, NULL,
     "Seconds each pod gets to stop; -1: the pod's own setting."},
    {"timeout", ARG_INT, 0, "300", NULL, 0, NULL, "Seconds before the drain gives up."},
    {"pod_selector", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Only evict pods matching this label selector."},
    {"disable_eviction", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Delete pods instead of evicting them: bypasses PodDisruptionBudgets."},
    {NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct module_arg uncordon_args[] = {
    NODE_ARGS,
    {NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct module_arg wait_args[] = {
    NODE_ARGS,
    {"version", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Also wait until the node's kubelet reports this version."},
    {"timeout", ARG_INT, 0, "300", NULL, 0, NULL, "Seconds before giving up."},
    {"delay", ARG_INT, 0, "3", NULL, 0, NULL, "Seconds between checks."},
    {NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *sv(const json_t *v)
{
	const char *s = json_string_value(v);
	return s ? s : "?";
}

static const char *node_name(struct task_ctx *ctx, const json_t *args)
{
	const char *n = json_string_value(json_object_get(args, "node"));
	if (n && *n)
		return n;
	n = json_string_value(json_object_get(ctx->vars, "k3s_node_name"));
	return n && *n ? n : ctx->host;
}

/* The connection kubectl runs on, or NULL with result failed / e set. */
static struct conn *kubectl_conn(struct task_ctx *ctx, const json_t *args, json_t *result,
                                 struct err *e)
{
	const char *h = json_string_value(json_object_get(args, "kubectl_host"));
	if (!h || !*h)
		h = k3s_first_server(ctx);
	if (!h || !strcmp(h, ctx->host) || !ctx->conn_for) {
		if (ctx->conn)
			return ctx->conn;
		mod_fail(result,
		         "no host to run kubectl on: set kubectl_host or group k3s_servers");
		return NULL;
	}
	json_object_set_new(result, "kubectl_host", json_string(h));
	return ctx->conn_for(ctx, h, e);
}

/* `k3s kubectl get node N -o json`, parsed. NULL: result failed or e set. */
static json_t *get_node(struct task_ctx *ctx, struct conn *c, const char *node, json_t *result,
                        struct err *e)
{
	struct buf a = BUF_INIT;
	buf_adds(&a, "get node ");
	buf_add_shquote(&a, node);
	buf_adds(&a, " -o json");
	struct conn_result r = {0};
	json_t *doc = NULL;
	if (k3s_kubectl(ctx, c, buf_str(&a), &r, e) == 0) {
		if (r.rc == 0)
			doc = json_loads(buf_str(&r.out), 0, NULL);
		if (!doc)
			mod_fail(result, "cannot read node %s from the API: %s", node,
			         r.err.len ? buf_str(&r.err) : buf_str(&r.out));
	}
	conn_result_release(&r);
	buf_release(&a);
	return doc;
}

static int node_unschedulable(const json_t *node)
{
	return json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
}

/* Pods on the node that a drain would move: not mirror, not DaemonSet,
 * not finished. Returns a list of "ns/name". */
static json_t *movable_pods(struct task_ctx *ctx, struct conn *c, const char *node, struct err *e)
{
	struct buf a = BUF_INIT;
	buf_adds(&a, "get pods -A -o json --field-selector ");
	struct buf sel = BUF_INIT;
	buf_addf(&sel, "spec.nodeName=%s", node);
	buf_add_shquote(&a, buf_str(&sel));
	buf_release(&sel);
	struct conn_result r = {0};
	json_t *out = NULL;
	if (k3s_kubectl(ctx, c, buf_str(&a), &r, e) == 0 && r.rc == 0) {
		json_t *doc = json_loads(buf_str(&r.out), 0, NULL);
		out = json_array();
		size_t i;
		json_t *p;
		json_array_foreach (json_object_get(doc, "items"), i, p) {
			json_t *md = json_object_get(p, "metadata");
			const char *phase = json_string_value(
			    json_object_get(json_object_get(p, "status"), "phase"));
			if (json_object_get(json_object_get(md, "annotations"),
			                    "kubernetes.io/config.mirror"))
				continue;
			if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
				continue;
			int ds = 0;
			size_t j;
			json_t *o;
			json_array_foreach (json_object_get(md, "ownerReferences"), j, o) {
				const char *k = json_string_value(json_object_get(o, "kind"));
				ds |= k && !strcmp(k, "DaemonSet");
			}
			if (!ds)
				json_array_append_new(
				    out, json_sprintf("%s/%s", sv(json_object_get(md, "namespace")),
				                      sv(json_object_get(md, "name"))));
		}
		json_decref(doc);
	}
	conn_result_release(&r);
	buf_release(&a);
	return out;
}

static void add_flag(struct buf *a, const json_t *args, const char *arg, const char *flag)
{
	if (json_is_true(json_object_get(args, arg)))
		buf_addf(a, " %s", flag);
}

/* Lines of kubectl's output that say why pods would not leave. */
static void explain_failure(const char *out, struct buf *why, json_t *blocked)
{
	char *copy = xstrdup(out), *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *p = strstr(l, "pods/\"");
		if (p) {
			char name[256], ns[256];
			if (sscanf(p, "pods/\"%255[^\"]\" -n \"%255[^\"]\"", name, ns) == 2) {
				const char *reason = strstr(p, "): ");
				json_t *s = json_sprintf("%s/%s", ns, name);
				size_t i;
				json_t *x;
				int dup = 0;
				json_array_foreach (blocked, i, x)
					dup |= json_equal(x, s);
				if (!dup) {
					const char *r = reason ? reason + 3 : l;
					json_array_append(blocked, s);
					buf_addf(why, "%s%s/%s: %.*s", why->len ? "; " : "", ns,
					         name, mod_clause_len(r), r);
				}
				json_decref(s);
			}
		} else if (strstr(l, "cannot delete") ||
		           (strstr(l, "error") && !strstr(l, "evicting") && !why->len)) {
			buf_addf(why, "%s%.*s", why->len ? "; " : "", mod_clause_len(l), l);
		}
	}
	free(copy);
}

/* The kubectl method's start: the connection kubectl runs on and the node
 * object. NULL when result failed or e is set. */
static json_t *kubectl_node(struct task_ctx *ctx, const json_t *args, const char *node,
                            struct conn **c, json_t *result, struct err *e)
{
	if (!(*c = kubectl_conn(ctx, args, result, e)))
		return NULL;
	return get_node(ctx, *c, node, result, e);
}

static int is_api(const json_t *args)
{
	const char *m = json_string_value(json_object_get(args, "method"));
	return m && !strcmp(m, "api");
}

/* The node object through the API client when there is one, else kubectl. */
static json_t *fetch_node(struct task_ctx *ctx, struct conn *c, struct k8s_client *k,
                          const char *node, json_t *result, struct err *e)
{
	return k ? k3s_api_get_node(k, node, result, e) : get_node(ctx, c, node, result, e);
}

static int api_drain_run(struct task_ctx *ctx, const json_t *args, const char *node, json_t *result,
                         struct err *e)
{
	struct k8s_client k;
	int rc = k3s_api_open(ctx, args, &k, result, e);
	if (rc)
		return rc < 0 ? rc : 0;
	rc = k3s_api_drain(ctx, &k, args, node, result, e);
	k8s_client_release(&k);
	return rc;
}

static int api_uncordon_run(struct task_ctx *ctx, const json_t *args, const char *node,
                            json_t *result, struct err *e)
{
	struct k8s_client k;
	int rc = k3s_api_open(ctx, args, &k, result, e);
	if (rc)
		return rc < 0 ? rc : 0;
	json_t *n = k3s_api_get_node(&k, node, result, e);
	if (n) {
		int cordoned = node_unschedulable(n);
		json_object_set_new(result, "changed", json_boolean(cordoned));
		if (cordoned && !ctx->check)
			rc = k3s_api_cordon(&k, node, 0, result, e);
		json_decref(n);
	}
	k8s_client_release(&k);
	return rc < 0 ? rc : 0;
}

static int drain_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *node = node_name(ctx, args);
	json_object_set_new(result, "node", json_string(node));
	if (is_api(args))
		return api_drain_run(ctx, args, node, result, e);
	struct conn *c;
	json_t *n = kubectl_node(ctx, args, node, &c, result, e);
	if (!n)
		return e->code;
	json_t *pods = movable_pods(ctx, c, node, e);
	int cordoned = node_unschedulable(n);
	json_decref(n);
	if (!pods) {
		if (!e->code)
			mod_fail(result, "cannot list the pods on node %s", node);
		return e->code;
	}
	json_object_set(result, "pods", pods);
	if (cordoned && json_array_size(pods) == 0) {
		json_object_set_new(result, "changed", json_false());
		json_object_set_new(result, "msg",
		                    json_sprintf("node %s already cordoned and "
		                                 "drained",
		                                 node));
		json_decref(pods);
		return 0;
	}
	json_decref(pods);
	json_object_set_new(result, "changed", json_true());
	if (ctx->check)
		return 0;
	int timeout = (int)json_integer_value(json_object_get(args, "timeout"));
	struct buf a = BUF_INIT;
	buf_adds(&a, "drain ");
	buf_add_shquote(&a, node);
	add_flag(&a, args, "ignore_daemonsets", "--ignore-daemonsets");
	add_flag(&a, args, "delete_emptydir_data", "--delete-emptydir-data");
	add_flag(&a, args, "force", "--force");
	add_flag(&a, args, "disable_eviction", "--disable-eviction");
	buf_addf(&a, " --grace-period=%d --timeout=%ds",
	         (int)json_integer_value(json_object_get(args, "grace_period")), timeout);
	const char *sel = json_string_value(json_object_get(args, "pod_selector"));
	if (sel && *sel) {
		buf_adds(&a, " --pod-selector=");
		buf_add_shquote(&a, sel);
	}
	buf_adds(&a, " 2>&1");
	struct conn_result r = {0};
	int rc = k3s_kubectl(ctx, c, buf_str(&a), &r, e);
	if (rc == 0) {
		json_object_set_new(result, "stdout", json_string(buf_str(&r.out)));
		json_object_set_new(result, "rc", json_integer(r.rc));
		if (r.rc != 0) {
			struct buf why = BUF_INIT;
			json_t *blocked = json_array();
			explain_failure(buf_str(&r.out), &why, blocked);
			json_object_set_new(result, "blocked_pods", blocked);
			mod_fail(result,
			         "drain of node %s did not finish within %d s; the node stays "
			         "cordoned. %s%s",
			         node, timeout, why.len ? "Pods that would not leave: " : "",
			         why.len ? buf_str(&why) : "See stdout");
			buf_release(&why);
		} else {
			json_object_set_new(result, "msg", json_sprintf("node %s drained", node));
		}
	}
	conn_result_release(&r);
	buf_release(&a);
	return rc;
}

static int uncordon_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *node = node_name(ctx, args);
	json_object_set_new(result, "node", json_string(node));
	if (is_api(args))
		return api_uncordon_run(ctx, args, node, result, e);
	struct conn *c;
	json_t *n = kubectl_node(ctx, args, node, &c, result, e);
	if (!n)
		return e->code;
	int cordoned = node_unschedulable(n);
	json_decref(n);
	json_object_set_new(result, "changed", json_boolean(cordoned));
	if (!cordoned || ctx->check) {
		json_object_set_new(result, "msg",
		                    json_sprintf(cordoned ? "node %s would be "
		                                            "uncordoned"
		                                          : "node %s already "
		                                            "schedulable",
		                                 node));
		return 0;
	}
	struct buf a = BUF_INIT;
	buf_adds(&a, "uncordon ");
	buf_add_shquote(&a, node);
	buf_adds(&a, " 2>&1");
	struct conn_result r = {0};
	int rc = k3s_kubectl(ctx, c, buf_str(&a), &r, e);
	if (rc == 0 && r.rc != 0)
		mod_fail(result, "uncordon of node %s failed: %s", node, buf_str(&r.out));
	else if (rc == 0)
		json_object_set_new(result, "msg", json_sprintf("node %s uncordoned", node));
	conn_result_release(&r);
	buf_release(&a);
	return rc;
}

/* Ready condition status ("True", "False", "Unknown") of a node object. */
static const char *ready_status(const json_t *node)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, "Ready"))
			return json_string_value(json_object_get(c, "status"));
	}
	return "Unknown";
}

static const char *kubelet_version(const json_t *node)
{
	return json_string_value(json_object_get(
	    json_object_get(json_object_get(node, "status"), "nodeInfo"), "kubeletVersion"));
}

static int wait_loop(struct task_ctx *ctx, struct conn *c, struct k8s_client *kp,
                     const json_t *args, json_t *result, struct err *e);

static int wait_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *node = node_name(ctx, args);
	json_object_set_new(result, "node", json_string(node));
	json_object_set_new(result, "changed", json_false());
	struct k8s_client k, *kp = NULL;
	struct conn *c = NULL;
	if (is_api(args)) {
		int rc = k3s_api_open(ctx, args, &k, result, e);
		if (rc)
			return rc < 0 ? rc : 0;
		kp = &k;
	} else if (!(c = kubectl_conn(ctx, args, result, e))) {
		return e->code;
	}
	int rc = wait_loop(ctx, c, kp, args, result, e);
	if (kp)
		k8s_client_release(kp);
	return rc;
}

static int wait_loop(struct task_ctx *ctx, struct conn *c, struct k8s_client *kp,
                     const json_t *args, json_t *result, struct err *e)
{
	const char *node = node_name(ctx, args);
	const char *want = json_string_value(json_object_get(args, "version"));
	int timeout = (int)json_integer_value(json_object_get(args, "timeout"));
	int delay = (int)json_integer_value(json_object_get(args, "delay"));
	time_t start = time(NULL);
	char last[256] = "not seen yet";
	for (;;) {
		json_t *scratch = json_object();
		json_t *n = fetch_node(ctx, c, kp, node, scratch, e);
		json_decref(scratch);
		if (!n && e->code)
			return e->code;
		if (n) {
			const char *rs = ready_status(n), *kv = kubelet_version(n);
			snprintf(last, sizeof(last), "Ready=%s, version %s", rs ? rs : "Unknown",
			         kv ? kv : "unknown");
			int ok = rs && !strcmp(rs, "True") && (!want || (kv && !strcmp(kv, want)));
			if (ok) {
				json_object_set_new(result, "version", json_string(kv ? kv : ""));
				json_object_set_new(result, "elapsed",
				                    json_integer((json_int_t)(time(NULL) - start)));
				json_decref(n);
				return 0;
			}
			json_decref(n);
		}
		if (time(NULL) - start >= timeout)
			break;
		if (ctx->progress)
			ctx->progress(ctx, "waiting for node %s to be Ready%s%s (%s, %ld s)", node,
			              want ? " at " : "", want ? want : "", last,
			              (long)(time(NULL) - start));
		struct timespec ts = {delay > 0 ? delay : 1, 0};
		nanosleep(&ts, NULL);
	}
	mod_fail(result, "node %s was not Ready%s%s within %d s (last seen: %s)", node,
	         want ? " at " : "", want ? want : "", timeout, last);
	return 0;
}

const struct module_def module_drain = {
    .name = "drain",
    .aliases = drain_aliases,
    .flags = MOD_CHECK_MODE,
    .args = drain_args,
    .summary = "Cordon a Kubernetes node and evict its pods",
    .description =
        "Runs `k3s kubectl drain` for the node on a server (kubectl_host, by default the "
        "first host of group k3s_servers, through its own connection). Evictions respect "
        "PodDisruptionBudgets: a blocked pod is retried until the timeout; "
        "disable_eviction deletes pods instead and bypasses them. ok when the node is "
        "already cordoned and has no pods left to move. On failure the node stays "
        "cordoned and the message lists the pods that would not leave and why.",
    .run = drain_run,
};

const struct module_def module_uncordon = {
    .name = "uncordon",
    .aliases = uncordon_aliases,
    .flags = MOD_CHECK_MODE,
    .args = uncordon_args,
    .summary = "Mark a Kubernetes node schedulable again",
    .description = "Runs `k3s kubectl uncordon` on a server when the node is cordoned; ok "
                   "when it is already schedulable.",
    .run = uncordon_run,
};

const struct module_def module_k3s_wait_ready = {
    .name = "k3s_wait_ready",
    .aliases = wait_aliases,
    .flags = MOD_CHECK_MODE,
    .args = wait_args,
    .summary = "Wait until a node is Ready (and at a version)",
    .description = "Polls the node through `k3s kubectl get node` on a server until its Ready "
                   "condition is True and, when 'version' is given, its kubelet reports that "
                   "version. Fails at the timeout with the last state seen. Never changed.",
    .run = wait_run,
};
