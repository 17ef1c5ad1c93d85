/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a named cap: it never grows past limit. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
};

#define BUF_INIT(lim) ((struct buf){ .limit = (lim) })

/* Each returns 0, or -E2BIG when the limit would be passed. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Keeps data NUL-terminated past len; returns data (never NULL). */
const char *buf_str(struct buf *b);
void buf_reset(struct buf *b);
/* Wipes (for buffers that held secrets) and frees. */
void buf_free(struct buf *b);
/* Hands the data to the caller, NUL-terminated. */
char *buf_steal(struct buf *b);
