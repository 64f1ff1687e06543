/*
 * pb_int.h - the loader's internals shared by its files (not a contract).
 */
#ifndef DROVER_PB_INT_H
#define DROVER_PB_INT_H

#include "playbook/playbook.h"

#define PB_RAW_FLAG (1 << 2) /* MOD_RAW_PARAMS, kept here so the loader needs no module.h */

int pb_in(const char *const *list, const char *s);
int pb_is_file(const char *path); /* a regular file (following links) */
int pb_err_at(struct err *e, const json_t *obj, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *pb_short_action(const char *a);
struct pb_task *pb_task_new(struct playbook *pb, enum pb_kind kind, json_t *kw,
                            struct pb_task *parent, const char *basedir);
void pb_list_push(struct pb_list *l, struct pb_task *t);
int pb_load_task(struct playbook *pb, json_t *kw, struct pb_task *parent, const char *basedir,
                 int handler, struct pb_list *out, struct err *e);
int pb_load_block(struct playbook *pb, json_t *kw, struct pb_task *parent, const char *basedir,
                  int handler, struct pb_list *out, struct err *e);
int pb_load_list(struct playbook *pb, const json_t *obj, const char *key, struct pb_task *parent,
                 const char *basedir, int handler, struct pb_list *out, struct err *e);
/* A file an import or include names: tried in basedir, basedir/sub, then the
 * playbook's dir. New string, or NULL when there is no such file. */
char *pb_resolve(struct playbook *pb, const char *basedir, const char *name, const char *sub);
/* import_role (t is the import node, turned into the role's block). */
int pb_role_import(struct playbook *pb, struct pb_task *t, struct pb_list *out, struct err *e);
/* The play's roles: section, each role under a block in out; handlers too. */
int pb_roles_load(struct playbook *pb, struct pb_play *p, const json_t *roles, struct pb_list *out,
                  struct err *e);
/* The parse-time vars of play p (names.c): its vars and import vars, the
 * vars_files that resolve without host vars, into p->static_vars; p is
 * pb->cur_play until pb_play_vars_end. */
int pb_play_vars_begin(struct playbook *pb, struct pb_play *p, struct err *e);
void pb_play_vars_end(struct playbook *pb);
/* Render name (an import's file or role) for t (may be NULL) with the
 * parse-time vars, the vars above t, local (may be NULL) and extra vars.
 * at/key point errors at the YAML; advice ends the undefined-variable
 * message. *out is a new string. */
int pb_render_name(struct playbook *pb, const struct pb_task *t, const json_t *local,
                   const json_t *at, const char *key, const char *name, const char *advice,
                   char **out, struct err *e);

#endif
