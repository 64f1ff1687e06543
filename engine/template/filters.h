/*
 * filters.h - helpers shared by the filter files of the template engine.
 */
#ifndef DROVER_TMPL_FILTERS_H
#define DROVER_TMPL_FILTERS_H

#include "template/tmpl_int.h"

/* Argument i, or keyword name (borrowed; NULL when absent). */
json_t *arg_get(json_t *args, json_t *kw, size_t i, const char *name);
int arg_bool(json_t *args, json_t *kw, size_t i, const char *name, int def);
const char *arg_str(json_t *args, json_t *kw, size_t i, const char *name, const char *def);
/* The buffer as a JSON string; the buffer is released. */
json_t *str_result(struct buf *b);
/* str(v), malloc'd */
char *text_of(const json_t *v);
/* Python's json.dumps: indent < 0 for one line with ", " and ": ". */
void py_json_dump(const json_t *v, int indent, int sort_keys, struct buf *b);
/* Jinja's sort key: the attribute, lowercased unless case_sensitive */
json_t *filter_sort_key(const json_t *x, const char *attr, int cs);
/* Apply a filter or test by name to one value (map, select...). */
json_t *filter_apply(struct eval *ev, const char *name, json_t *in, json_t *args, json_t *kw);
int test_apply(struct eval *ev, const char *name, const json_t *in, json_t *args, int *out);
/* environment.getattr with dotted names ("a.b.0"), as map/selectattr use it */
json_t *attr_path(const json_t *obj, const char *path);
json_t *tmpl_get_item(const json_t *obj, const json_t *key);

extern const struct filter_def filters_core[];
extern const struct filter_def filters_data[];
extern const struct filter_def filters_seq[];
extern const struct filter_def filters_regex[];

#endif
