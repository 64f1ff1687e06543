/*
 * copy.c - copy: put a controller file or inline content on the host.
 *
 * Idempotency is by sha1 on both sides (the remote one from the same round
 * trip that stats dest); the write goes through conn_put, which writes a
 * temp file beside dest and renames it, so readers never see half a file.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "modules/common.h"
#include "util/mem.h"

#define DIFF_MAX (100 * 1024) /* Ansible's max_file_size_for_diff default is 104448 */

static int is_text(const char *s, size_t n)
{
	return memchr(s, '\0', n) == NULL;
}

/* Backup name as Ansible makes it: dest.PID.YYYY-MM-DD@HH:MM:SS~ */
static char *backup_name(const char *dest)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d@%H:%M:%S", &tm);
	return xasprintf("%s.%d.%s~", dest, (int)getpid(), ts);
}

static int want_mode(const json_t *args, const struct mod_stat *st, int *mode, json_t *result)
{
	const json_t *m = json_object_get(args, "mode");
	struct buf why = BUF_INIT;
	unsigned v;
	*mode = -1;
	if (!m || json_is_null(m) ||
	    (json_is_string(m) && !strcmp(json_string_value(m), "preserve")))
		return 0;
	if (mod_mode_parse(m, st->exists ? st->mode : 0644, 0, &v, &why) < 0) {
		mod_fail(result, "%s", buf_str(&why));
		buf_release(&why);
		return -1;
	}
	*mode = (int)v;
	return 0;
}

/* Write through a temp file so validate sees the new content first. */
int mod_put_validated(struct task_ctx *ctx, const json_t *args, const char *data, size_t len,
                      const char *dest, int mode, json_t *result, struct err *e)
{
	const char *validate = mod_str(args, "validate");
	char *tmp = xasprintf("%s.drover-validate", dest);
	struct buf cmd = BUF_INIT;
	int ret = conn_put(ctx->conn, data, len, tmp, mode < 0 ? 0600 : mode, &ctx->exec, e);
	if (ret < 0)
		goto out;
	const char *pct = strstr(validate, "%s");
	if (!pct) {
		mod_fail(result, "validate must contain %%s: %s", validate);
		buf_adds(&cmd, "rm -f -- ");
		buf_add_shquote(&cmd, tmp);
		json_t *ignored = json_object();
		ret = mod_sh_checked(ctx, buf_str(&cmd), ignored, e);
		json_decref(ignored);
		if (ret >= 0)
			ret = 1;
		goto out;
	}
	buf_add(&cmd, validate, (size_t)(pct - validate));
	buf_add_shquote(&cmd, tmp);
	buf_adds(&cmd, pct + 2);
	buf_adds(&cmd, " 1>&2 || { rc=$?; rm -f -- ");
	buf_add_shquote(&cmd, tmp);
	buf_adds(&cmd, "; exit $rc; }\n");
	if (mode < 0) {
		buf_adds(&cmd, "[ -e ");
		buf_add_shquote(&cmd, dest);
		buf_adds(&cmd, " ] && chmod \"$(stat -c %a -- ");
		buf_add_shquote(&cmd, dest);
		buf_adds(&cmd, ")\" ");
		buf_add_shquote(&cmd, tmp);
		buf_adds(&cmd, "; [ -e ");
		buf_add_shquote(&cmd, dest);
		buf_adds(&cmd, " ] || chmod 0644 ");
		buf_add_shquote(&cmd, tmp);
		buf_adds(&cmd, "\n");
	}
	buf_adds(&cmd, "mv -f -- ");
	buf_add_shquote(&cmd, tmp);
	buf_addc(&cmd, ' ');
	buf_add_shquote(&cmd, dest);
	if ((ret = mod_sh_checked(ctx, buf_str(&cmd), result, e)) == 1) {
		json_object_set_new(
		    result, "msg",
		    json_sprintf("failed to validate: %s",
		                 json_string_value(json_object_get(result, "msg"))));
		ret = 1;
	}
out:
	free(tmp);
	buf_release(&cmd);
	return ret;
}

