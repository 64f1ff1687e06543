/*
 * file.c - file: make a path a file, directory, link, hard link, or absent,
 * with mode/owner/group, as Ansible's file module does.
 *
 * One round trip to look, one to act (the action script ends with a fresh
 * stat for the result).
 */
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

static const char *const states[] = {"absent", "directory", "file", "hard", "link", "touch", NULL};

static const char *state_name(const struct mod_stat *st)
{
	if (!st->exists)
		return "absent";
	if (st->type == 'd')
		return "directory";
	if (st->type == 'l')
		return "link";
	return st->nlink > 1 ? "hard" : "file";
}

static void add_q(struct buf *b, const char *pre, const char *arg, const char *post)
{
	buf_adds(b, pre);
	buf_add_shquote(b, arg);
	buf_adds(b, post);
}

/* recurse: change everything below path; the script says whether it did. */
static void recurse_cmd(const json_t *args, const char *path, struct buf *cmd)
{
	const char *owner = mod_str(args, "owner"), *group = mod_str(args, "group");
	const json_t *mode = json_object_get(args, "mode");
	add_q(cmd, "s0=$(find ", path, " -exec stat -c '%a %U %G' {} + | cksum)\n");
	if (owner)
		add_q(cmd, "chown -R ", owner, ""), add_q(cmd, " -- ", path, " || exit 1\n");
	if (group)
		add_q(cmd, "chgrp -R ", group, ""), add_q(cmd, " -- ", path, " || exit 1\n");
	if (mode && json_is_integer(mode))
		buf_addf(cmd, "chmod -R %o", (unsigned)json_integer_value(mode)),
		    add_q(cmd, " -- ", path, " || exit 1\n");
	else if (mode && json_is_string(mode)) {
		const char *m = json_string_value(mode);
		if (m[0] == '0' && (m[1] == 'o' || m[1] == 'O'))
			m += 2;
		add_q(cmd, "chmod -R ", m, ""), add_q(cmd, " -- ", path, " || exit 1\n");
	}
	add_q(cmd, "[ \"$s0\" = \"$(find ", path,
	      " -exec stat -c '%a %U %G' {} + | cksum)\" ] || echo '@ CHANGED'\n");
}

/* state=link or hard: what to run, or a failure (-1). */
static int plan_link(const json_t *args, const char *state, const char *path,
                     const struct mod_stat *st, struct buf *cmd, int *changed, json_t *result)
{
	const char *src = mod_str(args, "src");
	int force = mod_bool(args, "force");
	int hard = state[0] == 'h';
	if (!src) {
		mod_fail(result, "src is required for creating a %s",
		         hard ? "hard link" : "symlink");
		return -1;
	}
	if (!hard && st->type == 'l' && st->link && !strcmp(st->link, src))
		return 0;
	if (st->exists && st->type == 'd' && !hard) {
		mod_fail(result, "refusing to convert from directory to symlink for %s", path);
		return -1;
	}
	if (st->exists && st->type != 'l' && !hard && !force) {
		mod_fail(result, "refusing to convert from %s to symlink for %s", state_name(st),
		         path);
		return -1;
	}
	/* A relative symlink source is relative to the link's directory. */
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	if (hard) {
		add_q(cmd, "if [ ", path, " -ef ");
		add_q(cmd, "", src, " ]; then :; else ln -f -- ");
		add_q(cmd, "", src, " ");
		add_q(cmd, "", path, " && echo '@ CHANGED'; fi &&\n");
	} else {
		if (!force) {
			add_q(cmd, "(cd ", dir, " && [ -e ");
			add_q(cmd, "", src,
			      " ]) || { echo 'src file does not exist, use "
			      "\"force=yes\" if you really want to create the "
			      "link: '");
			add_q(cmd, "", src, " >&2; exit 1; }\n");
		}
		add_q(cmd, "ln -sfn -- ", src, " ");
		add_q(cmd, "", path, " &&\n");
		*changed = 1;
	}
	free(dir);
	return 0;
}

/* The action for state; sets *changed or fails in result (returns -1). */
static int plan(const json_t *args, const char *state, const char *path, struct mod_stat *st,
                struct buf *cmd, int *changed, json_t *result)
{
	if (!strcmp(state, "absent")) {
		if (st->exists) {
			add_q(cmd, "rm -rf -- ", path, " &&\n");
			*changed = 1;
		}
		return 0;
	}
	if (!strcmp(state, "file")) {
		if (!st->exists) {
			mod_fail(result, "file (%s) is absent, cannot continue", path);
			return -1;
		}
		if (st->type == 'd') {
			mod_fail(result, "file (%s) is directory, cannot continue", path);
			return -1;
		}
	} else if (!strcmp(state, "directory")) {
		if (st->exists && st->type != 'd' && !(st->type == 'l' && st->target_isdir)) {
			mod_fail(result, "%s already exists as a %s", path, state_name(st));
			return -1;
		}
		if (!st->exists) {
			add_q(cmd, "mkdir -p -- ", path, " &&\n");
			*changed = 1;
			st->mode = 0755;
			st->type = 'd';
		}
	} else if (!strcmp(state, "touch")) {
		/* modification_time/access_time: preserve make touch idempotent:
		 * an existing file keeps its times and counts as unchanged */
		const char *mt = mod_str(args, "modification_time");
		const char *at = mod_str(args, "access_time");
		int keep = mt && at && !strcmp(mt, "preserve") && !strcmp(at, "preserve");
		if (!st->exists || !keep) {
			add_q(cmd, "touch -- ", path, " &&\n");
			*changed = 1;
		}
		if (!st->exists) {
			st->mode = 0644;
			st->type = 'f';
		}
	} else if (!strcmp(state, "link") || !strcmp(state, "hard")) {
		return plan_link(args, state, path, st, cmd, changed, result);
	}
	if (mod_bool(args, "recurse") && !strcmp(state, "directory")) {
		recurse_cmd(args, path, cmd);
		return 0;
	}
	return mod_attrs_cmd(args, path, st, cmd, changed, result);
}

