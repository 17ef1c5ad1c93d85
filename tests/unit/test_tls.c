/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS core tests: the CA's properties, leaves that verify against the CA
 * alone (strict X.509 checks included, as Python 3.13 applies them), the
 * leaf cache and its LRU, the SNI parser, in-memory handshakes over a
 * socketpair for the SNI check and ALPN, the upstream side's verification,
 * and tls_want's mapping.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "proxy/tls.h"
#include "tap.h"

#define DAY (24 * 3600)
/* Rounds of the in-memory handshake before it counts as stuck. */
#define HANDSHAKE_ROUNDS 64

/* Both ends of one in-memory connection. */
struct pair {
	int fds[2];
	SSL *client, *server;
	int rc, rs; /* what tls_want said last, client and server */
};

/* Seconds from now to t; negative in the past. */
static long
secs_from_now(const ASN1_TIME *t)
{
	int days = 0, secs = 0;

	ASN1_TIME_diff(&days, &secs, NULL, t);
	return (long)days * DAY + secs;
}

static bool
validity_ok(X509 *x, long days)
{
	long nb = secs_from_now(X509_get0_notBefore(x));
	long na = secs_from_now(X509_get0_notAfter(x));

	return nb <= -3500 && nb >= -3700 && na > days * DAY - 60 &&
	       na <= days * DAY;
}

static bool
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static void
test_ca(struct tls_ca *ca)
{
	X509 *x = tls_ca_cert(ca);
	EVP_PKEY *pub = X509_get0_pubkey(x);
	char group[64] = "", cn[128] = "";
	size_t glen;
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);

	tap_ok(X509_check_ca(x) == 1, "CA: is a CA");
	tap_ok(ext_critical(x, NID_basic_constraints) &&
		   X509_get_pathlen(x) == 0,
	       "CA: basicConstraints critical, pathlen 0");
	tap_ok(ext_critical(x, NID_key_usage) &&
		   X509_get_key_usage(x) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
	       "CA: keyUsage critical keyCertSign+cRLSign only");
	tap_ok(X509_get0_subject_key_id(x) != NULL, "CA: has an SKI");
	tap_ok(EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) &&
		   streq(group, "prime256v1"),
	       "CA: ECDSA P-256 ('%s')", group);
	tap_ok(validity_ok(x, TLS_CA_DAYS), "CA: valid from -1h to +30d");
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
				  sizeof(cn));
	tap_ok(strncmp(cn, "brig sandbox CA ", 16) == 0 && strlen(cn) == 48,
	       "CA: CN '%s'", cn);
	tap_ok(X509_get_version(x) == X509_VERSION_3 &&
		   X509_check_issued(x, x) == X509_V_OK,
	       "CA: v3, self-issued");
	tap_ok(bn && !BN_is_negative(bn) && BN_num_bits(bn) == 128,
	       "CA: serial is a positive 128-bit number");
	BN_free(bn);
}

static void
test_pem(struct tls_ca *ca)
{
	char *pem = NULL;
	BIO *bio;
	X509 *x = NULL;

	tap_ok(tls_ca_cert_pem(ca, &pem) == 0, "PEM: made");
	if (!pem)
		return;
	tap_ok(strstr(pem, "-----BEGIN CERTIFICATE-----") == pem &&
		   !strstr(pem, "PRIVATE KEY") && !strstr(pem, "EC PARAM"),
	       "PEM: the certificate only, no key");
	bio = BIO_new_mem_buf(pem, -1);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	tap_ok(x && X509_cmp(x, tls_ca_cert(ca)) == 0, "PEM: reads back");
	X509_free(x);
	BIO_free(bio);
	free(pem);
}

