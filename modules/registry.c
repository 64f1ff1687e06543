/*
 * registry.c - the single table of built-in modules (git's commands[]),
 * lookup by short name, FQCN or alias, and modules added at run time (Lua).
 *
 * Every module answers to ansible.legacy.NAME; Ansible's own modules list
 * ansible.builtin.NAME in their aliases, and other collection names (ansible.posix.x,
 * community.general.x) are listed in a module's own aliases, and only where drover's module is a
 * true equivalent.
 */
#include "modules/module.h"

#include <pthread.h>
#include <string.h>

#include "util/mem.h"

#define BUILTINS(X)                                                                                \
	X(command)                                                                                 \
	X(shell)                                                                                   \
	X(raw)                                                                                     \
	X(ping)                                                                                    \
	X(debug)                                                                                   \
	X(fail)                                                                                    \
	X(assert)                                                                                  \
	X(set_fact)                                                                                \
	X(include_vars)                                                                            \
	X(pause)                                                                                   \
	X(stat)                                                                                    \
	X(file)                                                                                    \
	X(copy)                                                                                    \
	X(template)                                                                                \
	X(lineinfile)                                                                              \
	X(blockinfile)                                                                             \
	X(replace)                                                                                 \
	X(setup)                                                                                   \
	X(slurp)                                                                                   \
	X(fetch)                                                                                   \
	X(service)                                                                                 \
	X(systemd)                                                                                 \
	X(wait_for)                                                                                \
	X(wait_for_connection)                                                                     \
	X(reboot)                                                                                  \
	X(package)                                                                                 \
	X(apt)                                                                                     \
	X(user)                                                                                    \
	X(group)                                                                                   \
	X(script)                                                                                  \
	X(get_url)                                                                                 \
	X(uri)                                                                                     \
	X(k3s_release)                                                                             \
	X(k3s_info)                                                                                \
	X(k3s_install)                                                                             \
	X(drain)                                                                                   \
	X(uncordon)                                                                                \
	X(k3s_wait_ready)                                                                          \
	X(etcd_snapshot)                                                                           \
	X(async_status)

#define DECLARE(n) extern const struct module_def module_##n;
BUILTINS(DECLARE)
#undef DECLARE

#define ENTRY(n) &module_##n,
static const struct module_def *const builtins[] = {BUILTINS(ENTRY) NULL};
#undef ENTRY

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const struct module_def **all; /* builtins + registered, NULL-terminated */
static size_t nall;

static void init_all(void)
{
	if (all)
		return;
	for (nall = 0; builtins[nall]; nall++)
		;
	all = xcalloc(nall + 1, sizeof(*all));
	memcpy(all, builtins, nall * sizeof(*all));
}

static int matches(const struct module_def *m, const char *name)
{
	if (!strcmp(m->name, name))
		return 1;
	for (const char *const *a = m->aliases; a && *a; a++)
		if (!strcmp(*a, name))
			return 1;
	/* ansible.legacy is "built-in or the site's own", so it names them all;
	 * ansible.builtin only where a module lists it. */
	if (!strncmp(name, "ansible.legacy.", 15))
		return !strcmp(m->name, name + 15);
	return 0;
}

const struct module_def *module_find(const char *name)
{
	const struct module_def *found = NULL;
	if (!name)
		return NULL;
	pthread_mutex_lock(&lock);
	init_all();
	/* Registered (Lua) modules come after the built-ins in the list but are
	 * looked up first, so a site's own module can stand in for a built-in
	 * under its short name, as a library/ module does in Ansible. */
	for (size_t i = nall; i-- > 0 && !found;)
		if (matches(all[i], name))
			found = all[i];
	pthread_mutex_unlock(&lock);
	return found;
}

const struct module_def *const *module_all(void)
{
	const struct module_def *const *ret;
	pthread_mutex_lock(&lock);
	init_all();
	ret = all;
	pthread_mutex_unlock(&lock);
	return ret;
}

int module_register(const struct module_def *def)
{
	int ret = 0;
	if (!def || !def->name || !def->run)
		return -1;
	pthread_mutex_lock(&lock);
	init_all();
	for (size_t i = sizeof(builtins) / sizeof(*builtins) - 1; i < nall; i++)
		if (!strcmp(all[i]->name, def->name))
			ret = -1;
	if (ret == 0) {
		all = xrealloc(all, (nall + 2) * sizeof(*all));
		all[nall++] = def;
		all[nall] = NULL;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}
