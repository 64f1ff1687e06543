/*
 * test_modules.c - the built-in modules run for real through the local
 * connection against a temp dir: idempotency (changed, then ok), check
 * mode, diff, modes in every spelling Ansible accepts, argument
 * validation, and results compared with what ansible-core 2.14's modules
 * return for the same input (recorded from `ansible localhost -c local`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conn/conn.h"
#include "modules/common.h"
#include "modules/module.h"
#include "util/mem.h"
#include "yaml/yaml.h"

static struct conn_pool *pool;
static struct conn *conn;
static json_t *hostvars;
static char dir[256];
static char cwd[1024], basedir[1100];

static int setup(void **state)
{
	struct conn_defaults d = {0};
	struct err e;
	(void)state;
	err_init(&e);
	snprintf(dir, sizeof(dir), "/tmp/drover-mod-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	/* fixtures: files/, templates/, vars as a playbook dir would have them */
	snprintf(basedir, sizeof(basedir), "%s/modules", cwd);
	hostvars = json_pack("{s:s, s:s}", "ansible_connection", "local", "inventory_hostname",
	                     "localhost");
	pool = conn_pool_new(&d);
	conn = conn_pool_get(pool, "localhost", hostvars, NULL, NULL, &e);
	if (!conn)
		fprintf(stderr, "local connection: %s\n", e.msg);
	return conn ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];
	(void)state;
	conn_pool_free(pool);
	json_decref(hostvars);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A path inside the temp dir (static buffer rotation for several at once). */
static const char *P(const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static void init_ctx(struct task_ctx *ctx, int check, int diff)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->host = "localhost";
	ctx->conn = conn;
	ctx->vars = hostvars;
	ctx->tmpl.vars = hostvars;
	ctx->tmpl.trim_blocks = 1;
	ctx->check = check;
	ctx->diff = diff;
	ctx->basedir = basedir;
}

/* Validate args (JSON text with %s paths filled in) and run; the result. */
static json_t *run_v(const char *mod, int check, int diff, const char *fmt, va_list ap)
{
	const struct module_def *m = module_find(mod);
	char text[4096];
	struct task_ctx ctx;
	json_error_t je;
	json_t *args, *clean = NULL, *result = json_object();
	struct err e;
	err_init(&e);
	assert_non_null(m);
	vsnprintf(text, sizeof(text), fmt, ap);
	args = json_loads(text, 0, &je);
	if (!args)
		fail_msg("bad test JSON %s: %s", text, je.text);
	if (module_validate(m, args, &clean, &e) < 0)
		fail_msg("validate %s %s: %s", mod, text, e.msg);
	init_ctx(&ctx, check, diff);
	if (m->run(&ctx, clean, result, &e) < 0)
		fail_msg("run %s %s: %s", mod, text, e.msg);
	json_decref(args);
	json_decref(clean);
	return result;
}

static json_t *run(const char *mod, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *r = run_v(mod, 0, 0, fmt, ap);
	va_end(ap);
	return r;
}

static json_t *run_check(const char *mod, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *r = run_v(mod, 1, 1, fmt, ap);
	va_end(ap);
	return r;
}

static json_t *run_diff(const char *mod, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *r = run_v(mod, 0, 1, fmt, ap);
	va_end(ap);
	return r;
}

static int changed(const json_t *r)
{
	return json_is_true(json_object_get(r, "changed"));
}

static int failed(const json_t *r)
{
	return json_is_true(json_object_get(r, "failed"));
}

static const char *s(const json_t *r, const char *key)
{
	const char *v = json_string_value(json_object_get(r, key));
	return v ? v : "(missing)";
}

static void expect_ok(json_t *r, int want_changed)
{
	if (failed(r) || changed(r) != want_changed) {
		char *d = json_dumps(r, JSON_INDENT(1));
		fail_msg("expected %s, got %s", want_changed ? "changed" : "ok", d);
	}
	json_decref(r);
}

