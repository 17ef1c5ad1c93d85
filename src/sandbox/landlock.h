/* SPDX-License-Identifier: Apache-2.0 */
/* The second filesystem wall: a Landlock domain built from the policy. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/*
 * Debian 12's linux-libc-dev (6.1) knows Landlock ABI 2; the rights of later
 * ABIs are kernel ABI facts, defined here so one build uses what the running
 * kernel has.
 */
#define LL_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1) /* ABI 6 */

/* struct landlock_ruleset_attr as of ABI 6. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* The filesystem rights ABI "abi" can handle, so best effort can drop the
 * rest. */
uint64_t landlock_fs_rights(int abi);
/*
 * Lets "path" (opened now; missing is skipped) and what is beneath it have
 * "access", as far as "handled"; a file gets only the rights files have.
 */
int landlock_add_path(int ruleset, const char *path, uint64_t access,
		      uint64_t handled);

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
