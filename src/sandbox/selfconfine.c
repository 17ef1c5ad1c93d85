/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/selfconfine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/events.h"
#include "sandbox/landlock.h"
#include "selfconfine_filter.h"

#define SC_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* Everything a state directory needs but running and making devices. */
#define SC_STATE                                                     \
	(SC_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_TRUNCATE |  \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR)

/*
 * What the supervisor still reads: /proc to identify callers, /etc for
 * the resolver (resolv.conf, hosts, nsswitch.conf, gai.conf) and the
 * trust store (/etc/ssl, whose links lead into /usr/share), /usr and /lib
 * for NSS modules that glibc loads on first use (Landlock's execute right
 * covers execve, not mmap), and the CPU list glibc reads for its arenas.
 */
static const struct {
	const char *path;
	uint64_t access;
} sc_paths[] = {
	{ "/proc", SC_READ },
	{ "/etc", SC_READ },
	{ "/usr", SC_READ },
	{ "/lib", SC_READ },
	{ "/lib64", SC_READ },
	{ "/sys/devices/system/cpu", SC_READ },
	{ "/dev/null",
	  LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE },
	{ "/dev/urandom", LANDLOCK_ACCESS_FS_READ_FILE },
	{ "/dev/random", LANDLOCK_ACCESS_FS_READ_FILE },
};

static int
sc_add_parent(int ruleset, const char *dir, uint64_t handled)
{
	_cleanup_free_ char *parent = xstrdup(dir);
	char *slash = strrchr(parent, '/');

	if (!slash || slash == parent)
		return 0;
	*slash = '\0';
	return landlock_add_path(ruleset, parent, LANDLOCK_ACCESS_FS_REMOVE_DIR,
				 handled);
}

static int
sc_add_rules(int ruleset, const struct sandbox_config *cfg, uint64_t handled)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(sc_paths); i++)
		r = landlock_add_path(ruleset, sc_paths[i].path,
				      sc_paths[i].access, handled);
	if (r == 0)
		r = landlock_add_path(ruleset, cfg->dir, SC_STATE, handled);
	/* Removing the state directory itself is a right of its parent's:
	 * empty directories beneath the parent may go, nothing else. */
	if (r == 0)
		r = sc_add_parent(ruleset, cfg->dir, handled);
	/* The store's files, not its directory, which holds every sandbox's
	 * state: they must exist now, and do, since the CLI made them. */
	for (size_t i = 0; r == 0 && cfg->store_files && cfg->store_files[i];
	     i++)
		r = landlock_add_path(ruleset, cfg->store_files[i],
				      LANDLOCK_ACCESS_FS_READ_FILE |
					  LANDLOCK_ACCESS_FS_WRITE_FILE |
					  LL_FS_TRUNCATE,
				      handled);
	/* A user's project: the empty placeholders go when the sandbox
	 * ends (rootfs_remove_placeholders); nothing in it is written. */
	if (r == 0 && cfg->protect_workspace)
		r = landlock_add_path(ruleset, cfg->workspace,
				      LANDLOCK_ACCESS_FS_READ_DIR |
					  LANDLOCK_ACCESS_FS_REMOVE_FILE |
					  LANDLOCK_ACCESS_FS_REMOVE_DIR,
				      handled);
	return r;
}

/*
 * Every right the kernel can handle is handled, execute and device ioctl
 * included, and none of those two is granted anywhere. Abstract unix
 * sockets are scoped; signals are not: init made its own domain before
 * this one, so a scoped supervisor could no longer kill it.
 */
static int
sc_landlock(const struct sandbox_config *cfg, char *finding, size_t len)
{
	struct ll_ruleset_attr attr = { 0 };
	size_t attr_size = sizeof(uint64_t);
	int abi = landlock_abi(), ruleset, r;

	if (abi < 1) {
		if (cfg->policy->landlock == POLICY_LANDLOCK_HARD_REQUIREMENT)
			return -EOPNOTSUPP;
		snprintf(finding, len,
			 "Landlock is unavailable: the supervisor keeps its "
			 "seccomp filter but not its filesystem wall");
		return 0;
	}
	attr.handled_access_fs = landlock_fs_rights(abi);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX;
		attr_size = sizeof(attr);
	}
	ruleset =
	    (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0)
		return -errno;
	r = sc_add_rules(ruleset, cfg, attr.handled_access_fs);
	if (r == 0)
		r = landlock_enforce(ruleset);
	close(ruleset);
	return r;
}

