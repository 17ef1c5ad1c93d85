/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives tls_peek_sni with arbitrary first bytes, as any client in the
 * sandbox can send them on a tunnel. No answer but the documented ones; a
 * name returned is NUL-terminated within the buffer and made of host name
 * characters; every prefix of the input says -EAGAIN or the same answer
 * (and the same name), so the proxy's reading in pieces cannot change a
 * verdict; and TLS_PEEK_INPUT_MAX bytes always get an answer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/tls.h"
#include "proxy/tls_peek.h"

#define OUT_LEN (TLS_HOST_MAX + 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const char *out)
{
	size_t n = strnlen(out, OUT_LEN);

	if (n == 0 || n == OUT_LEN)
		abort();
	if (strspn(out, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		abort();
}

/* A heap copy of the first n bytes, so ASan sees any read past them. */
static int
peek_prefix(const uint8_t *data, size_t n, char *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	int r;

	memcpy(copy, data, n);
	r = tls_peek_sni(copy, n, out, OUT_LEN);
	free(copy);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = malloc(OUT_LEN), *part = malloc(OUT_LEN);
	int r = peek_prefix(data, size, out);
	/* Prefixes, all of them for short inputs, a sample for long ones. */
	size_t step = size / 64 + 1;

	if (r != 1 && r != 0 && r != -EAGAIN && r != -EBADMSG)
		abort();
	if (r == -EAGAIN && size >= TLS_PEEK_INPUT_MAX)
		abort();
	if (r == 1)
		check_name(out);
	for (size_t n = 0; n < size; n += step) {
		int rp = peek_prefix(data, n, part);

		if (rp != -EAGAIN && rp != r)
			abort();
		if (rp == 1 && strcmp(part, out) != 0)
			abort();
	}
	free(out);
	free(part);
	return 0;
}
