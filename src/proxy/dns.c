/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DNS stub: a name table of synthetic addresses, a strict parser of one
 * query, and the reply builder. See dns.h for what each answers.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "common/util.h"
#include "policy/match.h"
#include "proxy/dns.h"

/* The fixed header (RFC 1035, section 4.1.1). */
#define HEADER_LEN 12
#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_RD 0x0100
#define OPCODE_MASK 0x7800
#define OPCODE_QUERY 0
#define OPCODE(flags) (((flags)&OPCODE_MASK) >> 11)
/* An OPT record up to its data: root owner, type, class, TTL, RDLENGTH. */
#define OPT_FIXED_LEN 11
/* An A record whose owner points back at the question's name. */
#define A_RECORD_LEN 16
#define NAME_AT_QUESTION 0xc00c

/*
 * Hash slots: twice DNS_TABLE_MAX, so the table is at most half full and a
 * linear probe stays short. A power of two, to mask instead of divide.
 */
#define TABLE_SLOTS (2 * DNS_TABLE_MAX)
static_assert((TABLE_SLOTS & (TABLE_SLOTS - 1)) == 0, "slots: power of two");

/*
 * Host addresses per /24: .0 and .255 are skipped, since some clients
 * refuse what looks like a network or broadcast address. The first
 * address, 198.18.0.1, is kept back for the supervisor, should it ever need
 * one of its own.
 */
#define HOSTS_PER_24 254
#define FIRST_HOST 1
#define NET_SIZE (1u << (32 - DNS_NET_BITS))
static_assert((DNS_TABLE_MAX + FIRST_HOST) / HOSTS_PER_24 < NET_SIZE / 256,
	      "DNS_TABLE_MAX names must fit in the synthetic range");

