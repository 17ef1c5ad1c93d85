/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "proxy/creds.h"
#include "proxy/http.h"
#include "tap.h"

/* Room for any head or response built by these tests. */
#define TEST_OUT_MAX (1024 * 1024)
/* The longest response split every way by the scrubber tests. */
#define SPLIT_MAX 256

/* The credentials every test uses; "@N" in a template stands for the
 * placeholder of the Nth, "#N" for its value. */
static struct creds C;

static const struct creds_host openai_hosts[] = { { "api.openai.com", 0 } };
static const struct creds_host github_hosts[] = { { "api.github.com", 443 },
						  { "github.com", 0 } };

enum { OPENAI, GITHUB, VOICE, ODD, NCREDS };

static void
setup(void)
{
	static const char odd[] = "a/b+c=d e%f";
	int r = 0;

	r |= creds_add(&C, "OPENAI_API_KEY", "sk-openai-REAL-0123456789", 25,
		       openai_hosts, 1);
	r |= creds_add(&C, "GITHUB_TOKEN", "ghp_REALgithub_token_9876", 25,
		       github_hosts, 2);
	r |= creds_add(&C, "VOICE_API_KEY", "sk-real-secret-key-here", 23, NULL,
		       0);
	r |= creds_add(&C, "ODD_KEY", odd, sizeof(odd) - 1, NULL, 0);
	TAP_EQ_INT(r, 0, "setup: four credentials added");
}

static char *
expand(const char *t)
{
	struct buf b = BUF_INIT(TEST_OUT_MAX);

	for (; *t; t++) {
		if ((*t == '@' || *t == '#') && t[1] >= '0' &&
		    t[1] < '0' + NCREDS) {
			const struct cred *cr = &C.v[t[1] - '0'];

			if (*t == '@')
				buf_puts(&b, cr->placeholder);
			else
				buf_append(&b, cr->value, cr->len);
			t++;
			continue;
		}
		buf_append(&b, t, 1);
	}
	return buf_steal(&b);
}

/* "Basic " and the base64 of the expanded template, padded or not. */
static char *
basic(const char *tmpl, bool pad)
{
	char *plain = expand(tmpl);
	size_t n = strlen(plain);
	char *enc = xmalloc(4 * ((n + 2) / 3) + 1);
	char *ret;
	int k = EVP_EncodeBlock((unsigned char *)enc, (unsigned char *)plain,
				(int)n);

	while (!pad && k > 0 && enc[k - 1] == '=')
		enc[--k] = '\0';
	ret = xasprintf("Basic %s", enc);
	free(plain);
	free(enc);
	return ret;
}

static int
rewrite(const char *host, uint16_t port, const char *tmpl, bool resolve,
	struct buf *out, struct creds_result *res)
{
	char *head = expand(tmpl);
	int r;

	buf_reset(out);
	r = creds_rewrite_head(&C, host, port, head, strlen(head), resolve, out,
			       res);
	free(head);
	return r;
}

static bool
out_is(struct buf *out, const char *tmpl)
{
	char *want = expand(tmpl);
	bool ok = out->len == strlen(want) &&
		  memcmp(buf_str(out), want, out->len) == 0;

	if (!ok)
		printf("# got  '%s'\n# want '%s'\n", buf_str(out), want);
	free(want);
	return ok;
}

/* Rewrites tmpl for host, expecting want and n replacements. */
static void
check_rw(const char *name, const char *host, const char *tmpl, const char *want,
	 size_t n)
{
	struct buf out = BUF_INIT(TEST_OUT_MAX);
	struct creds_result res;
	int r = rewrite(host, 443, tmpl, true, &out, &res);

	TAP_EQ_INT(r, 0, name);
	tap_ok(out_is(&out, want) && res.replaced == n && !res.refusal,
	       "%s: output and count", name);
	buf_free(&out);
}

