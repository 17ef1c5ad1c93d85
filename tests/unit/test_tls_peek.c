/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_peek_sni on real ClientHellos (OpenSSL's own, made at test time on
 * memory BIOs), cut into records and into prefixes, on bytes that are not
 * TLS, on malformed hellos, and at its bounds; and tls_sni_matches.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "common/util.h"
#include "proxy/tls.h"
#include "proxy/tls_peek.h"
#include "tap.h"

#define BIG (2 * TLS_PEEK_INPUT_MAX)

/* Bytes in hand, as a client sent them. */
struct bytes {
	uint8_t p[BIG];
	size_t len;
};

/* The first flight of an OpenSSL client naming sni (NULL: none). */
static bool
real_hello(const char *sni, struct bytes *ret)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (!ssl || !rb || !wb)
		return false;
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	if (sni)
		SSL_set_tlsext_host_name(ssl, sni);
	(void)SSL_do_handshake(ssl); /* wants to read the server's answer */
	n = BIO_get_mem_data(wb, &data);
	ret->len = n > 0 && (size_t)n <= sizeof(ret->p) ? (size_t)n : 0;
	memcpy(ret->p, data, ret->len);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return ret->len > 0;
}

static int
peek(const struct bytes *b, char *out)
{
	return tls_peek_sni(b->p, b->len, out, TLS_HOST_MAX + 2);
}

/* Every shorter prefix says -EAGAIN; the whole says want (and name). */
static bool
prefixes_wait(const struct bytes *b, int want)
{
	char out[TLS_HOST_MAX + 2];

	for (size_t i = 0; i < b->len; i++)
		if (tls_peek_sni(b->p, i, out, sizeof(out)) != -EAGAIN)
			return false;
	return peek(b, out) == want;
}

/* The same handshake message carried in records of at most size bytes. */
static void
reframe(const struct bytes *in, size_t size, struct bytes *ret)
{
	const uint8_t *msg = in->p + 5;
	size_t mlen = (size_t)in->p[3] << 8 | in->p[4];

	ret->len = 0;
	for (size_t off = 0; off < mlen; off += size) {
		size_t n = mlen - off < size ? mlen - off : size;

		memcpy(ret->p + ret->len, "\x16\x03\x01", 3);
		ret->p[ret->len + 3] = (uint8_t)(n >> 8);
		ret->p[ret->len + 4] = (uint8_t)n;
		memcpy(ret->p + ret->len + 5, msg + off, n);
		ret->len += 5 + n;
	}
}

static void
test_real(void)
{
	static struct bytes b, r;
	char out[TLS_HOST_MAX + 2];

	tap_ok(real_hello("allowed.test", &b) && peek(&b, out) == 1 &&
		   streq(out, "allowed.test"),
	       "real hello: SNI read");
	tap_ok(prefixes_wait(&b, 1), "real hello: every prefix waits");
	tap_ok(tls_peek_sni(b.p, b.len, out, 12) == -ENOBUFS,
	       "real hello: short buffer is -ENOBUFS");
	memcpy(b.p + b.len, "GET / HTTP/1.1\r\n", 16);
	b.len += 16;
	tap_ok(peek(&b, out) == 1 && streq(out, "allowed.test"),
	       "real hello: bytes after it are not looked at");
	b.len -= 16;

	reframe(&b, 100, &r);
	tap_ok(peek(&r, out) == 1 && streq(out, "allowed.test") &&
		   prefixes_wait(&r, 1),
	       "real hello in 100-byte records: SNI read, prefixes wait");
	reframe(&b, 1, &r);
	tap_ok(peek(&r, out) == 1 && streq(out, "allowed.test"),
	       "real hello in 1-byte records: SNI read");

	tap_ok(real_hello("Evil.Test.", &b) && peek(&b, out) == 1 &&
		   streq(out, "Evil.Test."),
	       "real hello: name given as sent");
	tap_ok(real_hello(NULL, &b) && prefixes_wait(&b, 0),
	       "real hello without SNI: 0, prefixes wait");
}