/* Verifies leaf with a store that holds only the CA; strict when asked. */
static int
verify_leaf(struct tls_ca *ca, X509 *leaf, bool strict)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	int r;

	X509_STORE_add_cert(store, tls_ca_cert(ca));
	X509_STORE_CTX_init(sctx, store, leaf, NULL);
	X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_SSL_SERVER);
	if (strict)
		X509_STORE_CTX_set_flags(sctx, X509_V_FLAG_X509_STRICT);
	r = X509_verify_cert(sctx) == 1 ? X509_V_OK
					: X509_STORE_CTX_get_error(sctx);
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	return r;
}

/* Whether leaf's SAN is exactly one name of type, holding want. */
static bool
san_is(X509 *leaf, int type, const void *want, size_t len)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *g;
	int gtype;
	ASN1_STRING *s;
	bool ok = false;

	if (gens && sk_GENERAL_NAME_num(gens) == 1) {
		g = sk_GENERAL_NAME_value(gens, 0);
		s = GENERAL_NAME_get0_value(g, &gtype);
		ok = gtype == type && (size_t)ASN1_STRING_length(s) == len &&
		     !memcmp(ASN1_STRING_get0_data(s), want, len);
	}
	GENERAL_NAMES_free(gens);
	return ok;
}

static void
test_leaf_name(struct tls_ca *ca)
{
	SSL_CTX *ctx = NULL;
	X509 *leaf;
	int v;

	tap_ok(tls_leaf_ctx(ca, "Api.Example.COM.", &ctx) == 0, "leaf: made");
	if (!ctx)
		return;
	leaf = SSL_CTX_get0_certificate(ctx);
	v = verify_leaf(ca, leaf, false);
	tap_ok(v == X509_V_OK, "leaf: verifies against the CA alone (%s)",
	       X509_verify_cert_error_string(v));
	v = verify_leaf(ca, leaf, true);
	tap_ok(v == X509_V_OK, "leaf: verifies with X509_STRICT (%s)",
	       X509_verify_cert_error_string(v));
	tap_ok(san_is(leaf, GEN_DNS, "api.example.com", 15),
	       "leaf: SAN is the one dNSName, lower case");
	tap_ok(X509_check_host(leaf, "api.example.com", 0, 0, NULL) == 1 &&
		   X509_check_host(leaf, "evil.example.com", 0, 0, NULL) != 1,
	       "leaf: names that host and no other");
	tap_ok(X509_get_extended_key_usage(leaf) == XKU_SSL_SERVER,
	       "leaf: EKU serverAuth");
	tap_ok(X509_check_ca(leaf) == 0, "leaf: not a CA");
	tap_ok(validity_ok(leaf, TLS_LEAF_DAYS), "leaf: valid -1h to +7d");
	SSL_CTX_free(ctx);
}

static void
test_leaf_ip(struct tls_ca *ca)
{
	static const unsigned char v6[16] = { [15] = 1 };
	static const unsigned char v4[4] = { 127, 0, 0, 1 };
	SSL_CTX *c6 = NULL, *c4 = NULL, *again = NULL;
	X509 *leaf;

	tap_ok(tls_leaf_ctx(ca, "[::1]", &c6) == 0 &&
		   tls_leaf_ctx(ca, "127.0.0.1", &c4) == 0,
	       "leaf: made for IP literals");
	if (!c6 || !c4)
		return;
	leaf = SSL_CTX_get0_certificate(c6);
	tap_ok(san_is(leaf, GEN_IPADD, v6, 16) &&
		   X509_check_ip_asc(leaf, "::1", 0) == 1,
	       "leaf: SAN iPAddress ::1");
	leaf = SSL_CTX_get0_certificate(c4);
	tap_ok(san_is(leaf, GEN_IPADD, v4, 4) &&
		   X509_check_ip_asc(leaf, "127.0.0.1", 0) == 1 &&
		   verify_leaf(ca, leaf, true) == X509_V_OK,
	       "leaf: SAN iPAddress 127.0.0.1, verifies");
	tap_ok(tls_leaf_ctx(ca, "0:0::0001", &again) == 0 && again == c6,
	       "leaf: IPv6 spellings share one leaf");
	SSL_CTX_free(again);
	SSL_CTX_free(c6);
	SSL_CTX_free(c4);
}

