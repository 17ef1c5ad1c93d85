/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy matching tests: tables for host patterns, binary globs, address
 * classes, the SSRF rule and the authority parser; the binary matcher
 * against a plain recursive reference on random short inputs; and realistic
 * queries against the shared example and compat policies.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fdutil.h"
#include "common/util.h"
#include "policy/match.h"
#include "policy/policy.h"
#include "tap.h"

struct host_case {
	const char *pattern, *host;
	bool want;
};

static const struct host_case host_cases[] = {
	{ "api.github.com", "api.github.com", true },
	{ "api.github.com", "API.GitHub.COM", true },
	{ "API.GITHUB.COM", "api.github.com", true },
	{ "api.github.com", "api.github.com.", true },
	{ "api.github.com.", "api.github.com", true },
	{ "api.github.com", "api.github.com..", false },
	{ "api.github.com", "github.com", false },
	{ "api.github.com", "xapi.github.com", false },
	{ "api.github.com", "api.github.co", false },
	{ "api.github.com", "", false },
	{ "api.github.com", ".", false },
	{ "*.example.com", "a.example.com", true },
	{ "*.example.com", "A-1_x.EXAMPLE.com", true },
	{ "*.example.com", "example.com", false },
	{ "*.example.com", "a.b.example.com", false },
	{ "*.example.com", ".example.com", false },
	{ "*.example.com", "a..example.com", false },
	{ "*.example.com", "a.example.org", false },
	{ "**.example.com", "a.example.com", true },
	{ "**.example.com", "a.b.example.com", true },
	{ "**.example.com", "a.b.c.d.example.com", true },
	{ "**.example.com", "example.com", false },
	{ "**.example.com", "a.b.example.org", false },
	{ "**.example.com", "example.com.evil.net", false },
	{ "*.s3.*.amazonaws.com", "b.s3.us-east-1.amazonaws.com", true },
	{ "*.s3.*.amazonaws.com", "b.s3.amazonaws.com", false },
	{ "*.s3.*.amazonaws.com", "b.s3.x.y.amazonaws.com", false },
	{ "*-aiplatform.googleapis.com",
	  "us-central1-aiplatform.googleapis.com", true },
	{ "*-aiplatform.googleapis.com", "aiplatform.googleapis.com", false },
	{ "*-aiplatform.googleapis.com", "a.b-aiplatform.googleapis.com",
	  false },
	{ "api-*.example.com", "api-eu.example.com", true },
	{ "api-*.example.com", "web-eu.example.com", false },
	/* Handled generally, though the loader refuses these forms. */
	{ "a.**.example.com", "a.x.y.example.com", true },
	{ "a.**.example.com", "a.example.com", false },
	{ "**.**.example.com", "a.example.com", false },
	{ "**.**.example.com", "a.b.example.com", true },
	{ "a.**", "a.b.c", true },
	{ "a..b", "a.b", false },
	{ "", "a.b", false },
	/* IP literals match only the same address. */
	{ "10.0.0.1", "10.0.0.1", true },
	{ "10.0.0.1", "10.0.0.01", false },
	{ "10.0.0.1", "10.1", false },
	{ "10.0.0.1", "167772161", false },
	{ "10.0.0.1", "0x0a.0.0.1", false },
	{ "10.0.0.1", "10.0.0.2", false },
	{ "10.0.0.1", "::ffff:10.0.0.1", true },
	{ "10.0.0.1", "[::ffff:a00:1]", true },
	{ "::1", "::1", true },
	{ "::1", "[::1]", true },
	{ "[::1]", "0:0:0:0:0:0:0:1", true },
	{ "2001:DB8::1", "2001:db8:0::1", true },
	{ "2001:db8::1", "[2001:0DB8:0000:0000:0000:0000:0000:0001]", true },
	{ "2001:db8::1", "2001:db8::2", false },
	{ "*.0.0.1", "10.0.0.1", false },
	{ "*.example.com", "[::1]", false },
	{ "10.0.0.1", "a.example.com", false },
	/* Hosts no pattern may match. */
	{ "*.example.com", "a b.example.com", false },
	{ "*.example.com", "a%2e.example.com", false },
	{ "*.example.com", "*.example.com", false },
	{ "*.example.com", "a@example.com", false },
	{ "*.com", "2130706433", false },
	{ "2130706433", "2130706433", false },
	{ "*.example.com",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  ".example.com",
	  false },
};

static void
test_hosts(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(host_cases); i++) {
		const struct host_case *c = &host_cases[i];
		bool got = match_host(c->pattern, c->host);

		tap_ok(got == c->want, "match_host('%s', '%s') is %s",
		       c->pattern, c->host, c->want ? "true" : "false");
	}
	tap_ok(!match_host(NULL, "a.b") && !match_host("a.b", NULL),
	       "match_host with NULL is false");
}

struct binary_case {
	const char *pattern, *path;
	bool want;
};

