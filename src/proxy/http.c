/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <strings.h>

#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"

/* "HTTP/" DIGIT "." DIGIT: the only version syntax RFC 9112 has. */
#define VERSION_LEN 8
/* A port is at most five digits; more is malformed, not a big number. */
#define PORT_DIGITS_MAX 5
/* Content-Length digits that fit a uint64_t without wrapping. */
#define LENGTH_DIGITS_MAX 19
#define PORT_HTTP 80
#define PORT_HTTPS 443
/*
 * Internal only: a version this proxy does not speak. It leaves the parser
 * as -ENOTSUP, like an unknown method, but is answered with 505, not 405.
 */
#define EVERSION EPROTONOSUPPORT

/*
 * The methods served. TRACE is not among them: its response echoes the
 * request, and so would hand the sandbox any credential the proxy had put
 * into it.
 */
static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
};

static const struct {
	int err; /* as the parser found it */
	int ret; /* as the caller sees it */
	int status;
} rejects[] = {
	{ -EBADMSG, -EBADMSG, 400 },
	{ -E2BIG, -E2BIG, 431 },
	{ -ENOTSUP, -ENOTSUP, 405 },
	{ -EVERSION, -ENOTSUP, 505 },
};

static bool
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* RFC 9110 section 5.6.2. */
static bool
is_tchar(unsigned char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * Visible ASCII, less '#': a fragment is never part of a request target.
 * Raw bytes above 0x7f have no place in a URI either.
 */
static bool
is_target_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '#';
}

