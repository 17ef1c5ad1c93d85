/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the DNS stub with arbitrary packets, as any process in the sandbox
 * can send to 127.0.0.1:53: parse, then answer under a fixed policy with
 * wildcards. A reply must fit its buffer, echo the query's id, set QR, and
 * an A record's address must map back to the name asked. The table is kept
 * across inputs, so it also fills up and answers SERVFAIL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/policy.h"
#include "proxy/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_yaml[] =
    "version: 1\n"
    "network_policies:\n"
    "  a:\n"
    "    endpoints:\n"
    "      - { host: api.github.com, port: 443 }\n"
    "      - { host: '*.example.com', port: 443 }\n"
    "      - { host: '**.deep.test', port: 80 }\n"
    "    binaries: [ { path: /usr/bin/curl } ]\n";

static void
setup(struct policy **p, struct dns_table **t)
{
	struct policy_error err;

	if (policy_parse(policy_yaml, sizeof(policy_yaml) - 1, p, &err) < 0 ||
	    dns_table_new(t) < 0)
		abort();
}

/* The reply to q in outlen bytes, checked against what q asked. */
static void
check_answer(const struct dns_query *q, const struct policy *p,
	     struct dns_table *t, size_t outlen)
{
	uint8_t out[DNS_REPLY_MAX];
	struct dns_decision d;
	size_t len = 0;
	int r;

	r = dns_answer(q, p, t, out, outlen, &len, &d);
	if (!q->answerable && r != -EBADMSG)
		abort();
	if (r < 0)
		return;
	if (len > outlen || len < 12)
		abort();
	if (out[0] != q->id >> 8 || out[1] != (q->id & 0xff) ||
	    !(out[2] & 0x80))
		abort();
	if (d.addr && !streq(dns_table_name(t, d.addr), d.name))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *p;
	static struct dns_table *t;
	struct dns_query q;
	int r;

	if (!p)
		setup(&p, &t);
	r = dns_parse_query(data, size, &q);
	if (r == 0 && (q.question_len == 0 || strlen(q.name) > DNS_NAME_MAX))
		abort();

	check_answer(&q, p, t, DNS_REPLY_MAX);
	/* A buffer cut short, by an amount the input chooses. */
	check_answer(&q, p, t, size % (DNS_REPLY_MAX + 1));
	return 0;
}
