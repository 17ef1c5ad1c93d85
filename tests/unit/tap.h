/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal TAP producer for brig's unit tests. */
#pragma once

#include <stdbool.h>

void tap_ok(bool cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tap_skip(const char *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the plan and returns the exit code (1 if anything failed). */
int tap_done(void);

/* ../shared (DESIGN.md, compat and example policies), or
 * $BRIG_SHARED_DIR. Caller frees. */
char *tap_shared_dir(void);

/* Compares two integers, each evaluated once. */
void tap_eq_int(long long got, long long want, const char *name);
#define TAP_EQ_INT(a, b, name) tap_eq_int((long long)(a), (long long)(b), name)
