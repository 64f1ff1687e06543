/*
 * stat.c - stat: facts about a path on the host, in one round trip.
 */
#include <string.h>
#include <sys/stat.h>

#include "modules/common.h"
#include "util/mem.h"

static const char *const algos[] = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512", NULL};

static void add_bool(json_t *o, const char *k, int v)
{
	json_object_set_new(o, k, json_boolean(v));
}

static void add_mime(json_t *o, const char *out)
{
	const char *m = strstr(out, "@ M "), *c = strstr(out, "@ E ");
	json_object_set_new(o, "mimetype",
	                    m ? json_stringn(m + 4, strcspn(m + 4, "\n")) : json_string("unknown"));
	json_object_set_new(o, "charset",
	                    c ? json_stringn(c + 4, strcspn(c + 4, "\n")) : json_string("unknown"));
}

static json_t *stat_json(const char *path, const struct mod_stat *st, const char *out)
{
	json_t *o = json_object();
	char m[8];
	unsigned r = st->raw;
	size_t n;
	add_bool(o, "exists", 1);
	json_object_set_new(o, "path", json_string(path));
	/* stat says "%04o" where the file modules say "0%03o" (Ansible) */
	snprintf(m, sizeof(m), "%04o", st->mode & 07777);
	json_object_set_new(o, "mode", json_string(m));
	add_bool(o, "isdir", S_ISDIR(r));
	add_bool(o, "isreg", S_ISREG(r));
	add_bool(o, "islnk", S_ISLNK(r));
	add_bool(o, "ischr", S_ISCHR(r));
	add_bool(o, "isblk", S_ISBLK(r));
	add_bool(o, "isfifo", S_ISFIFO(r));
	add_bool(o, "issock", S_ISSOCK(r));
	json_object_set_new(o, "uid", json_integer(st->uid));
	json_object_set_new(o, "gid", json_integer(st->gid));
	json_object_set_new(o, "pw_name", json_string(st->owner));
	json_object_set_new(o, "gr_name", json_string(st->group));
	json_object_set_new(o, "size", json_integer(st->size));
	json_object_set_new(o, "inode", json_integer(st->inode));
	json_object_set_new(o, "dev", json_integer(st->dev));
	json_object_set_new(o, "nlink", json_integer(st->nlink));
	json_object_set_new(o, "atime", json_real((double)st->atime));
	json_object_set_new(o, "mtime", json_real((double)st->mtime));
	json_object_set_new(o, "ctime", json_real((double)st->ctime));
	static const struct {
		const char *k;
		unsigned bit;
	} bits[] = {{"rusr", 0400}, {"wusr", 0200},   {"xusr", 0100},  {"rgrp", 040},
	            {"wgrp", 020},  {"xgrp", 010},    {"roth", 04},    {"woth", 02},
	            {"xoth", 01},   {"isuid", 04000}, {"isgid", 02000}};
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		add_bool(o, bits[i].k, (st->mode & bits[i].bit) != 0);
	const char *acc = strstr(out, "@ A ");
	add_bool(o, "readable", acc && acc[4] == 'r');
	add_bool(o, "writeable", acc && acc[5] == 'w');
	add_bool(o, "executable", acc && acc[6] == 'x');
	if (st->link) {
		json_object_set_new(o, "lnk_target", json_string(st->link));
		const char *src = strstr(out, "@ R ");
		if (src) {
			n = strcspn(src + 4, "\n");
			json_object_set_new(o, "lnk_source", json_stringn(src + 4, n));
		}
	}
	const char *sum = strstr(out, "@ H ");
	if (sum && (n = strcspn(sum + 4, " \n")) > 0)
		json_object_set_new(o, "checksum", json_stringn(sum + 4, n));
	return o;
}

