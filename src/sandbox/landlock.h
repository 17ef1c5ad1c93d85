/* SPDX-License-Identifier: Apache-2.0 */
/* The second filesystem wall: a Landlock domain built from the policy. */
#pragma once

#include <stddef.h>

#include "policy/policy.h"

/* The highest Landlock ABI this kernel offers, or 0 (errno says why). */
int landlock_abi(void);

/*
 * Builds a ruleset from the policy's paths, opened in the current (new)
 * root. Paths missing there are skipped. Returns a ruleset fd, 0 when
 * Landlock is missing and the policy allows best effort, or -errno.
 * "finding" receives a sentence when rights were dropped (best effort).
 */
int landlock_build(const struct policy *p, char *finding, size_t findinglen);
/* Enforces the ruleset on the calling thread (needs no_new_privs). */
int landlock_enforce(int ruleset_fd);