static void
check_refused(const char *name, const char *host, const char *tmpl,
	      const char *refusal, int cred, const char *where)
{
	struct buf out = BUF_INIT(TEST_OUT_MAX);
	struct creds_result res;
	char *head = expand(tmpl);
	int r;

	buf_puts(&out, "kept");
	r = creds_rewrite_head(&C, host, 443, head, strlen(head), true, &out,
			       &res);
	free(head);
	TAP_EQ_INT(r, -EPERM, name);
	tap_ok(streq(res.refusal, refusal) && streq(res.key, C.v[cred].key) &&
		   streq(res.where, where),
	       "%s: %s, key and where", name, refusal);
	tap_ok(out.len == 4 && streq(buf_str(&out), "kept"),
	       "%s: out unchanged", name);
	buf_free(&out);
}

static bool
is_placeholder(const char *p)
{
	if (strlen(p) != CREDS_PLACEHOLDER_LEN ||
	    strncmp(p, "brig-ph-", 8) != 0)
		return false;
	for (size_t i = 8; i < CREDS_PLACEHOLDER_LEN; i++)
		if (!strchr("0123456789abcdef", p[i]))
			return false;
	return true;
}

static void
test_add(void)
{
	struct creds c = { 0 };
	bool fmt = true, unique = true;
	char key[16];
	int r = 0;

	for (size_t i = 0; i < CREDS_MAX; i++) {
		snprintf(key, sizeof(key), "K%zu", i);
		r |= creds_add(&c, key, "12345678", 8, NULL, 0);
		fmt = fmt && is_placeholder(c.v[i].placeholder);
		for (size_t j = 0; j < i; j++)
			unique = unique &&
				 !streq(c.v[i].placeholder, c.v[j].placeholder);
	}
	TAP_EQ_INT(r, 0, "add: CREDS_MAX credentials");
	tap_ok(fmt, "add: placeholders are the prefix and 32 lower-case hex");
	tap_ok(unique, "add: placeholders differ");
	TAP_EQ_INT(creds_add(&c, "MORE", "12345678", 8, NULL, 0), -ENOSPC,
		   "add: one past CREDS_MAX");
	creds_free(&c);
	TAP_EQ_INT(c.n, 0, "add: free empties");
}

static void
test_add_refused(void)
{
	struct creds c = { 0 };
	struct creds_host many[CREDS_HOSTS_MAX + 1] = { 0 };

	TAP_EQ_INT(creds_add(&c, "A", "12345678", 8, NULL, 0), 0, "add: A");
	TAP_EQ_INT(creds_add(&c, "A", "abcdefgh", 8, NULL, 0), -EEXIST,
		   "add: a key twice");
	TAP_EQ_INT(creds_add(&c, "B", "12345678", 8, NULL, 0), 0,
		   "add: a value twice (GITHUB_TOKEN and GH_TOKEN)");
	TAP_EQ_INT(creds_add(&c, "C", "1234567", 7, NULL, 0), -EINVAL,
		   "add: a value under CREDS_VALUE_MIN");
	TAP_EQ_INT(creds_add(&c, "C", "1234\r\n5678", 10, NULL, 0), -EINVAL,
		   "add: a value with CRLF");
	TAP_EQ_INT(creds_add(&c, "C",
			     "1234\0"
			     "5678",
			     9, NULL, 0),
		   -EINVAL, "add: a value with NUL");
	TAP_EQ_INT(creds_add(&c, "9C", "12345678", 8, NULL, 0), -EINVAL,
		   "add: a key starting with a digit");
	TAP_EQ_INT(creds_add(&c, "C=D", "12345678", 8, NULL, 0), -EINVAL,
		   "add: a key with '='");
	TAP_EQ_INT(creds_add(&c, "", "12345678", 8, NULL, 0), -EINVAL,
		   "add: an empty key");
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		memcpy(many[i].host, "a.b", 4);
	TAP_EQ_INT(creds_add(&c, "C", "12345678", 8, many, ARRAY_SIZE(many)),
		   -EINVAL, "add: past CREDS_HOSTS_MAX hosts");
	TAP_EQ_INT(creds_add(&c, "C", "12345678", 8, many, 1), 0,
		   "add: one host");
	tap_ok(creds_find_placeholder(&c, c.v[2].placeholder,
				      CREDS_PLACEHOLDER_LEN) == &c.v[2],
	       "add: find_placeholder");
	creds_free(&c);
}

