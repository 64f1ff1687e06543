/*
 * k3s.h - what the k3s lifecycle modules share: k3s version strings, the
 * state of k3s on a node (read in one shell round trip), and running
 * `k3s kubectl` on a server.
 *
 * Versions are k3s release tags: v1.31.4+k3s1 (major, minor, patch, k3s
 * revision). A release candidate (v1.31.4-rc1+k3s1) sorts before its
 * release.
 */
#ifndef DROVER_K3S_H
#define DROVER_K3S_H

#include <jansson.h>

#include "modules/k8s_api.h"
#include "modules/module.h"
#include "util/buf.h"

struct k3s_version {
	int major, minor, patch, rev; /* rev: the k3sN suffix */
	int rc;                       /* 0 for a release, N for -rcN */
};

/* 0, or -1 when s is not a k3s version ("v" is optional on input). */
int k3s_version_parse(const char *s, struct k3s_version *v);
/* <0, 0, >0 as a is older, the same, newer than b. */
int k3s_version_cmp(const struct k3s_version *a, const struct k3s_version *b);

/*
 * What is installed on the node behind ctx->conn: a JSON object
 * {installed, version, role (server|agent|null), unit, active, enabled,
 *  datastore (etcd|sqlite|external|null), server_url, node_name,
 *  exec_args, env_file}. New reference, or NULL with e set (unreachable).
 */
json_t *k3s_probe(struct task_ctx *ctx, struct conn *conn, struct err *e);

/* Run `k3s kubectl ARGS` (args already shell-quoted) on conn. */
int k3s_kubectl(struct task_ctx *ctx, struct conn *conn, const char *args, struct conn_result *r,
                struct err *e);

/* The version a release channel points at (see k3s_release). New string,
 * or NULL with the reasons appended to why. */
char *k3s_channel_version(const char *channel_url, const char *channel, long timeout,
                          const char *ca, struct buf *why, const char **source);

/* The first host of group k3s_servers in ctx->vars' `groups`, or NULL. */
const char *k3s_first_server(const struct task_ctx *ctx);

/* The api method (k3s_drain_api.c). Functions returning int give 0, 1 when
 * result was failed, or a negative error code with e set. */
int k3s_api_open(struct task_ctx *ctx, const json_t *args, struct k8s_client *k, json_t *result,
                 struct err *e);
json_t *k3s_api_get_node(struct k8s_client *k, const char *node, json_t *result, struct err *e);
int k3s_api_cordon(struct k8s_client *k, const char *node, int on, json_t *result, struct err *e);
int k3s_api_drain(struct task_ctx *ctx, struct k8s_client *k, const json_t *args, const char *node,
                  json_t *result, struct err *e);

#endif
