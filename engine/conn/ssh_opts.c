/*
 * ssh_opts.c - the settings of an ssh connection, from inventory vars, the
 * CLI defaults and the OpenSSH options users carry over from Ansible in
 * ansible_ssh_common_args / ansible_ssh_extra_args.
 *
 * Only options that change how drover connects are honoured; options that
 * only make sense for the OpenSSH binary (ControlMaster, ControlPersist,
 * ControlPath, ...) are accepted and ignored, since drover keeps one session
 * per host anyway. Unknown options draw one warning.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn/ssh_int.h"
#include "util/log.h"
#include "util/mem.h"

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

/* yes/true/1/on and friends, as Ansible's boolean(): -1 when not a bool. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = {"yes", "true", "1", "on", "y", "t", NULL};
	static const char *const no[] = {"no", "false", "0", "off", "n", "f", NULL};
	int i;

	for (i = 0; yes[i]; i++)
		if (!strcasecmp(v, yes[i]))
			return 1;
	for (i = 0; no[i]; i++)
		if (!strcasecmp(v, no[i]))
			return 0;
	return -1;
}

/* Split like a POSIX shell would for plain words and quotes (no
 * expansions): ansible_ssh_common_args is a shell-quoted string. */
static char **split_args(const char *s, int *argc)
{
	char **argv = NULL;
	struct buf w = BUF_INIT;
	int n = 0, in_word = 0;
	char q = 0;

	for (;; s++) {
		if (!*s || (!q && isspace((unsigned char)*s))) {
			if (in_word) {
				argv = xrealloc(argv, (size_t)(n + 2) * sizeof(*argv));
				argv[n++] = buf_detach(&w);
				argv[n] = NULL;
				in_word = 0;
			}
			if (!*s)
				break;
			continue;
		}
		in_word = 1;
		if (q == *s)
			q = 0;
		else if (!q && (*s == '\'' || *s == '"'))
			q = *s;
		else if (*s == '\\' && q != '\'' && s[1])
			buf_addc(&w, *++s);
		else
			buf_addc(&w, *s);
		if (!w.s)
			buf_adds(&w, "");
	}
	buf_release(&w);
	*argc = n;
	return argv;
}

static int parse_int_opt(const char *key, const char *v, int *out, struct err *e)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (end == v || *end || n < 0 || n > 1000000)
		return err_set(e, ERR_GENERIC, NULL, 0, 0,
		               "ssh option %s=%s: expected a number of seconds or a count", key, v);
	*out = (int)n;
	return 0;
}

/* ProxyJump user@a:22,b -> the ProxyCommand OpenSSH itself would run,
 * passing on -F as OpenSSH does so the jump hosts use the same config. */
static char *proxy_from_jump(const char *jump, const char *config)
{
	const char *last = strrchr(jump, ',');
	struct buf b = BUF_INIT;

	buf_adds(&b, "ssh");
	if (config) {
		buf_adds(&b, " -F ");
		buf_add_shquote(&b, config);
	}
	if (last) {
		char *first = xstrndup(jump, (size_t)(last - jump));
		buf_adds(&b, " -J ");
		buf_add_shquote(&b, first);
		free(first);
		jump = last + 1;
	}
	buf_adds(&b, " -W '[%h]:%p' ");
	buf_add_shquote(&b, jump);
	return buf_detach(&b);
}

static const char *const ignored_opts[] = {"controlmaster",
                                           "controlpersist",
                                           "controlpath",
                                           "compression",
                                           "forwardagent",
                                           "preferredauthentications",
                                           "kbdinteractiveauthentication",
                                           "gssapiauthentication",
                                           "pubkeyauthentication",
                                           "passwordauthentication",
                                           "loglevel",
                                           "batchmode",
                                           "hashknownhosts",
                                           "addkeystoagent",

                                           "tcpkeepalive",
                                           "sendenv",
                                           "requesttty",
                                           "globalknownhostsfile",
                                           "checkhostip",
                                           "connectionattempts",
                                           NULL};

/* One warning per unknown option per run, not one per host. */
static void warn_once(const char *key)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct buf seen;
	struct buf k = BUF_INIT;
	int first;

	buf_addf(&k, "|%s|", key);
	pthread_mutex_lock(&lock);
	first = !seen.s || !strcasestr(seen.s, k.s);
	if (first)
		buf_adds(&seen, k.s);
	pthread_mutex_unlock(&lock);
	if (first)
		log_warn("ssh option %s is not supported by drover and is ignored", key);
	buf_release(&k);
}

