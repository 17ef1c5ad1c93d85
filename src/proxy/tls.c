/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TLS core of HTTPS inspection: the per-sandbox CA, leaf certificates
 * and their cache, the SNI check against the CONNECT target, the upstream
 * client, and the mapping of OpenSSL's wants for the epoll loop. See tls.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "proxy/tls.h"

/* Hash buckets: twice the cache's limit keeps chains short. A power of 2. */
#define CACHE_BUCKETS (2 * TLS_LEAF_CACHE_MAX)
_Static_assert((CACHE_BUCKETS & (CACHE_BUCKETS - 1)) == 0, "power of two");
/* Random bytes in the CA's name and in every serial. */
#define CA_NAME_RANDOM 16
#define SERIAL_BITS 128
/* X.520 caps a common name at 64 characters; longer hosts go in SAN only. */
#define CN_MAX 64
/* ALPN's one protocol, in wire form and as a name. */
#define ALPN_WIRE "\x08http/1.1"
#define ALPN_NAME "http/1.1"
#define TLS_SERVER_NAME_HOST 0

struct leaf {
	struct leaf *prev, *next; /* LRU order, most recent first */
	struct leaf *chain; /* the next in this bucket */
	uint32_t hash;
	time_t made;
	SSL_CTX *ctx;
	char host[TLS_HOST_MAX + 1];
};

struct tls_ca {
	EVP_PKEY *key;
	X509 *cert;
	/* One key for every leaf: a P-256 keygen per host would double the
	 * cost of a miss, and a leaf key protects nothing the CA key does
	 * not. */
	EVP_PKEY *leaf_key;
	/* Guards everything below. */
	pthread_mutex_t lock;
	/* Hosts come from inside the sandbox; a random seed spreads them, and
	 * the cache's limit bounds any chain however they collide. */
	uint32_t seed;
	struct leaf *buckets[CACHE_BUCKETS];
	struct leaf *head, *tail;
	size_t n, max;
	struct tls_cache_stats stats;
};

/* What the SNI check knows about one server SSL. */
struct sni_state {
	char expected[TLS_HOST_MAX + 1]; /* normalized; "" when unset */
	int verdict;
	bool any; /* test builds, "host-check" off: every name will do */
};

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
/* The leaf's host on a leaf SSL_CTX, and a struct sni_state on an SSL. */
static int ctx_host_idx = -1;
static int ssl_sni_idx = -1;

static void
free_ex(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	void *argp)
{
	free(ptr);
}

static void
ex_init(void)
{
	ctx_host_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_ex);
	ssl_sni_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_ex);
}

static int
ex_ready(void)
{
	pthread_once(&ex_once, ex_init);
	return ctx_host_idx >= 0 && ssl_sni_idx >= 0 ? 0 : -ENOMEM;
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* An IP literal in canonical form, so "::0001" and "::1" share a leaf. */
static bool
ip_canonical(const char *in, char out[TLS_HOST_MAX + 1])
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, in, addr) == 1)
		return inet_ntop(AF_INET, addr, out, TLS_HOST_MAX + 1);
	if (inet_pton(AF_INET6, in, addr) == 1)
		return inet_ntop(AF_INET6, addr, out, TLS_HOST_MAX + 1);
	return false;
}

/* A DNS name: lower case, one trailing dot dropped, no empty label. */
static int
name_canonical(const char *in, size_t len, char out[TLS_HOST_MAX + 1])
{
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > TLS_HOST_MAX || in[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!host_char(in[i]) || (in[i] == '.' && in[i + 1] == '.'))
			return -EINVAL;
		out[i] =
		    (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
	}
	out[len] = '\0';
	return 0;
}

/*
 * The one form of a host that the cache, the SNI check and the upstream
 * check compare: an IP literal (IPv6 in brackets or not) canonical, a name
 * as name_canonical makes it.
 */
static int
host_normalize(const char *in, char out[TLS_HOST_MAX + 1], bool *ret_ip)
{
	char tmp[TLS_HOST_MAX + 1];
	size_t len = strnlen(in, TLS_HOST_MAX + 3);

	if (len > TLS_HOST_MAX + 2)
		return -EINVAL;
	*ret_ip = true;
	if (len > 2 && in[0] == '[' && in[len - 1] == ']') {
		memcpy(tmp, in + 1, len - 2);
		tmp[len - 2] = '\0';
		return strchr(tmp, ':') && ip_canonical(tmp, out) ? 0 : -EINVAL;
	}
	if (ip_canonical(in, out))
		return 0;
	*ret_ip = false;
	return name_canonical(in, len, out);
}

