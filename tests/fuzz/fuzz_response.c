/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the response-head reader that inspected tunnels use on what an
 * upstream (chosen from inside the sandbox) answers: the status parser on
 * any bytes, and the rebuilt head, which must end as a head does, carry
 * exactly one framing line of the proxy's own when a body follows (so no
 * upstream Content-Length can disagree with the scrubbed body), and be
 * the input unchanged otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proxy/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* How many lines of out (len bytes) are the header name. */
static size_t
lines_named(const char *out, size_t len, const char *name)
{
	const char *line = out, *end = out + len;
	size_t count = 0;

	while (line < end) {
		const char *nl = memmem(line, (size_t)(end - line), "\r\n", 2);
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);

		count += http_line_is(line, n, name);
		line += n + 2;
	}
	return count;
}

static void
check_rebuilt(const char *head, size_t len, bool body, bool raw)
{
	struct buf out = BUF_INIT(len + 64);
	struct http_response_head rh = { 0 };
	const char *frame = raw ? "connection" : "transfer-encoding";

	if (http_response_status(head, len) < 0) {
		check(http_response_head(head, len, &rh, &out, body, raw) ==
		      -EBADMSG);
		buf_free(&out);
		return;
	}
	check(http_response_head(head, len, &rh, &out, body, raw) == 0);
	check(out.len >= 4 && !memcmp(out.data + out.len - 4, "\r\n\r\n", 4));
	check(rh.length >= -1);
	if (!body) {
		check(out.len == len && !memcmp(out.data, head, len));
	} else {
		check(out.len <= len + 32);
		check(lines_named(out.data, out.len, "content-length") == 0);
		check(lines_named(out.data, out.len, frame) >= 1);
		if (!raw)
			check(lines_named(out.data, out.len,
					  "transfer-encoding") == 1);
	}
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *end = memmem(p, size, "\r\n\r\n", 4);
	int status = http_response_status(p, size);
	struct http_response_head rh = { 0 };
	struct buf out = BUF_INIT(size + 64);

	check(status == -1 || (status >= 0 && status <= 999));
	/* Without its blank line at the end, a head is refused. */
	if (size < 4 || memcmp(p + size - 4, "\r\n\r\n", 4))
		check(http_response_head(p, size, &rh, &out, true, false) < 0);
	buf_free(&out);
	if (!end)
		return 0;
	/* As the tunnel reads it: through the first blank line. */
	size = (size_t)(end + 4 - p);
	for (int i = 0; i < 4; i++)
		check_rebuilt(p, size, i & 1, i & 2);
	return 0;
}