static const struct binary_case binary_cases[] = {
	{ "/usr/bin/curl", "/usr/bin/curl", true },
	{ "/usr/bin/curl", "/usr/bin/curl2", false },
	{ "/usr/bin/curl", "/usr/bin/Curl", false },
	{ "/usr/bin/curl", "/bin/curl", false },
	{ "/usr/lib/node_modules/@openai/**",
	  "/usr/lib/node_modules/@openai/codex/bin/codex.js", true },
	{ "/usr/lib/node_modules/@openai/**",
	  "/usr/lib/node_modules/@openai-x/codex", false },
	{ "/usr/lib/node_modules/@openai/**", "/usr/lib/node_modules/@openai",
	  false },
	{ "/usr/bin/*", "/usr/bin/python3", true },
	{ "/usr/bin/*", "/usr/bin/x/y", false },
	{ "/usr/bin/*", "/usr/bin", false },
	{ "/usr/bin/py*", "/usr/bin/python3.12", true },
	{ "/usr/bin/py*3", "/usr/bin/python3", true },
	{ "/usr/bin/py*3", "/usr/bin/python3.12", false },
	{ "/usr/*/python3", "/usr/bin/python3", true },
	{ "/usr/*/python3", "/usr/local/bin/python3", false },
	{ "/usr/**/python3", "/usr/local/bin/python3", true },
	{ "/usr/**/python3", "/usr/python3", true },
	{ "/usr/**/python3", "/usr/bin/python3x", false },
	{ "/usr/**/python3", "/usrx/python3", false },
	{ "/usr/**python3", "/usr/bin/cpython3", true },
	{ "/a/**/b/**/c", "/a/b/c", true },
	{ "/a/**/b/**/c", "/a/x/y/b/z/c", true },
	{ "/a/**/b/**/c", "/a/x/c", false },
	{ "/**", "/anything/at/all", true },
	{ "/**/bin/node", "/bin/node", true },
	{ "/**/bin/node", "/usr/local/bin/node", true },
	{ "/*/*/node", "/usr/bin/node", true },
	{ "/*/*/node", "/usr/local/bin/node", false },
	{ "/usr/lib/node_modules/@github/copilot/node_modules/@github/**/"
	  "copilot",
	  "/usr/lib/node_modules/@github/copilot/node_modules/@github/"
	  "copilot-linux-x64/copilot",
	  true },
	{ "/usr/lib/node_modules/@github/copilot/node_modules/@github/**/"
	  "copilot",
	  "/usr/lib/node_modules/@github/copilot/node_modules/@github/copilot",
	  true },
	{ "/sandbox/.uv/python/**",
	  "/sandbox/.uv/python/cpython-3.12-linux/bin/python3", true },
	{ "/usr/bin/**", "/usr/bin/../../sandbox/evil", false },
	{ "/usr/bin/**", "/usr/bin/./curl", false },
	{ "/usr/bin/**", "/usr/bin//curl", false },
	{ "/usr/bin/*", "/usr/bin/curl/", false },
	{ "/usr/bin/*", "usr/bin/curl", false },
	{ "usr/bin/*", "/usr/bin/curl", false },
	{ "/usr/bin/curl", "", false },
	{ "/usr/bin/a*b*c*d", "/usr/bin/axxbxxcxxd", true },
	{ "/usr/bin/a*b*c*d", "/usr/bin/axxbxxcxx/d", false },
};

static void
test_binaries(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(binary_cases); i++) {
		const struct binary_case *c = &binary_cases[i];
		bool got = match_binary(c->pattern, c->path);

		tap_ok(got == c->want, "match_binary('%s', '%s') is %s",
		       c->pattern, c->path, c->want ? "true" : "false");
	}
	tap_ok(!match_binary(NULL, "/a") && !match_binary("/a", NULL),
	       "match_binary with NULL is false");
}

/*
 * The reference: the glob semantics written as directly as possible, by
 * recursion. It is exponential in the number of stars, so it only sees
 * short inputs.
 */
static bool
ref_glob(const char *start, const char *p, const char *s)
{
	if (!*p)
		return !*s;
	if (p[0] == '*' && p[1] == '*') {
		const char *q = p + strspn(p, "*");

		if (p > start && p[-1] == '/' && *q == '/' &&
		    ref_glob(start, q + 1, s))
			return true;
		for (const char *t = s;; t++) {
			if (ref_glob(start, q, t))
				return true;
			if (!*t)
				return false;
		}
	}
	if (*p == '*') {
		for (const char *t = s;; t++) {
			if (ref_glob(start, p + 1, t))
				return true;
			if (!*t || *t == '/')
				return false;
		}
	}
	return *s == *p && ref_glob(start, p + 1, s + 1);
}

static bool
ref_canonical(const char *s)
{
	if (s[0] != '/')
		return false;
	return !strstr(s, "//") && !strstr(s, "/./") && !strstr(s, "/../") &&
	       !(strlen(s) > 1 && s[strlen(s) - 1] == '/') &&
	       !(strlen(s) >= 2 && streq(s + strlen(s) - 2, "/.")) &&
	       !(strlen(s) >= 3 && streq(s + strlen(s) - 3, "/.."));
}

static bool
ref_binary(const char *pattern, const char *path)
{
	if (pattern[0] != '/' || !ref_canonical(path))
		return false;
	return ref_glob(pattern, pattern, path);
}

static void
random_string(char *out, size_t max, const char *alphabet, bool star)
{
	size_t n = (size_t)rand() % max, k = strlen(alphabet);

	out[0] = '/';
	for (size_t i = 1; i <= n; i++)
		out[i] = star && rand() % 3 == 0 ? '*' : alphabet[rand() % k];
	out[n + 1] = '\0';
}