static void
test_bad_hosts(struct tls_ca *ca)
{
	static const char *const bad[] = {
		"",
		".",
		"a b",
		"a..b",
		".a",
		"[1.2.3.4]",
		"[::1",
		"a/b",
		"a:443",
		"x\xc3\xa9.test",
		"a,DNS:evil.test",
		"a@b",
	};
	char longname[TLS_HOST_MAX + 2];
	SSL_CTX *ctx = NULL;
	bool all = true;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		all = all && tls_leaf_ctx(ca, bad[i], &ctx) == -EINVAL;
	tap_ok(all, "leaf: malformed hosts refused with -EINVAL");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	tap_ok(tls_leaf_ctx(ca, longname, &ctx) == -EINVAL,
	       "leaf: a 254-byte host refused");
	for (size_t i = 63; i < TLS_HOST_MAX; i += 64)
		longname[i] = '.';
	longname[TLS_HOST_MAX] = '\0';
	ctx = NULL;
	tap_ok(tls_leaf_ctx(ca, longname, &ctx) == 0 && ctx &&
		   verify_leaf(ca, SSL_CTX_get0_certificate(ctx), true) ==
		       X509_V_OK &&
		   X509_check_host(SSL_CTX_get0_certificate(ctx), longname, 0,
				   0, NULL) == 1,
	       "leaf: 253 bytes made, no CN, verifies strictly");
	SSL_CTX_free(ctx);
}

static void
test_cache(void)
{
	struct tls_ca *ca = NULL;
	struct tls_cache_stats st;
	SSL_CTX *a = NULL, *b = NULL;

	if (tls_ca_new(&ca) < 0)
		return tap_ok(false, "cache: CA");
	tls_leaf_ctx(ca, "a.test", &a);
	tls_leaf_ctx(ca, "A.TEST", &b);
	tls_cache_stats(ca, &st);
	tap_ok(a && a == b, "cache: a hit returns the same SSL_CTX");
	tap_ok(st.hits == 1 && st.misses == 1 && st.entries == 1,
	       "cache: one hit, one miss, one entry");
	SSL_CTX_free(a);
	SSL_CTX_free(b);
	/* The cache still holds its reference: a hit stays usable. */
	tls_leaf_ctx(ca, "a.test", &a);
	tap_ok(a && SSL_CTX_get0_certificate(a), "cache: entry outlives "
						 "the callers' references");
	SSL_CTX_free(a);
	tap_ok(tls_set_cache_max(ca, 0) == -EINVAL &&
		   tls_set_cache_max(ca, TLS_LEAF_CACHE_MAX + 1) == -EINVAL,
	       "cache: limit out of range refused");
	tls_ca_free(ca);
}

/* Gets host and drops the reference at once. */
static void
touch(struct tls_ca *ca, const char *host)
{
	SSL_CTX *ctx = NULL;

	if (tls_leaf_ctx(ca, host, &ctx) == 0)
		SSL_CTX_free(ctx);
}

static void
test_lru(void)
{
	struct tls_ca *ca = NULL;
	struct tls_cache_stats st;
	SSL_CTX *held = NULL;

	if (tls_ca_new(&ca) < 0 || tls_set_cache_max(ca, 3) < 0)
		return tap_ok(false, "lru: CA");
	tls_leaf_ctx(ca, "h1.test", &held);
	touch(ca, "h2.test");
	touch(ca, "h3.test");
	touch(ca, "h1.test"); /* h2 is now the least recently used */
	touch(ca, "h4.test");
	tls_cache_stats(ca, &st);
	tap_ok(st.entries == 3 && st.evictions == 1,
	       "lru: full cache evicts one");
	touch(ca, "h1.test");
	touch(ca, "h3.test");
	touch(ca, "h4.test");
	tls_cache_stats(ca, &st);
	tap_ok(st.hits == 4 && st.misses == 4, "lru: h1, h3, h4 still hit");
	touch(ca, "h2.test");
	tls_cache_stats(ca, &st);
	tap_ok(st.misses == 5 && st.evictions == 2, "lru: h2 was evicted");
	tap_ok(tls_set_cache_max(ca, 1) == 0 &&
		   (tls_cache_stats(ca, &st), st.entries == 1),
	       "lru: lowering the limit trims");
	tls_ca_free(ca);
	tap_ok(SSL_CTX_get0_certificate(held) != NULL,
	       "lru: a held SSL_CTX survives eviction and tls_ca_free");
	SSL_CTX_free(held);
}