static void set_diff(struct task_ctx *ctx, json_t *result, const struct mod_stat *st,
                     const char *dest, const char *data, size_t len, const char *label,
                     struct err *e)
{
	struct buf old = BUF_INIT;
	if (!is_text(data, len) || len > DIFF_MAX || st->size > DIFF_MAX)
		return;
	if (st->exists && st->type == 'f') {
		struct err ge;
		err_init(&ge);
		if (conn_get(ctx->conn, dest, &old, &ctx->exec, &ge) < 0)
			goto out;
	}
	json_t *d = json_object();
	json_object_set_new(d, "before", json_stringn(buf_str(&old), old.len));
	json_object_set_new(d, "after", json_stringn(data, len));
	json_object_set_new(d, "before_header", json_string(dest));
	json_object_set_new(d, "after_header", json_string(label));
	json_object_set_new(result, "diff", d);
out:
	(void)e;
	buf_release(&old);
}

/* Stat dest and, when base is given, dest/base, in one round trip. */
static int look(struct task_ctx *ctx, const char *dest, const char *base, struct mod_stat *a,
                struct mod_stat *b, struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	char *inner = base ? xasprintf("%s/%s", dest, base) : NULL;
	int ret;
	memset(b, 0, sizeof(*b));
	mod_stat_cmd(&cmd, "a", dest, 1);
	if (inner)
		mod_stat_cmd(&cmd, "b", inner, 1);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) == 0 &&
	    (mod_stat_parse(buf_str(&r.out), "a", a) < 0 ||
	     (inner && mod_stat_parse(buf_str(&r.out), "b", b) < 0)))
		ret = err_set(e, ERR_GENERIC, NULL, 0, 0, "cannot stat %s: %s", dest,
		              buf_str(&r.err));
	free(inner);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static int write_file(struct task_ctx *ctx, const json_t *args, const char *data, size_t len,
                      const char *dest, const struct mod_stat *st, json_t *result, struct err *e)
{
	int mode, ret = 0;
	if (want_mode(args, st, &mode, result) < 0)
		return 1;
	if (st->exists && mod_bool(args, "backup")) {
		char *bk = backup_name(dest);
		struct buf cmd = BUF_INIT;
		buf_adds(&cmd, "cp -p -- ");
		buf_add_shquote(&cmd, dest);
		buf_addc(&cmd, ' ');
		buf_add_shquote(&cmd, bk);
		ret = mod_sh_checked(ctx, buf_str(&cmd), result, e);
		if (!ret)
			json_object_set_new(result, "backup_file", json_string(bk));
		free(bk);
		buf_release(&cmd);
		if (ret)
			return ret;
	}
	if (mod_str(args, "validate"))
		return mod_put_validated(ctx, args, data, len, dest, mode, result, e);
	ret = conn_put(ctx->conn, data, len, dest, mode, &ctx->exec, e);
	if (ret == ERR_IO) {
		/* the host answered but refused the write: a task failure */
		mod_fail(result, "%s", e->msg);
		err_init(e);
		return 1;
	}
	return ret;
}

/* After the write: owner/group (and a mode on an unchanged file), then the
 * file's state for the result, in one round trip. */