static void
test_bound(void)
{
	tap_ok(creds_bound_to(&C.v[OPENAI], "api.openai.com", 443),
	       "bound: openai to its host");
	tap_ok(creds_bound_to(&C.v[OPENAI], "API.OpenAI.com", 8443),
	       "bound: any port, any case");
	tap_ok(!creds_bound_to(&C.v[OPENAI], "api.github.com", 443),
	       "bound: openai not to github");
	tap_ok(creds_bound_to(&C.v[GITHUB], "api.github.com", 443),
	       "bound: github to api.github.com:443");
	tap_ok(!creds_bound_to(&C.v[GITHUB], "api.github.com", 80),
	       "bound: not on another port");
	tap_ok(creds_bound_to(&C.v[GITHUB], "github.com", 22),
	       "bound: github.com on any port");
	tap_ok(creds_bound_to(&C.v[VOICE], "anything.example", 1),
	       "bound: unbound goes anywhere");
}

static void
test_misbound(void)
{
	char *head = expand("GET /x HTTP/1.1\r\nX-A: @2\r\nX-B: @0\r\n\r\n");
	char *unbound = expand("GET /x?k=@2 HTTP/1.1\r\n\r\n");

	tap_ok(creds_misbound(&C, "evil.example", 80, head, strlen(head)) ==
		   &C.v[OPENAI],
	       "misbound: a bound placeholder toward another host");
	tap_ok(!creds_misbound(&C, "api.openai.com", 80, head, strlen(head)),
	       "misbound: none toward its own host");
	tap_ok(
	    !creds_misbound(&C, "evil.example", 80, unbound, strlen(unbound)),
	    "misbound: an unbound placeholder goes anywhere");
	tap_ok(!creds_misbound(NULL, "evil.example", 80, head, strlen(head)),
	       "misbound: no credentials");
	free(head);
	free(unbound);
}

static void
test_headers(void)
{
	check_rw("bearer", "api.openai.com",
		 "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n"
		 "Authorization: Bearer @0\r\n\r\n",
		 "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n"
		 "Authorization: Bearer #0\r\n\r\n",
		 1);
	check_rw("x-api-key", "voice.example",
		 "POST /v1/tts HTTP/1.1\r\nHost: voice.example\r\n"
		 "x-api-key: @2\r\nContent-Length: 0\r\n\r\n",
		 "POST /v1/tts HTTP/1.1\r\nHost: voice.example\r\n"
		 "x-api-key: #2\r\nContent-Length: 0\r\n\r\n",
		 1);
	check_rw("bytes around a value kept", "voice.example",
		 "GET / HTTP/1.1\r\nHost: voice.example\r\n"
		 "X-A:\t \"tok=@2;\"  \r\nx-b:@2@2\r\nX-C: @2\r\n\r\n",
		 "GET / HTTP/1.1\r\nHost: voice.example\r\n"
		 "X-A:\t \"tok=#2;\"  \r\nx-b:#2#2\r\nX-C: #2\r\n\r\n",
		 4);
	check_rw("Host untouched", "voice.example",
		 "GET / HTTP/1.1\r\nHost: @2\r\nX-K: @2\r\n\r\n",
		 "GET / HTTP/1.1\r\nHost: @2\r\nX-K: #2\r\n\r\n", 1);
	check_rw("header names never rewritten", "voice.example",
		 "GET / HTTP/1.1\r\nHost: v\r\n@2: @2\r\n\r\n",
		 "GET / HTTP/1.1\r\nHost: v\r\n@2: #2\r\n\r\n", 1);
	check_rw("unknown placeholder untouched", "voice.example",
		 "GET / HTTP/1.1\r\nHost: v\r\n"
		 "X-K: brig-ph-00000000000000000000000000000000 brig-ph-\r\n"
		 "\r\n",
		 "GET / HTTP/1.1\r\nHost: v\r\n"
		 "X-K: brig-ph-00000000000000000000000000000000 brig-ph-\r\n"
		 "\r\n",
		 0);
	check_rw("multiple credentials and occurrences", "api.openai.com",
		 "GET /a/@0?k=@2&j=@0 HTTP/1.1\r\nHost: api.openai.com\r\n"
		 "Authorization: Bearer @0\r\nX-Voice: @2,@0\r\n\r\n",
		 "GET /a/#0?k=#2&j=#0 HTTP/1.1\r\nHost: api.openai.com\r\n"
		 "Authorization: Bearer #0\r\nX-Voice: #2,#0\r\n\r\n",
		 6);
	check_rw("absolute-form: not in the authority", "voice.example",
		 "GET http://@2/x HTTP/1.1\r\nHost: a\r\n\r\n",
		 "GET http://@2/x HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	check_rw("absolute-form", "api.openai.com",
		 "GET http://api.openai.com/x?k=@0 HTTP/1.1\r\n"
		 "Host: api.openai.com\r\n\r\n",
		 "GET http://api.openai.com/x?k=#0 HTTP/1.1\r\n"
		 "Host: api.openai.com\r\n\r\n",
		 1);
}

