/*
 * err.h - error reports that carry a source position.
 *
 * A function that can fail returns 0 or a negative code and fills a caller's
 * struct err. The first error set wins (later err_set calls on a set err are
 * ignored), so the innermost, most precise message survives; outer layers add
 * context with err_prefix() only at the top. Only main() exits.
 */
#ifndef DROVER_ERR_H
#define DROVER_ERR_H

#include <stdarg.h>

enum err_code {
	ERR_OK = 0,
	ERR_GENERIC = -1, /* bad input, usage */
	ERR_PARSE = -2,   /* YAML, INI, template syntax */
	ERR_IO = -3,      /* file system */
	ERR_UNDEF = -4,   /* undefined variable in a template */
	ERR_TMPL = -5,    /* template evaluation */
	ERR_UNREACH = -6, /* cannot reach a host */
	ERR_TIMEOUT = -7,
	ERR_NOMEM = -8,
	ERR_INTERNAL = -9,
};

struct err {
	int code;       /* 0 when unset */
	char file[512]; /* "" when not about a file */
	int line, col;  /* 1-based; 0 when unknown */
	char msg[2048];
};

void err_init(struct err *e);
/* Set the error unless one is set already. file may be NULL. Returns code. */
int err_set(struct err *e, int code, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
int err_setv(struct err *e, int code, const char *file, int line, int col, const char *fmt,
             va_list ap);
/* Prepend "ctx: " to the message of a set error. */
void err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "file:line:col: msg" (or just msg) into out. */
const char *err_format(const struct err *e, char *out, unsigned size);

#endif
