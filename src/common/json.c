/* SPDX-License-Identifier: Apache-2.0 */
#include "common/json.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Length of the valid UTF-8 sequence at p (1 to 4), or 0 when p does not
 * start one: overlong forms, surrogates and values past U+10FFFF are not
 * valid, so a path or host with raw bytes cannot make the output invalid
 * JSON.
 */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	uint32_t cp;

	if (p[0] > 0xf4 || n == 0)
		return 0;
	cp = p[0] & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
json_str(struct buf *b, const char *s)
{
	int r = buf_puts(b, "\"");

	for (const unsigned char *p = (const unsigned char *)(s ? s : "");
	     *p && r == 0; p++) {
		switch (*p) {
		case '"':
			r = buf_puts(b, "\\\"");
			break;
		case '\\':
			r = buf_puts(b, "\\\\");
			break;
		case '\n':
			r = buf_puts(b, "\\n");
			break;
		case '\t':
			r = buf_puts(b, "\\t");
			break;
		case '\r':
			r = buf_puts(b, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				r = buf_printf(b, "\\u%04x", *p);
			} else if (*p < 0x80) {
				r = buf_append(b, p, 1);
			} else {
				size_t n = utf8_len(p);

				/* A stray byte becomes U+FFFD. */
				r = n ? buf_append(b, p, n)
				      : buf_puts(b, "\\ufffd");
				p += n ? n - 1 : 0;
			}
		}
	}
	return r ? r : buf_puts(b, "\"");
}

int
json_key(struct buf *b, const char *key)
{
	char last = b->len ? b->data[b->len - 1] : '{';
	int r = 0;

	if (last != '{' && last != '[')
		r = buf_puts(b, ",");
	if (r == 0 && key) {
		r = json_str(b, key);
		if (r == 0)
			r = buf_puts(b, ":");
	}
	return r;
}

int
json_kv_str(struct buf *b, const char *key, const char *value)
{
	int r = json_key(b, key);

	if (r == 0)
		r = value ? json_str(b, value) : buf_puts(b, "null");
	return r;
}

int
json_kv_int(struct buf *b, const char *key, int64_t value)
{
	int r = json_key(b, key);

	return r ? r : buf_printf(b, "%" PRId64, value);
}

int
json_kv_bool(struct buf *b, const char *key, int value)
{
	int r = json_key(b, key);

	return r ? r : buf_puts(b, value ? "true" : "false");
}
