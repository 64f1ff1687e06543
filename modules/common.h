/*
 * common.h - helpers the built-in modules share (modules/common.c): typed
 * access to validated args, file modes as Ansible reads them, one-round-trip
 * stat of a path on the target, and the result fields every module fills
 * the same way.
 *
 * Helpers that talk to the host return 0, or a negative code with e set
 * when the host could not be reached; a command that ran and failed is not
 * an error here, it is reported in the module's result.
 */
#ifndef DROVER_MODULES_COMMON_H
#define DROVER_MODULES_COMMON_H

#include <jansson.h>
#include <stddef.h>

#include "modules/module.h"
#include "util/buf.h"

/*
 * The file-attribute rows of an argspec (Ansible's "files" fragment), one
 * definition for every module that writes a file: name, type, default and
 * aliases live here; help names the module's own file ("dest", "the
 * file"), so `drover doc` reads naturally for each.
 */
/* clang-format off */
#define MOD_ARG_MODE(help) {"mode", ARG_MODE, 0, NULL, NULL, 0, NULL, help}
#define MOD_ARG_OWNER(help) {"owner", ARG_STR, 0, NULL, NULL, 0, NULL, help}
#define MOD_ARG_GROUP(help) {"group", ARG_STR, 0, NULL, NULL, 0, NULL, help}
#define MOD_ARG_BACKUP(help) {"backup", ARG_BOOL, 0, "false", NULL, 0, NULL, help}
#define MOD_ARG_VALIDATE(help) {"validate", ARG_STR, 0, NULL, NULL, 0, NULL, help}
#define MOD_ARG_UNSAFE_WRITES(help) {"unsafe_writes", ARG_BOOL, 0, "false", NULL, 0, NULL, help}
#define MOD_ARG_ATTRIBUTES {"attributes", ARG_STR, 0, NULL, NULL, 0, "attr", "Accepted; not applied."}
/* clang-format on */
/* owner and group by name or id, of what ("dest", "the path") */
#define MOD_ARGS_OWNER_GROUP(what)                                                                 \
	MOD_ARG_OWNER("User name or uid to own " what "."),                                        \
	    MOD_ARG_GROUP("Group name or gid of " what ".")
/* mode, owner and group, briefly, of what ("dest", "the file") */
#define MOD_ARGS_ATTRS(what)                                                                       \
	MOD_ARG_MODE("Permissions of " what "."), MOD_ARG_OWNER("Owner of " what "."),             \
	    MOD_ARG_GROUP("Group of " what ".")
/* What lineinfile, blockinfile and replace take for the file they edit. */
#define MOD_ARGS_EDIT                                                                              \
	MOD_ARG_BACKUP("Keep the old file as path.PID.DATE~."), MOD_ARGS_ATTRS("the file"),        \
	    MOD_ARG_VALIDATE("A command run on the new file (%s) before it replaces path.")
#define MOD_ARG_UNSAFE_WRITES_ATOMIC MOD_ARG_UNSAFE_WRITES("Accepted; writes are atomic.")

/* Typed reads of validated args; NULL/0 when absent or null. */
const char *mod_str(const json_t *args, const char *key);
int mod_bool(const json_t *args, const char *key);
long long mod_int(const json_t *args, const char *key);

/*
 * A mode as Ansible reads it: an int is taken as the number it is (YAML
 * 0644 arrives as 420), text is octal ("0644", "644", "0o644") or symbolic
 * ("u=rw,g=r,o=r", "u+x,go-w") applied to cur. Returns 0, or -1 with a
 * message in why.
 */
int mod_mode_parse(const json_t *v, unsigned cur, int isdir, unsigned *out, struct buf *why);
/* "0644", "04755": a leading 0 always, as Ansible's file results show a
 * mode (stat's "mode" has four digits: "4755"). */
void mod_mode_str(unsigned mode, char out[8]);

/* What one `stat` of a path on the target says. */
struct mod_stat {
	int exists;
	char type;     /* 'f' file, 'd' directory, 'l' link, 'o' other */
	unsigned mode; /* permission bits incl. suid/sgid/sticky */
	unsigned raw;  /* st_mode with the file type bits */
	long long uid, gid, size, mtime, atime, ctime, inode, dev, nlink;
	char owner[64], group[64];
	char sha1[41];    /* "" unless asked for and a readable regular file */
	char *link;       /* link target, or NULL; owned */
	int target_isdir; /* for links: the target is a directory */
};

/*
 * Append a sh snippet that stats path (without following a link) and, when
 * checksum is set, prints the sha1 of a regular file. Output lines start
 * with tag so several snippets can share one command.
 */
void mod_stat_cmd(struct buf *cmd, const char *tag, const char *path, int checksum);
/* Parse the snippet's output for tag. Returns 0, or -1 if it is missing. */
int mod_stat_parse(const char *out, const char *tag, struct mod_stat *st);
void mod_stat_release(struct mod_stat *st);
/* Stat one path in one round trip. */
int mod_stat(struct task_ctx *ctx, const char *path, int checksum, struct mod_stat *st,
             struct err *e);

/* rc, stdout, stderr, stdout_lines, stderr_lines as Ansible fills them. */
void mod_result_cmd(json_t *result, const struct conn_result *r);
/* Add the owner, group, mode, uid, gid, size, state keys of a path. */
void mod_result_file(json_t *result, const struct mod_stat *st);
void mod_set_changed(json_t *result, int changed);
/* diff {before, after, before_header, after_header}; NULL skips a key. */
void mod_diff(json_t *result, const char *before, const char *after, const char *bhdr,
              const char *ahdr);

