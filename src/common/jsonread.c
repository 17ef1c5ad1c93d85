/* SPDX-License-Identifier: Apache-2.0 */
#include "common/jsonread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* A number's text longer than this is no number an event writes. */
#define JSONREAD_MAX_NUMBER 64

struct reader {
	const unsigned char *p, *end;
	char *out, *out_end; /* the arena, filled front to back */
};

/* Where one string's decoded bytes go; out is NULL when skipping. */
struct strout {
	char *out;
	size_t len, cap;
	bool truncated;
};

static int skip_value(struct reader *r, int depth);

size_t
jsonread_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	/* The second byte's range is what rules out overlong forms,
	 * surrogates and code points past U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void
skip_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool
accept(struct reader *r, unsigned char c)
{
	if (r->p >= r->end || *r->p != c)
		return false;
	r->p++;
	return true;
}

static int
peek(const struct reader *r)
{
	return r->p < r->end ? *r->p : -1;
}

/* Keeps whole characters only, so a cut string stays valid UTF-8. */
static void
str_put(struct strout *s, const void *p, size_t n)
{
	if (!s->out || s->truncated)
		return;
	if (n > s->cap - s->len) {
		s->truncated = true;
		return;
	}
	memcpy(s->out + s->len, p, n);
	s->len += n;
}

