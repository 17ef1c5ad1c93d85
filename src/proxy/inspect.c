/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"
#include "proxy/creds.h"
#include "proxy/http.h"
#include "proxy/tls.h"

#define INSPECT_HEAD_OUT_MAX (2 * HTTP_HEAD_MAX + 1024)
#define INSPECT_CHUNK_LINE_MAX 1024

/* One side of the conversation, with what was read and not yet used.
 * Over TLS through ssl; in plain text (an endpoint that allows
 * credentials uninspected by TLS) straight on fd. */
struct stream {
	SSL *ssl;
	int fd;
	char buf[INSPECT_IO_MAX];
	size_t len;
	uint64_t bytes;
};

/* A string the proxy rewrote on the way out, and what the client sent. */
struct alias {
	char *sent, *seen; /* upstream saw sent; the client wrote seen */
	size_t sent_len, seen_len;
};

struct session {
	struct inspect_job *job;
	bool plain; /* no TLS on either side */
	/* The tail of the body bytes already checked for leaks, so a value
	 * split across two reads is seen: at most the longest value - 1. */
	char scan[CREDS_VALUE_MAX + INSPECT_IO_MAX];
	size_t scan_len, longest;
	struct stream client, upstream;
	struct http_request req;
	char method[16];
	char path[256];
	bool head_request;
	/* An HTTP/1.0 client gets the body as is, ended by the close: it
	 * cannot read chunked. */
	bool raw_body;
	bool close_after; /* the client asked for the end after this one */
	/* Basic blobs encoded again around a real value, newest last: an
	 * echo of one is turned back into the client's own. */
	struct alias aliases[CREDS_SCRUB_ALIASES_MAX];
	size_t naliases;
};

/* More bytes: n > 0, 0 at the end of the stream, -errno on failure. */
static ssize_t
stream_fill(struct stream *s)
{
	int n;

	if (s->len == sizeof(s->buf))
		return -E2BIG;
	if (!s->ssl) {
		ssize_t k =
		    recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);

		if (k > 0) {
			s->len += (size_t)k;
			s->bytes += (uint64_t)k;
		}
		return k < 0 ? -errno : k;
	}
	n = SSL_read(s->ssl, s->buf + s->len, (int)(sizeof(s->buf) - s->len));
	if (n > 0) {
		s->len += (size_t)n;
		s->bytes += (uint64_t)n;
		return n;
	}
	switch (SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : 0; /* closed without close_notify */
	default:
		return -EPROTO;
	}
}

static void
stream_consume(struct stream *s, size_t n)
{
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
}

