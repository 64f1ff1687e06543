/*
 * copydir.c - copy with a directory as src: the whole tree in three round
 * trips however many files (stat all, write the ones that differ, fix
 * attributes), not three per file.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "modules/common.h"
#include "util/mem.h"

struct tree {
	json_t *files; /* relative paths */
	json_t *dirs;  /* relative paths, parents first */
};

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *root, const char *rel, struct tree *t)
{
	char *path = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	if (!d) {
		free(path);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		char *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		char *full = xasprintf("%s/%s", root, r);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			json_array_append_new(t->dirs, json_string(r));
			walk(root, r, t);
		} else if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			json_array_append_new(t->files, json_string(r));
		}
		free(full);
		free(r);
		free(names[i]);
	}
	free(names);
	free(path);
}

/* Where the tree goes: "dir/" copies the contents, "dir" the dir itself. */
static char *target_root(const json_t *args, const char *src)
{
	const char *dest = mod_str(args, "dest");
	size_t dl = strlen(dest);
	if (str_endswith(src, "/"))
		return xstrndup(dest, dl > 1 && dest[dl - 1] == '/' ? dl - 1 : dl);
	char *s = xstrdup(src);
	const char *base = strrchr(s, '/') ? strrchr(s, '/') + 1 : s;
	char *r =
	    xasprintf("%.*s/%s", (int)(dl > 1 && dest[dl - 1] == '/' ? dl - 1 : dl), dest, base);
	free(s);
	return r;
}

static int write_changed(struct task_ctx *ctx, const json_t *args, const char *local,
                         const char *root, json_t *todo, json_t *result, struct err *e)
{
	size_t i;
	json_t *f;
	int mode = -1, ret = 0;
	const json_t *m = json_object_get(args, "mode");
	if (m && !json_is_null(m)) {
		struct buf why = BUF_INIT;
		unsigned v;
		if (mod_mode_parse(m, 0644, 0, &v, &why) < 0) {
			mod_fail(result, "%s", buf_str(&why));
			buf_release(&why);
			return 1;
		}
		mode = (int)v;
	}
	json_array_foreach (todo, i, f) {
		char *lp = xasprintf("%s/%s", local, json_string_value(f));
		char *rp = xasprintf("%s/%s", root, json_string_value(f));
		size_t len;
		char *data = read_file(lp, &len);
		if (!data) {
			mod_fail(result, "could not read %s", lp);
			ret = 1;
		} else {
			ret = conn_put(ctx->conn, data, len, rp, mode, &ctx->exec, e);
			if (ret == ERR_IO) {
				mod_fail(result, "%s", e->msg);
				err_init(e);
				ret = 1;
			}
		}
		free(data);
		free(lp);
		free(rp);
		if (ret)
			break;
	}
	return ret;
}

/* The files of t whose copy under root is missing or differs: one round trip. */
static int find_changed(struct task_ctx *ctx, const json_t *args, const char *local,
                        const char *root, const struct tree *t, json_t *todo, struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	size_t i;
	json_t *f;
	int ret = 0;
	json_array_foreach (t->files, i, f) {
		char tag[32], *rp = xasprintf("%s/%s", root, json_string_value(f));
		snprintf(tag, sizeof(tag), "f%zu", i);
		mod_stat_cmd(&cmd, tag, rp, 1);
		free(rp);
	}
	if (cmd.len && (ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	json_array_foreach (t->files, i, f) {
		char tag[32], sum[41];
		struct mod_stat st;
		char *lp = xasprintf("%s/%s", local, json_string_value(f));
		size_t len;
		char *data = read_file(lp, &len);
		snprintf(tag, sizeof(tag), "f%zu", i);
		mod_stat_parse(buf_str(&r.out), tag, &st);
		mod_sha1(data ? data : "", data ? len : 0, sum);
		if (!st.exists || (mod_bool(args, "force") && strcmp(st.sha1, sum)))
			json_array_append(todo, f);
		mod_stat_release(&st);
		free(data);
		free(lp);
	}
out:
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

/* mkdir -p root and every directory of the tree, parents first. */
static int make_dirs(struct task_ctx *ctx, const char *root, const struct tree *t, json_t *result,
                     struct err *e)
{
	struct buf cmd = BUF_INIT;
	size_t i;
	json_t *f;
	buf_adds(&cmd, "mkdir -p -- ");
	buf_add_shquote(&cmd, root);
	json_array_foreach (t->dirs, i, f) {
		char *rp = xasprintf("%s/%s", root, json_string_value(f));
		buf_addc(&cmd, ' ');
		buf_add_shquote(&cmd, rp);
		free(rp);
	}
	int ret = mod_sh_checked(ctx, buf_str(&cmd), result, e);
	buf_release(&cmd);
	return ret;
}

/* owner/group on everything under root, as copy does it per file. */
static int fix_owner(struct task_ctx *ctx, const json_t *args, const char *root, int *changed,
                     struct err *e)
{
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	buf_adds(&cmd, "r=");
	buf_add_shquote(&cmd, root);
	buf_adds(&cmd, "\ns0=$(find \"$r\" -exec stat -c '%U %G' {} + | cksum)\n");
	if (mod_str(args, "owner")) {
		buf_adds(&cmd, "chown -R ");
		buf_add_shquote(&cmd, mod_str(args, "owner"));
		buf_adds(&cmd, " \"$r\" || exit 1\n");
	}
	if (mod_str(args, "group")) {
		buf_adds(&cmd, "chgrp -R ");
		buf_add_shquote(&cmd, mod_str(args, "group"));
		buf_adds(&cmd, " \"$r\" || exit 1\n");
	}
	buf_adds(&cmd, "[ \"$s0\" = \"$(find \"$r\" -exec stat -c '%U %G' {} + | cksum)\" ] || "
	               "echo CHANGED\n");
	int ret = mod_sh(ctx, buf_str(&cmd), &r, e);
	if (ret == 0 && strstr(buf_str(&r.out), "CHANGED"))
		*changed = 1;
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

int mod_copy_dir(struct task_ctx *ctx, const json_t *args, const char *local, json_t *result,
                 struct err *e)
{
	struct tree t = {json_array(), json_array()};
	json_t *todo = json_array();
	char *root = target_root(args, mod_str(args, "src"));
	int ret, changed;
	walk(local, "", &t);
	if ((ret = find_changed(ctx, args, local, root, &t, todo, e)) < 0)
		goto out;
	changed = json_array_size(todo) > 0;
	if (changed && !ctx->check &&
	    ((ret = make_dirs(ctx, root, &t, result, e)) != 0 ||
	     (ret = write_changed(ctx, args, local, root, todo, result, e)) != 0))
		goto out;
	if ((mod_str(args, "owner") || mod_str(args, "group")) && !ctx->check &&
	    (ret = fix_owner(ctx, args, root, &changed, e)) < 0)
		goto out;
	json_object_set_new(result, "dest", json_string(root));
	json_object_set_new(result, "src", json_string(local));
	mod_set_changed(result, changed);
out:
	if (ret > 0)
		ret = 0;
	free(root);
	json_decref(t.files);
	json_decref(t.dirs);
	json_decref(todo);
	return ret;
}
