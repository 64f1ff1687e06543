/*
 * user.c - user and group: local accounts through useradd/usermod/userdel
 * and groupadd/groupmod/groupdel.
 *
 * One round trip reads the account (getent, id), one more changes what
 * differs.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/common.h"
#include "util/mem.h"

static const char *const states[] = {"present", "absent", NULL};

static void opt(struct buf *b, const char *flag, const char *val)
{
	buf_addf(b, " %s ", flag);
	buf_add_shquote(b, val);
}

/* field n (0-based) of a ':'-separated line, into out. */
static void colon_field(const char *line, int n, char *out, size_t size)
{
	const char *p = line;
	for (int i = 0; i < n && p; i++)
		p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
	size_t len = p ? strcspn(p, ":\n") : 0;
	snprintf(out, size, "%.*s", (int)len, p ? p : "");
}

static const char *tagged(const char *out, const char *tag)
{
	const char *p = strstr(out, tag);
	return p ? p + strlen(tag) : NULL;
}

static int finish(struct task_ctx *ctx, struct buf *cmd, int changed, json_t *result, struct err *e)
{
	int ret = 0;
	if (changed && !ctx->check)
		ret = mod_sh_checked(ctx, buf_str(cmd), result, e);
	if (ret == 0)
		mod_set_changed(result, changed);
	return ret < 0 ? ret : 0;
}

static int group_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *name = mod_str(args, "name"), *state = mod_str(args, "state");
	const json_t *gid = json_object_get(args, "gid");
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	char cur[32] = "";
	int changed = 0, ret;
	buf_adds(&cmd, "printf '@g:'; getent group ");
	buf_add_shquote(&cmd, name);
	buf_adds(&cmd, " || echo\n");
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	const char *line = tagged(buf_str(&r.out), "@g:");
	int exists = line && *line && *line != '\n';
	if (exists)
		colon_field(line, 2, cur, sizeof(cur));
	buf_reset(&cmd);
	json_object_set_new(result, "name", json_string(name));
	json_object_set_new(result, "state", json_string(state));
	if (!strcmp(state, "absent")) {
		if (exists) {
			buf_adds(&cmd, "groupdel ");
			buf_add_shquote(&cmd, name);
			changed = 1;
		}
	} else if (!exists) {
		buf_adds(&cmd, "groupadd");
		if (gid)
			buf_addf(&cmd, " -g %lld", (long long)json_integer_value(gid));
		if (mod_bool(args, "system"))
			buf_adds(&cmd, " -r");
		buf_addc(&cmd, ' ');
		buf_add_shquote(&cmd, name);
		changed = 1;
	} else if (gid && json_integer_value(gid) != atoll(cur)) {
		buf_addf(&cmd, "groupmod -g %lld ", (long long)json_integer_value(gid));
		buf_add_shquote(&cmd, name);
		changed = 1;
	}
	if (!strcmp(state, "present")) {
		json_object_set_new(result, "gid",
		                    gid ? json_incref((json_t *)gid) : json_integer(atoll(cur)));
		json_object_set_new(result, "system", json_boolean(mod_bool(args, "system")));
	}
	ret = finish(ctx, &cmd, changed, result, e);
	if (changed && !ctx->check && !gid && !strcmp(state, "present") &&
	    !json_is_true(json_object_get(result, "failed"))) {
		/* the gid groupadd picked */
		conn_result_release(&r);
		buf_reset(&cmd);
		buf_adds(&cmd, "getent group ");
		buf_add_shquote(&cmd, name);
		if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) == 0) {
			colon_field(buf_str(&r.out), 2, cur, sizeof(cur));
			json_object_set_new(result, "gid", json_integer(atoll(cur)));
		}
	}
out:
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

struct account {
	int exists;
	char uid[32], gid[32], comment[256], home[512], shell[256], group[128];
	char groups[2048]; /* "a,b" without the primary group */
	char hash[512];    /* from shadow; "" when it cannot be read */
};

static void read_account(const char *out, struct account *a)
{
	const char *pw = tagged(out, "@pw:"), *gn = tagged(out, "@gn:"), *gs = tagged(out, "@gs:");
	const char *sh = tagged(out, "@sh:");
	memset(a, 0, sizeof(*a));
	a->exists = pw && *pw && *pw != '\n';
	if (!a->exists)
		return;
	colon_field(pw, 2, a->uid, sizeof(a->uid));
	snprintf(a->hash, sizeof(a->hash), "%.*s", sh ? (int)strcspn(sh, "\n") : 0, sh ? sh : "");
	colon_field(pw, 3, a->gid, sizeof(a->gid));
	colon_field(pw, 4, a->comment, sizeof(a->comment));
	colon_field(pw, 5, a->home, sizeof(a->home));
	colon_field(pw, 6, a->shell, sizeof(a->shell));
	snprintf(a->group, sizeof(a->group), "%.*s", gn ? (int)strcspn(gn, "\n") : 0, gn ? gn : "");
	/* id -Gn lists the primary group too; keep the supplementary ones */
	size_t n = gs ? strcspn(gs, "\n") : 0;
	for (size_t i = 0; i < n;) {
		size_t w = strcspn(gs + i, " \n");
		if (w && !(w == strlen(a->group) && !strncmp(gs + i, a->group, w)))
			snprintf(a->groups + strlen(a->groups),
			         sizeof(a->groups) - strlen(a->groups), "%s%.*s",
			         a->groups[0] ? "," : "", (int)w, gs + i);
		i += w + 1;
	}
}