static void
test_binary_reference(void)
{
	char p[16], s[16];
	size_t n = 200000, agree = 0, matched = 0;

	srand(12345);
	for (size_t i = 0; i < n; i++) {
		bool got, want;

		random_string(p, 12, "ab/.", true);
		random_string(s, 12, "ab/.", false);
		got = match_binary(p, s);
		want = ref_binary(p, s);
		matched += want;
		if (got == want)
			agree++;
		else if (agree + 5 > i)
			printf("# mismatch: '%s' '%s' got %d want %d\n", p, s,
			       got, want);
	}
	tap_ok(agree == n,
	       "match_binary agrees with the reference on %zu "
	       "random cases (%zu matches)",
	       n, matched);
	tap_ok(matched > n / 100, "the random cases include matches");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "/" then unit repeated to fill 4 KiB less the tail, then the tail. */
static void
fill_pattern(char *out, const char *unit, const char *tail)
{
	size_t u = strlen(unit), t = strlen(tail), i = 1;

	out[0] = '/';
	for (; i + u + t <= MATCH_PATH_MAX; i += u)
		memcpy(out + i, unit, u);
	memcpy(out + i, tail, t + 1);
}

/*
 * Patterns that make a backtracking matcher take exponential time, at the
 * 4 KiB limit. The literal suffix refuses the first two at once; the others
 * run the automaton with a thousand or more live positions.
 */
static void
test_binary_worst_case(void)
{
	static char pattern[MATCH_PATH_MAX + 1], path[MATCH_PATH_MAX + 1];
	double t = now();

	memset(path, 'a', MATCH_PATH_MAX);
	path[0] = '/';
	fill_pattern(pattern, "*a", "b");
	tap_ok(!match_binary(pattern, path), "4 KiB '/*a*a...b' fails");
	fill_pattern(pattern, "**a", "b");
	tap_ok(!match_binary(pattern, path), "4 KiB '/**a**a...b' fails");
	fill_pattern(pattern, "*a", "*b*");
	tap_ok(!match_binary(pattern, path), "4 KiB '/*a*a...*b*' fails");
	fill_pattern(pattern, "**a", "**b**");
	tap_ok(!match_binary(pattern, path), "4 KiB '/**a**a...**b**' fails");
	path[MATCH_PATH_MAX - 1] = 'b';
	tap_ok(match_binary(pattern, path),
	       "and matches once the path has a b");
	/* Backtracking would not finish. The automaton's quadratic worst
	 * case takes under a second optimised, a few under ASan and UBSan. */
	tap_ok(now() - t < 30.0, "worst cases took %.3f s", now() - t);
	path[MATCH_PATH_MAX] = 'a'; /* no NUL within the limit */
	tap_ok(!match_binary("/**", path), "path past MATCH_PATH_MAX refused");
}

static void
sockaddr_from(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
			abort();
	}
}

struct class_case {
	const char *addr;
	enum addr_class want;
};

static const struct class_case class_cases[] = {
	{ "8.8.8.8", ADDR_PUBLIC },
	{ "140.82.112.6", ADDR_PUBLIC },
	{ "1.1.1.1", ADDR_PUBLIC },
	{ "100.63.255.255", ADDR_PUBLIC },
	{ "100.128.0.0", ADDR_PUBLIC },
	{ "172.15.255.255", ADDR_PUBLIC },
	{ "172.32.0.0", ADDR_PUBLIC },
	{ "198.17.255.255", ADDR_PUBLIC },
	{ "198.20.0.0", ADDR_PUBLIC },
	{ "223.255.255.255", ADDR_PUBLIC },
	{ "10.0.0.1", ADDR_PRIVATE },
	{ "10.255.255.255", ADDR_PRIVATE },
	{ "172.16.0.1", ADDR_PRIVATE },
	{ "172.31.255.255", ADDR_PRIVATE },
	{ "192.168.1.1", ADDR_PRIVATE },
	{ "100.64.0.1", ADDR_PRIVATE },
	{ "100.127.255.255", ADDR_PRIVATE },
	{ "198.18.0.1", ADDR_PRIVATE },
	{ "198.19.255.255", ADDR_PRIVATE },
	{ "192.0.0.170", ADDR_PRIVATE },
	{ "192.0.2.1", ADDR_PRIVATE },
	{ "198.51.100.7", ADDR_PRIVATE },
	{ "203.0.113.9", ADDR_PRIVATE },
	{ "127.0.0.1", ADDR_LOOPBACK },
	{ "127.255.255.254", ADDR_LOOPBACK },
	{ "169.254.169.254", ADDR_LINK_LOCAL },
	{ "169.254.0.1", ADDR_LINK_LOCAL },
	{ "0.0.0.0", ADDR_UNSPECIFIED },
	{ "0.1.2.3", ADDR_UNSPECIFIED },
	{ "224.0.0.1", ADDR_MULTICAST },
	{ "239.255.255.250", ADDR_MULTICAST },
	{ "240.0.0.1", ADDR_RESERVED },
	{ "255.255.255.255", ADDR_RESERVED },
	{ "192.88.99.1", ADDR_RESERVED },
	{ "2606:4700::1111", ADDR_PUBLIC },
	{ "2a00:1450:4001::200e", ADDR_PUBLIC },
	{ "fd00::1", ADDR_PRIVATE },
	{ "fc00::1", ADDR_PRIVATE },
	{ "fec0::1", ADDR_PRIVATE },
	{ "2001:db8::1", ADDR_PRIVATE },
	{ "3fff::1", ADDR_PRIVATE },
	{ "64:ff9b:1::1", ADDR_PRIVATE },
	{ "::1", ADDR_LOOPBACK },
	{ "fe80::1", ADDR_LINK_LOCAL },
	{ "febf::1", ADDR_LINK_LOCAL },
	{ "::", ADDR_UNSPECIFIED },
	{ "ff02::1", ADDR_MULTICAST },
	{ "2001::1", ADDR_RESERVED }, /* Teredo */
	{ "2001:10::1", ADDR_RESERVED }, /* ORCHID */
	{ "100::1", ADDR_RESERVED }, /* discard-only */
	{ "4000::1", ADDR_RESERVED }, /* unassigned */
	/* Every IPv4 class again, through each IPv6 embedding. */
	{ "::ffff:8.8.8.8", ADDR_PUBLIC },
	{ "::ffff:10.1.2.3", ADDR_PRIVATE },
	{ "::ffff:127.0.0.1", ADDR_LOOPBACK },
	{ "::ffff:169.254.169.254", ADDR_LINK_LOCAL },
	{ "::ffff:0.0.0.0", ADDR_UNSPECIFIED },
	{ "::ffff:224.0.0.1", ADDR_MULTICAST },
	{ "::ffff:255.255.255.255", ADDR_RESERVED },
	{ "::ffff:0:127.0.0.1", ADDR_LOOPBACK },
	{ "::127.0.0.1", ADDR_LOOPBACK },
	{ "::169.254.169.254", ADDR_LINK_LOCAL },
	{ "::8.8.8.8", ADDR_PUBLIC },
	{ "::0.0.0.2", ADDR_UNSPECIFIED },
	{ "64:ff9b::127.0.0.1", ADDR_LOOPBACK },
	{ "64:ff9b::a9fe:a9fe", ADDR_LINK_LOCAL },
	{ "64:ff9b::192.168.0.1", ADDR_PRIVATE },
	{ "64:ff9b::8.8.8.8", ADDR_PUBLIC },
	{ "2002:7f00:1::1", ADDR_LOOPBACK },
	{ "2002:a9fe:a9fe::", ADDR_LINK_LOCAL },
	{ "2002:c0a8:101::1", ADDR_PRIVATE },
	{ "2002:0808:0808::1", ADDR_PUBLIC },
	{ "2002:e000:1::", ADDR_MULTICAST },
};

