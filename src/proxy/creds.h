/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credential placeholders (DESIGN.md section 6, issue 4). The agent holds
 * "brig-ph-" plus 32 random hex digits instead of each real value; the
 * proxy swaps placeholders for values in requests it inspects and values
 * back for placeholders in responses. Every byte handed to this module
 * comes from inside the sandbox or from an upstream the sandbox chose, so
 * every input is bounded and checked. Nothing here does I/O, except
 * getrandom in creds_add, so a fuzzer can drive it.
 *
 * Values are held in memory wiped by creds_free; buffers that held one are
 * wiped before they are freed, and an output buffer is grown before a value
 * is written to it, so no realloc leaves a copy behind. A value never goes
 * into an error, a result or a log line: results name a credential by key.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define CREDS_PLACEHOLDER_PREFIX "brig-ph-"
/* The prefix, then 32 lower-case hex digits (128 random bits). */
#define CREDS_PLACEHOLDER_LEN 40
#define CREDS_MAX 64
#define CREDS_KEY_MAX 127
/*
 * Shorter values would match ordinary text: every response would be
 * garbled by the scrubber and ordinary requests refused as leaks.
 */
#define CREDS_VALUE_MIN 8
#define CREDS_VALUE_MAX (64 * 1024)
#define CREDS_HOSTS_MAX 16
/* The most of a request body that creds_rewrite_body takes. */
#define CREDS_BODY_MAX (256 * 1024)
/* The scrubber's unit of work: input is scanned this much at a time. */
#define CREDS_SCRUB_SLICE (16 * 1024)

/* Refusals, as the event and the 403 body name them. */
#define CREDS_ENDPOINT_MISMATCH "credential_endpoint_mismatch"
#define CREDS_SECRET_LEAK "secret_leak"

struct creds_host {
	char host[254]; /* a match_host pattern */
	uint16_t port; /* 0: any */
};

struct cred {
	char key[CREDS_KEY_MAX + 1]; /* env var name, e.g. OPENAI_API_KEY */
	char placeholder[CREDS_PLACEHOLDER_LEN + 1];
	char *value; /* len bytes, NUL-terminated; wiped by creds_free */
	size_t len;
	struct creds_host *hosts; /* none: unbound (any allowed endpoint) */
	size_t nhosts;
};

struct creds {
	struct cred *v;
	size_t n;
	unsigned off; /* PROXY_OFF_* walls switched off, test builds only */
};

/*
 * Adds a credential with a new random placeholder (getrandom). key is an
 * environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most CREDS_KEY_MAX
 * bytes), unique in c. value is len bytes, CREDS_VALUE_MIN to
 * CREDS_VALUE_MAX, with no control byte but HTAB (so it can go into a
 * header); it is copied. Two keys may share a value (GITHUB_TOKEN and
 * GH_TOKEN): the scrubber then writes the first one's placeholder. hosts
 * (nhosts at most CREDS_HOSTS_MAX, each a non-empty NUL-terminated
 * pattern) bind the credential; none leaves it unbound. Returns 0,
 * -EINVAL, -EEXIST for a key already in c, -ENOSPC past CREDS_MAX, or
 * getrandom's error.
 */
int creds_add(struct creds *c, const char *key, const char *value, size_t len,
	      const struct creds_host *hosts, size_t nhosts);

/* Wipes every value and frees everything; c is then empty and reusable. */
void creds_free(struct creds *c);

/*
 * Whether the credential may be resolved toward host:port: unbound, or
 * one of its hosts names host (match_host) with port 0 or equal.
 */
bool creds_bound_to(const struct cred *cr, const char *host, uint16_t port);

/* The credential whose placeholder is exactly p (len bytes), or NULL. */
const struct cred *creds_find_placeholder(const struct creds *c, const char *p,
					  size_t len);

/*
 * The first credential whose placeholder appears in p (len bytes) but
 * which is not bound to host:port, or NULL: a request that would carry it
 * there is refused (credential_endpoint_mismatch) even where nothing is
 * resolved. O(len * c->n).
 */
const struct cred *creds_misbound(const struct creds *c, const char *host,
				  uint16_t port, const char *p, size_t len);

/* What a rewrite did. Reset by every call. */
struct creds_result {
	size_t replaced; /* placeholders replaced by values */
	size_t unresolved; /* known placeholders left alone (resolve false) */
	/* NULL, CREDS_ENDPOINT_MISMATCH or CREDS_SECRET_LEAK (the latter is
	 * a high-severity finding: the agent should never have the value). */
	const char *refusal;
	const char *key; /* the credential refused: a name, never a value */
	/* Where it was seen: "path", "query", "header", "basic" (inside an
	 * Authorization: Basic blob) or "body". */
	const char *where;
};

