/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox user: one id inside mapped to one unprivileged id outside. */
#pragma once

#include <sys/types.h>

/*
 * Writes /proc/<pid>/{setgroups,uid_map,gid_map}: inside uid/gid to the
 * host ones. Only root may keep setgroups (init then clears its groups);
 * others must deny it to map a gid at all.
 */
int userns_write_maps(pid_t pid, uid_t inside_uid, gid_t inside_gid,
		      uid_t host_uid, gid_t host_gid);
/*
 * The host uid a sandbox user maps to when brig runs as root: never 0,
 * one per sandbox id, above the ranges that /etc/subuid hands out.
 */
uid_t userns_root_host_uid(long long sandbox_id);