static int
set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok;

	/* Exactly 128 bits, top bit set: positive, never 0, 17 DER bytes. */
	ok = bn &&
	     BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok ? 0 : -EIO;
}

/* A v3 certificate for key with subject CN=cn, not yet signed. */
static int
cert_new(EVP_PKEY *key, const char *cn, long days, X509 **ret)
{
	X509 *x = X509_new();
	X509_NAME *name = x ? X509_get_subject_name(x) : NULL;

	if (!x || !X509_set_version(x, X509_VERSION_3) || set_serial(x) < 0 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -TLS_BACKDATE_SECONDS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	if (cn &&
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0))
		goto fail;
	*ret = x;
	return 0;
fail:
	X509_free(x);
	return -EIO;
}

/*
 * Adds one extension in OpenSSL's configuration syntax. Every value here is
 * a constant or a host that host_normalize let through, so none can carry
 * a comma, an '@' or anything else the syntax would read.
 */
static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
	ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

static int
ca_cert_new(EVP_PKEY *key, X509 **ret)
{
	unsigned char rnd[CA_NAME_RANDOM];
	char cn[sizeof("brig sandbox CA ") + 2 * CA_NAME_RANDOM];
	size_t off = strlen("brig sandbox CA ");
	X509 *x = NULL;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	memcpy(cn, "brig sandbox CA ", off);
	for (size_t i = 0; i < sizeof(rnd); i++, off += 2)
		snprintf(cn + off, sizeof(cn) - off, "%02x", rnd[i]);

	if (cert_new(key, cn, TLS_CA_DAYS, &x) < 0 ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    add_ext(x, x, NID_basic_constraints,
		    "critical,CA:TRUE,pathlen:0") ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		return -EIO;
	}
	*ret = x;
	return 0;
}

int
tls_ca_new(struct tls_ca **ret)
{
	struct tls_ca *ca = xcalloc(1, sizeof(*ca));

	pthread_mutex_init(&ca->lock, NULL);
	ca->max = TLS_LEAF_CACHE_MAX;
	ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ca->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!ca->key || !ca->leaf_key ||
	    RAND_bytes((unsigned char *)&ca->seed, sizeof(ca->seed)) != 1 ||
	    ca_cert_new(ca->key, &ca->cert) < 0) {
		tls_ca_free(ca);
		ERR_clear_error();
		return -EIO;
	}
	*ret = ca;
	return 0;
}

static void
leaf_free(struct leaf *e)
{
	SSL_CTX_free(e->ctx);
	free(e);
}

void
tls_ca_free(struct tls_ca *ca)
{
	struct leaf *e, *next;

	if (!ca)
		return;
	for (e = ca->head; e; e = next) {
		next = e->next;
		leaf_free(e);
	}
	/* EVP_PKEY_free clears an EC private key before freeing it. */
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->leaf_key);
	X509_free(ca->cert);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

X509 *
tls_ca_cert(const struct tls_ca *ca)
{
	return ca->cert;
}

int
tls_ca_cert_pem(const struct tls_ca *ca, char **ret)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r = -ENOMEM;

	if (bio && PEM_write_bio_X509(bio, ca->cert)) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0) {
			*ret = xstrndup(data, (size_t)len);
			r = 0;
		}
	}
	BIO_free(bio);
	return r;
}

/* The leaf for host, signed by ca. */
static int
leaf_cert_new(struct tls_ca *ca, const char *host, bool ip, X509 **ret)
{
	const char *cn = strlen(host) <= CN_MAX ? host : NULL;
	/* RFC 5280 wants the SAN critical when the subject is empty, and
	 * strict verifiers (Python 3.13) check it. */
	char *san = xasprintf("%s%s:%s", cn ? "" : "critical,",
			      ip ? "IP" : "DNS", host);
	X509 *x = NULL;
	int r = -EIO;

	if (cert_new(ca->leaf_key, cn, TLS_LEAF_DAYS, &x) < 0)
		goto out;
	if (!X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth") ||
	    add_ext(x, ca->cert, NID_subject_alt_name, san) ||
	    add_ext(x, ca->cert, NID_subject_key_identifier, "hash") ||
	    add_ext(x, ca->cert, NID_authority_key_identifier,
		    "keyid:always") ||
	    !X509_sign(x, ca->key, EVP_sha256()))
		goto out;
	*ret = TAKE_PTR(x);
	r = 0;
out:
	X509_free(x);
	free(san);
	return r;
}

