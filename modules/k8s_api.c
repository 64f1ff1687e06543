#include "modules/k8s_api.h"
#include "util/base64.h"
#include "util/mem.h"
#include "yaml/yaml.h"

#include <curl/curl.h>
#include <string.h>

static const json_t *named(const json_t *list, const char *name)
{
	size_t i;
	json_t *it;
	json_array_foreach (list, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));
		if (!name || (n && !strcmp(n, name)))
			return it;
	}
	return NULL;
}

static int take_data(const json_t *o, const char *key, struct buf *out, char **file)
{
	char k[128];
	snprintf(k, sizeof(k), "%s-data", key);
	const char *d = json_string_value(json_object_get(o, k));
	if (d)
		return base64_decode(d, strlen(d), out);
	const char *f = json_string_value(json_object_get(o, key));
	if (f)
		*file = xstrdup(f);
	return 0;
}

int k8s_client_init(struct k8s_client *k, const char *text, const char *name,
                    const char *server_override, struct err *e)
{
	memset(k, 0, sizeof(*k));
	k->timeout = 30;
	json_t *doc = yaml_load_str(text, strlen(text), NULL, e);
	if (!doc)
		return err_set(e, ERR_PARSE, name, 0, 0, "kubeconfig is not valid YAML");
	const char *cur = json_string_value(json_object_get(doc, "current-context"));
	const json_t *ctx =
	    json_object_get(named(json_object_get(doc, "contexts"), cur), "context");
	const char *cl = json_string_value(json_object_get(ctx, "cluster"));
	const char *us = json_string_value(json_object_get(ctx, "user"));
	const json_t *cluster =
	    json_object_get(named(json_object_get(doc, "clusters"), cl), "cluster");
	const json_t *user = json_object_get(named(json_object_get(doc, "users"), us), "user");
	const char *server = json_string_value(json_object_get(cluster, "server"));
	int rc = 0;
	if (!cluster || !server) {
		rc = err_set(e, ERR_PARSE, name, 0, 0,
		             "kubeconfig names no cluster with a server URL");
		goto out;
	}
	k->server = xstrdup(server_override ? server_override : server);
	size_t n = strlen(k->server);
	while (n && k->server[n - 1] == '/')
		k->server[--n] = '\0';
	if (take_data(cluster, "certificate-authority", &k->ca, &k->ca_file) ||
	    take_data(user, "client-certificate", &k->cert, &k->cert_file) ||
	    take_data(user, "client-key", &k->key, &k->key_file)) {
		rc = err_set(e, ERR_PARSE, name, 0, 0, "kubeconfig holds invalid base64 data");
		goto out;
	}
	const char *tok = json_string_value(json_object_get(user, "token"));
	if (tok)
		k->token = xstrdup(tok);
out:
	json_decref(doc);
	return rc;
}

void k8s_client_release(struct k8s_client *k)
{
	free(k->server);
	buf_release(&k->ca);
	/* the key is a secret: clear it before giving the memory back */
	if (k->key.s)
		memset(k->key.s, 0, k->key.cap);
	buf_release(&k->cert);
	buf_release(&k->key);
	if (k->token)
		memset(k->token, 0, strlen(k->token));
	free(k->token);
	free(k->ca_file);
	free(k->cert_file);
	free(k->key_file);
	memset(k, 0, sizeof(*k));
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	if (b->len + size * n > (64u << 20))
		return 0;
	buf_add(b, p, size * n);
	return size * n;
}

static void set_blob(CURL *h, CURLoption opt, struct buf *b)
{
	struct curl_blob blob = {b->s, b->len, CURL_BLOB_COPY};
	curl_easy_setopt(h, opt, &blob);
}

static void set_auth(CURL *h, struct k8s_client *k, struct curl_slist **hdrs)
{
	if (k->ca.len)
		set_blob(h, CURLOPT_CAINFO_BLOB, &k->ca);
	else if (k->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, k->ca_file);
	if (k->cert.len)
		set_blob(h, CURLOPT_SSLCERT_BLOB, &k->cert);
	else if (k->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, k->cert_file);
	if (k->key.len)
		set_blob(h, CURLOPT_SSLKEY_BLOB, &k->key);
	else if (k->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, k->key_file);
	if (k->token) {
		char *a = xasprintf("Authorization: Bearer %s", k->token);
		*hdrs = curl_slist_append(*hdrs, a);
		memset(a, 0, strlen(a));
		free(a);
	}
}

int k8s_request(struct k8s_client *k, const char *method, const char *path, const json_t *body,
                const char *content_type, long *status, json_t **out, struct err *e)
{
	CURL *h = curl_easy_init();
	if (!h)
		return err_set(e, ERR_INTERNAL, NULL, 0, 0, "cannot start libcurl");
	char errbuf[CURL_ERROR_SIZE] = "";
	struct buf resp = BUF_INIT;
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	char *url = xasprintf("%s%s", k->server, path);
	char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char *ct = xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
	if (payload) {
		hdrs = curl_slist_append(hdrs, ct);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
	}
	set_auth(h, k, &hdrs);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, k->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, k->timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "drover/" DROVER_VERSION);
	CURLcode rc = curl_easy_perform(h);
	int ret = 0;
	*out = NULL;
	if (rc != CURLE_OK) {
		ret = err_set(e, ERR_UNREACH, NULL, 0, 0, "Kubernetes API %s: %s %s: %s", k->server,
		              method, path, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (resp.len)
			*out = json_loadb(resp.s, resp.len, 0, NULL);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	buf_release(&resp);
	free(url);
	free(payload);
	free(ct);
	return ret;
}

const char *k8s_status_message(const json_t *body)
{
	const char *m = json_string_value(json_object_get(body, "message"));
	return m ? m : "";
}
