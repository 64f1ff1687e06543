/*
 * The `api` method of drain / uncordon / k3s_wait_ready: Kubernetes REST
 * through libcurl, doing what `kubectl drain` does: cordon, list the pods
 * on the node, apply kubectl's filters (mirror pods skipped, DaemonSet pods
 * need ignore_daemonsets, emptyDir needs delete_emptydir_data, unmanaged
 * pods need force, finished pods always go), evict each pod (429 means a
 * PodDisruptionBudget blocks it: retry every 5 s until the timeout), then
 * wait until every evicted pod is gone (404, or a new UID).
 */
#include "modules/common.h"
#include "modules/k3s.h"
#include "modules/k8s_api.h"
#include "util/buf.h"
#include "util/mem.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int k3s_api_open(struct task_ctx *ctx, const json_t *args, struct k8s_client *k, json_t *result,
                 struct err *e)
{
	const char *path = json_string_value(json_object_get(args, "kubeconfig"));
	const char *server = json_string_value(json_object_get(args, "api_server"));
	char *text = NULL;
	const char *name = path;
	if (path && *path) {
		text = read_file(path, NULL);
		if (!text) {
			mod_fail(result, "cannot read kubeconfig %s on the controller", path);
			return 1;
		}
	} else {
		const char *h = json_string_value(json_object_get(args, "kubectl_host"));
		if (!h || !*h)
			h = k3s_first_server(ctx);
		struct conn *c = h && ctx->conn_for && strcmp(h, ctx->host)
		                     ? ctx->conn_for(ctx, h, e)
		                     : ctx->conn;
		if (!c)
			return e->code ? e->code
			               : (mod_fail(result, "no server to read the "
			                                   "kubeconfig from"),
			                  1);
		struct buf b = BUF_INIT;
		struct conn_exec_opts o = ctx->exec;
		if (conn_get(c, "/etc/rancher/k3s/k3s.yaml", &b, &o, e) < 0) {
			buf_release(&b);
			if (e->code == ERR_UNREACH)
				return e->code;
			err_init(e);
			mod_fail(result, "cannot read /etc/rancher/k3s/k3s.yaml from %s",
			         h ? h : ctx->host);
			return 1;
		}
		text = buf_detach(&b);
		name = "/etc/rancher/k3s/k3s.yaml";
	}
	struct err pe;
	err_init(&pe);
	int rc = k8s_client_init(k, text, name, server && *server ? server : NULL, &pe);
	memset(text, 0, strlen(text));
	free(text);
	if (rc) {
		mod_fail(result, "%s", pe.msg);
		return 1;
	}
	k->timeout = 30;
	return 0;
}

static char *escape(const char *s)
{
	char *x = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(x ? x : "");
	curl_free(x);
	return r;
}

json_t *k3s_api_get_node(struct k8s_client *k, const char *node, json_t *result, struct err *e)
{
	char *n = escape(node);
	char *path = xasprintf("/api/v1/nodes/%s", n);
	long st = 0;
	json_t *doc = NULL;
	if (k8s_request(k, "GET", path, NULL, NULL, &st, &doc, e) == 0 && st != 200) {
		mod_fail(result, "cannot read node %s from the API: HTTP %ld %s", node, st,
		         k8s_status_message(doc));
		json_decref(doc);
		doc = NULL;
	}
	free(path);
	free(n);
	return doc;
}

int k3s_api_cordon(struct k8s_client *k, const char *node, int on, json_t *result, struct err *e)
{
	char *n = escape(node);
	char *path = xasprintf("/api/v1/nodes/%s", n);
	json_t *body = json_pack("{s:{s:b}}", "spec", "unschedulable", on);
	long st = 0;
	json_t *doc = NULL;
	int rc = k8s_request(k, "PATCH", path, body, "application/strategic-merge-patch+json", &st,
	                     &doc, e);
	if (rc == 0 && st != 200) {
		mod_fail(result, "cannot %scordon node %s: HTTP %ld %s", on ? "" : "un", node, st,
		         k8s_status_message(doc));
		rc = 1;
	}
	json_decref(doc);
	json_decref(body);
	free(path);
	free(n);
	return rc;
}