static int apply_opt(struct ssh_settings *st, const char *kv, struct err *e)
{
	char key[64];
	const char *v;
	size_t kl = strcspn(kv, "= \t");
	int i;

	if (!kl || kl >= sizeof(key) || !kv[kl])
		return err_set(e, ERR_GENERIC, NULL, 0, 0, "ssh option '%s': expected -o Key=Value",
		               kv);
	memcpy(key, kv, kl);
	key[kl] = '\0';
	for (v = kv + kl; *v == '=' || *v == ' ' || *v == '\t'; v++)
		;
	if (!strcasecmp(key, "StrictHostKeyChecking")) {
		if (!strcasecmp(v, "accept-new"))
			st->policy = HOSTKEY_ACCEPT_NEW;
		else if (!strcasecmp(v, "ask") || parse_bool(v) == 1)
			st->policy = HOSTKEY_YES;
		else if (parse_bool(v) == 0)
			st->policy = HOSTKEY_NO;
		else
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "ssh option StrictHostKeyChecking=%s: expected yes, no or "
			               "accept-new",
			               v);
	} else if (!strcasecmp(key, "UserKnownHostsFile")) {
		set_str(&st->known_hosts, v);
	} else if (!strcasecmp(key, "ProxyJump")) {
		set_str(&st->jump, strcasecmp(v, "none") ? v : NULL);
	} else if (!strcasecmp(key, "ProxyCommand")) {
		set_str(&st->proxy, strcasecmp(v, "none") ? v : NULL);
	} else if (!strcasecmp(key, "ConnectTimeout")) {
		return parse_int_opt(key, v, &st->connect_timeout, e);
	} else if (!strcasecmp(key, "ServerAliveInterval")) {
		return parse_int_opt(key, v, &st->alive, e);
	} else if (!strcasecmp(key, "ServerAliveCountMax")) {
		return parse_int_opt(key, v, &st->alive_max, e);
	} else if (!strcasecmp(key, "IdentitiesOnly")) {
		st->identities_only = parse_bool(v) == 1;
	} else if (!strcasecmp(key, "IdentityFile")) {
		set_str(&st->key, v);
	} else if (!strcasecmp(key, "User")) {
		set_str(&st->user, v);
	} else if (!strcasecmp(key, "Port")) {
		return parse_int_opt(key, v, &st->port, e);
	} else {
		for (i = 0; ignored_opts[i]; i++)
			if (!strcasecmp(key, ignored_opts[i]))
				return 0;
		warn_once(key);
	}
	return 0;
}

static int apply_args(struct ssh_settings *st, const char *args, struct err *e)
{
	int argc, i, ret = 0;
	char **argv = split_args(args, &argc);

	for (i = 0; i < argc && !ret; i++) {
		const char *a = argv[i], *val;
		if (a[0] != '-' || !a[1] || !strchr("oiplJF", a[1])) {
			/* Flags such as -C, -q, -v change nothing drover does. */
			continue;
		}
		val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
		if (!val) {
			ret = err_set(e, ERR_GENERIC, NULL, 0, 0,
			              "ssh argument %s needs a value (in ansible_ssh_common_args)",
			              a);
			break;
		}
		switch (a[1]) {
		case 'o':
			ret = apply_opt(st, val, e);
			break;
		case 'i':
			set_str(&st->key, val);
			break;
		case 'l':
			set_str(&st->user, val);
			break;
		case 'F':
			set_str(&st->config, val);
			break;
		case 'p':
			ret = parse_int_opt("-p", val, &st->port, e);
			break;
		case 'J':
			set_str(&st->jump, val);
			break;
		}
	}
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return ret;
}

static const char *first_var(const struct conn *c, const char *const *names, char *tmp, size_t n)
{
	const char *v;

	for (; *names; names++)
		if ((v = conn_var(c, *names, tmp, n)))
			return v;
	return NULL;
}

