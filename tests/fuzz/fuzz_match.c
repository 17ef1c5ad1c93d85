/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for policy matching. The input is split at its first
 * newline into two strings, a and b, and drives every matcher: hosts and
 * binaries both ways, the authority parser, the address classifier and the
 * endpoint decision on a fixed policy. Beyond crashes it checks what must
 * hold whatever the input: a parsed host matches itself, an IPv4 address
 * has the same class in every IPv6 embedding, an allowed request names an
 * endpoint whose host the DNS stub would answer, and on short inputs the
 * binary matcher agrees with a plain recursive one.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/match.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_STR_MAX (MATCH_PATH_MAX + 1)

static const char fuzz_policy[] =
    "version: 1\n"
    "network_policies:\n"
    "  a:\n"
    "    endpoints:\n"
    "      - { host: \"*.example.com\", ports: [80, 443] }\n"
    "      - { host: \"**.example.org\", port: 443, enforcement: audit }\n"
    "      - { host: \"*-api.*.example.net\", port: 443 }\n"
    "      - { host: 10.0.0.1, port: 443 }\n"
    "      - { host: \"2001:db8::1\", port: 443 }\n"
    "      - host: db.example\n"
    "        port: 5432\n"
    "        allowed_ips: [10.0.0.0/8, \"fd00::/8\"]\n"
    "      - { allowed_ips: [192.168.0.0/16], port: 6379 }\n"
    "    binaries:\n"
    "      - path: /usr/bin/curl\n"
    "      - path: \"/usr/lib/node_modules/**/bin/*\"\n"
    "      - path: \"/sandbox/**/*.py*\"\n";

static struct policy *
policy(void)
{
	static struct policy *p;
	struct policy_error err;

	if (!p &&
	    policy_parse(fuzz_policy, sizeof(fuzz_policy) - 1, &p, &err) < 0)
		abort();
	return p;
}

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

/* The semantics, by recursion; exponential, so only for short inputs. */
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
	size_t n = strlen(s);

	if (s[0] != '/' || strstr(s, "//") || strstr(s, "/./") ||
	    strstr(s, "/../"))
		return false;
	if (n > 1 && s[n - 1] == '/')
		return false;
	return !(n >= 2 && !strcmp(s + n - 2, "/.")) &&
	       !(n >= 3 && !strcmp(s + n - 3, "/.."));
}

static void
fuzz_binary(const char *a, const char *b)
{
	bool got = match_binary(a, b);

	if (strlen(a) > 14 || strlen(b) > 14)
		return;
	CHECK(got == (a[0] == '/' && ref_canonical(b) && ref_glob(a, a, b)));
}

static void
fuzz_authority(const uint8_t *data, size_t size)
{
	char host[MATCH_HOST_MAX + 1];
	uint16_t port = 0;

	if (match_split_authority((const char *)data, size, host, sizeof(host),
				  &port, 443) < 0)
		return;
	CHECK(port != 0 && host[0] != '\0');
	for (const char *c = host; *c; c++)
		CHECK(!(*c >= 'A' && *c <= 'Z'));
	CHECK(match_host(host, host));
}

/* An IPv4 address has one class however IPv6 carries it. */
static void
fuzz_classes(const uint8_t *data, size_t size)
{
	static const uint8_t prefixes[][12] = {
		{ [10] = 0xff, [11] = 0xff },
		{ 0x00, 0x64, 0xff, 0x9b },
	};
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	enum addr_class c;

	if (size < 16)
		return;
	memcpy(&in6.sin6_addr, data, 16);
	match_addr_allowed(&policy()->networks[0].endpoints[5],
			   (struct sockaddr *)&in6, NULL);
	memcpy(&in.sin_addr, data, 4);
	c = match_classify_addr((struct sockaddr *)&in);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		memcpy(&in6.sin6_addr, prefixes[i], 12);
		memcpy((uint8_t *)&in6.sin6_addr + 12, data, 4);
		CHECK(match_classify_addr((struct sockaddr *)&in6) == c);
	}
}

static void
fuzz_endpoint(const char *a, const char *b, uint16_t port)
{
	const char *bins[] = { b, a };
	struct match_result r;

	CHECK(match_endpoint(policy(), a, port, bins, 2, &r) == 0);
	CHECK(r.allowed == !r.reason);
	if (r.allowed)
		CHECK(r.endpoint && r.binary_index >= 0 &&
		      match_could_allow_host(policy(), a));
	match_host(a, b);
	match_host(b, a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[FUZZ_STR_MAX + 1], b[FUZZ_STR_MAX + 1];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t alen = nl ? (size_t)(nl - data) : size;
	size_t blen = nl ? size - alen - 1 : size;
	uint16_t port = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 443;

	if (alen > FUZZ_STR_MAX || blen > FUZZ_STR_MAX)
		return 0;
	memcpy(a, data, alen);
	a[alen] = '\0';
	memcpy(b, nl ? nl + 1 : data, blen);
	b[blen] = '\0';
	fuzz_binary(a, b);
	fuzz_authority(data, size);
	fuzz_authority((const uint8_t *)a, alen);
	fuzz_classes(data, size);
	fuzz_endpoint(a, b, port);
	fuzz_endpoint(a, b, 443);
	return 0;
}