/* All pods on the node, following `continue`. */
static json_t *list_pods(struct k8s_client *k, const char *node, const char *selector,
                         json_t *result, struct err *e)
{
	json_t *all = json_array();
	char *cont = NULL;
	char *fs = xasprintf("spec.nodeName=%s", node);
	char *fse = escape(fs);
	char *lse = selector ? escape(selector) : NULL;
	for (;;) {
		char *ce = cont ? escape(cont) : NULL;
		char *path = xasprintf("/api/v1/pods?fieldSelector=%s%s%s&limit=500%s%s", fse,
		                       lse ? "&labelSelector=" : "", lse ? lse : "",
		                       ce ? "&continue=" : "", ce ? ce : "");
		long st = 0;
		json_t *doc = NULL;
		int rc = k8s_request(k, "GET", path, NULL, NULL, &st, &doc, e);
		free(path);
		free(ce);
		free(cont);
		cont = NULL;
		if (rc || st != 200) {
			if (!rc)
				mod_fail(result, "cannot list pods on %s: HTTP %ld %s", node, st,
				         k8s_status_message(doc));
			json_decref(doc);
			json_decref(all);
			all = NULL;
			break;
		}
		json_array_extend(all, json_object_get(doc, "items"));
		const char *c = json_string_value(
		    json_object_get(json_object_get(doc, "metadata"), "continue"));
		if (c && *c)
			cont = xstrdup(c);
		json_decref(doc);
		if (!cont)
			break;
	}
	free(fs);
	free(fse);
	free(lse);
	return all;
}

struct pod {
	char *ns, *name, *uid;
	const char *why;   /* why it cannot be moved, or NULL */
	int skip;          /* mirror / DaemonSet pod left in place */
	int state;         /* 0 to evict, 1 evicted (waiting), 2 gone */
	char blocked[512]; /* last refusal */
};

static const char *pod_problem(const json_t *p, const json_t *args, int *skip)
{
	const json_t *md = json_object_get(p, "metadata");
	const char *phase =
	    json_string_value(json_object_get(json_object_get(p, "status"), "phase"));
	*skip = 0;
	if (json_object_get(json_object_get(md, "annotations"), "kubernetes.io/config.mirror")) {
		*skip = 1;
		return NULL;
	}
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return NULL;
	int controlled = 0, ds = 0;
	size_t i;
	json_t *o;
	json_array_foreach (json_object_get(md, "ownerReferences"), i, o) {
		if (!json_is_true(json_object_get(o, "controller")))
			continue;
		controlled = 1;
		const char *kind = json_string_value(json_object_get(o, "kind"));
		ds |= kind && !strcmp(kind, "DaemonSet");
	}
	if (ds) {
		*skip = json_is_true(json_object_get(args, "ignore_daemonsets"));
		return *skip ? NULL : "DaemonSet-managed (use ignore_daemonsets)";
	}
	json_array_foreach (json_object_get(json_object_get(p, "spec"), "volumes"), i, o) {
		if (json_object_get(o, "emptyDir") &&
		    !json_is_true(json_object_get(args, "delete_emptydir_data")))
			return "has local storage, emptyDir (use delete_emptydir_data)";
	}
	if (!controlled && !json_is_true(json_object_get(args, "force")))
		return "not managed by a controller (use force)";
	return NULL;
}

