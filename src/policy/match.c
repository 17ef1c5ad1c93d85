/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy matching: host patterns, binary globs, the endpoint decision, the
 * SSRF address classes and the authority parser the proxy feeds them from.
 * Nothing here allocates or does I/O.
 */
#include "policy/match.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "common/util.h"

#define MATCH_LABEL_MAX 63

/* An address in network order; IPv4 uses the first four bytes. */
struct ipaddr {
	int family;
	uint8_t b[16];
};

/* ASCII only: host names are compared the same whatever the locale. */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 'a' - 'A') : c;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
	char l = lower(c);

	return is_digit(c) || (l >= 'a' && l <= 'f');
}

static bool
is_name_char(char c)
{
	char l = lower(c);

	return is_digit(c) || (l >= 'a' && l <= 'z') || c == '-' || c == '_';
}

/* Whether the first bits of a and net agree. */
static bool
prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (memcmp(a, net, bytes) != 0)
		return false;
	return rest == 0 || ((a[bytes] ^ net[bytes]) & mask) == 0;
}

static const uint8_t v4_mapped_prefix[12] = { [10] = 0xff, [11] = 0xff };

/*
 * An IPv4-mapped address is the IPv4 address: the kernel sends it as IPv4
 * from a dual-stack socket. Folding it makes "::ffff:10.0.0.1" and
 * "10.0.0.1" the same address for host literals and allowed_ips.
 */
static void
fold_mapped(struct ipaddr *a)
{
	if (a->family != AF_INET6 ||
	    memcmp(a->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) != 0)
		return;
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->family = AF_INET;
}

static bool
ip_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && memcmp(a->b, b->b, n) == 0;
}

/*
 * Parses a strict IP literal: a dotted quad (inet_pton refuses octal, hex
 * and short forms), or IPv6 with or without brackets. IPv4 is never
 * bracketed (RFC 3986 section 3.2.2).
 */
static bool
parse_ip_literal(const char *s, size_t len, struct ipaddr *ret)
{
	char buf[INET6_ADDRSTRLEN];
	bool bracketed = len >= 2 && s[0] == '[' && s[len - 1] == ']';

	if (bracketed) {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	ret->family = AF_INET;
	if (!bracketed && inet_pton(AF_INET, buf, ret->b) == 1)
		return true;
	ret->family = AF_INET6;
	if (inet_pton(AF_INET6, buf, ret->b) != 1)
		return false;
	fold_mapped(ret);
	return true;
}

/* Non-empty labels of name characters, each and all within the limits. */
static bool
name_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > MATCH_HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!is_name_char(s[i]) || ++label > MATCH_LABEL_MAX) {
			return false;
		}
	}
	return label > 0;
}

/*
 * Whether the last label reads as a number, decimal or "0x" hex. The URL
 * standard, and inet_aton behind getaddrinfo, then take the whole name as
 * an IPv4 address ("2130706433", "0177.0.0.1", "0x7f.1" are all 127.0.0.1),
 * and no top-level domain is numeric, so such a name is refused unless it is
 * a plain dotted quad.
 */
static bool
last_label_numeric(const char *s, size_t len)
{
	const char *dot = memrchr(s, '.', len);
	const char *l = dot ? dot + 1 : s;
	size_t n = (size_t)(s + len - l), i = 0;

	if (n >= 2 && l[0] == '0' && lower(l[1]) == 'x') {
		for (i = 2; i < n && is_hex(l[i]); i++)
			;
		return i == n;
	}
	while (i < n && is_digit(l[i]))
		i++;
	return n > 0 && i == n;
}

enum host_kind {
	HOST_BAD,
	HOST_NAME,
	HOST_IP,
};

static enum host_kind
host_parse(const char *s, size_t len, struct ipaddr *ip)
{
	if (parse_ip_literal(s, len, ip))
		return HOST_IP;
	if (!name_valid(s, len) || last_label_numeric(s, len))
		return HOST_BAD;
	return HOST_NAME;
}

/* The length of s without one trailing dot (a fully qualified name). */
static size_t
trim_dot(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && s[len - 1] == '.' ? len - 1 : len;
}

/*
 * One label against a pattern label where "*" is any run of characters.
 * With one kind of star, retrying from the latest star is enough: an
 * earlier star could only have absorbed what the latest one can.
 */
