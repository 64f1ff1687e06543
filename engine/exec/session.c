/*
 * Run setup shared by the run and exec subcommands.
 */
#include "exec/session.h"
#include "lua/lmodule.h"
#include "modules/module.h"
#include "util/log.h"
#include "util/mem.h"
#include "vars/vars.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>
#include <string.h>

/* The first Ctrl-C lets running commands finish, starts nothing new and
 * prints the recap; a second one leaves at once. */
static void on_sigint(int sig)
{
	static volatile sig_atomic_t count;
	(void)sig;
	if (count++) {
		static const char msg[] = "\ninterrupted\n";
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(130);
		_exit(130);
	}
	exec_interrupt();
}

int session_action_flags(const char *name)
{
	const struct module_def *m = module_find(name);
	return m ? m->flags : -1;
}

static int load_inventory(struct session *s, struct cli *c, struct err *e)
{
	const struct strlist *srcs = cli_inventories(c);
	inventory_init(&s->inv);
	for (int i = 0; srcs && i < srcs->n; i++) {
		if (inventory_load(&s->inv, srcs->v[i], e))
			return e->code;
		if (!s->inventory_dir && !strchr(srcs->v[i], ',')) {
			char *d = xstrdup(srcs->v[i]);
			s->inventory_dir = xstrdup(dirname(d));
			free(d);
		}
	}
	if (!srcs || !srcs->n)
		log_warn("provided hosts list is empty, only localhost is available. Note that "
		         "the implicit localhost does not match 'all'");
	return inventory_finish(&s->inv, e);
}

/* -k / -K: asked once on the terminal, echo off, as Ansible's prompts. */
static char *ask_secret(const char *prompt, struct err *e)
{
	FILE *tty = fopen("/dev/tty", "r+");
	struct termios old, quiet;
	char line[1024];
	if (!tty)
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "%s needs a terminal; set the password in the inventory instead",
		               prompt),
		       NULL;
	fputs(prompt, tty);
	fflush(tty);
	int restore = !tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	char *got = fgets(line, sizeof(line), tty);
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	if (!got)
		return err_set(e, ERR_GENERIC, NULL, 0, 0, "no password given"), NULL;
	line[strcspn(line, "\n")] = 0;
	return xstrdup(line);
}

int session_open(struct session *s, struct cli *c, enum out_kind kind, struct err *e)
{
	memset(s, 0, sizeof(*s));
	log_verbosity = c->verbosity;
	if (!(s->extra_vars = vars_parse_extra(c->extra_vars.v, c->extra_vars.n, e)))
		return EXIT_ERROR;
	if (lua_modules_load_path(c->cfg.library, e))
		return EXIT_ERROR;
	if (load_inventory(s, c, e))
		return EXIT_ERROR;
	s->hooks = lua_hooks_new(e);
	if (!s->hooks)
		return EXIT_INTERNAL;
	if (c->cfg.lua_hooks && lua_hooks_load_list(s->hooks, c->cfg.lua_hooks, e))
		return EXIT_ERROR;
	for (int i = 0; i < c->hooks.n; i++)
		if (lua_hooks_load(s->hooks, c->hooks.v[i], e))
			return EXIT_ERROR;
	if (c->ask_pass && !(s->password = ask_secret("SSH password: ", e)))
		return EXIT_ERROR;
	if ((c->ask_become_pass || c->cfg.become_ask_pass) &&
	    !(s->become_password = ask_secret("BECOME password: ", e)))
		return EXIT_ERROR;
	struct conn_defaults d = {
	    .password = s->password,
	    .user = c->user ? c->user : c->cfg.remote_user,
	    .private_key = c->private_key ? c->private_key : c->cfg.private_key_file,
	    .host_key_checking = c->cfg.host_key_checking,
	    .timeout = c->timeout ? c->timeout : c->cfg.timeout,
	    .connection = c->connection,
	};
	s->pool = conn_pool_new(&d);
	if (kind == OUT_DEFAULT &&
	    ((c->output && !strcmp(c->output, "json")) ||
	     (!c->output && c->cfg.stdout_callback && !strcmp(c->cfg.stdout_callback, "json"))))
		kind = OUT_JSON;
	s->out = output_new(kind, c->verbosity, stdout);
	struct exec_cfg *x = &s->cfg;
	x->inv = &s->inv;
	x->pool = s->pool;
	x->out = s->out;
	x->extra_vars = s->extra_vars;
	x->forks = c->forks ? c->forks : c->cfg.forks ? c->cfg.forks : 5;
	x->check = c->check;
	x->diff = c->diff;
	x->verbosity = c->verbosity;
	x->step = c->step;
	x->limit = c->limit;
	x->tags = c->tags;
	x->skip_tags = c->skip_tags;
	x->start_at_task = c->start_at_task;
	x->become = c->become || c->cfg.become;
	x->become_user = c->become_user ? c->become_user : c->cfg.become_user;
	x->become_method = c->become_method ? c->become_method : c->cfg.become_method;
	x->become_flags = c->cfg.become_flags;
	x->become_exe = c->cfg.become_exe;
	x->remote_user = d.user;
	x->become_password = s->become_password;
	x->inventory_dir = s->inventory_dir;
	x->hooks = s->hooks;
	signal(SIGINT, on_sigint);
	output_mask_stderr(1); /* no_log values out of -vvv command lines */
	return 0;
}

int session_add_playbook_dir(struct session *s, const char *dir, struct err *e)
{
	return inventory_add_vars_dir(&s->inv, dir, e);
}

void session_close(struct session *s)
{
	signal(SIGINT, SIG_DFL);
	output_mask_stderr(0);
	if (s->pool)
		conn_pool_free(s->pool);
	output_free(s->out);
	if (s->hooks)
		lua_hooks_free(s->hooks);
	inventory_release(&s->inv);
	json_decref(s->extra_vars);
	free(s->inventory_dir);
	free(s->password);
	free(s->become_password);
}
