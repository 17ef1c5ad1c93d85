/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/parse.h"
#include "common/util.h"
#include "sandbox/landlock.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"

static int
last_cap(void)
{
	_cleanup_free_ char *text = NULL;
	uint64_t v = CAP_LAST_CAP;

	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 32, &text,
			 NULL) == 0) {
		text[strcspn(text, "\n")] = '\0';
		parse_u64(text, 0, 63, &v);
	}
	return (int)v;
}

static int
drop_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3
	};
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -errno;
	for (int cap = 0; cap <= last_cap(); cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

/*
 * Test builds only ("caps" switch): every capability init holds stays,
 * raised into the ambient set so that it survives execve, so that an
 * attack stopped only by the lack of capabilities can be shown to work.
 */
static int
keep_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3
	};
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	data[0].inheritable = data[0].permitted;
	data[1].inheritable = data[1].permitted;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	for (int cap = 0; cap <= last_cap(); cap++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) <
			0 &&
		    errno != EINVAL && errno != EPERM)
			return -errno;
	return 0;
}

/* Landlock, then seccomp; *step names the one that failed. */
static int
enforce_walls(int ruleset_fd, unsigned off, const char **step)
{
	int r = 0;

	if (!(off & SANDBOX_OFF_LANDLOCK)) {
		r = landlock_enforce(ruleset_fd);
		*step = "enforce Landlock";
	}
	if (r == 0 && !(off & SANDBOX_OFF_SECCOMP)) {
		r = seccomp_install();
		*step = "load the seccomp filter";
	}
	return r;
}

int
confine_self(int ruleset_fd, unsigned off, char *why, size_t whylen)
{
	const struct rlimit no_core = { 0, 0 };
	const char *step = "drop capabilities";
	/* Without no_new_privs (test builds), Landlock and seccomp need
	 * CAP_SYS_ADMIN, so they go first, while init still has it. */
	bool walls_first = off & SANDBOX_OFF_NNP;
	int r = walls_first ? enforce_walls(ruleset_fd, off, &step) : 0;

	if (r == 0) {
		step = "drop capabilities";
		r = off & SANDBOX_OFF_CAPS ? keep_caps() : drop_caps();
	}
	if (r == 0 && !(off & SANDBOX_OFF_NNP) &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno, step = "set no_new_privs";
	if (r == 0 && setrlimit(RLIMIT_CORE, &no_core) < 0)
		r = -errno, step = "turn off core dumps";
	if (r == 0 && !walls_first)
		r = enforce_walls(ruleset_fd, off, &step);
	if (r < 0)
		snprintf(why, whylen, "cannot %s: %s", step, strerror(-r));
	return r;
}
