/*
 * mem.h - allocation that aborts on failure, and small string helpers.
 */
#ifndef DROVER_MEM_H
#define DROVER_MEM_H

#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole file; returns NULL and sets errno on failure. */
char *read_file(const char *path, size_t *len);
int str_endswith(const char *s, const char *suffix);
int str_startswith(const char *s, const char *prefix);

#endif