static void
test_cache_limit(void)
{
	struct tls_ca *ca = NULL;
	struct tls_cache_stats st;
	char host[32];

	if (tls_ca_new(&ca) < 0)
		return tap_ok(false, "limit: CA");
	for (int i = 0; i <= TLS_LEAF_CACHE_MAX; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		touch(ca, host);
	}
	tls_cache_stats(ca, &st);
	tap_ok(st.entries == TLS_LEAF_CACHE_MAX && st.evictions == 1,
	       "limit: TLS_LEAF_CACHE_MAX hosts kept, one evicted");
	tls_ca_free(ca);
}

/* A server_name extension holding one host_name entry. */
static size_t
sni_ext(uint8_t *buf, const char *name)
{
	size_t n = strlen(name);

	buf[0] = (uint8_t)((n + 3) >> 8);
	buf[1] = (uint8_t)(n + 3);
	buf[2] = 0;
	buf[3] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)n;
	memcpy(buf + 5, name, n);
	return n + 5;
}

static void
test_sni_parse(void)
{
	uint8_t ext[512];
	char out[TLS_HOST_MAX + 2];
	size_t len = sni_ext(ext, "api.github.com");

	tap_ok(tls_sni_parse(ext, len, out, sizeof(out)) == 0 &&
		   streq(out, "api.github.com"),
	       "sni: one host_name parsed");
	tap_ok(tls_sni_parse(ext, len, out, 14) == -ENOBUFS,
	       "sni: short buffer is -ENOBUFS");
	tap_ok(tls_sni_parse(ext, len - 1, out, sizeof(out)) == -EBADMSG,
	       "sni: truncated refused");
	ext[2] = 1;
	tap_ok(tls_sni_parse(ext, len, out, sizeof(out)) == -EBADMSG,
	       "sni: other name type refused");
	len = sni_ext(ext, "a.test");
	memcpy(ext + len, "\x00\x00\x01x", 4);
	ext[1] += 4;
	tap_ok(tls_sni_parse(ext, len + 4, out, sizeof(out)) == -EBADMSG,
	       "sni: a second entry refused");
	len = sni_ext(ext, "a\n.test");
	tap_ok(tls_sni_parse(ext, len, out, sizeof(out)) == -EBADMSG,
	       "sni: control character refused");
	tap_ok(tls_sni_parse(ext, 2, out, sizeof(out)) == -EBADMSG &&
		   tls_sni_parse(ext, 0, out, sizeof(out)) == -EBADMSG,
	       "sni: empty refused");
}

static SSL_CTX *
client_ctx(struct tls_ca *ca, const char *alpn, size_t alpn_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), tls_ca_cert(ca));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (alpn)
		SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)alpn,
					(unsigned int)alpn_len);
	return ctx;
}

static int
pair_open(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0, p->fds);
}

static void
pair_close(struct pair *p)
{
	SSL_free(p->client);
	SSL_free(p->server);
	close(p->fds[0]);
	close(p->fds[1]);
}