static void
test_classes(void)
{
	struct sockaddr_storage ss;
	struct sockaddr sa = { .sa_family = AF_UNIX };

	for (size_t i = 0; i < ARRAY_SIZE(class_cases); i++) {
		const struct class_case *c = &class_cases[i];
		enum addr_class got;

		sockaddr_from(c->addr, &ss);
		got = match_classify_addr((struct sockaddr *)&ss);
		tap_ok(got == c->want, "%s is %s (got %s)", c->addr,
		       match_addr_class_name(c->want),
		       match_addr_class_name(got));
	}
	tap_ok(match_classify_addr(&sa) == ADDR_RESERVED &&
		   match_classify_addr(NULL) == ADDR_RESERVED,
	       "an unknown family or NULL is reserved");
	tap_ok(streq(match_addr_class_name(ADDR_LINK_LOCAL), "link_local") &&
		   streq(match_addr_class_name((enum addr_class)99), "unknown"),
	       "class names");
}

static struct policy *
parse(const char *yaml)
{
	struct policy_error err;
	struct policy *p = NULL;

	if (policy_parse(yaml, strlen(yaml), &p, &err) < 0)
		printf("# refused: %u:%u: %s\n", err.line, err.column,
		       err.message);
	return p;
}

static const char inline_policy[] =
    "version: 1\n"
    "network_policies:\n"
    "  web:\n"
    "    endpoints:\n"
    "      - { host: \"*.example.com\", ports: [80, 443] }\n"
    "      - { host: \"**.example.org\", port: 8443, enforcement: audit }\n"
    "      - { host: 10.1.2.3, port: 9000 }\n"
    "      - { host: \"::1\", port: 9001 }\n"
    "    binaries:\n"
    "      - path: /usr/bin/curl\n"
    "      - path: \"/sandbox/.venv/bin/*\"\n"
    "  db:\n"
    "    endpoints:\n"
    "      - host: db.corp.example\n"
    "        port: 5432\n"
    "        allowed_ips: [10.0.0.0/8, \"fd00::/8\", 8.8.8.0/24]\n"
    "      - host: mapped.corp.example\n"
    "        port: 5432\n"
    "        allowed_ips: [\"::ffff:192.168.1.0/120\"]\n"
    "      - allowed_ips: [172.16.5.0/24]\n"
    "        port: 6379\n"
    "    binaries:\n"
    "      - path: /usr/bin/psql\n"
    "      - path: /usr/bin/redis-cli\n"
    "  idle:\n"
    "    endpoints:\n"
    "      - { host: nobody.example.net, port: 443 }\n"
    "    binaries: []\n";

struct addr_case {
	size_t network, endpoint;
	const char *addr;
	const char *reason; /* NULL: allowed */
};

