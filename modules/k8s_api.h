/*
 * k8s_api.h - a small Kubernetes REST client over libcurl, authenticated
 * from a kubeconfig (cluster CA and client certificate/key, usually
 * embedded as base64 *-data fields, or a bearer token). Used by the `api`
 * method of drain, uncordon and k3s_wait_ready.
 *
 * A kubeconfig is read from a controller path or fetched from a k3s server
 * (/etc/rancher/k3s/k3s.yaml, whose server is https://127.0.0.1:6443: the
 * caller gives the address to use instead). Secrets stay in memory.
 */
#ifndef DROVER_K8S_API_H
#define DROVER_K8S_API_H

#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"

struct k8s_client {
	char *server; /* https://host:port, no trailing slash */
	struct buf ca, cert, key;
	char *token;
	char *ca_file, *cert_file, *key_file; /* when the kubeconfig names files */
	long timeout;                         /* per request, seconds */
};

/* Parse kubeconfig text (current-context, else the first entries).
 * server_override replaces the cluster's server URL when not NULL. */
int k8s_client_init(struct k8s_client *k, const char *kubeconfig, const char *name,
                    const char *server_override, struct err *e);
void k8s_client_release(struct k8s_client *k);

/* One request. *status is the HTTP status; *out the parsed JSON body (new
 * reference, or NULL when the body is not JSON). Transport failures are
 * ERR_UNREACH with libcurl's reason. */
int k8s_request(struct k8s_client *k, const char *method, const char *path, const json_t *body,
                const char *content_type, long *status, json_t **out, struct err *e);

/* The "message" of a Kubernetes Status body, or "" */
const char *k8s_status_message(const json_t *body);

#endif