/* Steps both ends until both are done or one fails. */
static bool
pair_handshake(struct pair *p)
{
	bool cdone = false, sdone = false;

	p->rc = p->rs = TLS_WANT_READ;
	for (int i = 0; i < HANDSHAKE_ROUNDS && !(cdone && sdone); i++) {
		if (!cdone && p->rc > 0) {
			p->rc = tls_want(p->client, SSL_connect(p->client));
			cdone = p->rc == 0;
		}
		if (!sdone && p->rs > 0) {
			p->rs = tls_want(p->server, SSL_accept(p->server));
			sdone = p->rs == 0;
		}
		if (p->rc < 0 && (p->rs < 0 || sdone))
			break;
		if (p->rs < 0 && (p->rc < 0 || cdone))
			break;
	}
	return cdone && sdone;
}

/* A client of cctx naming sni (NULL: none) to a leaf for host. */
static bool
sni_handshake(struct tls_ca *ca, SSL_CTX *cctx, const char *host,
	      const char *sni, struct pair *p)
{
	SSL_CTX *sctx = NULL;

	if (pair_open(p) < 0 || tls_leaf_ctx(ca, host, &sctx) < 0 ||
	    tls_server_new(sctx, host, p->fds[1], &p->server) < 0)
		return false;
	SSL_CTX_free(sctx);
	p->client = SSL_new(cctx);
	SSL_set_fd(p->client, p->fds[0]);
	if (sni)
		SSL_set_tlsext_host_name(p->client, sni);
	SSL_set1_host(p->client, host);
	return pair_handshake(p);
}

static bool
alpn_is(SSL *ssl, const char *want)
{
	const unsigned char *proto;
	unsigned int len;

	SSL_get0_alpn_selected(ssl, &proto, &len);
	if (!want)
		return len == 0;
	return len == strlen(want) && !memcmp(proto, want, len);
}

static void
test_handshake_sni(struct tls_ca *ca)
{
	SSL_CTX *cctx = client_ctx(ca, "\x02h2\x08http/1.1", 12);
	struct pair p;
	bool ok;

	ok = sni_handshake(ca, cctx, "api.example.com", "api.example.com", &p);
	tap_ok(ok && SSL_get_verify_result(p.client) == X509_V_OK,
	       "handshake: matching SNI succeeds, client verifies");
	tap_ok(ok && alpn_is(p.client, "http/1.1") &&
		   alpn_is(p.server, "http/1.1"),
	       "handshake: ALPN http/1.1 chosen over h2");
	tap_ok(ok && SSL_version(p.client) >= TLS1_2_VERSION,
	       "handshake: TLS 1.2 or later");
	pair_close(&p);

	ok = sni_handshake(ca, cctx, "api.example.com", "API.Example.com.", &p);
	tap_ok(ok, "handshake: SNI differing in case and dot succeeds");
	pair_close(&p);

	ok = sni_handshake(ca, cctx, "api.example.com", "evil.example.com", &p);
	tap_ok(!ok && p.rs == -EPROTO && p.rc == -EPROTO,
	       "handshake: different SNI fails (%d, %d)", p.rs, p.rc);
	tap_ok(tls_server_sni_verdict(p.server) == -EPERM,
	       "handshake: verdict says SNI mismatch");
	pair_close(&p);

	ok = sni_handshake(ca, cctx, "api.example.com", NULL, &p);
	tap_ok(ok && tls_server_sni_verdict(p.server) == 0,
	       "handshake: no SNI succeeds");
	pair_close(&p);

	ok = sni_handshake(ca, cctx, "127.0.0.1", NULL, &p);
	tap_ok(ok, "handshake: IP literal without SNI succeeds");
	pair_close(&p);
	SSL_CTX_free(cctx);
}