static struct pod *collect(const json_t *items, const json_t *args, size_t *n)
{
	struct pod *pods = xcalloc(json_array_size(items) + 1, sizeof(*pods));
	size_t i, k = 0;
	json_t *p;
	json_array_foreach (items, i, p) {
		const json_t *md = json_object_get(p, "metadata");
		struct pod *d = &pods[k];
		d->why = pod_problem(p, args, &d->skip);
		if (d->skip)
			continue;
		const char *ns = json_string_value(json_object_get(md, "namespace"));
		const char *nm = json_string_value(json_object_get(md, "name"));
		const char *uid = json_string_value(json_object_get(md, "uid"));
		d->ns = xstrdup(ns ? ns : "default");
		d->name = xstrdup(nm ? nm : "");
		d->uid = xstrdup(uid ? uid : "");
		k++;
	}
	*n = k;
	return pods;
}

static void free_pods(struct pod *pods, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pods[i].ns);
		free(pods[i].name);
		free(pods[i].uid);
	}
	free(pods);
}

/* One eviction (or delete) attempt: 1 evicted, 0 retry later, <0 error. */
static int evict(struct k8s_client *k, struct pod *d, const json_t *args, struct err *e)
{
	char *ns = escape(d->ns), *nm = escape(d->name);
	int disable = json_is_true(json_object_get(args, "disable_eviction"));
	json_int_t grace = json_integer_value(json_object_get(args, "grace_period"));
	json_t *opts = json_object();
	if (grace >= 0)
		json_object_set_new(opts, "gracePeriodSeconds", json_integer(grace));
	json_t *body = NULL;
	char *path;
	if (disable) {
		path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, nm);
		body = json_incref(opts);
	} else {
		path = xasprintf("/api/v1/namespaces/%s/pods/%s/eviction", ns, nm);
		body = json_pack("{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", "policy/v1", "kind",
		                 "Eviction", "metadata", "name", d->name, "namespace", d->ns,
		                 "deleteOptions", opts);
	}
	long st = 0;
	json_t *doc = NULL;
	int rc = k8s_request(k, disable ? "DELETE" : "POST", path, body, NULL, &st, &doc, e);
	if (rc == 0) {
		if (st == 200 || st == 201 || st == 404) {
			rc = 1;
		} else {
			const char *m = k8s_status_message(doc);
			int n = mod_clause_len(m);
			if (st == 429)
				snprintf(d->blocked, sizeof(d->blocked),
				         "blocked by a PodDisruptionBudget (%.*s)", n, m);
			else if (st == 500)
				snprintf(d->blocked, sizeof(d->blocked),
				         "more than one PodDisruptionBudget matches it (%.*s)", n,
				         m);
			else
				snprintf(d->blocked, sizeof(d->blocked), "HTTP %ld: %.*s", st, n,
				         m);
		}
	}
	json_decref(doc);
	json_decref(body);
	json_decref(opts);
	free(path);
	free(ns);
	free(nm);
	return rc;
}

/* 1 when the pod is gone (404 or a new UID), 0 still there. */
static int gone(struct k8s_client *k, const struct pod *d, struct err *e)
{
	char *ns = escape(d->ns), *nm = escape(d->name);
	char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, nm);
	long st = 0;
	json_t *doc = NULL;
	int rc = k8s_request(k, "GET", path, NULL, NULL, &st, &doc, e);
	if (rc == 0) {
		const char *uid =
		    json_string_value(json_object_get(json_object_get(doc, "metadata"), "uid"));
		rc = st == 404 || (st == 200 && uid && strcmp(uid, d->uid));
	}
	json_decref(doc);
	free(path);
	free(ns);
	free(nm);
	return rc;
}

static int pods_waiting_on_pdb(const struct pod *pods, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pods[i].state == 0 && pods[i].blocked[0])
			return 1;
	return 0;
}

static void sleep_s(int s)
{
	struct timespec ts = {s, 0};
	nanosleep(&ts, NULL);
}