static const struct addr_case addr_cases[] = {
	{ 0, 0, "140.82.112.6", NULL },
	{ 0, 0, "2606:4700::1111", NULL },
	{ 0, 0, "10.0.0.1", "private_refused" },
	{ 0, 0, "::ffff:192.168.0.1", "private_refused" },
	{ 0, 0, "fd12::1", "private_refused" },
	{ 0, 0, "127.0.0.1", "loopback_refused" },
	{ 0, 0, "::ffff:127.0.0.1", "loopback_refused" },
	{ 0, 0, "64:ff9b::7f00:1", "loopback_refused" },
	{ 0, 0, "169.254.169.254", "link_local_refused" },
	{ 0, 0, "::ffff:169.254.169.254", "link_local_refused" },
	{ 0, 0, "0.0.0.0", "unspecified_refused" },
	{ 0, 0, "::", "unspecified_refused" },
	{ 0, 0, "224.0.0.251", "multicast_refused" },
	{ 0, 0, "255.255.255.255", "reserved_refused" },
	/* A literal host is not an allowed_ips entry (DESIGN.md 4). */
	{ 0, 2, "10.1.2.3", "private_refused" },
	{ 0, 3, "::1", "loopback_refused" },
	{ 1, 0, "10.20.30.40", NULL },
	{ 1, 0, "::ffff:10.20.30.40", NULL },
	{ 1, 0, "fd00::5", NULL },
	{ 1, 0, "8.8.8.8", NULL },
	{ 1, 0, "8.8.4.4", "not_in_allowed_ips" },
	{ 1, 0, "192.168.1.1", "not_in_allowed_ips" },
	{ 1, 0, "fe80::1", "link_local_refused" },
	{ 1, 1, "192.168.1.7", NULL },
	{ 1, 1, "::ffff:192.168.1.7", NULL },
	{ 1, 1, "192.168.2.7", "not_in_allowed_ips" },
	{ 1, 2, "172.16.5.9", NULL },
	{ 1, 2, "172.16.6.9", "not_in_allowed_ips" },
};

static void
test_addr_allowed(const struct policy *p)
{
	struct sockaddr_storage ss;
	const char *reason = "unset";

	for (size_t i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		const struct addr_case *c = &addr_cases[i];
		const struct policy_endpoint *ep =
		    &p->networks[c->network].endpoints[c->endpoint];
		bool got;

		sockaddr_from(c->addr, &ss);
		got = match_addr_allowed(ep, (struct sockaddr *)&ss, &reason);
		tap_ok(got == !c->reason &&
			   (c->reason ? streq(reason, c->reason) : !reason),
		       "%s via %s: %s (got %s)", c->addr,
		       ep->host ? ep->host : "hostless",
		       c->reason ? c->reason : "allowed",
		       reason ? reason : "allowed");
	}
	sockaddr_from("1.2.3.4", &ss);
	tap_ok(match_addr_allowed(NULL, (struct sockaddr *)&ss, NULL),
	       "no endpoint and no reason pointer: public allowed");
	sockaddr_from("10.0.0.1", &ss);
	tap_ok(!match_addr_allowed(NULL, (struct sockaddr *)&ss, NULL),
	       "no endpoint: private refused");
}

struct query {
	const char *host;
	uint16_t port;
	const char *bin[3];
	const char *key; /* expected policy key, NULL for none */
	const char *reason; /* NULL: allowed */
	size_t endpoint; /* index in the policy, when key is set */
};

static void
check_query(const struct policy *p, const char *what, const struct query *q)
{
	size_t n = 0;
	struct match_result r;
	int rc;
	bool ok;

	while (n < ARRAY_SIZE(q->bin) && q->bin[n])
		n++;
	rc = match_endpoint(p, q->host, q->port, q->bin, n, &r);
	ok = rc == 0 && r.allowed == !q->reason &&
	     (q->reason ? streq(r.reason, q->reason) : !r.reason);
	if (q->key)
		ok = ok && streq(r.policy_key, q->key) &&
		     r.endpoint == &r.network->endpoints[q->endpoint];
	else
		ok = ok && !r.policy_key && !r.endpoint && !r.network;
	tap_ok(ok, "%s: %s -> %s:%u: %s in %s (got %s in %s)", what,
	       n ? q->bin[0] : "(none)", q->host, q->port,
	       q->reason ? q->reason : "allowed", q->key ? q->key : "-",
	       r.reason ? r.reason : "allowed",
	       r.policy_key ? r.policy_key : "-");
}

static const struct query inline_queries[] = {
	{ "a.example.com", 443, { "/usr/bin/curl" }, "web", NULL, 0 },
	{ "a.example.com", 80, { "/usr/bin/curl" }, "web", NULL, 0 },
	{ "a.example.com",
	  8080,
	  { "/usr/bin/curl" },
	  "web",
	  "port_not_allowed",
	  0 },
	{ "example.com", 443, { "/usr/bin/curl" }, NULL, "no_endpoint", 0 },
	{ "a.b.example.com", 443, { "/usr/bin/curl" }, NULL, "no_endpoint", 0 },
	{ "a.b.example.org",
	  8443,
	  { "/sandbox/.venv/bin/python" },
	  "web",
	  NULL,
	  1 },
	{ "a.b.example.org",
	  8443,
	  { "/sandbox/.venv/lib/x" },
	  "web",
	  "binary_not_allowed",
	  1 },
	{ "10.1.2.3", 9000, { "/usr/bin/curl" }, "web", NULL, 2 },
	{ "::ffff:10.1.2.3", 9000, { "/usr/bin/curl" }, "web", NULL, 2 },
	{ "[::1]", 9001, { "/usr/bin/curl" }, "web", NULL, 3 },
	{ "db.corp.example", 5432, { "/usr/bin/psql" }, "db", NULL, 0 },
	{ "db.corp.example",
	  5432,
	  { "/usr/bin/curl" },
	  "db",
	  "binary_not_allowed",
	  0 },
	{ "anything.example.net",
	  6379,
	  { "/usr/bin/redis-cli" },
	  "db",
	  NULL,
	  2 },
	/* Hostless endpoints list no host, so a port miss is no_endpoint. */
	{ "anything.example.net",
	  6380,
	  { "/usr/bin/redis-cli" },
	  NULL,
	  "no_endpoint",
	  0 },
	{ "nobody.example.net",
	  443,
	  { "/usr/bin/curl" },
	  "idle",
	  "binary_not_allowed",
	  0 },
	{ "2130706433", 443, { "/usr/bin/curl" }, NULL, "no_endpoint", 0 },
};

