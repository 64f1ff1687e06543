/*
 * digest.h - MD5, SHA-1 and SHA-256 as lowercase hex: the hash filter's
 * algorithms and Ansible's file checksums (SHA-1), computed without a
 * crypto library.
 */
#ifndef DROVER_DIGEST_H
#define DROVER_DIGEST_H

#include <stddef.h>

/* 1 for "md5", "sha1", "sha256". */
int digest_known(const char *algo);
/* out holds at least 65 bytes; an unknown algo gives SHA-1. */
void digest_hex(const char *algo, const void *data, size_t len, char *out);

#endif
