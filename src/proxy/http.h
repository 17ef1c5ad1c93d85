/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.x request heads for the egress proxy (DESIGN.md section 4), and the
 * proxy's own short responses. Every byte parsed here comes from inside the
 * sandbox, so the parser is strict wherever a lenient reading could let the
 * proxy and the upstream server disagree about where a request ends or whom
 * it is for (request smuggling, domain fronting): it refuses what RFC 9112
 * allows a server to refuse, and some rarely sent forms besides. It takes
 * bytes and never reads a socket, so a fuzzer can drive it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* The longest request head, blank line included; longer answers 431. */
#define HTTP_HEAD_MAX (16 * 1024)
/* Header fields in one head; more answers 431. */
#define HTTP_MAX_HEADERS 100
/* A host name as text (RFC 1035 allows 253); an IPv6 literal is shorter. */
#define HTTP_HOST_MAX 253
/* The largest Content-Length accepted: what fits in an off_t. */
#define HTTP_LENGTH_MAX INT64_MAX
/* The body of one of the proxy's own responses (a denial names a binary's
 * path, which JSON escaping can make six times longer). */
#define HTTP_BODY_MAX (64 * 1024)

enum http_form {
	HTTP_FORM_ORIGIN, /* "/path?query", inside an intercepted tunnel */
	HTTP_FORM_ABSOLUTE, /* "http://host[:port]/path?query" */
	HTTP_FORM_AUTHORITY, /* "host:port", for CONNECT only */
};

/* Bytes inside the buffer given to http_parse_request; not NUL-terminated. */
struct http_span {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_span name;
	struct http_span value; /* without the whitespace around it */
};

/* A host and port named by a request target or a Host header. */
struct http_authority {
	/* Lower case; an IPv6 literal without brackets, in inet_ntop's form. */
	char host[HTTP_HOST_MAX + 1];
	uint16_t port; /* 0 when the text named none */
};

struct http_request {
	struct http_span method; /* one of the methods the proxy serves */
	struct http_span target; /* as sent */
	struct http_span version; /* "HTTP/1.0" or "HTTP/1.1" */
	int minor; /* 0 or 1 */
	enum http_form form;

	/*
	 * Where the request goes: CONNECT's authority, or the absolute URI's
	 * (port 80 when it names none). For origin-form these come from the
	 * Host header, port 0 when it names none (the scheme, and so the
	 * default, is the caller's to know), host empty with no Host header.
	 */
	char host[HTTP_HOST_MAX + 1];
	uint16_t port;

	/* Absolute and origin-form only. An empty path means "/". */
	struct http_span path;
	struct http_span query; /* after the '?', when has_query */
	bool has_query;

	bool has_host; /* a Host header was sent; host_header is its value */
	struct http_authority host_header;
	bool has_length;
	uint64_t content_length;
	bool chunked; /* Transfer-Encoding: chunked */

	size_t nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];

	/* After a negative return: what the proxy answers (400, 405, 431 or
	 * 505). */
	int reject_status;
};

/*
 * Parses the request head at the start of buf. Returns its length, through
 * the blank line (bytes after it are a body or tunnel data, untouched); 0
 * when more bytes are needed; or a negative errno with ret->reject_status
 * set:
 *   -E2BIG     the head passes HTTP_HEAD_MAX bytes or HTTP_MAX_HEADERS
 *              fields (431);
 *   -EBADMSG   malformed or ambiguous (400);
 *   -ENOTSUP   a version other than HTTP/1.0 and 1.1 (505, checked first),
 *              or a method the proxy does not serve (405).
 * Errors on complete lines are returned before the head ends, so a client
 * sending garbage is refused at once. The cost is linear in len; a caller
 * need only call again once new bytes hold a '\n'. ret points into buf.
 */
int http_parse_request(const char *buf, size_t len, struct http_request *ret);

#ifdef BRIG_TEST_SWITCHES
/* Test builds only ("ssrf" off): any IPv4 spelling, read as inet_aton. */
extern bool http_test_any_ipv4;
#endif

/* The first header named name, compared without regard to case, or NULL. */
const struct http_header *http_find(const struct http_request *r,
				    const char *name);

/*
 * For absolute-form and CONNECT: a Host header, if sent, must name the host
 * and port the request goes to, so a client cannot be allowed for one name
 * and ask the server for another. A Host without a port means port 80 for
 * absolute-form, and 80 or 443 (the two schemes a tunnel carries) for
 * CONNECT. Returns 0, -EPERM on a mismatch, or -EINVAL for origin-form
 * (use http_check_origin).
 */
int http_check_host(const struct http_request *r);

/*
 * For origin-form, inside a tunnel to host:port (host without brackets):
 * the Host header must name that host and port, default_port standing for
 * a Host without one. Without a Host header (HTTP/1.0) there is nothing to
 * disagree with. Returns 0, -EPERM on a mismatch, or -EINVAL for other
 * forms.
 */
int http_check_origin(const struct http_request *r, const char *host,
		      uint16_t port, uint16_t default_port);

/*
 * Appends a denial: an HTTP/1.1 response with status (403 for the policy),
 * "Connection: close" and the JSON body
 * {"error":...,"host":...,"port":...,"binary":...,"reason":...}
 * (a NULL string is null). Returns 0, -EINVAL for a status this module does
 * not write, or -E2BIG (b is then unchanged).
 */
int http_write_denial(struct buf *b, int status, const char *error,
		      const char *host, uint16_t port, const char *binary,
		      const char *reason);

/*
 * Appends the proxy's own response for status: 200 "Connection
 * established" with no body, or 400, 403, 405 (with Allow), 431, 502, 504 or
 * 505 with "Connection: close" and the body {"error":"bad_gateway"}, say,
 * plus "reason" when reason is not NULL. The status line always carries the
 * standard phrase, so no caller's text can reach it. Returns as above.
 */
int http_write_status(struct buf *b, int status, const char *reason);

/* Whether a header line (n bytes, no CRLF) is the header name: "Name:". */
bool http_line_is(const char *line, size_t n, const char *name);

/* "HTTP/1.x NNN ...": the status of a response's head, or -1. */
int http_response_status(const char *p, size_t len);

/* What an upstream response head says of its body's framing. */
struct http_response_head {
	int status;
	int64_t length; /* Content-Length, -1 when none (or not a number) */
	bool chunked; /* Transfer-Encoding names chunked */
	bool close; /* Connection names close */
};

/*
 * Reads the framing of an upstream response head (len bytes through its
 * blank line) into rh (but for status, which the caller sets) and appends
 * the head to out rebuilt for the client: where body_allowed, its
 * Content-Length and Transfer-Encoding lines are dropped and
 * "Transfer-Encoding: chunked" (or "Connection: close" when raw, for an
 * HTTP/1.0 client) is put before the blank line, since scrubbing may
 * change the body's length. Every other line is copied as it is. Returns
 * 0, -EINVAL for a head without its blank line at the end, -EBADMSG for
 * one without a status line (http_response_status), or out's error.
 */
int http_response_head(const char *p, size_t len, struct http_response_head *rh,
		       struct buf *out, bool body_allowed, bool raw);