static int in_list(const char *csv, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = csv; *p;) {
		size_t w = strcspn(p, ",");
		if (w == n && !strncmp(p, name, n))
			return 1;
		p += w + (p[w] ? 1 : 0);
	}
	return 0;
}

/* The -G value usermod needs, or NULL when groups already match. */
static char *groups_change(const json_t *args, const struct account *a, int *append)
{
	const json_t *want = json_object_get(args, "groups");
	struct buf b = BUF_INIT;
	size_t i, count = 0;
	json_t *g;
	int differ = 0;
	*append = mod_bool(args, "append");
	if (!want)
		return NULL;
	json_array_foreach (want, i, g) {
		const char *s = json_string_value(g);
		if (!s || !*s || !strcmp(s, a->group))
			continue;
		buf_addf(&b, "%s%s", b.len ? "," : "", s);
		count++;
		if (!in_list(a->groups, s))
			differ = 1;
	}
	if (!*append) {
		size_t have = a->groups[0] ? 1 : 0;
		for (const char *p = a->groups; *p; p++)
			have += *p == ',';
		if (have != count)
			differ = 1;
	}
	if (!differ) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static void add_common(struct buf *cmd, const json_t *args, const struct account *a, int *ch)
{
	const char *shell = mod_str(args, "shell"), *home = mod_str(args, "home");
	const char *group = mod_str(args, "group"), *comment = mod_str(args, "comment");
	const json_t *uid = json_object_get(args, "uid");
	char num[32];
	if (uid) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(uid));
		if (!a->exists || strcmp(num, a->uid))
			opt(cmd, "-u", num), *ch = 1;
	}
	if (group && (!a->exists || (strcmp(group, a->group) && strcmp(group, a->gid))))
		opt(cmd, "-g", group), *ch = 1;
	if (shell && (!a->exists || strcmp(shell, a->shell)))
		opt(cmd, "-s", shell), *ch = 1;
	if (home && (!a->exists || strcmp(home, a->home))) {
		opt(cmd, "-d", home), *ch = 1;
		if (a->exists && mod_bool(args, "move_home"))
			buf_adds(cmd, " -m");
	}
	if (comment && (!a->exists || strcmp(comment, a->comment)))
		opt(cmd, "-c", comment), *ch = 1;
}

/* The keys Ansible's user module returns; the creation ones only for a
 * new account. */
static void user_result(json_t *result, const json_t *args, const struct account *a, int created)
{
	json_object_set_new(result, "uid", json_integer(atoll(a->uid)));
	json_object_set_new(result, "group", json_integer(atoll(a->gid)));
	json_object_set_new(result, "home", json_string(a->home));
	json_object_set_new(result, "shell", json_string(a->shell));
	json_object_set_new(result, "comment", json_string(a->comment));
	json_object_set_new(result, "append", json_boolean(mod_bool(args, "append")));
	json_object_set_new(result, "move_home", json_boolean(mod_bool(args, "move_home")));
	if (json_object_get(args, "groups"))
		json_object_set_new(result, "groups", json_string(a->groups));
	if (created) {
		json_object_set_new(result, "system", json_boolean(mod_bool(args, "system")));
		json_object_set_new(result, "create_home",
		                    json_boolean(mod_bool(args, "create_home")));
	}
}

static void user_query(struct buf *cmd, const char *name)
{
	buf_adds(cmd, "n=");
	buf_add_shquote(cmd, name);
	buf_adds(cmd, "; printf '@pw:'; getent passwd \"$n\" || echo; printf '@gn:'; id -gn \"$n\" "
	              "2>/dev/null || echo; printf '@gs:'; id -Gn \"$n\" 2>/dev/null || echo\n"
	              "printf '@sh:'; getent shadow \"$n\" 2>/dev/null | cut -d: -f2\n");
}

