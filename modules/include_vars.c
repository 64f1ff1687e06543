/*
 * include_vars.c - include_vars: load variables from YAML/JSON files on the
 * controller, one file or a directory of them.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "modules/common.h"
#include "util/mem.h"
#include "yaml/yaml.h"

static int has_ext(const char *name, const json_t *exts)
{
	const char *dot = strrchr(name, '.');
	size_t i;
	json_t *x;
	json_array_foreach (exts, i, x) {
		const char *s = json_string_value(x);
		if (s && ((dot && !strcmp(dot + 1, s)) || (!dot && !*s)))
			return 1;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of dir (recursively to depth; 0 is unlimited), sorted by name. */
static void list_dir(const char *dir, int depth, int level, const json_t *args, json_t *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		const char *base = strrchr(names[i], '/') + 1;
		const json_t *ign = json_object_get(args, "ignore_files");
		int skip = 0;
		size_t k;
		json_t *x;
		json_array_foreach (ign, k, x) {
			if (json_string_value(x) && !strcmp(base, json_string_value(x)))
				skip = 1;
		}
		if (skip || stat(names[i], &st) < 0)
			goto next;
		if (S_ISDIR(st.st_mode)) {
			if (!depth || level < depth)
				list_dir(names[i], depth, level + 1, args, out);
		} else if (has_ext(base, json_object_get(args, "extensions"))) {
			json_array_append_new(out, json_string(names[i]));
		}
	next:
		free(names[i]);
	}
	free(names);
}

static int load_into(const char *path, json_t *vars, json_t *result, struct err *e)
{
	struct err le;
	err_init(&le);
	json_t *v = yaml_load_file(path, &le);
	if (!v) {
		char msg[2600];
		mod_fail(result, "%s", err_format(&le, msg, sizeof(msg)));
		return 1;
	}
	(void)e;
	if (json_is_null(v)) {
		json_decref(v);
		return 0;
	}
	if (!json_is_object(v)) {
		mod_fail(result, "%s must be stored as a dictionary/hash", path);
		json_decref(v);
		return 1;
	}
	json_object_update(vars, v);
	json_decref(v);
	return 0;
}

static int include_vars_run(struct task_ctx *ctx, const json_t *args, json_t *result, struct err *e)
{
	const char *file = mod_str(args, "file"), *dir = mod_str(args, "dir");
	const char *name = mod_str(args, "name");
	json_t *files = json_array(), *vars = json_object();
	char *path = NULL;
	size_t i;
	json_t *f;
	if (!file)
		file = mod_str(args, "_raw_params");
	mod_set_changed(result, 0);
	if (!!file == !!dir) {
		mod_fail(result,
		         "include_vars needs exactly one of file (or a free-form path) and dir");
		goto out;
	}
	if (!(path = mod_find_src(ctx, file ? file : dir, "vars"))) {
		mod_fail(result, "Could not find or access '%s' on the Ansible Controller.",
		         file ? file : dir);
		goto out;
	}
	if (file)
		json_array_append_new(files, json_string(path));
	else
		list_dir(path, (int)mod_int(args, "depth"), 1, args, files);
	json_array_foreach (files, i, f) {
		if (load_into(json_string_value(f), vars, result, e))
			goto out;
	}
	json_t *facts = json_object();
	if (name)
		json_object_set(facts, name, vars);
	else
		json_object_update(facts, vars);
	json_object_set_new(result, "ansible_facts", facts);
	json_object_set(result, "ansible_included_var_files", files);
out:
	free(path);
	json_decref(files);
	json_decref(vars);
	return 0;
}

static const char *const exts_default = "[\"json\", \"yaml\", \"yml\"]";

static const struct module_arg include_vars_args[] = {
    {"file", ARG_PATH, 0, NULL, NULL, 0, NULL,
     "A YAML/JSON file; relative paths are looked up in the role's vars/, then vars/ "
     "beside the playbook, then beside the playbook."},
    {"dir", ARG_PATH, 0, NULL, NULL, 0, NULL, "Load every matching file in this directory."},
    {"name", ARG_STR, 0, NULL, NULL, 0, NULL, "Put the variables under this one name."},
    {"depth", ARG_INT, 0, "0", NULL, 0, NULL, "How deep to descend into dir (0: all the way)."},
    {"extensions", ARG_LIST, 0, exts_default, NULL, 0, NULL, "File extensions to load from dir."},
    {"ignore_files", ARG_LIST, 0, NULL, NULL, 0, NULL, "File names in dir to skip."},
    {"ignore_unknown_extensions", ARG_BOOL, 0, "false", NULL, 0, NULL,
     "Accepted; files with other extensions are always skipped."},
    {NULL},
};

static const char *const include_vars_aliases[] = {"ansible.builtin.include_vars",
                                                   "ansible.legacy.include_vars", NULL};

const struct module_def module_include_vars = {
    "include_vars",
    include_vars_aliases,
    MOD_CHECK_MODE | MOD_CONTROLLER | MOD_RAW_PARAMS,
    include_vars_args,
    "Load variables from files on the controller",
    "Reads a YAML or JSON file (or every such file in dir, in name order) and sets its "
    "top-level keys as host variables, or all of them under name.",
    include_vars_run,
};