/* Picks http/1.1 from the client's list, or no ALPN at all. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i = 0;

	while (i < inlen) {
		unsigned int n = in[i];

		if (n == 0 || n > inlen - i - 1)
			break;
		if (n == strlen(ALPN_NAME) &&
		    !memcmp(in + i + 1, ALPN_NAME, n)) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += n + 1;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static struct sni_state *
sni_state(SSL *ssl)
{
	struct sni_state *st = SSL_get_ex_data(ssl, ssl_sni_idx);

	if (!st) {
		st = xcalloc(1, sizeof(*st));
		if (!SSL_set_ex_data(ssl, ssl_sni_idx, st)) {
			free(st);
			return NULL;
		}
	}
	return st;
}

bool
tls_sni_matches(const char *sni, const char *host)
{
	char a[TLS_HOST_MAX + 1], b[TLS_HOST_MAX + 1];
	bool ip;

	return host_normalize(sni, a, &ip) == 0 &&
	       host_normalize(host, b, &ip) == 0 && streq(a, b);
}

/* The host the SNI must name: set on ssl, else the leaf's own. */
static const char *
expected_host(SSL *ssl, const struct sni_state *st)
{
	if (st && st->expected[0])
		return st->expected;
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_host_idx);
}

/* Runs before OpenSSL reads any extension, so it sees SNI as sent. */
static int
client_hello_check(SSL *ssl, int *al, void *arg)
{
	struct sni_state *st = sni_state(ssl);
	char sni[TLS_HOST_MAX + 2];
	const char *want = expected_host(ssl, st);
	int r;

	r = tls_client_hello_sni(ssl, sni, sizeof(sni));
	if (r == 0 || (st && st->any))
		return SSL_CLIENT_HELLO_SUCCESS;
	if (r < 0) {
		*al = SSL_AD_DECODE_ERROR;
		r = -EBADMSG;
	} else if (!want || !tls_sni_matches(sni, want)) {
		*al = SSL_AD_UNRECOGNIZED_NAME;
		r = -EPERM;
	} else {
		return SSL_CLIENT_HELLO_SUCCESS;
	}
	if (st)
		st->verdict = r;
	return SSL_CLIENT_HELLO_ERROR;
}