static void
test_target(void)
{
	check_rw("query parameter", "api.openai.com",
		 "GET /v1/x?api_key=@0&b=2 HTTP/1.1\r\nHost: a\r\n\r\n",
		 "GET /v1/x?api_key=#0&b=2 HTTP/1.1\r\nHost: a\r\n\r\n", 1);
	check_rw("path segment", "api.openai.com",
		 "GET /keys/@0/info HTTP/1.1\r\nHost: a\r\n\r\n",
		 "GET /keys/#0/info HTTP/1.1\r\nHost: a\r\n\r\n", 1);
	check_rw("inside a path segment", "voice.example",
		 "GET /bot@2/getMe HTTP/1.1\r\nHost: a\r\n\r\n",
		 "GET /bot#2/getMe HTTP/1.1\r\nHost: a\r\n\r\n", 1);
	check_rw("percent-encoded in the target", "x.example",
		 "GET /p/@3?k=@3 HTTP/1.1\r\nHost: a\r\nX-K: @3\r\n\r\n",
		 "GET /p/a%2Fb%2Bc%3Dd%20e%25f?k=a%2Fb%2Bc%3Dd%20e%25f "
		 "HTTP/1.1\r\nHost: a\r\nX-K: #3\r\n\r\n",
		 3);
}

static void
check_basic(const char *name, const char *plain, const char *want, bool pad,
	    size_t n)
{
	char *in = basic(plain, pad), *out = basic(want, pad);
	char *head = xasprintf("GET / HTTP/1.1\r\nHost: a\r\n"
			       "Authorization: %s\r\n\r\n",
			       in);
	char *whead = xasprintf("GET / HTTP/1.1\r\nHost: a\r\n"
				"Authorization: %s\r\n\r\n",
				out);

	check_rw(name, "api.openai.com", head, whead, n);
	free(in);
	free(out);
	free(head);
	free(whead);
}

static void
test_basic(void)
{
	check_basic("basic: password", "user:@0", "user:#0", true, 1);
	check_basic("basic: user", "@0:", "#0:", true, 1);
	check_basic("basic: user, one pad", "@0:x", "#0:x", true, 1);
	check_basic("basic: user, two pads", "@0:xy", "#0:xy", true, 1);
	check_basic("basic: both, unpadded", "@0:@2", "#0:#2", true, 2);
	check_basic("basic: unpadded", "ab:@0", "ab:#0", false, 1);
	check_basic("basic: unpadded, one short", "abc:@0", "abc:#0", false, 1);
	check_basic("basic: no placeholder kept as sent", "u:p", "u:p", true,
		    0);
	check_rw("basic: raw placeholder as the token", "voice.example",
		 "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic @2\r\n\r\n",
		 "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic #2\r\n\r\n",
		 1);
	check_rw("basic: bad base64 left alone", "voice.example",
		 "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic a===\r\n"
		 "\r\n",
		 "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic a===\r\n"
		 "\r\n",
		 0);
}

