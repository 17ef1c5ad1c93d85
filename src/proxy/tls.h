/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TLS core of HTTPS inspection (DESIGN.md section 6). The proxy
 * terminates TLS from the sandbox with a per-sandbox CA, whose certificate
 * the sandbox trusts and whose key never leaves the supervisor's memory, and
 * opens its own verified TLS connection upstream.
 *
 * Sandbox side: tls_ca_new when the sandbox starts; tls_ca_cert_pem for the
 * sandbox's CA bundle; per CONNECT target, tls_leaf_ctx (cached) and
 * tls_server_new, which refuses a ClientHello whose SNI names another host
 * (domain fronting). Upstream side: one tls_upstream_ctx per supervisor and
 * tls_upstream_new per connection, verified against the host trust store
 * plus the operator's --upstream-ca. Both sides offer TLS 1.2 and later and
 * ALPN http/1.1 only, since the inspector speaks HTTP/1.1.
 *
 * Every SSL made here runs on a non-blocking socket: drive
 * SSL_accept/SSL_connect/SSL_read/SSL_write from the epoll loop and pass
 * each return value to tls_want at once.
 *
 * Functions return 0 or a negative errno; none logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* A host name in text form, without a trailing dot (RFC 1035). */
#define TLS_HOST_MAX 253
/* Hosts whose leaf SSL_CTX a CA keeps; the least recently used goes. */
#define TLS_LEAF_CACHE_MAX 1024
/* The CA is valid from an hour ago (clocks drift) for 30 days. */
#define TLS_CA_DAYS 30
/* A leaf is valid from an hour ago for 7 days. */
#define TLS_LEAF_DAYS 7
#define TLS_BACKDATE_SECONDS 3600
/*
 * A cached leaf older than this is made again, so a sandbox that lives for
 * weeks never serves a leaf about to expire. It must stay well below
 * TLS_LEAF_DAYS.
 */
#define TLS_LEAF_REFRESH_SECONDS (24 * 3600)

/* What tls_want returns besides 0 and -errno. */
enum {
	TLS_WANT_READ = 1,
	TLS_WANT_WRITE = 2,
};

struct tls_ca;

struct tls_cache_stats {
	uint64_t hits;
	uint64_t misses;
	/* Leaves dropped for room, and leaves made again for age. */
	uint64_t evictions;
	uint64_t refreshes;
	size_t entries;
};

/*
 * A new per-sandbox CA: an ECDSA P-256 key, a self-signed X.509 v3
 * certificate with CN "brig sandbox CA <32 hex digits>", basicConstraints
 * critical CA:TRUE pathlen:0, keyUsage critical keyCertSign and cRLSign, a
 * subjectKeyIdentifier, a random positive 128-bit serial, valid for
 * TLS_CA_DAYS. It also holds the one leaf key that every leaf it signs
 * shares, and the leaf cache. Returns 0 or -EIO (OpenSSL failed).
 */
int tls_ca_new(struct tls_ca **ret);
/* Frees the CA, its keys (OpenSSL wipes them) and its cache; NULL is fine.
 * SSL_CTXs handed out stay valid until their holders free them. */
void tls_ca_free(struct tls_ca *ca);

/*
 * The CA certificate, PEM, NUL-terminated, for the sandbox's CA bundle; the
 * caller frees it. It never holds the key: no function here exports a key.
 */
int tls_ca_cert_pem(const struct tls_ca *ca, char **ret);
/* The CA certificate itself, borrowed, for tests and diagnostics. */
X509 *tls_ca_cert(const struct tls_ca *ca);

/*
 * The server SSL_CTX for host: TLS 1.2 or later, ALPN http/1.1 when the
 * client offers it (else none), and a leaf certificate signed by ca with
 * host as its one subjectAltName (iPAddress for an IPv4 or IPv6 literal,
 * else dNSName), extendedKeyUsage serverAuth, valid for TLS_LEAF_DAYS. host
 * is a CONNECT target without port; case, one trailing dot and IPv6
 * brackets are ignored. The SNI check of tls_server_new is installed.
 *
 * Made once per host and cached (TLS_LEAF_CACHE_MAX hosts, least recently
 * used dropped first), so a hit costs a lookup. The caller owns one
 * reference: SSL_CTX_free it. Returns 0, -EINVAL for a host that is empty,
 * too long or holds a character outside [A-Za-z0-9._-] (and is no IP
 * literal), -ENOMEM, or -EIO. Thread-safe.
 */
int tls_leaf_ctx(struct tls_ca *ca, const char *host, SSL_CTX **ret);
/* Counters of tls_leaf_ctx on ca. */
void tls_cache_stats(struct tls_ca *ca, struct tls_cache_stats *ret);
/*
 * For tests: lowers the cache's limit (1 to TLS_LEAF_CACHE_MAX), dropping
 * the least recently used hosts past it. Returns 0 or -EINVAL.
 */
int tls_set_cache_max(struct tls_ca *ca, size_t max);