/* Settings both sides share: see tls.h for why each. */
static int
ctx_common(SSL_CTX *ctx)
{
	/* Renegotiation is a cost the sandbox could impose at will. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* The epoll loop writes what it can and retries from wherever its
	 * buffer then lives; idle connections give their buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS);
	return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ? 0 : -EIO;
}

static int
leaf_ctx_new(struct tls_ca *ca, const char *host, bool ip, SSL_CTX **ret)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509 *x = NULL;
	char *owned;

	if (!ctx || ctx_common(ctx) < 0 || leaf_cert_new(ca, host, ip, &x) < 0)
		goto fail;
	if (!SSL_CTX_use_certificate(ctx, x) ||
	    !SSL_CTX_use_PrivateKey(ctx, ca->leaf_key))
		goto fail;
	owned = xstrdup(host);
	if (!SSL_CTX_set_ex_data(ctx, ctx_host_idx, owned)) {
		free(owned);
		goto fail;
	}
	/* Up to 1024 contexts each with a session cache would grow without
	 * a bound; stateless tickets still let clients resume. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_check, NULL);
	X509_free(x);
	*ret = ctx;
	return 0;
fail:
	X509_free(x);
	SSL_CTX_free(ctx);
	return -EIO;
}

/* FNV-1a, seeded: the cache's limit, not the hash, bounds the worst case. */
static uint32_t
host_hash(const struct tls_ca *ca, const char *host)
{
	uint32_t h = 2166136261u ^ ca->seed;

	for (; *host; host++)
		h = (h ^ (unsigned char)*host) * 16777619u;
	return h;
}

static struct leaf **
bucket(struct tls_ca *ca, uint32_t hash)
{
	return &ca->buckets[hash & (CACHE_BUCKETS - 1)];
}

static void
lru_unlink(struct tls_ca *ca, struct leaf *e)
{
	if (ca->head == e)
		ca->head = e->next;
	else
		e->prev->next = e->next;
	if (ca->tail == e)
		ca->tail = e->prev;
	else
		e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct tls_ca *ca, struct leaf *e)
{
	e->next = ca->head;
	if (ca->head)
		ca->head->prev = e;
	ca->head = e;
	if (!ca->tail)
		ca->tail = e;
}

static void
cache_drop(struct tls_ca *ca, struct leaf *e)
{
	struct leaf **p = bucket(ca, e->hash);

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	lru_unlink(ca, e);
	ca->n--;
	leaf_free(e);
}

static struct leaf *
cache_find(struct tls_ca *ca, const char *host, uint32_t hash)
{
	struct leaf *e;

	for (e = *bucket(ca, hash); e; e = e->chain)
		if (e->hash == hash && streq(e->host, host))
			return e;
	return NULL;
}

static void
cache_trim(struct tls_ca *ca)
{
	while (ca->n > ca->max) {
		cache_drop(ca, ca->tail);
		ca->stats.evictions++;
	}
}

static void
cache_add(struct tls_ca *ca, const char *host, uint32_t hash, SSL_CTX *ctx)
{
	struct leaf *e = xcalloc(1, sizeof(*e));
	struct leaf **b = bucket(ca, hash);

	snprintf(e->host, sizeof(e->host), "%s", host);
	e->hash = hash;
	e->made = time(NULL);
	e->ctx = ctx;
	e->chain = *b;
	*b = e;
	lru_push(ca, e);
	ca->n++;
	cache_trim(ca);
}

/* Whether e is too old to hand out; a clock set back counts as old. */
static bool
leaf_stale(const struct leaf *e)
{
	time_t now = time(NULL);

	return now < e->made || now - e->made >= TLS_LEAF_REFRESH_SECONDS;
}

/* The cached context for host, made when missing; with ca->lock held. */
static int
cache_get(struct tls_ca *ca, const char *host, bool ip, SSL_CTX **ret)
{
	uint32_t hash = host_hash(ca, host);
	struct leaf *e = cache_find(ca, host, hash);
	SSL_CTX *ctx;
	int r;

	if (e && !leaf_stale(e)) {
		ca->stats.hits++;
		lru_unlink(ca, e);
		lru_push(ca, e);
		*ret = e->ctx;
		return 0;
	}
	if (e) {
		cache_drop(ca, e);
		ca->stats.refreshes++;
	}
	ca->stats.misses++;
	r = leaf_ctx_new(ca, host, ip, &ctx);
	if (r < 0)
		return r;
	cache_add(ca, host, hash, ctx);
	*ret = ctx;
	return 0;
}

int
tls_leaf_ctx(struct tls_ca *ca, const char *host, SSL_CTX **ret)
{
	char norm[TLS_HOST_MAX + 1];
	SSL_CTX *ctx;
	bool ip;
	int r;

	r = ex_ready();
	if (r < 0)
		return r;
	r = host_normalize(host, norm, &ip);
	if (r < 0)
		return r;

	/* A miss builds under the lock (about 0.8 ms with OpenSSL 3.0.19,
	 * half of it SSL_CTX_new), which keeps two threads from making the
	 * same leaf twice; a hit costs about 0.2 us. */
	pthread_mutex_lock(&ca->lock);
	r = cache_get(ca, norm, ip, &ctx);
	if (r == 0 && !SSL_CTX_up_ref(ctx))
		r = -EIO;
	pthread_mutex_unlock(&ca->lock);
	if (r < 0) {
		ERR_clear_error();
		return r;
	}
	*ret = ctx;
	return 0;
}

void
tls_cache_stats(struct tls_ca *ca, struct tls_cache_stats *ret)
{
	pthread_mutex_lock(&ca->lock);
	*ret = ca->stats;
	ret->entries = ca->n;
	pthread_mutex_unlock(&ca->lock);
}

int
tls_set_cache_max(struct tls_ca *ca, size_t max)
{
	if (max == 0 || max > TLS_LEAF_CACHE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&ca->lock);
	ca->max = max;
	cache_trim(ca);
	pthread_mutex_unlock(&ca->lock);
	return 0;
}

int
tls_server_set_expected_host(SSL *ssl, const char *host)
{
	char norm[TLS_HOST_MAX + 1];
	struct sni_state *st;
	bool ip;
	int r;

	r = ex_ready();
	if (r < 0)
		return r;
	r = host_normalize(host, norm, &ip);
	if (r < 0)
		return r;
	st = sni_state(ssl);
	if (!st)
		return -ENOMEM;
	memcpy(st->expected, norm, sizeof(norm));
	return 0;
}

int
tls_server_any_sni(SSL *ssl)
{
	struct sni_state *st = ex_ready() < 0 ? NULL : sni_state(ssl);

	if (!st)
		return -ENOMEM;
	st->any = true;
	return 0;
}

int
tls_server_sni_verdict(SSL *ssl)
{
	const struct sni_state *st;

	if (ex_ready() < 0)
		return 0;
	st = SSL_get_ex_data(ssl, ssl_sni_idx);
	return st ? st->verdict : 0;
}

int
tls_server_new(SSL_CTX *ctx, const char *host, int fd, SSL **ret)
{
	SSL *ssl = SSL_new(ctx);
	int r;

	if (!ssl)
		return -ENOMEM;
	if (!SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return -EINVAL;
	}
	SSL_set_accept_state(ssl);
	r = tls_server_set_expected_host(ssl, host);
	if (r < 0) {
		SSL_free(ssl);
		return r;
	}
	*ret = ssl;
	return 0;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int
tls_sni_parse(const uint8_t *ext, size_t len, char *out, size_t outlen)
{
	size_t n;

	/* ServerNameList length, then one entry: type, length, name. */
	if (len < 2 + 3 || get16(ext) != len - 2 ||
	    ext[2] != TLS_SERVER_NAME_HOST)
		return -EBADMSG;
	n = get16(ext + 3);
	if (n == 0 || n > TLS_HOST_MAX + 1 || n != len - 5)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if (!host_char((char)ext[5 + i]))
			return -EBADMSG;
	if (outlen <= n)
		return -ENOBUFS;
	memcpy(out, ext + 5, n);
	out[n] = '\0';
	return 0;
}

int
tls_client_hello_sni(SSL *ssl, char *out, size_t outlen)
{
	const unsigned char *ext;
	size_t len;
	int r;

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext,
				       &len))
		return 0;
	r = tls_sni_parse(ext, len, out, outlen);
	return r < 0 ? r : 1;
}