static void
test_refusals(void)
{
	char *b = basic("u:@1", true), *t;

	check_refused("mismatch in a header", "api.openai.com",
		      "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer @1"
		      "\r\nX-Ok: @0\r\n\r\n",
		      CREDS_ENDPOINT_MISMATCH, GITHUB, "header");
	check_refused("mismatch: openai sent to github", "api.github.com",
		      "GET /?k=@0 HTTP/1.1\r\nHost: api.github.com\r\n\r\n",
		      CREDS_ENDPOINT_MISMATCH, OPENAI, "query");
	check_refused("mismatch in the path", "api.github.com",
		      "GET /@0 HTTP/1.1\r\nHost: a\r\n\r\n",
		      CREDS_ENDPOINT_MISMATCH, OPENAI, "path");
	t = xasprintf("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: %s\r\n\r\n",
		      b);
	check_refused("mismatch in basic", "api.openai.com", t,
		      CREDS_ENDPOINT_MISMATCH, GITHUB, "basic");
	free(t);
	free(b);
	check_refused("leak: value in a header", "voice.example",
		      "GET / HTTP/1.1\r\nHost: a\r\nX-K: #2\r\n\r\n",
		      CREDS_SECRET_LEAK, VOICE, "header");
	check_refused("leak: value in the query", "voice.example",
		      "GET /?k=#2 HTTP/1.1\r\nHost: a\r\n\r\n",
		      CREDS_SECRET_LEAK, VOICE, "query");
	check_refused("leak: value percent-encoded in the query",
		      "voice.example",
		      "GET /?k=sk-real-secret%2dkey%2Dhere HTTP/1.1\r\n"
		      "Host: a\r\n\r\n",
		      CREDS_SECRET_LEAK, VOICE, "query");
	check_refused("leak: value in the path", "voice.example",
		      "GET /x/#2 HTTP/1.1\r\nHost: a\r\n\r\n",
		      CREDS_SECRET_LEAK, VOICE, "path");
	b = basic("user:#0", true);
	t = xasprintf("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: %s\r\n\r\n",
		      b);
	check_refused("leak: value in basic", "api.openai.com", t,
		      CREDS_SECRET_LEAK, OPENAI, "basic");
	free(t);
	free(b);
	check_refused("leak before mismatch", "api.openai.com",
		      "GET / HTTP/1.1\r\nHost: a\r\nX-A: @1\r\nX-B: #2\r\n\r\n",
		      CREDS_SECRET_LEAK, VOICE, "header");
}

static void
test_errors(void)
{
	struct buf out = BUF_INIT(TEST_OUT_MAX), small = BUF_INIT(50);
	struct creds_result res;
	static const char h[] = "GET / HTTP/1.1\r\nHost: a\r\nX: @2\r\n\r\n";

	TAP_EQ_INT(rewrite("a", 443, "GET / HTTP/1.1\r\nHost: a\r\n", true,
			   &out, &res),
		   -EINVAL, "errors: an incomplete head");
	TAP_EQ_INT(rewrite("a", 443, "GET / HTTP/1.1\r\nHost: a\r\n\r\nbody",
			   true, &out, &res),
		   -EINVAL, "errors: bytes after the head");
	TAP_EQ_INT(rewrite("a", 443, "CONNECT a:443 HTTP/1.1\r\n\r\n", true,
			   &out, &res),
		   -EINVAL, "errors: CONNECT");
	TAP_EQ_INT(rewrite("a", 443, "GET / HTTP/1.1\nHost: a\r\n\r\n", true,
			   &out, &res),
		   -EBADMSG, "errors: the parser's error");
	TAP_EQ_INT(rewrite("a", 443, h, true, &small, &res), -E2BIG,
		   "errors: out's limit");
	TAP_EQ_INT(small.len, 0, "errors: out unchanged after E2BIG");
	TAP_EQ_INT(rewrite("a", 443, h, false, &out, &res), 0,
		   "plain: not resolved");
	tap_ok(out_is(&out, h) && res.unresolved == 1 && res.replaced == 0,
	       "plain: copied as it is, placeholder counted");
	TAP_EQ_INT(rewrite("api.openai.com", 80,
			   "GET / HTTP/1.1\r\nHost: a\r\nX: @1\r\n\r\n", false,
			   &out, &res),
		   0, "plain: no mismatch when nothing is resolved");
	TAP_EQ_INT(rewrite("a", 80,
			   "GET / HTTP/1.1\r\nHost: a\r\nX: #2\r\n\r\n", false,
			   &out, &res),
		   -EPERM, "plain: leaks refused all the same");
	buf_free(&out);
	buf_free(&small);
}

