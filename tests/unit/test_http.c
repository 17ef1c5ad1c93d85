/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "proxy/http.h"
#include "tap.h"

/* A head as a literal: its bytes and their number, NULs included. */
#define H(s) s, sizeof(s) - 1
/* A case's want: the head's whole length. */
#define WHOLE 1
/* Room for heads built around the HTTP_HEAD_MAX boundary. */
#define BIG_HEAD (HTTP_HEAD_MAX + 64)
/* What eq_str shows of a string. */
#define ESCAPED_MAX 1024
/* A response buffer's cap in these tests. */
#define RESPONSE_MAX (128 * 1024)

static const struct {
	const char *name;
	const char *head;
	size_t len;
	int want; /* WHOLE, 0 or a negative errno */
	int status; /* reject_status for a negative want */
} cases[] = {
	/* Heads the proxy serves. */
	{ "CONNECT with Host",
	  H("CONNECT api.github.com:443 HTTP/1.1\r\n"
	    "Host: api.github.com:443\r\n\r\n"),
	  WHOLE },
	{ "CONNECT without Host",
	  H("CONNECT api.github.com:443 HTTP/1.1\r\n\r\n"), WHOLE },
	{ "CONNECT HTTP/1.0", H("CONNECT a.b:443 HTTP/1.0\r\n\r\n"), WHOLE },
	{ "CONNECT to an IPv6 literal", H("CONNECT [::1]:443 HTTP/1.1\r\n\r\n"),
	  WHOLE },
	{ "CONNECT to an IPv4 literal",
	  H("CONNECT 192.0.2.1:8443 HTTP/1.1\r\n\r\n"), WHOLE },
	{ "CONNECT with Content-Length: 0",
	  H("CONNECT a.b:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), WHOLE },
	{ "absolute-form GET",
	  H("GET http://example.com/a?b=c HTTP/1.1\r\nHost: "
	    "example.com\r\n\r\n"),
	  WHOLE },
	{ "absolute-form GET, HTTP/1.0 without Host",
	  H("GET http://example.com/ HTTP/1.0\r\n\r\n"), WHOLE },
	{ "absolute-form with an upper-case scheme",
	  H("GET HTTP://example.com/ HTTP/1.0\r\n\r\n"), WHOLE },
	{ "absolute-form with an empty path",
	  H("GET http://example.com HTTP/1.0\r\n\r\n"), WHOLE },
	{ "origin-form POST with a length",
	  H("POST /v1/x HTTP/1.1\r\nHost: a.b\r\nContent-Length: 5\r\n\r\n"),
	  WHOLE },
	{ "origin-form POST, chunked",
	  H("POST /x HTTP/1.1\r\nHost: a.b\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n"),
	  WHOLE },
	{ "equal repeated Content-Length",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n"),
	  WHOLE },
	{ "HTAB and obs-text in a value",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\tc \xc3\xa9\r\n\r\n"), WHOLE },
	{ "an empty value", H("GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\n\r\n"),
	  WHOLE },
	{ "a name of unusual tchars",
	  H("GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09aZ: v\r\n\r\n"),
	  WHOLE },
	{ "an underscore in an unrelated name",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX_Api_Key: v\r\n\r\n"), WHOLE },
	{ "each served method", H("PATCH / HTTP/1.1\r\nHost: a\r\n\r\n"),
	  WHOLE },

	/* Heads not yet complete. */
	{ "nothing yet", H(""), 0 },
	{ "half a request line", H("GET / HT"), 0 },
	{ "no blank line yet", H("GET / HTTP/1.1\r\nHost: a\r\n"), 0 },
	{ "a CR without its LF yet", H("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0 },

	/* Line endings. */
	{ "bare LF after the request line",
	  H("GET / HTTP/1.1\nHost: a\r\n\r\n"), -EBADMSG, 400 },
	{ "bare LF after a field", H("GET / HTTP/1.1\r\nHost: a\n\r\n"),
	  -EBADMSG, 400 },
	{ "bare LF ending a value",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX-A: bb\n\r\n"), -EBADMSG, 400 },
	{ "bare LF as the blank line", H("GET / HTTP/1.1\r\nHost: a\r\n\n"),
	  -EBADMSG, 400 },
	{ "bare CR inside a value",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), -EBADMSG, 400 },
	{ "bare CR in the request line", H("GET /\r HTTP/1.1\r\n"), -EBADMSG,
	  400 },
	{ "an empty line before the request",
	  H("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), -EBADMSG, 400 },

	/* The request line. */
	{ "two spaces after the method", H("GET  / HTTP/1.1\r\n"), -EBADMSG,
	  400 },
	{ "two spaces before the version", H("GET /  HTTP/1.1\r\n"), -EBADMSG,
	  400 },
	{ "a tab for a space", H("GET\t/ HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "a space after the version", H("GET / HTTP/1.1 \r\n"), -EBADMSG,
	  400 },
	{ "a space in the target", H("GET /a b HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "no version", H("GET /\r\n"), -EBADMSG, 400 },
	{ "an HTTP/0.9 line", H("GET\r\n"), -EBADMSG, 400 },
	{ "a lower-case version", H("GET / http/1.1\r\n"), -EBADMSG, 400 },
	{ "a garbled version", H("GET / HTTP/1.x\r\n"), -EBADMSG, 400 },
	{ "a NUL in the method", H("G\0T / HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "a NUL in the target", H("GET /\0 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "a fragment in the target", H("GET /a#b HTTP/1.1\r\n"), -EBADMSG,
	  400 },
	{ "a raw high byte in the target", H("GET /\xc3\xa9 HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "HTTP/2.0", H("GET / HTTP/2.0\r\n"), -ENOTSUP, 505 },
	{ "HTTP/1.2", H("GET / HTTP/1.2\r\n"), -ENOTSUP, 505 },
	{ "HTTP/0.9 spelled out", H("GET / HTTP/0.9\r\n"), -ENOTSUP, 505 },
	{ "an unknown version wins over an unknown method",
	  H("BREW / HTTP/3.0\r\n"), -ENOTSUP, 505 },
	{ "TRACE", H("TRACE / HTTP/1.1\r\n"), -ENOTSUP, 405 },
	{ "an unknown method", H("PROPFIND / HTTP/1.1\r\n"), -ENOTSUP, 405 },
	{ "a lower-case method", H("get / HTTP/1.1\r\n"), -ENOTSUP, 405 },
	{ "a method that is no token", H("G(T / HTTP/1.1\r\n"), -EBADMSG, 400 },

	/* Targets and forms. */
	{ "https:// in absolute-form", H("GET https://a.b/ HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "another scheme", H("GET ftp://a.b/ HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "asterisk-form", H("OPTIONS * HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "authority-form without CONNECT", H("GET a.b:80 HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT with origin-form", H("CONNECT / HTTP/1.1\r\n"), -EBADMSG,
	  400 },
	{ "CONNECT with absolute-form",
	  H("CONNECT http://a.b:80/ HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT without a port", H("CONNECT a.b HTTP/1.1\r\n"), -EBADMSG,
	  400 },
	{ "CONNECT with an empty port", H("CONNECT a.b: HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT to port 0", H("CONNECT a.b:0 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to port 65536", H("CONNECT a.b:65536 HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT with a six-digit port", H("CONNECT a.b:000443 HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT with an empty host", H("CONNECT :443 HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT with userinfo", H("CONNECT u@a.b:443 HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT to a percent-encoded name",
	  H("CONNECT %61.b:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to a name with an empty label",
	  H("CONNECT a..b:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to a name with a trailing dot",
	  H("CONNECT a.b.:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to a short IPv4 address",
	  H("CONNECT 127.1:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to a hex IPv4 address",
	  H("CONNECT 0x7f.0.0.1:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to an octal IPv4 address",
	  H("CONNECT 0177.0.0.1:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to an IPv4 address as one number",
	  H("CONNECT 2130706433:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "a Host naming an IPv4 address as one number",
	  H("GET / HTTP/1.1\r\nHost: 2130706433\r\n\r\n"), -EBADMSG, 400 },
	{ "CONNECT to a name that ends in digits",
	  H("CONNECT host.1:443 HTTP/1.1\r\n\r\n"), WHOLE },
	{ "CONNECT to an IPv6 literal with a zone",
	  H("CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to a broken IPv6 literal",
	  H("CONNECT [::g]:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT to an unclosed IPv6 literal",
	  H("CONNECT [::1:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "CONNECT with junk after an IPv6 literal",
	  H("CONNECT [::1]x:443 HTTP/1.1\r\n"), -EBADMSG, 400 },
	{ "absolute-form with userinfo", H("GET http://u:p@a.b/ HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "absolute-form with no host", H("GET http:///x HTTP/1.1\r\n"),
	  -EBADMSG, 400 },
	{ "absolute-form with an empty port",
	  H("GET http://a.b:/ HTTP/1.1\r\n"), -EBADMSG, 400 },

	/* Fields. */
	{ "a space before the colon", H("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a tab before the colon", H("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "obs-fold", H("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "obs-fold with a tab",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n"), -EBADMSG,
	  400 },
	{ "whitespace before the first field",
	  H("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), -EBADMSG, 400 },
	{ "a field without a colon", H("GET / HTTP/1.1\r\nHost a\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "an empty name", H("GET / HTTP/1.1\r\n: a\r\n\r\n"), -EBADMSG, 400 },
	{ "a name that is no token",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n"), -EBADMSG, 400 },
	{ "a high byte in a name",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: b\r\n\r\n"), -EBADMSG,
	  400 },
	{ "a NUL in a value", H("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a control byte in a value",
	  H("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n"), -EBADMSG, 400 },
	{ "DEL in a value", H("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"),
	  -EBADMSG, 400 },

	/* Host. */
	{ "HTTP/1.1 without Host", H("GET / HTTP/1.1\r\nX: a\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "absolute-form HTTP/1.1 without Host",
	  H("GET http://a.b/ HTTP/1.1\r\n\r\n"), -EBADMSG, 400 },
	{ "two Host fields", H("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "two Host fields, spelled apart",
	  H("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n"), -EBADMSG, 400 },
	{ "an empty Host", H("GET / HTTP/1.1\r\nHost:\r\n\r\n"), -EBADMSG,
	  400 },
	{ "a Host with userinfo", H("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a Host with a path", H("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a Host with two names", H("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a Host with a list", H("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"),
	  -EBADMSG, 400 },

	/* Framing. */
	{ "differing Content-Length",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a Content-Length list",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a signed Content-Length",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "an empty Content-Length",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a Content-Length past 2^63",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808"
	    "\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "a twenty-digit Content-Length",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "00000000000000000005"
	    "\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "Content-Length with Transfer-Encoding",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "Transfer-Encoding with Content-Length",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "Transfer-Encoding: gzip, chunked",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
	    "chunked\r\n"
	    "\r\n"),
	  -EBADMSG, 400 },
	{ "Transfer-Encoding: Chunked",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	    "Chunked\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "Transfer-Encoding: chunked with junk after it",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	    "chunkedx\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "two Transfer-Encoding fields",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "Transfer-Encoding in HTTP/1.0",
	  H("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), -EBADMSG,
	  400 },
	{ "Content_Length with an underscore",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "Transfer_Encoding with an underscore",
	  H("POST /x HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: "
	    "chunked\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT with Transfer-Encoding",
	  H("CONNECT a.b:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  -EBADMSG, 400 },
	{ "CONNECT with a body length",
	  H("CONNECT a.b:443 HTTP/1.1\r\nContent-Length: 3\r\n\r\n"), -EBADMSG,
	  400 },
};

static void
test_cases(void)
{
	struct http_request r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = cases[i].len;
		int want = cases[i].want == WHOLE ? (int)n : cases[i].want;
		int got = http_parse_request(cases[i].head, n, &r);

		TAP_EQ_INT(got, want, cases[i].name);
		if (want < 0 && got == want)
			TAP_EQ_INT(r.reject_status, cases[i].status,
				   "  and answers the right status");
	}
}

static void
eq_span(struct http_span got, const char *want, const char *name)
{
	bool ok = got.len == strlen(want) && memcmp(got.p, want, got.len) == 0;

	tap_ok(ok, "%s (got '%.*s', want '%s')", name, (int)got.len,
	       got.p ? got.p : "", want);
}

/* Writes s with control bytes escaped, so one TAP line stays one line. */
static const char *
escaped(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; s && *s && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return s ? out : "(null)";
}

static void
eq_str(const char *got, const char *want, const char *name)
{
	char g[ESCAPED_MAX], w[ESCAPED_MAX];

	tap_ok(streq(got, want), "%s (got '%s', want '%s')", name,
	       escaped(got, g, sizeof(g)), escaped(want, w, sizeof(w)));
}

static int
parse(const char *head, struct http_request *r)
{
	return http_parse_request(head, strlen(head), r);
}

static void
test_connect(void)
{
	static const char head[] = "CONNECT api.github.com:443 HTTP/1.1\r\n"
				   "Host: api.github.com:443\r\n"
				   "User-Agent: curl/8.5.0\r\n\r\n";
	struct http_request r;

	TAP_EQ_INT(parse(head, &r), strlen(head), "CONNECT parses");
	TAP_EQ_INT(r.form, HTTP_FORM_AUTHORITY, "CONNECT is authority-form");
	eq_span(r.method, "CONNECT", "its method");
	eq_span(r.target, "api.github.com:443", "its target");
	eq_span(r.version, "HTTP/1.1", "its version");
	TAP_EQ_INT(r.minor, 1, "its minor version");
	eq_str(r.host, "api.github.com", "its host");
	TAP_EQ_INT(r.port, 443, "its port");
	tap_ok(r.has_host && r.host_header.port == 443, "its Host header");
	TAP_EQ_INT(r.nheaders, 2, "two fields");
	eq_span(r.headers[1].value, "curl/8.5.0", "a field's value");
	TAP_EQ_INT(http_check_host(&r), 0, "Host agrees with the authority");
}

static void
test_connect_ipv6(void)
{
	struct http_request r;

	TAP_EQ_INT(parse("CONNECT [::1]:443 HTTP/1.1\r\n\r\n", &r) > 0, 1,
		   "CONNECT to [::1]:443 parses");
	eq_str(r.host, "::1", "an IPv6 host loses its brackets");
	TAP_EQ_INT(r.port, 443, "and keeps its port");
	TAP_EQ_INT(http_check_host(&r), 0, "no Host, nothing to disagree");
	TAP_EQ_INT(parse("CONNECT [0:0::0:1]:443 HTTP/1.1\r\n"
			 "Host: [::1]:443\r\n\r\n",
			 &r) > 0,
		   1, "a long-hand IPv6 literal parses");
	eq_str(r.host, "::1", "and is written one way");
	TAP_EQ_INT(http_check_host(&r), 0, "so its short Host agrees");
	TAP_EQ_INT(parse("CONNECT [2001:DB8::A]:443 HTTP/1.1\r\n\r\n", &r) > 0,
		   1, "an upper-case IPv6 literal parses");
	eq_str(r.host, "2001:db8::a", "and is lower-cased");
}

static void
test_absolute(void)
{
	static const char head[] =
	    "GET http://Example.COM:8080/a/b?c=d&e HTTP/1.1\r\n"
	    "Host: example.com:8080\r\n\r\n";
	struct http_request r;

	TAP_EQ_INT(parse(head, &r), strlen(head), "absolute-form parses");
	TAP_EQ_INT(r.form, HTTP_FORM_ABSOLUTE, "as absolute-form");
	eq_str(r.host, "example.com", "its host, lower-cased");
	TAP_EQ_INT(r.port, 8080, "its port");
	eq_span(r.path, "/a/b", "its path");
	tap_ok(r.has_query, "it has a query");
	eq_span(r.query, "c=d&e", "its query");
	TAP_EQ_INT(http_check_host(&r), 0, "Host agrees with the URI");

	parse("GET http://a.b HTTP/1.0\r\n\r\n", &r);
	tap_ok(r.port == 80 && r.path.len == 0 && !r.has_query,
	       "no port is 80, and an empty path has no query");
	parse("GET http://a.b?x HTTP/1.0\r\n\r\n", &r);
	tap_ok(r.path.len == 0 && r.has_query && r.query.len == 1,
	       "a query right after the authority");
	parse("GET http://a.b/? HTTP/1.0\r\n\r\n", &r);
	tap_ok(r.has_query && r.query.len == 0, "an empty query is a query");
}

static void
test_origin(void)
{
	struct http_request r;

	TAP_EQ_INT(
	    parse("GET /zen HTTP/1.1\r\nHost: API.github.com\r\n\r\n", &r) > 0,
	    1, "origin-form parses");
	TAP_EQ_INT(r.form, HTTP_FORM_ORIGIN, "as origin-form");
	eq_str(r.host, "api.github.com", "its host comes from Host");
	TAP_EQ_INT(r.port, 0, "and names no port");
	eq_span(r.path, "/zen", "its path");
	tap_ok(!r.has_query, "it has no query");
	TAP_EQ_INT(http_check_host(&r), -EINVAL, "http_check_host refuses it");
	TAP_EQ_INT(http_check_origin(&r, "api.github.com", 443, 443), 0,
		   "it belongs in a tunnel to api.github.com:443");
	TAP_EQ_INT(http_check_origin(&r, "API.GITHUB.COM", 443, 443), 0,
		   "whatever the tunnel's case");
	TAP_EQ_INT(http_check_origin(&r, "evil.example", 443, 443), -EPERM,
		   "not in a tunnel to another host");
	TAP_EQ_INT(http_check_origin(&r, "api.github.com", 8443, 443), -EPERM,
		   "nor to another port");

	parse("GET / HTTP/1.1\r\nHost: a.b:8443\r\n\r\n", &r);
	TAP_EQ_INT(http_check_origin(&r, "a.b", 8443, 443), 0,
		   "a Host port that matches the tunnel");
	TAP_EQ_INT(http_check_origin(&r, "a.b", 443, 443), -EPERM,
		   "a Host port that does not");
	parse("GET / HTTP/1.0\r\n\r\n", &r);
	TAP_EQ_INT(http_check_origin(&r, "a.b", 443, 443), 0,
		   "HTTP/1.0 without Host goes where the tunnel goes");
	parse("CONNECT a.b:443 HTTP/1.1\r\n\r\n", &r);
	TAP_EQ_INT(http_check_origin(&r, "a.b", 443, 443), -EINVAL,
		   "http_check_origin refuses other forms");
}

static void
test_fields(void)
{
	static const char head[] = "POST /x HTTP/1.1\r\n"
				   "host:  a.b \t\r\n"
				   "Content-Length: 42\r\n"
				   "X-Dup: one\r\n"
				   "x-dup: two\r\n\r\n";
	struct http_request r;
	const struct http_header *h;

	TAP_EQ_INT(parse(head, &r), strlen(head), "fields parse");
	h = http_find(&r, "HOST");
	tap_ok(h && h == &r.headers[0], "http_find ignores case one way");
	tap_ok(http_find(&r, "content-LENGTH") == &r.headers[1],
	       "and the other");
	eq_span(h->value, "a.b", "a value loses its surrounding whitespace");
	eq_span(http_find(&r, "x-dup")->value, "one",
		"http_find returns the first of two");
	tap_ok(http_find(&r, "x-du") == NULL && http_find(&r, "x-dupe") == NULL,
	       "a prefix or extension of a name does not match");
	tap_ok(r.has_length && r.content_length == 42, "Content-Length is 42");
	tap_ok(!r.chunked, "and the body is not chunked");

	parse(
	    "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	    &r);
	tap_ok(r.chunked && !r.has_length, "chunked is noted");
}

/* Every proper prefix of a valid head needs more bytes. */
static void
test_prefixes(void)
{
	static const char *const heads[] = {
		"CONNECT api.github.com:443 HTTP/1.1\r\nHost: "
		"api.github.com:443\r\n\r\n",
		"GET http://example.com/a?b=c HTTP/1.1\r\nHost: example.com\r\n"
		"Accept: */*\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	};
	struct http_request r;

	for (size_t i = 0; i < ARRAY_SIZE(heads); i++) {
		size_t n = strlen(heads[i]), bad = 0;

		for (size_t k = 0; k < n; k++)
			if (http_parse_request(heads[i], k, &r) != 0)
				bad++;
		tap_ok(bad == 0, "every prefix of head %zu needs more", i);
		TAP_EQ_INT(http_parse_request(heads[i], n, &r), n,
			   "  and the whole of it parses");
	}
}

static void
test_trailing_bytes(void)
{
	static const char head[] = "CONNECT a.b:443 HTTP/1.1\r\n\r\n";
	/* A TLS record, then what looks like a second head. */
	static const char after[] = "\x16\x03\x01\x02\x00\r\n\r\nGET /";
	char bytes[sizeof(head) + sizeof(after)];
	struct http_request r;

	memcpy(bytes, head, sizeof(head) - 1);
	memcpy(bytes + sizeof(head) - 1, after, sizeof(after));
	TAP_EQ_INT(http_parse_request(bytes, sizeof(bytes), &r),
		   sizeof(head) - 1, "bytes after the head are not its own");
}

/* A head of exactly size bytes: a request line, filler, the blank line. */
static size_t
fill_head(char *p, size_t size)
{
	static const char line[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	size_t n = sizeof(line) - 1;

	memcpy(p, line, n);
	memset(p + n, 'v', size - n - 4);
	memcpy(p + size - 4, "\r\n\r\n", 4);
	return size;
}

static void
test_head_max(void)
{
	static char big[BIG_HEAD];
	struct http_request r;

	fill_head(big, HTTP_HEAD_MAX);
	TAP_EQ_INT(http_parse_request(big, HTTP_HEAD_MAX, &r), HTTP_HEAD_MAX,
		   "a head of exactly HTTP_HEAD_MAX bytes parses");
	TAP_EQ_INT(http_parse_request(big, HTTP_HEAD_MAX - 1, &r), 0,
		   "one byte short of it needs more");
	TAP_EQ_INT(http_parse_request(big, BIG_HEAD, &r), HTTP_HEAD_MAX,
		   "bytes after it do not count");

	fill_head(big, HTTP_HEAD_MAX + 1);
	TAP_EQ_INT(http_parse_request(big, HTTP_HEAD_MAX, &r), -E2BIG,
		   "a head one byte longer is refused at HTTP_HEAD_MAX bytes");
	TAP_EQ_INT(r.reject_status, 431, "  with 431");
	TAP_EQ_INT(http_parse_request(big, HTTP_HEAD_MAX + 1, &r), -E2BIG,
		   "  and when all of it is there");
	TAP_EQ_INT(http_parse_request(big, HTTP_HEAD_MAX - 1, &r), 0,
		   "  but not before");
}

static void
test_max_headers(void)
{
	static char head[HTTP_HEAD_MAX];
	struct buf b = BUF_INIT(sizeof(head));
	struct http_request r;

	buf_puts(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 1; i < HTTP_MAX_HEADERS; i++)
		buf_printf(&b, "X-%d: %d\r\n", i, i);
	memcpy(head, b.data, b.len);
	memcpy(head + b.len, "\r\n", 2);
	TAP_EQ_INT(http_parse_request(head, b.len + 2, &r), b.len + 2,
		   "HTTP_MAX_HEADERS fields parse");
	TAP_EQ_INT(r.nheaders, HTTP_MAX_HEADERS, "  all of them");
	memcpy(head + b.len, "Y: 1\r\n\r\n", 8);
	TAP_EQ_INT(http_parse_request(head, b.len + 8, &r), -E2BIG,
		   "one more is refused");
	TAP_EQ_INT(r.reject_status, 431, "  with 431");
	buf_free(&b);
}

static const struct {
	const char *name;
	const char *head;
	int want;
} host_checks[] = {
	{ "absolute-form, Host names the same host",
	  "GET http://a.b/ HTTP/1.1\r\nHost: a.b\r\n\r\n", 0 },
	{ "absolute-form, Host in another case",
	  "GET http://a.b/ HTTP/1.1\r\nHost: A.B\r\n\r\n", 0 },
	{ "absolute-form, Host names port 80 outright",
	  "GET http://a.b/ HTTP/1.1\r\nHost: a.b:80\r\n\r\n", 0 },
	{ "absolute-form :80, Host without a port",
	  "GET http://a.b:80/ HTTP/1.1\r\nHost: a.b\r\n\r\n", 0 },
	{ "absolute-form, Host names another host",
	  "GET http://api.github.com/ HTTP/1.1\r\nHost: evil.example\r\n\r\n",
	  -EPERM },
	{ "absolute-form, Host names a longer host",
	  "GET http://a.b/ HTTP/1.1\r\nHost: a.b.evil\r\n\r\n", -EPERM },
	{ "absolute-form, Host names another port",
	  "GET http://a.b/ HTTP/1.1\r\nHost: a.b:8080\r\n\r\n", -EPERM },
	{ "absolute-form :8080, Host without a port",
	  "GET http://a.b:8080/ HTTP/1.1\r\nHost: a.b\r\n\r\n", -EPERM },
	{ "absolute-form :443, Host without a port",
	  "GET http://a.b:443/ HTTP/1.1\r\nHost: a.b\r\n\r\n", -EPERM },
	{ "absolute-form HTTP/1.0 without Host",
	  "GET http://a.b/ HTTP/1.0\r\n\r\n", 0 },
	{ "CONNECT, Host without a port, to 443",
	  "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b\r\n\r\n", 0 },
	{ "CONNECT, Host without a port, to 80",
	  "CONNECT a.b:80 HTTP/1.1\r\nHost: a.b\r\n\r\n", 0 },
	{ "CONNECT, Host without a port, to 8443",
	  "CONNECT a.b:8443 HTTP/1.1\r\nHost: a.b\r\n\r\n", -EPERM },
	{ "CONNECT, Host names another host",
	  "CONNECT api.github.com:443 HTTP/1.1\r\nHost: evil.example:443\r\n"
	  "\r\n",
	  -EPERM },
	{ "CONNECT, Host names another port",
	  "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:444\r\n\r\n", -EPERM },
	{ "CONNECT to an IPv6 literal, Host names an IPv4 one",
	  "CONNECT [::1]:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", -EPERM },
};

static void
test_check_host(void)
{
	struct http_request r;

	for (size_t i = 0; i < ARRAY_SIZE(host_checks); i++) {
		int k = parse(host_checks[i].head, &r);

		tap_ok(k > 0 && http_check_host(&r) == host_checks[i].want,
		       "%s: %s", host_checks[i].name,
		       host_checks[i].want ? "refused" : "allowed");
	}
}

/*
 * A small check that s is one flat JSON object of strings, integers and
 * nulls, then a newline: enough for the bodies written here.
 */
static bool
json_string_ok(const char **s)
{
	const char *p = *s;

	if (*p++ != '"')
		return false;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return false;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u' && strspn(p + 1, "0123456789abcdefABCDEF") >= 4)
			p += 4;
		else if (!*p || !strchr("\"\\/bfnrt", *p))
			return false;
	}
	*s = p + 1;
	return true;
}

static bool
json_value_ok(const char **s)
{
	if (**s == '"')
		return json_string_ok(s);
	if (strncmp(*s, "null", 4) == 0) {
		*s += 4;
		return true;
	}
	if (**s == '-')
		(*s)++;
	if (**s < '0' || **s > '9')
		return false;
	*s += strspn(*s, "0123456789");
	return true;
}

static bool
json_object_ok(const char *s)
{
	if (*s++ != '{')
		return false;
	for (;;) {
		if (!json_string_ok(&s) || *s++ != ':' || !json_value_ok(&s))
			return false;
		if (*s == '}')
			return streq(s, "}\n");
		if (*s++ != ',')
			return false;
	}
}

/* The body after the head, and whether Content-Length counts it right. */
static const char *
body_of(const char *resp, bool *ret_len_ok)
{
	const char *body = strstr(resp, "\r\n\r\n");
	const char *cl = strstr(resp, "Content-Length: ");

	*ret_len_ok = false;
	if (!body || !cl)
		return NULL;
	body += 4;
	*ret_len_ok = strtoul(cl + 16, NULL, 10) == strlen(body);
	return body;
}

static void
test_denial(void)
{
	struct buf b = BUF_INIT(RESPONSE_MAX);
	const char *body;
	bool len_ok;

	TAP_EQ_INT(http_write_denial(&b, 403, "policy_denied", "api.github.com",
				     443, "/usr/bin/python3",
				     "no policy allows this binary"),
		   0, "a denial is written");
	eq_str(buf_str(&b),
	       "HTTP/1.1 403 Forbidden\r\n"
	       "Content-Type: application/json\r\n"
	       "Content-Length: 129\r\n"
	       "Connection: close\r\n\r\n"
	       "{\"error\":\"policy_denied\",\"host\":\"api.github.com\","
	       "\"port\":443,\"binary\":\"/usr/bin/python3\","
	       "\"reason\":\"no policy allows this binary\"}\n",
	       "  exactly");
	body = body_of(buf_str(&b), &len_ok);
	tap_ok(len_ok, "  its Content-Length counts its body");
	tap_ok(body && json_object_ok(body), "  its body is JSON");

	buf_reset(&b);
	TAP_EQ_INT(http_write_denial(&b, 403, "policy_denied", "a.b", 80,
				     "/sandbox/x\"},\"error\":\"ok\r\n\r\n"
				     "\x01\x1b[2J\\",
				     NULL),
		   0, "a denial for a hostile binary path is written");
	body = body_of(buf_str(&b), &len_ok);
	tap_ok(len_ok, "  its Content-Length counts its body");
	tap_ok(body && json_object_ok(body), "  its body is still JSON");
	tap_ok(body &&
		   strstr(body, "\"binary\":\"/sandbox/x\\\"},\\\"error\\\":"
				"\\\"ok\\r\\n\\r\\n\\u0001\\u001b[2J\\\\\","
				"\"reason\":null}\n"),
	       "  with the path escaped and a NULL reason as null");
	tap_ok(strstr(buf_str(&b), "\r\n\r\n") == body - 4,
	       "  and the head ends where it should");
	buf_free(&b);
}

static void
test_status(void)
{
	struct buf b = BUF_INIT(RESPONSE_MAX);
	const char *body;
	bool len_ok;

	TAP_EQ_INT(http_write_status(&b, 200, NULL), 0, "200 is written");
	eq_str(buf_str(&b), "HTTP/1.1 200 Connection established\r\n\r\n",
	       "  with no body and no length");
	buf_reset(&b);
	http_write_status(&b, 502, "connect: Connection refused");
	eq_str(buf_str(&b),
	       "HTTP/1.1 502 Bad Gateway\r\n"
	       "Content-Type: application/json\r\n"
	       "Content-Length: 63\r\n"
	       "Connection: close\r\n\r\n"
	       "{\"error\":\"bad_gateway\","
	       "\"reason\":\"connect: Connection refused\"}\n",
	       "502 carries its reason in the body");
	buf_reset(&b);
	http_write_status(&b, 504, NULL);
	body = body_of(buf_str(&b), &len_ok);
	tap_ok(body && streq(body, "{\"error\":\"gateway_timeout\"}\n") &&
		   len_ok,
	       "504 without a reason");
	buf_reset(&b);
	http_write_status(&b, 405, NULL);
	tap_ok(strstr(buf_str(&b), "\r\nAllow: GET, HEAD, POST, PUT, DELETE, "
				   "OPTIONS, PATCH, CONNECT\r\n") != NULL,
	       "405 lists the methods served");
	buf_free(&b);
}

static void
test_status_all(void)
{
	static const int codes[] = { 400, 405, 431, 502, 504, 505 };
	struct buf b = BUF_INIT(RESPONSE_MAX);
	const char *body;
	bool len_ok;

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		char line[16];

		buf_reset(&b);
		snprintf(line, sizeof(line), "HTTP/1.1 %d ", codes[i]);
		http_write_status(&b, codes[i], "a \"quoted\"\n reason");
		body = body_of(buf_str(&b), &len_ok);
		tap_ok(strncmp(buf_str(&b), line, strlen(line)) == 0 && body &&
			   len_ok && json_object_ok(body) &&
			   strstr(buf_str(&b), "Connection: close\r\n"),
		       "%d: status line, length, JSON body, close", codes[i]);
	}
	buf_free(&b);
}

static void
test_write_errors(void)
{
	struct buf b = BUF_INIT(64);
	char binary[200];

	TAP_EQ_INT(http_write_status(&b, 418, NULL), -EINVAL,
		   "an unknown status is refused");
	TAP_EQ_INT(http_write_denial(&b, 200, "x", "a", 1, "b", "c"), -EINVAL,
		   "a denial cannot be a 200");
	buf_puts(&b, "kept");
	memset(binary, 'x', sizeof(binary) - 1);
	binary[sizeof(binary) - 1] = '\0';
	TAP_EQ_INT(
	    http_write_denial(&b, 403, "policy_denied", "a", 1, binary, "r"),
	    -E2BIG, "a denial past the buffer's cap is refused");
	eq_str(buf_str(&b), "kept", "  and leaves the buffer as it was");
	TAP_EQ_INT(http_write_status(&b, 400, NULL), -E2BIG,
		   "so is a status past the cap");
	eq_str(buf_str(&b), "kept", "  likewise");
	buf_free(&b);
}

/* Rebuilds head for a client; the result, or NULL on an error. */
static char *
rebuilt(const char *head, bool body, bool raw, struct http_response_head *rh)
{
	struct buf out = BUF_INIT(4096);

	*rh = (struct http_response_head){ 0 };
	if (http_response_head(head, strlen(head), rh, &out, body, raw) < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

static void
test_response_head(void)
{
	struct http_response_head rh;
	char *o;

	TAP_EQ_INT(http_response_status("HTTP/1.1 204 No\r\n", 17), 204,
		   "response: status");
	TAP_EQ_INT(http_response_status("HTTP/2 200\r\n", 12), -1,
		   "response: not HTTP/1.x");
	o = rebuilt("HTTP/1.1 200 OK\r\nContent-Length: 12 \r\n"
		    "X-A: b\r\n\r\n",
		    true, false, &rh);
	tap_ok(o && streq(o, "HTTP/1.1 200 OK\r\nX-A: b\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n"),
	       "response: length dropped, chunked instead");
	TAP_EQ_INT(rh.length, 12, "response: the length read");
	free(o);
	o = rebuilt("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
		    "Connection: close\r\n\r\n",
		    true, true, &rh);
	tap_ok(o && streq(o, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
			     "Connection: close\r\n\r\n"),
	       "response: raw for HTTP/1.0, Connection: close");
	tap_ok(rh.chunked && rh.close && rh.length == -1,
	       "response: chunked and close read");
	free(o);
	o = rebuilt("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
		    false, false, &rh);
	tap_ok(o && streq(o, "HTTP/1.1 304 Not Modified\r\n"
			     "Content-Length: 9\r\n\r\n"),
	       "response: no body, head as it is");
	free(o);
	tap_ok(!rebuilt("\r\n\r\n", true, false, &rh),
	       "response: no status line refused (fuzz regression)");
	tap_ok(!rebuilt("HTTP/1.1 200 OK\r\n", true, false, &rh),
	       "response: no blank line refused");
}

int main(void);
int
main(void)
{
	test_cases();
	test_connect();
	test_connect_ipv6();
	test_absolute();
	test_origin();
	test_fields();
	test_prefixes();
	test_trailing_bytes();
	test_head_max();
	test_max_headers();
	test_check_host();
	test_denial();
	test_status();
	test_status_all();
	test_write_errors();
	test_response_head();
	return tap_done();
}
