/* SPDX-License-Identifier: Apache-2.0 */
/* Where brig keeps its state (DESIGN.md section 9). */
#pragma once

/* $BRIG_STATE_DIR, else /var/lib/brig for root, else $XDG_STATE_HOME/brig
 * or ~/.local/state/brig. Created 0700 if missing. Caller frees. */
int paths_state_dir(char **ret);
/* <state>/sandboxes/<name> */
char *paths_sandbox_dir(const char *state, const char *name);
/* A sandbox name: 1-63 of [a-z0-9-], starting with a letter or digit. */
int paths_valid_name(const char *name);
