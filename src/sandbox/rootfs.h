/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The first filesystem wall: a new root that holds only what the policy
 * names (DESIGN.md section 3, step 3). Runs in sandbox init, inside the new
 * user and mount namespaces, before anything else starts there.
 */
#pragma once

#include <stddef.h>

#include "sandbox/sandbox.h"

/* Where the sandbox's CA goes: alone, and appended to the host's bundle. */
#define ROOTFS_CA_DIR "/run/brig"
#define ROOTFS_CA_FILE ROOTFS_CA_DIR "/ca.pem"
#define ROOTFS_CA_BUNDLE ROOTFS_CA_DIR "/ca-bundle.pem"
#define ROOTFS_HOST_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define ROOTFS_BUNDLE_MAX (4 * 1024 * 1024)

/* Names in a user's workspace that run code on the host later. */
extern const char *const rootfs_protected[];

/*
 * Builds the root and pivots into it. wsfd is the workspace, opened
 * (O_PATH) before init became the sandbox user, so that directories on
 * the way that only the caller may cross need not be opened up. On
 * failure returns -errno with a sentence in why. ca_pem (or NULL) is the
 * sandbox's CA certificate: written to ROOTFS_CA_FILE, and with the host's
 * trust store to ROOTFS_CA_BUNDLE and over the host bundle's own path.
 * Notes (paths skipped) are appended to notes.
 */
int rootfs_build(const struct sandbox_config *cfg, int wsfd, const char *ca_pem,
		 char *why, size_t whylen, char *notes, size_t noteslen);
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
