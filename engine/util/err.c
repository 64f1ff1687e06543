#include "util/err.h"

#include <stdio.h>
#include <string.h>

void err_init(struct err *e)
{
	memset(e, 0, sizeof(*e));
}

int err_setv(struct err *e, int code, const char *file, int line, int col, const char *fmt,
             va_list ap)
{
	if (!e || e->code)
		return code;
	e->code = code ? code : ERR_GENERIC;
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	e->line = line;
	e->col = col;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return e->code;
}

int err_set(struct err *e, int code, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_setv(e, code, file, line, col, fmt, ap);
	va_end(ap);
	return code;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
	char pre[512], old[sizeof(e->msg)];
	va_list ap;
	if (!e || !e->code)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", pre, old);
}

const char *err_format(const struct err *e, char *out, unsigned size)
{
	if (e->file[0] && e->line)
		snprintf(out, size, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
	else if (e->file[0])
		snprintf(out, size, "%s: %s", e->file, e->msg);
	else
		snprintf(out, size, "%s", e->msg);
	return out;
}