static void diff_state(json_t *result, const char *path, const char *before, const char *after)
{
	json_t *d = json_object(), *b = json_object(), *a = json_object();
	json_object_set_new(b, "path", json_string(path));
	json_object_set_new(b, "state", json_string(before));
	json_object_set_new(a, "path", json_string(path));
	json_object_set_new(a, "state", json_string(after));
	json_object_set_new(d, "before", b);
	json_object_set_new(d, "after", a);
	json_object_set_new(result, "diff", d);
}

static int file_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *path = mod_str(args, "path");
	const char *state = mod_str(args, "state");
	struct mod_stat st, now;
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	int changed = 0, ret;
	memset(&now, 0, sizeof(now));
	if ((ret = mod_stat(ctx, path, 0, &st, e)) < 0)
		return ret;
	const char *before = state_name(&st);
	if (!state) {
		state = mod_bool(args, "recurse") ? "directory" : st.exists ? before : "file";
		if (!strcmp(state, "hard") || (st.type == 'l' && !mod_str(args, "src")))
			state = st.type == 'l' ? "link" : "file";
	}
	json_object_set_new(result, "path", json_string(path));
	if (plan(args, state, path, &st, &cmd, &changed, result) < 0)
		goto out;
	if (ctx->check || !cmd.len) {
		mod_set_changed(result, changed);
		if (strcmp(state, "absent"))
			mod_result_file(result, &st);
		json_object_set_new(result, "state",
		                    json_string(changed || !st.exists ? state : before));
		goto diff;
	}
	buf_adds(&cmd, "true || exit 1\n");
	mod_stat_cmd(&cmd, "@", path, 0);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	if (r.rc != 0) {
		size_t n = r.err.len;
		while (n && r.err.s[n - 1] == '\n')
			n--;
		mod_fail(result, "%.*s", (int)n, r.err.s ? r.err.s : "");
		goto out;
	}
	if (strstr(buf_str(&r.out), "@ CHANGED"))
		changed = 1;
	mod_stat_parse(buf_str(&r.out), "@", &now);
	mod_set_changed(result, changed);
	mod_result_file(result, &now);
	if (now.exists && !strcmp(state, "hard"))
		json_object_set_new(result, "state", json_string("hard"));
diff:
	if (changed && ctx->diff)
		diff_state(result, path, before, state);
	/* Ansible names the path "dest" for the link and touch states */
	if (!strcmp(state, "link") || !strcmp(state, "hard") || !strcmp(state, "touch")) {
		json_object_set_new(result, "dest", json_string(path));
		json_object_del(result, "path");
	}
	if (mod_str(args, "src") && (!strcmp(state, "link") || !strcmp(state, "hard")))
		json_object_set_new(result, "src", json_string(mod_str(args, "src")));
out:
	mod_stat_release(&st);
	mod_stat_release(&now);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static const struct module_arg file_args[] = {
    {"path", ARG_PATH, 1, NULL, NULL, 0, "dest,name", "The path to manage."},
    {"state", ARG_STR, 0, NULL, states, 0, NULL,
     "What path should be: file (must exist), directory (made with parents), link, "
     "hard, touch, absent. Default: what it is now, or file."},
    MOD_ARG_MODE("Permissions: 0644 (YAML octal), \"0644\", \"644\" or symbolic \"u=rw,g=r,o=r\"."),
    MOD_ARGS_OWNER_GROUP("the path"),
    {"src", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "What a link points at (relative to the link's directory)."},
    {"recurse", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "With state=directory, apply mode/owner/group to everything below."},
    {"force", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Make a link even if src is missing or path is a file."},
    {"follow", ARG_BOOL, 0, "true", NULL, 0, NULL, "Accepted for compatibility."},
    {"modification_time", ARG_STR, 0, NULL, NULL, 0, NULL,
     "With state=touch: preserve keeps the times of an existing file (no change)."},
    {"access_time", ARG_STR, 0, NULL, NULL, 0, NULL,
     "With state=touch: preserve keeps the times of an existing file (no change)."},
    MOD_ARG_ATTRIBUTES,
    {NULL},
};

static const char *const file_aliases[] = {"ansible.builtin.file", "ansible.legacy.file", NULL};

const struct module_def module_file = {
    "file",
    file_aliases,
    MOD_CHECK_MODE | MOD_DIFF,
    file_args,
    "Manage files, directories, links and their attributes",
    "Makes path a file, directory, symlink or hard link, or removes it, and sets its "
    "mode, owner and group. Idempotent; supports check and diff mode.",
    file_run,
};