struct dns_table {
	/* SipHash key: names come from inside the sandbox, which could
	 * otherwise choose names that collide and make every probe long. */
	uint64_t key[2];
	size_t n;
	/* By address order: names[i] has the i-th address. */
	char **names;
	/* 0 when empty, else an index into names plus one. */
	uint32_t *slots;
};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Letters, digits, '-' and '_' (for names such as _acme-challenge). */
static bool
label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL64(v[1], 13) ^ v[0];
	v[0] = ROTL64(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL64(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = ROTL64(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = ROTL64(v[1], 17) ^ v[2];
	v[2] = ROTL64(v[2], 32);
}

/* One message word through the two compression rounds of SipHash-2-4. */
static void
sip_absorb(uint64_t v[4], const uint8_t w[8])
{
	uint64_t m = 0;

	for (int i = 7; i >= 0; i--)
		m = m << 8 | w[i];
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of s. */
static uint64_t
siphash24(const uint64_t key[2], const char *s, size_t len)
{
	uint64_t v[4] = {
		key[0] ^ 0x736f6d6570736575ULL,
		key[1] ^ 0x646f72616e646f6dULL,
		key[0] ^ 0x6c7967656e657261ULL,
		key[1] ^ 0x7465646279746573ULL,
	};
	uint8_t last[8] = { 0 };
	size_t i;

	for (i = 0; i + 8 <= len; i += 8)
		sip_absorb(v, (const uint8_t *)s + i);
	memcpy(last, s + i, len - i);
	last[7] = (uint8_t)len;
	sip_absorb(v, last);

	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The address of the i-th name: the (i + FIRST_HOST)-th usable host. */
static uint32_t
index_to_addr(size_t i)
{
	size_t k = i + FIRST_HOST;

	return DNS_NET + (uint32_t)(k / HOSTS_PER_24) * 256 +
	       (uint32_t)(k % HOSTS_PER_24) + 1;
}

static bool
addr_to_index(uint32_t addr, size_t *ret)
{
	/* Below DNS_NET the subtraction wraps to a large offset. */
	uint32_t off = addr - DNS_NET, host = off & 0xff;
	size_t k;

	if (off >= NET_SIZE || host == 0 || host == 255)
		return false;
	k = (size_t)(off >> 8) * HOSTS_PER_24 + host - 1;
	if (k < FIRST_HOST)
		return false;
	*ret = k - FIRST_HOST;
	return true;
}

int
dns_table_new(struct dns_table **ret)
{
	_cleanup_free_ struct dns_table *t = xcalloc(1, sizeof(*t));
	ssize_t n;

	n = getrandom(t->key, sizeof(t->key), 0);
	if (n < 0)
		return neg_errno();
	if ((size_t)n != sizeof(t->key))
		return -EIO;

	/* Large callocs are fresh mappings: a page costs memory only once a
	 * name lands on it, so a quiet sandbox pays little for the cap. */
	t->names = xcalloc(DNS_TABLE_MAX, sizeof(*t->names));
	t->slots = xcalloc(TABLE_SLOTS, sizeof(*t->slots));
	*ret = TAKE_PTR(t);
	return 0;
}

void
dns_table_free(struct dns_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	free(t->slots);
	free(t);
}

size_t
dns_table_count(const struct dns_table *t)
{
	return t->n;
}

/* Lower-cases name into out without one trailing dot and checks its
 * labels by the rules the query parser applies. */
static int
normalize_name(const char *name, char out[DNS_NAME_MAX + 1], size_t *ret_len)
{
	size_t len = strnlen(name, DNS_NAME_MAX + 2), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.' && label == 0)
			return -EINVAL;
		if (name[i] != '.' && !label_char((uint8_t)name[i]))
			return -EINVAL;
		label = name[i] == '.' ? 0 : label + 1;
		if (label > DNS_LABEL_MAX)
			return -EINVAL;
		out[i] = ascii_lower(name[i]);
	}
	if (label == 0)
		return -EINVAL;
	out[len] = '\0';
	*ret_len = len;
	return 0;
}

/* The slot holding name, or the empty slot where it would go. The table is
 * never more than half full, so an empty slot ends every probe. */
static size_t
find_slot(const struct dns_table *t, const char *name, size_t len)
{
	size_t i = siphash24(t->key, name, len) & (TABLE_SLOTS - 1);

	while (t->slots[i] && !streq(t->names[t->slots[i] - 1], name))
		i = (i + 1) & (TABLE_SLOTS - 1);
	return i;
}

int
dns_table_lookup_or_add(struct dns_table *t, const char *name,
			uint32_t *ret_addr)
{
	char norm[DNS_NAME_MAX + 1];
	size_t len, i;
	int r;

	r = normalize_name(name, norm, &len);
	if (r < 0)
		return r;

	i = find_slot(t, norm, len);
	if (!t->slots[i]) {
		if (t->n >= DNS_TABLE_MAX)
			return -ENOSPC;
		t->names[t->n] = xstrndup(norm, len);
		t->slots[i] = (uint32_t)++t->n;
	}
	*ret_addr = index_to_addr(t->slots[i] - 1);
	return 0;
}

const char *
dns_table_name(const struct dns_table *t, uint32_t addr)
{
	size_t i;

	if (!addr_to_index(addr, &i) || i >= t->n)
		return NULL;
	return t->names[i];
}

/* A response is never answered, so two stubs cannot ping-pong; the rest of
 * a query's header must name exactly one question and at most an OPT. */
static int
parse_header(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	if (len < HEADER_LEN)
		return -EBADMSG;
	q->id = get16(pkt);
	q->flags = get16(pkt + 2);
	if (q->flags & FLAG_QR)
		return -EBADMSG;

	q->answerable = true;
	if (OPCODE(q->flags) != OPCODE_QUERY)
		return -ENOTSUP;
	if (get16(pkt + 4) != 1 || get16(pkt + 6) != 0 || get16(pkt + 8) != 0)
		return -EBADMSG;
	if (get16(pkt + 10) > 1)
		return -EBADMSG;
	return 0;
}

static bool
copy_label(const uint8_t *p, size_t l, char *out)
{
	for (size_t i = 0; i < l; i++) {
		if (!label_char(p[i]))
			return false;
		out[i] = ascii_lower((char)p[i]);
	}
	return true;
}

/*
 * Reads the question's name into q->name. A length byte above
 * DNS_LABEL_MAX is refused whatever its top bits say: 11 is a compression
 * pointer, which a question has nothing to point back at, and 01 and 10
 * are extended label types nobody sends.
 */
static int
parse_name(const uint8_t *pkt, size_t len, size_t *off, struct dns_query *q)
{
	size_t o = *off, n = 0;
	uint8_t l;

	for (;;) {
		if (o >= len)
			return -EBADMSG;
		l = pkt[o++];
		if (l == 0)
			break;
		if (l > DNS_LABEL_MAX || l > len - o)
			return -EBADMSG;
		if (n + (n > 0) + l > DNS_NAME_MAX)
			return -EBADMSG;
		if (n > 0)
			q->name[n++] = '.';
		if (!copy_label(pkt + o, l, q->name + n))
			return -EBADMSG;
		n += l;
		o += l;
	}
	q->name[n] = '\0';
	*off = o;
	return 0;
}

static int
parse_question(const uint8_t *pkt, size_t len, size_t *off, struct dns_query *q)
{
	size_t start = *off;
	int r;

	r = parse_name(pkt, len, off, q);
	if (r < 0)
		return r;
	if (len - *off < 4)
		return -EBADMSG;
	q->qtype = get16(pkt + *off);
	q->qclass = get16(pkt + *off + 2);
	*off += 4;

	q->question_len = *off - start;
	memcpy(q->question, pkt + start, q->question_len);
	return 0;
}

/* The one additional record a stub sends is EDNS's OPT (RFC 6891); its
 * options are skipped, and the reply is small enough not to need them. */
static int
parse_opt(const uint8_t *pkt, size_t len, size_t *off)
{
	size_t o = *off, rdlen;

	if (len - o < OPT_FIXED_LEN)
		return -EBADMSG;
	if (pkt[o] != 0 || get16(pkt + o + 1) != DNS_TYPE_OPT)
		return -EBADMSG;
	rdlen = get16(pkt + o + 9);
	o += OPT_FIXED_LEN;
	if (len - o < rdlen)
		return -EBADMSG;
	*off = o + rdlen;
	return 0;
}

int
dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *ret)
{
	size_t off = HEADER_LEN;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_header(pkt, len, ret);
	if (r == 0)
		r = parse_question(pkt, len, &off, ret);
	if (r == 0 && get16(pkt + 10) == 1)
		r = parse_opt(pkt, len, &off);
	if (r == 0 && off != len)
		r = -EBADMSG;
	/* Checked last, so a malformed packet is FORMERR whatever its class. */
	if (r == 0 && ret->qclass != DNS_CLASS_IN)
		r = -ENOTSUP;

	if (r == -EBADMSG) {
		ret->name[0] = '\0';
		ret->question_len = 0;
	}
	ret->error = r;
	return r;
}

static void
decision_init(struct dns_decision *d, const struct dns_query *q)
{
	size_t n = strnlen(q->name, DNS_NAME_MAX);

	memset(d, 0, sizeof(*d));
	if (q->question_len > 0)
		memcpy(d->name, q->name, n);
	d->qtype = q->qtype;
}

static void
refuse(struct dns_decision *d, uint8_t rcode, const char *reason)
{
	d->rcode = rcode;
	d->reason = reason;
}

/* The rcode, and the address for an A record, into d. */
static void
decide(const struct dns_query *q, const struct policy *p, struct dns_table *t,
       struct dns_decision *d)
{
	int r;

	if (q->error == -ENOTSUP) {
		refuse(d, DNS_RCODE_NOTIMP, "not_implemented");
		return;
	}
	if (q->error < 0) {
		refuse(d, DNS_RCODE_FORMERR, "malformed");
		return;
	}
	/* A policy endpoint without a host could allow every name; the root
	 * is no host to connect to all the same. */
	if (!q->name[0] || !match_could_allow_host(p, q->name)) {
		refuse(d, DNS_RCODE_NXDOMAIN, "no_endpoint");
		return;
	}

	d->allowed = true;
	if (q->qtype != DNS_TYPE_A)
		return;
	r = dns_table_lookup_or_add(t, q->name, &d->addr);
	if (r < 0)
		refuse(d, DNS_RCODE_SERVFAIL,
		       r == -ENOSPC ? "table_full" : "malformed");
}

static size_t
write_a_record(uint8_t *out, uint32_t addr)
{
	put16(out, NAME_AT_QUESTION);
	put16(out + 2, DNS_TYPE_A);
	put16(out + 4, DNS_CLASS_IN);
	put32(out + 6, DNS_TTL);
	put16(out + 10, 4);
	put32(out + 12, addr);
	return A_RECORD_LEN;
}

static size_t
write_reply(const struct dns_query *q, const struct dns_decision *d,
	    uint8_t *out)
{
	uint16_t echo = q->flags & (OPCODE_MASK | FLAG_RD);
	size_t n = HEADER_LEN;

	put16(out, q->id);
	put16(out + 2, (uint16_t)(FLAG_QR | FLAG_AA | echo | d->rcode));
	put16(out + 4, q->question_len > 0);
	put16(out + 6, d->addr != 0);
	put16(out + 8, 0);
	put16(out + 10, 0);

	memcpy(out + n, q->question, q->question_len);
	n += q->question_len;
	if (d->addr)
		n += write_a_record(out + n, d->addr);
	return n;
}

int
dns_answer(const struct dns_query *q, const struct policy *p,
	   struct dns_table *t, uint8_t *out, size_t outlen, size_t *ret_len,
	   struct dns_decision *d)
{
	struct dns_decision unused;

	if (!d)
		d = &unused;
	decision_init(d, q);
	if (!q->answerable || q->question_len > DNS_QUESTION_MAX)
		return -EBADMSG;
	/* Checked before deciding, so a short buffer adds no name. */
	if (outlen < HEADER_LEN + q->question_len + A_RECORD_LEN)
		return -ENOBUFS;

	decide(q, p, t, d);
	*ret_len = write_reply(q, d, out);
	return 0;
}

const char *
dns_rcode_name(int rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		return "NOERROR";
	case DNS_RCODE_FORMERR:
		return "FORMERR";
	case DNS_RCODE_SERVFAIL:
		return "SERVFAIL";
	case DNS_RCODE_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_RCODE_NOTIMP:
		return "NOTIMP";
	default:
		return NULL;
	}
}
