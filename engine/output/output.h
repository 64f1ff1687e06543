/*
 * output.h - what the user sees: Ansible's default callback (banners, one
 * line per host result, recap), the json callback, and the ad-hoc minimal
 * lines. The executor calls these; nothing else prints results.
 *
 * Every call is safe from worker threads: whole lines are written under
 * log_lock() so they never interleave. Results passed in are borrowed and
 * already censored for no_log.
 */
#ifndef DROVER_OUTPUT_H
#define DROVER_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

enum out_kind { OUT_DEFAULT, OUT_JSON, OUT_ADHOC };

enum out_status { ST_OK, ST_CHANGED, ST_SKIPPED, ST_FAILED, ST_UNREACHABLE };

struct out_stats {
	int ok, changed, unreachable, failed, skipped, rescued, ignored;
};

struct output;

struct output *output_new(enum out_kind kind, int verbosity, FILE *f);
void output_free(struct output *o);

void output_play_start(struct output *o, const char *name);
/* "TASK", "RUNNING HANDLER". id makes the json callback's task id. */
void output_task_start(struct output *o, const char *kind, const char *title, int id);
/* A meta task reaching a host: a banner (a task entry for json) per host,
 * as Ansible's callbacks get a task start for each. */
void output_meta_start(struct output *o, const char *title, int id);
/*
 * One host's result (or one loop item's when item is set). action is the
 * module name; ignored adds "...ignoring". delegate may be NULL.
 */
void output_result(struct output *o, const char *host, const char *delegate, const char *action,
                   enum out_status st, const json_t *result, const json_t *item, int ignored);
/* The end of a loop task on a host: items were shown one by one; the json
 * callback records r, the default one says "skipping" or "...ignoring". */
void output_loop_done(struct output *o, const char *host, const char *action, enum out_status st,
                      const json_t *r, int ignored);
/* --diff: a result's "diff" ({before, after, *_header} or a list of them)
 * as a unified diff, printed before the result line as Ansible does. */
void output_diff(struct output *o, const json_t *diff);
enum out_kind output_kind(const struct output *o);
/* A one-line status for a long wait (drain, wait_for), overwritten in place
 * on a terminal and cleared by the next line; nothing when not a TTY. */
void output_progress(struct output *o, const char *host, const char *text);
/* "task path: FILE:LINE" under a task banner at -vv and more. */
void output_task_path(struct output *o, const char *file, int line);
/* The "NO MORE HOSTS LEFT" banner. */
void output_no_hosts(struct output *o);
/* "included: FILE for h1, h2" */
void output_included(struct output *o, const char *file, const char *hosts);
/* A line of text as the default callback prints it (warnings of the run). */
void output_line(struct output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* hosts: name -> struct out_stats, sorted by the caller. */
void output_recap(struct output *o, const char *const *hosts, const struct out_stats *st, int n);
/* The status word printed for a loop item label (Ansible's to_text(item)). */
char *output_item_label(const json_t *item);

/*
 * no_log masking (mask.c). secrets is a list of strings (module_nolog_values).
 * output_mask_text/json replace each occurrence by "********" (in dict keys
 * too) and return a new string / new reference. output_mask_thread sets the
 * secrets masked in the calling thread's stderr writes (borrowed until the
 * next call; NULL ends it and flushes what was held). output_mask_stderr(1)
 * routes stderr through that filter (once per session; 0 restores it).
 */
char *output_mask_text(const char *s, const json_t *secrets);
json_t *output_mask_json(const json_t *v, const json_t *secrets);
void output_mask_thread(const json_t *secrets);
void output_mask_stderr(int on);

#endif
