/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor: one per sandbox, on the host side, detached from the
 * terminal. It starts sandbox init, serves control.sock, and ends the
 * sandbox (DESIGN.md section 2).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/* Called in the supervisor when the sandbox ends, to update the store. */
typedef void (*supervisor_exit_fn)(const struct sandbox_config *cfg,
				   bool remove, const char *reason);

/* Called in the supervisor when a policy revision is enforced or refused,
 * so the store says so even when the CLI stopped waiting. */
typedef void (*supervisor_policy_fn)(const struct sandbox_config *cfg,
				     int64_t rev, bool loaded,
				     const char *error);

/*
 * Forks the supervisor (detached: new session, reparented) and waits until
 * the sandbox is built. Returns 0 with the supervisor's pid, or -errno with
 * why. notes receives what the build skipped or could not enforce.
 */
int supervisor_start(struct sandbox_config *cfg, supervisor_exit_fn on_exit,
		     supervisor_policy_fn on_policy, pid_t *ret_pid, char *why,
		     size_t whylen, char *notes, size_t noteslen);
