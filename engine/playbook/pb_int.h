/*
 * pb_int.h - the loader's internals shared by its files (not a contract).
 */
#ifndef DROVER_PB_INT_H
#define DROVER_PB_INT_H

#include "playbook/playbook.h"

#define PB_RAW_FLAG (1 << 2) /* MOD_RAW_PARAMS, kept here so the loader needs no module.h */

int pb_in(const char *const *list, const char *s);
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

#endif