static char *slurp(const char *path)
{
	size_t n;
	return read_file(path, &n);
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void mod_sha1_test(const char *text, char out[41])
{
	mod_sha1(text, strlen(text), out);
}

static void assert_file(const char *path, const char *want)
{
	char *got = slurp(path);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

#include "modules/command_cases.c"
#include "modules/file_cases.c"
#include "modules/host_cases.c"
#include "modules/net_cases.c"
#include "modules/system_cases.c"

/* ---- validation ---- */

static void validate_fails(const char *mod, const char *json, const char *want)
{
	const struct module_def *m = module_find(mod);
	json_t *args = json_loads(json, 0, NULL), *out = NULL;
	struct err e;
	err_init(&e);
	assert_non_null(args);
	assert_true(module_validate(m, args, &out, &e) < 0);
	assert_null(out);
	if (!strstr(e.msg, want))
		fail_msg("validate %s %s: wanted '%s' in '%s'", mod, json, want, e.msg);
	json_decref(args);
}

static void test_validation(void **state)
{
	(void)state;
	validate_fails("copy", "{\"dest\": \"/x\", \"bogus\": 1}",
	               "Unsupported parameters for (copy) module: bogus. Supported parameters "
	               "include: ");
	validate_fails("copy", "{\"dest\": \"/x\", \"bogus\": 1}", "force (thirsty)");
	validate_fails("copy", "{\"content\": \"x\"}", "missing required arguments: dest");
	validate_fails("file", "{\"path\": \"/x\", \"state\": \"dir\"}",
	               "value of state must be one of: absent, directory, file, hard, link, "
	               "touch, got: dir");
	validate_fails(
	    "pause", "{\"seconds\": \"soon\"}",
	    "argument 'seconds' is of type <class 'str'> and we were unable to convert to "
	    "float: <class 'str'> cannot be converted to a float");
	validate_fails(
	    "file", "{\"path\": \"/x\", \"recurse\": \"maybe\"}",
	    "argument 'recurse' is of type <class 'str'> and we were unable to convert to bool: "
	    "The value 'maybe' is not a valid boolean");

	/* args that came from YAML: the error points at the offending key */
	struct err pe;
	err_init(&pe);
	const char *yml = "path: /x\nstate: directory\nmode: 0755\nrecurse: maybe\n";
	json_t *yargs = yaml_load_str(yml, strlen(yml), "play.yml", &pe);
	json_t *yout = NULL;
	assert_non_null(yargs);
	assert_true(module_validate(module_find("file"), yargs, &yout, &pe) < 0);
	assert_string_equal(pe.file, "play.yml");
	assert_int_equal(pe.line, 4);
	json_decref(yargs);

	/* coercions Ansible makes */
	const struct module_def *m = module_find("ansible.builtin.file");
	json_t *args = json_pack("{s:s, s:s, s:i}", "dest", "/x", "recurse", "yes", "owner", 0);
	json_t *out = NULL;
	struct err e;
	err_init(&e);
	assert_int_equal(module_validate(m, args, &out, &e), 0);
	assert_string_equal(s(out, "path"), "/x");                  /* alias */
	assert_true(json_is_true(json_object_get(out, "recurse"))); /* "yes" */
	assert_string_equal(s(out, "owner"), "0");                  /* int to str */
	assert_true(json_is_false(json_object_get(out, "force")));  /* default */
	json_decref(args);
	json_decref(out);
	args = json_pack("{s:s}", "argv", "a,b");
	assert_int_equal(module_validate(module_find("command"), args, &out, &e), 0);
	assert_int_equal(json_array_size(json_object_get(out, "argv")), 2);
	json_decref(args);
	json_decref(out);

	/* no_log values are reported for masking */
	args = json_pack("{s:s, s:s}", "content", "s3cret", "dest", "/x");
	json_t *nl = module_nolog_values(module_find("copy"), args);
	assert_int_equal(json_array_size(nl), 1);
	json_decref(nl);
	json_decref(args);
}

/* Modules that write files (those with "owner") take the file-attribute
 * args as one shared definition (modules/common.h): same type, default
 * and aliases everywhere, so a playbook's args mean the same in each. */
static void file_attr_rows(const struct module_def *d)
{
	static const struct module_arg want[] = {
	    MOD_ARG_MODE(""),     MOD_ARG_OWNER(""),         MOD_ARG_GROUP(""), MOD_ARG_BACKUP(""),
	    MOD_ARG_VALIDATE(""), MOD_ARG_UNSAFE_WRITES(""), MOD_ARG_ATTRIBUTES};
	const struct module_arg *a, *owner = NULL;
	for (a = d->args; a->name; a++)
		owner = strcmp(a->name, "owner") ? owner : a;
	if (!owner)
		return;
	for (a = d->args; a->name; a++)
		for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
			if (!strcmp(a->name, want[i].name) &&
			    (a->type != want[i].type || a->required || !!a->def != !!want[i].def ||
			     (a->def && strcmp(a->def, want[i].def)) ||
			     !!a->aliases != !!want[i].aliases ||
			     (a->aliases && strcmp(a->aliases, want[i].aliases))))
				fail_msg("module %s: arg %s differs from the shared row", d->name,
				         a->name);
}

static void test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(module_find("ansible.builtin.copy"), module_find("copy"));
	assert_ptr_equal(module_find("ansible.legacy.copy"), module_find("copy"));
	assert_null(module_find("ansible.builtin.no_such_module"));
	assert_null(module_find("community.general.copy"));
	/* every module documents itself from its argspec */
	const struct module_def *const *all = module_all();
	int n = 0;
	for (; all[n]; n++) {
		const struct module_def *d = all[n];
		assert_non_null(d->args);
		if (!d->summary || !*d->summary || !d->run)
			fail_msg("module %s lacks a summary or run", d->name);
		assert_ptr_equal(module_find(d->name), d);
		for (const struct module_arg *a = d->args; a->name; a++)
			if (!a->help)
				fail_msg("module %s arg %s has no help", d->name, a->name);
		file_attr_rows(d);
	}
	assert_true(n >= 30);
}

/* `drover doc MODULE` names every argument of every module. */
static void test_doc_output(void **state)
{
	(void)state;
	const char *bin = getenv("DROVER_BIN");
	if (!bin)
		fail_msg("DROVER_BIN is not set: run through ctest");
	const struct module_def *const *all = module_all();
	for (int i = 0; all[i]; i++) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "'%s' doc '%s'", bin, all[i]->name);
		FILE *f = popen(cmd, "r");
		struct buf out = BUF_INIT;
		char line[1024];
		while (fgets(line, sizeof(line), f))
			buf_adds(&out, line);
		assert_int_equal(pclose(f), 0);
		if (!strstr(buf_str(&out), all[i]->summary))
			fail_msg("doc %s lacks the summary", all[i]->name);
		for (const struct module_arg *a = all[i]->args; a->name; a++) {
			char want[128];
			snprintf(want, sizeof(want), "%c %s\n", a->required ? '=' : '-', a->name);
			if (!strstr(buf_str(&out), want))
				fail_msg("doc %s lacks argument %s", all[i]->name, a->name);
		}
		buf_release(&out);
	}
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "'%s' doc no_such_module 2>/dev/null", bin);
	assert_int_equal(WEXITSTATUS(system(cmd)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_command_creates_removes),
	    cmocka_unit_test(test_command_check_mode),
	    cmocka_unit_test(test_shell_raw_ping),
	    cmocka_unit_test(test_file_directory_idempotent),
	    cmocka_unit_test(test_file_modes),
	    cmocka_unit_test(test_file_states),
	    cmocka_unit_test(test_file_check_and_recurse),
	    cmocka_unit_test(test_copy_content),
	    cmocka_unit_test(test_copy_check_diff_backup),
	    cmocka_unit_test(test_copy_src_and_dirs),
	    cmocka_unit_test(test_copy_validate),
	    cmocka_unit_test(test_copy_tree),
	    cmocka_unit_test(test_lineinfile),
	    cmocka_unit_test(test_lineinfile_backrefs_check),
	    cmocka_unit_test(test_replace),
	    cmocka_unit_test(test_blockinfile),
	    cmocka_unit_test(test_edit_cases_from_ansible),
	    cmocka_unit_test(test_stat),
	    cmocka_unit_test(test_controller_modules),
	    cmocka_unit_test(test_template),
	    cmocka_unit_test(test_setup),
	    cmocka_unit_test(test_slurp_fetch_script),
	    cmocka_unit_test(test_wait_for),
	    cmocka_unit_test(test_uri),
	    cmocka_unit_test(test_get_url),
	    cmocka_unit_test(test_drain_pdb_message),
	    cmocka_unit_test(test_user_group),
	    cmocka_unit_test(test_apt_query),
	    cmocka_unit_test(test_service_sysv),
	    cmocka_unit_test_teardown(test_systemd_lab, modlab_down),
	    cmocka_unit_test(test_doc_output),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
