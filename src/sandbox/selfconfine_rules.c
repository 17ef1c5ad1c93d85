/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/selfconfine_rules.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/util.h"

/*
 * What the supervisor does once it is set up, found with strace -f over
 * the end-to-end suite and by reading the code: the epoll loop and its
 * descriptors, the proxy's sockets, pipes and splice, the resolver and
 * TLS threads (glibc's getaddrinfo, OpenSSL), /proc for identification,
 * the event log and the store, and the end of the sandbox (kill, wait,
 * remove the state directory). Everything else gets EPERM.
 */
static const char *const allowed[] = {
	/* Memory and threads. */
	"brk",
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"madvise",
	"futex",
	"futex_waitv",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"set_tid_address",
	"membarrier",
	"sched_yield",
	"sched_getaffinity",
	"exit",
	"exit_group",
	"restart_syscall",
	"getrandom",
	"prctl",
	/* Signals: its own, and toward init and the sandbox's processes. */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigtimedwait",
	"sigaltstack",
	"kill",
	"tgkill",
	"tkill",
	"pidfd_open",
	"pidfd_send_signal",
	"wait4",
	"waitid",
	/* Identity and limits, read only (prlimit64 is getrlimit's call). */
	"getpid",
	"getppid",
	"gettid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	"getgroups",
	"getrlimit",
	"prlimit64",
	"getrusage",
	"sysinfo",
	"uname",
	/* Time. */
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	/* Files: what Landlock lets it reach. */
	"open",
	"openat",
	"openat2",
	"close",
	"close_range",
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"lseek",
	"fstat",
	"stat",
	"lstat",
	"newfstatat",
	"statx",
	"fstatfs",
	"statfs",
	"access",
	"faccessat",
	"faccessat2",
	"readlink",
	"readlinkat",
	"getdents",
	"getdents64",
	"fcntl",
	"dup",
	"dup2",
	"dup3",
	"fsync",
	"fdatasync",
	"ftruncate",
	"unlink",
	"unlinkat",
	"rmdir",
	"rename",
	"renameat",
	"renameat2",
	"mkdir",
	"mkdirat",
	"getcwd",
	"ioctl",
	"flock",
	"umask",
	/* Descriptors the loop waits on. */
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"eventfd",
	"eventfd2",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"signalfd",
	"signalfd4",
	"pipe",
	"pipe2",
	"splice",
	/* Sockets: the proxy, the resolver, the control socket, init. */
	"connect",
	"accept",
	"accept4",
	"bind",
	"getsockname",
	"getpeername",
	"getsockopt",
	"setsockopt",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"shutdown",
};

/*
 * Sockets of the families it dials or resolves with: unix (glibc asks
 * nscd), IPv4, IPv6, and netlink route (getaddrinfo's AI_ADDRCONFIG).
 * Its sock_diag socket was made by init, inside the sandbox.
 */
static int
allow_sockets(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(families); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, families[i]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
				     SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
	return r;
}

/*
 * Threads, never processes: clone only with CLONE_THREAD. clone3 keeps
 * its flags in memory that seccomp cannot read, so it gets ENOSYS and
 * glibc's pthread_create falls back to clone (seen with glibc 2.36).
 */
static int
allow_threads(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(
	    ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));

	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				     SCMP_SYS(clone3), 0);
	return r;
}

static int
allow_list(scmp_filter_ctx ctx)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		/* A call this architecture lacks (open on arm64) is skipped. */
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	return r;
}

/*
 * The supervisor's own code issues no ioctl; these few are what libraries
 * commonly ask of a descriptor (isatty, bytes pending, blocking mode).
 * The request is an int for the kernel: only the low 32 bits count.
 */
static int
allow_ioctls(scmp_filter_ctx ctx)
{
	static const unsigned long reqs[] = { TCGETS, FIONREAD, FIONBIO,
					      FIOCLEX };
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(reqs); i++)
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, reqs[i]));
	return r;
}

int
selfconfine_rules_build(scmp_filter_ctx *ret)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			     SCMP_ACT_KILL_PROCESS);
	/*
	 * A binary tree of system call numbers: the kernel runs the filter
	 * once per number when it is loaded (to cache the constant
	 * answers), and a tree halved that, 0.33 to 0.17 ms here.
	 */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r == 0)
		r = allow_list(ctx);
	if (r == 0)
		r = allow_ioctls(ctx);
	if (r == 0)
		r = allow_sockets(ctx);
	if (r == 0)
		r = allow_threads(ctx);
	if (r < 0) {
		seccomp_release(ctx);
		return r;
	}
	*ret = ctx;
	return 0;
}
