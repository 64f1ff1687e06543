/*
 * drover run PLAYBOOK... : ansible-playbook. Loads every playbook first (a
 * syntax error in the second stops the run before the first starts), then
 * lists or runs them.
 */
#include "cli/cli.h"
#include "exec/session.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, without duplicates, as Ansible lists tags. */
static void print_tags(const char *label, const json_t *tags)
{
	size_t n = json_array_size(tags), k = 0;
	const char **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(tags, i));
	qsort(v, n, sizeof(*v), cmp_str);
	printf("%s: [", label);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(v[i], v[i - 1]))
			printf("%s%s", k++ ? ", " : "", v[i]);
	printf("]");
	free(v);
}

struct sel {
	json_t *only, *skip;
};

static void list_tasks_in(const struct pb_list *l, const struct pb_play *p, json_t *alltags,
                          int show, const struct sel *sel)
{
	for (int i = 0; i < l->n; i++) {
		const struct pb_task *t = l->v[i];
		if (t->kind == PB_BLOCK) {
			list_tasks_in(&t->block, p, alltags, show, sel);
			continue;
		}
		/* Ansible lists a task's tags with those it inherits from the play */
		json_t *tags = pb_task_tags(t, p);
		if (!exec_tags_match(tags, sel->only, sel->skip)) {
			json_decref(tags);
			continue;
		}
		size_t k;
		json_t *v;
		json_array_foreach (tags, k, v) {
			int seen = 0;
			for (size_t j = 0; j < json_array_size(alltags); j++)
				seen |= json_equal(json_array_get(alltags, j), v);
			if (!seen)
				json_array_append(alltags, v);
		}
		if (show) {
			/* the role's name joins an include_role's title only when it
			 * runs (Ansible's listing knows the action alone) */
			char *title = t->kind == PB_INCLUDE_ROLE && !t->name ? xstrdup(t->action)
			                                                     : pb_task_title(t);
			printf("      %s\t", title);
			print_tags("TAGS", tags);
			printf("\n");
			free(title);
		}
		json_decref(tags);
	}
}

static int list_play(struct session *s, const struct cli *c, struct pb_play *p, int n,
                     struct err *e)
{
	json_t *ptags = pb_task_tags(NULL, p);
	struct sel sel = {exec_split_tags(c->tags, "all"), exec_split_tags(c->skip_tags, NULL)};
	int rc = 0;
	printf("\n  play #%d (%s): %s\t", n, p->hosts, p->name);
	print_tags("TAGS", ptags);
	printf("\n");
	if (c->list_hosts) {
		json_t *hosts = inventory_select(&s->inv, p->hosts, c->limit, e);
		if (!hosts) {
			rc = e->code;
			goto out;
		}
		printf("    pattern: ['%s']\n    hosts (%zu):\n", p->hosts, json_array_size(hosts));
		for (size_t i = 0; i < json_array_size(hosts); i++)
			printf("      %s\n", json_string_value(json_array_get(hosts, i)));
		json_decref(hosts);
	}
	if (c->list_tasks) {
		printf("    tasks:\n");
		list_tasks_in(&p->pre_tasks, p, NULL, 1, &sel);
		list_tasks_in(&p->tasks, p, NULL, 1, &sel);
		list_tasks_in(&p->post_tasks, p, NULL, 1, &sel);
	}
	if (c->list_tags) {
		/* like ansible-playbook, rescue and always sections are not listed */
		json_t *all = json_deep_copy(ptags);
		list_tasks_in(&p->pre_tasks, p, all, 0, &sel);
		list_tasks_in(&p->tasks, p, all, 0, &sel);
		list_tasks_in(&p->post_tasks, p, all, 0, &sel);
		printf("      ");
		print_tags("TASK TAGS", all);
		printf("\n");
		json_decref(all);
	}
out:
	json_decref(sel.only);
	json_decref(sel.skip);
	json_decref(ptags);
	return rc;
}

static int list_playbook(struct session *s, const struct cli *c, struct playbook *pb,
                         const char *given, struct err *e)
{
	printf("\nplaybook: %s\n", given);
	for (int i = 0; i < pb->nplays; i++)
		if (list_play(s, c, pb->plays[i], i + 1, e))
			return e->code;
	return 0;
}

static int report(struct err *e, int code)
{
	char msg[2600];
	log_error("%s", err_format(e, msg, sizeof(msg)));
	return code;
}

static int run_all(struct session *s, struct cli *c, struct playbook **pbs, int n, struct err *e)
{
	if (c->list_hosts || c->list_tasks || c->list_tags) {
		for (int i = 0; i < n; i++)
			if (list_playbook(s, c, pbs[i], c->args.v[i], e))
				return report(e, EXIT_ERROR);
		return EXIT_OK;
	}
	if (c->syntax_check) {
		for (int i = 0; i < n; i++)
			printf("\nplaybook: %s\n", c->args.v[i]);
		return EXIT_OK;
	}
	int rc = exec_playbooks(&s->cfg, pbs, n, e);
	return rc < 0 ? report(e, EXIT_ERROR) : rc;
}

int cmd_run(struct cli *c)
{
	struct session s;
	struct err e;
	struct playbook **pbs = NULL;
	int n = 0, code;
	err_init(&e);
	if (!c->args.n) {
		fprintf(stderr,
		        "drover run: give at least one playbook: drover run PLAYBOOK.yml\n");
		return EXIT_ERROR;
	}
	if (c->step && !isatty(0)) {
		fprintf(stderr, "drover run: --step asks before each task and needs a terminal\n");
		return EXIT_ERROR;
	}
	if ((code = session_open(&s, c, OUT_DEFAULT, &e))) {
		report(&e, code);
		goto out;
	}
	struct pb_env env = {session_action_flags, c->cfg.roles_path, s.extra_vars};
	pbs = xcalloc((size_t)c->args.n, sizeof(*pbs));
	for (n = 0; n < c->args.n; n++) {
		if (access(c->args.v[n], R_OK)) {
			err_set(&e, ERR_IO, NULL, 0, 0, "the playbook: %s could not be found",
			        c->args.v[n]);
			code = report(&e, EXIT_ERROR);
			goto out;
		}
		if (!(pbs[n] = playbook_load(c->args.v[n], &env, &e))) {
			code = report(&e, EXIT_ERROR);
			goto out;
		}
		if (session_add_playbook_dir(&s, pbs[n]->dir, &e)) {
			n++;
			code = report(&e, EXIT_ERROR);
			goto out;
		}
	}
	code = run_all(&s, c, pbs, n, &e);
out:
	for (int i = 0; i < n; i++)
		playbook_free(pbs[i]);
	free(pbs);
	session_close(&s);
	return code;
}