static void
test_body(void)
{
	struct buf out = BUF_INIT(TEST_OUT_MAX);
	struct creds_result res;
	char *body = expand("{\"key\":\"@0\",\"v\":\"@2\"}");
	char *leak = expand("{\"key\":\"#2\"}");
	int r;

	r = creds_rewrite_body(&C, "api.openai.com", 443, body, strlen(body),
			       &out, &res);
	TAP_EQ_INT(r, 0, "body: rewritten");
	tap_ok(out_is(&out, "{\"key\":\"#0\",\"v\":\"#2\"}") &&
		   res.replaced == 2,
	       "body: both replaced");
	buf_reset(&out);
	r = creds_rewrite_body(&C, "api.github.com", 443, body, strlen(body),
			       &out, &res);
	tap_ok(r == -EPERM && streq(res.refusal, CREDS_ENDPOINT_MISMATCH) &&
		   streq(res.where, "body") && out.len == 0,
	       "body: mismatch refused");
	r = creds_rewrite_body(&C, "a", 443, leak, strlen(leak), &out, &res);
	tap_ok(r == -EPERM && streq(res.refusal, CREDS_SECRET_LEAK) &&
		   streq(res.key, "VOICE_API_KEY"),
	       "body: leak refused");
	tap_ok(creds_contains_secret(&C, leak, strlen(leak)),
	       "body: contains_secret finds a value");
	tap_ok(!creds_contains_secret(&C, body, strlen(body)),
	       "body: contains_secret not a placeholder");
	r = creds_rewrite_body(&C, "a", 443, body, CREDS_BODY_MAX + 1, &out,
			       &res);
	TAP_EQ_INT(r, -E2BIG, "body: past CREDS_BODY_MAX");
	free(body);
	free(leak);
	buf_free(&out);
}

/*
 * An empty body may come as NULL (a buffer never grown); no search may
 * then pass NULL to memmem, whose arguments glibc declares nonnull (UBSan
 * reports it in the sanitized unit tests).
 */
static void
test_body_empty(void)
{
	struct buf out = BUF_INIT(TEST_OUT_MAX);
	struct creds_result res;
	int r;

	r = creds_rewrite_body(&C, "api.openai.com", 443, NULL, 0, &out, &res);
	tap_ok(r == 0 && out.len == 0 && !res.refusal,
	       "body: an empty body given as NULL");
	tap_ok(!creds_misbound(&C, "a", 443, NULL, 0),
	       "misbound: an empty span given as NULL");
	buf_free(&out);
}

/* Scrubs in pieces cut at cuts[] (ncuts of them, ascending). */
static char *
scrub_pieces(const struct creds *c, const char *in, size_t len,
	     const size_t *cuts, size_t ncuts)
{
	struct creds_scrubber s;
	struct buf out = BUF_INIT(TEST_OUT_MAX);
	size_t at = 0;

	creds_scrub_init(&s, c);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		creds_scrub(&s, in + at, end - at, &out);
		at = end;
	}
	creds_scrub_flush(&s, &out);
	return buf_steal(&out);
}

