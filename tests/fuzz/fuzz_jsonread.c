/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the flat-object JSON reader with arbitrary bytes. brig logs
 * reads events.jsonl with it, a file that names hosts and binaries from
 * inside the sandbox. Besides memory errors, this checks what the reader
 * promises: every value it returns is a C string of its stated length,
 * cut at JSONREAD_MAX_STRING, and valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_utf8(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k) {
		k = jsonread_utf8_len((const unsigned char *)s + i, n - i);
		if (k == 0)
			abort();
	}
}

static void
check_field(const struct jsonread_field *f)
{
	size_t klen = strlen(f->key);

	if (klen > JSONREAD_MAX_KEY)
		abort();
	check_utf8(f->key, klen);
	if (f->type != JSONREAD_STRING && f->type != JSONREAD_NUMBER)
		return;
	if (!f->str || strlen(f->str) != f->len)
		abort();
	if (f->type == JSONREAD_STRING && f->len > JSONREAD_MAX_STRING)
		abort();
	check_utf8(f->str, f->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonread_obj o;
	int64_t v;

	if (jsonread_parse(data, size, &o) < 0)
		return 0;
	if (o.n > JSONREAD_MAX_FIELDS)
		abort();
	for (size_t i = 0; i < o.n; i++) {
		check_field(&o.fields[i]);
		if (jsonread_get(&o, o.fields[i].key) != &o.fields[i])
			abort();
		(void)jsonread_int(&o, o.fields[i].key, &v);
	}
	jsonread_free(&o);
	return 0;
}
