/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sandbox init: PID 1 inside. It builds the root, confines itself, then
 * spawns what the supervisor asks for over "sock" and reaps everything.
 */
#pragma once

#include "sandbox/sandbox.h"

/*
 * Runs in the cloned child. "sync" is read once: the supervisor writes a
 * byte after the id maps, and EOF means the supervisor is gone. Never
 * returns.
 */
__attribute__((noreturn)) void init_main(const struct sandbox_config *cfg,
					 int sock, int sync);