/*
 * Rewrites one complete request head (len bytes, through the blank line,
 * nothing after it), origin- or absolute-form, for the connection to
 * host:port. Replaces every placeholder of c in the request target (path
 * and query, the value percent-encoded but for unreserved bytes), in every
 * header value but Host's, and inside "Authorization: Basic" (decoded,
 * replaced and encoded again, padded as it was). Everything else, header
 * names and order included, is copied byte for byte. Strings with the
 * prefix that are no placeholder of c are left alone.
 *
 * resolve says whether placeholders may be resolved in this head: true
 * inside an inspected TLS tunnel, or over plain HTTP to an endpoint that
 * opted in; false otherwise, and then the head is copied as it is (known
 * placeholders are counted in res->unresolved) after the leak check.
 *
 * Refusals return -EPERM with res->refusal set and out unchanged:
 * secret_leak when a value of c appears in the head as it is, in the
 * percent-decoded target or in a Basic blob (checked first, whatever
 * resolve says); credential_endpoint_mismatch when a placeholder to be
 * resolved belongs to a credential not bound to host:port. The leak check
 * is a tripwire, not a wall: an agent can encode a value any other way.
 *
 * Other returns: 0, the head appended to out; -EINVAL for a head that is
 * incomplete, has bytes after the blank line or is CONNECT; the parser's
 * error (http_parse_request); -E2BIG when out's limit would be passed (out
 * unchanged). Costs O(len * c->n), plus the output.
 */
int creds_rewrite_head(const struct creds *c, const char *host, uint16_t port,
		       const char *head, size_t len, bool resolve,
		       struct buf *out, struct creds_result *res);

/*
 * Rewrites a request body (at most CREDS_BODY_MAX bytes, dechunked; the
 * caller fixes the framing) for an endpoint with
 * request_body_credential_rewrite: every placeholder of c replaced by its
 * value as it is, with the leak and mismatch checks above (where "body").
 * Returns as creds_rewrite_head; -E2BIG also for a body over the limit.
 */
int creds_rewrite_body(const struct creds *c, const char *host, uint16_t port,
		       const char *body, size_t len, struct buf *out,
		       struct creds_result *res);

/* Whether any value of c appears in p (len bytes): for bodies not
 * rewritten. O(len * c->n). */
bool creds_contains_secret(const struct creds *c, const char *p, size_t len);

/*
 * Replaces every value of c in a byte stream (a response, head and body)
 * by its placeholder, across the boundaries of the pieces it comes in:
 * the output is what one call over the whole stream would give. Matches
 * are leftmost first, the longest value at one position. Only bytes that
 * could begin a value are held back between calls (at most the longest
 * value less one), so a stream without values is passed on as it comes.
 * A value and its placeholder differ in length: the caller reframes the
 * body (chunked, or close-delimited) when one is replaced.
 *
 * Besides the values, a scrubber may be given aliases (creds_scrub_alias):
 * other strings that held a value on the way out, each with the string
 * the sandbox sent instead, such as an Authorization: Basic blob the
 * proxy encoded again around a real value. A server that echoes such a
 * blob would otherwise hand the value back in base64.
 *
 * Cost: per CREDS_SCRUB_SLICE of input, one memmem per value or alias
 * over the slice plus the bytes held back, and a memcmp per candidate
 * near its end: O(len * c->n) for values without long self-repeating
 * prefixes. Memory: one window of at most CREDS_VALUE_MAX +
 * CREDS_SCRUB_SLICE bytes, wiped.
 */
#define CREDS_SCRUB_ALIASES_MAX 8

struct creds_pair {
	const char *from, *to; /* not owned */
	size_t from_len, to_len;
};

struct creds_scrubber {
	/* The values, then the aliases: what is found, and what replaces
	 * it. The strings must outlive the scrubber. */
	struct creds_pair pairs[CREDS_MAX + CREDS_SCRUB_ALIASES_MAX];
	size_t n;
	size_t longest;
	struct buf win; /* bytes held back, then the slice being scanned */
};

void creds_scrub_init(struct creds_scrubber *s, const struct creds *c);
/* Adds an alias: from (CREDS_VALUE_MIN to CREDS_VALUE_MAX bytes) becomes
 * to. Before the first creds_scrub. Returns 0, -EINVAL or -ENOSPC. */
int creds_scrub_alias(struct creds_scrubber *s, const char *from,
		      size_t from_len, const char *to, size_t to_len);
/* Appends the scrubbed part of in to out. Returns 0 or -E2BIG (out's
 * limit: the stream is then broken, and s must be freed). */
int creds_scrub(struct creds_scrubber *s, const char *in, size_t len,
		struct buf *out);
/* At the end of the stream: appends what was held back, wipes and frees
 * the window. s may then be used for a new stream. */
int creds_scrub_flush(struct creds_scrubber *s, struct buf *out);
/* Wipes and frees the window, dropping what was held back. */
void creds_scrub_free(struct creds_scrubber *s);