/* field-vchar, SP and HTAB: no NUL, CR, LF or other control byte. */
static bool
is_field_char(unsigned char c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

/*
 * What a reg-name may hold here: letters, digits, '-', '.' and '_'. RFC 3986
 * allows more (sub-delims, percent-encoding), which no resolver takes and
 * which would give one name several spellings.
 */
static bool
is_name_char(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

static bool
all_of(const char *p, size_t n, bool (*pred)(unsigned char))
{
	for (size_t i = 0; i < n; i++)
		if (!pred((unsigned char)p[i]))
			return false;
	return true;
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static struct http_span
span(const char *p, size_t n)
{
	return (struct http_span){ .p = p, .len = n };
}

static bool
span_eq(struct http_span s, const char *str)
{
	return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

static bool
span_eq_nocase(struct http_span s, const char *str)
{
	return s.len == strlen(str) && strncasecmp(s.p, str, s.len) == 0;
}

/* Parses 1-PORT_DIGITS_MAX digits as a port in 1-65535. */
static int
parse_port(const char *p, size_t n, uint16_t *ret)
{
	char digits[PORT_DIGITS_MAX + 1];
	uint64_t v;

	if (n == 0 || n > PORT_DIGITS_MAX)
		return -EBADMSG;
	memcpy(digits, p, n);
	digits[n] = '\0';
	if (parse_u64(digits, 1, UINT16_MAX, &v) < 0)
		return -EBADMSG;
	*ret = (uint16_t)v;
	return 0;
}

/*
 * glibc's getaddrinfo (seen with 2.36) reads "127.1", "0x7f.1", "0177.0.0.1"
 * and "2130706433" as 127.0.0.1, as inet_aton does. Only the dotted quad is
 * taken, so that an address has one spelling for the policy and for
 * http_check_host, and no octal part reads as another address.
 */
#ifdef BRIG_TEST_SWITCHES
bool http_test_any_ipv4;
#endif

static int
check_ipv4(char *name)
{
	struct in_addr a;

	if (inet_aton(name, &a) && inet_pton(AF_INET, name, &a) != 1) {
#ifdef BRIG_TEST_SWITCHES
		/* "ssrf" off: the spelling is read as glibc reads it. */
		if (http_test_any_ipv4 &&
		    inet_ntop(AF_INET, &a, name, INET_ADDRSTRLEN))
			return 0;
#endif
		return -EBADMSG;
	}
	return 0;
}

/* A name of non-empty labels (so no leading, trailing or double dot). */
static int
parse_reg_name(const char *p, size_t n, char *ret)
{
	if (n == 0 || n > HTTP_HOST_MAX || !all_of(p, n, is_name_char))
		return -EBADMSG;
	if (p[0] == '.' || p[n - 1] == '.' || memmem(p, n, "..", 2))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		ret[i] = ascii_lower(p[i]);
	ret[n] = '\0';
	return check_ipv4(ret);
}

/*
 * An IPv6 literal, without its brackets, rewritten in inet_ntop's form so
 * that one address has one spelling. A zone ("%25eth0") is refused: it
 * names an interface of the proxy's host.
 */
static int
parse_ipv6(const char *p, size_t n, char *ret)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n == 0 || n >= sizeof(text))
		return -EBADMSG;
	memcpy(text, p, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1)
		return -EBADMSG;
	if (!inet_ntop(AF_INET6, &a, ret, HTTP_HOST_MAX + 1))
		return -EBADMSG;
	return 0;
}

/*
 * host [":" port], RFC 3986 section 3.2 without userinfo. An empty port
 * after the colon is refused, though RFC 3986 allows it: no client sends
 * one, and it would be a second spelling of the default.
 */
static int
parse_authority(const char *p, size_t n, bool need_port,
		struct http_authority *ret)
{
	const char *end = p + n, *colon;
	int r;

	ret->port = 0;
	if (n > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', n);

		if (!close)
			return -EBADMSG;
		r = parse_ipv6(p + 1, (size_t)(close - p - 1), ret->host);
		colon = close + 1 < end ? close + 1 : NULL;
		if (r == 0 && colon && *colon != ':')
			r = -EBADMSG;
	} else {
		colon = memchr(p, ':', n);
		r = parse_reg_name(p, (size_t)((colon ? colon : end) - p),
				   ret->host);
	}
	if (r == 0 && colon)
		r = parse_port(colon + 1, (size_t)(end - colon - 1),
			       &ret->port);
	if (r == 0 && need_port && !colon)
		r = -EBADMSG;
	return r;
}

/* Splits "/path?query" (or "?query", for absolute-form's empty path). */
static void
split_path(struct http_request *r, const char *p, size_t n)
{
	const char *q = memchr(p, '?', n);

	r->path = span(p, q ? (size_t)(q - p) : n);
	r->has_query = q != NULL;
	if (q)
		r->query = span(q + 1, n - r->path.len - 1);
}

static int
parse_absolute(struct http_request *r)
{
	static const char scheme[] = "http://";
	const size_t slen = sizeof(scheme) - 1;
	struct http_authority a;
	const char *p = r->target.p + slen, *end = r->target.p + r->target.len;
	const char *auth_end = p;
	int k;

	/* Anything else, https:// included, must come as CONNECT. */
	if (r->target.len < slen || strncasecmp(r->target.p, scheme, slen))
		return -EBADMSG;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?')
		auth_end++;
	k = parse_authority(p, (size_t)(auth_end - p), false, &a);
	if (k < 0)
		return k;
	memcpy(r->host, a.host, sizeof(r->host));
	r->port = a.port ? a.port : PORT_HTTP;
	split_path(r, auth_end, (size_t)(end - auth_end));
	return 0;
}

static int
parse_target(struct http_request *r)
{
	struct http_authority a;
	int k;

	if (span_eq(r->method, "CONNECT")) {
		r->form = HTTP_FORM_AUTHORITY;
		k = parse_authority(r->target.p, r->target.len, true, &a);
		if (k == 0) {
			memcpy(r->host, a.host, sizeof(r->host));
			r->port = a.port;
		}
		return k;
	}
	if (r->target.p[0] == '/') {
		r->form = HTTP_FORM_ORIGIN;
		split_path(r, r->target.p, r->target.len);
		return 0;
	}
	r->form = HTTP_FORM_ABSOLUTE;
	return parse_absolute(r);
}

static int
check_version(struct http_request *r)
{
	const char *v = r->version.p;

	if (r->version.len != VERSION_LEN || memcmp(v, "HTTP/", 5) ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return -EBADMSG;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return -EVERSION;
	r->minor = v[7] - '0';
	return 0;
}

static int
check_method(const struct http_request *r)
{
	if (r->method.len == 0 || !all_of(r->method.p, r->method.len, is_tchar))
		return -EBADMSG;
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (span_eq(r->method, methods[i]))
			return 0;
	return -ENOTSUP;
}

/* method SP request-target SP HTTP-version, each space a single one. */
static int
parse_request_line(struct http_request *r, const char *p, size_t n)
{
	const char *end = p + n, *sp1, *sp2;
	int k;

	sp1 = memchr(p, ' ', n);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	if (!sp2)
		return -EBADMSG;
	r->method = span(p, (size_t)(sp1 - p));
	r->target = span(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->version = span(sp2 + 1, (size_t)(end - sp2 - 1));
	if (r->target.len == 0 ||
	    !all_of(r->target.p, r->target.len, is_target_char))
		return -EBADMSG;
	k = check_method(r);
	if (k != -EBADMSG) {
		int kv = check_version(r);

		k = kv < 0 ? kv : k;
	}
	return k < 0 ? k : parse_target(r);
}

static int
note_host(struct http_request *r, const struct http_header *h)
{
	if (r->has_host)
		return -EBADMSG;
	r->has_host = true;
	return parse_authority(h->value.p, h->value.len, false,
			       &r->host_header);
}

/*
 * 1*DIGIT. A list ("5, 5"), which RFC 9110 lets a recipient fold when the
 * members agree, is refused: no client sends one. Repeated fields must
 * agree.
 */
static int
note_length(struct http_request *r, const struct http_header *h)
{
	char digits[LENGTH_DIGITS_MAX + 1];
	uint64_t v;

	if (h->value.len == 0 || h->value.len > LENGTH_DIGITS_MAX)
		return -EBADMSG;
	memcpy(digits, h->value.p, h->value.len);
	digits[h->value.len] = '\0';
	if (parse_u64(digits, 0, HTTP_LENGTH_MAX, &v) < 0)
		return -EBADMSG;
	if (r->has_length && v != r->content_length)
		return -EBADMSG;
	r->has_length = true;
	r->content_length = v;
	return 0;
}

/*
 * Exactly one field, exactly "chunked" in lower case. Coding names are
 * case-insensitive, but a server that knows only the lower-case spelling
 * would read such a body as empty; other codings and lists are refused.
 */
static int
note_te(struct http_request *r, const struct http_header *h)
{
	if (r->chunked || !span_eq(h->value, "chunked"))
		return -EBADMSG;
	r->chunked = true;
	return 0;
}

static const struct {
	const char *name;
	int (*note)(struct http_request *r, const struct http_header *h);
} framing[] = {
	{ "host", note_host },
	{ "content-length", note_length },
	{ "transfer-encoding", note_te },
};

/* Compares a field name with a lower-case one, reading '_' as '-'. */
static bool
name_like(struct http_span name, const char *lower)
{
	if (name.len != strlen(lower))
		return false;
	for (size_t i = 0; i < name.len; i++) {
		char c = ascii_lower(name.p[i]);

		if ((c == '_' ? '-' : c) != lower[i])
			return false;
	}
	return true;
}

/*
 * Records the fields that frame the request or name its host. A name that
 * is one of them with '_' for '-' is refused: some servers (CGI gateways)
 * fold the two, and would then frame the request differently.
 */
static int
note_header(struct http_request *r, const struct http_header *h)
{
	for (size_t i = 0; i < ARRAY_SIZE(framing); i++) {
		if (!name_like(h->name, framing[i].name))
			continue;
		if (memchr(h->name.p, '_', h->name.len))
			return -EBADMSG;
		return framing[i].note(r, h);
	}
	return 0;
}

/*
 * name ":" OWS value OWS. A line starting with whitespace is obs-fold, or
 * whitespace before the first field; both are refused, as is whitespace
 * before the colon (RFC 9112 sections 2.2, 5.1 and 5.2).
 */
static int
parse_header(struct http_request *r, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n), *v, *end = p + n;
	struct http_header *h;

	if (!colon || colon == p || !all_of(p, (size_t)(colon - p), is_tchar))
		return -EBADMSG;
	if (!all_of(colon + 1, (size_t)(end - colon - 1), is_field_char))
		return -EBADMSG;
	if (r->nheaders == HTTP_MAX_HEADERS)
		return -E2BIG;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	h = &r->headers[r->nheaders++];
	h->name = span(p, (size_t)(colon - p));
	h->value = span(v, (size_t)(end - v));
	return note_header(r, h);
}

/* What can only be judged once every field is in. */
static int
check_fields(struct http_request *r)
{
	bool connect = r->form == HTTP_FORM_AUTHORITY;

	if (r->minor == 1 && !connect && !r->has_host)
		return -EBADMSG;
	/* RFC 9112 section 6.1: in HTTP/1.0, Transfer-Encoding is faulty
	 * framing; with Content-Length, it is the smuggler's favourite. */
	if (r->chunked && (r->has_length || r->minor == 0))
		return -EBADMSG;
	/* A CONNECT has no content; what follows it belongs to the tunnel. */
	if (connect && (r->chunked || r->content_length > 0))
		return -EBADMSG;
	if (r->form == HTTP_FORM_ORIGIN && r->has_host) {
		memcpy(r->host, r->host_header.host, sizeof(r->host));
		r->port = r->host_header.port;
	}
	return 0;
}

/*
 * Finds the line at off: 1 with its length without CRLF in *ret_n, 0 when
 * its end has not arrived, -EBADMSG for a LF without CR before it.
 */
static int
next_line(const char *buf, size_t len, size_t off, size_t *ret_n)
{
	const char *lf = memchr(buf + off, '\n', len - off);
	size_t n;

	if (!lf)
		return 0;
	n = (size_t)(lf - (buf + off));
	if (n == 0 || buf[off + n - 1] != '\r')
		return -EBADMSG;
	*ret_n = n - 1;
	return 1;
}

/* Runs once the blank line is in: off is the head's length. */
static int
end_head(struct http_request *r, size_t off)
{
	int k = check_fields(r);

	return k < 0 ? k : (int)off;
}

/* Empty lines before the request line, which RFC 9112 lets a server skip,
 * are refused with it: they fail to parse as a request line. */
static int
parse_head(const char *buf, size_t len, struct http_request *r)
{
	size_t off, n;
	int k;

	k = next_line(buf, len, 0, &n);
	if (k <= 0)
		return k;
	k = parse_request_line(r, buf, n);
	for (off = n + 2; k == 0; off += n + 2) {
		k = next_line(buf, len, off, &n);
		if (k <= 0)
			return k;
		if (n == 0)
			return end_head(r, off + 2);
		k = parse_header(r, buf + off, n);
	}
	return k;
}

/* Maps an error of the parser to the caller's, with the status to answer. */
static int
reject(struct http_request *r, int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(rejects); i++) {
		if (rejects[i].err == err) {
			r->reject_status = rejects[i].status;
			return rejects[i].ret;
		}
	}
	/* Not reached: the parser returns only the errors above. */
	r->reject_status = 400;
	return -EBADMSG;
}

int
http_parse_request(const char *buf, size_t len, struct http_request *ret)
{
	int k;

	memset(ret, 0, sizeof(*ret));
	k = parse_head(buf, len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, ret);
	if (k == 0 && len >= HTTP_HEAD_MAX)
		k = -E2BIG;
	return k < 0 ? reject(ret, k) : k;
}

const struct http_header *
http_find(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (span_eq_nocase(r->headers[i].name, name))
			return &r->headers[i];
	return NULL;
}

int
http_check_host(const struct http_request *r)
{
	uint16_t port = r->host_header.port;

	if (r->form == HTTP_FORM_ORIGIN)
		return -EINVAL;
	if (!r->has_host)
		return 0;
	if (!streq(r->host_header.host, r->host))
		return -EPERM;
	if (port == 0 && r->form == HTTP_FORM_ABSOLUTE)
		port = PORT_HTTP;
	if (port == 0 && (r->port == PORT_HTTP || r->port == PORT_HTTPS))
		port = r->port;
	return port == r->port ? 0 : -EPERM;
}

int
http_check_origin(const struct http_request *r, const char *host, uint16_t port,
		  uint16_t default_port)
{
	if (r->form != HTTP_FORM_ORIGIN)
		return -EINVAL;
	if (!r->has_host)
		return 0;
	if (!host || strcasecmp(r->host, host) != 0)
		return -EPERM;
	return (r->port ? r->port : default_port) == port ? 0 : -EPERM;
}

static const struct status {
	int status;
	const char *phrase;
	const char *error; /* the body's "error"; NULL for no body */
} statuses[] = {
	{ 200, "Connection established", NULL },
	{ 400, "Bad Request", "bad_request" },
	{ 403, "Forbidden", "forbidden" },
	{ 405, "Method Not Allowed", "method_not_allowed" },
	{ 408, "Request Timeout", "request_timeout" },
	{ 413, "Content Too Large", "content_too_large" },
	{ 431, "Request Header Fields Too Large",
	  "request_header_fields_too_large" },
	{ 502, "Bad Gateway", "bad_gateway" },
	{ 503, "Service Unavailable", "service_unavailable" },
	{ 504, "Gateway Timeout", "gateway_timeout" },
	{ 505, "HTTP Version Not Supported", "http_version_not_supported" },
};

static const struct status *
find_status(int status)
{
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (statuses[i].status == status)
			return &statuses[i];
	return NULL;
}

/* RFC 9110 section 15.5.6: a 405 lists the methods that would do. */
static int
write_allow(struct buf *b)
{
	int r = buf_puts(b, "Allow: ");

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(methods); i++)
		r = buf_printf(b, "%s%s", i ? ", " : "", methods[i]);
	return r ? r : buf_puts(b, "\r\n");
}

static int
write_head(struct buf *b, const struct status *s, const struct buf *body)
{
	int r = buf_printf(b, "HTTP/1.1 %d %s\r\n", s->status, s->phrase);

	if (r == 0 && s->status == 405)
		r = write_allow(b);
	if (r == 0 && body)
		r = buf_printf(b,
			       "Content-Type: application/json\r\n"
			       "Content-Length: %zu\r\n"
			       "Connection: close\r\n",
			       body->len);
	return r ? r : buf_puts(b, "\r\n");
}

/*
 * Appends head and body, or nothing: a half-written response is no use.
 * built is how writing the body's members went; body is freed either way.
 */
static int
write_response(struct buf *b, const struct status *s, struct buf *body,
	       int built)
{
	size_t saved = b->len;
	int r = built;

	if (r == 0 && body)
		r = buf_puts(body, "}\n");
	if (r == 0)
		r = write_head(b, s, body);
	if (r == 0 && body)
		r = buf_append(b, body->data, body->len);
	if (r < 0 && b->data) {
		b->len = saved;
		b->data[saved] = '\0';
	}
	if (body)
		buf_free(body);
	return r;
}

int
http_write_denial(struct buf *b, int status, const char *error,
		  const char *host, uint16_t port, const char *binary,
		  const char *reason)
{
	const struct status *s = find_status(status);
	struct buf body = BUF_INIT(HTTP_BODY_MAX);
	int r;

	if (!s || !s->error)
		return -EINVAL;
	r = buf_puts(&body, "{");
	if (r == 0)
		r = json_kv_str(&body, "error", error);
	if (r == 0)
		r = json_kv_str(&body, "host", host);
	if (r == 0)
		r = json_kv_int(&body, "port", port);
	if (r == 0)
		r = json_kv_str(&body, "binary", binary);
	if (r == 0)
		r = json_kv_str(&body, "reason", reason);
	return write_response(b, s, &body, r);
}

int
http_write_status(struct buf *b, int status, const char *reason)
{
	const struct status *s = find_status(status);
	struct buf body = BUF_INIT(HTTP_BODY_MAX);
	int r;

	if (!s)
		return -EINVAL;
	if (!s->error)
		return write_response(b, s, NULL, 0);
	r = buf_puts(&body, "{");
	if (r == 0)
		r = json_kv_str(&body, "error", s->error);
	if (r == 0 && reason)
		r = json_kv_str(&body, "reason", reason);
	return write_response(b, s, &body, r);
}

bool
http_line_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && line[k] == ':' && !strncasecmp(line, name, k);
}

