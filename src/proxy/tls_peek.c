/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/tls_peek.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proxy/tls.h"

#define REC_HANDSHAKE 22
#define REC_HEADER 5
#define HS_CLIENT_HELLO 1
#define HS_HEADER 4
#define EXT_SERVER_NAME 0
#define RANDOM_LEN 32
#define SESSION_ID_MAX 32

/* A cursor over bytes whose every read is checked against the end. */
struct cur {
	const uint8_t *p;
	size_t left;
};

static bool
take(struct cur *c, size_t n, const uint8_t **ret)
{
	if (c->left < n)
		return false;
	if (ret)
		*ret = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static bool
take_int(struct cur *c, size_t n, size_t *ret)
{
	const uint8_t *p;

	if (!take(c, n, &p))
		return false;
	*ret = 0;
	for (size_t i = 0; i < n; i++)
		*ret = *ret << 8 | p[i];
	return true;
}

/* A field of n length bytes, then that many bytes: a sub-cursor on them. */
static bool
take_vec(struct cur *c, size_t n, struct cur *ret)
{
	size_t len;

	if (!take_int(c, n, &len) || !take(c, len, &ret->p))
		return false;
	ret->left = len;
	return true;
}

/* The extensions of a ClientHello: at most one server_name, no bytes over. */
static int
hello_extensions(struct cur *ext, char *out, size_t outlen)
{
	int found = 0;

	while (ext->left) {
		struct cur body;
		size_t type;
		int r;

		if (!take_int(ext, 2, &type) || !take_vec(ext, 2, &body))
			return -EBADMSG;
		if (type != EXT_SERVER_NAME)
			continue;
		if (found)
			return -EBADMSG; /* servers refuse a repeat too */
		r = tls_sni_parse(body.p, body.left, out, outlen);
		if (r < 0)
			return r;
		found = 1;
	}
	return found;
}

/* The body of a ClientHello handshake message (RFC 8446, section 4.1.2). */
static int
hello_body(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	struct cur c = { p, len }, v, ext;

	if (!take(&c, 2 + RANDOM_LEN, NULL) || !take_vec(&c, 1, &v) ||
	    v.left > SESSION_ID_MAX)
		return -EBADMSG;
	if (!take_vec(&c, 2, &v) || v.left < 2 || v.left % 2)
		return -EBADMSG; /* cipher suites */
	if (!take_vec(&c, 1, &v) || v.left < 1)
		return -EBADMSG; /* compression methods */
	if (!c.left)
		return 0; /* no extensions at all */
	if (!take_vec(&c, 2, &ext) || c.left)
		return -EBADMSG;
	return hello_extensions(&ext, out, outlen);
}

/*
 * Gathers the handshake message from the records that carry it into msg
 * (TLS_PEEK_HELLO_MAX bytes); returns its length, -EAGAIN or -EBADMSG.
 */
static int
gather(const uint8_t *p, size_t len, uint8_t *msg)
{
	size_t off = 0, have = 0, need = HS_HEADER;
	bool sized = false;

	for (;;) {
		size_t rlen, avail;

		/* Checked before the header is read, so that a longer
		 * input never turns this answer into another. */
		if (off >= TLS_PEEK_HELLO_MAX)
			return -EBADMSG;
		if (len - off < REC_HEADER)
			return -EAGAIN;
		rlen = (size_t)p[off + 3] << 8 | p[off + 4];
		if (p[off] != REC_HANDSHAKE || p[off + 1] != 3 || rlen == 0 ||
		    rlen > TLS_PEEK_RECORD_MAX)
			return -EBADMSG;
		off += REC_HEADER;
		avail = len - off < rlen ? len - off : rlen;
		for (size_t pos = 0, n; pos < avail && have < need; pos += n) {
			n = avail - pos < need - have ? avail - pos
						      : need - have;
			memcpy(msg + have, p + off + pos, n);
			have += n;
			if (sized || have < HS_HEADER)
				continue;
			if (msg[0] != HS_CLIENT_HELLO)
				return -EBADMSG;
			need +=
			    (size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3];
			if (need > TLS_PEEK_HELLO_MAX)
				return -EBADMSG;
			sized = true;
		}
		if (sized && have == need)
			return (int)need;
		if (avail < rlen)
			return -EAGAIN;
		off += rlen;
	}
}

int
tls_peek_sni(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	uint8_t msg[TLS_PEEK_HELLO_MAX];
	int n;

	if (len == 0)
		return -EAGAIN;
	/* Not TLS at all: no server would take it for a ClientHello. */
	if (p[0] != REC_HANDSHAKE || (len > 1 && p[1] != 3))
		return 0;
	n = gather(p, len, msg);
	if (n < 0)
		return n;
	return hello_body(msg + HS_HEADER, (size_t)n - HS_HEADER, out, outlen);
}