static int stat_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *path = mod_str(args, "path");
	const char *algo = mod_str(args, "checksum_algorithm");
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	struct mod_stat st;
	int ret;
	memset(&st, 0, sizeof(st));
	mod_stat_cmd(&cmd, "@", path, 0);
	/* follow: report on what a link points at, as os.stat would; a
	 * dangling link does not exist then */
	if (mod_bool(args, "follow"))
		buf_adds(&cmd,
		         "[ -L \"$p\" ] && if [ -e \"$p\" ]; then printf '@ S '; stat -L -c "
		         "'%f %u %g %s %Y %X %Z %i %d %h %U %G' -- \"$p\"; else echo '@ S -'; "
		         "fi\n");
	buf_adds(&cmd, "if [ -e \"$p\" ] || [ -L \"$p\" ]; then printf '@ A '; "
	               "[ -r \"$p\" ] && printf r || printf -; [ -w \"$p\" ] && printf w || "
	               "printf -; [ -x \"$p\" ] && echo x || echo -; "
	               "[ -L \"$p\" ] && { printf '@ R '; readlink -f -- \"$p\"; }; ");
	/* file(1) when the host has it; Ansible says "unknown" without it */
	if (mod_bool(args, "get_mime"))
		buf_adds(&cmd, "command -v file >/dev/null 2>&1 && { printf '@ M '; file -b "
		               "--mime-type -- \"$p\"; printf '@ E '; file -b --mime-encoding -- "
		               "\"$p\"; }; ");
	if (mod_bool(args, "get_checksum"))
		buf_addf(&cmd,
		         "[ -f \"$p\" ] && [ -r \"$p\" ] && { printf '@ H '; %ssum < \"$p\"; }; ",
		         algo);
	buf_adds(&cmd, "fi; true\n");
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	/* with follow the second S line wins: parse from the last one */
	const char *out = buf_str(&r.out);
	const char *last = strstr(out, "@ S "), *s;
	while (last && (s = strstr(last + 1, "@ S ")))
		last = s;
	if (!last || mod_stat_parse(last, "@", &st) < 0) {
		mod_fail(result, "cannot stat %s: %s", path, buf_str(&r.err));
		goto out;
	}
	if (st.link == NULL && strstr(out, "@ L ")) {
		const char *l = strstr(out, "@ L ") + 4;
		st.link = xstrndup(l, strcspn(l, "\n"));
	}
	mod_set_changed(result, 0);
	if (!st.exists) {
		json_t *o = json_object();
		add_bool(o, "exists", 0);
		json_object_set_new(result, "stat", o);
	} else {
		json_t *o = stat_json(path, &st, out);
		if (mod_bool(args, "get_mime"))
			add_mime(o, out);
		json_object_set_new(result, "stat", o);
	}
out:
	mod_stat_release(&st);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static const struct module_arg stat_args[] = {
    {"path", ARG_PATH, 1, NULL, NULL, 0, "dest,name", "The path to look at."},
    {"follow", ARG_BOOL, 0, "false", NULL, 0, NULL, "Follow a symlink to what it points at."},
    {"get_checksum", ARG_BOOL, 0, "true", NULL, 0, NULL, "Compute the checksum of a regular file."},
    {"checksum_algorithm", ARG_STR, 0, "\"sha1\"", algos, 0, "checksum,checksum_algo",
     "The hash for checksum."},
    {"get_mime", ARG_BOOL, 0, "true", NULL, 0, "mime,mime_type,mime-type",
     "Report mimetype and charset (with file(1) on the host; else unknown)."},
    {"get_attributes", ARG_BOOL, 0, "true", NULL, 0, "attr,attributes",
     "Accepted; drover does not report lsattr attributes."},
    {NULL},
};

static const char *const stat_aliases[] = {"ansible.builtin.stat", "ansible.legacy.stat", NULL};

const struct module_def module_stat = {
    "stat",
    stat_aliases,
    MOD_CHECK_MODE,
    stat_args,
    "Report facts about a file or directory",
    "Returns stat.exists and, for an existing path, its type (isdir, isreg, islnk, ...), "
    "mode as \"0644\", owner and group, size, times, link target and the checksum of a "
    "regular file, all from one shell command.",
    stat_run,
};
