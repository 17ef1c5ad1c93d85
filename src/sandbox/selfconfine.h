/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor confines itself once the sandbox is built: a Landlock
 * domain (read what identification, resolution and TLS need; write only
 * in the sandbox's state directory; execute nothing) and a seccomp allow
 * list (no new processes, no programs, no mounts or namespaces).
 */
#pragma once

#include <stddef.h>

#include "sandbox/sandbox.h"

struct events;

/*
 * Confines the calling process for good; call it before any thread
 * starts, since a Landlock domain covers only the calling thread.
 * Returns 0 or -errno with why. "finding" receives a sentence when
 * Landlock is missing and the policy allows best effort.
 */
int selfconfine_apply(const struct sandbox_config *cfg, char *finding,
		      size_t findinglen, char *why, size_t whylen);

/*
 * Test builds only: runs what BRIG_TEST_SUPERVISOR_ATTACK lists,
 * "KIND:ARG" separated by commas (write:PATH, read:PATH, fork, exec:PATH),
 * as a bug in the supervisor could, and records each outcome as a
 * "test-attack" event. Does nothing in other builds.
 */
void selfconfine_test_attacks(struct events *ev);
