/*
 * slurp.c - slurp: read a file from the host, base64-encoded.
 */
#include <string.h>

#include "modules/common.h"
#include "util/base64.h"

static int slurp_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *src = mod_str(args, "src");
	struct buf data = BUF_INIT, b64 = BUF_INIT;
	struct mod_stat st;
	int ret = mod_read(ctx, src, &st, &data, e);
	if (ret == ERR_IO) {
		mod_fail(result, "%s", e->msg);
		err_init(e);
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	if (!st.exists) {
		mod_fail(result, "file not found: %s", src);
	} else if (st.type == 'd') {
		mod_fail(result, "source is a directory and must be a file: %s", src);
	} else {
		base64_encode(data.s ? data.s : "", data.len, &b64);
		json_object_set_new(result, "content", json_stringn(buf_str(&b64), b64.len));
		json_object_set_new(result, "encoding", json_string("base64"));
		json_object_set_new(result, "source", json_string(src));
		mod_set_changed(result, 0);
	}
out:
	mod_stat_release(&st);
	buf_release(&data);
	buf_release(&b64);
	return ret;
}

static const struct module_arg slurp_args[] = {
    {"src", ARG_PATH, 1, NULL, NULL, 0, "path", "The file on the host to read."},
    {NULL},
};

static const char *const slurp_aliases[] = {"ansible.builtin.slurp", "ansible.legacy.slurp", NULL};

const struct module_def module_slurp = {
    "slurp",
    slurp_aliases,
    MOD_CHECK_MODE,
    slurp_args,
    "Read a file from the host",
    "Returns the file's content base64-encoded (content, encoding: base64, source); "
    "decode it with the b64decode filter.",
    slurp_run,
};
