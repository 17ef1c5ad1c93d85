/* SPDX-License-Identifier: Apache-2.0 */
/* What this host's kernel offers a sandbox, and what to change if not. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct host_report {
	bool userns; /* an unprivileged user namespace can be made */
	char userns_why[256]; /* when not: the sysctl or LSM to change */
	int landlock_abi; /* 0 when Landlock is off or missing */
	char landlock_why[256];
	bool seccomp; /* seccomp filters (SECCOMP_MODE_FILTER) */
	bool mount_api; /* mount_setattr(2) and openat2(2), Linux 5.12+ */
	bool cgroup2; /* a cgroup v2 hierarchy is mounted */
	bool cgroup2_delegated; /* and this user may create children in it */
	char cgroup_path[256];
	char cgroup_why[512];
};

void host_probe(struct host_report *r);
/*
 * Whether a sandbox can be built: 0, or -EOPNOTSUPP with why (a message
 * saying what to change) filled in.
 */
int host_ready(const struct host_report *r, char *why, size_t whylen);