static bool
label_glob(const char *p, size_t pn, const char *h, size_t hn)
{
	size_t pi = 0, hi = 0, star = SIZE_MAX, mark = 0;

	while (hi < hn) {
		if (pi < pn && p[pi] == '*') {
			star = pi++;
			mark = hi;
		} else if (pi < pn && lower(p[pi]) == lower(h[hi])) {
			pi++;
			hi++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			hi = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

static size_t
label_len(const char *s, const char *end)
{
	const char *dot = memchr(s, '.', (size_t)(end - s));

	return (size_t)((dot ? dot : end) - s);
}

static const char *
next_label(const char *s, const char *end)
{
	const char *dot = memchr(s, '.', (size_t)(end - s));

	return dot ? dot + 1 : end;
}

static bool
is_dstar(const char *l, const char *end)
{
	return label_len(l, end) == 2 && l[0] == '*' && l[1] == '*';
}

/*
 * The same algorithm one level up: labels for characters, "**" (one or
 * more labels) for the star. "**" consumes one label at once and then
 * grows one label at a time on a mismatch.
 */
static bool
labels_match(const char *p, const char *pend, const char *h, const char *hend)
{
	const char *star = NULL, *mark = NULL;

	while (h < hend) {
		if (p < pend && is_dstar(p, pend)) {
			star = p;
			p = next_label(p, pend);
			h = mark = next_label(h, hend);
		} else if (p < pend && label_glob(p, label_len(p, pend), h,
						  label_len(h, hend))) {
			p = next_label(p, pend);
			h = next_label(h, hend);
		} else if (star) {
			p = next_label(star, pend);
			h = mark = next_label(mark, hend);
		} else {
			return false;
		}
	}
	return p == pend;
}

/* A pattern with an empty label would read as one without it. */
static bool
pattern_labels_sane(const char *p, size_t len)
{
	return len > 0 && p[0] != '.' && p[len - 1] != '.' &&
	       !memmem(p, len, "..", 2);
}

bool
match_host(const char *pattern, const char *host)
{
	struct ipaddr pip, hip;
	size_t plen, hlen;
	enum host_kind kind;

	if (!pattern || !host)
		return false;
	plen = trim_dot(pattern);
	hlen = trim_dot(host);
	kind = host_parse(host, hlen, &hip);
	if (kind == HOST_BAD)
		return false;
	if (parse_ip_literal(pattern, plen, &pip))
		return kind == HOST_IP && ip_equal(&pip, &hip);
	if (kind == HOST_IP || !pattern_labels_sane(pattern, plen))
		return false;
	return labels_match(pattern, pattern + plen, host, host + hlen);
}

/*
 * Binary globs run as a position automaton over the pattern: bit i of the
 * state set means "pattern[0..i) has matched the path so far". Each path
 * byte moves every live position once, so the work is at most the product
 * of the two lengths, whatever the pattern; a backtracking matcher is
 * exponential in the number of stars.
 */
#define MATCH_STATE_WORDS ((MATCH_PATH_MAX + 1 + 63) / 64)

static void
bit_set(uint64_t *w, size_t i)
{
	w[i / 64] |= UINT64_C(1) << (i % 64);
}

static bool
bit_test(const uint64_t *w, size_t i)
{
	return w[i / 64] & (UINT64_C(1) << (i % 64));
}

/* The first set bit at or after from, or nbits when none. */
static size_t
bit_next(const uint64_t *w, size_t from, size_t nbits)
{
	size_t i = from / 64, nwords = (nbits + 63) / 64;
	uint64_t word;

	if (from >= nbits)
		return nbits;
	word = w[i] & (~UINT64_C(0) << (from % 64));
	while (!word && ++i < nwords)
		word = w[i];
	if (!word)
		return nbits;
	from = i * 64 + (size_t)__builtin_ctzll(word);
	return from < nbits ? from : nbits;
}

/*
 * A run of two or more stars is one "**". It has two states: its first
 * star, entered from outside (only there may it match no segment at all),
 * and its second, once it has consumed a byte.
 */
enum star_state {
	NOT_STAR,
	STAR_ONE, /* a lone "*" */
	STAR_RUN, /* the first star of a run */
	STAR_IN_RUN, /* the second: the run has consumed something */
};

static enum star_state
star_state(const char *p, size_t i)
{
	if (p[i] != '*')
		return NOT_STAR;
	if (i > 0 && p[i - 1] == '*')
		return STAR_IN_RUN;
	return p[i + 1] == '*' ? STAR_RUN : STAR_ONE;
}

/*
 * Adds the positions reachable without consuming a byte: past a star,
 * which may match nothing, and, for a run entered just after a "/" and
 * followed by one, past the run and that "/" too, so that "/" "**" "/"
 * matches a single slash. The new positions lie ahead of i, so one
 * ascending pass finds them.
 */
static void
close_states(const char *p, size_t plen, uint64_t *w)
{
	for (size_t i = bit_next(w, 0, plen + 1); i < plen;
	     i = bit_next(w, i + 1, plen + 1)) {
		enum star_state st = star_state(p, i);
		size_t end = i;

		if (st == NOT_STAR)
			continue;
		while (p[end] == '*')
			end++;
		bit_set(w, end);
		if (st == STAR_RUN && i > 0 && p[i - 1] == '/' && p[end] == '/')
			bit_set(w, end + 1);
	}
}

/* Moves every live position over byte c; false when none survives. */
static bool
step_states(const char *p, size_t plen, const uint64_t *cur, uint64_t *next,
	    char c)
{
	size_t nwords = plen / 64 + 1;
	bool any = false;

	memset(next, 0, nwords * sizeof(*next));
	for (size_t i = bit_next(cur, 0, plen); i < plen;
	     i = bit_next(cur, i + 1, plen)) {
		enum star_state st = star_state(p, i);

		if (st == STAR_RUN)
			bit_set(next, i + 1);
		else if (st == STAR_IN_RUN || (st == STAR_ONE && c != '/'))
			bit_set(next, i);
		else if (st == NOT_STAR && p[i] == c)
			bit_set(next, i + 1);
	}
	close_states(p, plen, next);
	for (size_t i = 0; i < nwords; i++)
		any |= next[i] != 0;
	return any;
}

/*
 * /proc/PID/exe is canonical; anything else could smuggle "/usr/bin/../.."
 * past a "/usr/bin/" "**" pattern.
 */
static bool
path_canonical(const char *s, size_t len)
{
	if (len == 0 || s[0] != '/')
		return false;
	if (len == 1)
		return true;
	for (const char *seg = s + 1; seg <= s + len; seg++) {
		size_t n = strcspn(seg, "/");

		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		seg += n;
	}
	return true;
}

/* Runs the automaton over s from offset start, where the literal prefix
 * of p has put it in the one state start. */
static bool
run_states(const char *p, size_t plen, const char *s, size_t slen, size_t start)
{
	uint64_t a[MATCH_STATE_WORDS], b[MATCH_STATE_WORDS];
	uint64_t *cur = a, *next = b;

	memset(cur, 0, (plen / 64 + 1) * sizeof(*cur));
	bit_set(cur, start);
	close_states(p, plen, cur);
	for (size_t k = start; k < slen; k++) {
		uint64_t *t = cur;

		if (!step_states(p, plen, cur, next, s[k]))
			return false;
		cur = next;
		next = t;
	}
	return bit_test(cur, plen);
}

/*
 * Answers most patterns without the automaton, since a request checks
 * every pattern against the caller and each ancestor: the text before the
 * first star must begin the path and the text after the last star must end
 * it (a "/" "**" "/" that matches one slash still leaves that slash in the
 * path), and a pattern that is a prefix and then stars needs nothing more.
 * Returns 1 or 0 when decided, else -1 with the prefix length.
 */
static int
quick_answer(const char *p, size_t plen, const char *s, size_t slen,
	     size_t *ret_prefix)
{
	size_t pre = strcspn(p, "*"), stars, suf;

	if (pre == plen)
		return streq(p, s);
	stars = strspn(p + pre, "*");
	suf = plen - 1 - (size_t)((const char *)memrchr(p, '*', plen) - p);
	if (slen < pre || memcmp(p, s, pre) != 0)
		return 0;
	if (slen < suf || memcmp(p + plen - suf, s + slen - suf, suf) != 0)
		return 0;
	if (pre + stars == plen)
		return stars > 1 || !strchr(s + pre, '/');
	*ret_prefix = pre;
	return -1;
}

bool
match_binary(const char *pattern, const char *path)
{
	size_t plen, slen, pre = 0;
	int r;

	if (!pattern || !path)
		return false;
	plen = strnlen(pattern, MATCH_PATH_MAX + 1);
	slen = strnlen(path, MATCH_PATH_MAX + 1);
	if (plen > MATCH_PATH_MAX || pattern[0] != '/' ||
	    slen > MATCH_PATH_MAX || !path_canonical(path, slen))
		return false;
	r = quick_answer(pattern, plen, path, slen, &pre);
	if (r >= 0)
		return r;
	return run_states(pattern, plen, path, slen, pre);
}

static bool
endpoint_has_port(const struct policy_endpoint *e, uint16_t port)
{
	for (size_t i = 0; i < e->nports; i++)
		if (e->ports[i] == port)
			return true;
	return false;
}

/* OpenShell: an endpoint with allowed_ips and no host matches any host. */
static bool
endpoint_host_matches(const struct policy_endpoint *e, const char *host)
{
	if (!e->host)
		return e->nallowed_ips > 0;
	return match_host(e->host, host);
}

/* The first of binaries[] (the caller, then its ancestors) n allows. */
static ssize_t
network_binary(const struct policy_network *n, const char *const *binaries,
	       size_t nbinaries)
{
	for (size_t j = 0; j < nbinaries; j++) {
		if (!binaries[j])
			continue;
		for (size_t i = 0; i < n->nbinaries; i++)
			if (match_binary(n->binaries[i].path, binaries[j]))
				return (ssize_t)j;
	}
	return -1;
}

static const char reason_no_endpoint[] = "no_endpoint";
static const char reason_binary[] = "binary_not_allowed";
static const char reason_port[] = "port_not_allowed";

static void
set_from(struct match_result *ret, const char *reason,
	 const struct policy_network *n, const struct policy_endpoint *e)
{
	ret->reason = reason;
	ret->network = n;
	ret->policy_key = n->key;
	ret->policy_name = n->name;
	ret->endpoint = e;
}

/*
 * Keeps the most telling miss: an endpoint that lists host:port but not the
 * binary says more than one that lists the host on another port. The first
 * of each kind, in policy order, is kept.
 */
static void
note_miss(struct match_result *ret, const char *reason,
	  const struct policy_network *n, const struct policy_endpoint *e)
{
	if (ret->reason == reason_no_endpoint ||
	    (ret->reason == reason_port && reason == reason_binary))
		set_from(ret, reason, n, e);
}

/* Whether n allows; otherwise notes why its endpoints did not. */
static bool
match_network(const struct policy_network *n, const char *host, uint16_t port,
	      const char *const *binaries, size_t nbinaries,
	      struct match_result *ret)
{
	ssize_t bin = -2; /* not looked up yet */

	for (size_t i = 0; i < n->nendpoints; i++) {
		const struct policy_endpoint *e = &n->endpoints[i];

		if (!endpoint_host_matches(e, host))
			continue;
		if (!endpoint_has_port(e, port)) {
			/* A hostless endpoint lists no host in particular. */
			if (e->host)
				note_miss(ret, reason_port, n, e);
			continue;
		}
		if (bin == -2)
			bin = network_binary(n, binaries, nbinaries);
		if (bin < 0) {
			note_miss(ret, reason_binary, n, e);
			continue;
		}
		set_from(ret, NULL, n, e);
		ret->allowed = true;
		ret->enforcement = e->enforcement;
		ret->binary_index = bin;
		return true;
	}
	return false;
}

int
match_endpoint(const struct policy *p, const char *host, uint16_t port,
	       const char *const *binaries, size_t nbinaries,
	       struct match_result *ret)
{
	if (!host || !ret || (nbinaries > 0 && !binaries))
		return -EINVAL;
	*ret = (struct match_result){
		.reason = reason_no_endpoint,
		.enforcement = POLICY_ENFORCE,
		.binary_index = -1,
	};
	for (size_t i = 0; p && i < p->nnetworks; i++)
		if (match_network(&p->networks[i], host, port, binaries,
				  nbinaries, ret))
			break;
	return 0;
}

bool
match_could_allow_host(const struct policy *p, const char *host)
{
	for (size_t i = 0; p && i < p->nnetworks; i++) {
		const struct policy_network *n = &p->networks[i];

		/* A policy without binaries allows nobody. */
		if (n->nbinaries == 0)
			continue;
		for (size_t j = 0; j < n->nendpoints; j++)
			if (endpoint_host_matches(&n->endpoints[j], host))
				return true;
	}
	return false;
}

/*
 * IPv4 ranges, first match wins. Decisions beyond RFC 6890's table:
 * benchmark (198.18/15, also brig's synthetic DNS range), 192.0.0/24 and
 * the documentation ranges are private: no Internet host answers there, so
 * a name that resolves there points into someone's own network, and
 * allowed_ips can still open them. 240/4 (with the broadcast address) and
 * the retired 6to4 relay anycast 192.88.99/24 are reserved: refused always.
 */
static const struct v4_range {
	uint32_t net;
	uint8_t bits;
	uint8_t cls;
} v4_ranges[] = {
	{ 0x00000000, 8, ADDR_UNSPECIFIED }, /* 0/8 "this network" */
	{ 0x0a000000, 8, ADDR_PRIVATE }, /* 10/8 */
	{ 0x64400000, 10, ADDR_PRIVATE }, /* 100.64/10 CGNAT */
	{ 0x7f000000, 8, ADDR_LOOPBACK }, /* 127/8 */
	{ 0xa9fe0000, 16, ADDR_LINK_LOCAL }, /* 169.254/16 */
	{ 0xac100000, 12, ADDR_PRIVATE }, /* 172.16/12 */
	{ 0xc0000000, 24, ADDR_PRIVATE }, /* 192.0.0/24 IETF */
	{ 0xc0000200, 24, ADDR_PRIVATE }, /* 192.0.2/24 TEST-NET-1 */
	{ 0xc0586300, 24, ADDR_RESERVED }, /* 192.88.99/24 */
	{ 0xc0a80000, 16, ADDR_PRIVATE }, /* 192.168/16 */
	{ 0xc6120000, 15, ADDR_PRIVATE }, /* 198.18/15 benchmark */
	{ 0xc6336400, 24, ADDR_PRIVATE }, /* 198.51.100/24 TEST-NET-2 */
	{ 0xcb007100, 24, ADDR_PRIVATE }, /* 203.0.113/24 TEST-NET-3 */
	{ 0xe0000000, 4, ADDR_MULTICAST }, /* 224/4 */
	{ 0xf0000000, 4, ADDR_RESERVED }, /* 240/4, 255.255.255.255 */
};

static enum addr_class
classify_v4(const uint8_t *b)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		     (uint32_t)b[2] << 8 | b[3];

	for (size_t i = 0; i < ARRAY_SIZE(v4_ranges); i++) {
		uint32_t mask = ~UINT32_C(0) << (32 - v4_ranges[i].bits);

		if ((a & mask) == v4_ranges[i].net)
			return (enum addr_class)v4_ranges[i].cls;
	}
	return ADDR_PUBLIC;
}

/*
 * IPv6 prefixes that carry an IPv4 address, and where. An attacker who
 * controls DNS answers could otherwise reach 127.0.0.1 as
 * ::ffff:127.0.0.1 or, through a NAT64 gateway, as 64:ff9b::7f00:1.
 */
static const struct v6_embedding {
	uint8_t prefix[16];
	uint8_t bits;
	uint8_t offset;
} v6_embeddings[] = {
	{ { [10] = 0xff, [11] = 0xff }, 96, 12 }, /* ::ffff:0:0/96 mapped */
	{ { [8] = 0xff, [9] = 0xff }, 96, 12 }, /* ::ffff:0:0:0/96 SIIT */
	{ { 0x00, 0x64, 0xff, 0x9b }, 96, 12 }, /* 64:ff9b::/96 NAT64 */
	{ { 0x20, 0x02 }, 16, 2 }, /* 2002::/16 6to4 */
	{ { 0 }, 96, 12 }, /* ::/96 compatible (deprecated) */
};

/*
 * Other IPv6 ranges, first match wins; outside them only global unicast
 * (2000::/3) is public and everything else is reserved. 2001::/23 (IETF
 * protocol assignments: Teredo, which hides an IPv4 address, ORCHID,
 * benchmarking) is reserved; documentation, the local-use NAT64 prefix and
 * the deprecated site-local range are private, like their IPv4 kin.
 */
static const struct v6_range {
	uint8_t prefix[16];
	uint8_t bits;
	uint8_t cls;
} v6_ranges[] = {
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, ADDR_PRIVATE },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, ADDR_PRIVATE }, /* 2001:db8::/32 */
	{ { 0x20, 0x01 }, 23, ADDR_RESERVED }, /* 2001::/23 */
	{ { 0x3f, 0xff }, 20, ADDR_PRIVATE }, /* 3fff::/20 documentation */
	{ { 0xfc }, 7, ADDR_PRIVATE }, /* fc00::/7 ULA */
	{ { 0xfe, 0x80 }, 10, ADDR_LINK_LOCAL }, /* fe80::/10 */
	{ { 0xfe, 0xc0 }, 10, ADDR_PRIVATE }, /* fec0::/10 site-local */
	{ { 0xff }, 8, ADDR_MULTICAST }, /* ff00::/8 */
	{ { 0x20 }, 3, ADDR_PUBLIC }, /* 2000::/3 global unicast */
};

