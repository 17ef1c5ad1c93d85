/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/seccomp_rules.h"

#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/util.h"

/* Denied with EPERM: they reach kernel surface no agent needs. */
static const char *const denied_eperm[] = {
	"mount",
	"umount",
	"umount2",
	"pivot_root",
	"chroot",
	"setns",
	"unshare",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"move_mount",
	"open_tree",
	"mount_setattr",
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"process_madvise",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"keyctl",
	"add_key",
	"request_key",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"reboot",
	"swapon",
	"swapoff",
	"acct",
	"quotactl",
	"quotactl_fd",
	"syslog",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"lookup_dcookie",
	"name_to_handle_at",
	"open_by_handle_at",
	"iopl",
	"ioperm",
	"uselib",
	"vhangup",
	"nfsservctl",
	"pciconfig_iobase",
	"pciconfig_read",
	"pciconfig_write",
	"fanotify_init",
	"kcmp",
	"setdomainname",
	"sethostname",
	"personality",
};

/*
 * The socket families a sandboxed program may open are AF_UNIX (1),
 * AF_INET (2), AF_INET6 (10) and AF_NETLINK (16, NETLINK_ROUTE only); the
 * gaps between them are denied as ranges, which keeps the filter short.
 */
static const struct {
	int lo, hi; /* inclusive; hi -1 means "and every family above" */
} denied_families[] = { { 0, 0 }, { 3, 9 }, { 11, 15 }, { 17, -1 } };

static int
deny_list(scmp_filter_ctx ctx)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(denied_eperm); i++) {
		int nr = seccomp_syscall_resolve_name(denied_eperm[i]);

		/* A name this libseccomp does not know cannot be called. */
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	return r;
}

/*
 * clone3 passes its flags in memory that seccomp cannot read, so it gets
 * ENOSYS and libc falls back to clone, whose flags can be checked.
 */
static int
deny_namespaces(scmp_filter_ctx ctx)
{
	static const uint64_t ns[] = { CLONE_NEWUSER,   CLONE_NEWNS,
				       CLONE_NEWPID,    CLONE_NEWNET,
				       CLONE_NEWIPC,    CLONE_NEWUTS,
				       CLONE_NEWCGROUP, CLONE_NEWTIME };
	int r;

	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ns); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				     SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
	return r;
}

/*
 * TIOCSTI pushes bytes into a terminal's input and TIOCLINUX can do the
 * same on a console. The ioctl request is an int for the kernel, so only
 * the low 32 bits are compared: a request with high bits set still hits.
 */
static int
deny_ioctls(scmp_filter_ctx ctx)
{
	static const unsigned long reqs[] = { TIOCSTI, TIOCLINUX };
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(reqs); i++)
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, reqs[i]));
	return r;
}

static int
deny_family_range(scmp_filter_ctx ctx, int lo, int hi)
{
	const uint32_t act = SCMP_ACT_ERRNO(EAFNOSUPPORT);

	if (hi < 0)
		return seccomp_rule_add(ctx, act, SCMP_SYS(socket), 1,
					SCMP_A0(SCMP_CMP_GE, lo));
	if (lo == hi)
		return seccomp_rule_add(ctx, act, SCMP_SYS(socket), 1,
					SCMP_A0(SCMP_CMP_EQ, lo));
	/* libseccomp 2.5 takes one comparison per argument in a rule. */
	for (int fam = lo; fam <= hi; fam++) {
		int r = seccomp_rule_add(ctx, act, SCMP_SYS(socket), 1,
					 SCMP_A0(SCMP_CMP_EQ, fam));
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * MPTCP is a second TCP stack behind AF_INET and AF_INET6: its subflows
 * are sockets the proxy's identification does not look for, and it has
 * been a steady source of kernel bugs. EPROTONOSUPPORT is what a kernel
 * without MPTCP answers, so programs that try it fall back to TCP.
 */
static int
deny_mptcp(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(families); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT),
				     SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, families[i]),
				     SCMP_A2(SCMP_CMP_EQ, IPPROTO_MPTCP));
	return r;
}

/* Every family but the allowed ones; netlink only for NETLINK_ROUTE. */
static int
deny_sockets(scmp_filter_ctx ctx)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(denied_families); i++)
		r = deny_family_range(ctx, denied_families[i].lo,
				      denied_families[i].hi);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT),
				     SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
				     SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE));
	if (r == 0)
		r = deny_mptcp(ctx);
	return r;
}

int
seccomp_rules_build(scmp_filter_ctx *ret)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return -ENOMEM;
	/*
	 * Only the native ABI is allowed: x32 and i386 system calls (int 0x80)
	 * would reach the kernel with other numbers, around this list.
	 */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			     SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = deny_list(ctx);
	if (r == 0)
		r = deny_namespaces(ctx);
	if (r == 0)
		r = deny_ioctls(ctx);
	if (r == 0)
		r = deny_sockets(ctx);
	if (r < 0) {
		seccomp_release(ctx);
		return r;
	}
	*ret = ctx;
	return 0;
}
