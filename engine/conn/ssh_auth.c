/*
 * ssh_auth.c - trusting the server and logging in.
 *
 * Host keys are checked against known_hosts like OpenSSH does: an unknown
 * key is refused unless accept-new (recorded) or host_key_checking = False
 * (not recorded); a CHANGED key is always refused, whatever the settings,
 * with a message that says so loudly and how to clear it. Every refusal says
 * what the user can do about it.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libssh/callbacks.h>

#include "conn/ssh_int.h"
#include "util/log.h"
#include "util/mem.h"

static pthread_mutex_t tty_lock = PTHREAD_MUTEX_INITIALIZER;

int ssh_auth_prompt(const char *prompt, char *buf, size_t len, int echo, int verify, void *ud)
{
	int rc;

	(void)ud;
	/* Never block a run that nobody watches on a passphrase prompt. */
	if (!isatty(STDIN_FILENO))
		return -1;
	pthread_mutex_lock(&tty_lock);
	rc = ssh_getpass(prompt, buf, len, echo, verify);
	pthread_mutex_unlock(&tty_lock);
	return rc;
}

static const char *known_hosts_name(const struct ssh_settings *st)
{
	return st->known_hosts ? st->known_hosts : "~/.ssh/known_hosts";
}

static int refuse_unknown(const struct ssh_settings *st, const char *spec, unsigned int port,
                          const char *type, const char *fp, struct err *e)
{
	char keyscan[64] = "";

	if (port != 22)
		snprintf(keyscan, sizeof(keyscan), "-p %u ", port);
	return err_set(e, ERR_UNREACH, NULL, 0, 0,
	               "Failed to connect to the host via ssh: Host key verification failed: %s is "
	               "not a known host (its %s key is %s). To trust it, check that fingerprint "
	               "and add the key: `ssh-keyscan %s%s >> %s`; or let drover record new keys "
	               "with ansible_ssh_common_args='-o StrictHostKeyChecking=accept-new'; or "
	               "turn checking off with host_key_checking = False in drover.cfg [defaults]",
	               spec, type, fp, keyscan, st->addr, known_hosts_name(st));
}

static int refuse_changed(const struct ssh_settings *st, const char *spec, const char *type,
                          const char *fp, struct err *e)
{
	return err_set(e, ERR_UNREACH, NULL, 0, 0,
	               "Failed to connect to the host via ssh: WARNING: REMOTE HOST IDENTIFICATION "
	               "HAS CHANGED for %s! It now offers the %s key %s, which is not the key "
	               "recorded in %s. Someone could be eavesdropping on you right now "
	               "(man-in-the-middle attack), or the host was reinstalled. drover refuses to "
	               "connect, whatever host_key_checking says. If the change is expected, "
	               "remove the old key with `ssh-keygen -f %s -R '%s'` and connect again",
	               spec, type, fp, known_hosts_name(st), known_hosts_name(st), spec);
}

int ssh_verify_host(const struct ssh_settings *st, ssh_session s, unsigned int port, struct err *e)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL, spec[300];
	const char *type;
	int ret = 0;

	if (port == 22)
		snprintf(spec, sizeof(spec), "%s", st->addr);
	else
		snprintf(spec, sizeof(spec), "[%s]:%u", st->addr, port);
	if (ssh_get_server_publickey(s, &key) < 0 ||
	    ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) < 0) {
		ret = err_set(e, ERR_UNREACH, NULL, 0, 0,
		              "Failed to connect to the host via ssh: %s: no usable host key: %s",
		              spec, ssh_get_error(s));
		goto out;
	}
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	type = ssh_key_type_to_char(ssh_key_type(key));
	switch (ssh_session_is_known_server(s)) {
	case SSH_KNOWN_HOSTS_OK:
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		ret = refuse_changed(st, spec, type, fp, e);
		break;
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		if (st->policy == HOSTKEY_NO) {
			log_verbose(2, "<%s> host key %s %s not checked (host_key_checking off)",
			            spec, type, fp);
		} else if (st->policy == HOSTKEY_ACCEPT_NEW) {
			if (ssh_session_update_known_hosts(s) != SSH_OK)
				ret = err_set(e, ERR_UNREACH, NULL, 0, 0,
				              "Failed to connect to the host via ssh: %s: cannot "
				              "record its host key in %s: %s",
				              spec, known_hosts_name(st), ssh_get_error(s));
			else
				log_verbose(1,
				            "Permanently added '%s' (%s) to the list of known "
				            "hosts (%s).",
				            spec, type, known_hosts_name(st));
		} else {
			ret = refuse_unknown(st, spec, port, type, fp, e);
		}
		break;
	default:
		ret =
		    err_set(e, ERR_UNREACH, NULL, 0, 0,
		            "Failed to connect to the host via ssh: %s: cannot check the host key "
		            "against %s: %s",
		            spec, known_hosts_name(st), ssh_get_error(s));
	}
