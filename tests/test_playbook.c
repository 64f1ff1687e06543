/*
 * The playbook loader: the tree it builds from plays, roles, blocks and
 * imports, k=v argument splitting, and that every bad shape is an error
 * naming file:line:col and what to do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/session.h"
#include "modules/module.h"
#include "playbook/playbook.h"
#include "yaml/yaml.h"

static struct pb_env env = {session_action_flags, NULL, NULL};

static struct playbook *load_ok(const char *path)
{
	struct err e;
	err_init(&e);
	struct playbook *pb = playbook_load(path, &env, &e);
	if (!pb)
		fail_msg("%s: %s (%s:%d)", path, e.msg, e.file, e.line);
	return pb;
}

static void test_good_tree(void **state)
{
	(void)state;
	struct playbook *pb = load_ok("playbooks/loader/good.yml");
	assert_int_equal(pb->nplays, 2);
	struct pb_play *p = pb->plays[0];
	assert_string_equal(p->name, "first play");
	assert_string_equal(p->hosts, "all");
	assert_int_equal(p->pre_tasks.n, 1);
	assert_string_equal(p->pre_tasks.v[0]->action, "debug");
	assert_string_equal(json_string_value(json_object_get(p->pre_tasks.v[0]->args, "msg")),
	                    "before {{ greeting }}");
	/* roles: base (web's dependency), web, base again; then 6 tasks */
	assert_int_equal(p->tasks.n, 3 + 6);
	assert_string_equal(p->tasks.v[0]->role->name, "base");
	assert_string_equal(p->tasks.v[1]->role->name, "web");
	assert_int_equal(
	    json_integer_value(json_object_get(p->tasks.v[1]->role->defaults, "web_port")), 8080);
	assert_int_equal(
	    json_integer_value(json_object_get(p->tasks.v[2]->role->params, "base_param")), 7);
	char *title = pb_task_title(p->tasks.v[1]->block.v[0]);
	assert_string_equal(title, "web : web task");
	free(title);
	json_t *tags = pb_task_tags(p->tasks.v[2]->block.v[0], p);
	assert_int_equal(json_array_size(tags), 1);
	assert_string_equal(json_string_value(json_array_get(tags, 0)), "basetag");
	json_decref(tags);

	struct pb_task *sh = p->tasks.v[3];
	assert_int_equal(sh->kind, PB_TASK);
	assert_string_equal(sh->action, "ansible.builtin.shell");
	assert_string_equal(json_string_value(json_object_get(sh->args, "_raw_params")), "echo hi");
	assert_string_equal(json_string_value(json_object_get(sh->args, "chdir")), "/tmp");
	assert_string_equal(json_string_value(json_object_get(sh->args, "creates")),
	                    "/nonexistent");
	assert_int_equal(sh->pos.line, 16);
	assert_int_equal(sh->pos.col, 7);

	struct pb_task *b = p->tasks.v[4];
	assert_int_equal(b->kind, PB_BLOCK);
	assert_int_equal(b->block.n, 1);
	assert_int_equal(b->rescue.n, 1);
	assert_int_equal(b->always.n, 1);
	assert_ptr_equal(b->block.v[0]->parent, b);

	struct pb_task *imp = p->tasks.v[5];
	assert_int_equal(imp->kind, PB_BLOCK);
	assert_string_equal(imp->block.v[0]->name, "more task");
	tags = pb_task_tags(imp->block.v[0], NULL);
	assert_string_equal(json_string_value(json_array_get(tags, 0)), "imported");
	json_decref(tags);

	assert_int_equal(p->tasks.v[6]->kind, PB_INCLUDE);
	assert_int_equal(p->tasks.v[7]->kind, PB_META);
	assert_string_equal(p->tasks.v[8]->action, "command");
	assert_string_equal(json_string_value(json_object_get(p->tasks.v[8]->args, "_raw_params")),
	                    "echo action");
	/* play handler plus the roles' handlers (web) */
	assert_int_equal(p->handlers.n, 2);
	assert_string_equal(pb->plays[1]->hosts, "localhost");
	playbook_free(pb);
}

static void test_include_load(void **state)
{
	(void)state;
	struct err e;
	struct pb_task *body = NULL;
	err_init(&e);
	struct playbook *pb = load_ok("playbooks/loader/good.yml");
	struct pb_task *inc = pb->plays[0]->tasks.v[6];
	assert_int_equal(pb_include_load(pb, inc, "more.yml", NULL, &body, NULL, &e), 0);
	assert_int_equal(body->block.n, 1);
	assert_string_equal(body->block.v[0]->name, "more task");
	assert_int_not_equal(pb_include_load(pb, inc, "nope.yml", NULL, &body, NULL, &e), 0);
	assert_non_null(strstr(e.msg, "nope.yml"));
	playbook_free(pb);
}