static void
test_inline_policy(void)
{
	struct policy *p = parse(inline_policy);
	struct match_result r;
	const char *bin = "/usr/bin/curl";

	tap_ok(p != NULL, "inline policy loads");
	if (!p)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(inline_queries); i++)
		check_query(p, "inline", &inline_queries[i]);
	match_endpoint(p, "x.example.org", 8443, &bin, 1, &r);
	TAP_EQ_INT(r.enforcement, POLICY_AUDIT, "audit endpoint reported");
	match_endpoint(p, "x.example.com", 443, &bin, 1, &r);
	TAP_EQ_INT(r.enforcement, POLICY_ENFORCE, "enforce is the default");
	TAP_EQ_INT(match_endpoint(p, NULL, 443, &bin, 1, &r), -EINVAL,
		   "NULL host is -EINVAL");
	TAP_EQ_INT(match_endpoint(p, "a", 443, NULL, 1, &r), -EINVAL,
		   "NULL binaries with a count is -EINVAL");
	TAP_EQ_INT(match_endpoint(p, "a", 443, &bin, 1, NULL), -EINVAL,
		   "NULL result is -EINVAL");
	tap_ok(match_endpoint(NULL, "a.example.com", 443, &bin, 1, &r) == 0 &&
		   !r.allowed && streq(r.reason, "no_endpoint"),
	       "NULL policy denies everything");
	tap_ok(match_could_allow_host(p, "x.example.com") &&
		   match_could_allow_host(p, "db.corp.example") &&
		   match_could_allow_host(p, "whatever.example"),
	       "could allow: listed names, and any name for a hostless "
	       "endpoint");
	test_addr_allowed(p);
	policy_free(p);
}

static struct policy *
load_shared(const char *shared, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", shared, name);
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (read_file_at(AT_FDCWD, path, POLICY_MAX_BYTES + 1, &text, &len) < 0)
		return NULL;
	return parse(text);
}

#define CURL "/usr/bin/curl"

static const struct query example_queries[] = {
	{ "api.github.com", 443, { CURL }, "github_passthrough", NULL, 0 },
	{ "API.GitHub.com.",
	  443,
	  { "/bin/curl" },
	  "github_passthrough",
	  NULL,
	  0 },
	{ "api.github.com",
	  443,
	  { "/usr/bin/python3" },
	  "github_passthrough",
	  "binary_not_allowed",
	  0 },
	{ "api.github.com",
	  443,
	  { "/usr/bin/python3", "/usr/bin/node" },
	  "github_passthrough",
	  NULL,
	  0 },
	{ "api.github.com",
	  443,
	  { "/usr/bin/python3", "/bin/bash" },
	  "github_passthrough",
	  "binary_not_allowed",
	  0 },
	{ "api.github.com",
	  80,
	  { CURL },
	  "github_passthrough",
	  "port_not_allowed",
	  0 },
	{ "httpbin.org", 443, { CURL }, NULL, "no_endpoint", 0 },
	{ "github.com", 443, { CURL }, NULL, "no_endpoint", 0 },
	{ "x.api.github.com", 443, { CURL }, NULL, "no_endpoint", 0 },
	{ "opencode.ai",
	  443,
	  { "/usr/bin/node" },
	  "opencode_backend",
	  NULL,
	  0 },
	{ "opencode.ai",
	  443,
	  { "/usr/lib/node_modules/opencode-ai/bin/.opencode" },
	  "opencode_backend",
	  NULL,
	  0 },
	{ "opencode.ai",
	  443,
	  { CURL },
	  "opencode_backend",
	  "binary_not_allowed",
	  0 },
	{ "api.github.com",
	  443,
	  { "/sandbox/usr/bin/curl" },
	  "github_passthrough",
	  "binary_not_allowed",
	  0 },
	{ "api.github.com",
	  443,
	  { "/usr/bin/curl/../../../sandbox/x" },
	  "github_passthrough",
	  "binary_not_allowed",
	  0 },
};

