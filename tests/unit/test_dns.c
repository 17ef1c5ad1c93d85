/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS stub tests: queries built here parse, every malformed form is refused
 * with the right answer (or none), allowed names get stable synthetic
 * addresses that map back, and a full table answers SERVFAIL.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fdutil.h"
#include "common/util.h"
#include "policy/policy.h"
#include "proxy/dns.h"
#include "tap.h"

#define RD 0x0100
#define QUERY_ID 0xbeef
/* The synthetic range's size: 198.18.0.0/15. */
#define NET_SIZE (1u << (32 - DNS_NET_BITS))

/* A packet as a literal: its bytes and their number, NULs included. */
#define R(s) s, sizeof(s) - 1
/* A header: id 0x1234, RD, then QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT. */
#define HDR(flags, qd, an, ns, ar) \
	"\x12\x34" flags "\x00" qd "\x00" an "\x00" ns "\x00" ar
#define QHDR HDR("\x01\x00", "\x01", "\x00", "\x00", "\x00")
#define QHDR_AR1 HDR("\x01\x00", "\x01", "\x00", "\x00", "\x01")
/* "api.github.com", type A, class IN. */
#define QNAME    \
	"\x03"   \
	"api"    \
	"\x06"   \
	"github" \
	"\x03"   \
	"com"    \
	"\x00"
#define A_IN "\x00\x01\x00\x01"
/* An EDNS OPT record: root owner, UDP size 1232, no options. */
#define OPT                \
	"\x00"             \
	"\x00\x29"         \
	"\x04\xd0"         \
	"\x00\x00\x00\x00" \
	"\x00\x00"