static enum addr_class
classify_v6(const uint8_t *b)
{
	static const uint8_t zero[16], one[16] = { [15] = 1 };

	if (memcmp(b, zero, 16) == 0)
		return ADDR_UNSPECIFIED;
	if (memcmp(b, one, 16) == 0)
		return ADDR_LOOPBACK;
	for (size_t i = 0; i < ARRAY_SIZE(v6_embeddings); i++) {
		const struct v6_embedding *e = &v6_embeddings[i];

		if (prefix_match(b, e->prefix, e->bits))
			return classify_v4(b + e->offset);
	}
	for (size_t i = 0; i < ARRAY_SIZE(v6_ranges); i++)
		if (prefix_match(b, v6_ranges[i].prefix, v6_ranges[i].bits))
			return (enum addr_class)v6_ranges[i].cls;
	return ADDR_RESERVED;
}

static bool
sockaddr_ip(const struct sockaddr *sa, struct ipaddr *ret)
{
	if (!sa)
		return false;
	ret->family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(ret->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(ret->b, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		       16);
	else
		return false;
	return true;
}

enum addr_class
match_classify_addr(const struct sockaddr *sa)
{
	struct ipaddr a;

	if (!sockaddr_ip(sa, &a))
		return ADDR_RESERVED;
	return a.family == AF_INET ? classify_v4(a.b) : classify_v6(a.b);
}

static const char *const class_names[] = {
	[ADDR_PUBLIC] = "public",           [ADDR_PRIVATE] = "private",
	[ADDR_LOOPBACK] = "loopback",       [ADDR_LINK_LOCAL] = "link_local",
	[ADDR_UNSPECIFIED] = "unspecified", [ADDR_MULTICAST] = "multicast",
	[ADDR_RESERVED] = "reserved",
};

static const char *const class_refusals[] = {
	[ADDR_PRIVATE] = "private_refused",
	[ADDR_LOOPBACK] = "loopback_refused",
	[ADDR_LINK_LOCAL] = "link_local_refused",
	[ADDR_UNSPECIFIED] = "unspecified_refused",
	[ADDR_MULTICAST] = "multicast_refused",
	[ADDR_RESERVED] = "reserved_refused",
};

const char *
match_addr_class_name(enum addr_class c)
{
	if ((size_t)c >= ARRAY_SIZE(class_names))
		return "unknown";
	return class_names[c];
}

static bool
cidr_contains(const struct policy_cidr *c, const struct ipaddr *a)
{
	unsigned max = a->family == AF_INET ? 32 : 128;

	return c->family == a->family && c->prefix <= max &&
	       prefix_match(a->b, c->addr, c->prefix);
}

/* Both spellings of a v4 address are tried, whichever the policy used. */
static bool
in_allowed_ips(const struct policy_endpoint *ep, const struct sockaddr *sa)
{
	struct ipaddr a, alt;

	if (!sockaddr_ip(sa, &a))
		return false;
	fold_mapped(&a);
	alt = (struct ipaddr){ .family = AF_INET6 };
	memcpy(alt.b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	memcpy(alt.b + 12, a.b, 4);
	for (size_t i = 0; i < ep->nallowed_ips; i++) {
		const struct policy_cidr *c = &ep->allowed_ips[i];

		if (cidr_contains(c, &a) ||
		    (a.family == AF_INET && cidr_contains(c, &alt)))
			return true;
	}
	return false;
}

bool
match_addr_allowed(const struct policy_endpoint *ep, const struct sockaddr *sa,
		   const char **ret_reason)
{
	enum addr_class c = match_classify_addr(sa);
	const char *reason = NULL;

	if (c != ADDR_PUBLIC && c != ADDR_PRIVATE)
		reason = class_refusals[c];
	else if (ep && ep->nallowed_ips > 0)
		reason = in_allowed_ips(ep, sa) ? NULL : "not_in_allowed_ips";
	else if (c == ADDR_PRIVATE)
		reason = class_refusals[c];
	if (ret_reason)
		*ret_reason = reason;
	return !reason;
}

/* 1-5 digits, 1..65535: no sign, no space, no empty port. */
static int
parse_port(const char *s, size_t len, uint16_t *ret)
{
	uint32_t v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* "[v6]" or "[v6]:port": sets the host (inside brackets) and port parts. */
static int
split_bracketed(const char *s, size_t len, const char **host, size_t *hn,
		const char **port, size_t *pn)
{
	const char *close = memchr(s, ']', len);
	const char *end = s + len;

	if (!close)
		return -EINVAL;
	*host = s + 1;
	*hn = (size_t)(close - *host);
	if (close + 1 == end)
		return 0;
	if (close[1] != ':')
		return -EINVAL;
	*port = close + 2;
	*pn = (size_t)(end - *port);
	return 0;
}

/* "host" or "host:port"; a second colon means unbracketed IPv6. */
static int
split_plain(const char *s, size_t len, const char **host, size_t *hn,
	    const char **port, size_t *pn)
{
	const char *colon = memchr(s, ':', len);

	*host = s;
	*hn = colon ? (size_t)(colon - s) : len;
	if (!colon)
		return 0;
	if (memchr(colon + 1, ':', (size_t)(s + len - colon - 1)))
		return -EINVAL;
	*port = colon + 1;
	*pn = (size_t)(s + len - *port);
	return 0;
}

/* Hex digits, colons and the dots of a trailing dotted quad only: no zone
 * ("%eth0"), no NUL that would cut inet_pton's string short. */
static int
check_v6_literal(const char *h, size_t hn)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (hn == 0 || hn >= sizeof(buf))
		return -EINVAL;
	for (size_t i = 0; i < hn; i++)
		if (!is_hex(h[i]) && h[i] != ':' && h[i] != '.')
			return -EINVAL;
	memcpy(buf, h, hn);
	buf[hn] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1 ? 0 : -EINVAL;
}

static int
check_name(const char *h, size_t *hn)
{
	struct ipaddr ip;

	if (*hn > 0 && h[*hn - 1] == '.')
		(*hn)--;
	if (!name_valid(h, *hn))
		return -EINVAL;
	if (last_label_numeric(h, *hn) && !parse_ip_literal(h, *hn, &ip))
		return -EINVAL;
	return 0;
}

static int
copy_lower(const char *h, size_t hn, char *out, size_t outlen)
{
	if (hn >= outlen)
		return -ENOBUFS;
	for (size_t i = 0; i < hn; i++)
		out[i] = lower(h[i]);
	out[hn] = '\0';
	return 0;
}

int
match_split_authority(const char *s, size_t len, char *host, size_t hostlen,
		      uint16_t *port, uint16_t default_port)
{
	const char *h = NULL, *ps = NULL;
	size_t hn = 0, pn = 0;
	bool v6 = len > 0 && s && s[0] == '[';
	int r;

	if (!s || !host || !port || len == 0 || memchr(s, '\0', len))
		return -EINVAL;
	r = v6 ? split_bracketed(s, len, &h, &hn, &ps, &pn)
	       : split_plain(s, len, &h, &hn, &ps, &pn);
	if (r == 0)
		r = v6 ? check_v6_literal(h, hn) : check_name(h, &hn);
	if (r < 0)
		return r;
	if (ps)
		r = parse_port(ps, pn, port);
	else if (default_port == 0)
		r = -EINVAL;
	else
		*port = default_port;
	return r < 0 ? r : copy_lower(h, hn, host, hostlen);
}