static int finish(struct task_ctx *ctx, const json_t *args, const char *dest,
                  const struct mod_stat *st, int differ, int changed, json_t *result, struct err *e)
{
	struct mod_stat cur = *st, now;
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	int ret = 0, m;
	memset(&now, 0, sizeof(now));
	cur.link = NULL;
	if (differ) {
		cur.exists = 1;
		cur.type = 'f';
		if (!st->exists)
			cur.mode = 0644;
		if (want_mode(args, st, &m, result) == 0 && m >= 0)
			cur.mode = (unsigned)m;
	}
	if (mod_attrs_cmd(args, dest, &cur, &cmd, &changed, result) < 0)
		goto out;
	if (ctx->check) {
		mod_set_changed(result, changed);
		mod_result_file(result, st->exists ? st : &cur);
		json_object_set_new(result, "state", json_string("file"));
		goto out;
	}
	buf_adds(&cmd, "true || exit 1\n");
	mod_stat_cmd(&cmd, "@", dest, 0);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	if (r.rc != 0) {
		mod_fail(result, "%s", buf_str(&r.err));
		goto out;
	}
	mod_stat_parse(buf_str(&r.out), "@", &now);
	mod_result_file(result, &now);
	mod_set_changed(result, changed);
out:
	mod_stat_release(&now);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static int make_dir(struct task_ctx *ctx, const char *dir, json_t *result, struct err *e)
{
	struct buf cmd = BUF_INIT;
	buf_adds(&cmd, "mkdir -p -- ");
	buf_add_shquote(&cmd, dir);
	int ret = mod_sh_checked(ctx, buf_str(&cmd), result, e);
	buf_release(&cmd);
	return ret;
}

/* dest itself, or dest/base when dest is a directory; NULL after a failure. */
static char *final_dest(const char *dest0, const char *base, const struct mod_stat *a, int *inner,
                        json_t *result)
{
	size_t dl = strlen(dest0);
	int slash = dl && dest0[dl - 1] == '/';
	*inner = 0;
	if (!slash && !(a->exists && (a->type == 'd' || a->target_isdir)))
		return xstrdup(dest0);
	if (!base) {
		mod_fail(result, "can not use content with a dir as dest");
		return NULL;
	}
	*inner = 1;
	return xasprintf("%.*s/%s", (int)(slash ? dl - 1 : dl), dest0, base);
}

int mod_copy_data(struct task_ctx *ctx, const json_t *args, const char *data, size_t len,
                  const char *base, const char *src_label, json_t *result, struct err *e)
{
	struct mod_stat a, b, *st = &a;
	char *dest = NULL, sum[41];
	int ret, inner, differ;
	if ((ret = look(ctx, mod_str(args, "dest"), base, &a, &b, e)) < 0)
		return ret;
	if (!(dest = final_dest(mod_str(args, "dest"), base, &a, &inner, result)))
		goto out;
	st = inner ? &b : &a;
	mod_sha1(data, len, sum);
	json_object_set_new(result, "dest", json_string(dest));
	json_object_set_new(result, "checksum", json_string(sum));
	char md5[33];
	mod_md5(data, len, md5);
	json_object_set_new(result, "md5sum", json_string(md5));
	if (src_label)
		json_object_set_new(result, "src", json_string(src_label));
	if (st->exists && st->type == 'd') {
		mod_fail(result, "%s is a directory", dest);
		goto out;
	}
	differ = !st->exists || (strcmp(st->sha1, sum) && mod_bool(args, "force"));
	if (differ && ctx->diff)
		set_diff(ctx, result, st, dest, data, len,
		         src_label ? src_label : "dynamically generated", e);
	/* "dest/" that does not exist yet is made, as Ansible's copy does */
	if (differ && !ctx->check && inner && !a.exists &&
	    (ret = make_dir(ctx, mod_str(args, "dest"), result, e)) != 0)
		goto out;
	if (differ && !ctx->check &&
	    (ret = write_file(ctx, args, data, len, dest, st, result, e)) != 0)
		goto out;
	ret = finish(ctx, args, dest, st, differ, differ, result, e);
out:
	if (ret > 0)
		ret = 0;
	free(dest);
	mod_stat_release(&a);
	mod_stat_release(&b);
	return ret;
}

/* mode: preserve is the source's own mode (Ansible): args with that mode
 * as a number, or a new reference to args when mode is something else. */
static json_t *with_src_mode(const json_t *args, unsigned mode)
{
	const char *m = mod_str(args, "mode");
	if (!m || strcmp(m, "preserve"))
		return json_incref((json_t *)args);
	json_t *a = json_deep_copy(args);
	json_object_set_new(a, "mode", json_integer(mode & 07777));
	return a;
}

static int copy_remote_src(struct task_ctx *ctx, const json_t *args0, json_t *result, struct err *e)
{
	struct buf data = BUF_INIT;
	const char *src = mod_str(args0, "src");
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	struct mod_stat st = {0};
	json_t *args = NULL;
	struct err ge;
	err_init(&ge);
	if (mod_str(args0, "mode") && !strcmp(mod_str(args0, "mode"), "preserve") &&
	    mod_stat(ctx, src, 0, &st, e) < 0)
		return e->code;
	args = with_src_mode(args0, st.mode);
	/* Through the controller: simple and correct for the config-file sizes
	 * copy is used for; big artefacts belong to get_url or unarchive. */
	int ret = conn_get(ctx->conn, src, &data, &ctx->exec, &ge);
	if (ret == ERR_IO) {
		mod_fail(result, "Source %s not found", src);
		ret = 0;
	} else if (ret < 0) {
		err_set(e, ge.code, NULL, 0, 0, "%s", ge.msg);
	} else {
		ret =
		    mod_copy_data(ctx, args, data.s ? data.s : "", data.len, base, src, result, e);
	}
	buf_release(&data);
	mod_stat_release(&st);
	json_decref(args);
	return ret;
}

static int copy_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *src = mod_str(args, "src");
	const json_t *content = json_object_get(args, "content");
	char *path = NULL, *data = NULL;
	size_t len = 0;
	int ret = 0;
	if (!!src == !!content) {
		mod_fail(result, src ? "src and content are mutually exclusive"
		                     : "one of the following is required: src, content");
		return 0;
	}
	if (content) {
		char *text = json_is_string(content) ? xstrdup(json_string_value(content))
		                                     : json_dumps(content, JSON_ENCODE_ANY);
		ret = mod_copy_data(ctx, args, text, strlen(text), NULL, NULL, result, e);
		free(text);
		return ret;
	}
	if (mod_bool(args, "remote_src"))
		return copy_remote_src(ctx, args, result, e);
	struct stat sb;
	if (!(path = mod_find_src(ctx, src, "files")) || stat(path, &sb) < 0) {
		mod_fail(result, "Could not find or access '%s' on the Ansible Controller.", src);
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		ret = mod_copy_dir(ctx, args, path, result, e);
		goto out;
	}
	if (!(data = read_file(path, &len))) {
		mod_fail(result, "could not read %s", path);
		goto out;
	}
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	json_t *a = with_src_mode(args, sb.st_mode);
	ret = mod_copy_data(ctx, a, data, len, base, path, result, e);
	json_decref(a);
out:
	free(path);
	free(data);
	return ret;
}

