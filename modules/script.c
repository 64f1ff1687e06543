/*
 * script.c - script: copy a controller-side script to the host and run it.
 *
 * The script is fed to the shell on stdin-less exec as a temp file (so it
 * can read its own stdin), run with its arguments, and removed, all in the
 * round trip after the upload.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modules/common.h"
#include "util/mem.h"

static int script_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *raw = mod_str(args, "_raw_params");
	const char *cmdline = mod_str(args, "cmd") ? mod_str(args, "cmd") : raw;
	const char *exe = mod_str(args, "executable");
	struct buf cmd = BUF_INIT, guard = BUF_INIT;
	struct conn_result r = {0};
	struct conn_exec_opts o = ctx->exec;
	char *path = NULL, *data = NULL, *tmp = NULL;
	size_t len, n;
	int ret = 0;
	if (!cmdline || !*cmdline) {
		mod_fail(result, "script needs a path to a local script (free-form or cmd)");
		return 0;
	}
	n = strcspn(cmdline, " \t");
	char *file = xstrndup(cmdline, n);
	const char *rest = cmdline + n;
	if (!(path = mod_find_src(ctx, file, "files")) || !(data = read_file(path, &len))) {
		mod_fail(result, "Could not find or access '%s' on the Ansible Controller.", file);
		goto out;
	}
	if (mod_str(args, "creates") || mod_str(args, "removes")) {
		const char *c = mod_str(args, "creates"), *rm = mod_str(args, "removes");
		buf_adds(&guard, c ? "[ -e " : "[ ! -e ");
		buf_add_shquote(&guard, c ? c : rm);
		buf_adds(&guard, " ] && echo skip");
		if ((ret = mod_sh(ctx, buf_str(&guard), &r, e)) < 0)
			goto out;
		if (strstr(buf_str(&r.out), "skip")) {
			/* Ansible's script action skips the task (AnsibleActionSkip) */
			json_object_set_new(result, "skipped", json_true());
			json_object_set_new(result, "msg",
			                    json_sprintf("%s %s, matching %s option", c ? c : rm,
			                                 c ? "exists" : "does not exist",
			                                 c ? "creates" : "removes"));
			mod_set_changed(result, 0);
			goto out;
		}
		conn_result_release(&r);
	}
	if (ctx->check) {
		/* Ansible's script action: skipped unless creates/removes decided */
		json_object_set_new(result, "skipped", json_true());
		json_object_set_new(result, "msg",
		                    json_string("Check mode is not supported for this task."));
		mod_set_changed(result, 0);
		goto out;
	}
	/* unique per run and call: several hosts may delegate to one machine */
	static unsigned seq;
	tmp = xasprintf("/tmp/.drover-script-%ld-%u-%s", (long)getpid(),
	                __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED),
	                strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	if ((ret = conn_put(ctx->conn, data, len, tmp, 0700, &ctx->exec, e)) < 0)
		goto out;
	if (mod_str(args, "chdir"))
		o.chdir = mod_str(args, "chdir");
	buf_adds(&cmd, "t=");
	buf_add_shquote(&cmd, tmp);
	buf_adds(&cmd, "; trap 'rm -f \"$t\"' EXIT; ");
	if (exe) {
		buf_add_shquote(&cmd, exe);
		buf_addc(&cmd, ' ');
	}
	buf_addf(&cmd, "\"$t\"%s\n", rest);
	if ((ret = conn_exec(ctx->conn, buf_str(&cmd), &o, &r, e)) < 0)
		goto out;
	mod_result_cmd(result, &r);
	mod_set_changed(result, 1);
	if (r.rc != 0)
		mod_fail(result, "non-zero return code");
out:
	free(file);
	free(path);
	free(data);
	free(tmp);
	conn_result_release(&r);
	buf_release(&cmd);
	buf_release(&guard);
	return ret;
}

static const struct module_arg script_args[] = {
    {"cmd", ARG_STR, 0, NULL, NULL, 0, NULL,
     "The local script and its arguments (or give them free-form)."},
    {"creates", ARG_STR, 0, NULL, NULL, 0, NULL, "Skip when this path exists on the host."},
    {"removes", ARG_STR, 0, NULL, NULL, 0, NULL, "Skip unless this path exists on the host."},
    {"chdir", ARG_STR, 0, NULL, NULL, 0, NULL, "Run in this directory on the host."},
    {"executable", ARG_STR, 0, NULL, NULL, 0, NULL, "Run the script with this interpreter."},
    {NULL},
};

static const char *const script_aliases[] = {"ansible.builtin.script", "ansible.legacy.script",
                                             NULL};

const struct module_def module_script = {
    "script",
    script_aliases,
    MOD_CHECK_MODE | MOD_RAW_PARAMS,
    script_args,
    "Copy a local script to the host and run it",
    "Finds the script on the controller (files/ of the role or playbook), uploads it to "
    "a temp file on the host, runs it with the given arguments and removes it.",
    script_run,
};