static void
test_handshake_alpn(struct tls_ca *ca)
{
	SSL_CTX *none = client_ctx(ca, NULL, 0);
	SSL_CTX *h2 = client_ctx(ca, "\x02h2", 3);
	struct pair p;
	bool ok;

	ok = sni_handshake(ca, none, "a.test", "a.test", &p);
	tap_ok(ok && alpn_is(p.client, NULL), "alpn: none offered, none");
	pair_close(&p);
	ok = sni_handshake(ca, h2, "a.test", "a.test", &p);
	tap_ok(ok && alpn_is(p.client, NULL), "alpn: only h2 offered, none");
	pair_close(&p);
	SSL_CTX_free(none);
	SSL_CTX_free(h2);
}

/* A client from tls_upstream_new for name, to a leaf for host. */
static bool
upstream_handshake(struct tls_ca *ca, SSL_CTX *uctx, const char *host,
		   const char *name, struct pair *p)
{
	SSL_CTX *sctx = NULL;

	if (pair_open(p) < 0 || tls_leaf_ctx(ca, host, &sctx) < 0 ||
	    tls_server_new(sctx, name, p->fds[1], &p->server) < 0 ||
	    tls_upstream_new(uctx, name, p->fds[0], &p->client) < 0) {
		SSL_CTX_free(sctx);
		return false;
	}
	SSL_CTX_free(sctx);
	return pair_handshake(p);
}

static char *
write_temp(const char *text)
{
	char *path = xstrdup("/tmp/brig-test-tls-XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		free(path);
		path = NULL;
	}
	if (fd >= 0)
		close(fd);
	return path;
}

/*
 * A ClientHello naming "sni-target.test", captured from a real client and
 * with one byte of the name changed to one no host name holds: OpenSSL
 * never sends it, but a hostile client can.
 */
static void
test_malformed_sni(struct tls_ca *ca)
{
	SSL_CTX *cctx = client_ctx(ca, NULL, 0), *sctx = NULL;
	unsigned char hello[4096];
	struct pair p, q;
	ssize_t n = -1;
	unsigned char *at;
	int r = 0;

	if (pair_open(&p) == 0 && pair_open(&q) == 0) {
		p.client = SSL_new(cctx);
		SSL_set_fd(p.client, p.fds[0]);
		SSL_set_tlsext_host_name(p.client, "sni-target.test");
		tls_want(p.client, SSL_connect(p.client));
		n = read(p.fds[1], hello, sizeof(hello));
	}
	at = n > 0 ? memmem(hello, (size_t)n, "sni-target", 10) : NULL;
	if (at) {
		at[3] = '!';
		r = write(q.fds[0], hello, (size_t)n) == n ? 0 : -1;
	}
	if (at && r == 0 && tls_leaf_ctx(ca, "sni-target.test", &sctx) == 0 &&
	    tls_server_new(sctx, "sni-target.test", q.fds[1], &q.server) == 0)
		r = tls_want(q.server, SSL_accept(q.server));
	tap_ok(r == -EPROTO && tls_server_sni_verdict(q.server) == -EBADMSG,
	       "handshake: malformed SNI refused as -EBADMSG (%d)", r);
	pair_close(&p);
	pair_close(&q);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}

static void
test_upstream_files(void)
{
	SSL_CTX *ctx = NULL;
	char *junk = write_temp("not a certificate\n");

	tap_ok(tls_upstream_ctx("/nonexistent/ca.pem", &ctx) == -ENOENT,
	       "upstream: missing CA file is -ENOENT");
	tap_ok(junk && tls_upstream_ctx(junk, &ctx) == -EINVAL,
	       "upstream: CA file without certificates is -EINVAL");
	if (junk)
		unlink(junk);
	free(junk);
	tap_ok(tls_upstream_ctx(NULL, &ctx) == 0, "upstream: host store only");
	SSL_CTX_free(ctx);
}

