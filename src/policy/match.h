/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy matching (DESIGN.md sections 4, 5 and 7): which host a pattern
 * names, which executable a binary glob names, whether a (host, port,
 * caller) triple is allowed, and whether an address may be dialed. Every
 * function here is pure: no I/O, no allocation, nothing but its arguments,
 * so the proxy can call them per connection and a fuzzer can drive them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "policy/policy.h"

/* The longest host name (RFC 1035) and executable path compared. */
#define MATCH_HOST_MAX 253
#define MATCH_PATH_MAX 4096

/*
 * Whether host is named by pattern. Names compare case-insensitively, label
 * by label: "*" as a whole label is exactly one label, "*" inside a label
 * stands for any run of characters within it, "**" as a whole label is one
 * or more labels. One trailing dot on either side is ignored. An IP-literal
 * pattern ("10.0.0.1", "::1", "[::1]") matches only the same address
 * however the host spells it; an IP-literal host matches nothing else. A
 * host that is empty, has an empty or overlong label, a character outside
 * [A-Za-z0-9_-], or a numeric last label that is not a dotted quad (such as
 * "2130706433" or "0x7f.1") matches nothing.
 */
bool match_host(const char *pattern, const char *host);

/*
 * Whether the executable at path is named by pattern. "*" is any run of
 * characters within one path segment and "**" (or more stars) any run
 * across segments; a "**" that is a whole segment may also stand for no
 * segment at all, so "/usr/" "**" "/node" names "/usr/node" as well as
 * "/usr/local/bin/node".
 * Everything else is literal and case-sensitive.
 * Both must be absolute and at most MATCH_PATH_MAX bytes, and path must be
 * canonical (no empty, "." or ".." segment, no trailing "/"), as
 * /proc/PID/exe gives it. The work is bounded by the product of the two
 * lengths; there is no backtracking.
 */
bool match_binary(const char *pattern, const char *path);

/* What match_endpoint decided, and from which part of the policy. */
struct match_result {
	bool allowed;
	/* NULL when allowed; else "no_endpoint" (no policy lists host:port),
	 * "binary_not_allowed" (listed, not for these binaries) or
	 * "port_not_allowed" (the host is listed, not on this port). */
	const char *reason;
	/* The policy and endpoint that allowed the connection or, for a
	 * denial, the nearest miss (NULL for "no_endpoint"). They point into
	 * the policy, so they live as long as it does. */
	const struct policy_network *network;
	const char *policy_key;
	const char *policy_name;
	const struct policy_endpoint *endpoint;
	/* How the endpoint's request rules apply once the connection is
	 * allowed: POLICY_AUDIT logs a rule violation and lets the request
	 * through. It never turns a denial here into an allow. */
	enum policy_enforcement enforcement;
	/* Index into binaries[] of the executable that matched, else -1. */
	ssize_t binary_index;
};

/*
 * Matches one caller against p (NULL is the empty policy). binaries[0] is
 * the calling executable and the others its ancestors', by path inside the
 * sandbox; a NULL entry (not identified) matches nothing. A policy allows
 * when one of its endpoints matches host and port and one of its binary
 * patterns matches any of binaries[]; any allowing policy allows. An
 * endpoint without a host (allowed_ips only) matches every host on its
 * ports, as in OpenShell: its addresses are checked later, by
 * match_addr_allowed. Among several allowing endpoints the first in policy
 * order wins. When a socket has several holders, the caller asks once per
 * holder and allows only if every answer allows. Returns 0, or -EINVAL when
 * host or ret is NULL, or binaries is NULL with nbinaries > 0.
 */
int match_endpoint(const struct policy *p, const char *host, uint16_t port,
		   const char *const *binaries, size_t nbinaries,
		   struct match_result *ret);

/*
 * Whether any endpoint of p, on any port and for any binary, could allow
 * host: the DNS stub answers only such names. An endpoint without a host
 * could allow every name.
 */
bool match_could_allow_host(const struct policy *p, const char *host);

enum addr_class {
	ADDR_PUBLIC,
	ADDR_PRIVATE, /* RFC 1918, CGNAT, ULA, benchmark, documentation */
	ADDR_LOOPBACK,
	ADDR_LINK_LOCAL, /* includes cloud metadata, 169.254.169.254 */
	ADDR_UNSPECIFIED,
	ADDR_MULTICAST,
	ADDR_RESERVED, /* not routable or not assigned; unknown families */
};

/*
 * Classifies an AF_INET or AF_INET6 address. An IPv6 address that carries
 * an IPv4 one (mapped, compatible, SIIT-translated, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) gets the class of the IPv4 address. See match.c for the
 * table of ranges.
 */
enum addr_class match_classify_addr(const struct sockaddr *sa);
/* "public", "private", "loopback", ... for events. */
const char *match_addr_class_name(enum addr_class c);

/*
 * The SSRF rule of DESIGN.md section 4 for one resolved address of an
 * endpoint that matched: loopback, link-local, unspecified, multicast and
 * reserved addresses are always refused. When the endpoint has allowed_ips,
 * the address must lie inside one of them, public or not (OpenShell: the
 * resolved addresses must fall within allowed_ips). Without allowed_ips,
 * public addresses are allowed and private ones refused. IPv4 and
 * IPv4-mapped IPv6 forms of one address are the same address. On refusal
 * sets *ret_reason (when not NULL) to "loopback_refused",
 * "link_local_refused", "unspecified_refused", "multicast_refused",
 * "reserved_refused", "private_refused" or "not_in_allowed_ips"; on success
 * to NULL. ep may be NULL, meaning no allowed_ips.
 */
bool match_addr_allowed(const struct policy_endpoint *ep,
			const struct sockaddr *sa, const char **ret_reason);

/*
 * Splits a CONNECT authority or Host header value (len bytes, no NUL
 * needed) into a lower-case host, without brackets or a trailing dot, and
 * a port: "host:port", "[v6]:port", or "host" (then default_port, which
 * must not be 0). Refuses with -EINVAL: an empty or overlong host or label,
 * any byte outside [A-Za-z0-9._-] in a name (so NUL, spaces, userinfo "@",
 * percent-encoding), an IPv6 literal without brackets or that inet_pton
 * refuses, a port that is empty, 0, above 65535 or not all digits, and a
 * name whose last label is numeric but that is not a dotted quad
 * ("2130706433", "0177.0.0.1", "0x7f.1"), which resolvers would read as an
 * IPv4 address behind the classifier's back. -ENOBUFS when host (hostlen
 * bytes) is too small.
 */
int match_split_authority(const char *s, size_t len, char *host, size_t hostlen,
			  uint16_t *port, uint16_t default_port);
