/* SPDX-License-Identifier: Apache-2.0 */
/* brig doctor: what this host supports, and what to change. */
#include <stdio.h>

#include "cli/cli.h"
#include "common/util.h"
#include "sandbox/cgroup.h"
#include "sandbox/host.h"

static void
line(const char *what, bool ok, const char *detail)
{
	printf("%-22s %-8s %s\n", what, ok ? "ok" : "MISSING", detail);
}

/* What a sandbox made now would use for its limits (never MISSING). */
static void
resource_limits(void)
{
	struct sandbox_limits l = { .cpus_milli = 1000 };
	char why[512] = "", text[600];

	cgroup_probe(&l, why, sizeof(why));
	if (l.backend == LIMITS_CGROUP)
		snprintf(text, sizeof(text), "cgroup v2, under %s",
			 l.cgroup_parent);
	else
		snprintf(text, sizeof(text), "rlimits and a watchdog: %s", why);
	line("resource limits", true, text);
}

int
cmd_doctor(struct cli *cli, int argc, char **argv)
{
	struct host_report r;
	char why[512], abi[64];
	int ready;

	if (argc > 1)
		return cli_help("Usage: brig doctor\n\n"
				"Reports user namespaces, Landlock, seccomp, "
				"the mount API and\ncgroup v2 delegation, and "
				"what to change where one is missing.\n"
				"Exits 0 when sandboxes can run here.\n");
	host_probe(&r);
	line("user namespaces", r.userns, r.userns ? "" : r.userns_why);
	snprintf(abi, sizeof(abi), "ABI %d%s", r.landlock_abi,
		 r.landlock_abi >= 6 ? ""
				     : " (6 or later enforces all rights)");
	line("landlock", r.landlock_abi > 0,
	     r.landlock_abi > 0 ? abi : r.landlock_why);
	line("seccomp", r.seccomp, r.seccomp ? "filter mode" : "");
	line("mount API", r.mount_api,
	     r.mount_api ? "mount_setattr, openat2" : "needs Linux 5.12+");
	line("cgroup v2", r.cgroup2, r.cgroup2 ? r.cgroup_path : r.cgroup_why);
	line("cgroup delegation", r.cgroup2_delegated,
	     r.cgroup2_delegated ? "" : r.cgroup_why);
	resource_limits();
	ready = host_ready(&r, why, sizeof(why));
	printf("\n%s\n",
	       ready == 0 ? "brig can run sandboxes on this host." : why);
	return ready == 0 ? 0 : EXIT_FAIL;
}
