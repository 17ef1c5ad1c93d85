/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the sandbox layer's pieces that run without a sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/host.h"
#include "sandbox/landlock.h"
#include "sandbox/proto.h"
#include "sandbox/seccomp.h"
#include "common/fdutil.h"
#include "sandbox/userns.h"
#include "tap.h"

static struct proto_msg msg;

static void
test_proto_roundtrip(void)
{
	struct proto_hdr h = { .type = PROTO_EXEC, .arg = 2, .rows = 24 };
	char *strings[] = { "sh", "-c", "TERM=xterm" };
	int sp[2], fds[2] = { -1, -1 }, got[FD_PASS_MAX];
	size_t ngot = FD_PASS_MAX;

	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
	tap_ok(pipe2(fds, O_CLOEXEC) == 0, "pipe");
	tap_ok(proto_send(sp[0], &h, strings, 3, fds, 2) == 0, "proto_send");
	TAP_EQ_INT(proto_recv(sp[1], &msg, got, &ngot) > 0, 1, "proto_recv");
	TAP_EQ_INT(msg.nstrings, 3, "three strings arrive");
	tap_ok(strcmp(msg.strings[2], "TERM=xterm") == 0, "strings intact");
	TAP_EQ_INT(ngot, 2, "two descriptors arrive");
	TAP_EQ_INT(msg.hdr.rows, 24, "header intact");
	close(got[0]);
	close(got[1]);
	close(sp[0]);
	tap_ok(proto_recv(sp[1], &msg, NULL, NULL) == 0, "EOF reads as 0");
	close(sp[1]);
	close(fds[0]);
	close(fds[1]);
}

static void
test_proto_malformed(void)
{
	struct proto_hdr h = { .type = PROTO_EXEC, .nstrings = 2 };

	memcpy(msg.data, &h, sizeof(h));
	memcpy(msg.data + sizeof(h), "ab\0cd", 5); /* the second lacks NUL */
	TAP_EQ_INT(proto_parse(&msg, sizeof(h) + 5), -EBADMSG,
		   "a string without its NUL is refused");
	memcpy(msg.data + sizeof(h), "ab\0cd\0ef\0", 9);
	TAP_EQ_INT(proto_parse(&msg, sizeof(h) + 9), -EBADMSG,
		   "bytes past the announced strings are refused");
	TAP_EQ_INT(proto_parse(&msg, 3), -EBADMSG, "a short header is refused");
	h.nstrings = PROTO_MAX_STRINGS + 1;
	memcpy(msg.data, &h, sizeof(h));
	TAP_EQ_INT(proto_parse(&msg, sizeof(h)), -EBADMSG,
		   "too many strings are refused");
}

/* Runs fn in a child under the filter; returns its exit code. */
static int
under_filter(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (seccomp_install() < 0)
			_exit(99);
		_exit(fn());
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int
try_unshare(void)
{
	return unshare(CLONE_NEWUSER) < 0 && errno == EPERM ? 0 : 1;
}

static int
try_mount(void)
{
	return mount("none", "/tmp", "tmpfs", 0, NULL) < 0 && errno == EPERM
		   ? 0
		   : 1;
}

static int
try_packet_socket(void)
{
	return socket(AF_PACKET, SOCK_RAW, 0) < 0 && errno == EAFNOSUPPORT ? 0
									   : 1;
}

static int
try_netlink_audit(void)
{
	return socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */) < 0 &&
		       errno == EAFNOSUPPORT
		   ? 0
		   : 1;
}

static int
try_tiocsti_high_bits(void)
{
	char c = 'x';
	/* The kernel reads the request as an int: high bits still mean
	 * TIOCSTI, so the filter must compare only the low 32. */
	unsigned long req = 0xdead000000000000UL | TIOCSTI;

	return syscall(SYS_ioctl, 0, req, &c) < 0 && errno == EPERM ? 0 : 1;
}

static int
try_allowed(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return fd >= 0 && pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : 1;
}

static void
test_seccomp(void)
{
	TAP_EQ_INT(under_filter(try_unshare), 0, "seccomp: unshare is EPERM");
	TAP_EQ_INT(under_filter(try_mount), 0, "seccomp: mount is EPERM");
	TAP_EQ_INT(under_filter(try_packet_socket), 0,
		   "seccomp: AF_PACKET is EAFNOSUPPORT");
	TAP_EQ_INT(under_filter(try_netlink_audit), 0,
		   "seccomp: netlink other than route is refused");
	TAP_EQ_INT(under_filter(try_tiocsti_high_bits), 0,
		   "seccomp: TIOCSTI with high bits set is EPERM");
	TAP_EQ_INT(under_filter(try_allowed), 0,
		   "seccomp: fork and AF_INET still work");
}

static void
test_host(void)
{
	struct host_report r;
	char why[512];

	host_probe(&r);
	tap_ok(r.seccomp, "host: seccomp filters are available");
	if (landlock_abi() == 0)
		tap_skip("this kernel has no Landlock", "host: Landlock ABI");
	else
		tap_ok(r.landlock_abi == landlock_abi(),
		       "host: Landlock ABI %d", r.landlock_abi);
	tap_ok(host_ready(&r, why, sizeof(why)) == 0 || why[0],
	       "host: not ready always says why");
	tap_ok(userns_root_host_uid(0) != 0 && userns_root_host_uid(1) != 0 &&
		   userns_root_host_uid(1) != userns_root_host_uid(2),
	       "a root caller's sandbox user is never uid 0, one per id");
}

int main(void);
int
main(void)
{
	test_proto_roundtrip();
	test_proto_malformed();
	test_seccomp();
	test_host();
	return tap_done();
}