static void
set_bytes(struct bytes *b, const char *s, size_t n)
{
	memcpy(b->p, s, n);
	b->len = n;
}

static void
test_not_tls(void)
{
	static struct bytes b;
	char out[TLS_HOST_MAX + 2];

	set_bytes(&b, "GET / HTTP/1.1\r\n", 16);
	tap_ok(peek(&b, out) == 0, "not TLS: HTTP is 0");
	set_bytes(&b, "SSH-2.0-OpenSSH_9.2\r\n", 21);
	tap_ok(peek(&b, out) == 0, "not TLS: SSH is 0");
	set_bytes(&b, "\x16\x01\x00\x05", 4);
	tap_ok(peek(&b, out) == 0, "not TLS: record version 1 is 0");
	set_bytes(&b, "\x80\x2e\x01\x03\x01", 5);
	tap_ok(peek(&b, out) == 0, "not TLS: SSLv2-style hello is 0");
	b.len = 0;
	tap_ok(peek(&b, out) == -EAGAIN, "nothing yet: -EAGAIN");
	set_bytes(&b, "\x16", 1);
	tap_ok(peek(&b, out) == -EAGAIN, "one handshake byte: -EAGAIN");
}

/* b with byte i changed to v: the answer. */
static int
poke(const struct bytes *b, size_t i, uint8_t v)
{
	static struct bytes c;
	char out[TLS_HOST_MAX + 2];

	c = *b;
	c.p[i] = v;
	return peek(&c, out);
}

/* Where the extensions of a single-record real hello begin. */
static size_t
ext_start(const struct bytes *b)
{
	size_t off = 5 + 4 + 2 + 32;

	off += 1 + b->p[off];
	off += 2 + ((size_t)b->p[off] << 8 | b->p[off + 1]);
	off += 1 + b->p[off];
	return off;
}

static void
put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Inserts a server_name extension for "second.test" first in the
 * extensions of a single-record hello whose extensions begin at e. */
static void
insert_sni(struct bytes *b, size_t e)
{
	static const char ext[] = "\x00\x00\x00\x10\x00\x0e\x00\x00\x0b"
				  "second.test";
	size_t n = sizeof(ext) - 1;

	memmove(b->p + e + 2 + n, b->p + e + 2, b->len - e - 2);
	memcpy(b->p + e + 2, ext, n);
	b->len += n;
	put16(b->p + 3, ((size_t)b->p[3] << 8 | b->p[4]) + n);
	put16(b->p + 7, ((size_t)b->p[7] << 8 | b->p[8]) + n);
	put16(b->p + e, ((size_t)b->p[e] << 8 | b->p[e + 1]) + n);
}