static int
read_hex4(struct reader *r, uint32_t *ret)
{
	uint32_t v = 0;

	if (r->end - r->p < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++, r->p++) {
		unsigned char c = *r->p;

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + ((c | 0x20) - 'a' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

/*
 * After "\u": one code point, joining a surrogate pair. U+0000 is
 * refused because every value is handed on as a C string, where it
 * would silently cut the rest off.
 */
static int
read_codepoint(struct reader *r, uint32_t *ret)
{
	uint32_t hi, lo;
	int rc = read_hex4(r, &hi);

	if (rc < 0 || hi == 0 || (hi >= 0xdc00 && hi <= 0xdfff))
		return -EINVAL;
	if (hi < 0xd800 || hi > 0xdbff) {
		*ret = hi;
		return 0;
	}
	if (!accept(r, '\\') || !accept(r, 'u') || read_hex4(r, &lo) < 0 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return -EINVAL;
	*ret = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

static size_t
utf8_encode(uint32_t cp, unsigned char *u)
{
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | cp >> 18);
	u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static int
read_escape(struct reader *r, struct strout *s)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k =
	    r->p < r->end ? memchr(from, *r->p, sizeof(from) - 1) : NULL;
	unsigned char u[4];
	uint32_t cp;
	int rc;

	if (k) {
		r->p++;
		str_put(s, &to[k - from], 1);
		return 0;
	}
	if (!accept(r, 'u'))
		return -EINVAL;
	rc = read_codepoint(r, &cp);
	if (rc == 0)
		str_put(s, u, utf8_encode(cp, u));
	return rc;
}

/* A run of plain ASCII, taken at once: most of any event line. */
static bool
read_ascii(struct reader *r, struct strout *s)
{
	const unsigned char *run = r->p;
	size_t n;

	while (r->p < r->end && *r->p >= 0x20 && *r->p < 0x80 && *r->p != '"' &&
	       *r->p != '\\')
		r->p++;
	n = (size_t)(r->p - run);
	if (n == 0)
		return false;
	if (s->out && !s->truncated) {
		size_t room = s->cap - s->len;

		/* Every byte is a whole character, so a part may be kept. */
		memcpy(s->out + s->len, run, n < room ? n : room);
		s->len += n < room ? n : room;
		s->truncated = n > room;
	}
	return true;
}

static int
read_char(struct reader *r, struct strout *s)
{
	size_t n;

	if (read_ascii(r, s))
		return 0;
	if (accept(r, '\\'))
		return read_escape(r, s);
	if (*r->p < 0x20)
		return -EINVAL;
	n = jsonread_utf8_len(r->p, (size_t)(r->end - r->p));
	if (n == 0)
		return -EINVAL;
	str_put(s, r->p, n);
	r->p += n;
	return 0;
}

static int
read_string(struct reader *r, struct strout *s)
{
	if (!accept(r, '"'))
		return -EINVAL;
	while (r->p < r->end && *r->p != '"') {
		int rc = read_char(r, s);

		if (rc < 0)
			return rc;
	}
	return accept(r, '"') ? 0 : -EINVAL;
}

/* Room for one value in the arena, which parse sized for the worst. */
static struct strout
arena_out(const struct reader *r, size_t cap)
{
	size_t room = (size_t)(r->out_end - r->out) - 1;

	return (struct strout){ .out = r->out, .cap = cap < room ? cap : room };
}

static const char *
arena_commit(struct reader *r, const struct strout *s)
{
	char *p = r->out;

	p[s->len] = '\0';
	r->out += s->len + 1;
	return p;
}

static size_t
digits(struct reader *r)
{
	size_t n = 0;

	for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++)
		n++;
	return n;
}

/* Moves past one number in JSON's grammar; says if it has no fraction
 * and no exponent. */
static int
scan_number(struct reader *r, bool *ret_plain)
{
	*ret_plain = true;
	accept(r, '-');
	if (!accept(r, '0') && digits(r) == 0)
		return -EINVAL;
	if (accept(r, '.')) {
		*ret_plain = false;
		if (digits(r) == 0)
			return -EINVAL;
	}
	if (accept(r, 'e') || accept(r, 'E')) {
		*ret_plain = false;
		if (!accept(r, '+'))
			accept(r, '-');
		if (digits(r) == 0)
			return -EINVAL;
	}
	return 0;
}

static int
read_number(struct reader *r, struct jsonread_field *f)
{
	const unsigned char *start = r->p;
	struct strout s;
	bool plain;
	int rc = scan_number(r, &plain);

	if (rc < 0)
		return rc;
	if (r->p - start > JSONREAD_MAX_NUMBER)
		return -E2BIG;
	s = arena_out(r, (size_t)(r->p - start));
	str_put(&s, start, (size_t)(r->p - start));
	f->type = JSONREAD_NUMBER;
	f->len = s.len;
	f->str = arena_commit(r, &s);
	errno = 0;
	f->num = plain ? strtoll(f->str, NULL, 10) : 0;
	f->is_int = plain && errno == 0;
	return 0;
}

static int
read_literal(struct reader *r, struct jsonread_field *f)
{
	static const struct {
		const char *text;
		enum jsonread_type type;
		bool value;
	} lits[] = { { "true", JSONREAD_BOOL, true },
		     { "false", JSONREAD_BOOL, false },
		     { "null", JSONREAD_NULL, false } };

	for (size_t i = 0; i < ARRAY_SIZE(lits); i++) {
		size_t n = strlen(lits[i].text);

		if ((size_t)(r->end - r->p) >= n &&
		    memcmp(r->p, lits[i].text, n) == 0) {
			r->p += n;
			f->type = lits[i].type;
			f->boolean = lits[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

/* An object or array inside a value: checked, counted, not kept. */
static int
skip_container(struct reader *r, int depth)
{
	bool keyed = peek(r) == '{';
	unsigned char close = keyed ? '}' : ']';

	if (depth > JSONREAD_MAX_DEPTH)
		return -E2BIG;
	r->p++;
	skip_ws(r);
	if (accept(r, close))
		return 0;
	for (;;) {
		struct strout none = { 0 };
		int rc = keyed ? read_string(r, &none) : 0;

		skip_ws(r);
		if (rc == 0 && keyed && !accept(r, ':'))
			rc = -EINVAL;
		skip_ws(r);
		if (rc == 0)
			rc = skip_value(r, depth + 1);
		if (rc < 0)
			return rc;
		skip_ws(r);
		if (accept(r, close))
			return 0;
		if (!accept(r, ','))
			return -EINVAL;
		skip_ws(r);
	}
}

static int
skip_value(struct reader *r, int depth)
{
	struct jsonread_field scratch = { 0 };
	struct strout none = { 0 };
	bool plain;

	switch (peek(r)) {
	case '{':
	case '[':
		return skip_container(r, depth);
	case '"':
		return read_string(r, &none);
	case 't':
	case 'f':
	case 'n':
		return read_literal(r, &scratch);
	default:
		return scan_number(r, &plain);
	}
}

static int
read_value(struct reader *r, struct jsonread_field *f)
{
	struct strout s;
	int rc;

	switch (peek(r)) {
	case '"':
		s = arena_out(r, JSONREAD_MAX_STRING);
		rc = read_string(r, &s);
		if (rc < 0)
			return rc;
		f->type = JSONREAD_STRING;
		f->len = s.len;
		f->truncated = s.truncated;
		f->str = arena_commit(r, &s);
		return 0;
	case '{':
	case '[':
		f->type = JSONREAD_NESTED;
		return skip_container(r, 2);
	case 't':
	case 'f':
	case 'n':
		return read_literal(r, f);
	default:
		return read_number(r, f);
	}
}

static int
read_key(struct reader *r, struct jsonread_field *f)
{
	struct strout s = arena_out(r, JSONREAD_MAX_KEY);
	int rc = read_string(r, &s);

	if (rc < 0)
		return rc;
	if (s.truncated)
		return -E2BIG;
	f->key = arena_commit(r, &s);
	return 0;
}

/*
 * A duplicate key is refused: a line brig wrote never has one, and two
 * readers that pick different copies would disagree about one event.
 */
static int
read_member(struct reader *r, struct jsonread_obj *o)
{
	struct jsonread_field *f;
	int rc;

	if (o->n >= JSONREAD_MAX_FIELDS)
		return -E2BIG;
	f = &o->fields[o->n];
	*f = (struct jsonread_field){ 0 };
	rc = read_key(r, f);
	if (rc < 0)
		return rc;
	if (jsonread_get(o, f->key))
		return -EINVAL;
	skip_ws(r);
	if (!accept(r, ':'))
		return -EINVAL;
	skip_ws(r);
	rc = read_value(r, f);
	if (rc == 0)
		o->n++;
	return rc;
}

static int
read_object(struct reader *r, struct jsonread_obj *o)
{
	skip_ws(r);
	if (!accept(r, '{'))
		return -EINVAL;
	skip_ws(r);
	if (accept(r, '}'))
		return 0;
	for (;;) {
		int rc = read_member(r, o);

		if (rc < 0)
			return rc;
		skip_ws(r);
		if (accept(r, '}'))
			return 0;
		if (!accept(r, ','))
			return -EINVAL;
		skip_ws(r);
	}
}

int
jsonread_parse(const void *data, size_t len, struct jsonread_obj *ret)
{
	/* Decoding never lengthens a string or number, so the input's size
	 * plus one NUL per key and per value always fits. */
	size_t size = len + 2 * JSONREAD_MAX_FIELDS + 1;
	struct reader r;
	int rc;

	ret->n = 0;
	ret->arena = NULL;
	if (len > JSONREAD_MAX_INPUT)
		return -E2BIG;
	ret->arena = xmalloc(size);
	r = (struct reader){ .p = data,
			     .end = (const unsigned char *)data + len,
			     .out = ret->arena,
			     .out_end = ret->arena + size };
	rc = read_object(&r, ret);
	skip_ws(&r);
	if (rc == 0 && r.p != r.end)
		rc = -EINVAL;
	if (rc < 0)
		jsonread_free(ret);
	return rc;
}

void
jsonread_free(struct jsonread_obj *o)
{
	free(o->arena);
	o->arena = NULL;
	o->n = 0;
}

const struct jsonread_field *
jsonread_get(const struct jsonread_obj *o, const char *key)
{
	/* The first byte rules most keys out without a call. */
	for (size_t i = 0; i < o->n; i++)
		if (o->fields[i].key[0] == key[0] &&
		    strcmp(o->fields[i].key, key) == 0)
			return &o->fields[i];
	return NULL;
}

const char *
jsonread_str(const struct jsonread_obj *o, const char *key)
{
	const struct jsonread_field *f = jsonread_get(o, key);

	return f && f->type == JSONREAD_STRING ? f->str : NULL;
}

int
jsonread_int(const struct jsonread_obj *o, const char *key, int64_t *ret)
{
	const struct jsonread_field *f = jsonread_get(o, key);

	if (!f || f->type != JSONREAD_NUMBER || !f->is_int)
		return -ENOENT;
	*ret = f->num;
	return 0;
}
