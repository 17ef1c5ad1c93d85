/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The first filesystem wall: a new root that holds only what the policy
 * names (DESIGN.md section 3, step 3). Runs in sandbox init, inside the new
 * user and mount namespaces, before anything else starts there.
 */
#pragma once

#include <stddef.h>

#include "sandbox/sandbox.h"

/* Names in a user's workspace that run code on the host later. */
extern const char *const rootfs_protected[];

/*
 * Builds the root and pivots into it. wsfd is the workspace, opened
 * (O_PATH) before init became the sandbox user, so that directories on
 * the way that only the caller may cross need not be opened up. On
 * failure returns -errno with a sentence in why. Notes (paths skipped)
 * are appended to notes.
 */
int rootfs_build(const struct sandbox_config *cfg, int wsfd, char *why,
		 size_t whylen, char *notes, size_t noteslen);
/*
 * Host side, before init starts: creates empty placeholders in a user's
 * workspace for protected names that are missing (so they cannot be
 * created from inside) and refuses a workspace whose protected names are
 * symlinks. Sets cfg->git_placeholder when .git itself was missing.
 */
int rootfs_prepare_workspace(struct sandbox_config *cfg, char *why,
			     size_t whylen);
/*
 * Removes the empty placeholders that rootfs_build made in a user's
 * workspace for protected names that did not exist (listed in
 * <dir>/placeholders). Runs on the host side at the sandbox's end.
 */
void rootfs_remove_placeholders(const char *dir, const char *workspace);