static int
stream_write(struct stream *s, const void *p, size_t n)
{
	const char *c = p;

	if (!s->ssl)
		return write_full(s->fd, p, n) < 0 ? -EIO : 0;
	while (n > 0) {
		int w =
		    SSL_write(s->ssl, c, (int)(n > INT32_MAX ? INT32_MAX : n));

		if (w <= 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The length of a complete head at the front of s, 0 at a clean end. */
static ssize_t
read_head(struct stream *s)
{
	for (;;) {
		char *end = memmem(s->buf, s->len, "\r\n\r\n", 4);
		ssize_t n;

		if (end)
			return end + 4 - s->buf;
		if (s->len >= HTTP_HEAD_MAX)
			return -E2BIG;
		n = stream_fill(s);
		if (n == 0)
			return s->len ? -EBADMSG : 0;
		if (n < 0)
			return n;
	}
}

static void
log_request(struct session *ss, bool allow, bool closed, const char *reason)
{
	struct inspect_job *j = ss->job;
	struct proxy_event ev = j->ev;

	ev.allow = allow;
	ev.closed = closed;
	ev.reason = reason;
	ev.method = ss->method[0] ? ss->method : NULL;
	ev.path = ss->path[0] ? ss->path : NULL;
	if (closed) {
		ev.bytes_in = ss->upstream.bytes;
		ev.bytes_out = ss->client.bytes;
		ev.duration_ms =
		    (uint64_t)(clock_ms(CLOCK_MONOTONIC) - j->started_ms);
	}
	if (j->log)
		j->log(j->ctx, &ev);
}

/* A denial inside the tunnel: 403 with the JSON body, then the end. */
static int
refuse(struct session *ss, int status, const char *error, const char *reason)
{
	struct buf b = BUF_INIT(HTTP_BODY_MAX);

	log_request(ss, false, false, reason);
	if (status == 403)
		http_write_denial(&b, status, error, ss->job->host,
				  ss->job->port, ss->job->ev.binary, reason);
	else
		http_write_status(&b, status, reason);
	stream_write(&ss->client, b.data, b.len);
	buf_free(&b);
	return -EPERM;
}

/* Whether these body bytes, after the ones before them, hold a value. */
static bool
leaks(struct session *ss, const char *p, size_t n)
{
	size_t keep = ss->longest ? ss->longest - 1 : 0;
	bool found;

	memcpy(ss->scan + ss->scan_len, p, n);
	ss->scan_len += n;
	found = creds_contains_secret(ss->job->creds, ss->scan, ss->scan_len);
	if (ss->scan_len > keep) {
		memmove(ss->scan, ss->scan + ss->scan_len - keep, keep);
		ss->scan_len = keep;
	}
	return found;
}

/* Copies exactly n body bytes, refusing any that hold a real value. */
static int
relay_exact(struct session *ss, struct stream *from, struct stream *to,
	    uint64_t n)
{
	while (n > 0) {
		size_t k;

		if (!from->len) {
			ssize_t r = stream_fill(from);

			if (r <= 0)
				return r ? (int)r : -EPIPE;
		}
		k = from->len < n ? from->len : (size_t)n;
		if (leaks(ss, from->buf, k))
			return refuse(ss, 403, "secret_leak", "secret_leak");
		if (stream_write(to, from->buf, k) < 0)
			return -EIO;
		stream_consume(from, k);
		n -= k;
	}
	return 0;
}

/* Reads one CRLF-terminated line (a chunk size or a trailer). */
static ssize_t
read_line(struct stream *s)
{
	for (;;) {
		char *end = memmem(s->buf, s->len, "\r\n", 2);
		ssize_t n;

		if (end)
			return end + 2 - s->buf;
		if (s->len >= INSPECT_CHUNK_LINE_MAX)
			return -EBADMSG;
		n = stream_fill(s);
		if (n <= 0)
			return n ? n : -EPIPE;
	}
}

static int
chunk_size(const char *p, size_t len, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < len && i < 16; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (d < 0)
			break;
		v = v * 16 + (uint64_t)d;
	}
	if (i == 0 || (i < len && p[i] != ';' && p[i] != '\r'))
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* A chunked request body goes as sent, its data checked for leaks. */
static int
relay_chunked_request(struct session *ss)
{
	struct stream *c = &ss->client;
	struct stream *up = &ss->upstream;

	for (;;) {
		ssize_t n = read_line(c);
		uint64_t size;
		int r;

		if (n < 0)
			return (int)n;
		r = chunk_size(c->buf, (size_t)n, &size);
		if (r < 0)
			return refuse(ss, 400, "bad_request", "bad_chunk");
		if (stream_write(up, c->buf, (size_t)n) < 0)
			return -EIO;
		stream_consume(c, (size_t)n);
		if (size == 0)
			break;
		r = relay_exact(ss, c, up, size + 2); /* data and its CRLF */
		if (r < 0)
			return r;
	}
	for (;;) { /* trailers, up to the empty line */
		ssize_t n = read_line(c);

		if (n < 0)
			return (int)n;
		if (stream_write(up, c->buf, (size_t)n) < 0)
			return -EIO;
		stream_consume(c, (size_t)n);
		if (n == 2)
			return 0;
	}
}

/* Appends up to CREDS_BODY_MAX body bytes, whatever the framing, to b. */
static int
collect_body(struct session *ss, struct buf *b)
{
	struct stream *c = &ss->client;
	uint64_t left = ss->req.has_length ? ss->req.content_length : 0;

	for (bool more = true; more;) {
		if (ss->req.chunked) {
			ssize_t n = read_line(c);

			if (n < 0 || chunk_size(c->buf, (size_t)n, &left) < 0)
				return -EBADMSG;
			stream_consume(c, (size_t)n);
			more = left > 0;
			if (!more) /* the last chunk: drop trailers */
				while ((n = read_line(c)) > 2)
					stream_consume(c, (size_t)n);
			if (!more)
				return n == 2 ? (stream_consume(c, 2), 0)
					      : -EBADMSG;
			left += 2; /* the CRLF after the data */
		} else {
			more = false;
		}
		while (left > 0) {
			size_t k;

			if (!c->len && stream_fill(c) <= 0)
				return -EPIPE;
			k = c->len < left ? c->len : (size_t)left;
			if (buf_append(b, c->buf, k) < 0)
				return -E2BIG;
			stream_consume(c, k);
			left -= k;
		}
		if (ss->req.chunked)
			b->len -= 2; /* that CRLF is framing, not body */
	}
	return 0;
}

/* The head without its framing, with the new body's length instead. */
static int
reframe_head(const struct buf *head, size_t body_len, struct buf *out)
{
	const char *p = head->data, *end = head->data + head->len;
	int r = 0;

	while (r == 0 && p < end) {
		const char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n == 0)
			r = buf_printf(out, "Content-Length: %zu\r\n",
				       body_len);
		if (r == 0 && !http_line_is(p, n, "content-length") &&
		    !http_line_is(p, n, "transfer-encoding"))
			r = buf_append(out, p, nl ? n + 2 : n);
		p += n + 2;
	}
	return r;
}

/*
 * For an endpoint with request_body_credential_rewrite: the whole body
 * (up to CREDS_BODY_MAX, chunked or not) is read, rewritten, and sent
 * with its new length.
 */
static int
send_rewritten_body(struct session *ss, const struct buf *head)
{
	struct inspect_job *j = ss->job;
	struct buf body = BUF_INIT(CREDS_BODY_MAX);
	struct buf out = BUF_INIT(2 * CREDS_BODY_MAX);
	struct buf h = BUF_INIT(INSPECT_HEAD_OUT_MAX);
	struct creds_result res = { 0 };
	int r = collect_body(ss, &body);

	if (r == -E2BIG)
		r = refuse(ss, 413, "payload_too_large", "body_too_large");
	else if (r == 0)
		r = creds_rewrite_body(j->creds, j->host, j->port, body.data,
				       body.len, &out, &res);
	if (r == 0 && res.refusal)
		r = refuse(ss, 403, res.refusal, res.refusal);
	if (r == 0)
		r = reframe_head(head, out.len, &h);
	if (r == 0)
		r = stream_write(&ss->upstream, h.data, h.len);
	if (r == 0)
		r = stream_write(&ss->upstream, out.data, out.len);
	buf_free(&body);
	buf_free(&out);
	buf_free(&h);
	return r;
}

/* The request's path for events, with any real value in it replaced
 * (a leaked value must not reach the log it is reported in). */
static void
scrubbed_path(struct session *ss)
{
	struct buf out = BUF_INIT(2 * sizeof(ss->path) + CREDS_VALUE_MAX);
	struct creds_scrubber sc;

	creds_scrub_init(&sc, ss->job->creds);
	if (creds_scrub(&sc, ss->req.path.p, ss->req.path.len, &out) == 0 &&
	    creds_scrub_flush(&sc, &out) == 0)
		snprintf(ss->path, sizeof(ss->path), "%s", buf_str(&out));
	else
		ss->path[0] = '\0';
	creds_scrub_free(&sc);
	buf_free(&out);
}

static void
alias_free(struct alias *a)
{
	if (a->sent)
		explicit_bzero(a->sent, a->sent_len); /* base64 of a value */
	free(a->sent);
	free(a->seen);
	*a = (struct alias){ 0 };
}

/* The blob of an "Authorization: Basic" header, or NULL. */
static const char *
basic_blob(const struct http_request *r, size_t *len)
{
	const struct http_header *h = http_find(r, "authorization");
	const char *v = h ? h->value.p : NULL;
	size_t n = h ? h->value.len : 0;

	if (n < 6 || strncasecmp(v, "basic ", 6))
		return NULL;
	*len = n - 6;
	return v + 6;
}

/*
 * Remembers the Basic blob that the rewrite encoded again around a real
 * value, paired with the client's own, so that the response scrubber can
 * turn an echo of it back (creds_scrub_alias).
 */
static void
remember_basic(struct session *ss, const struct buf *out)
{
	static __thread struct http_request sent;
	const char *a, *b;
	size_t alen, blen;
	struct alias *al;

	a = basic_blob(&ss->req, &alen);
	if (!a || http_parse_request(out->data, out->len, &sent) < 0)
		return;
	b = basic_blob(&sent, &blen);
	if (!b || (alen == blen && !memcmp(a, b, alen)) ||
	    blen < CREDS_VALUE_MIN || blen > CREDS_VALUE_MAX)
		return;
	if (ss->naliases == ARRAY_SIZE(ss->aliases)) {
		alias_free(&ss->aliases[0]);
		memmove(ss->aliases, ss->aliases + 1,
			sizeof(ss->aliases) - sizeof(ss->aliases[0]));
		ss->naliases--;
	}
	al = &ss->aliases[ss->naliases++];
	*al = (struct alias){ .sent = xstrndup(b, blen),
			      .sent_len = blen,
			      .seen = xstrndup(a, alen),
			      .seen_len = alen };
}

/* A response scrubber: the values, and the aliases of this connection. */
static void
scrubber_init(struct session *ss, struct creds_scrubber *sc)
{
	creds_scrub_init(sc, ss->job->creds);
	for (size_t i = 0; i < ss->naliases; i++)
		creds_scrub_alias(sc, ss->aliases[i].sent,
				  ss->aliases[i].sent_len, ss->aliases[i].seen,
				  ss->aliases[i].seen_len);
}

/* Whether the client asked for the connection to end after this one. */
static bool
wants_close(const struct http_request *r)
{
	const struct http_header *h = http_find(r, "connection");
	bool close = h && memmem(h->value.p, h->value.len, "close", 5);
	bool keep = h && memmem(h->value.p, h->value.len, "keep-alive", 10);

	return close || (r->minor == 0 && !keep);
}

/* One request: checked, rewritten, sent with its body. 0 at the end. */
static int
relay_request(struct session *ss)
{
	struct inspect_job *j = ss->job;
	struct buf out = BUF_INIT(INSPECT_HEAD_OUT_MAX);
	struct creds_result res = { 0 };
	ssize_t hl = read_head(&ss->client);
	int r;

	if (hl <= 0)
		return hl == -E2BIG
			   ? refuse(ss, 431, "head_too_large", "head_too_large")
			   : (int)hl;
	r = http_parse_request(ss->client.buf, (size_t)hl, &ss->req);
	if (r < 0)
		return refuse(ss, ss->req.reject_status ?: 400, "bad_request",
			      "bad_request");
	snprintf(ss->method, sizeof(ss->method), "%.*s",
		 (int)ss->req.method.len, ss->req.method.p);
	scrubbed_path(ss);
	ss->head_request = streq(ss->method, "HEAD");
	ss->raw_body = ss->req.minor == 0;
	ss->close_after = wants_close(&ss->req);
	/* Domain fronting: the inner Host must be the tunnel's target. */
	if (ss->req.form != HTTP_FORM_ORIGIN ||
	    (!(j->off & PROXY_OFF_HOST_CHECK) &&
	     http_check_origin(&ss->req, j->host, j->port,
			       ss->plain ? 80 : 443) < 0))
		return refuse(ss, 403, "policy_denied", "host_mismatch");
	r = creds_rewrite_head(j->creds, j->host, j->port, ss->client.buf,
			       (size_t)hl, true, &out, &res);
	if (r < 0 || res.refusal) {
		buf_free(&out);
		return refuse(ss, 403, res.refusal ?: "bad_request",
			      res.refusal ?: "bad_request");
	}
	if (res.replaced)
		remember_basic(ss, &out);
	stream_consume(&ss->client, (size_t)hl);
	if (j->body_rewrite && (ss->req.chunked || ss->req.has_length)) {
		r = send_rewritten_body(ss, &out);
		buf_free(&out);
		if (r == 0)
			log_request(ss, true, false, NULL);
		return r < 0 ? r : 1;
	}
	r = stream_write(&ss->upstream, out.data, out.len);
	buf_free(&out); /* wipes: it held real values */
	log_request(ss, true, false, NULL);
	if (r < 0)
		return r;
	if (ss->req.chunked)
		return relay_chunked_request(ss) ?: 1;
	if (ss->req.has_length)
		return relay_exact(ss, &ss->client, &ss->upstream,
				   ss->req.content_length)
			   ?: 1;
	return 1;
}

/*
 * Writes scrubbed body bytes to the client as one chunk, in one TLS
 * record with its framing (and, at the end, the last chunk) rather than
 * one record for each piece.
 */
static int
emit_chunk(struct session *ss, struct creds_scrubber *sc, const char *p,
	   size_t n, bool last)
{
	/* A value of 8 bytes becomes a 40-byte placeholder: 5 times the
	 * input, plus what the scrubber held back, at the most. */
	struct buf body = BUF_INIT(5 * INSPECT_IO_MAX + CREDS_VALUE_MAX + 64);
	struct buf out = BUF_INIT(5 * INSPECT_IO_MAX + CREDS_VALUE_MAX + 128);
	int r = n ? creds_scrub(sc, p, n, &body) : 0;

	if (r == 0 && last)
		r = creds_scrub_flush(sc, &body);
	if (r == 0 && body.len && !ss->raw_body)
		r = buf_printf(&out, "%zx\r\n", body.len);
	if (r == 0)
		r = buf_append(&out, body.data, body.len);
	if (r == 0 && body.len && !ss->raw_body)
		r = buf_puts(&out, "\r\n");
	if (r == 0 && last && !ss->raw_body)
		r = buf_puts(&out, "0\r\n\r\n");
	if (r == 0 && out.len)
		r = stream_write(&ss->client, out.data, out.len);
	buf_free(&body);
	buf_free(&out);
	return r;
}

/* Body bytes from upstream: n of them, or until the end when n < 0. */
static int
pass_body(struct session *ss, struct creds_scrubber *sc, int64_t n)
{
	struct stream *u = &ss->upstream;

	while (n != 0) {
		size_t k;
		int r;

		if (!u->len) {
			ssize_t f = stream_fill(u);

			if (f < 0 || (f == 0 && n > 0))
				return f < 0 ? (int)f : -EPIPE;
			if (f == 0)
				return 0;
		}
		k = n < 0 || (uint64_t)n > u->len ? u->len : (size_t)n;
		r = emit_chunk(ss, sc, u->buf, k, false);
		if (r < 0)
			return r;
		stream_consume(u, k);
		if (n > 0)
			n -= (int64_t)k;
	}
	return 0;
}

static int
pass_chunked_body(struct session *ss, struct creds_scrubber *sc)
{
	struct stream *u = &ss->upstream;

	for (;;) {
		ssize_t n = read_line(u);
		uint64_t size;
		int r;

		if (n < 0 || chunk_size(u->buf, (size_t)n, &size) < 0)
			return n < 0 ? (int)n : -EBADMSG;
		stream_consume(u, (size_t)n);
		if (size == 0)
			break;
		r = pass_body(ss, sc, (int64_t)size);
		if (r == 0)
			r = (read_line(u) == 2) ? 0 : -EBADMSG;
		if (r < 0)
			return r;
		stream_consume(u, 2);
	}
	for (;;) { /* trailers are dropped: the chunked answer ends here */
		ssize_t n = read_line(u);

		if (n < 0)
			return (int)n;
		stream_consume(u, (size_t)n);
		if (n == 2)
			return 0;
	}
}

/* One response (after any 1xx): scrubbed head, scrubbed chunked body. */
static int
relay_response(struct session *ss)
{
	for (;;) {
		struct buf out = BUF_INIT(INSPECT_HEAD_OUT_MAX);
		struct buf clean = BUF_INIT(2 * INSPECT_HEAD_OUT_MAX);
		struct http_response_head rh = { 0 };
		struct creds_scrubber sc;
		ssize_t hl = read_head(&ss->upstream);
		bool body;
		int r;

		if (hl <= 0)
			return hl ? (int)hl : -EPIPE;
		rh.status = http_response_status(ss->upstream.buf, (size_t)hl);
		if (rh.status < 100 || rh.status == 101)
			/* No protocol switch past inspection. */
			return -EBADMSG;
		body = !ss->head_request && rh.status >= 200 &&
		       rh.status != 204 && rh.status != 304;
		r = http_response_head(ss->upstream.buf, (size_t)hl, &rh, &out,
				       body, ss->raw_body);
		scrubber_init(ss, &sc);
		if (r == 0)
			r = creds_scrub(&sc, out.data, out.len, &clean);
		if (r == 0)
			r = creds_scrub_flush(&sc, &clean);
		creds_scrub_free(&sc);
		if (r == 0)
			r = stream_write(&ss->client, clean.data, clean.len);
		buf_free(&out);
		buf_free(&clean);
		stream_consume(&ss->upstream, (size_t)hl);
		if (r < 0)
			return r;
		if (rh.status < 200)
			continue;
		if (!body)
			return rh.close || ss->close_after ? 0 : 1;
		scrubber_init(ss, &sc);
		r = rh.chunked ? pass_chunked_body(ss, &sc)
			       : pass_body(ss, &sc, rh.length);
		if (r == 0)
			r = emit_chunk(ss, &sc, NULL, 0, true);
		creds_scrub_free(&sc);
		if (r < 0)
			return r;
		return rh.close || ss->close_after || ss->raw_body ||
			       (!rh.chunked && rh.length < 0)
			   ? 0
			   : 1;
	}
}

static void
set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = INSPECT_TIMEOUT_S };
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Both handshakes: the client's against our leaf, ours upstream. */
static const char *
handshakes(struct session *ss)
{
	struct inspect_job *j = ss->job;
	int r;

	if (tls_server_new(j->leaf, j->host, j->client_fd, &ss->client.ssl) <
		0 ||
	    ((j->off & PROXY_OFF_HOST_CHECK) &&
	     tls_server_any_sni(ss->client.ssl) < 0) ||
	    SSL_accept(ss->client.ssl) != 1)
		return ss->client.ssl &&
			       tls_server_sni_verdict(ss->client.ssl) < 0
			   ? "sni_mismatch"
			   : "client_tls_failed";
	if (tls_upstream_new(j->upstream, j->host, j->upstream_fd,
			     &ss->upstream.ssl) < 0)
		return "upstream_tls_failed";
	r = SSL_connect(ss->upstream.ssl);
	if (r == 1)
		return NULL;
	if (SSL_get_verify_result(ss->upstream.ssl) != X509_V_OK)
		return "upstream_certificate_invalid";
	/* The event names a reason; the detail is for supervisor.log. */
	log_warn("TLS to %s:%u failed: SSL error %d, errno %d, %s", j->host,
		 j->port, SSL_get_error(ss->upstream.ssl, r), errno,
		 ERR_reason_error_string(ERR_peek_last_error()) ?: "-");
	return "upstream_tls_failed";
}

/*
 * A tunnel that does not start with a TLS handshake record is plain
 * text: placeholders are resolved over it only where the endpoint allows
 * credentials uninspected by TLS (a value would travel in clear).
 */
static bool
speaks_tls(int fd)
{
	unsigned char first = 0;

	return recv(fd, &first, 1, MSG_PEEK) == 1 && first == 0x16;
}

static void
copy_plain(struct session *ss)
{
	struct stream *side[2] = { &ss->client, &ss->upstream };
	struct pollfd p[2] = { { .fd = ss->client.fd, .events = POLLIN },
			       { .fd = ss->upstream.fd, .events = POLLIN } };
	char buf[INSPECT_IO_MAX];

	while (poll(p, 2, INSPECT_TIMEOUT_S * 1000) > 0) {
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write_full(p[!i].fd, buf, (size_t)n) < 0)
				return;
			side[i]->bytes += (uint64_t)n;
		}
	}
}

