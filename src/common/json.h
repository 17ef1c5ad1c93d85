/* SPDX-License-Identifier: Apache-2.0 */
/* JSON output for events and "-o json": strings escaped, nothing parsed. */
#pragma once

#include <stdint.h>

#include "common/buf.h"

int json_str(struct buf *b, const char *s);
/* Appends ,"key":"value" (or without the comma for the first member). */
int json_kv_str(struct buf *b, const char *key, const char *value);
int json_kv_int(struct buf *b, const char *key, int64_t value);
int json_kv_bool(struct buf *b, const char *key, int value);
/* Starts an object or array member: writes the comma when needed. */
int json_key(struct buf *b, const char *key);