/* Evict and wait until all are gone or the deadline passes. */
static int move_pods(struct task_ctx *ctx, struct k8s_client *k, struct pod *pods, size_t n,
                     const json_t *args, time_t deadline, struct err *e)
{
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < n; i++) {
			struct pod *d = &pods[i];
			int rc = 0;
			if (d->state == 0)
				rc = evict(k, d, args, e);
			else if (d->state == 1)
				rc = gone(k, d, e);
			else
				continue;
			if (rc < 0)
				return rc;
			if (rc == 1)
				d->state++;
			if (d->state < 2)
				left++;
			if (d->state == 2 && ctx->progress)
				ctx->progress(ctx, "pod %s/%s left the node", d->ns, d->name);
		}
		if (!left)
			return 0;
		if (time(NULL) >= deadline)
			return 1;
		if (ctx->progress)
			ctx->progress(ctx, "draining: %zu pod(s) still on the node", left);
		sleep_s(pods_waiting_on_pdb(pods, n) ? 5 : 1);
	}
}

static void report(json_t *result, const struct pod *pods, size_t n)
{
	json_t *moved = json_array(), *left = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_sprintf("%s/%s", pods[i].ns, pods[i].name);
		json_array_append_new(pods[i].state == 2 ? moved : left, s);
	}
	json_object_set_new(result, "evicted", moved);
	json_object_set_new(result, "blocked_pods", left);
}

static void why_stuck(const struct pod *pods, size_t n, struct buf *why)
{
	for (size_t i = 0; i < n; i++) {
		const struct pod *d = &pods[i];
		if (d->state == 2)
			continue;
		buf_addf(why, "%s%s/%s: %s", why->len ? "; " : "", d->ns, d->name,
		         d->state == 1   ? "evicted but still terminating"
		         : d->blocked[0] ? d->blocked
		                         : "not evicted");
	}
}

int k3s_api_drain(struct task_ctx *ctx, struct k8s_client *k, const json_t *args, const char *node,
                  json_t *result, struct err *e)
{
	int timeout = (int)json_integer_value(json_object_get(args, "timeout"));
	time_t deadline = time(NULL) + timeout;
	json_t *nd = k3s_api_get_node(k, node, result, e);
	if (!nd)
		return e->code ? e->code : 1;
	int cordoned = json_is_true(json_object_get(json_object_get(nd, "spec"), "unschedulable"));
	json_decref(nd);
	const char *sel = json_string_value(json_object_get(args, "pod_selector"));
	json_t *items = list_pods(k, node, sel && *sel ? sel : NULL, result, e);
	if (!items)
		return e->code ? e->code : 1;
	size_t n;
	struct pod *pods = collect(items, args, &n);
	json_decref(items);
	int rc = 0;
	struct buf why = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (pods[i].why)
			buf_addf(&why, "%s%s/%s: %s", why.len ? "; " : "", pods[i].ns, pods[i].name,
			         pods[i].why);
	json_object_set_new(result, "changed", json_boolean(!cordoned || n));
	if (cordoned && !n) {
		json_object_set_new(result, "msg",
		                    json_sprintf("node %s already cordoned and "
		                                 "drained",
		                                 node));
		goto out;
	}
	if (ctx->check) {
		report(result, pods, n);
		goto out;
	}
	if (!cordoned && (rc = k3s_api_cordon(k, node, 1, result, e)) != 0)
		goto out;
	if (why.len) {
		mod_fail(result, "cannot drain node %s; it stays cordoned. %s", node,
		         buf_str(&why));
		goto out;
	}
	rc = move_pods(ctx, k, pods, n, args, deadline, e);
	report(result, pods, n);
	if (rc == 1) {
		why_stuck(pods, n, &why);
		mod_fail(result,
		         "drain of node %s did not finish within %d s; the node stays cordoned. "
		         "Pods that would not leave: %s",
		         node, timeout, buf_str(&why));
		rc = 0;
	} else if (rc == 0) {
		json_object_set_new(result, "msg", json_sprintf("node %s drained", node));
	}
out:
	buf_release(&why);
	free_pods(pods, n);
	return rc < 0 ? rc : 0;
}
