/*
 * log.h - the controller's diagnostics: warnings, deprecations and -v output
 * on stderr, serialised so lines from worker threads never interleave.
 */
#ifndef DROVER_LOG_H
#define DROVER_LOG_H

extern int log_verbosity; /* -v count */
extern int log_color;     /* 1 when stderr is a TTY and NO_COLOR is unset */

void log_init(void);
/* "[WARNING]: msg" as Ansible prints it. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only when log_verbosity >= level. */
void log_verbose(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "ERROR! msg" */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Count of warnings printed so far (tests use it). */
int log_warn_count(void);
/* Serialise whole-line writes from several threads. */
void log_lock(void);
void log_unlock(void);

#endif
