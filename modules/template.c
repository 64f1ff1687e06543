/*
 * template.c - template: render a controller-side Jinja2 file with the
 * host's vars and put the result on the host exactly as copy would.
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "modules/common.h"
#include "util/mem.h"

/* The extra vars Ansible's template action defines for the template. */
static json_t *template_vars(const struct task_ctx *ctx, const char *src, const char *path)
{
	json_t *v = ctx->vars ? json_copy((json_t *)ctx->vars) : json_object();
	struct stat sb;
	char host[256] = "", date[64];
	time_t now = time(NULL);
	struct tm tm;
	char *full = realpath(path, NULL);
	gethostname(host, sizeof(host) - 1);
	json_object_set_new(v, "template_host", json_string(host));
	json_object_set_new(v, "template_path", json_string(src));
	json_object_set_new(v, "template_fullpath", json_string(full ? full : path));
	const char *slash = strrchr(path, '/');
	json_object_set_new(v, "template_basename", json_string(slash ? slash + 1 : path));
	if (stat(path, &sb) == 0) {
		/* getpwuid_r: modules run on several worker threads at once */
		struct passwd pwd, *pw = NULL;
		char pwbuf[1024];
		getpwuid_r(sb.st_uid, &pwd, pwbuf, sizeof(pwbuf), &pw);
		json_object_set_new(v, "template_uid", json_string(pw ? pw->pw_name : ""));
		json_object_set_new(v, "template_mtime", json_integer((json_int_t)sb.st_mtime));
	}
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	json_object_set_new(v, "template_run_date", json_string(date));
	if (!json_object_get(v, "ansible_managed"))
		json_object_set_new(v, "ansible_managed", json_string("Ansible managed"));
	free(full);
	return v;
}

static int template_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *src = mod_str(args, "src");
	char *path = mod_find_src(ctx, src, "templates"), *text = NULL, *out = NULL;
	json_t *vars = NULL, *r = NULL;
	size_t len;
	int ret = 0;
	if (!path || !(text = read_file(path, &len))) {
		mod_fail(result, "Could not find or access '%s' on the Ansible Controller.", src);
		goto out;
	}
	vars = template_vars(ctx, src, path);
	json_object_set_new(vars, "template_destpath", json_string(mod_str(args, "dest")));
	struct tmpl_ctx tc = ctx->tmpl;
	tc.vars = vars;
	tc.file = path;
	tc.line = 1;
	tc.col = 1;
	tc.trim_blocks = mod_bool(args, "trim_blocks");
	tc.lstrip_blocks = mod_bool(args, "lstrip_blocks");
	tc.text_mode = 1; /* always text, as Ansible's template action renders */
	struct err te;
	err_init(&te);
	if (!(r = tmpl_render(text, &tc, &te))) {
		char msg[2600];
		mod_fail(result, "%s", err_format(&te, msg, sizeof(msg)));
		goto out;
	}
	out = json_is_string(r) ? xstrdup(json_string_value(r)) : tmpl_to_text(r);
	const char *nl = mod_str(args, "newline_sequence");
	if (nl && strcmp(nl, "\\n")) {
		/* \r\n or \r line endings on request */
		struct buf b = BUF_INIT;
		const char *seq = !strcmp(nl, "\\r\\n") ? "\r\n" : "\r";
		for (const char *p = out; *p; p++)
			*p == '\n' ? buf_adds(&b, seq) : buf_addc(&b, *p);
		free(out);
		out = buf_detach(&b);
	}
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	/* into a directory under the template's own name, .j2 and all, as
	 * Ansible's template action (_original_basename) does */
	ret = mod_copy_data(ctx, args, out, strlen(out), base, path, result, e);
out:
	json_decref(vars);
	json_decref(r);
	free(path);
	free(text);
	free(out);
	return ret;
}

static const char *const newlines[] = {"\\n", "\\r", "\\r\\n", NULL};

static const struct module_arg template_args[] = {
    {"src", ARG_PATH, 1, NULL, NULL, 0, NULL,
     "The Jinja2 template on the controller (looked up in the role's templates/, then "
     "templates/ beside the playbook)."},
    {"dest", ARG_PATH, 1, NULL, NULL, 0, NULL, "Where to write the rendered text."},
    MOD_ARG_MODE("Permissions: 0644 (YAML octal), \"0644\" or \"u=rw,g=r,o=r\"."),
    MOD_ARGS_OWNER_GROUP("dest"),
    MOD_ARG_BACKUP("Keep the old file as dest.PID.DATE~."),
    {"force", ARG_BOOL, 0, "true", NULL, 0, NULL, "Replace dest when its content differs."},
    MOD_ARG_VALIDATE("A command run on the new file (%s) before it replaces dest."),
    {"newline_sequence", ARG_STR, 0, "\"\\\\n\"", newlines, 0, NULL, "Line endings of the result."},
    {"trim_blocks", ARG_BOOL, 0, "true", NULL, 0, NULL,
     "Remove the first newline after a block tag."},
    {"lstrip_blocks", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Strip spaces and tabs before a block tag."},
    {"output_encoding", ARG_STR, 0, "\"utf-8\"", NULL, 0, NULL, "Accepted; output is UTF-8."},
    {"follow", ARG_BOOL, 0, "false", NULL, 0, NULL, "Accepted for compatibility."},
    MOD_ARG_UNSAFE_WRITES_ATOMIC,
    MOD_ARG_ATTRIBUTES,
    {NULL},
};

static const char *const template_aliases[] = {"ansible.builtin.template",
                                               "ansible.legacy.template", NULL};

const struct module_def module_template = {
    "template",
    template_aliases,
    MOD_CHECK_MODE | MOD_DIFF,
    template_args,
    "Render a Jinja2 template onto the host",
    "Renders src with the host's variables (plus template_host, template_path, "
    "ansible_managed, ...) and writes it to dest like copy: sha1 idempotency, atomic "
    "replace, backup, validate, mode/owner/group, check and diff mode.",
    template_run,
};