struct bad {
	const char *file;
	int line, col;
	const char *msg;
};

static const struct bad bads[] = {
    {"bad_play_key.yml", 2, 3, "'hosst' is not a valid attribute for a Play"},
    {"bad_conflict.yml", 5, 7, "conflicting action statements: debug, command"},
    {"bad_module.yml", 5, 7, "couldn't resolve module/action 'whn'"},
    {"bad_block.yml", 5, 7, "'rescu' is not a valid attribute for a Block"},
    {"bad_nohosts.yml", 1, 3, "the field 'hosts' is required"},
    {"bad_twoloops.yml", 3, 7, "only one of loop and with_*"},
    {"bad_when.yml", 4, 7, "'when' must be a string, a bool or a list"},
    {"bad_notlist.yml", 1, 1, "a playbook must be a list of plays"},
    {"bad_tasks_shape.yml", 2, 3, "'tasks' must be a list of tasks"},
    {"bad_import.yml", 3, 7, "missing.yml"},
    {"bad_role.yml", 3, 7, "the role 'nosuchrole' was not found"},
    {"bad_yaml.yml", 4, 0, ""},
    {"bad_apply_key.yml", 7, 11, "'bogus' is not a valid attribute for a Block"},
    {"bad_apply_import.yml", 3, 7, "Invalid options for import_tasks: apply"},
    {"bad_apply_shape.yml", 5, 16, "'apply' of include_tasks must be a dict"},
    {"bad_include_kw.yml", 4, 7, "'become' is not a valid attribute for a TaskInclude"},
    {"bad_include_arg.yml", 3, 7, "Invalid options for include_role: bogus"},
    {"bad_import_public.yml", 3, 7, "Invalid options for import_role: public"},
    {"bad_import_hostvar.yml", 6, 7,
     "Error when evaluating variable in import path: {{ inventory_only }}.yml: "
     "'inventory_only' is undefined"},
    {"bad_import_hostvar.yml", 6, 7,
     "not inventory (host or group) vars or facts; use "
     "include_tasks"},
    {"bad_import_role_var.yml", 3, 7, "'nope' is undefined"},
    {"bad_import_role_var.yml", 3, 7, "use include_role"},
    {"bad_roles_var.yml", 3, 7, "use include_role"},
    {"bad_import_playbook_var.yml", 1, 3, "'which_playbook' is undefined"},
    {"bad_vars_files_entry.yml", 3, 7, "vars_files entries must be file names"},
    {"bad_import_loop.yml", 4, 7,
     "You cannot use loops on 'import_tasks' statements. You should use 'include_tasks'"},
    {"bad_import_role_loop.yml", 5, 7,
     "You cannot use loops on 'import_role' statements. You should use 'include_role'"},
};

static void test_errors_name_position(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct err e;
		char path[256];
		err_init(&e);
		snprintf(path, sizeof(path), "playbooks/loader/%s", bads[i].file);
		struct playbook *pb = playbook_load(path, &env, &e);
		if (pb)
			fail_msg("%s loaded", bads[i].file);
		if (!strstr(e.msg, bads[i].msg))
			fail_msg("%s: message '%s' lacks '%s'", bads[i].file, e.msg, bads[i].msg);
		if (!strstr(e.file, bads[i].file) || e.line != bads[i].line ||
		    (bads[i].col && e.col != bads[i].col))
			fail_msg("%s: position %s:%d:%d, want line %d col %d", bads[i].file, e.file,
			         e.line, e.col, bads[i].line, bads[i].col);
	}
}

/* Import names rendered at load time with play vars, static vars_files and
 * extra vars; apply: becomes the keywords of the include's body block. */
