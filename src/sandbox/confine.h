/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The confinement of DESIGN.md section 3, step 5, in one place. Init applies
 * the inherited part to itself once the root is built, so every process in
 * the sandbox is its descendant and shares one Landlock domain (signals and
 * abstract sockets then work between the sandbox's own processes and no
 * further); each spawn adds the per-process part (a new session and no
 * descriptors but the three it is given: see init.c).
 */
#pragma once

#include <stddef.h>

/*
 * Drops every capability (bounding, ambient, inheritable, permitted),
 * sets no_new_privs and RLIMIT_CORE 0, enforces the Landlock ruleset
 * (when ruleset_fd > 0) and loads the seccomp filter. "off" holds the
 * SANDBOX_OFF_* test switches. On failure fills why.
 */
int confine_self(int ruleset_fd, unsigned off, char *why, size_t whylen);
