/*
 * base64.h - RFC 4648 base64 (standard alphabet, '=' padding).
 */
#ifndef DROVER_BASE64_H
#define DROVER_BASE64_H

#include <stddef.h>

#include "util/buf.h"

void base64_encode(const void *data, size_t len, struct buf *out);
/* Whitespace is skipped. Returns 0, or -1 on a character outside the
 * alphabet or bad padding (out then holds what decoded before it). */
int base64_decode(const char *s, size_t len, struct buf *out);

#endif
