/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 backend of the resource limits: a child of the caller's
 * own cgroup per sandbox, with pids.max, memory.max (and no swap) and
 * cpu.max, init moved into it before it starts anything.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/limits.h"

/*
 * The caller's cgroup v2 directory, from the texts of /proc/self/mountinfo
 * and /proc/self/cgroup (its "0::" line). 0, or -ENOENT when no cgroup2
 * mount holds it, -ENAMETOOLONG when it does not fit in out.
 */
int cgroup_find_dir(const char *mountinfo, const char *proc_cgroup, char *out,
		    size_t len);
/*
 * Whether the space-separated word w is in the list text (a
 * cgroup.controllers or cgroup.subtree_control file).
 */
bool cgroup_has_word(const char *text, const char *w);
/* cpu.max for a number of thousandths of a CPU: "150000 100000". */
void cgroup_format_cpu_max(uint64_t milli, char *out, size_t len);
/* The value of key in a flat-keyed file (pids.events, memory.events). */
int cgroup_read_key(const char *text, const char *key, uint64_t *ret);

/*
 * Decides the backend for l: when the caller's cgroup has the needed
 * controllers and this user may make children in it (and enable them
 * for its children), sets l->backend to LIMITS_CGROUP and
 * l->cgroup_parent; otherwise leaves rlimits and says why.
 */
void cgroup_probe(struct sandbox_limits *l, char *why, size_t whylen);

/*
 * In the supervisor: makes <parent>/brig-<name>.<pid>, sets its limits
 * and moves pid (init, not yet running anything) into it. The path goes
 * to out. -errno with why.
 */
int cgroup_create(const struct sandbox_limits *l, const char *name, pid_t pid,
		  char *out, size_t len, char *why, size_t whylen);
/* Removes a sandbox's cgroup once nothing is left in it. */
void cgroup_remove(const char *path);
/* Reads a flat-keyed file of the cgroup at path: 0 or -errno. */
int cgroup_read_value(const char *path, const char *file, const char *key,
		      uint64_t *ret);