/* The operator's extra CAs; a file that cannot be read says why. */
static int
load_extra_ca(SSL_CTX *ctx, const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return neg_errno();
	close(fd);
	return SSL_CTX_load_verify_locations(ctx, file, NULL) ? 0 : -EINVAL;
}

int
tls_upstream_ctx(const char *extra_ca_file, SSL_CTX **ret)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int r = -EIO;

	if (!ctx || ctx_common(ctx) < 0 ||
	    !SSL_CTX_set_default_verify_paths(ctx))
		goto fail;
	if (extra_ca_file) {
		r = load_extra_ca(ctx, extra_ca_file);
		if (r < 0)
			goto fail;
		r = -EIO;
	}
	/* Returns 0 on success, unlike its neighbours. */
	if (SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)ALPN_WIRE,
				    strlen(ALPN_WIRE)) != 0)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(ctx),
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	*ret = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* What the upstream certificate must name, and the SNI that asks for it. */
static int
upstream_names(SSL *ssl, const char *host, bool ip)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

	if (ip)
		return X509_VERIFY_PARAM_set1_ip_asc(param, host) ? 0 : -EIO;
	if (!SSL_set_tlsext_host_name(ssl, host) ||
	    !X509_VERIFY_PARAM_set1_host(param, host, 0))
		return -EIO;
	return 0;
}

int
tls_upstream_new(SSL_CTX *ctx, const char *host, int fd, SSL **ret)
{
	char norm[TLS_HOST_MAX + 1];
	SSL *ssl;
	bool ip;
	int r;

	r = host_normalize(host, norm, &ip);
	if (r < 0)
		return r;
	ssl = SSL_new(ctx);
	if (!ssl)
		return -ENOMEM;
	r = SSL_set_fd(ssl, fd) ? upstream_names(ssl, norm, ip) : -EINVAL;
	if (r < 0) {
		SSL_free(ssl);
		ERR_clear_error();
		return r;
	}
	SSL_set_connect_state(ssl);
	*ret = ssl;
	return 0;
}

/* The failure behind SSL_ERROR_SSL, from the error queue. */
static int
ssl_failure(SSL *ssl)
{
	unsigned long e = ERR_peek_last_error();

	/* OpenSSL 3.0 reports a peer that closed without close_notify as a
	 * protocol error; to the proxy it is a reset. */
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return -ECONNRESET;
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return -EKEYREJECTED;
	return -EPROTO;
}

/* What SSL_get_error's err means to the epoll loop; saved is errno. */
static int
want_from_error(SSL *ssl, int r, int err, int saved)
{
	switch (err) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return -EPIPE;
	case SSL_ERROR_SYSCALL:
		/* An empty queue and r == 0: the socket hit EOF. */
		if (r == 0 && ERR_peek_error() == 0)
			return -ECONNRESET;
		return saved > 0 ? -saved : -EIO;
	case SSL_ERROR_SSL:
		return ssl_failure(ssl);
	default:
		/* Asynchronous engines and lookups, never enabled here. */
		return -EIO;
	}
}

int
tls_want(SSL *ssl, int r)
{
	int saved = errno;
	int ret = 0;

	if (r <= 0)
		ret = want_from_error(ssl, r, SSL_get_error(ssl, r), saved);
	ERR_clear_error();
	return ret;
}