static void
test_upstream(struct tls_ca *ca)
{
	char *pem = NULL, *file = NULL;
	SSL_CTX *uctx = NULL, *plain = NULL;
	struct pair p;
	bool ok;

	if (tls_ca_cert_pem(ca, &pem) < 0 || !(file = write_temp(pem)) ||
	    tls_upstream_ctx(file, &uctx) < 0 ||
	    tls_upstream_ctx(NULL, &plain) < 0) {
		tap_ok(false, "upstream: contexts");
		goto out;
	}
	ok = upstream_handshake(ca, uctx, "up.test", "UP.test", &p);
	tap_ok(ok && alpn_is(p.client, "http/1.1"),
	       "upstream: verified with --upstream-ca, ALPN http/1.1");
	pair_close(&p);
	ok = upstream_handshake(ca, uctx, "up.test", "other.test", &p);
	tap_ok(!ok && p.rc == -EKEYREJECTED,
	       "upstream: certificate for another name rejected (%d)", p.rc);
	pair_close(&p);
	ok = upstream_handshake(ca, uctx, "127.0.0.1", "127.0.0.1", &p);
	tap_ok(ok && !SSL_get_servername(p.server, TLSEXT_NAMETYPE_host_name),
	       "upstream: IP literal verified, no SNI sent");
	pair_close(&p);
	ok = upstream_handshake(ca, plain, "up.test", "up.test", &p);
	tap_ok(!ok && p.rc == -EKEYREJECTED,
	       "upstream: unknown CA rejected without --upstream-ca");
	pair_close(&p);
	tap_ok(tls_upstream_new(uctx, "bad host", 0, &p.client) == -EINVAL,
	       "upstream: malformed host refused");
out:
	if (file)
		unlink(file);
	free(file);
	free(pem);
	SSL_CTX_free(uctx);
	SSL_CTX_free(plain);
}

static void
test_want(struct tls_ca *ca)
{
	SSL_CTX *cctx = client_ctx(ca, NULL, 0);
	char buf[16];
	struct pair p;
	int r;

	if (!sni_handshake(ca, cctx, "w.test", "w.test", &p)) {
		tap_ok(false, "want: handshake");
		goto out;
	}
	r = tls_want(p.server, SSL_read(p.server, buf, sizeof(buf)));
	tap_ok(r == TLS_WANT_READ, "want: nothing to read is TLS_WANT_READ");
	r = SSL_write(p.client, "ping", 4);
	tap_ok(tls_want(p.client, r) == 0 && r == 4, "want: write done");
	r = SSL_read(p.server, buf, sizeof(buf));
	tap_ok(tls_want(p.server, r) == 0 && r == 4 && !memcmp(buf, "ping", 4),
	       "want: read done");
	SSL_shutdown(p.client);
	r = tls_want(p.server, SSL_read(p.server, buf, sizeof(buf)));
	tap_ok(r == -EPIPE, "want: close_notify is -EPIPE (%d)", r);
	pair_close(&p);

	if (!sni_handshake(ca, cctx, "w.test", "w.test", &p)) {
		tap_ok(false, "want: handshake");
		goto out;
	}
	shutdown(p.fds[0], SHUT_WR);
	r = tls_want(p.server, SSL_read(p.server, buf, sizeof(buf)));
	tap_ok(r == -ECONNRESET,
	       "want: EOF without close_notify is "
	       "-ECONNRESET (%d)",
	       r);
	tap_ok(ERR_peek_error() == 0, "want: error queue left empty");
	pair_close(&p);
out:
	SSL_CTX_free(cctx);
}

int
main(void)
{
	struct tls_ca *ca = NULL;

	tap_ok(tls_ca_new(&ca) == 0, "CA: made");
	if (!ca)
		return tap_done();
	test_ca(ca);
	test_pem(ca);
	test_leaf_name(ca);
	test_leaf_ip(ca);
	test_bad_hosts(ca);
	test_cache();
	test_lru();
	test_cache_limit();
	test_sni_parse();
	test_handshake_sni(ca);
	test_handshake_alpn(ca);
	test_malformed_sni(ca);
	test_upstream_files();
	test_upstream(ca);
	test_want(ca);
	tls_ca_free(ca);
	return tap_done();
}
