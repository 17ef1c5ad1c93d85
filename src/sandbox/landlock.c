/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/rootfs.h"

#define LL_READ                                                      \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
	 LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_WRITE_ABI1                                                    \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |     \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |   \
	 LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)
#define LL_FILE_RIGHTS                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	 LANDLOCK_ACCESS_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

uint64_t
landlock_fs_rights(int abi)
{
	uint64_t r = LL_READ | LL_WRITE_ABI1;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

int
landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/*
 * Devices every sandbox has (DESIGN.md section 3), with the rights a shell
 * and a terminal need. The policy may grant more, never less.
 */
static const struct {
	const char *path;
	uint64_t access;
} ll_devices[] = {
	{ "/dev/zero", LANDLOCK_ACCESS_FS_READ_FILE },
	{ "/dev/full",
	  LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE },
	{ "/dev/random", LANDLOCK_ACCESS_FS_READ_FILE },
	{ "/dev/urandom", LANDLOCK_ACCESS_FS_READ_FILE },
	{ "/dev/tty", LANDLOCK_ACCESS_FS_READ_FILE |
			  LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_IOCTL_DEV },
	{ "/dev/pts", LANDLOCK_ACCESS_FS_READ_FILE |
			  LANDLOCK_ACCESS_FS_READ_DIR |
			  LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_IOCTL_DEV },
	{ "/dev/shm",
	  LL_READ | LL_WRITE_ABI1 | LANDLOCK_ACCESS_FS_REFER | LL_FS_TRUNCATE },
	{ "/dev", LANDLOCK_ACCESS_FS_READ_DIR },
	/* The sandbox's CA and bundle (rootfs.h), when it has them. */
	{ ROOTFS_CA_DIR,
	  LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR },
};

int
landlock_add_path(int ruleset, const char *path, uint64_t access,
		  uint64_t handled)
{
	struct landlock_path_beneath_attr attr = { 0 };
	_cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	/*
	 * A policy path that is a link is recreated as a link, not followed
	 * (rootfs.c), so its target gets rights only if the policy names it.
	 * Following it here would hand a read_only target the rights of a
	 * read_write link to it.
	 */
	if (S_ISLNK(st.st_mode))
		return 0;
	if (!S_ISDIR(st.st_mode))
		access &= LL_FILE_RIGHTS;
	attr.parent_fd = fd;
	attr.allowed_access = access & handled;
	if (!attr.allowed_access)
		return 0;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
		    &attr, 0) < 0)
		return -errno;
	return 0;
}

static int
ll_add_rules(int ruleset, const struct policy *p, uint64_t handled)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < p->read_only.n; i++)
		r = landlock_add_path(ruleset, p->read_only.v[i], LL_READ,
				      handled);
	for (size_t i = 0; r == 0 && i < p->read_write.n; i++)
		r = landlock_add_path(ruleset, p->read_write.v[i], handled,
				      handled);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ll_devices); i++)
		r = landlock_add_path(ruleset, ll_devices[i].path,
				      ll_devices[i].access, handled);
	/* The root and the links into /usr must be walkable and readable. */
	if (r == 0)
		r = landlock_add_path(ruleset, "/", LANDLOCK_ACCESS_FS_READ_DIR,
				      handled);
	return r;
}

int
landlock_build(const struct policy *p, char *finding, size_t findinglen)
{
	struct ll_ruleset_attr attr = { 0 };
	int abi = landlock_abi(), ruleset, r;
	size_t attr_size;

	finding[0] = '\0';
	if (abi < 1) {
		if (p->landlock == POLICY_LANDLOCK_HARD_REQUIREMENT)
			return -EOPNOTSUPP;
		snprintf(finding, findinglen,
			 "Landlock is unavailable; the mount namespace is the "
			 "only filesystem wall");
		return 0;
	}
	attr.handled_access_fs = landlock_fs_rights(abi);
	attr_size = sizeof(uint64_t);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	} else if (p->landlock == POLICY_LANDLOCK_HARD_REQUIREMENT) {
		return -EOPNOTSUPP;
	} else {
		snprintf(finding, findinglen,
			 "Landlock ABI %d lacks %s; those rights are not "
			 "enforced by Landlock",
			 abi,
			 abi < 3   ? "truncate, device ioctl and scoping"
			 : abi < 5 ? "device ioctl and scoping"
				   : "signal and abstract socket scoping");
	}
	ruleset =
	    (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0)
		return -errno;
	r = ll_add_rules(ruleset, p, attr.handled_access_fs);
	if (r < 0) {
		close(ruleset);
		return r;
	}
	return ruleset;
}

int
landlock_enforce(int ruleset_fd)
{
	if (ruleset_fd <= 0)
		return 0;
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0)
		return -errno;
	return 0;
}
