/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the server_name extension parser with arbitrary bytes, as any
 * client in the sandbox can send them in a ClientHello. An accepted name
 * must fit the buffer, be as long as the extension says, and hold only
 * host name characters; a short buffer must say -ENOBUFS, never overrun.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const uint8_t *data, size_t size, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TLS_HOST_MAX + 1 || n + 5 != size ||
	    memcmp(name, data + 5, n) != 0)
		abort();
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[TLS_HOST_MAX + 2];
	/* A heap buffer cut short, so ASan sees any write past it. */
	size_t shortlen = size % sizeof(out);
	char *small = malloc(shortlen ? shortlen : 1);
	int r, rs;

	r = tls_sni_parse(data, size, out, sizeof(out));
	if (r != 0 && r != -EBADMSG)
		abort();
	if (r == 0)
		check_name(data, size, out);

	rs = tls_sni_parse(data, size, small, shortlen);
	if (r == -EBADMSG ? rs != -EBADMSG : rs != 0 && rs != -ENOBUFS)
		abort();
	if (rs == 0 && strcmp(small, out) != 0)
		abort();
	free(small);
	return 0;
}