/* A header's decimal value, -1 when it is not one. */
static int64_t
header_number(const char *p, size_t n)
{
	char tmp[24];
	uint64_t v;

	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return parse_u64(tmp, 0, INT64_MAX, &v) < 0 ? -1 : (int64_t)v;
}

/* "HTTP/1.x NNN ...": the status, or -1. */
int
http_response_status(const char *p, size_t len)
{
	if (len < 12 || strncmp(p, "HTTP/1.", 7) || p[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1;
	return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

int
http_response_head(const char *p, size_t len, struct http_response_head *rh,
		   struct buf *out, bool body_allowed, bool raw)
{
	const char *end = p + len, *line = p;
	int r = 0;

	if (len < 4 || memcmp(end - 4, "\r\n\r\n", 4))
		return -EINVAL;
	/* A status line first: then the blank line is the last line. */
	if (http_response_status(p, len) < 0)
		return -EBADMSG;
	rh->length = -1;
	while (r == 0 && line < end) {
		const char *nl = memmem(line, (size_t)(end - line), "\r\n", 2);
		size_t n = (size_t)(nl - line);
		bool frames = http_line_is(line, n, "content-length") ||
			      http_line_is(line, n, "transfer-encoding");

		if (http_line_is(line, n, "content-length"))
			rh->length = header_number(line + 15, n - 15);
		if (http_line_is(line, n, "transfer-encoding"))
			rh->chunked = memmem(line, n, "chunked", 7) != NULL;
		if (http_line_is(line, n, "connection"))
			rh->close = memmem(line, n, "close", 5) != NULL;
		if (n == 0 && body_allowed)
			r = buf_puts(out,
				     raw ? "Connection: close\r\n"
					 : "Transfer-Encoding: chunked\r\n");
		if (r == 0 && !(frames && body_allowed))
			r = buf_append(out, line, n + 2);
		line = nl + 2;
	}
	return r;
}