static bool
splits_agree(const struct creds *c, const char *in, const char *one)
{
	size_t len = strlen(in);
	bool ok = true;

	for (size_t i = 0; i <= len && ok; i++) {
		for (size_t j = i; j <= len && ok; j++) {
			size_t cuts[2] = { i, j };
			char *two = scrub_pieces(c, in, len, cuts, 1);
			char *three = scrub_pieces(c, in, len, cuts, 2);

			ok = streq(two, one) && streq(three, one);
			if (!ok)
				printf("# split %zu %zu: '%s' / '%s'\n", i, j,
				       two, three);
			free(two);
			free(three);
		}
	}
	return ok;
}

static void
check_scrub(const struct creds *c, const char *name, const char *in,
	    const char *want)
{
	char *one = scrub_pieces(c, in, strlen(in), NULL, 0);

	tap_ok(streq(one, want), "scrub: %s, one shot", name);
	if (!streq(one, want))
		printf("# got  '%s'\n# want '%s'\n", one, want);
	tap_ok(splits_agree(c, in, one), "scrub: %s, every split", name);
	free(one);
}

/* Scrubs with one alias, in one shot and in every split. */
static bool
alias_scrubs(const char *in, const char *from, const char *to, const char *want)
{
	size_t len = strlen(in);
	bool ok = true;

	for (size_t i = 0; i <= len && ok; i++) {
		struct creds_scrubber s;
		struct buf out = BUF_INIT(TEST_OUT_MAX);

		creds_scrub_init(&s, &C);
		ok = creds_scrub_alias(&s, from, strlen(from), to,
				       strlen(to)) == 0 &&
		     creds_scrub(&s, in, i, &out) == 0 &&
		     creds_scrub(&s, in + i, len - i, &out) == 0 &&
		     creds_scrub_flush(&s, &out) == 0 &&
		     streq(buf_str(&out), want);
		if (!ok)
			printf("# split %zu: '%s'\n", i, buf_str(&out));
		buf_free(&out);
	}
	return ok;
}

static void
test_scrub_alias(void)
{
	struct creds_scrubber s;
	char *in = expand("v=#2 blob=c2VjcmV0OiREAL0123456789BLOB");
	char *want = expand("v=@2 blob=dXNlcjpicmlnLXBo");
	char from[] = "c2VjcmV0OiREAL0123456789BLOB";
	int added = 0, r;

	tap_ok(alias_scrubs("echo: c2VjcmV0OiREAL0123456789BLOB=\r\n", from,
			    "dXNlcjpicmlnLXBo", "echo: dXNlcjpicmlnLXBo=\r\n"),
	       "alias: an echoed blob turned back, every split");
	tap_ok(alias_scrubs(in, from, "dXNlcjpicmlnLXBo", want),
	       "alias: values are still replaced beside it");
	tap_ok(alias_scrubs("x c2VjcmV0OiREAL0123456789BLOB y", from, "short",
			    "x short y"),
	       "alias: a shorter replacement");
	creds_scrub_init(&s, &C);
	TAP_EQ_INT(creds_scrub_alias(&s, "short", 5, "x", 1), -EINVAL,
		   "alias: shorter than a value is refused");
	while ((r = creds_scrub_alias(&s, from, strlen(from), "x", 1)) == 0)
		added++;
	TAP_EQ_INT(r, -ENOSPC, "alias: a full scrubber says so");
	tap_ok(added >= CREDS_SCRUB_ALIASES_MAX,
	       "alias: room for CREDS_SCRUB_ALIASES_MAX of them");
	creds_scrub_free(&s);
	free(in);
	free(want);
}

