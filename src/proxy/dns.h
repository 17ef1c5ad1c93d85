/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DNS stub of transparent capture (DESIGN.md section 4). Inside the
 * sandbox, /etc/resolv.conf names 127.0.0.1:53, where the supervisor holds a
 * UDP socket. A name that the policy could allow gets a synthetic IPv4
 * address from 198.18.0.0/15, stable for the sandbox's life; that range is
 * local to the sandbox's network namespace, so a connection to it lands on a
 * capture listener, which maps the address back to the name with
 * dns_table_name. Every other name gets NXDOMAIN.
 *
 * Every packet comes from inside the sandbox, so the parser is strict and
 * refuses whatever a plain stub query never carries. Everything here takes
 * bytes and returns bytes; the supervisor does the recvfrom and sendto, so a
 * fuzzer can drive the rest.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* A name in text form, without the trailing dot (RFC 1035). */
#define DNS_NAME_MAX 253
/* One label (RFC 1035). */
#define DNS_LABEL_MAX 63
/* A question on the wire: the name (255 bytes at most) and type and class. */
#define DNS_QUESTION_MAX (DNS_NAME_MAX + 2 + 4)
/*
 * The largest reply built: the classic UDP limit, which every client takes
 * without EDNS. A reply is at most 12 + DNS_QUESTION_MAX + 16 bytes, so a
 * buffer of this size always suffices.
 */
#define DNS_REPLY_MAX 512

/* The synthetic range, 198.18.0.0/15, in host byte order. */
#define DNS_NET 0xc6120000u
#define DNS_NET_BITS 15
/*
 * Names a table holds; a new name past this answers SERVFAIL. Addresses are
 * never reused: a connection opened from a stale answer would otherwise
 * reach a different name. The names take at most 16 MiB.
 */
#define DNS_TABLE_MAX 65536
/* Seconds a client may cache an answer; the mapping never changes, and the
 * policy is checked again on every captured connection. */
#define DNS_TTL 60

/* RCODE values used in replies (RFC 1035, section 4.1.1). */
enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
};

enum dns_qtype {
	DNS_TYPE_A = 1,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
};

#define DNS_CLASS_IN 1

/* One query, as dns_parse_query read it. */
struct dns_query {
	/* Whether a reply may be sent: the header was read and it is a query
	 * (a response is never answered, so two stubs cannot loop). */
	bool answerable;
	/* 0, or what dns_parse_query returned: dns_answer turns -EBADMSG into
	 * FORMERR and -ENOTSUP into NOTIMP. */
	int error;
	uint16_t id;
	uint16_t flags; /* the header's second word, as sent */
	uint16_t qtype;
	uint16_t qclass;
	/* Lower case, without the trailing dot; "" for the root. */
	char name[DNS_NAME_MAX + 1];
	/* The question as sent (case kept), echoed in the reply; question_len
	 * is 0 until the whole question has been read and checked. */
	uint8_t question[DNS_QUESTION_MAX];
	size_t question_len;
};

/* What dns_answer decided, for one event per query. */
struct dns_decision {
	char name[DNS_NAME_MAX + 1]; /* "" when no question was read */
	uint16_t qtype;
	uint8_t rcode;
	/* Whether the policy could allow the name. */
	bool allowed;
	/* The synthetic address answered (host byte order), else 0. */
	uint32_t addr;
	/* NULL when the name was answered; else "no_endpoint" (no policy
	 * could allow it), "malformed", "not_implemented" or "table_full". */
	const char *reason;
};

struct dns_table;

/* A new, empty table with a fresh hash key: 0 or -errno. */
int dns_table_new(struct dns_table **ret);
void dns_table_free(struct dns_table *t);
/* Names the table holds. */
size_t dns_table_count(const struct dns_table *t);

/*
 * The synthetic address (host byte order) of name, which is assigned the
 * next free one when new. Case and one trailing dot are ignored. The
 * addresses are 198.18.0.2 onwards, skipping .0 and .255 of every /24, so
 * none is a network or broadcast address to a client that thinks in /24s.
 * Returns 0, -EINVAL for a name that is empty, too long or has a character
 * outside [A-Za-z0-9_-] in a label, or -ENOSPC when DNS_TABLE_MAX names are
 * held already.
 */
int dns_table_lookup_or_add(struct dns_table *t, const char *name,
			    uint32_t *ret_addr);

/*
 * The name (lower case, no trailing dot) that addr (host byte order) was
 * given, or NULL. Constant time: captured connections call it every time.
 * The string lives as long as the table.
 */
const char *dns_table_name(const struct dns_table *t, uint32_t addr);

/*
 * Parses one query of len bytes. Refuses with -EBADMSG: a header shorter
 * than 12 bytes, QR set, QDCOUNT other than 1, ANCOUNT or NSCOUNT not 0,
 * ARCOUNT above 1, an additional record that is not one EDNS OPT record, a
 * compression pointer or extended label type in the question, a label over
 * DNS_LABEL_MAX or a name over DNS_NAME_MAX, a label character outside
 * [A-Za-z0-9_-], truncation, and any byte after the last record. Refuses
 * with -ENOTSUP an opcode other than QUERY and a class other than IN. On
 * refusal ret still says whether the query may be answered (FORMERR or
 * NOTIMP) and carries what was read. EDNS options are ignored.
 */
int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *ret);

/*
 * Builds the reply to q into out (outlen bytes; DNS_REPLY_MAX always
 * suffices) and sets *ret_len. For a name that match_could_allow_host says
 * p could allow (NULL is the empty policy): type A gets one A record with
 * the name's synthetic address from t, or SERVFAIL when t is full; other
 * types get NOERROR without records, so clients fall back to IPv4. Every
 * other name, the root included, gets NXDOMAIN, and a query q->error refused
 * gets FORMERR or NOTIMP. The reply echoes the id, opcode, RD and the
 * question, sets QR and AA and clears RA; it carries no SOA, so clients do
 * not cache a negative answer and a policy change takes effect at once.
 * Fills d (when not NULL) in every case. Returns 0, -EBADMSG when q may not
 * be answered (send nothing), or -ENOBUFS when outlen is below what the
 * largest reply to q needs. t must not be NULL.
 */
int dns_answer(const struct dns_query *q, const struct policy *p,
	       struct dns_table *t, uint8_t *out, size_t outlen,
	       size_t *ret_len, struct dns_decision *d);

/* "NOERROR", "FORMERR", ... for events; NULL for an rcode never sent. */
const char *dns_rcode_name(int rcode);
