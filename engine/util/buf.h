/*
 * buf.h - a growable byte buffer, always NUL-terminated (git's strbuf).
 *
 * A zeroed struct buf (BUF_INIT) is an empty buffer. Allocation failure
 * aborts: drover cannot do anything useful without memory.
 */
#ifndef DROVER_BUF_H
#define DROVER_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *s; /* never NULL after the first write; use buf_str() */
	size_t len, cap;
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Hand the string over to the caller (to free()); the buffer is reset. */
char *buf_detach(struct buf *b);
const char *buf_str(const struct buf *b);
/* Append s quoted for POSIX sh, in single quotes: 'it'\''s'. */
void buf_add_shquote(struct buf *b, const char *s);

#endif
