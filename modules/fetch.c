/*
 * fetch.c - fetch: copy a file from the host to the controller.
 *
 * Without flat, dest/HOST/SRC keeps files of many hosts apart, as in
 * Ansible. The remote file is read with its stat in one round trip and its
 * sha1 compared with the local copy's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modules/common.h"
#include "util/mem.h"

/* mkdir -p for the directory part of path. */
static int make_parents(const char *path)
{
	char *p = xstrdup(path);
	int ret = 0;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			ret = -1;
		*s = '/';
	}
	free(p);
	return ret;
}

static char *local_dest(const struct task_ctx *ctx, const json_t *args)
{
	const char *src = mod_str(args, "src"), *dest = mod_str(args, "dest");
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	if (mod_bool(args, "flat"))
		return str_endswith(dest, "/") ? xasprintf("%s%s", dest, base) : xstrdup(dest);
	return xasprintf("%s%s%s%s%s", dest, str_endswith(dest, "/") ? "" : "/", ctx->host,
	                 src[0] == '/' ? "" : "/", src);
}

static int fetch_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *src = mod_str(args, "src");
	struct buf data = BUF_INIT;
	struct mod_stat st;
	char *dest = local_dest(ctx, args), *old = NULL, sum[41], oldsum[41] = "";
	size_t oldlen = 0;
	int ret = mod_read(ctx, src, &st, &data, e);
	if (ret == ERR_IO) {
		mod_fail(result, "%s", e->msg);
		err_init(e);
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	json_object_set_new(result, "file", json_string(src));
	json_object_set_new(result, "dest", json_string(dest));
	mod_set_changed(result, 0);
	if (!st.exists || st.type == 'd') {
		const char *why = st.exists ? "remote file is a directory, fetch cannot work on "
		                              "directories"
		                            : "the remote file does not exist, not transferring, "
		                              "ignored";
		if (mod_bool(args, "fail_on_missing") || st.exists)
			mod_fail(result, "%s", why);
		else
			json_object_set_new(result, "msg", json_string(why));
		goto out;
	}
	mod_sha1(data.s ? data.s : "", data.len, sum);
	json_object_set_new(result, "checksum", json_string(sum));
	json_object_set_new(result, "remote_checksum", json_string(sum));
	char md5[33];
	mod_md5(data.s ? data.s : "", data.len, md5);
	json_object_set_new(result, "md5sum", json_string(md5));
	if ((old = read_file(dest, &oldlen)))
		mod_sha1(old, oldlen, oldsum);
	if (!strcmp(sum, oldsum))
		goto out;
	mod_set_changed(result, 1);
	if (ctx->check)
		goto out;
	char *tmp = xasprintf("%s.drover-tmp", dest);
	FILE *f = NULL;
	if (make_parents(dest) < 0 || !(f = fopen(tmp, "wb")) ||
	    fwrite(data.s ? data.s : "", 1, data.len, f) != data.len || fclose(f) != 0 ||
	    rename(tmp, dest) < 0) {
		char why[256];
		mod_fail(result, "cannot write %s on the controller: %s", dest,
		         strerror_r(errno, why, sizeof(why)));
		unlink(tmp);
	}
	free(tmp);
out:
	free(dest);
	free(old);
	mod_stat_release(&st);
	buf_release(&data);
	return ret;
}

static const struct module_arg fetch_args[] = {
    {"src", ARG_STR, 1, NULL, NULL, 0, NULL, "The file on the host."},
    {"dest", ARG_STR, 1, NULL, NULL, 0, NULL,
     "A directory on the controller; the file lands in dest/HOST/SRC unless flat."},
    {"flat", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Write to dest itself (or dest/BASENAME when dest ends in /)."},
    {"fail_on_missing", ARG_BOOL, 0, "true", NULL, 0, NULL, "Fail when src does not exist."},
    {"validate_checksum", ARG_BOOL, 0, "true", NULL, 0, NULL,
     "Accepted; the sha1 is always checked."},
    {NULL},
};

static const char *const fetch_aliases[] = {"ansible.builtin.fetch", "ansible.legacy.fetch", NULL};

const struct module_def module_fetch = {
    "fetch",
    fetch_aliases,
    MOD_CHECK_MODE,
    fetch_args,
    "Copy a file from the host to the controller",
    "Reads src on the host and writes it under dest on the controller "
    "(dest/HOST/SRC, or dest itself with flat), only when the sha1 differs.",
    fetch_run,
};
