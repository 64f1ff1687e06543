/*
 * The default, json and minimal callbacks. Formats follow ansible-core
 * 2.14's callback plugins so scripts that scrape Ansible's output keep
 * working: banners pad to max(79, width-1) columns, results are JSON with
 * sorted keys and Python's ", " / ": " separators.
 */
#include "output/output.h"
#include "template/tmpl.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct output {
	enum out_kind kind;
	int verbosity;
	int color;
	int columns;
	FILE *f;
	int tty;
	int progress_shown; /* a progress line is on screen (under log_lock) */
	json_t *plays;      /* json callback: the document being built */
	json_t *cur_tasks;
	json_t *cur_hosts;
	json_t *task_dur, *play_dur; /* borrowed: the open entries' durations */
};

#define C_OK      "\033[0;32m"
#define C_CHANGED "\033[0;33m"
#define C_SKIP    "\033[0;36m"
#define C_ERR     "\033[0;31m"
#define C_OFF     "\033[0m"

/* The json callback's current task entry per worker thread: under the free
 * strategy each host's thread starts its own entries (as Ansible's do);
 * threads that started none (linear workers) use the shared one. */
static __thread json_t *thread_hosts;

struct output *output_new(enum out_kind kind, int verbosity, FILE *f)
{
	struct output *o = xcalloc(1, sizeof(*o));
	struct winsize ws;
	o->kind = kind;
	o->verbosity = verbosity;
	o->f = f;
	o->tty = isatty(fileno(f));
	o->color = o->tty && !getenv("NO_COLOR");
	o->columns = 79;
	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col > 80)
		o->columns = ws.ws_col - 1;
	if (kind == OUT_JSON)
		o->plays = json_array();
	return o;
}

enum out_kind output_kind(const struct output *o)
{
	return o->kind;
}

void output_free(struct output *o)
{
	if (!o)
		return;
	json_decref(o->plays);
	free(o);
}

static void clear_progress(struct output *o)
{
	if (o->progress_shown) {
		fputs("\r\033[K", o->f);
		o->progress_shown = 0;
	}
}

void output_progress(struct output *o, const char *host, const char *text)
{
	if (o->kind != OUT_DEFAULT || !o->tty)
		return;
	log_lock();
	int width = o->columns - (int)strlen(host) - 4;
	fprintf(o->f, "\r\033[K[%s] %.*s", host, width > 10 ? width : 10, text);
	o->progress_shown = 1;
	fflush(o->f);
	log_unlock();
}

/* Ansible colours each line of a message on its own. */
static void emit(struct output *o, const char *color, const char *text)
{
	clear_progress(o);
	if (!o->color || !color) {
		fprintf(o->f, "%s\n", text);
		return;
	}
	for (const char *p = text;;) {
		size_t n = strcspn(p, "\n");
		fprintf(o->f, "%s%.*s%s\n", color, (int)n, p, C_OFF);
		if (!p[n])
			break;
		p += n + 1;
	}
}

static void banner(struct output *o, const char *msg)
{
	int n = o->columns - (int)strlen(msg);
	struct buf b = BUF_INIT;
	buf_addf(&b, "\n%s ", msg);
	for (int i = 0; i < (n <= 3 ? 3 : n); i++)
		buf_addc(&b, '*');
	log_lock();
	emit(o, NULL, buf_str(&b));
	fflush(o->f);
	log_unlock();
	buf_release(&b);
}

