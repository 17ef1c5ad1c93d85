/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the proxy's request-head parser with arbitrary bytes, as a process
 * in the sandbox can, and checks what the rest of the proxy relies on: a
 * result within the input, spans within the head, a head that ends in a
 * blank line and parses the same on its own, every prefix of it incomplete,
 * and responses whose Content-Length counts their body.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "proxy/http.h"

/* The most of the input passed to the response writers as a binary. */
#define FUZZ_BINARY_MAX 512
/* Room for a response with such a binary, however it is escaped. */
#define FUZZ_RESPONSE_MAX (16 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_span(struct http_span s, const char *head, size_t len)
{
	check(s.len <= len);
	check(s.len == 0 || (s.p >= head && s.p + s.len <= head + len));
}

static void
check_string(const char *s, size_t size)
{
	check(memchr(s, '\0', size) != NULL);
}

static void
check_fields(const struct http_request *r, const char *head, size_t len)
{
	check(r->nheaders <= HTTP_MAX_HEADERS);
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i], *f;
		char name[64];

		check(h->name.len > 0);
		check_span(h->name, head, len);
		check_span(h->value, head, len);
		if (h->name.len >= sizeof(name))
			continue;
		memcpy(name, h->name.p, h->name.len);
		name[h->name.len] = '\0';
		f = http_find(r, name);
		check(f && f <= h && f->name.len == h->name.len);
		check(strncasecmp(f->name.p, name, h->name.len) == 0);
	}
}

static void
check_request(const struct http_request *r, const char *head, size_t len)
{
	check(len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0);
	check_span(r->method, head, len);
	check_span(r->target, head, len);
	check_span(r->version, head, len);
	check(r->version.len == 8 && (r->minor == 0 || r->minor == 1));
	check(r->target.len > 0 && r->method.len > 0);
	check_string(r->host, sizeof(r->host));
	check_string(r->host_header.host, sizeof(r->host_header.host));
	if (r->form != HTTP_FORM_AUTHORITY) {
		check_span(r->path, head, len);
		check_span(r->query, head, len);
	}
	if (r->form != HTTP_FORM_ORIGIN)
		check(r->port != 0 && r->host[0] != '\0');
	check(!(r->chunked && r->has_length));
	check_fields(r, head, len);
}

/* Responses built from what the request carried, hostile bytes and all. */
static void
check_responses(const struct http_request *r, const uint8_t *data, size_t size)
{
	static char binary[FUZZ_BINARY_MAX + 1];
	struct buf b = BUF_INIT(FUZZ_RESPONSE_MAX);
	size_t n = size < FUZZ_BINARY_MAX ? size : FUZZ_BINARY_MAX;
	const char *body, *cl;

	memcpy(binary, data, n);
	binary[n] = '\0';
	check(http_write_denial(&b, 403, "policy_denied", r->host, r->port,
				binary, binary) == 0);
	body = strstr(buf_str(&b), "\r\n\r\n");
	cl = strstr(buf_str(&b), "\r\nContent-Length: ");
	check(body && cl && cl < body);
	check(strtoul(cl + 18, NULL, 10) == strlen(body + 4));
	check(body[4] == '{' && b.data[b.len - 1] == '\n');
	for (size_t i = 0; i < b.len; i++)
		check((unsigned char)b.data[i] >= 0x20 || b.data[i] == '\r' ||
		      b.data[i] == '\n');
	buf_reset(&b);
	check(http_write_status(&b, r->reject_status ? r->reject_status : 502,
				binary) == 0);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	static struct http_request r, again;
	int k = http_parse_request(buf, size, &r);

	if (k < 0) {
		check(k == -EBADMSG || k == -E2BIG || k == -ENOTSUP);
		check(r.reject_status == 400 || r.reject_status == 405 ||
		      r.reject_status == 431 || r.reject_status == 505);
		check(k != -E2BIG || r.reject_status == 431);
		check_responses(&r, data, size);
		return 0;
	}
	check((size_t)k <= size && k <= HTTP_HEAD_MAX);
	if (k == 0) {
		check(size < HTTP_HEAD_MAX);
		return 0;
	}
	check_request(&r, buf, (size_t)k);
	check(http_parse_request(buf, (size_t)k, &again) == k);
	check(http_parse_request(buf, (size_t)k - 1, &again) == 0);
	check(http_parse_request(buf, (size_t)k / 2, &again) == 0);
	/* An origin-form request always agrees with its own Host. */
	if (r.form == HTTP_FORM_ORIGIN)
		check(http_check_origin(&r, r.host, r.port ? r.port : 443,
					443) == 0);
	else
		check(http_check_host(&r) == 0 ||
		      http_check_host(&r) == -EPERM);
	check_responses(&r, data, size);
	return 0;
}