static int load_vars(const struct conn *c, struct ssh_settings *st, struct err *e)
{
	static const char *const host[] = {"ansible_host", "ansible_ssh_host", NULL};
	static const char *const port[] = {"ansible_port", "ansible_ssh_port", NULL};
	static const char *const user[] = {"ansible_user", "ansible_ssh_user", NULL};
	static const char *const key[] = {"ansible_ssh_private_key_file",
	                                  "ansible_private_key_file", NULL};
	static const char *const pass[] = {"ansible_password", "ansible_ssh_pass",
	                                   "ansible_ssh_password", NULL};
	static const char *const hkc[] = {"ansible_ssh_host_key_checking",
	                                  "ansible_host_key_checking", NULL};
	static const char *const tmo[] = {"ansible_ssh_timeout", "ansible_timeout", NULL};
	char tmp[64];
	const char *v;

	set_str(&st->addr, (v = first_var(c, host, tmp, sizeof(tmp))) ? v : c->host);
	if ((v = first_var(c, port, tmp, sizeof(tmp))) &&
	    parse_int_opt("ansible_port", v, &st->port, e))
		return e->code;
	if ((v = first_var(c, user, tmp, sizeof(tmp))))
		set_str(&st->user, v);
	if ((v = first_var(c, key, tmp, sizeof(tmp))))
		set_str(&st->key, v);
	if ((v = first_var(c, pass, tmp, sizeof(tmp))))
		set_str(&st->password, v);
	if ((v = first_var(c, hkc, tmp, sizeof(tmp)))) {
		if (parse_bool(v) < 0)
			return err_set(e, ERR_GENERIC, NULL, 0, 0,
			               "ansible_host_key_checking=%s: expected true or false", v);
		st->policy = parse_bool(v) ? HOSTKEY_YES : HOSTKEY_NO;
	}
	if ((v = first_var(c, tmo, tmp, sizeof(tmp))) &&
	    parse_int_opt("ansible_ssh_timeout", v, &st->connect_timeout, e))
		return e->code;
	return 0;
}

int ssh_settings_load(const struct conn *c, struct ssh_settings *st, struct err *e)
{
	const struct conn_defaults *d = &c->pool->d;
	const char *args[] = {"ansible_ssh_common_args", "ansible_ssh_extra_args", NULL};
	char tmp[64];
	int i, ret;

	memset(st, 0, sizeof(*st));
	st->policy = d->host_key_checking ? HOSTKEY_YES : HOSTKEY_NO;
	st->connect_timeout = d->timeout > 0 ? d->timeout : 10;
	st->alive = 15;
	st->alive_max = 3;
	set_str(&st->user, d->user);
	set_str(&st->key, d->private_key);
	set_str(&st->password, d->password);
	ret = load_vars(c, st, e);
	for (i = 0; !ret && args[i]; i++) {
		const char *v = conn_var(c, args[i], tmp, sizeof(tmp));
		if (v && (ret = apply_args(st, v, e)))
			err_prefix(e, "%s", args[i]);
	}
	if (!ret && st->jump && !st->proxy)
		st->proxy = proxy_from_jump(st->jump, st->config);
	return ret;
}

void ssh_settings_release(struct ssh_settings *st)
{
	free(st->addr);
	free(st->user);
	free(st->key);
	if (st->password) {
		explicit_bzero(st->password, strlen(st->password));
		free(st->password);
	}
	free(st->known_hosts);
	free(st->proxy);
	free(st->jump);
	free(st->config);
	memset(st, 0, sizeof(*st));
}

int ssh_settings_apply(const struct ssh_settings *st, ssh_session s, struct err *e)
{
	long timeout = st->connect_timeout;
	int yes = 1, no = 0;

	if (ssh_options_set(s, SSH_OPTIONS_HOST, st->addr) < 0)
		goto fail;
	/* ~/.ssh/config (or -F) then /etc/ssh/ssh_config fill in what the
	 * inventory did not say; options set below win. */
	if (st->config) {
		if (ssh_options_parse_config(s, st->config) < 0)
			goto fail;
	} else if (ssh_options_parse_config(s, NULL) < 0) {
		goto fail;
	}
	ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
	if (st->user && ssh_options_set(s, SSH_OPTIONS_USER, st->user) < 0)
		goto fail;
	if (st->port > 0 && ssh_options_set(s, SSH_OPTIONS_PORT, &st->port) < 0)
		goto fail;
	if (st->known_hosts && ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, st->known_hosts) < 0)
		goto fail;
	if (st->proxy && ssh_options_set(s, SSH_OPTIONS_PROXYCOMMAND, st->proxy) < 0)
		goto fail;
	if (ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) < 0)
		goto fail;
	ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes);
	return 0;
fail:
	return err_set(e, ERR_UNREACH, NULL, 0, 0,
	               "Failed to connect to the host via ssh: %s: bad ssh settings: %s", st->addr,
	               ssh_get_error(s));
}
