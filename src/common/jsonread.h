/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded reader for flat JSON objects, {"key": value, ...}, whose
 * values are strings, numbers, true, false or null: what an event line
 * holds. It takes bytes and returns fields; it never reads a file, so a
 * fuzzer can drive it. Nested objects and arrays are checked and skipped
 * (a later writer may add some), up to JSONREAD_MAX_DEPTH.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest input accepted, in bytes. */
#define JSONREAD_MAX_INPUT (256 * 1024)
/* Members of the top-level object; more make the input refused. */
#define JSONREAD_MAX_FIELDS 64
/* A key longer than this (decoded) makes the input refused. */
#define JSONREAD_MAX_KEY 128
/* A string value longer than this (decoded) is cut there. */
#define JSONREAD_MAX_STRING 4096
/* Objects and arrays nested deeper than this make the input refused. */
#define JSONREAD_MAX_DEPTH 8

enum jsonread_type {
	JSONREAD_NULL,
	JSONREAD_BOOL,
	JSONREAD_NUMBER,
	JSONREAD_STRING,
	JSONREAD_NESTED, /* an object or array, skipped: no value */
};

struct jsonread_field {
	const char *key;
	enum jsonread_type type;
	/* A string's decoded UTF-8 or a number's text; NULL otherwise. */
	const char *str;
	size_t len;
	bool truncated; /* a string cut at JSONREAD_MAX_STRING */
	bool boolean;
	bool is_int; /* a number without fraction or exponent in int64_t */
	int64_t num;
};

struct jsonread_obj {
	struct jsonread_field fields[JSONREAD_MAX_FIELDS];
	size_t n;
	char *arena; /* every key and value, NUL-terminated */
};

/*
 * Parses one object (whitespace around it allowed). Returns 0, -EINVAL
 * when it is not a JSON object (a duplicate key, \u0000, invalid UTF-8
 * or a lone surrogate count as not), or -E2BIG when a limit above is
 * passed. On failure nothing needs freeing.
 */
int jsonread_parse(const void *data, size_t len, struct jsonread_obj *ret);
void jsonread_free(struct jsonread_obj *o);

/* The member named key, or NULL. */
const struct jsonread_field *jsonread_get(const struct jsonread_obj *o,
					  const char *key);
/* The string member named key; NULL when absent or not a string. */
const char *jsonread_str(const struct jsonread_obj *o, const char *key);
/* The integer member named key: 0, or -ENOENT when absent or no integer. */
int jsonread_int(const struct jsonread_obj *o, const char *key, int64_t *ret);

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
size_t jsonread_utf8_len(const unsigned char *p, size_t n);
