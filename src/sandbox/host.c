/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/parse.h"
#include "common/util.h"
#include "sandbox/landlock.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Reads a small integer sysctl; -1 when it does not exist. */
static long
read_sysctl(const char *path)
{
	_cleanup_free_ char *text = NULL;
	uint64_t v;

	if (read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	return parse_u64(text, 0, INT32_MAX, &v) == 0 ? (long)v : -1;
}

static bool
try_userns(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
	if (waitpid(pid, &status, 0) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
probe_userns(struct host_report *r)
{
	r->userns = try_userns();
	if (r->userns)
		return;
	if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		snprintf(r->userns_why, sizeof(r->userns_why),
			 "set sysctl kernel.unprivileged_userns_clone=1");
	else if (read_sysctl("/proc/sys/kernel/"
			     "apparmor_restrict_unprivileged_userns") == 1)
		snprintf(r->userns_why, sizeof(r->userns_why),
			 "AppArmor restricts user namespaces: set sysctl "
			 "kernel.apparmor_restrict_unprivileged_userns=0 or "
			 "add an AppArmor profile for brig with 'userns,'");
	else if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		snprintf(r->userns_why, sizeof(r->userns_why),
			 "set sysctl user.max_user_namespaces=15000");
	else
		snprintf(r->userns_why, sizeof(r->userns_why),
			 "the kernel refused (%s); is CONFIG_USER_NS set?",
			 strerror(errno));
}

static void
probe_landlock(struct host_report *r)
{
	r->landlock_abi = landlock_abi();
	if (r->landlock_abi > 0)
		return;
	if (errno == EOPNOTSUPP)
		snprintf(r->landlock_why, sizeof(r->landlock_why),
			 "Landlock is built in but off: add 'landlock' to the "
			 "kernel's lsm= boot parameter");
	else
		snprintf(r->landlock_why, sizeof(r->landlock_why),
			 "this kernel has no Landlock (Linux 5.13+ with "
			 "CONFIG_SECURITY_LANDLOCK)");
}

/* PR_SET_SECCOMP with a NULL filter fails with EFAULT where filters exist. */
static bool
probe_seccomp(void)
{
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0) < 0 &&
	       errno == EFAULT;
}

static bool
probe_mount_api(void)
{
	long r = syscall(SYS_mount_setattr, -1, "", 0, NULL, 0);

	return !(r < 0 && errno == ENOSYS) &&
	       !(syscall(SYS_openat2, -1, "", NULL, 0) < 0 && errno == ENOSYS);
}

/* Finds our own cgroup v2 directory from /proc/self/cgroup ("0::/path"). */
static void
probe_cgroup(struct host_report *r)
{
	static const char *const roots[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	_cleanup_free_ char *self = NULL;
	const char *rel = NULL, *root = NULL;
	struct statfs fs;

	for (size_t i = 0; i < ARRAY_SIZE(roots) && !root; i++)
		if (statfs(roots[i], &fs) == 0 &&
		    fs.f_type == CGROUP2_SUPER_MAGIC)
			root = roots[i];
	r->cgroup2 = root != NULL;
	if (!root) {
		snprintf(r->cgroup_why, sizeof(r->cgroup_why),
			 "no cgroup v2 hierarchy: boot with "
			 "systemd.unified_cgroup_hierarchy=1");
		return;
	}
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 65536, &self, NULL) ==
	    0) {
		char *p = strstr(self, "0::");

		if (p && (p == self || p[-1] == '\n')) {
			rel = p + 3;
			p[3 + strcspn(p + 3, "\n")] = '\0';
		}
	}
	snprintf(r->cgroup_path, sizeof(r->cgroup_path), "%s%s", root,
		 rel && strcmp(rel, "/") ? rel : "");
	r->cgroup2_delegated =
	    faccessat(AT_FDCWD, r->cgroup_path, W_OK, AT_EACCESS) == 0;
	if (!r->cgroup2_delegated)
		snprintf(r->cgroup_why, sizeof(r->cgroup_why),
			 "'%s' is not writable by this user: run brig under "
			 "a delegated unit (systemd-run --user -p "
			 "Delegate=yes) for cgroup limits; rlimits are used "
			 "instead",
			 r->cgroup_path);
}

void
host_probe(struct host_report *r)
{
	memset(r, 0, sizeof(*r));
	probe_userns(r);
	probe_landlock(r);
	r->seccomp = probe_seccomp();
	r->mount_api = probe_mount_api();
	probe_cgroup(r);
}

int
host_ready(const struct host_report *r, char *why, size_t whylen)
{
	if (!r->userns)
		snprintf(why, whylen, "user namespaces are not available: %s",
			 r->userns_why);
	else if (!r->seccomp)
		snprintf(why, whylen,
			 "seccomp filters are not available: brig needs a "
			 "kernel with CONFIG_SECCOMP_FILTER");
	else if (!r->mount_api)
		snprintf(why, whylen,
			 "this kernel lacks mount_setattr(2) and openat2(2): "
			 "brig needs Linux 5.12 or later");
	else
		return 0;
	return -EOPNOTSUPP;
}