static const struct query compat_queries[] = {
	{ "api.anthropic.com",
	  443,
	  { "/usr/bin/node" },
	  "claude_code",
	  NULL,
	  0 },
	{ "api.anthropic.com",
	  443,
	  { CURL },
	  "claude_code",
	  "binary_not_allowed",
	  0 },
	{ "github.com",
	  443,
	  { "/usr/bin/git" },
	  "github_ssh_over_https",
	  NULL,
	  0 },
	{ "api.github.com",
	  443,
	  { "/usr/bin/gh" },
	  "github_rest_api",
	  NULL,
	  0 },
	{ "api.github.com",
	  443,
	  { CURL },
	  "github_rest_api",
	  "binary_not_allowed",
	  0 },
	{ "api.openai.com",
	  443,
	  { "/usr/lib/node_modules/@openai/codex/bin/codex.js" },
	  "codex",
	  NULL,
	  0 },
	{ "chatgpt.com",
	  443,
	  { "/usr/bin/env", "/usr/lib/node_modules/@openai/codex/bin/x" },
	  "codex",
	  NULL,
	  2 },
	{ "api.githubcopilot.com",
	  443,
	  { "/usr/lib/node_modules/@github/copilot/node_modules/@github/"
	    "copilot-linux-x64/copilot" },
	  "copilot",
	  NULL,
	  2 },
	{ "pypi.org",
	  443,
	  { "/sandbox/.uv/python/cpython-3.12/bin/python3" },
	  "pypi",
	  NULL,
	  0 },
	{ "files.pythonhosted.org",
	  443,
	  { "/sandbox/.venv/bin/python" },
	  "pypi",
	  NULL,
	  1 },
	{ "files.pythonhosted.org",
	  443,
	  { "/sandbox/.venv/bin/python3.12" },
	  "pypi",
	  "binary_not_allowed",
	  1 },
	{ "integrate.api.nvidia.com",
	  443,
	  { "/bin/bash" },
	  "nvidia_inference",
	  NULL,
	  0 },
	{ "integrate.api.nvidia.com",
	  8443,
	  { "/bin/bash" },
	  "nvidia_inference",
	  "port_not_allowed",
	  0 },
	{ "api2.cursor.sh",
	  443,
	  { "/sandbox/.cursor-server/bin/node" },
	  "cursor",
	  NULL,
	  1 },
	{ "evil.example", 443, { "/usr/bin/node" }, NULL, "no_endpoint", 0 },
};

static void
test_shared_policies(void)
{
	_cleanup_free_ char *shared = tap_shared_dir();
	_cleanup_free_ char *ex = xasprintf("%s/examples", shared);
	_cleanup_free_ char *co = xasprintf("%s/compat", shared);
	struct policy *p = load_shared(ex, "network-policy.yaml");
	struct policy *c =
	    load_shared(co, "openshell-community-base-policy.yaml");
	struct match_result r;
	const char *git = "/usr/bin/git";

	if (!p || !c) {
		tap_skip("not found", "shared policies under %s", shared);
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(example_queries); i++)
		check_query(p, "example", &example_queries[i]);
	for (size_t i = 0; i < ARRAY_SIZE(compat_queries); i++)
		check_query(c, "compat", &compat_queries[i]);
	match_endpoint(c, "github.com", 443, &git, 1, &r);
	tap_ok(r.allowed && streq(r.policy_name, "github-ssh-over-https") &&
		   r.endpoint->nrules == 2 && r.enforcement == POLICY_ENFORCE &&
		   r.binary_index == 0,
	       "git to github.com gets the endpoint with its L7 rules");
	tap_ok(match_could_allow_host(p, "api.github.com") &&
		   match_could_allow_host(p, "OPENCODE.AI.") &&
		   !match_could_allow_host(p, "httpbin.org") &&
		   !match_could_allow_host(p, "github.com"),
	       "example: names the DNS stub answers");
	tap_ok(
	    match_could_allow_host(c, "release-assets.githubusercontent.com") &&
		!match_could_allow_host(c, "example.com") &&
		!match_could_allow_host(NULL, "api.github.com"),
	    "compat: names the DNS stub answers");
out:
	policy_free(p);
	policy_free(c);
}

struct split_case {
	const char *in;
	int want;
	const char *host;
	uint16_t port;
};

static const struct split_case split_cases[] = {
	{ "api.github.com:443", 0, "api.github.com", 443 },
	{ "API.GitHub.COM:8443", 0, "api.github.com", 8443 },
	{ "api.github.com", 0, "api.github.com", 443 },
	{ "api.github.com.:443", 0, "api.github.com", 443 },
	{ "a_b-c.example:1", 0, "a_b-c.example", 1 },
	{ "h:65535", 0, "h", 65535 },
	{ "h:00080", 0, "h", 80 },
	{ "10.0.0.1:80", 0, "10.0.0.1", 80 },
	{ "127.0.0.1", 0, "127.0.0.1", 443 },
	{ "[::1]:8080", 0, "::1", 8080 },
	{ "[::1]", 0, "::1", 443 },
	{ "[2001:DB8::A]:443", 0, "2001:db8::a", 443 },
	{ "[::ffff:127.0.0.1]:80", 0, "::ffff:127.0.0.1", 80 },
	{ "", -EINVAL, NULL, 0 },
	{ ":443", -EINVAL, NULL, 0 },
	{ ".:443", -EINVAL, NULL, 0 },
	{ "h:", -EINVAL, NULL, 0 },
	{ "h:0", -EINVAL, NULL, 0 },
	{ "h:65536", -EINVAL, NULL, 0 },
	{ "h:99999", -EINVAL, NULL, 0 },
	{ "h:100000", -EINVAL, NULL, 0 },
	{ "h:+443", -EINVAL, NULL, 0 },
	{ "h:-1", -EINVAL, NULL, 0 },
	{ "h:44a", -EINVAL, NULL, 0 },
	{ "h:0x50", -EINVAL, NULL, 0 },
	{ "h: 443", -EINVAL, NULL, 0 },
	{ "h:443 ", -EINVAL, NULL, 0 },
	{ " h:443", -EINVAL, NULL, 0 },
	{ "a b:443", -EINVAL, NULL, 0 },
	{ "h\t:443", -EINVAL, NULL, 0 },
	{ "user@h:443", -EINVAL, NULL, 0 },
	{ "user:pw@h:443", -EINVAL, NULL, 0 },
	{ "h%2ecom:443", -EINVAL, NULL, 0 },
	{ "%31%32%37.0.0.1:80", -EINVAL, NULL, 0 },
	{ "h/x:443", -EINVAL, NULL, 0 },
	{ "h\\x:443", -EINVAL, NULL, 0 },
	{ "a..b:443", -EINVAL, NULL, 0 },
	{ ".a.b:443", -EINVAL, NULL, 0 },
	{ "*.example.com:443", -EINVAL, NULL, 0 },
	{ "h:443:1", -EINVAL, NULL, 0 },
	{ "::1", -EINVAL, NULL, 0 },
	{ "::1:443", -EINVAL, NULL, 0 },
	{ "[::1", -EINVAL, NULL, 0 },
	{ "[::1]443", -EINVAL, NULL, 0 },
	{ "[::1]:", -EINVAL, NULL, 0 },
	{ "[]:443", -EINVAL, NULL, 0 },
	{ "[1.2.3.4]:443", -EINVAL, NULL, 0 },
	{ "[fe80::1%eth0]:443", -EINVAL, NULL, 0 },
	{ "[fe80::1%25eth0]:443", -EINVAL, NULL, 0 },
	{ "[v1.fe]:443", -EINVAL, NULL, 0 },
	{ "[::g]:443", -EINVAL, NULL, 0 },
	{ "2130706433:80", -EINVAL, NULL, 0 },
	{ "0177.0.0.1:80", -EINVAL, NULL, 0 },
	{ "0x7f.1:80", -EINVAL, NULL, 0 },
	{ "0x7f000001", -EINVAL, NULL, 0 },
	{ "127.1", -EINVAL, NULL, 0 },
	{ "127.0.1", -EINVAL, NULL, 0 },
	{ "127.000.000.001", -EINVAL, NULL, 0 },
	{ "1.2.3.4.5", -EINVAL, NULL, 0 },
	{ "1.2.3.0x4", -EINVAL, NULL, 0 },
	{ "example.0x", -EINVAL, NULL, 0 },
	{ "256.0.0.1", -EINVAL, NULL, 0 },
	{ "0x7f.example.com", 0, "0x7f.example.com", 443 },
	{ "1.2.3.4.example", 0, "1.2.3.4.example", 443 },
};