out:
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(key);
	return ret;
}

static int auth_keyfile(ssh_session s, const char *file, char *why, size_t whysz)
{
	ssh_key key = NULL;
	char *path = NULL;
	const char *home = getenv("HOME");
	int rc;

	if (file[0] == '~' && file[1] == '/' && home)
		path = xasprintf("%s%s", home, file + 1);
	if (ssh_pki_import_privkey_file(path ? path : file, NULL, ssh_auth_prompt, NULL, &key) !=
	    SSH_OK) {
		snprintf(why, whysz,
		         " The private key %s could not be loaded (missing, unreadable, or "
		         "protected by a passphrase and no terminal to ask it on).",
		         file);
		free(path);
		return SSH_AUTH_DENIED;
	}
	rc = ssh_userauth_publickey(s, NULL, key);
	ssh_key_free(key);
	free(path);
	return rc;
}

/* keyboard-interactive as PAM uses it: answer hidden prompts with the password. */
static int auth_kbdint(ssh_session s, const char *password)
{
	int rc, i, n, rounds = 0;
	char echo;

	while ((rc = ssh_userauth_kbdint(s, NULL, NULL)) == SSH_AUTH_INFO && rounds++ < 5) {
		n = ssh_userauth_kbdint_getnprompts(s);
		for (i = 0; i < n; i++) {
			ssh_userauth_kbdint_getprompt(s, (unsigned)i, &echo);
			if (ssh_userauth_kbdint_setanswer(s, (unsigned)i, echo ? "" : password) < 0)
				return SSH_AUTH_ERROR;
		}
	}
	return rc;
}

static void method_names(int m, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s", m & SSH_AUTH_METHOD_PUBLICKEY ? "publickey," : "",
	         m & SSH_AUTH_METHOD_PASSWORD ? "password," : "",
	         m & SSH_AUTH_METHOD_INTERACTIVE ? "keyboard-interactive," : "");
	if (*out)
		out[strlen(out) - 1] = '\0';
}

int ssh_authenticate(const struct ssh_settings *st, ssh_session s, const char *label, struct err *e)
{
	char why[400] = "", names[80];
	int rc = ssh_userauth_none(s, NULL), m;

	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	m = ssh_userauth_list(s, NULL);
	if (rc != SSH_AUTH_ERROR && (m & SSH_AUTH_METHOD_PUBLICKEY) && st->key)
		rc = auth_keyfile(s, st->key, why, sizeof(why));
	/* ssh-agent, then the default keys and IdentityFile from ssh config. */
	if (rc != SSH_AUTH_SUCCESS && rc != SSH_AUTH_ERROR && (m & SSH_AUTH_METHOD_PUBLICKEY) &&
	    !(st->identities_only && st->key))
		rc = ssh_userauth_publickey_auto(s, NULL, NULL);
	if (rc != SSH_AUTH_SUCCESS && rc != SSH_AUTH_ERROR && st->password &&
	    (m & SSH_AUTH_METHOD_PASSWORD))
		rc = ssh_userauth_password(s, NULL, st->password);
	if (rc != SSH_AUTH_SUCCESS && rc != SSH_AUTH_ERROR && st->password &&
	    (m & SSH_AUTH_METHOD_INTERACTIVE))
		rc = auth_kbdint(s, st->password);
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		return err_set(e, ERR_UNREACH, NULL, 0, 0,
		               "Failed to connect to the host via ssh: %s: %s", label,
		               ssh_get_error(s));
	method_names(m, names, sizeof(names));
	return err_set(e, ERR_UNREACH, NULL, 0, 0,
	               "Failed to connect to the host via ssh: %s: Permission denied (%s).%s%s",
	               label, names, why,
	               st->key || st->password
	                   ? ""
	                   : " Give drover a key (ansible_ssh_private_key_file, --private-key, "
	                     "or ssh-agent) or a password (ansible_password, -k).");
}
