/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/creds.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "common/util.h"
#include "policy/match.h"
#include "proxy/http.h"
#include "proxy/proxy.h"

#define PREFIX_LEN (sizeof(CREDS_PLACEHOLDER_PREFIX) - 1)
/* Random bytes in a placeholder: two hex digits each. */
#define PLACEHOLDER_RANDOM 16
/* A position that does not exist, for "no match". */
#define NOWHERE SIZE_MAX

static bool
key_ok(const char *key)
{
	size_t n = strnlen(key, CREDS_KEY_MAX + 1);

	if (n == 0 || n > CREDS_KEY_MAX || (key[0] >= '0' && key[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)key[i];

		if (ch != '_' && !(ch >= '0' && ch <= '9') &&
		    !((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'))
			return false;
	}
	return true;
}

/* A value may be written into a header: HTAB, SP, VCHAR and obs-text. */
static bool
value_ok(const char *value, size_t len)
{
	if (!value || len < CREDS_VALUE_MIN || len > CREDS_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];

		if ((ch < ' ' && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

static bool
hosts_ok(const struct creds_host *hosts, size_t nhosts)
{
	if (nhosts > CREDS_HOSTS_MAX || (nhosts && !hosts))
		return false;
	for (size_t i = 0; i < nhosts; i++) {
		size_t n = strnlen(hosts[i].host, sizeof(hosts[i].host));

		if (n == 0 || n == sizeof(hosts[i].host))
			return false;
	}
	return true;
}

static const struct cred *
find_key(const struct creds *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (streq(c->v[i].key, key))
			return &c->v[i];
	return NULL;
}

/* A new placeholder, unlike any in c (a clash of 128 random bits is not
 * expected, but costs nothing to rule out). */
static int
make_placeholder(const struct creds *c, char *ret)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[PLACEHOLDER_RANDOM];
	ssize_t n;

	do {
		n = getrandom(r, sizeof(r), 0);
		if (n < 0 && errno != EINTR)
			return neg_errno();
		if (n != (ssize_t)sizeof(r))
			continue;
		memcpy(ret, CREDS_PLACEHOLDER_PREFIX, PREFIX_LEN);
		for (size_t i = 0; i < sizeof(r); i++) {
			ret[PREFIX_LEN + 2 * i] = hex[r[i] >> 4];
			ret[PREFIX_LEN + 2 * i + 1] = hex[r[i] & 0xf];
		}
		ret[CREDS_PLACEHOLDER_LEN] = '\0';
	} while (n != (ssize_t)sizeof(r) ||
		 creds_find_placeholder(c, ret, CREDS_PLACEHOLDER_LEN));
	return 0;
}

static void
cred_fill(struct cred *cr, const char *key, const char *value, size_t len,
	  const struct creds_host *hosts, size_t nhosts)
{
	memcpy(cr->key, key, strlen(key) + 1);
	cr->value = xmalloc(len + 1);
	memcpy(cr->value, value, len);
	cr->value[len] = '\0';
	cr->len = len;
	if (nhosts) {
		cr->hosts = xcalloc(nhosts, sizeof(*cr->hosts));
		memcpy(cr->hosts, hosts, nhosts * sizeof(*hosts));
	}
	cr->nhosts = nhosts;
}

int
creds_add(struct creds *c, const char *key, const char *value, size_t len,
	  const struct creds_host *hosts, size_t nhosts)
{
	struct cred cr = { 0 };
	int r;

	if (!c || !key || !key_ok(key) || !value_ok(value, len) ||
	    !hosts_ok(hosts, nhosts))
		return -EINVAL;
	if (find_key(c, key))
		return -EEXIST;
	if (c->n >= CREDS_MAX)
		return -ENOSPC;
	r = make_placeholder(c, cr.placeholder);
	if (r < 0)
		return r;
	cred_fill(&cr, key, value, len, hosts, nhosts);
	/* Only pointers move with the array: no value is copied by realloc. */
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = cr;
	return 0;
}

void
creds_free(struct creds *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct cred *cr = &c->v[i];

		explicit_bzero(cr->value, cr->len);
		free(cr->value);
		free(cr->hosts);
		explicit_bzero(cr, sizeof(*cr));
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

bool
creds_bound_to(const struct cred *cr, const char *host, uint16_t port)
{
	if (cr->nhosts == 0)
		return true;
	if (!host)
		return false;
	for (size_t i = 0; i < cr->nhosts; i++) {
		const struct creds_host *h = &cr->hosts[i];

		if ((h->port == 0 || h->port == port) &&
		    match_host(h->host, host))
			return true;
	}
	return false;
}

const struct cred *
creds_find_placeholder(const struct creds *c, const char *p, size_t len)
{
	if (!c || len != CREDS_PLACEHOLDER_LEN)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->v[i].placeholder, p, len) == 0)
			return &c->v[i];
	return NULL;
}

/*
 * The next placeholder of c in p (n bytes): its credential, with its
 * offset in *at. A placeholder is matched by its 40 bytes whatever follows,
 * so "$A$B" gives two. The prefix cannot overlap itself, so a miss skips
 * it whole.
 */
static const struct cred *
next_placeholder(const struct creds *c, const char *p, size_t n, size_t *at)
{
	size_t off = 0;

	while (n - off >= CREDS_PLACEHOLDER_LEN) {
		const char *q = memmem(p + off, n - off,
				       CREDS_PLACEHOLDER_PREFIX, PREFIX_LEN);
		const struct cred *cr;

		if (!q || (size_t)(p + n - q) < CREDS_PLACEHOLDER_LEN)
			return NULL;
		off = (size_t)(q - p);
		cr = creds_find_placeholder(c, q, CREDS_PLACEHOLDER_LEN);
		if (cr) {
			*at = off;
			return cr;
		}
		off += PREFIX_LEN;
	}
	return NULL;
}

/*
 * The first credential whose value appears in p, or NULL. An empty span
 * may come as NULL, which memmem must not be given (glibc declares it
 * nonnull).
 */
static const struct cred *
find_secret(const struct creds *c, const char *p, size_t n)
{
	for (size_t i = 0; c && p && i < c->n; i++)
		if (memmem(p, n, c->v[i].value, c->v[i].len))
			return &c->v[i];
	return NULL;
}

bool
creds_contains_secret(const struct creds *c, const char *p, size_t len)
{
	if (c && (c->off & PROXY_OFF_LEAK_CHECK))
		return false;
	return p && find_secret(c, p, len) != NULL;
}

/*
 * Output goes through a sink, run twice: once counting, so the buffer can
 * be grown to its final size before any value is written into it, then
 * writing. buf grows by realloc, which would leave a copy of what it held
 * in freed memory.
 */
struct sink {
	struct buf *out; /* NULL: count only */
	size_t len;
	size_t limit;
	size_t replaced;
	int err;
};

static void
sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->err)
		return;
	if (n > s->limit - s->len) {
		s->err = -E2BIG;
		return;
	}
	s->len += n;
	if (s->out)
		s->err = buf_append(s->out, p, n);
}

/* Grows b so that extra more bytes fit without another realloc. */
static int
buf_grow(struct buf *b, size_t extra)
{
	static const char zeros[4096];
	size_t len = b->len;
	int r = 0;

	if (b->data && b->cap > len && b->cap - len > extra)
		return 0;
	while (r == 0 && b->len - len < extra) {
		size_t n = extra - (b->len - len);

		r = buf_append(b, zeros, n < sizeof(zeros) ? n : sizeof(zeros));
	}
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
	return r;
}

/* Undoes a partial write: wipes what was appended past len. */
static void
buf_truncate(struct buf *b, size_t len)
{
	if (b->data && b->len > len) {
		explicit_bzero(b->data + len, b->len - len);
		b->len = len;
		b->data[len] = '\0';
	}
}

enum put_mode {
	PUT_RAW, /* a header value or a body: the value as it is */
	PUT_URL, /* the request target: percent-encoded */
};

static bool
is_unreserved(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') ||
	       ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch == '-' ||
	       ch == '.' || ch == '_' || ch == '~';
}

static void
put_url(struct sink *s, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	while (n > 0) {
		size_t run = 0;
		char esc[3] = { '%' };

		while (run < n && is_unreserved((unsigned char)p[run]))
			run++;
		sink_put(s, p, run);
		if (run == n)
			return;
		esc[1] = hex[(unsigned char)p[run] >> 4];
		esc[2] = hex[(unsigned char)p[run] & 0xf];
		sink_put(s, esc, sizeof(esc));
		p += run + 1;
		n -= run + 1;
	}
}

/* Puts p (n bytes) with every placeholder replaced by its value. */
static void
put_replaced(struct sink *s, const struct creds *c, const char *p, size_t n,
	     enum put_mode mode)
{
	const struct cred *cr;
	size_t at;

	while ((cr = next_placeholder(c, p, n, &at))) {
		sink_put(s, p, at);
		if (mode == PUT_URL)
			put_url(s, cr->value, cr->len);
		else
			sink_put(s, cr->value, cr->len);
		s->replaced++;
		p += at + CREDS_PLACEHOLDER_LEN;
		n -= at + CREDS_PLACEHOLDER_LEN;
	}
	sink_put(s, p, n);
}

/*
 * Basic auth (RFC 7617): "Basic" SP token68, the token standard base64 of
 * "user:pass". Decoding is strict about the alphabet, lenient about the
 * padding, which clients do not all send.
 */
struct basic {
	size_t off; /* of the token in the header value */
	bool padded;
	char *plain; /* decoded; wiped by basic_done */
	size_t len;
};

static int
b64_index(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	return ch == '/' ? 63 : -1;
}

/* Decodes n characters of p without padding into out, which holds
 * n * 3 / 4 bytes. The bits past the last whole byte are dropped. */
static int
b64_decode(const char *p, size_t n, char *out)
{
	uint32_t acc = 0;
	size_t bits = 0, o = 0;

	if (n % 4 == 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int v = b64_index((unsigned char)p[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return 0;
}

static void
put_b64(struct sink *s, const char *p, size_t n, bool pad)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)p[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;
		char q[4];

		if (k > 1)
			v |= (uint32_t)(unsigned char)p[i + 1] << 8;
		if (k > 2)
			v |= (unsigned char)p[i + 2];
		for (size_t j = 0; j < 4; j++)
			q[j] = j <= k ? abc[(v >> (18 - 6 * j)) & 0x3f] : '=';
		sink_put(s, q, pad ? 4 : k + 1);
	}
}

static void
basic_done(struct basic *b)
{
	if (b->plain)
		explicit_bzero(b->plain, b->len);
	free(b->plain);
	b->plain = NULL;
}

/* The offset of the token in h's value when h is "Authorization: Basic
 * <token>", else 0. */
static size_t
basic_token(const struct http_header *h)
{
	const char *v = h->value.p;
	size_t n = h->value.len, off = 5;

	if (h->name.len != 13 || strncasecmp(h->name.p, "authorization", 13) ||
	    n <= off || strncasecmp(v, "basic", 5) ||
	    (v[5] != ' ' && v[5] != '\t'))
		return 0;
	while (off < n && (v[off] == ' ' || v[off] == '\t'))
		off++;
	return off < n ? off : 0;
}

/*
 * Whether h is Basic auth with a token that decodes; then b holds the
 * decoded text. A token whose length is a multiple of 4 is written back
 * padded (whether it needed padding or not, that is the standard form);
 * only one evidently sent without padding is written back without.
 */
static bool
basic_decode(const struct http_header *h, struct basic *b)
{
	const char *v = h->value.p;
	size_t n = h->value.len, tlen;

	memset(b, 0, sizeof(*b));
	b->off = basic_token(h);
	if (b->off == 0)
		return false;
	tlen = n - b->off;
	b->padded = tlen % 4 == 0;
	while (tlen > 0 && v[b->off + tlen - 1] == '=' && n - b->off - tlen < 2)
		tlen--;
	if (tlen == 0 || (!b->padded && tlen != n - b->off))
		return false;
	b->len = tlen * 3 / 4;
	b->plain = xmalloc(b->len + 1);
	if (b64_decode(v + b->off, tlen, b->plain) == 0)
		return true;
	basic_done(b);
	return false;
}

/* Puts a Basic header value with placeholders replaced inside the blob. The
 * replaced text is built in a buffer grown once, then wiped. */
static void
put_basic(struct sink *s, const struct creds *c, const struct http_header *h,
	  struct basic *b)
{
	struct sink count = { .limit = s->limit - s->len };
	struct buf plain;
	struct sink fill = { .out = &plain };

	if (!next_placeholder(c, b->plain, b->len, &(size_t){ 0 })) {
		sink_put(s, h->value.p, h->value.len);
		return;
	}
	/* The text is no longer than its encoding, which must fit in s. */
	put_replaced(&count, c, b->plain, b->len, PUT_RAW);
	plain = BUF_INIT(count.len);
	fill.limit = count.len;
	if (count.err < 0 || buf_grow(&plain, count.len) < 0) {
		s->err = -E2BIG;
		return;
	}
	put_replaced(&fill, c, b->plain, b->len, PUT_RAW);
	sink_put(s, h->value.p, b->off);
	put_b64(s, plain.data, plain.len, b->padded);
	s->replaced += fill.replaced;
	buf_free(&plain);
}

static bool
is_host(const struct http_header *h)
{
	return h->name.len == 4 && strncasecmp(h->name.p, "host", 4) == 0;
}

/* Copies the head from *pos to span, then the span rewritten. */
static void
put_span(struct sink *s, const char *head, size_t *pos, struct http_span sp)
{
	size_t at = (size_t)(sp.p - head);

	sink_put(s, head + *pos, at - *pos);
	*pos = at + sp.len;
}

static void
put_head(struct sink *s, const struct creds *c, const struct http_request *r,
	 const char *head, size_t len)
{
	size_t pos = 0;

	/* Only the path and query: the authority of an absolute-form target
	 * names where the request goes, and is no place for a value. */
	put_span(s, head, &pos, r->path);
	put_replaced(s, c, r->path.p, r->path.len, PUT_URL);
	if (r->has_query) {
		put_span(s, head, &pos, r->query);
		put_replaced(s, c, r->query.p, r->query.len, PUT_URL);
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];
		struct basic b;

		if (is_host(h) || h->value.len == 0)
			continue;
		put_span(s, head, &pos, h->value);
		if (next_placeholder(c, h->value.p, h->value.len,
				     &(size_t){ 0 }) ||
		    !basic_decode(h, &b)) {
			put_replaced(s, c, h->value.p, h->value.len, PUT_RAW);
			continue;
		}
		put_basic(s, c, h, &b);
		basic_done(&b);
	}
	sink_put(s, head + pos, len - pos);
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The first value of c in p percent-decoded (a malformed escape is kept as
 * it is, as most servers do). */
static const struct cred *
find_secret_decoded(const struct creds *c, const char *p, size_t n)
{
	char *d = xmalloc(n + 1);
	const struct cred *cr;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi = i + 2 < n ? hexval((unsigned char)p[i + 1]) : -1;
		int lo = i + 2 < n ? hexval((unsigned char)p[i + 2]) : -1;

		if (p[i] == '%' && hi >= 0 && lo >= 0) {
			d[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[o++] = p[i];
		}
	}
	cr = find_secret(c, d, o);
	explicit_bzero(d, n + 1);
	free(d);
	return cr;
}

static int
refuse(struct creds_result *res, const char *refusal, const struct cred *cr,
       const char *where)
{
	res->refusal = refusal;
	res->key = cr->key;
	res->where = where;
	return -EPERM;
}

/* Where in the head offset off lies, for a leak's report. */
static const char *
head_where(const struct http_request *r, const char *head, size_t off)
{
	const char *p = head + off;

	if (p >= r->path.p && p < r->path.p + r->path.len)
		return "path";
	if (r->has_query && p >= r->query.p && p < r->query.p + r->query.len)
		return "query";
	return "header";
}

static int
check_head_leak(const struct creds *c, const struct http_request *r,
		const char *head, size_t len, struct creds_result *res)
{
	const struct cred *cr;

	for (size_t i = 0; i < c->n; i++) {
		const char *q = memmem(head, len, c->v[i].value, c->v[i].len);

		if (q)
			return refuse(res, CREDS_SECRET_LEAK, &c->v[i],
				      head_where(r, head, (size_t)(q - head)));
	}
	cr = find_secret_decoded(c, r->path.p, r->path.len);
	if (cr)
		return refuse(res, CREDS_SECRET_LEAK, cr, "path");
	cr = r->has_query ? find_secret_decoded(c, r->query.p, r->query.len)
			  : NULL;
	return cr ? refuse(res, CREDS_SECRET_LEAK, cr, "query") : 0;
}

static int
check_basic_leak(const struct creds *c, const struct http_request *r,
		 struct creds_result *res)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct cred *cr;
		struct basic b;

		if (!basic_decode(&r->headers[i], &b))
			continue;
		cr = find_secret(c, b.plain, b.len);
		basic_done(&b);
		if (cr)
			return refuse(res, CREDS_SECRET_LEAK, cr, "basic");
	}
	return 0;
}

/* Where placeholders may be resolved: host:port, or nowhere (host NULL). */
struct dest {
	const char *host;
	uint16_t port;
};

/*
 * Counts the placeholders in p in res->unresolved and, when they are to be
 * resolved, refuses the first whose credential is not bound to d.
 */
static int
check_bound(const struct creds *c, const struct dest *d, const char *p,
	    size_t n, const char *where, struct creds_result *res)
{
	const struct cred *cr;
	size_t at;

	while ((cr = next_placeholder(c, p, n, &at))) {
		if (d->host && !(c->off & PROXY_OFF_CRED_BINDING) &&
		    !creds_bound_to(cr, d->host, d->port))
			return refuse(res, CREDS_ENDPOINT_MISMATCH, cr, where);
		res->unresolved++;
		p += at + CREDS_PLACEHOLDER_LEN;
		n -= at + CREDS_PLACEHOLDER_LEN;
	}
	return 0;
}

static int
check_header_bound(const struct creds *c, const struct dest *d,
		   const struct http_header *h, struct creds_result *res)
{
	const struct http_span v = h->value;
	struct basic b;
	int k;

	if (is_host(h))
		return 0;
	if (next_placeholder(c, v.p, v.len, &(size_t){ 0 }) ||
	    !basic_decode(h, &b))
		return check_bound(c, d, v.p, v.len, "header", res);
	k = check_bound(c, d, b.plain, b.len, "basic", res);
	basic_done(&b);
	return k;
}

static int
check_head_bound(const struct creds *c, const struct dest *d,
		 const struct http_request *r, struct creds_result *res)
{
	int k = check_bound(c, d, r->path.p, r->path.len, "path", res);

	if (k == 0 && r->has_query)
		k = check_bound(c, d, r->query.p, r->query.len, "query", res);
	for (size_t i = 0; k == 0 && i < r->nheaders; i++)
		k = check_header_bound(c, d, &r->headers[i], res);
	return k;
}

/* Counts the output, grows out once, then writes it; out is left as it
 * was on error. */
static int
emit(struct buf *out, const void *arg,
     void (*put)(struct sink *s, const void *arg), struct creds_result *res)
{
	size_t was = out->len;
	struct sink count = { .limit = out->limit - out->len };
	struct sink s = { .out = out, .limit = out->limit - out->len };

	put(&count, arg);
	if (count.err < 0)
		return count.err;
	if (buf_grow(out, count.len) < 0)
		return -E2BIG;
	put(&s, arg);
	if (s.err < 0) {
		buf_truncate(out, was);
		return s.err;
	}
	res->replaced = s.replaced;
	return 0;
}

struct head_job {
	const struct creds *c;
	const struct http_request *r;
	const char *p;
	size_t len;
};

static void
put_head_job(struct sink *s, const void *arg)
{
	const struct head_job *j = arg;

	put_head(s, j->c, j->r, j->p, j->len);
}

static void
put_body_job(struct sink *s, const void *arg)
{
	const struct head_job *j = arg;

	put_replaced(s, j->c, j->p, j->len, PUT_RAW);
}

static int
parse_whole(const char *head, size_t len, struct http_request *r)
{
	int k = http_parse_request(head, len, r);

	if (k < 0)
		return k;
	if (k == 0 || (size_t)k != len || r->form == HTTP_FORM_AUTHORITY)
		return -EINVAL;
	return 0;
}

int
creds_rewrite_head(const struct creds *c, const char *host, uint16_t port,
		   const char *head, size_t len, bool resolve, struct buf *out,
		   struct creds_result *res)
{
	struct http_request r;
	struct head_job j = { .c = c, .r = &r, .p = head, .len = len };
	struct dest d = { .host = resolve ? host : NULL, .port = port };
	int k;

	if (!c || (resolve && !host) || !head || !out || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	k = parse_whole(head, len, &r);
	if (k == 0 && !(c->off & PROXY_OFF_LEAK_CHECK))
		k = check_head_leak(c, &r, head, len, res);
	if (k == 0 && !(c->off & PROXY_OFF_LEAK_CHECK))
		k = check_basic_leak(c, &r, res);
	if (k == 0)
		k = check_head_bound(c, &d, &r, res);
	if (k < 0 || !resolve)
		return k < 0 ? k : buf_append(out, head, len);
	res->unresolved = 0;
	return emit(out, &j, put_head_job, res);
}

int
creds_rewrite_body(const struct creds *c, const char *host, uint16_t port,
		   const char *body, size_t len, struct buf *out,
		   struct creds_result *res)
{
	struct head_job j = { .c = c, .p = body, .len = len };
	struct dest d = { .host = host, .port = port };
	const struct cred *cr;
	int k;

	if (!c || !host || (!body && len) || !out || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	if (len > CREDS_BODY_MAX)
		return -E2BIG;
	cr = find_secret(c, body, len);
	if (cr)
		return refuse(res, CREDS_SECRET_LEAK, cr, "body");
	k = check_bound(c, &d, body, len, "body", res);
	if (k < 0)
		return k;
	res->unresolved = 0;
	return emit(out, &j, put_body_job, res);
}

const struct cred *
creds_misbound(const struct creds *c, const char *host, uint16_t port,
	       const char *p, size_t len)
{
	for (size_t i = 0; c && p && i < c->n; i++)
		if (!creds_bound_to(&c->v[i], host, port) &&
		    memmem(p, len, c->v[i].placeholder, CREDS_PLACEHOLDER_LEN))
			return &c->v[i];
	return NULL;
}

void
creds_scrub_init(struct creds_scrubber *s, const struct creds *c)
{
	memset(s, 0, sizeof(*s));
	/* Test builds only: "scrub" leaves the values out. */
	for (size_t i = 0; c && !(c->off & PROXY_OFF_SCRUB) && i < c->n; i++) {
		const struct cred *cr = &c->v[i];

		s->pairs[s->n++] = (struct creds_pair){
			.from = cr->value,
			.from_len = cr->len,
			.to = cr->placeholder,
			.to_len = CREDS_PLACEHOLDER_LEN,
		};
		if (cr->len > s->longest)
			s->longest = cr->len;
	}
	s->win = BUF_INIT(CREDS_VALUE_MAX + CREDS_SCRUB_SLICE);
}

int
creds_scrub_alias(struct creds_scrubber *s, const char *from, size_t from_len,
		  const char *to, size_t to_len)
{
	if (from_len < CREDS_VALUE_MIN || from_len > CREDS_VALUE_MAX ||
	    s->win.len)
		return -EINVAL;
	if (s->n == ARRAY_SIZE(s->pairs))
		return -ENOSPC;
	s->pairs[s->n++] = (struct creds_pair){
		.from = from, .from_len = from_len, .to = to, .to_len = to_len
	};
	if (from_len > s->longest)
		s->longest = from_len;
	return 0;
}

void
creds_scrub_free(struct creds_scrubber *s)
{
	buf_free(&s->win);
}

/* A complete value (or alias) in the window. */
struct match {
	size_t at;
	const struct creds_pair *p;
};

/*
 * The leftmost value at or after c in w (wl bytes), the longest at one
 * position, the first added among equals. next[] caches each value's
 * next position (NOWHERE for none), so a value is searched for again only
 * once the cursor passes it: each is found once per window.
 */
static bool
next_match(const struct creds_scrubber *s, const char *w, size_t wl, size_t c,
	   size_t *next, struct match *m)
{
	m->at = NOWHERE;
	m->p = NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct creds_pair *p = &s->pairs[i];

		if (next[i] != NOWHERE && next[i] < c) {
			const char *q =
			    memmem(w + c, wl - c, p->from, p->from_len);

			next[i] = q ? (size_t)(q - w) : NOWHERE;
		}
		if (next[i] < m->at || (next[i] == m->at && m->p &&
					p->from_len > m->p->from_len)) {
			m->at = next[i];
			m->p = p;
		}
	}
	return m->at != NOWHERE;
}

/* The earliest q in [from, to) at which w's tail is a proper prefix of
 * p's string (bytes the next piece of the stream could complete), else
 * to. */
static size_t
pending_one(const struct creds_pair *p, const char *w, size_t wl, size_t from,
	    size_t to)
{
	size_t q = wl >= p->from_len ? wl - p->from_len + 1 : 0;

	for (q = q > from ? q : from; q < to; q++) {
		const char *f = memchr(w + q, p->from[0], to - q);

		if (!f)
			break;
		q = (size_t)(f - w);
		if (memcmp(f, p->from, wl - q) == 0)
			return q;
	}
	return to;
}

static size_t
pending(const struct creds_scrubber *s, const char *w, size_t wl, size_t from)
{
	size_t best = wl;

	for (size_t i = 0; i < s->n; i++)
		best = pending_one(&s->pairs[i], w, wl, from, best);
	return best;
}

static void
first_matches(const struct creds_scrubber *s, const char *w, size_t wl,
	      size_t *next)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *q =
		    memmem(w, wl, s->pairs[i].from, s->pairs[i].from_len);

		next[i] = q ? (size_t)(q - w) : NOWHERE;
	}
}

/* Keeps the window's bytes from pend on, wiping the rest: they may hold a
 * value. */
static void
hold_from(struct buf *win, size_t pend)
{
	size_t keep = win->len - pend;

	memmove(win->data, win->data + pend, keep);
	explicit_bzero(win->data + keep, win->len - keep);
	win->len = keep;
}

/*
 * Scrubs the window up to the first byte that could begin a value not yet
 * complete (none when final) and keeps the rest. A value found before that
 * byte is the one a single pass over the whole stream would find: any
 * value starting earlier would either lie in the window or reach past its
 * end, and then its start would be such a byte.
 */
static int
scrub_window(struct creds_scrubber *s, bool final, struct buf *out)
{
	const char *w = s->win.data;
	size_t wl = s->win.len, c = 0, pend, next[ARRAY_SIZE(s->pairs)];
	struct match m;
	int r;

	first_matches(s, w, wl, next);
	pend = final ? wl : pending(s, w, wl, 0);
	while (next_match(s, w, wl, c, next, &m) && m.at < pend) {
		r = buf_append(out, w + c, m.at - c);
		if (r == 0)
			r = buf_append(out, m.p->to, m.p->to_len);
		if (r < 0)
			return r;
		c = m.at + m.p->from_len;
		if (pend < c)
			pend = final ? wl : pending(s, w, wl, c);
	}
	r = buf_append(out, w + c, pend - c);
	if (r == 0)
		hold_from(&s->win, pend);
	return r;
}

int
creds_scrub(struct creds_scrubber *s, const char *in, size_t len,
	    struct buf *out)
{
	int r = 0;

	if (s->longest == 0)
		return buf_append(out, in, len);
	/* Grown once, empty, to its largest: held bytes plus a slice. */
	if (!s->win.data &&
	    buf_grow(&s->win, s->longest + CREDS_SCRUB_SLICE) < 0)
		return -E2BIG;
	while (r == 0 && len > 0) {
		size_t n = len < CREDS_SCRUB_SLICE ? len : CREDS_SCRUB_SLICE;

		r = buf_append(&s->win, in, n);
		if (r == 0)
			r = scrub_window(s, false, out);
		in += n;
		len -= n;
	}
	return r;
}

int
creds_scrub_flush(struct creds_scrubber *s, struct buf *out)
{
	int r = 0;

	if (s->win.len > 0)
		r = scrub_window(s, true, out);
	buf_free(&s->win);
	return r;
}