static const struct raw_case {
	const char *name;
	const char *pkt;
	size_t len;
	int want;
	bool answerable;
} raw_cases[] = {
	{ "a plain A query", R(QHDR QNAME A_IN), 0, true },
	{ "a query with EDNS", R(QHDR_AR1 QNAME A_IN OPT), 0, true },
	{ "EDNS with a cookie option",
	  R(QHDR_AR1 QNAME A_IN "\x00\x00\x29\x04\xd0\x00\x00\x00\x00"
				"\x00\x0c\x00\x0a\x00\x08"
				"12345678"),
	  0, true },
	{ "AD and CD set, as dig sends",
	  R(HDR("\x01\x30", "\x01", "\x00", "\x00", "\x00") QNAME A_IN), 0,
	  true },
	{ "the root name", R(QHDR "\x00" A_IN), 0, true },

	{ "an empty packet", R(""), -EBADMSG, false },
	{ "an 11-byte header",
	  R("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00"), -EBADMSG, false },
	{ "a header only", R(QHDR), -EBADMSG, true },
	{ "QR set: a response",
	  R(HDR("\x81\x00", "\x01", "\x00", "\x00", "\x00") QNAME A_IN),
	  -EBADMSG, false },
	{ "QDCOUNT 0", R(HDR("\x01\x00", "\x00", "\x00", "\x00", "\x00")),
	  -EBADMSG, true },
	{ "QDCOUNT 2",
	  R(HDR("\x01\x00", "\x02", "\x00", "\x00", "\x00")
		QNAME A_IN QNAME A_IN),
	  -EBADMSG, true },
	{ "ANCOUNT 1",
	  R(HDR("\x01\x00", "\x01", "\x01", "\x00", "\x00") QNAME A_IN),
	  -EBADMSG, true },
	{ "NSCOUNT 1",
	  R(HDR("\x01\x00", "\x01", "\x00", "\x01", "\x00") QNAME A_IN),
	  -EBADMSG, true },
	{ "ARCOUNT 2",
	  R(HDR("\x01\x00", "\x01", "\x00", "\x00", "\x02") QNAME A_IN OPT OPT),
	  -EBADMSG, true },
	{ "opcode IQUERY",
	  R(HDR("\x09\x00", "\x01", "\x00", "\x00", "\x00") QNAME A_IN),
	  -ENOTSUP, true },
	{ "opcode STATUS",
	  R(HDR("\x11\x00", "\x01", "\x00", "\x00", "\x00") QNAME A_IN),
	  -ENOTSUP, true },
	{ "opcode NOTIFY",
	  R(HDR("\x21\x00", "\x01", "\x00", "\x00", "\x00") QNAME A_IN),
	  -ENOTSUP, true },
	{ "opcode UPDATE",
	  R(HDR("\x29\x00", "\x01", "\x00", "\x00", "\x00") QNAME A_IN),
	  -ENOTSUP, true },
	{ "a compression pointer as the name", R(QHDR "\xc0\x0c" A_IN),
	  -EBADMSG, true },
	{ "a compression pointer after a label",
	  R(QHDR "\x03"
		 "api"
		 "\xc0\x0c" A_IN),
	  -EBADMSG, true },
	{ "extended label type 01",
	  R(QHDR "\x41"
		 "a"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "label type 10",
	  R(QHDR "\x80"
		 "a"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "a label past the end",
	  R(QHDR "\x05"
		 "ab"),
	  -EBADMSG, true },
	{ "no root label",
	  R(QHDR "\x03"
		 "api"),
	  -EBADMSG, true },
	{ "a truncated type", R(QHDR QNAME "\x00"), -EBADMSG, true },
	{ "a truncated class", R(QHDR QNAME "\x00\x01\x00"), -EBADMSG, true },
	{ "a space in a label",
	  R(QHDR "\x03"
		 "a b"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "a dot in a label",
	  R(QHDR "\x03"
		 "a.b"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "a star label",
	  R(QHDR "\x01"
		 "*"
		 "\x03"
		 "com"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "a NUL in a label",
	  R(QHDR "\x03"
		 "a\0b"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "UTF-8 in a label",
	  R(QHDR "\x02"
		 "\xc3\xa9"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "a slash in a label",
	  R(QHDR "\x03"
		 "a/b"
		 "\x00" A_IN),
	  -EBADMSG, true },
	{ "a byte after the question", R(QHDR QNAME A_IN "\x00"), -EBADMSG,
	  true },
	{ "ARCOUNT 1 without a record", R(QHDR_AR1 QNAME A_IN), -EBADMSG,
	  true },
	{ "an additional record that is not OPT",
	  R(QHDR_AR1 QNAME A_IN "\x00\x00\x01\x00\x01\x00\x00\x00\x00"
				"\x00\x00"),
	  -EBADMSG, true },
	{ "OPT with an owner name",
	  R(QHDR_AR1 QNAME A_IN "\x01"
				"a"
				"\x00\x00\x29\x04\xd0\x00\x00"
				"\x00\x00\x00\x00"),
	  -EBADMSG, true },
	{ "OPT data past the end",
	  R(QHDR_AR1 QNAME A_IN "\x00\x00\x29\x04\xd0\x00\x00\x00\x00"
				"\x00\x04\x00\x0a"),
	  -EBADMSG, true },
	{ "a byte after OPT", R(QHDR_AR1 QNAME A_IN OPT "\x00"), -EBADMSG,
	  true },
	{ "class CH", R(QHDR QNAME "\x00\x01\x00\x03"), -ENOTSUP, true },
	{ "class ANY", R(QHDR QNAME "\x00\x01\x00\xff"), -ENOTSUP, true },
	{ "class 0", R(QHDR QNAME "\x00\x01\x00\x00"), -ENOTSUP, true },
	{ "class CH and a trailing byte", R(QHDR QNAME "\x00\x01\x00\x03\x00"),
	  -EBADMSG, true },
};

static void
test_raw_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(raw_cases); i++) {
		const struct raw_case *c = &raw_cases[i];
		struct dns_query q;
		int r;

		r = dns_parse_query((const uint8_t *)c->pkt, c->len, &q);
		tap_ok(r == c->want && q.answerable == c->answerable &&
			   q.error == r,
		       "parse: %s (got %d, answerable %d)", c->name, r,
		       q.answerable);
	}
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* A query for name (text, "" or "." for the root) into b: its length. */
static size_t
build(uint8_t *b, uint16_t flags, const char *name, uint16_t qtype)
{
	size_t n = 12;

	memset(b, 0, n);
	b[0] = QUERY_ID >> 8;
	b[1] = QUERY_ID & 0xff;
	b[2] = (uint8_t)(flags >> 8);
	b[3] = (uint8_t)flags;
	b[5] = 1;
	while (*name && strcmp(name, ".") != 0) {
		size_t l = strcspn(name, ".");

		b[n++] = (uint8_t)l;
		memcpy(b + n, name, l);
		n += l;
		name += l + (name[l] == '.');
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(qtype >> 8);
	b[n++] = (uint8_t)qtype;
	b[n++] = 0;
	b[n++] = DNS_CLASS_IN;
	return n;
}

static void
test_builder(void)
{
	uint8_t b[512];
	struct dns_query q;
	size_t n = build(b, RD, "API.GitHub.com", DNS_TYPE_AAAA);
	int r = dns_parse_query(b, n, &q);

	tap_ok(r == 0 && q.id == QUERY_ID && (q.flags & RD),
	       "parse: id and RD kept");
	tap_ok(streq(q.name, "api.github.com"), "parse: name lower-cased");
	TAP_EQ_INT(q.qtype, DNS_TYPE_AAAA, "parse: qtype kept");
	tap_ok(q.question_len == n - 12 &&
		   memcmp(q.question, b + 12, n - 12) == 0,
	       "parse: question kept as sent, case too");

	n = build(b, 0, "_acme-challenge.x-y.example.com", DNS_TYPE_A);
	r = dns_parse_query(b, n, &q);
	tap_ok(r == 0 && streq(q.name, "_acme-challenge.x-y.example.com") &&
		   !(q.flags & RD),
	       "parse: '_' and '-' in labels, RD clear");
	n = build(b, RD, "localhost", DNS_TYPE_A);
	tap_ok(dns_parse_query(b, n, &q) == 0 && streq(q.name, "localhost"),
	       "parse: a single label");
	n = build(b, RD, "", DNS_TYPE_A);
	tap_ok(dns_parse_query(b, n, &q) == 0 && q.name[0] == '\0',
	       "parse: the root is the empty name");
}

/* A name of total text length len, of labels of at most label bytes. */
static void
long_name(char *out, size_t len, size_t label)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		bool dot = run == label && i + 1 < len;

		out[i] = dot ? '.' : 'a';
		run = dot ? 0 : run + 1;
	}
	out[len] = '\0';
}

static void
test_lengths(void)
{
	char name[400];
	uint8_t b[512];
	struct dns_query q;
	size_t n;

	long_name(name, 63, 63);
	n = build(b, RD, name, DNS_TYPE_A);
	TAP_EQ_INT(dns_parse_query(b, n, &q), 0, "parse: a 63-byte label");
	long_name(name, 64, 64);
	n = build(b, RD, name, DNS_TYPE_A);
	TAP_EQ_INT(dns_parse_query(b, n, &q), -EBADMSG,
		   "parse: a 64-byte label");

	long_name(name, DNS_NAME_MAX, 63);
	n = build(b, RD, name, DNS_TYPE_A);
	tap_ok(dns_parse_query(b, n, &q) == 0 && streq(q.name, name) &&
		   q.question_len == DNS_QUESTION_MAX,
	       "parse: a 253-byte name");
	long_name(name, DNS_NAME_MAX + 1, 63);
	n = build(b, RD, name, DNS_TYPE_A);
	TAP_EQ_INT(dns_parse_query(b, n, &q), -EBADMSG,
		   "parse: a 254-byte name");
	long_name(name, 300, 63);
	n = build(b, RD, name, DNS_TYPE_A);
	TAP_EQ_INT(dns_parse_query(b, n, &q), -EBADMSG,
		   "parse: a 300-byte name");
}

static struct policy *
parse_policy(const char *yaml)
{
	struct policy_error err;
	struct policy *p = NULL;

	if (policy_parse(yaml, strlen(yaml), &p, &err) < 0)
		printf("# policy refused: %u:%u: %s\n", err.line, err.column,
		       err.message);
	return p;
}

static struct policy *
load_example(void)
{
	_cleanup_free_ char *dir = tap_shared_dir();
	_cleanup_free_ char *path =
	    xasprintf("%s/examples/network-policy.yaml", dir);
	_cleanup_free_ char *text = NULL;
	struct policy_error err;
	struct policy *p = NULL;
	size_t len;

	if (read_file_at(AT_FDCWD, path, POLICY_MAX_BYTES + 1, &text, &len) < 0)
		printf("# cannot read %s\n", path);
	else if (policy_parse(text, len, &p, &err) < 0)
		printf("# %s: %u:%u: %s\n", path, err.line, err.column,
		       err.message);
	return p;
}

/* One reply, taken apart. */
struct reply {
	int r;
	size_t len;
	uint8_t pkt[DNS_REPLY_MAX];
	struct dns_decision d;
};

static uint8_t
rcode(const struct reply *a)
{
	return a->pkt[3] & 0x0f;
}

static uint16_t
ancount(const struct reply *a)
{
	return get16(a->pkt + 6);
}

/* The address of the reply's one A record, which comes last. */
static uint32_t
answer_addr(const struct reply *a)
{
	return a->len >= 16 ? get32(a->pkt + a->len - 4) : 0;
}

static void
ask(const struct policy *p, struct dns_table *t, const char *name,
    uint16_t qtype, struct reply *a)
{
	uint8_t b[512];
	struct dns_query q;
	size_t n = build(b, RD, name, qtype);

	memset(a, 0, sizeof(*a));
	dns_parse_query(b, n, &q);
	a->r = dns_answer(&q, p, t, a->pkt, sizeof(a->pkt), &a->len, &a->d);
}

static bool
in_range(uint32_t addr)
{
	uint8_t host = addr & 0xff;

	return addr - DNS_NET < NET_SIZE && host != 0 && host != 255;
}

static void
test_example_policy(struct dns_table *t)
{
	_cleanup_free_ char *dir = tap_shared_dir();
	_cleanup_free_ char *path =
	    xasprintf("%s/examples/network-policy.yaml", dir);
	struct policy *p;
	struct reply a, b;
	uint32_t addr;
	uint8_t q[512];
	size_t qlen = build(q, RD, "api.github.com", DNS_TYPE_A);

	/* Without ../shared (or BRIG_SHARED_DIR) this part cannot run. */
	if (access(path, R_OK) < 0) {
		tap_skip("not found", "the shared example policy %s", path);
		return;
	}
	p = load_example();
	tap_ok(p != NULL, "the shared example policy loads");
	ask(p, t, "api.github.com", DNS_TYPE_A, &a);
	tap_ok(a.r == 0 && rcode(&a) == DNS_RCODE_NOERROR && ancount(&a) == 1,
	       "answer: api.github.com A gets one record");
	addr = answer_addr(&a);
	tap_ok(in_range(addr), "answer: the address is synthetic (%08x)", addr);
	tap_ok(a.len == qlen + 16, "answer: header, question and one record");
	tap_ok(get16(a.pkt) == QUERY_ID, "answer: id echoed");
	tap_ok(get16(a.pkt + 2) == (0x8000 | 0x0400 | RD),
	       "answer: QR, AA and RD set, RA clear");
	tap_ok(get16(a.pkt + 4) == 1 && get16(a.pkt + 8) == 0 &&
		   get16(a.pkt + 10) == 0,
	       "answer: one question, nothing else");
	tap_ok(memcmp(a.pkt + 12, q + 12, qlen - 12) == 0,
	       "answer: question echoed");
	tap_ok(get16(a.pkt + qlen) == 0xc00c &&
		   get16(a.pkt + qlen + 2) == DNS_TYPE_A &&
		   get16(a.pkt + qlen + 4) == DNS_CLASS_IN &&
		   get32(a.pkt + qlen + 6) == DNS_TTL &&
		   get16(a.pkt + qlen + 10) == 4,
	       "answer: the record names the question, A IN, TTL, 4 bytes");
	tap_ok(a.d.allowed && streq(a.d.name, "api.github.com") &&
		   a.d.qtype == DNS_TYPE_A && a.d.rcode == DNS_RCODE_NOERROR &&
		   a.d.addr == addr && a.d.reason == NULL,
	       "decision: allowed api.github.com A, with its address");
	tap_ok(streq(dns_table_name(t, addr), "api.github.com"),
	       "reverse: the address maps back to the name");

	ask(p, t, "api.github.com", DNS_TYPE_A, &b);
	tap_ok(answer_addr(&b) == addr, "stable: the same name, same address");
	ask(p, t, "API.GitHub.com.", DNS_TYPE_A, &b);
	tap_ok(answer_addr(&b) == addr,
	       "case: API.GitHub.com. maps to the same address");
	tap_ok(memcmp(b.pkt + 13, "API", 3) == 0,
	       "case: the question is echoed as sent");
	ask(p, t, "opencode.ai", DNS_TYPE_A, &b);
	tap_ok(in_range(answer_addr(&b)) && answer_addr(&b) != addr,
	       "answer: opencode.ai gets an address of its own");

	ask(p, t, "httpbin.org", DNS_TYPE_A, &b);
	tap_ok(b.r == 0 && rcode(&b) == DNS_RCODE_NXDOMAIN && ancount(&b) == 0,
	       "answer: httpbin.org is NXDOMAIN");
	tap_ok(!b.d.allowed && b.d.rcode == DNS_RCODE_NXDOMAIN &&
		   streq(b.d.reason, "no_endpoint") &&
		   streq(b.d.name, "httpbin.org") && b.d.addr == 0,
	       "decision: httpbin.org denied, no_endpoint");
	tap_ok(get16(b.pkt + 4) == 1 && get16(b.pkt + 8) == 0,
	       "answer: NXDOMAIN echoes the question, carries no SOA");
	ask(p, t, "github.com", DNS_TYPE_A, &b);
	TAP_EQ_INT(rcode(&b), DNS_RCODE_NXDOMAIN,
		   "answer: github.com (not listed) is NXDOMAIN");
	ask(p, t, "api.github.com", DNS_TYPE_AAAA, &b);
	tap_ok(b.r == 0 && rcode(&b) == DNS_RCODE_NOERROR && ancount(&b) == 0 &&
		   b.d.allowed && b.d.addr == 0,
	       "answer: AAAA for an allowed name is NOERROR, empty");
	ask(p, t, "httpbin.org", DNS_TYPE_AAAA, &b);
	TAP_EQ_INT(rcode(&b), DNS_RCODE_NXDOMAIN,
		   "answer: AAAA for httpbin.org is NXDOMAIN");
	policy_free(p);
}

static void
test_other_types(struct dns_table *t)
{
	struct policy *p =
	    parse_policy("version: 1\nnetwork_policies:\n"
			 "  a:\n    endpoints:\n"
			 "      - { host: api.github.com, port: 443 }\n"
			 "    binaries: [ { path: /usr/bin/curl } ]\n");
	static const uint16_t types[] = { 15, 16, 33, 64, 65, 255 };
	size_t before = dns_table_count(t);
	struct reply a;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		ask(p, t, "api.github.com", types[i], &a);
		tap_ok(a.r == 0 && rcode(&a) == DNS_RCODE_NOERROR &&
			   ancount(&a) == 0 && a.d.qtype == types[i],
		       "answer: type %u for an allowed name is NOERROR, empty",
		       types[i]);
	}
	TAP_EQ_INT(dns_table_count(t), before,
		   "table: only A queries add names");
	ask(NULL, t, "api.github.com", DNS_TYPE_A, &a);
	TAP_EQ_INT(rcode(&a), DNS_RCODE_NXDOMAIN,
		   "answer: the empty policy allows nothing");
	policy_free(p);
}

/* An endpoint with allowed_ips and no host could allow every name. */
static void
test_hostless(struct dns_table *t)
{
	struct policy *p =
	    parse_policy("version: 1\nnetwork_policies:\n"
			 "  a:\n    endpoints:\n"
			 "      - { allowed_ips: [10.0.0.0/8], port: 443 }\n"
			 "    binaries: [ { path: /usr/bin/curl } ]\n");
	struct reply a;

	tap_ok(p != NULL, "hostless policy parses");
	ask(p, t, "anything.internal", DNS_TYPE_A, &a);
	tap_ok(rcode(&a) == DNS_RCODE_NOERROR && in_range(answer_addr(&a)),
	       "hostless: any name is answered");
	ask(p, t, "", DNS_TYPE_A, &a);
	tap_ok(rcode(&a) == DNS_RCODE_NXDOMAIN && !a.d.allowed,
	       "hostless: the root is NXDOMAIN all the same");
	policy_free(p);
}

static const struct {
	const char *name;
	bool allowed;
} wildcard_cases[] = {
	{ "a.example.com", true }, { "B-2.Example.COM", true },
	{ "example.com", false },  { "a.b.example.com", false },
	{ "x.deep.test", true },   { "x.y.z.deep.test", true },
	{ "deep.test", false },    { "example.com.evil.org", false },
};

static void
test_wildcards(struct dns_table *t)
{
	struct policy *p =
	    parse_policy("version: 1\nnetwork_policies:\n"
			 "  a:\n    endpoints:\n"
			 "      - { host: '*.example.com', port: 443 }\n"
			 "      - { host: '**.deep.test', port: 80 }\n"
			 "    binaries: [ { path: /usr/bin/curl } ]\n");
	struct reply a;

	tap_ok(p != NULL, "wildcard policy parses");
	for (size_t i = 0; i < ARRAY_SIZE(wildcard_cases); i++) {
		bool allowed = wildcard_cases[i].allowed;

		ask(p, t, wildcard_cases[i].name, DNS_TYPE_A, &a);
		tap_ok(a.r == 0 && a.d.allowed == allowed &&
			   rcode(&a) == (allowed ? DNS_RCODE_NOERROR
						 : DNS_RCODE_NXDOMAIN) &&
			   in_range(answer_addr(&a)) == allowed,
		       "wildcard: %s %s", wildcard_cases[i].name,
		       allowed ? "answered" : "NXDOMAIN");
	}
	policy_free(p);
}

/* Replies to packets that could not be parsed, or may not be answered. */
static void
test_error_replies(struct dns_table *t)
{
	static const uint8_t formerr[] = { QHDR "\xc0\x0c" A_IN };
	static const uint8_t notify[] = { HDR("\x21\x00", "\x01", "\x00",
					      "\x00", "\x00") QNAME A_IN };
	static const uint8_t chaos[] = { QHDR QNAME "\x00\x10\x00\x03" };
	static const uint8_t response[] = { HDR("\x81\x00", "\x01", "\x00",
						"\x00", "\x00") QNAME A_IN };
	struct dns_query q;
	struct reply a;

	dns_parse_query(formerr, sizeof(formerr) - 1, &q);
	a.r = dns_answer(&q, NULL, t, a.pkt, sizeof(a.pkt), &a.len, &a.d);
	tap_ok(a.r == 0 && rcode(&a) == DNS_RCODE_FORMERR && a.len == 12 &&
		   get16(a.pkt) == 0x1234 && get16(a.pkt + 4) == 0,
	       "error: a compression pointer gets FORMERR, header only");
	tap_ok(streq(a.d.reason, "malformed") && a.d.name[0] == '\0',
	       "decision: malformed, no name");

	dns_parse_query(notify, sizeof(notify) - 1, &q);
	a.r = dns_answer(&q, NULL, t, a.pkt, sizeof(a.pkt), &a.len, &a.d);
	tap_ok(a.r == 0 && rcode(&a) == DNS_RCODE_NOTIMP &&
		   (get16(a.pkt + 2) & 0x7800) == 0x2000,
	       "error: NOTIFY gets NOTIMP, opcode echoed");

	dns_parse_query(chaos, sizeof(chaos) - 1, &q);
	a.r = dns_answer(&q, NULL, t, a.pkt, sizeof(a.pkt), &a.len, &a.d);
	tap_ok(a.r == 0 && rcode(&a) == DNS_RCODE_NOTIMP &&
		   get16(a.pkt + 4) == 1 && streq(a.d.name, "api.github.com"),
	       "error: class CH gets NOTIMP, question echoed");

	dns_parse_query(response, sizeof(response) - 1, &q);
	a.r = dns_answer(&q, NULL, t, a.pkt, sizeof(a.pkt), &a.len, &a.d);
	TAP_EQ_INT(a.r, -EBADMSG, "error: a response is not answered");
	dns_parse_query(NULL, 0, &q);
	a.r = dns_answer(&q, NULL, t, a.pkt, sizeof(a.pkt), &a.len, &a.d);
	TAP_EQ_INT(a.r, -EBADMSG, "error: an empty packet is not answered");
}

static void
test_small_buffer(struct dns_table *t)
{
	struct policy *p =
	    parse_policy("version: 1\nnetwork_policies:\n"
			 "  a:\n    endpoints:\n"
			 "      - { host: small.example.com, port: 443 }\n"
			 "    binaries: [ { path: /usr/bin/curl } ]\n");
	uint8_t b[512], out[DNS_REPLY_MAX];
	size_t n = build(b, RD, "small.example.com", DNS_TYPE_A), len = 0;
	size_t before = dns_table_count(t);
	struct dns_query q;
	int r;

	dns_parse_query(b, n, &q);
	r = dns_answer(&q, p, t, out, n + 15, &len, NULL);
	tap_ok(r == -ENOBUFS && dns_table_count(t) == before,
	       "answer: a short buffer is -ENOBUFS and adds no name");
	r = dns_answer(&q, p, t, out, n + 16, &len, NULL);
	tap_ok(r == 0 && len == n + 16, "answer: an exact buffer suffices");
	policy_free(p);
}

static void
test_table_names(void)
{
	struct dns_table *t = NULL;
	char name[300];
	uint32_t a = 0, b = 0;

	tap_ok(dns_table_new(&t) == 0, "table: created");
	tap_ok(dns_table_lookup_or_add(t, "first.example", &a) == 0 &&
		   a == (DNS_NET | 2),
	       "table: the first address is 198.18.0.2");
	tap_ok(dns_table_lookup_or_add(t, "First.Example.", &b) == 0 && a == b,
	       "table: case and a trailing dot ignored");
	tap_ok(streq(dns_table_name(t, a), "first.example"),
	       "table: names are stored lower case, without the dot");
	TAP_EQ_INT(dns_table_lookup_or_add(t, "", &b), -EINVAL,
		   "table: the empty name refused");
	TAP_EQ_INT(dns_table_lookup_or_add(t, ".", &b), -EINVAL,
		   "table: the root refused");
	TAP_EQ_INT(dns_table_lookup_or_add(t, "a..b", &b), -EINVAL,
		   "table: an empty label refused");
	TAP_EQ_INT(dns_table_lookup_or_add(t, "a b.com", &b), -EINVAL,
		   "table: a space refused");
	long_name(name, DNS_NAME_MAX + 1, 63);
	TAP_EQ_INT(dns_table_lookup_or_add(t, name, &b), -EINVAL,
		   "table: a 254-byte name refused");
	long_name(name, 64, 64);
	TAP_EQ_INT(dns_table_lookup_or_add(t, name, &b), -EINVAL,
		   "table: a 64-byte label refused");

	tap_ok(dns_table_name(t, DNS_NET) == NULL &&
		   dns_table_name(t, DNS_NET | 1) == NULL,
	       "reverse: 198.18.0.0 and 198.18.0.1 name nothing");
	tap_ok(dns_table_name(t, DNS_NET | 3) == NULL,
	       "reverse: an address not handed out names nothing");
	tap_ok(dns_table_name(t, DNS_NET - 254) == NULL &&
		   dns_table_name(t, DNS_NET + NET_SIZE + 2) == NULL &&
		   dns_table_name(t, 0x7f000001) == NULL,
	       "reverse: addresses outside the range name nothing");
	TAP_EQ_INT(dns_table_count(t), 1, "table: one name held");
	dns_table_free(t);
}

/* Fills a table to DNS_TABLE_MAX and checks every address it gave. */
static void
test_table_full(void)
{
	struct policy *p =
	    parse_policy("version: 1\nnetwork_policies:\n"
			 "  a:\n    endpoints:\n"
			 "      - { host: '*.example.com', port: 443 }\n"
			 "    binaries: [ { path: /usr/bin/curl } ]\n");
	_cleanup_free_ uint8_t *seen = xcalloc(NET_SIZE, 1);
	struct dns_table *t = NULL;
	size_t bad = 0, dup = 0, back = 0;
	uint32_t addr, last = 0;
	char name[64];
	struct reply a;

	dns_table_new(&t);
	for (size_t i = 0; i < DNS_TABLE_MAX; i++) {
		snprintf(name, sizeof(name), "n%zu.example.com", i);
		if (dns_table_lookup_or_add(t, name, &addr) < 0 ||
		    !in_range(addr) || addr == (DNS_NET | 1)) {
			bad++;
			continue;
		}
		dup += seen[addr - DNS_NET]++ > 0;
		back += !streq(dns_table_name(t, addr), name);
		last = addr;
	}
	TAP_EQ_INT(bad, 0, "full: every address inside 198.18.0.0/15");
	TAP_EQ_INT(dup, 0, "full: no address given twice");
	TAP_EQ_INT(back, 0, "full: every address maps back to its name");
	tap_ok(in_range(last), "full: the last address is %u.%u.%u.%u",
	       last >> 24, last >> 16 & 0xff, last >> 8 & 0xff, last & 0xff);
	TAP_EQ_INT(dns_table_lookup_or_add(t, "more.example.com", &addr),
		   -ENOSPC, "full: a new name is refused");

	ask(p, t, "more.example.com", DNS_TYPE_A, &a);
	tap_ok(a.r == 0 && rcode(&a) == DNS_RCODE_SERVFAIL && ancount(&a) == 0,
	       "full: a new name gets SERVFAIL");
	tap_ok(a.d.allowed && streq(a.d.reason, "table_full"),
	       "decision: allowed, table_full");
	ask(p, t, "n7.example.com", DNS_TYPE_A, &a);
	tap_ok(rcode(&a) == DNS_RCODE_NOERROR &&
		   streq(dns_table_name(t, answer_addr(&a)), "n7.example.com"),
	       "full: a name already held still resolves");
	dns_table_free(t);
	policy_free(p);
}

static void
test_rcode_names(void)
{
	tap_ok(streq(dns_rcode_name(DNS_RCODE_NXDOMAIN), "NXDOMAIN") &&
		   streq(dns_rcode_name(DNS_RCODE_SERVFAIL), "SERVFAIL") &&
		   dns_rcode_name(9) == NULL,
	       "rcode names");
}

int
main(void)
{
	struct dns_table *t = NULL;

	test_raw_cases();
	test_builder();
	test_lengths();

	if (dns_table_new(&t) < 0)
		return 1;
	test_example_policy(t);
	test_other_types(t);
	test_wildcards(t);
	test_hostless(t);
	test_error_replies(t);
	test_small_buffer(t);
	dns_table_free(t);

	test_table_names();
	test_table_full();
	test_rcode_names();
	return tap_done();
}