static const struct module_arg copy_args[] = {
    {"src", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "A controller file (looked up in the role's files/, then files/ beside the playbook), "
     "or a host path with remote_src."},
    {"content", ARG_RAW, 0, NULL, NULL, 1, NULL, "The text to write instead of src."},
    {"dest", ARG_PATH, 1, NULL, NULL, 0, NULL,
     "Where to write; a directory (or a path ending in /) gets src's file name."},
    MOD_ARG_MODE("Permissions: 0644 (YAML octal), \"0644\", \"u=rw,g=r,o=r\" or preserve."),
    MOD_ARGS_OWNER_GROUP("dest"),
    MOD_ARG_BACKUP("Keep the old file as dest.PID.DATE~ before replacing it."),
    {"force", ARG_BOOL, 0, "true", NULL, 0, "thirsty",
     "Replace dest when its content differs; false writes only when it is missing."},
    MOD_ARG_VALIDATE(
        "A command run on the new file (%s) before it replaces dest, e.g. visudo -cf %s."),
    {"remote_src", ARG_BOOL, 0, "false", NULL, 0, NULL, "src is a path on the host."},
    {"checksum", ARG_STR, 0, NULL, NULL, 0, NULL, "Accepted; the sha1 is always computed."},
    {"directory_mode", ARG_MODE, 0, NULL, NULL, 0, NULL, "Accepted; not applied."},
    {"follow", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted for compatibility."},
    {"local_follow", ARG_BOOL, 0, "true", NULL, 0, NULL, "Accepted for compatibility."},
    MOD_ARG_UNSAFE_WRITES("Accepted; writes are always atomic."),
    {"decrypt", ARG_BOOL, 0, "true", NULL, 0, NULL, "Accepted; vault is not supported."},
    MOD_ARG_ATTRIBUTES,
    {NULL},
};

static const char *const copy_aliases[] = {"ansible.builtin.copy", "ansible.legacy.copy", NULL};

const struct module_def module_copy = {
    "copy",
    copy_aliases,
    MOD_CHECK_MODE | MOD_DIFF,
    copy_args,
    "Copy a file or inline content to the host",
    "Writes src (a controller file) or content to dest when the sha1 differs, "
    "atomically (temp file beside dest, then rename), then sets mode, owner and group. "
    "Supports backup, validate, force, check and diff mode.",
    copy_run,
};