static void test_templated_imports(void **state)
{
	(void)state;
	struct err e;
	struct pb_task *body = NULL;
	json_t *extra = json_pack("{ss ss ss}", "from_extra", "more", "from_extra_role", "web",
	                          "from_extra_pb", "second.yml");
	struct pb_env xenv = {session_action_flags, NULL, extra};
	err_init(&e);
	struct playbook *pb = playbook_load("playbooks/loader/templated.yml", &xenv, &e);
	if (!pb)
		fail_msg("%s:%d:%d: %s", e.file, e.line, e.col, e.msg);
	struct pb_play *p = pb->plays[0];
	assert_int_equal(p->tasks.n, 5);
	for (int i = 0; i < 3; i++)
		assert_string_equal(p->tasks.v[i]->block.v[0]->name, "more task");
	struct pb_task *ir = p->tasks.v[3];
	/* web's dependency (base) first, then web */
	assert_string_equal(ir->block.v[ir->block.n - 1]->role->name, "web");
	assert_string_equal(pb->plays[pb->nplays - 1]->hosts, "localhost");
	struct pb_task *inc = p->tasks.v[4];
	assert_int_equal(inc->kind, PB_INCLUDE);
	assert_int_equal(pb_include_load(pb, inc, "more.yml", NULL, &body, NULL, &e), 0);
	assert_true(json_is_true(pb_task_kw(body->block.v[0], "become")));
	json_t *tags = pb_task_tags(body->block.v[0], NULL);
	assert_int_equal(json_array_size(tags), 1);
	assert_string_equal(json_string_value(json_array_get(tags, 0)), "applied");
	json_decref(tags);
	playbook_free(pb);
	/* without the extra vars: the first name that needs them is the error */
	err_init(&e);
	assert_null(playbook_load("playbooks/loader/templated.yml", &env, &e));
	assert_non_null(strstr(e.msg, "'from_extra' is undefined"));
	assert_int_equal(e.line, 10);
	json_decref(extra);
}

/* drover run on a playbook of playbooks/loader; its output and exit code. */
static void run_drover(const char *playbook, char *out, size_t size)
{
	const char *bin = getenv("DROVER_BIN");
	char cmd[1024];
	if (!bin)
		fail_msg("DROVER_BIN is not set");
	snprintf(
	    cmd, sizeof(cmd),
	    "NO_COLOR=1 '%s' run -i playbooks/suite/hosts playbooks/loader/%s 2>&1; echo rc=$?",
	    bin, playbook);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, size - 1, f);
	out[n] = 0;
	pclose(f);
}

/* A vars_files entry that names no file for a host stops the run before
 * any task, naming the play's file:line:col, the host and what was tried;
 * so does an undefined variable in a name once facts are gathered. */
static void test_vars_files_errors(void **state)
{
	(void)state;
	char out[4096];
	run_drover("vf_missing.yml", out, sizeof(out));
	if (!strstr(out, "vf_missing.yml:5:7: vars file [\"vars/nope_{{ web_port }}.yml\","
	                 "\"vars/nope_{{ inventory_hostname }}.yml\"] was not found on the "
	                 "controller for host h1 (tried ") ||
	    !strstr(out, "loader/vars/nope_8080.yml, ") ||
	    !strstr(out, "loader/vars/nope_h1.yml)") || strstr(out, "never runs") ||
	    !strstr(out, "rc=1"))
		fail_msg("unexpected output:\n%s", out);
	run_drover("vf_undef_facts.yml", out, sizeof(out));
	if (!strstr(out, "vf_undef_facts.yml:5:7: an undefined variable was found when "
	                 "attempting to template the vars_files item \"vars/{{ no_such_fact "
	                 "}}.yml\": 'no_such_fact' is undefined") ||
	    !strstr(out, "Gathering Facts") || strstr(out, "never runs") || !strstr(out, "rc=1"))
		fail_msg("unexpected output:\n%s", out);
}

static void test_parse_kv(void **state)
{
	(void)state;
	struct err e;
	err_init(&e);
	json_t *a = pb_parse_kv("msg='it is {{ x }}' other=\"a b\" n=5", 0, &e);
	assert_string_equal(json_string_value(json_object_get(a, "msg")), "it is {{ x }}");
	assert_string_equal(json_string_value(json_object_get(a, "other")), "a b");
	assert_string_equal(json_string_value(json_object_get(a, "n")), "5");
	json_decref(a);
	a = pb_parse_kv("echo \"x=1 y\" {{ a | default('b c') }} removes=/x", 1, &e);
	assert_string_equal(json_string_value(json_object_get(a, "_raw_params")),
	                    "echo \"x=1 y\" {{ a | default('b c') }}");
	assert_string_equal(json_string_value(json_object_get(a, "removes")), "/x");
	json_decref(a);
	a = pb_parse_kv("echo 'unclosed", 1, &e);
	assert_null(a);
	assert_non_null(strstr(e.msg, "unbalanced quotes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_tree),
	    cmocka_unit_test(test_include_load),
	    cmocka_unit_test(test_errors_name_position),
	    cmocka_unit_test(test_parse_kv),
	    cmocka_unit_test(test_templated_imports),
	    cmocka_unit_test(test_vars_files_errors),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	srcpos_free_all();
	return rc;
}