static void now_iso(char *s, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(s, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(s + n, size - n, ".%06ldZ", ts.tv_nsec / 1000);
}

static json_t *timing(void)
{
	char s[64];
	now_iso(s, sizeof(s));
	return json_pack("{ss}", "start", s);
}

/* json callback: an entry's duration ends when the next one starts. */
static void end_entry(json_t **dur)
{
	char s[64];
	if (!*dur)
		return;
	now_iso(s, sizeof(s));
	json_object_set_new(*dur, "end", json_string(s));
	*dur = NULL;
}

void output_play_start(struct output *o, const char *name)
{
	if (o->kind == OUT_ADHOC)
		return;
	if (o->kind == OUT_JSON) {
		json_t *dur = timing();
		log_lock();
		end_entry(&o->task_dur);
		end_entry(&o->play_dur);
		o->play_dur = dur;
		o->cur_tasks = json_array();
		json_array_append_new(o->plays, json_pack("{s:{s:s, s:o, s:s}, s:o}", "play",
		                                          "name", name, "duration", dur, "id",
		                                          "drover-play", "tasks", o->cur_tasks));
		log_unlock();
		return;
	}
	char *m = name && *name ? xasprintf("PLAY [%s]", name) : xstrdup("PLAY");
	banner(o, m);
	free(m);
}

void output_task_start(struct output *o, const char *kind, const char *title, int id)
{
	if (o->kind == OUT_ADHOC)
		return;
	if (o->kind == OUT_JSON) {
		if (!o->cur_tasks)
			output_play_start(o, "");
		json_t *hosts = json_object();
		char tid[32];
		snprintf(tid, sizeof(tid), "drover-task-%d", id);
		json_t *dur = timing();
		thread_hosts = hosts;
		log_lock();
		end_entry(&o->task_dur);
		o->task_dur = dur;
		o->cur_hosts = hosts;
		json_array_append_new(o->cur_tasks,
		                      json_pack("{s:{s:s, s:o, s:s}, s:O}", "task", "name", title,
		                                "duration", dur, "id", tid, "hosts", hosts));
		log_unlock();
		json_decref(hosts);
		return;
	}
	char *m = xasprintf("%s [%s]", kind, title);
	banner(o, m);
	free(m);
}

void output_meta_start(struct output *o, const char *title, int id)
{
	output_task_start(o, "TASK", title, id);
}

/* A copy without Ansible's internal keys, as callbacks show results. */
static json_t *clean(const json_t *r, const char *action, int verbosity)
{
	json_t *c = json_deep_copy(r);
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe (c, tmp, k, v) {
		if (str_startswith(k, "_ansible_") || (!strcmp(k, "invocation") && verbosity < 3))
			json_object_del(c, k);
	}
	if (verbosity >= 3 && !action)
		return c; /* the json callback keeps everything */
	json_object_del(c, "failed");
	json_object_del(c, "skipped");
	if (action && (!strcmp(action, "debug") || !strcmp(action, "ansible.builtin.debug"))) {
		json_object_del(c, "changed");
		json_object_del(c, "skip_reason"); /* _hide_in_debug */
		if (json_object_get(c, "msg")) {
			json_object_foreach_safe (c, tmp, k, v) {
				if (strcmp(k, "msg") && strcmp(k, "exception") &&
				    strcmp(k, "warnings") && strcmp(k, "deprecations"))
					json_object_del(c, k);
			}
		}
	}
	return c;
}

static char *dump(const json_t *r, int indent)
{
	return json_dumps(r, JSON_SORT_KEYS | JSON_ENCODE_ANY | (indent ? JSON_INDENT(indent) : 0));
}

char *output_item_label(const json_t *item)
{
	return tmpl_to_text(item);
}

/* Actions whose results Ansible marks _ansible_verbose_always. */
static int verbose_always(const char *a)
{
	if (!a)
		return 0;
	if (str_startswith(a, "ansible.builtin."))
		a += strlen("ansible.builtin.");
	return !strcmp(a, "debug") || !strcmp(a, "assert");
}

static const char *status_word(enum out_status st)
{
	switch (st) {
	case ST_OK:
		return "ok";
	case ST_CHANGED:
		return "changed";
	case ST_SKIPPED:
		return "skipping";
	case ST_FAILED:
		return "failed";
	default:
		return "unreachable";
	}
}

static const char *status_color(enum out_status st)
{
	return st == ST_OK        ? C_OK
	       : st == ST_CHANGED ? C_CHANGED
	       : st == ST_SKIPPED ? C_SKIP
	                          : C_ERR;
}

static int is_raw_action(const char *a)
{
	static const char *const raw[] = {"command", "shell", "raw", "script", NULL};
	for (int i = 0; raw[i]; i++)
		if (a && !strcmp(a, raw[i]))
			return 1;
	return 0;
}

static void adhoc_result(struct output *o, const char *host, const char *action, enum out_status st,
                         const json_t *c)
{
	struct buf b = BUF_INIT;
	const char *cap = st == ST_CHANGED ? "CHANGED" : st == ST_OK ? "SUCCESS" : "FAILED";
	if (st == ST_SKIPPED) {
		buf_addf(&b, "%s | SKIPPED", host);
	} else if (st != ST_UNREACHABLE && is_raw_action(action) &&
	           !json_object_get(c, "module_stderr")) {
		json_t *rc = json_object_get(c, "rc");
		buf_addf(&b, "%s | %s | rc=%lld >>\n", host, cap,
		         rc ? json_integer_value(rc) : -1LL);
		buf_adds(&b, json_string_value(json_object_get(c, "stdout")) ?: "");
		buf_adds(&b, json_string_value(json_object_get(c, "stderr")) ?: "");
		buf_adds(&b, json_string_value(json_object_get(c, "msg")) ?: "");
	} else {
		char *j = dump(c, 4);
		buf_addf(&b, "%s | %s => %s", host,
		         st == ST_UNREACHABLE ? "UNREACHABLE!"
		         : st == ST_FAILED    ? "FAILED!"
		                              : cap,
		         j);
		free(j);
	}
	log_lock();
	emit(o, o->color ? status_color(st) : NULL, buf_str(&b));
	fflush(o->f);
	log_unlock();
	buf_release(&b);
}

static void default_result(struct output *o, const char *who, const char *action,
                           enum out_status st, const json_t *c, const json_t *item, int ignored)
{
	struct buf b = BUF_INIT;
	int verbose = o->verbosity > 0 ||
	              json_is_true(json_object_get(c, "_ansible_verbose_always")) ||
	              verbose_always(action);
	int indent = (o->verbosity > 2 || verbose_always(action)) ? 4 : 0;
	json_t *shown = clean(c, action, o->verbosity);
	char *label = item ? output_item_label(item) : NULL;
	if (st == ST_FAILED || st == ST_UNREACHABLE) {
		if (item)
			buf_addf(&b, "failed: [%s] (item=%s) => ", who, label);
		else
			buf_addf(&b, "fatal: [%s]: %s! => ", who,
			         st == ST_FAILED ? "FAILED" : "UNREACHABLE");
		verbose = 1;
		indent = o->verbosity > 2 || verbose_always(action) ? 4 : 0;
	} else {
		buf_addf(&b, "%s: [%s]", status_word(st), who);
		if (item)
			buf_addf(&b, " => (item=%s)%s", label, st == ST_SKIPPED ? " " : "");
		if (verbose && st != ST_SKIPPED)
			buf_adds(&b, " => ");
		else if (verbose && o->verbosity > 0)
			buf_adds(&b, " => ");
		else
			verbose = 0;
	}
	if (verbose) {
		char *j = dump(shown, indent);
		buf_adds(&b, j);
		free(j);
	}
	log_lock();
	emit(o, status_color(st), buf_str(&b));
	if (ignored)
		emit(o, C_SKIP, "...ignoring");
	fflush(o->f);
	log_unlock();
	free(label);
	json_decref(shown);
	buf_release(&b);
}

void output_result(struct output *o, const char *host, const char *delegate, const char *action,
                   enum out_status st, const json_t *result, const json_t *item, int ignored)
{
	if (o->kind == OUT_JSON) {
		if (item || !o->cur_hosts)
			return;
		/* TaskResult.clean_copy, then the posix json callback's on_info */
		json_t *c = clean(result, NULL, 3);
		json_object_del(c, "failed");
		json_object_del(c, "skipped");
		if (st == ST_FAILED)
			json_object_set_new(c, "failed", json_true());
		if (st == ST_SKIPPED)
			json_object_set_new(c, "skipped", json_true());
		json_object_set_new(c, "action", json_string(action ? action : ""));
		log_lock();
		json_object_set_new(thread_hosts ? thread_hosts : o->cur_hosts, host, c);
		log_unlock();
		return;
	}
	if (o->kind == OUT_ADHOC) {
		json_t *c = clean(result, action, o->verbosity);
		adhoc_result(o, host, action, st, c);
		json_decref(c);
		return;
	}
	/* An include that worked was announced by its 'included:' line; one
	 * that failed is shown like any failure, as Ansible does. */
	if (st != ST_FAILED && action &&
	    (str_endswith(action, "include_tasks") || str_endswith(action, "include_role")))
		return;
	char *who = delegate && strcmp(delegate, host) ? xasprintf("%s -> %s", host, delegate)
	                                               : xstrdup(host);
	default_result(o, who, action, st, result, item, ignored);
	free(who);
}

void output_loop_done(struct output *o, const char *host, const char *action, enum out_status st,
                      const json_t *r, int ignored)
{
	if (o->kind == OUT_JSON || o->kind == OUT_ADHOC) {
		output_result(o, host, NULL, action, st, r, NULL, 0);
		return;
	}
	if (st == ST_SKIPPED)
		output_result(o, host, NULL, action, st, r, NULL, 0);
	if (ignored) {
		log_lock();
		emit(o, C_SKIP, "...ignoring");
		fflush(o->f);
		log_unlock();
	}
}

void output_task_path(struct output *o, const char *file, int line)
{
	if (o->kind == OUT_DEFAULT && o->verbosity >= 2 && file)
		output_line(o, "task path: %s:%d", file, line);
}

void output_no_hosts(struct output *o)
{
	if (o->kind == OUT_DEFAULT)
		banner(o, "NO MORE HOSTS LEFT");
}

void output_included(struct output *o, const char *file, const char *hosts)
{
	if (o->kind != OUT_DEFAULT)
		return;
	output_line(o, "included: %s for %s", file, hosts);
}

void output_line(struct output *o, const char *fmt, ...)
{
	va_list ap;
	if (o->kind != OUT_DEFAULT)
		return;
	log_lock();
	clear_progress(o);
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
	fputc('\n', o->f);
	fflush(o->f);
	log_unlock();
}

static void recap_json(struct output *o, const char *const *hosts, const struct out_stats *st,
                       int n)
{
	end_entry(&o->task_dur);
	end_entry(&o->play_dur);
	json_t *stats = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(
		    stats, hosts[i],
		    json_pack("{si si si si si si si}", "ok", st[i].ok, "changed", st[i].changed,
		              "failures", st[i].failed, "unreachable", st[i].unreachable, "skipped",
		              st[i].skipped, "rescued", st[i].rescued, "ignored", st[i].ignored));
	json_t *doc = json_pack("{s:o, s:O, s:{}, s:{}}", "stats", stats, "plays", o->plays,
	                        "custom_stats", "global_custom_stats");
	char *s = dump(doc, 4);
	fprintf(o->f, "%s\n", s);
	fflush(o->f);
	free(s);
	json_decref(doc);
}

static void recap_field(struct buf *b, struct output *o, const char *name, int v, const char *color)
{
	char cell[64];
	snprintf(cell, sizeof(cell), "%s=%-4d", name, v);
	if (o->color && v && color)
		buf_addf(b, "%s%s%s", color, cell, C_OFF);
	else
		buf_adds(b, cell);
}

void output_recap(struct output *o, const char *const *hosts, const struct out_stats *st, int n)
{
	if (o->kind == OUT_JSON) {
		recap_json(o, hosts, st, n);
		return;
	}
	if (o->kind == OUT_ADHOC)
		return;
	banner(o, "PLAY RECAP");
	for (int i = 0; i < n; i++) {
		struct buf b = BUF_INIT;
		const struct out_stats *s = &st[i];
		const char *hc = s->failed || s->unreachable ? C_ERR
		                 : s->changed                ? C_CHANGED
		                                             : C_OK;
		if (o->color) { /* Ansible pads the coloured text: "%-37s" % stringc(host) */
			char *ch = xasprintf("%s%s%s", hc, hosts[i], C_OFF);
			buf_addf(&b, "%-37s : ", ch);
			free(ch);
		} else
			buf_addf(&b, "%-26s : ", hosts[i]);
		recap_field(&b, o, "ok", s->ok, C_OK);
		buf_addc(&b, ' ');
		recap_field(&b, o, "changed", s->changed, C_CHANGED);
		buf_addc(&b, ' ');
		recap_field(&b, o, "unreachable", s->unreachable, C_ERR);
		buf_addc(&b, ' ');
		recap_field(&b, o, "failed", s->failed, C_ERR);
		buf_addc(&b, ' ');
		recap_field(&b, o, "skipped", s->skipped, C_SKIP);
		buf_addc(&b, ' ');
		recap_field(&b, o, "rescued", s->rescued, C_OK);
		buf_addc(&b, ' ');
		recap_field(&b, o, "ignored", s->ignored, "\033[1;35m");
		log_lock();
		emit(o, NULL, buf_str(&b));
		log_unlock();
		buf_release(&b);
	}
	log_lock();
	fputc('\n', o->f);
	fflush(o->f);
	log_unlock();
}