static void
test_split_case(const struct split_case *c)
{
	char host[MATCH_HOST_MAX + 1] = "unset";
	uint16_t port = 0;
	int r = match_split_authority(c->in, strlen(c->in), host, sizeof(host),
				      &port, 443);
	bool ok = r == c->want;

	if (ok && r == 0)
		ok = streq(host, c->host) && port == c->port;
	tap_ok(ok, "split '%s': %d %s:%u (got %d %s:%u)", c->in, c->want,
	       c->host ? c->host : "-", c->port, r, r == 0 ? host : "-",
	       r == 0 ? port : 0);
}

static void
test_split_limits(void)
{
	char in[300], host[300];
	uint16_t port;
	char label[64];

	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(in, sizeof(in), "%s.%s.%s.%s", label, label, label, label);
	in[253] = '\0'; /* 253 bytes: the longest name */
	TAP_EQ_INT(
	    match_split_authority(in, 253, host, sizeof(host), &port, 443), 0,
	    "a 253-byte name is accepted");
	snprintf(in, sizeof(in), "%s.%s.%s.%sa", label, label, label, label);
	in[254] = '\0';
	TAP_EQ_INT(
	    match_split_authority(in, 254, host, sizeof(host), &port, 443),
	    -EINVAL, "a 254-byte name is refused");
	snprintf(in, sizeof(in), "%sa.example", label);
	TAP_EQ_INT(match_split_authority(in, strlen(in), host, sizeof(host),
					 &port, 443),
		   -EINVAL, "a 64-byte label is refused");
	TAP_EQ_INT(match_split_authority("h\0x:443", 7, host, sizeof(host),
					 &port, 443),
		   -EINVAL, "embedded NUL is refused");
	TAP_EQ_INT(match_split_authority("[::1\0]:443", 10, host, sizeof(host),
					 &port, 443),
		   -EINVAL, "embedded NUL in brackets is refused");
	TAP_EQ_INT(match_split_authority("h:443xyz", 5, host, sizeof(host),
					 &port, 443),
		   0, "len bounds the input, no NUL needed");
	TAP_EQ_INT(
	    match_split_authority("example.com", 11, host, 11, &port, 443),
	    -ENOBUFS, "a short output buffer is -ENOBUFS");
	TAP_EQ_INT(match_split_authority("example.com", 11, host, 12, &port, 0),
		   -EINVAL, "no port and no default is refused");
}

static void
test_split(void)
{
	char host[MATCH_HOST_MAX + 1];
	uint16_t port;

	for (size_t i = 0; i < ARRAY_SIZE(split_cases); i++)
		test_split_case(&split_cases[i]);
	test_split_limits();
	/* What the parser accepts, the matcher accepts as itself. */
	for (size_t i = 0; i < ARRAY_SIZE(split_cases); i++) {
		const char *in = split_cases[i].in;

		if (match_split_authority(in, strlen(in), host, sizeof(host),
					  &port, 443) == 0 &&
		    !match_host(host, host))
			tap_ok(false, "split '%s' gives '%s', matching itself",
			       in, host);
	}
}

int main(void);
int
main(void)
{
	test_hosts();
	test_binaries();
	test_binary_reference();
	test_binary_worst_case();
	test_classes();
	test_inline_policy();
	test_shared_policies();
	test_split();
	return tap_done();
}
