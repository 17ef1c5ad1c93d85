/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the credential rewriter with credentials and heads chosen by the
 * input, and checks what the proxy relies on: a head that parsed still
 * parses once rewritten, no placeholder of a credential allowed toward the
 * host is left where it should have been resolved, a body keeps none, and
 * the scrubber gives the same bytes however the stream is cut, with no
 * value left in them (but where one overlaps a placeholder, which is no
 * value the response held).
 *
 * Input: one byte of flags (credential count, resolve, which host), one
 * where the scrubber's input is cut, then
 * per credential a length byte, that many value bytes and a binding byte,
 * then a template in which 0x01 N stands for credential N's placeholder
 * and 0x02 N for its value.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/util.h"
#include "proxy/creds.h"
#include "proxy/http.h"

/* Credentials one input may add, and the longest value it may give. */
#define FUZZ_CREDS 4
#define FUZZ_VALUE_MAX 48
/* The most of an expanded template, and of any output. */
#define FUZZ_OUT_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct creds_host bound_host[] = { { "api.a.test", 0 } };

static void
check(int cond)
{
	if (!cond)
		abort();
}

struct input {
	const uint8_t *p;
	size_t n;
};

static int
take(struct input *in)
{
	if (in->n == 0)
		return -1;
	in->n--;
	return *in->p++;
}

/* Adds one credential; its value's control bytes become letters, so that
 * creds_add takes what the fuzzer means. */
static void
add_cred(struct creds *c, struct input *in, size_t i)
{
	char value[FUZZ_VALUE_MAX], key[8] = "K0";
	int len = take(in), bind;

	if (len < 0)
		return;
	len = CREDS_VALUE_MIN + len % (FUZZ_VALUE_MAX - CREDS_VALUE_MIN);
	for (int j = 0; j < len; j++) {
		int b = take(in);

		value[j] =
		    b < ' ' || b == 0x7f ? (char)('A' + (b & 15)) : (char)b;
	}
	bind = take(in);
	key[1] = (char)('0' + i);
	creds_add(c, key, value, (size_t)len, bind & 1 ? bound_host : NULL,
		  bind & 1 ? 1 : 0);
}

static void
expand(const struct creds *c, struct input *in, struct buf *out)
{
	int b;

	while ((b = take(in)) >= 0) {
		int k = b == 1 || b == 2 ? take(in) : -1;
		const struct cred *cr = k >= 0 && c->n ? &c->v[k % c->n] : NULL;

		if (b == 1 && cr)
			buf_puts(out, cr->placeholder);
		else if (b == 2 && cr)
			buf_append(out, cr->value, cr->len);
		else
			buf_append(out, &(char){ (char)b }, 1);
	}
}

static bool
has_placeholder(const struct creds *c, const char *p, size_t n)
{
	for (size_t i = 0; i < c->n; i++)
		if (memmem(p, n, c->v[i].placeholder, CREDS_PLACEHOLDER_LEN))
			return true;
	return false;
}

static void
check_resolved(const struct creds *c, const struct http_request *r)
{
	check(!has_placeholder(c, r->path.p, r->path.len));
	check(!r->has_query || !has_placeholder(c, r->query.p, r->query.len));
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];

		if (h->name.len == 4 && !strncasecmp(h->name.p, "host", 4))
			continue;
		check(!has_placeholder(c, h->value.p, h->value.len));
	}
}

static void
fuzz_head(const struct creds *c, const char *host, bool resolve,
	  const struct buf *t)
{
	struct http_request r;
	struct buf out = BUF_INIT(HTTP_HEAD_MAX - 1);
	struct creds_result res;
	int k = http_parse_request(t->data, t->len, &r), w;

	w = creds_rewrite_head(c, host, 443, t->data, t->len, resolve, &out,
			       &res);
	check(w <= 0);
	check(w != -EPERM || res.refusal);
	if (w == 0) {
		check(k > 0 && (size_t)k == t->len);
		check(http_parse_request(out.data, out.len, &r) ==
		      (int)out.len);
		if (resolve)
			check_resolved(c, &r);
		else
			check(out.len == t->len &&
			      !memcmp(out.data, t->data, t->len));
	}
	buf_free(&out);
}

static void
fuzz_body(const struct creds *c, const char *host, const struct buf *t)
{
	struct buf out = BUF_INIT(FUZZ_OUT_MAX);
	struct creds_result res;
	int w = creds_rewrite_body(c, host, 443, t->data, t->len, &out, &res);

	check(w <= 0);
	if (w == 0)
		check(!has_placeholder(c, out.data, out.len));
	if (w == -EPERM && streq(res.refusal, CREDS_SECRET_LEAK))
		check(creds_contains_secret(c, t->data, t->len));
	buf_free(&out);
}

/* Whether [at, at + n) overlaps a placeholder of c in p (len bytes). */
static bool
in_placeholder(const struct creds *c, const char *p, size_t len, size_t at,
	       size_t n)
{
	size_t i =
	    at >= CREDS_PLACEHOLDER_LEN ? at - CREDS_PLACEHOLDER_LEN + 1 : 0;

	for (; i < at + n && i + CREDS_PLACEHOLDER_LEN <= len; i++)
		if (creds_find_placeholder(c, p + i, CREDS_PLACEHOLDER_LEN))
			return true;
	return false;
}

static void
check_no_value(const struct creds *c, const char *p, size_t len)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct cred *cr = &c->v[i];
		const char *q = p;

		while ((
		    q = memmem(q, len - (size_t)(q - p), cr->value, cr->len))) {
			check(in_placeholder(c, p, len, (size_t)(q - p),
					     cr->len));
			q++;
		}
	}
}

static void
scrub(const struct creds *c, const struct buf *t, size_t cut1, size_t cut2,
      struct buf *out)
{
	struct creds_scrubber s;

	creds_scrub_init(&s, c);
	check(creds_scrub(&s, t->data, cut1, out) == 0);
	check(creds_scrub(&s, t->data + cut1, cut2 - cut1, out) == 0);
	check(creds_scrub(&s, t->data + cut2, t->len - cut2, out) == 0);
	check(s.win.len < CREDS_VALUE_MAX);
	check(creds_scrub_flush(&s, out) == 0);
}

static void
fuzz_scrub(const struct creds *c, const struct buf *t, size_t cut)
{
	struct buf one = BUF_INIT(SIZE_MAX), three = BUF_INIT(SIZE_MAX);
	size_t cut1 = t->len ? cut % t->len : 0;
	size_t cut2 = cut1 + (t->len - cut1) / 2;

	scrub(c, t, t->len, t->len, &one);
	scrub(c, t, cut1, cut2, &three);
	check(one.len == three.len && !memcmp(one.data, three.data, one.len));
	check_no_value(c, one.data, one.len);
	buf_free(&one);
	buf_free(&three);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct creds c = { 0 };
	struct buf t = BUF_INIT(FUZZ_OUT_MAX);
	int flags = take(&in), cut = take(&in);
	const char *host;

	if (cut < 0)
		return 0;
	for (int i = 0; i < 1 + (flags & 3); i++)
		add_cred(&c, &in, (size_t)i);
	expand(&c, &in, &t);
	buf_str(&t);
	host = flags & 8 ? "api.a.test" : "b.test";
	fuzz_head(&c, host, flags & 4, &t);
	fuzz_body(&c, host, &t);
	fuzz_scrub(&c, &t, (size_t)cut * 257);
	buf_free(&t);
	creds_free(&c);
	return 0;
}