static void
test_scrub(void)
{
	char *in = expand("HTTP/1.1 200 OK\r\nX-Echo: Bearer #0\r\n\r\n"
			  "{\"k\":\"#2\",\"o\":\"#0#0\"} sk-real-secret-key");
	char *want = expand("HTTP/1.1 200 OK\r\nX-Echo: Bearer @0\r\n\r\n"
			    "{\"k\":\"@2\",\"o\":\"@0@0\"} sk-real-secret-key");

	check_scrub(&C, "values in a response", in, want);
	check_scrub(&C, "no value", "HTTP/1.1 200 OK\r\n\r\nhello",
		    "HTTP/1.1 200 OK\r\n\r\nhello");
	free(in);
	free(want);
}

/* Values that overlap each other and one inside another. */
static void
test_scrub_overlap(void)
{
	struct creds c = { 0 };
	char want[512];

	creds_add(&c, "A", "abcdefgh", 8, NULL, 0);
	creds_add(&c, "B", "efghijkl", 8, NULL, 0);
	creds_add(&c, "C", "abcdefghXYZ", 11, NULL, 0);
	creds_add(&c, "D", "aaaaaaaab", 9, NULL, 0);
	snprintf(want, sizeof(want), "%sijkl", c.v[0].placeholder);
	check_scrub(&c, "overlap: leftmost wins", "abcdefghijkl", want);
	snprintf(want, sizeof(want), "%s%s", c.v[0].placeholder,
		 c.v[1].placeholder);
	check_scrub(&c, "adjacent values", "abcdefghefghijkl", want);
	snprintf(want, sizeof(want), "-%s-", c.v[2].placeholder);
	check_scrub(&c, "longest at one position", "-abcdefghXYZ-", want);
	snprintf(want, sizeof(want), "-%sXY", c.v[0].placeholder);
	check_scrub(&c, "a longer value's prefix", "-abcdefghXY", want);
	snprintf(want, sizeof(want), "aaaa%s", c.v[3].placeholder);
	check_scrub(&c, "self-overlapping prefix", "aaaaaaaaaaaab", want);
	check_scrub(&c, "prefixes only", "abcdefg efghijk aaaaaaaa",
		    "abcdefg efghijk aaaaaaaa");
	creds_free(&c);
}

/* Only a possible start of a value is held back; flush gives it. */
static void
test_scrub_hold(void)
{
	struct creds_scrubber s;
	struct buf out = BUF_INIT(TEST_OUT_MAX);
	struct buf big = BUF_INIT(TEST_OUT_MAX);
	char *got;

	creds_scrub_init(&s, &C);
	creds_scrub(&s, "data: hello\n", 12, &out);
	tap_ok(out.len == 12, "hold: nothing held without a value's start");
	creds_scrub(&s, "x sk-real-sec", 13, &out);
	tap_ok(out.len == 14, "hold: a value's start held");
	TAP_EQ_INT(s.win.len, 11, "hold: only those bytes");
	creds_scrub_flush(&s, &out);
	tap_ok(streq(buf_str(&out), "data: hello\nx sk-real-sec"),
	       "hold: flush gives them back");
	TAP_EQ_INT(s.win.data == NULL, 1, "hold: flush frees the window");

	buf_reset(&out);
	for (size_t i = 0; i < 3 * CREDS_SCRUB_SLICE / 23; i++)
		buf_append(&big, C.v[VOICE].value, C.v[VOICE].len);
	creds_scrub_init(&s, &C);
	creds_scrub(&s, big.data, big.len, &out);
	creds_scrub_flush(&s, &out);
	got = buf_steal(&out);
	tap_ok(!creds_contains_secret(&C, got, strlen(got)) &&
		   strlen(got) == big.len / 23 * CREDS_PLACEHOLDER_LEN,
	       "hold: values across slices all replaced");
	free(got);
	buf_free(&big);
}

int main(void);
int
main(void)
{
	setup();
	test_add();
	test_add_refused();
	test_bound();
	test_headers();
	test_target();
	test_basic();
	test_refusals();
	test_errors();
	test_body();
	test_body_empty();
	test_misbound();
	test_scrub();
	test_scrub_alias();
	test_scrub_overlap();
	test_scrub_hold();
	creds_free(&C);
	return tap_done();
}