/*
 * With BRIG_SECCOMP_LOG=1 in its environment, the filter is loaded with
 * SECCOMP_FILTER_FLAG_LOG: every denied call then goes to the kernel's
 * audit log (dmesg: type=1326 ... comm="brig" syscall=N) where
 * /proc/sys/kernel/seccomp/actions_logged lists "errno", as it does by
 * default. Not by default: clone3's ENOSYS, one per thread, would be
 * logged too.
 */
static int
sc_seccomp(void)
{
	const char *log = getenv("BRIG_SECCOMP_LOG");
	unsigned flags = SECCOMP_FILTER_FLAG_TSYNC;
	long r;
	struct sock_fprog prog = {
		.len =
		    sizeof(selfconfine_filter_bpf) / sizeof(struct sock_filter),
		.filter = (struct sock_filter *)selfconfine_filter_bpf,
	};

	if (log && streq(log, "1"))
		flags |= SECCOMP_FILTER_FLAG_LOG;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0)
		return -errno;
	/* TSYNC names a thread it could not synchronise. */
	return r > 0 ? -EBUSY : 0;
}

int
selfconfine_apply(const struct sandbox_config *cfg, char *finding,
		  size_t findinglen, char *why, size_t whylen)
{
	const char *step = "set no_new_privs";
	int r = 0;

	finding[0] = '\0';
	if (cfg->off & SANDBOX_OFF_SUP_CONFINE)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0) {
		step = "enforce its Landlock domain";
		r = sc_landlock(cfg, finding, findinglen);
	}
	if (r == 0 && !(cfg->off & SANDBOX_OFF_SUP_FILTER)) {
		step = "load its seccomp filter";
		r = sc_seccomp();
	}
	if (r < 0)
		snprintf(why, whylen, "the supervisor cannot %s: %s", step,
			 strerror(-r));
	return r;
}

#ifdef BRIG_TEST_SWITCHES
/* One attack of BRIG_TEST_SUPERVISOR_ATTACK: 0 when it worked, or -errno. */
static int
sc_attack(const char *kind, const char *arg)
{
	char buf[16];
	int fd, status;
	pid_t pid;

	if (streq(kind, "write") || streq(kind, "read")) {
		bool w = streq(kind, "write");

		fd = open(arg,
			  w ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
			    : O_RDONLY | O_CLOEXEC,
			  0600);
		if (fd < 0)
			return -errno;
		if ((w ? write(fd, "attack\n", 7)
		       : read(fd, buf, sizeof(buf))) < 0) {
			close(fd);
			return -errno;
		}
		close(fd);
		return 0;
	}
	if (streq(kind, "fork")) {
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0)
			_exit(0);
		return waitpid(pid, &status, 0) < 0 ? -errno : 0;
	}
	if (streq(kind, "exec")) {
		char *argv[] = { (char *)arg, NULL };

		execve(arg, argv, environ);
		return -errno;
	}
	return -EINVAL;
}

void
selfconfine_test_attacks(struct events *ev)
{
	const char *spec = getenv("BRIG_TEST_SUPERVISOR_ATTACK");
	_cleanup_free_ char *copy = spec ? xstrdup(spec) : NULL;
	char *next = copy;

	while (next && *next) {
		char *item = next, *arg, msg[512];
		int r;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		arg = strchr(item, ':');
		if (arg)
			*arg++ = '\0';
		r = sc_attack(item, arg ? arg : "");
		snprintf(msg, sizeof(msg), "%s:%s: %s", item, arg ? arg : "",
			 r == 0 ? "done" : strerror(-r));
		events_lifecycle(ev, "test-attack", msg);
	}
}
#else
void
selfconfine_test_attacks(struct events *ev)
{
}
#endif