static void
test_malformed(void)
{
	static struct bytes b, c;
	char out[TLS_HOST_MAX + 2];
	size_t e;

	real_hello("allowed.test", &b);
	e = ext_start(&b);
	tap_ok(poke(&b, 5, 2) == -EBADMSG, "malformed: a ServerHello");
	tap_ok(poke(&b, 0, 23) == 0, "malformed: application data is not TLS");
	tap_ok(poke(&b, 3, 0x40) == -EBADMSG, "malformed: record over 16 KiB");
	tap_ok(poke(&b, 6, 1) == -EBADMSG,
	       "malformed: hello longer than TLS_PEEK_HELLO_MAX");
	tap_ok(poke(&b, 5 + 4 + 2 + 32, 33) == -EBADMSG,
	       "malformed: session id over 32 bytes");
	tap_ok(poke(&b, e + 1, (uint8_t)(b.p[e + 1] + 1)) == -EBADMSG,
	       "malformed: extensions longer than the hello");
	tap_ok(poke(&b, e + 1, (uint8_t)(b.p[e + 1] - 1)) == -EBADMSG,
	       "malformed: bytes after the extensions");
	tap_ok(poke(&b, 8, (uint8_t)(b.p[8] - 1)) == -EBADMSG,
	       "malformed: hello shorter than its body");

	set_bytes(&c, "\x16\x03\x01\x00\x00", 5);
	tap_ok(peek(&c, out) == -EBADMSG, "malformed: empty record");
	set_bytes(&c, "\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9);
	tap_ok(peek(&c, out) == -EBADMSG, "malformed: empty hello");

	/* A second record that is not a handshake record, mid-hello. */
	reframe(&b, 64, &c);
	c.p[5 + 64] = 23;
	tap_ok(peek(&c, out) == -EBADMSG,
	       "malformed: application data inside the hello");

	/* The server_name extension again, before the others; the same
	 * insertion into a hello without SNI is read, so the refusal is for
	 * the repeat. */
	c = b;
	insert_sni(&c, e);
	tap_ok(peek(&c, out) == -EBADMSG,
	       "malformed: two server_name extensions");
	real_hello(NULL, &c);
	insert_sni(&c, ext_start(&c));
	tap_ok(peek(&c, out) == 1 && streq(out, "second.test"),
	       "inserted server_name alone is read");
}

static void
test_bounds(void)
{
	static struct bytes b;
	char out[TLS_HOST_MAX + 2];
	int r = -EAGAIN;

	/* A hello of the largest size, sent one byte per record: refused
	 * once its records start past TLS_PEEK_HELLO_MAX. */
	memcpy(b.p, "\x16\x03\x01\x00\x01\x01", 6);
	b.len = 6;
	for (size_t i = 1; b.len + 6 <= sizeof(b.p) && r == -EAGAIN; i++) {
		memcpy(b.p + b.len, "\x16\x03\x01\x00\x01",
		       5); /* one byte each */
		b.p[b.len + 5] = i == 2 ? 0x3f : 0;
		b.len += 6;
		r = peek(&b, out);
	}
	tap_ok(r == -EBADMSG && b.len <= TLS_PEEK_INPUT_MAX,
	       "bound: a hello in tiny records is refused in time (%zu bytes)",
	       b.len);

	/* A big record cut short: still waiting just below the bound. */
	memset(b.p, 0, sizeof(b.p));
	memcpy(b.p, "\x16\x03\x01\x40\x00\x01\x00\x3f\xfc", 9);
	tap_ok(tls_peek_sni(b.p, TLS_PEEK_HELLO_MAX, out, sizeof(out)) ==
		   -EAGAIN,
	       "bound: a 16 KiB hello may still be coming");
	tap_ok(tls_peek_sni(b.p, TLS_PEEK_INPUT_MAX, out, sizeof(out)) ==
		   -EBADMSG,
	       "bound: answered by TLS_PEEK_INPUT_MAX bytes");
}

static void
test_matches(void)
{
	tap_ok(tls_sni_matches("allowed.test", "allowed.test") &&
		   tls_sni_matches("Allowed.TEST.", "allowed.test") &&
		   tls_sni_matches("allowed.test", "ALLOWED.test."),
	       "matches: case and one trailing dot ignored");
	tap_ok(!tls_sni_matches("evil.test", "allowed.test") &&
		   !tls_sni_matches("allowed.test.evil", "allowed.test") &&
		   !tls_sni_matches("allowed.test..", "allowed.test"),
	       "matches: another name is none");
	tap_ok(tls_sni_matches("::1", "[::1]") &&
		   tls_sni_matches("127.0.0.1", "127.0.0.1"),
	       "matches: IP literals compare as addresses");
	tap_ok(!tls_sni_matches("", "allowed.test") &&
		   !tls_sni_matches("a b", "a b"),
	       "matches: a name no host can be is none");
}

int
main(void)
{
	test_real();
	test_not_tls();
	test_malformed();
	test_bounds();
	test_matches();
	return tap_done();
}