/*
 * A server SSL on fd (non-blocking is expected) from a tls_leaf_ctx ctx, in
 * accept state, expecting host in SNI as tls_server_set_expected_host says.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int tls_server_new(SSL_CTX *ctx, const char *host, int fd, SSL **ret);
/*
 * Sets the host the ClientHello's SNI must name, normally the CONNECT
 * target. The check, installed on every tls_leaf_ctx, compares without
 * regard to case or one trailing dot; a different name fails the handshake
 * with an unrecognized_name alert, a malformed server_name extension with a
 * decode_error alert. No SNI at all is allowed: a client that dials an IP
 * literal sends none. Without this call the leaf's own host is expected.
 * Returns 0, -EINVAL for a host tls_leaf_ctx would refuse, or -ENOMEM.
 */
int tls_server_set_expected_host(SSL *ssl, const char *host);
/*
 * Why the SNI check refused ssl's handshake: 0 when it did not (it passed,
 * or has not run), -EPERM for a different name, -EBADMSG for a malformed
 * extension. So the proxy can name the reason in its event.
 */
int tls_server_sni_verdict(SSL *ssl);

/*
 * Whether an SNI names host (a CONNECT target, or the name a captured
 * connection's address stands for): the two compare as tls_leaf_ctx
 * normalizes them, without regard to case, one trailing dot or IPv6
 * brackets. A name either side cannot hold is no match.
 */
bool tls_sni_matches(const char *sni, const char *host);

/* Test builds only ("host-check" off): any SNI passes. 0 or -ENOMEM. */
int tls_server_any_sni(SSL *ssl);

/*
 * Reads the SNI host name of the ClientHello being processed; call it only
 * from a client-hello callback. Copies the name, NUL-terminated, into out.
 * Returns 1 when a name was copied, 0 when the ClientHello has no
 * server_name extension, -EBADMSG when the extension is malformed (see
 * tls_sni_parse), or -ENOBUFS when outlen is too small.
 */
int tls_client_hello_sni(SSL *ssl, char *out, size_t outlen);
/*
 * Parses the body of a server_name extension (RFC 6066, section 3), len
 * bytes: a ServerNameList holding exactly one entry, of type host_name, of
 * 1 to TLS_HOST_MAX + 1 bytes (a trailing dot allowed), every byte in
 * [A-Za-z0-9._-], and nothing after it. Anything else is -EBADMSG: the
 * name comes from inside the sandbox and is compared with the CONNECT
 * target, so only what a host name can be gets through. On success copies
 * the name as sent, NUL-terminated, into out; -ENOBUFS when outlen is too
 * small (TLS_HOST_MAX + 2 always suffices).
 */
int tls_sni_parse(const uint8_t *ext, size_t len, char *out, size_t outlen);

/*
 * The client SSL_CTX for upstream connections: peer verification required
 * against the host trust store (SSL_CTX_set_default_verify_paths) plus, when
 * extra_ca_file is not NULL, the PEM certificates in it (the operator's
 * --upstream-ca); TLS 1.2 or later; ALPN http/1.1. Returns 0, -ENOENT or
 * -EACCES for an extra file that cannot be read, -EINVAL for one that holds
 * no certificate, -ENOMEM, or -EIO.
 */
int tls_upstream_ctx(const char *extra_ca_file, SSL_CTX **ret);
/*
 * A client SSL on fd (non-blocking is expected) from a tls_upstream_ctx
 * ctx, in connect state, whose handshake succeeds only when the
 * certificate names host: SNI and a dNSName check for a name, an iPAddress
 * check and no SNI for an IP literal (RFC 6066 forbids literals in SNI).
 * Returns 0, -EINVAL for a host tls_leaf_ctx would refuse, or -ENOMEM.
 */
int tls_upstream_new(SSL_CTX *ctx, const char *host, int fd, SSL **ret);

/*
 * Maps the return value r of SSL_accept, SSL_connect, SSL_do_handshake,
 * SSL_read, SSL_write or their _ex forms on ssl, called just before on this
 * thread (errno must still be that call's), to what the epoll loop does
 * next:
 *
 *   0               done: r > 0 (for SSL_read/SSL_write, r bytes moved)
 *   TLS_WANT_READ   call again when the socket is readable
 *   TLS_WANT_WRITE  call again when the socket is writable
 *   -EPIPE          the peer closed TLS cleanly (close_notify)
 *   -ECONNRESET     the peer closed the socket without close_notify
 *   -EKEYREJECTED   the peer's certificate failed verification (see
 *                   SSL_get_verify_result), upstream only
 *   -EPROTO         any other TLS failure, a refused SNI included (see
 *                   tls_server_sni_verdict)
 *   -errno          the socket failed (from errno)
 *
 * The wants may switch: SSL_read can want write during a handshake or a
 * key update, so watch for what tls_want asks, not for what the call
 * does. Clears the thread's OpenSSL error queue, which SSL_get_error
 * needs empty before the next call on any connection. SSL_shutdown is not
 * for here: its 0 means "close_notify sent", which tls_want would read as
 * a failure; pass only its negative returns.
 */
int tls_want(SSL *ssl, int r);
