/* SPDX-License-Identifier: Apache-2.0 */
#include "common/json.h"

#include <inttypes.h>
#include <stdio.h>

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
			if (*p < 0x20 || *p == 0x7f)
				r = buf_printf(b, "\\u%04x", *p);
			else
				r = buf_append(b, p, 1);
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
