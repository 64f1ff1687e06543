/*
 * ssh_int.h - how an ssh host is reached: the settings ssh.c connects with,
 * gathered from the inventory vars, the CLI/config defaults and the `-o`
 * options users put in ansible_ssh_common_args, in that order of strength
 * (a -o option beats a var; a var beats the CLI; ~/.ssh/config and
 * /etc/ssh/ssh_config fill what nobody set).
 */
#ifndef DROVER_SSH_INT_H
#define DROVER_SSH_INT_H

#include <libssh/libssh.h>

#include "conn/conn_int.h"

enum ssh_hostkey_policy {
	HOSTKEY_NO,         /* host_key_checking = False: accept, record nothing */
	HOSTKEY_YES,        /* only keys already in known_hosts */
	HOSTKEY_ACCEPT_NEW, /* record unknown keys, refuse changed ones */
};

struct ssh_settings {
	char *addr;          /* ansible_host, or the inventory name */
	int port;            /* 0: from ssh config, else 22 */
	char *user;          /* NULL: from ssh config, else the login user */
	char *key;           /* private key file */
	char *password;      /* last resort */
	char *known_hosts;   /* UserKnownHostsFile */
	char *proxy;         /* ProxyCommand */
	char *jump;          /* ProxyJump: becomes a ProxyCommand, as in OpenSSH */
	char *config;        /* -F file instead of ~/.ssh/config */
	int policy;          /* enum ssh_hostkey_policy */
	int identities_only; /* IdentitiesOnly: no agent or default keys when key is set */
	int connect_timeout; /* seconds */
	int alive;           /* ServerAliveInterval, seconds */
	int alive_max;       /* ServerAliveCountMax */
};

/* Collect the settings for c. Errors name the bad var or option. */
int ssh_settings_load(const struct conn *c, struct ssh_settings *st, struct err *e);
void ssh_settings_release(struct ssh_settings *st);
/* Configure a fresh session: host, ssh config files, then our overrides. */
int ssh_settings_apply(const struct ssh_settings *st, ssh_session s, struct err *e);

/* ssh_auth.c: check the server's key against known_hosts under st->policy,
 * then log in (agent and key files, then the password). ERR_UNREACH with
 * the reason and what to do. */
int ssh_verify_host(const struct ssh_settings *st, ssh_session s, unsigned int port, struct err *e);
/* Passphrase prompts: only on a terminal, one at a time (libssh auth callback). */
int ssh_auth_prompt(const char *prompt, char *buf, size_t len, int echo, int verify, void *ud);
int ssh_authenticate(const struct ssh_settings *st, ssh_session s, const char *label,
                     struct err *e);

#endif
