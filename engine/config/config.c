#include "config/config.h"
#include "util/log.h"
#include "util/mem.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->forks = 5;
	c->host_key_checking = 1;
	c->timeout = 10;
	c->raw = json_object();
}

void config_release(struct config *c)
{
	free(c->path);
	free(c->inventory);
	free(c->remote_user);
	free(c->private_key_file);
	free(c->roles_path);
	free(c->library);
	free(c->lua_hooks);
	free(c->stdout_callback);
	free(c->become_user);
	free(c->become_method);
	free(c->become_flags);
	free(c->become_exe);
	free(c->ssh_args);
	json_decref(c->raw);
	memset(c, 0, sizeof(*c));
}

int config_bool(const char *s)
{
	static const char *const t[] = {"yes", "true", "on", "1", "y", "t"};
	static const char *const f[] = {"no", "false", "off", "0", "n", "f", ""};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcasecmp(s, t[i]))
			return 1;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcasecmp(s, f[i]))
			return 0;
	return -1;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

enum ktype { K_STR, K_INT, K_BOOL };
struct known {
	const char *section, *key;
	enum ktype type;
	size_t off;
};

#define OFF(f) offsetof(struct config, f)
static const struct known known_keys[] = {
    {"defaults", "inventory", K_STR, OFF(inventory)},
    {"defaults", "hostfile", K_STR, OFF(inventory)},
    {"defaults", "forks", K_INT, OFF(forks)},
    {"defaults", "remote_user", K_STR, OFF(remote_user)},
    {"defaults", "private_key_file", K_STR, OFF(private_key_file)},
    {"defaults", "host_key_checking", K_BOOL, OFF(host_key_checking)},
    {"defaults", "roles_path", K_STR, OFF(roles_path)},
    {"defaults", "library", K_STR, OFF(library)},
    {"defaults", "lua_hooks", K_STR, OFF(lua_hooks)},
    {"defaults", "timeout", K_INT, OFF(timeout)},
    {"defaults", "stdout_callback", K_STR, OFF(stdout_callback)},
    {"privilege_escalation", "become", K_BOOL, OFF(become)},
    {"privilege_escalation", "become_user", K_STR, OFF(become_user)},
    {"privilege_escalation", "become_method", K_STR, OFF(become_method)},
    {"privilege_escalation", "become_flags", K_STR, OFF(become_flags)},
    {"privilege_escalation", "become_exe", K_STR, OFF(become_exe)},
    {"privilege_escalation", "become_ask_pass", K_BOOL, OFF(become_ask_pass)},
    {"ssh_connection", "ssh_args", K_STR, OFF(ssh_args)},
    {"ssh_connection", "pipelining", K_BOOL, OFF(pipelining)},
};

static int apply(struct config *c, const char *path, int lineno, const char *sec, const char *key,
                 const char *val, struct err *e)
{
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
		const struct known *k = &known_keys[i];
		if (strcmp(k->section, sec) || strcmp(k->key, key))
			continue;
		void *field = (char *)c + k->off;
		if (k->type == K_STR) {
			set_str((char **)field, val);
		} else if (k->type == K_INT) {
			char *end;
			long n = strtol(val, &end, 10);
			if (!*val || *end || n < 0 || n > 100000)
				return err_set(e, ERR_PARSE, path, lineno, 1,
				               "[%s] %s must be a whole number, not '%s'", sec, key,
				               val);
			*(int *)field = (int)n;
		} else {
			int b = config_bool(val);
			if (b < 0)
				return err_set(e, ERR_PARSE, path, lineno, 1,
				               "[%s] %s must be a boolean (yes/no, true/false), "
				               "not '%s'",
				               sec, key, val);
			*(int *)field = b;
		}
		return 0;
	}
	log_verbose(1, "%s:%d: [%s] %s is not used by drover; ignored", path, lineno, sec, key);
	return 0;
}

int config_load_file(struct config *c, const char *path, struct err *e)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		return err_set(e, ERR_IO, path, 0, 0, "cannot read config: %s", strerror(errno));
	char sec[128] = "defaults";
	int lineno = 0, rc = 0;
	char *save = NULL;
	set_str(&c->path, path);
	for (char *line = text; line && !rc; line = save) {
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			if (!close) {
				rc = err_set(e, ERR_PARSE, path, lineno, 1,
				             "section header needs a closing ']'");
				break;
			}
			*close = '\0';
			snprintf(sec, sizeof(sec), "%s", trim(s + 1));
			continue;
		}
		char *eq = strpbrk(s, "=:");
		if (!eq) {
			rc = err_set(e, ERR_PARSE, path, lineno, 1,
			             "expected 'key = value', got '%s'", s);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		/* Inline comments need whitespace before them, as configparser. */
		for (char *p = val; *p; p++)
			if ((*p == ';' || *p == '#') && p > val && isspace((unsigned char)p[-1])) {
				*p = '\0';
				val = trim(val);
				break;
			}
		json_t *s_obj = json_object_get(c->raw, sec);
		if (!s_obj) {
			s_obj = json_object();
			json_object_set_new(c->raw, sec, s_obj);
		}
		json_object_set_new(s_obj, key, json_string(val));
		rc = apply(c, path, lineno, sec, key, val, e);
	}
	free(text);
	return rc;
}

int config_load(struct config *c, const char *explicit_path, struct err *e)
{
	const char *home = getenv("HOME");
	char homecfg[2][1024] = {"", ""};
	if (home) {
		snprintf(homecfg[0], sizeof(homecfg[0]), "%s/.drover.cfg", home);
		snprintf(homecfg[1], sizeof(homecfg[1]), "%s/.ansible.cfg", home);
	}
	const char *order[] = {explicit_path,
	                       getenv("DROVER_CONFIG"),
	                       getenv("ANSIBLE_CONFIG"),
	                       "drover.cfg",
	                       "ansible.cfg",
	                       homecfg[0],
	                       homecfg[1],
	                       "/etc/ansible/ansible.cfg"};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *p = order[i];
		if (!p || !*p)
			continue;
		if (i < 3 && access(p, R_OK))
			return err_set(e, ERR_IO, p, 0, 0, "cannot read config: %s",
			               strerror(errno));
		if (access(p, R_OK))
			continue;
		log_verbose(1, "Using %s as config file", p);
		return config_load_file(c, p, e);
	}
	return 0;
}
