/*
 * etcd_snapshot: k3s's `k3s etcd-snapshot` on a server with embedded etcd.
 * With the SQLite datastore k3s has no snapshots; the module says so, or
 * copies state.db when sqlite_copy is set.
 */
#include "modules/k3s.h"
#include "util/buf.h"
#include "util/mem.h"

#include <string.h>

static const char *const snap_aliases[] = {"drover.k3s.etcd_snapshot", NULL};
static const char *const ops[] = {"save", "list", "delete", "prune", NULL};

static const struct module_arg snap_args[] = {
    {"operation", ARG_STR, 0, "\"save\"", ops, 0, "op",
     "save, list, delete (name) or prune (retention)."},
    {"name", ARG_STR, 0, NULL, NULL, 0, NULL,
     "Snapshot name (k3s appends the node name and a timestamp)."},
    {"dir", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "Snapshot directory (k3s default /var/lib/rancher/k3s/server/db/snapshots)."},
    {"retention", ARG_INT, 0, "5", NULL, 0, NULL, "prune: how many snapshots to keep."},
    {"skip_if_exists", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "save: ok without a new snapshot when one with this name exists."},
    {"s3", ARG_DICT, 0, NULL, NULL, 0, NULL,
     "S3 flags passed through: {bucket: b, endpoint: e, ...} -> --s3 --s3-bucket=b ..."},
    {"sqlite_copy", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "On the SQLite datastore, copy state.db to DIR/NAME-TIMESTAMP.db instead of failing."},
    {NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

#define DEFAULT_DIR "/var/lib/rancher/k3s/server/db/snapshots"

static void common_flags(struct buf *c, const json_t *args)
{
	const char *dir = json_string_value(json_object_get(args, "dir"));
	if (dir && *dir) {
		buf_adds(c, " --dir ");
		buf_add_shquote(c, dir);
	}
	const json_t *s3 = json_object_get(args, "s3");
	if (json_object_size(s3)) {
		buf_adds(c, " --s3");
		const char *k;
		json_t *v;
		json_object_foreach ((json_t *)s3, k, v) {
			struct buf flag = BUF_INIT;
			char *val = json_is_string(v) ? xstrdup(json_string_value(v))
			                              : json_dumps(v, JSON_ENCODE_ANY);
			buf_addf(&flag, "--s3-%s=%s", k, val);
			for (char *p = flag.s; *p && *p != '='; p++)
				if (*p == '_')
					*p = '-';
			buf_addc(c, ' ');
			buf_add_shquote(c, buf_str(&flag));
			buf_release(&flag);
			free(val);
		}
	}
}

static int run(struct task_ctx *ctx, const char *cmd, struct conn_result *r, struct err *e)
{
	struct conn_exec_opts o = ctx->exec;
	return conn_exec(ctx->conn, cmd, &o, r, e);
}

/* Snapshots as `k3s etcd-snapshot ls -o json` reports them (a list). */
static json_t *list_snapshots(struct task_ctx *ctx, const json_t *args, json_t *result,
                              struct err *e)
{
	struct buf c = BUF_INIT;
	buf_adds(&c, "/usr/local/bin/k3s etcd-snapshot ls -o json");
	common_flags(&c, args);
	struct conn_result r = {0};
	json_t *out = NULL;
	if (run(ctx, buf_str(&c), &r, e) == 0) {
		json_t *doc = r.rc == 0 ? json_loads(buf_str(&r.out), 0, NULL) : NULL;
		if (json_is_array(doc))
			out = json_incref(doc);
		else if (json_is_array(json_object_get(doc, "items")))
			out = json_incref(json_object_get(doc, "items"));
		else
			mod_fail(result, "k3s etcd-snapshot ls failed (rc=%d): %s", r.rc,
			         r.err.len ? buf_str(&r.err) : buf_str(&r.out));
		json_decref(doc);
	}
	conn_result_release(&r);
	buf_release(&c);
	return out;
}

/* The snapshot's own name (k3s's spec.snapshotName: NAME-NODE-TIMESTAMP);
 * metadata.name adds a location prefix ("local-"). */
static const char *snap_name(const json_t *s)
{
	const char *n =
	    json_string_value(json_object_get(json_object_get(s, "spec"), "snapshotName"));
	if (!n)
		n = json_string_value(json_object_get(s, "name"));
	if (!n)
		n = json_string_value(json_object_get(json_object_get(s, "metadata"), "name"));
	return n ? n : "";
}

static int name_matches(const char *sn, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(sn, name, n) && (sn[n] == '-' || sn[n] == '\0');
}

static size_t count_named(const json_t *list, const char *name)
{
	size_t i, k = 0;
	json_t *s;
	json_array_foreach (list, i, s)
		k += name_matches(snap_name(s), name);
	return k;
}

static int exists_named(const json_t *list, const char *name)
{
	return count_named(list, name) > 0;
}

static int sqlite_copy(struct task_ctx *ctx, const json_t *args, const char *name, json_t *result,
                       struct err *e)
{
	const char *dir = json_string_value(json_object_get(args, "dir"));
	struct buf c = BUF_INIT;
	buf_adds(&c, "set -e; d=");
	buf_add_shquote(&c, dir && *dir ? dir : DEFAULT_DIR);
	buf_adds(&c, "; n=");
	buf_add_shquote(&c, name ? name : "sqlite");
	buf_adds(&c, "; mkdir -p \"$d\"; f=\"$d/$n-$(hostname)-$(date +%s).db\"; "
	             "cp /var/lib/rancher/k3s/server/db/state.db \"$f.tmp\" && mv \"$f.tmp\" "
	             "\"$f\"; echo \"$f\"");
	struct conn_result r = {0};
	int rc = run(ctx, buf_str(&c), &r, e);
	if (rc == 0 && r.rc == 0) {
		json_object_set_new(result, "changed", json_true());
		json_object_set_new(result, "path", json_stringn(r.out.s, strcspn(r.out.s, "\n")));
	} else if (rc == 0) {
		mod_fail(result, "copying state.db failed: %s", buf_str(&r.err));
	}
	conn_result_release(&r);
	buf_release(&c);
	return rc;
}

static int save(struct task_ctx *ctx, const json_t *args, const char *name, json_t *result,
                struct err *e)
{
	if (name && json_is_true(json_object_get(args, "skip_if_exists"))) {
		json_t *list = list_snapshots(ctx, args, result, e);
		if (!list)
			return e->code;
		int have = exists_named(list, name);
		json_decref(list);
		if (have) {
			json_object_set_new(result, "changed", json_false());
			json_object_set_new(result, "msg",
			                    json_sprintf("snapshot %s already exists", name));
			return 0;
		}
	}
	json_object_set_new(result, "changed", json_true());
	if (ctx->check)
		return 0;
	struct buf c = BUF_INIT;
	buf_adds(&c, "/usr/local/bin/k3s etcd-snapshot save");
	if (name) {
		buf_adds(&c, " --name ");
		buf_add_shquote(&c, name);
	}
	common_flags(&c, args);
	buf_adds(&c, " 2>&1");
	struct conn_result r = {0};
	int rc = run(ctx, buf_str(&c), &r, e);
	if (rc == 0) {
		json_object_set_new(result, "stdout", json_string(buf_str(&r.out)));
		if (r.rc != 0)
			mod_fail(result, "k3s etcd-snapshot save failed (rc=%d): %s", r.rc,
			         buf_str(&r.out));
	}
	conn_result_release(&r);
	buf_release(&c);
	return rc;
}

static int delete_or_prune(struct task_ctx *ctx, const json_t *args, const char *op,
                           const char *name, json_t *result, struct err *e)
{
	json_t *list = list_snapshots(ctx, args, result, e);
	if (!list)
		return e->code;
	struct buf c = BUF_INIT;
	int todo = 0;
	buf_addf(&c, "/usr/local/bin/k3s etcd-snapshot %s", op);
	if (!strcmp(op, "delete")) {
		size_t i;
		json_t *s;
		json_array_foreach (list, i, s) {
			const char *sn = snap_name(s);
			if (name_matches(sn, name)) {
				buf_addc(&c, ' ');
				buf_add_shquote(&c, sn);
				todo++;
			}
		}
	} else {
		json_int_t keep = json_integer_value(json_object_get(args, "retention"));
		buf_addf(&c, " --snapshot-retention %lld", (long long)keep);
		if (name) {
			buf_adds(&c, " --name ");
			buf_add_shquote(&c, name);
		}
		/* k3s prunes only the snapshots with this name prefix (its default
		 * name, etcd-snapshot, when none is given) */
		todo = (json_int_t)count_named(list, name ? name : "etcd-snapshot") > keep;
	}
	common_flags(&c, args);
	buf_adds(&c, " 2>&1");
	json_decref(list);
	json_object_set_new(result, "changed", json_boolean(todo));
	int rc = 0;
	if (todo && !ctx->check) {
		struct conn_result r = {0};
		rc = run(ctx, buf_str(&c), &r, e);
		if (rc == 0) {
			json_object_set_new(result, "stdout", json_string(buf_str(&r.out)));
			if (r.rc != 0)
				mod_fail(result, "k3s etcd-snapshot %s failed (rc=%d): %s", op,
				         r.rc, buf_str(&r.out));
		}
		conn_result_release(&r);
	}
	buf_release(&c);
	return rc;
}

static int snap_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *op = json_string_value(json_object_get(args, "operation"));
	const char *name = json_string_value(json_object_get(args, "name"));
	if (name && !*name)
		name = NULL;
	json_t *p = k3s_probe(ctx, ctx->conn, e);
	if (!p)
		return e->code;
	const char *role = json_string_value(json_object_get(p, "role"));
	const char *ds = json_string_value(json_object_get(p, "datastore"));
	int rc = 0;
	json_object_set_new(result, "changed", json_false());
	if (!role || strcmp(role, "server")) {
		mod_fail(result, "%s is not a k3s server: etcd snapshots are taken on servers",
		         ctx->host);
	} else if (ds && strcmp(ds, "etcd")) {
		if (!strcmp(op, "save") && json_is_true(json_object_get(args, "sqlite_copy")) &&
		    !strcmp(ds, "sqlite"))
			rc = ctx->check ? 0 : sqlite_copy(ctx, args, name, result, e);
		else
			mod_fail(result,
			         "%s uses the %s datastore, not embedded etcd: k3s has no "
			         "etcd snapshots there (etcd datastore disabled). For SQLite, "
			         "sqlite_copy: true copies state.db instead.",
			         ctx->host, ds);
	} else if (!strcmp(op, "list")) {
		json_t *list = list_snapshots(ctx, args, result, e);
		if (list) {
			json_t *names = json_array();
			size_t i;
			json_t *it;
			json_array_foreach (list, i, it) {
				json_array_append_new(names, json_string(snap_name(it)));
			}
			json_object_set_new(result, "snapshots", list);
			json_object_set_new(result, "names", names);
		}
		rc = e->code;
	} else if (!strcmp(op, "save")) {
		rc = save(ctx, args, name, result, e);
	} else if (!strcmp(op, "delete") && !name) {
		mod_fail(result, "operation delete needs the snapshot's name");
	} else {
		rc = delete_or_prune(ctx, args, op, name, result, e);
	}
	json_decref(p);
	return rc;
}

const struct module_def module_etcd_snapshot = {
    .name = "etcd_snapshot",
    .aliases = snap_aliases,
    .flags = MOD_CHECK_MODE,
    .args = snap_args,
    .summary = "Take, list, delete and prune k3s etcd snapshots",
    .description = "Runs `k3s etcd-snapshot` on a k3s server with embedded etcd. save takes a "
                   "snapshot (name, dir, S3 flags passed through); with skip_if_exists a re-run "
                   "finds the named snapshot and takes no other. list returns 'snapshots'. delete "
                   "removes the snapshots with that name. prune keeps the newest 'retention'. On a "
                   "server with the SQLite datastore k3s has no etcd snapshots: the module fails "
                   "clearly, or with sqlite_copy copies state.db into the snapshot dir.",
    .run = snap_run,
};