static int user_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *name = mod_str(args, "name"), *state = mod_str(args, "state");
	struct buf cmd = BUF_INIT;
	struct conn_result r = {0};
	struct account a, now;
	char *groups = NULL;
	int changed = 0, append, ret;
	user_query(&cmd, name);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) < 0)
		goto out;
	read_account(buf_str(&r.out), &a);
	buf_reset(&cmd);
	json_object_set_new(result, "name", json_string(name));
	json_object_set_new(result, "state", json_string(state));
	if (!strcmp(state, "absent")) {
		if (a.exists) {
			buf_addf(&cmd, "userdel%s ", mod_bool(args, "remove") ? " -r" : "");
			buf_add_shquote(&cmd, name);
			changed = 1;
		}
		ret = finish(ctx, &cmd, changed, result, e);
		goto out;
	}
	groups = groups_change(args, &a, &append);
	buf_adds(&cmd, a.exists ? "usermod" : "useradd");
	add_common(&cmd, args, &a, &changed);
	if (groups) {
		if (a.exists && append)
			buf_adds(&cmd, " -a");
		opt(&cmd, "-G", groups);
		changed = 1;
	}
	if (mod_str(args, "password") &&
	    (!a.exists || strcmp(mod_str(args, "update_password"), "on_create"))) {
		/* compared with shadow's hash, as Ansible does (needs root) */
		if (!a.exists || strcmp(a.hash, mod_str(args, "password"))) {
			opt(&cmd, "-p", mod_str(args, "password"));
			changed = 1;
		}
	}
	if (!a.exists) {
		buf_adds(&cmd, mod_bool(args, "create_home") ? " -m" : " -M");
		if (mod_bool(args, "system"))
			buf_adds(&cmd, " -r");
		changed = 1;
	}
	buf_addc(&cmd, ' ');
	buf_add_shquote(&cmd, name);
	buf_addc(&cmd, '\n');
	if (!changed) {
		user_result(result, args, &a, !a.exists);
		mod_set_changed(result, 0);
		goto out;
	}
	if ((ret = finish(ctx, &cmd, changed, result, e)) < 0 ||
	    json_is_true(json_object_get(result, "failed")))
		goto out;
	if (ctx->check) {
		user_result(result, args, &a, !a.exists);
		goto out;
	}
	conn_result_release(&r);
	buf_reset(&cmd);
	user_query(&cmd, name);
	if ((ret = mod_sh(ctx, buf_str(&cmd), &r, e)) == 0) {
		read_account(buf_str(&r.out), &now);
		user_result(result, args, &now, !a.exists);
	}
out:
	free(groups);
	conn_result_release(&r);
	buf_release(&cmd);
	return ret;
}

static const struct module_arg group_args[] = {
    {"name", ARG_STR, 1, NULL, NULL, 0, NULL, "The group."},
    {"state", ARG_STR, 0, "\"present\"", states, 0, NULL, "present or absent."},
    {"gid", ARG_INT, 0, NULL, NULL, 0, NULL, "The group id."},
    {"system", ARG_BOOL, 0, "false", NULL, 0, NULL, "Create a system group."},
    {"local", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted; groups are always local."},
    {"non_unique", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted for compatibility."},
    {NULL},
};

static const char *const pw_updates[] = {"always", "on_create", NULL};

static const struct module_arg user_args[] = {
    {"name", ARG_STR, 1, NULL, NULL, 0, "user", "The account name."},
    {"state", ARG_STR, 0, "\"present\"", states, 0, NULL, "present or absent."},
    {"uid", ARG_INT, 0, NULL, NULL, 0, NULL, "The user id."},
    {"group", ARG_STR, 0, NULL, NULL, 0, NULL, "The primary group (name or gid)."},
    {"groups", ARG_LIST, 0, NULL, NULL, 0, NULL,
     "Supplementary groups; exactly these unless append."},
    {"append", ARG_BOOL, 0, "false", NULL, 0, NULL, "Add groups, keep the others."},
    {"shell", ARG_STR, 0, NULL, NULL, 0, NULL, "The login shell."},
    {"home", ARG_PATH, 0, NULL, NULL, 0, NULL, "The home directory."},
    {"move_home", ARG_BOOL, 0, "false", NULL, 0, NULL, "Move the old home to home."},
    {"comment", ARG_STR, 0, NULL, NULL, 0, NULL, "The GECOS field."},
    {"system", ARG_BOOL, 0, "false", NULL, 0, NULL, "Create a system account."},
    {"create_home", ARG_BOOL, 0, "true", NULL, 0, "createhome",
     "Create the home directory for a new account."},
    {"remove", ARG_BOOL, 0, "false", NULL, 0, NULL, "With absent, remove the home too."},
    {"password", ARG_STR, 0, NULL, NULL, 1, NULL, "The crypted password hash."},
    {"update_password", ARG_STR, 0, "\"always\"", pw_updates, 0, NULL,
     "on_create sets the password only for new accounts."},
    {NULL},
};

static const char *const group_aliases[] = {"ansible.builtin.group", "ansible.legacy.group", NULL};
static const char *const user_aliases[] = {"ansible.builtin.user", "ansible.legacy.user", NULL};

const struct module_def module_group = {
    "group",
    group_aliases,
    MOD_CHECK_MODE,
    group_args,
    "Manage local groups",
    "Creates, changes the gid of, or removes a local group with groupadd, groupmod and "
    "groupdel.",
    group_run,
};

const struct module_def module_user = {
    "user",
    user_aliases,
    MOD_CHECK_MODE,
    user_args,
    "Manage local user accounts",
    "Creates, changes or removes a local account with useradd, usermod and userdel: "
    "uid, primary group, supplementary groups (exact or append), shell, home, comment, "
    "password hash.",
    user_run,
};