/*
 * Bring path's mode, owner and group to what args ask ("mode", "owner",
 * "group"), after st. Appends the commands to cmd (run by the caller), or
 * only reports under check mode. Sets *changed. Returns -1 with a failure
 * in result for a bad mode.
 */
int mod_attrs_cmd(const json_t *args, const char *path, const struct mod_stat *st, struct buf *cmd,
                  int *changed, json_t *result);

/* Run cmd; a non-zero rc becomes a failure with stderr in msg. Returns 1
 * when the command failed (result filled), 0 when it succeeded, <0 when
 * the host was unreachable. */
int mod_sh_checked(struct task_ctx *ctx, const char *cmd, json_t *result, struct err *e);

/*
 * Find a controller-side file the way Ansible does: absolute as is, else
 * ROLE/SUBDIR/src, BASEDIR/SUBDIR/src, BASEDIR/src, ./src. New string, or
 * NULL when nothing exists.
 */
char *mod_find_src(const struct task_ctx *ctx, const char *src, const char *subdir);

/*
 * Put data at dest as copy does it (modules/copy.c): dest directory
 * semantics (dest ending in / or an existing directory gets base), sha1
 * idempotency, force, backup, validate, mode/owner/group, check and diff.
 * src_label names the source in the result and diff. Fills result.
 */
int mod_copy_data(struct task_ctx *ctx, const json_t *args, const char *data, size_t len,
                  const char *base, const char *src_label, json_t *result, struct err *e);

/*
 * Python regular expressions (what playbooks are written in) compiled with
 * POSIX <regex.h>: \d \s \w (also inside [...]), (?:...), (?P<name>...),
 * (?i), lazy quantifiers (taken greedily) and \A \Z are translated;
 * glibc supplies \b \B \w \W \s \S. multiline makes ^ and $ match at
 * line breaks, as re.MULTILINE does.
 */
#include <regex.h>
#define MOD_RE_GROUPS 64
struct mod_re {
	regex_t re;
	int compiled;
	int map[MOD_RE_GROUPS];     /* Python group number -> POSIX group number */
	char *names[MOD_RE_GROUPS]; /* Python group number -> name, or NULL */
	int ngroups;                /* Python groups */
};
int mod_re_compile(struct mod_re *r, const char *py, int multiline, struct buf *why);
/* 1 on a match at or after subject (m has MOD_RE_GROUPS entries), else 0. */
int mod_re_search(const struct mod_re *r, const char *subject, int notbol, regmatch_t *m);
/* Python's match.expand(repl): \1, \g<1>, \g<name>, \n, \t, \\. */
void mod_re_expand(const struct mod_re *r, const char *repl, const char *subject,
                   const regmatch_t *m, struct buf *out);
void mod_re_free(struct mod_re *r);

/* Read a file on the host with its stat, in one round trip. */
int mod_read(struct task_ctx *ctx, const char *path, struct mod_stat *st, struct buf *data,
             struct err *e);
/*
 * Finish an in-place edit (lineinfile, blockinfile, replace): write after
 * when it differs from before (backup first when asked), apply mode/owner/
 * group, fill changed, msg, diff; backup_key names the result key of the
 * backup file. st is the file as read.
 */
int mod_edit_finish(struct task_ctx *ctx, const json_t *args, const char *path,
                    const struct mod_stat *st, const struct buf *before, const struct buf *after,
                    const char *msg, const char *backup_key, json_t *result, struct err *e);

/* One HTTP request from the controller (modules/http.c, libcurl). */
struct mod_http {
	const char *url, *method;
	const char *body;
	size_t body_len;
	const json_t *headers; /* dict name -> value, may be NULL */
	const char *user, *password;
	int validate_certs, follow, timeout;
	/* out */
	long status; /* -1 when no response came */
	struct buf content;
	json_t *resp_headers; /* lower-case names, '-' as '_' (new reference) */
	char final_url[1024];
	char error[512];
};
/* 0 with a response (any status), -1 with error set (status -1). */
int mod_http_do(struct mod_http *h);
void mod_http_release(struct mod_http *h);

/* Write data to dest through a temp file that the "validate" command (with
 * %s for the file) must accept first. 0, 1 when validation failed (result
 * filled), <0 unreachable. mode < 0 keeps dest's mode. */
int mod_put_validated(struct task_ctx *ctx, const json_t *args, const char *data, size_t len,
                      const char *dest, int mode, json_t *result, struct err *e);

/* copy with a controller directory as src (modules/copydir.c): "dir/"
 * copies its contents into dest, "dir" copies dir itself into dest. */
int mod_copy_dir(struct task_ctx *ctx, const json_t *args, const char *local, json_t *result,
                 struct err *e);

/* sha1 of data as 40 lower-case hex characters. */
void mod_sha1(const void *data, size_t len, char out[41]);

/* md5 of data as 32 lower-case hex characters (copy's md5sum). */
void mod_md5(const void *data, size_t len, char out[33]);

/* The length of text without its trailing full stops and blanks: another
 * tool's sentence (kubectl, the Kubernetes API) quoted as a clause, so a
 * message that quotes it, and a playbook that quotes that message and
 * adds its own '.', end once ("budget.", never "budget.."). */
int mod_clause_len(const char *text);

/* Split text into a JSON list of lines (without their newlines). */
json_t *mod_lines(const char *text, size_t len);

#endif