/*
 * Starts the session: NULL when requests can be relayed, else why not.
 * A plain tunnel without the endpoint's consent is only copied.
 */
static const char *
session_start(struct session *ss)
{
	struct inspect_job *j = ss->job;

	ss->client.fd = j->client_fd;
	ss->upstream.fd = j->upstream_fd;
	ss->plain = j->early.len || !speaks_tls(j->client_fd);
	if (!ss->plain)
		return handshakes(ss);
	if (!j->plain_credentials) {
		copy_plain(ss);
		return "plain_text";
	}
	if (j->early.len > sizeof(ss->client.buf))
		return "head_too_large";
	if (j->early.len)
		memcpy(ss->client.buf, j->early.data, j->early.len);
	ss->client.len = j->early.len;
	ss->client.bytes = j->early.len;
	return NULL;
}

static void *
inspect_main(void *arg)
{
	struct session *ss = xcalloc(1, sizeof(*ss));
	struct inspect_job *job = arg;
	const char *fail;
	int r = 1;

	ss->job = job;
	for (size_t i = 0; i < job->creds->n; i++)
		if (job->creds->v[i].len > ss->longest)
			ss->longest = job->creds->v[i].len;
	set_timeouts(job->client_fd);
	set_timeouts(job->upstream_fd);
	fail = session_start(ss);
	if (fail && streq(fail, "plain_text"))
		r = 0; /* copied: its close event is the only one */
	else if (fail && ss->client.ssl && SSL_is_init_finished(ss->client.ssl))
		refuse(ss, 502, "upstream_failed", fail);
	else if (fail)
		log_request(ss, false, false, fail);
	while (!fail && r > 0) {
		r = relay_request(ss);
		if (r > 0)
			r = relay_response(ss);
	}
	if (!fail || !r)
		log_request(ss, true, true, NULL);
	for (int i = 0; i < 2; i++) {
		SSL *ssl = i ? ss->upstream.ssl : ss->client.ssl;

		if (ssl) {
			SSL_shutdown(ssl);
			SSL_free(ssl);
		}
	}
	for (size_t i = 0; i < ss->naliases; i++)
		alias_free(&ss->aliases[i]);
	if (job->done)
		job->done(job->entry);
	close(job->client_fd);
	close(job->upstream_fd);
	SSL_CTX_free(job->leaf);
	buf_free(&job->early);
	explicit_bzero(ss, sizeof(*ss)); /* buffers held real values */
	free(ss);
	free(job);
	return NULL;
}

int
inspect_start(struct inspect_job *job)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	job->started_ms = clock_ms(CLOCK_MONOTONIC);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&t, &attr, inspect_main, job);
	pthread_attr_destroy(&attr);
	return r;
}
