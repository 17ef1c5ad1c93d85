"""Attacks on the kernel's wider interfaces from inside the sandbox."""

import os

import pytest

from escape import attack, run, verdict
from hostkit import (kernel_config, lab, raw_syscall,  # noqa: F401
                     sysctl)

ADD_KEY = r"""python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
KEY_SPEC_PROCESS_KEYRING = -2
r = libc.syscall(248, b"user", b"brig-escape", b"x", 1,
                 KEY_SPEC_PROCESS_KEYRING)
sys.exit(0 if r > 0 else 1)
'"""


@attack("seccomp")
def test_keyctl_add_key(brig, off):
    """Adds a key to a kernel keyring: keys are shared state outside the
    sandbox's namespaces, a channel out and a kernel attack surface."""
    r = run(brig, off, ADD_KEY)
    verdict(off, r.returncode == 0, r)


# One SQE through a fresh ring: "open PATH" reads a file with
# IORING_OP_OPENAT, "socket" opens a NETLINK_SOCK_DIAG socket with
# IORING_OP_SOCKET, a family the seccomp filter refuses to socket(2).
URING_C = r"""
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0) { perror("io_uring_setup"); return 1; }
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			IORING_OFF_SQ_RING);
	char *cq = mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(*sqes),
			PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return 1;
	struct io_uring_sqe *e = &sqes[0];
	memset(e, 0, sizeof(*e));
	if (!strcmp(argv[1], "open")) {
		e->opcode = IORING_OP_OPENAT;
		e->fd = AT_FDCWD;
		e->addr = (unsigned long)argv[2];
		e->open_flags = O_RDONLY;
	} else {
		e->opcode = IORING_OP_SOCKET;
		e->fd = AF_NETLINK;
		e->off = SOCK_RAW;
		e->len = NETLINK_SOCK_DIAG;
	}
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	array[*tail & *(unsigned *)(sq + p.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0) { perror("io_uring_enter"); return 1; }
	struct io_uring_cqe *c = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	if (c[0].res < 0) { printf("op: %s\n", strerror(-c[0].res)); return 1; }
	if (!strcmp(argv[1], "open")) {
		char buf[256] = "";
		ssize_t n = read(c[0].res, buf, sizeof(buf) - 1);
		printf("read %zd bytes through io_uring\n", n);
		return n > 0 ? 0 : 1;
	}
	printf("socket fd %d through io_uring\n", c[0].res);
	return 0;
}
"""


@attack("seccomp")
def test_io_uring_open_file(brig, off, lab):
    """Opens and reads a file through io_uring (IORING_OP_OPENAT): a ring
    runs system calls that no seccomp filter ever sees."""
    prog = lab.cc("uring", URING_C)
    r = run(brig, off, f"{prog} open /etc/passwd", "--policy",
            lab.default_policy)
    verdict(off, r.returncode == 0 and "through io_uring" in r.stdout, r)


@attack("seccomp")
def test_io_uring_socket(brig, off, lab):
    """Opens a NETLINK_SOCK_DIAG socket through io_uring (IORING_OP_SOCKET),
    a family the filter refuses to socket(2): the ring goes around it."""
    prog = lab.cc("uring", URING_C)
    r = run(brig, off, f"{prog} socket", "--policy", lab.default_policy)
    verdict(off, r.returncode == 0 and "through io_uring" in r.stdout, r)


# add_key through a foreign ABI: i386 (int 0x80, number 286) or x32
# (syscall with bit 30 set, number 248). Built without PIE so that the
# strings have 32-bit addresses, as int 0x80 takes only those.
FOREIGN_C = r"""
#include <stdio.h>
#include <string.h>

static char type[] = "user", desc[] = "brig-escape", payload[] = "x";

int main(int argc, char **argv)
{
	long r;

	if (!strcmp(argv[1], "i386")) {
		asm volatile("int $0x80"
			     : "=a"(r)
			     : "a"(286L), "b"(type), "c"(desc), "d"(payload),
			       "S"(1L), "D"(-2L)
			     : "memory", "r8", "r9", "r10", "r11");
	} else {
		register long r10 asm("r10") = 1;
		register long r8 asm("r8") = -2;
		asm volatile("syscall"
			     : "=a"(r)
			     : "a"(0x40000000L | 248), "D"(type), "S"(desc),
			       "d"(payload), "r"(r10), "r"(r8)
			     : "memory", "rcx", "r11");
	}
	printf("add_key: %ld\n", r);
	return r > 0 ? 0 : 1;
}
"""


def _x32_reason():
    r, err = raw_syscall(0x40000000 | 39)  # x32 getpid
    if r < 0 and err == 38:
        return ("this kernel has no x32 ABI (CONFIG_X86_X32_ABI is off: an "
                "x32 getpid returns ENOSYS on the host)")
    return None


def _i386_reason():
    if kernel_config("CONFIG_IA32_EMULATION") is False:
        return "this kernel has no i386 emulation (CONFIG_IA32_EMULATION)"
    try:
        with open("/proc/cmdline") as f:
            if "ia32_emulation=0" in f.read().split():
                return "i386 emulation is off (ia32_emulation=0)"
    except OSError:
        pass
    return None


@attack("seccomp", kernel=_i386_reason())
def test_i386_int80(brig, off, lab):
    """Calls add_key through the i386 ABI (int 0x80), whose system call
    numbers differ from the native ones a filter checks."""
    prog = lab.cc("foreign", FOREIGN_C, "-no-pie")
    r = run(brig, off, f"{prog} i386", "--policy", lab.default_policy)
    verdict(off, r.returncode == 0, r)


@attack("seccomp", kernel=_x32_reason())
def test_x32_syscall(brig, off, lab):
    """Calls add_key through the x32 ABI (bit 30 of the number set), which
    a filter written for x86_64 numbers could let through."""
    prog = lab.cc("foreign", FOREIGN_C, "-no-pie")
    r = run(brig, off, f"{prog} x32", "--policy", lab.default_policy)
    verdict(off, r.returncode == 0, r)


@attack("seccomp")
def test_unshare_user_namespace(brig, off):
    """Runs unshare -U: in a nested user namespace a process holds every
    capability, which opens the kernel's namespaced attack surface."""
    r = run(brig, off, "unshare -U id -u")
    verdict(off, r.returncode == 0 and r.stdout.strip() == "65534", r)


CLONE_NEWUSER = r"""python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
pid = libc.syscall(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
if pid == 0:
    os._exit(0)
if pid < 0:
    print("clone:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
os.waitpid(pid, 0)
'"""


@attack("seccomp")
def test_clone_newuser(brig, off):
    """Creates a user namespace with clone(CLONE_NEWUSER) directly, the
    route that skips unshare(2)."""
    r = run(brig, off, CLONE_NEWUSER)
    verdict(off, r.returncode == 0, r)


MOUNT = r"""python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
os.mkdir("/tmp/m")
if libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, None) != 0:
    print("mount:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
'"""


@attack("seccomp", "caps", "landlock")
def test_mount(brig, off):
    """Mounts a file system with mount(2): mounts can cover what the
    sandbox shows and reach file system code in the kernel."""
    r = run(brig, off, MOUNT)
    verdict(off, r.returncode == 0, r)


FSOPEN = r"""python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(430, b"tmpfs", 0)
if fd >= 0 and libc.syscall(431, fd, 6, None, None, 0) == 0:
    mfd = libc.syscall(432, fd, 0, 0)
    sys.exit(0 if mfd >= 0 else 1)
print("fsopen:", os.strerror(ctypes.get_errno()))
sys.exit(1)
'"""


@attack("seccomp", "caps")
def test_fsopen_new_mount_api(brig, off):
    """Makes a mount with the new mount API (fsopen, fsconfig, fsmount),
    which a filter that lists only mount(2) would miss."""
    r = run(brig, off, FSOPEN)
    verdict(off, r.returncode == 0, r)


CHROOT = r"""python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.chroot(b"/tmp") != 0:
    print("chroot:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
'"""


@attack("seccomp", "caps")
def test_chroot(brig, off):
    """Calls chroot(2): the classic first step of breaking out of a root
    with a directory descriptor kept outside it."""
    r = run(brig, off, CHROOT)
    verdict(off, r.returncode == 0, r)


PIVOT_ROOT = r"""python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
os.chdir("/tmp")
os.mkdir("old")
if libc.syscall(155, b".", b"old") != 0:
    print("pivot_root:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
'"""


@attack("seccomp", "caps", "landlock")
def test_pivot_root(brig, off):
    """Swaps the sandbox's root with pivot_root(2), which rearranges the
    mount tree that every process inside shares."""
    r = run(brig, off, PIVOT_ROOT)
    verdict(off, r.returncode == 0, r)


def _bpf_reason():
    v = sysctl("kernel.unprivileged_bpf_disabled")
    if v and v != "0":
        return (f"kernel.unprivileged_bpf_disabled = {v}: bpf() needs "
                f"CAP_BPF in the host's user namespace, which no process in "
                f"a sandbox has")
    return None


BPF = r"""python3 -c '
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(struct.pack("IIII", 2, 4, 4, 1), 128)
fd = libc.syscall(321, 0, attr, 128)
if fd < 0:
    print("bpf:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
'"""


@attack("seccomp", kernel=_bpf_reason())
def test_bpf_map_create(brig, off):
    """Creates a BPF map with bpf(2): the verifier and JIT are a large
    kernel attack surface."""
    r = run(brig, off, BPF)
    verdict(off, r.returncode == 0, r)


def _perf_reason():
    v = sysctl("kernel.perf_event_paranoid")
    if v is None:
        return "this kernel has no perf events"
    if int(v) > 2:
        return (f"kernel.perf_event_paranoid = {v}: perf_event_open needs "
                f"CAP_PERFMON in the host's user namespace")
    return None


PERF = r"""python3 -c '
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
# PERF_TYPE_SOFTWARE, size, PERF_COUNT_SW_TASK_CLOCK; disabled,
# exclude_kernel and exclude_hv
attr = struct.pack("IIQQQQQ", 1, 112, 1, 0, 0, 0, 1 | 1 << 5 | 1 << 6)
buf = ctypes.create_string_buffer(attr, 112)
fd = libc.syscall(298, buf, 0, -1, -1, 0)
if fd < 0:
    print("perf_event_open:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
'"""


@attack("seccomp", kernel=_perf_reason())
def test_perf_event_open(brig, off):
    """Opens a perf event counter: perf_event_open has a long record of
    kernel bugs and leaks timing across processes."""
    r = run(brig, off, PERF)
    verdict(off, r.returncode == 0, r)


def _userfaultfd_reason():
    if not os.path.exists("/proc/sys/vm/unprivileged_userfaultfd"):
        return "this kernel has no userfaultfd"
    return None


USERFAULTFD = r"""python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
UFFD_USER_MODE_ONLY = 1
fd = libc.syscall(323, os.O_CLOEXEC | UFFD_USER_MODE_ONLY)
if fd < 0:
    print("userfaultfd:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
'"""


@attack("seccomp", kernel=_userfaultfd_reason())
def test_userfaultfd(brig, off):
    """Opens a userfaultfd (user-mode faults, allowed without privilege):
    it stalls the kernel at a chosen page, the usual race-widener."""
    r = run(brig, off, USERFAULTFD)
    verdict(off, r.returncode == 0, r)


OPEN_BY_HANDLE = r"""python3 -c '
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fh = ctypes.create_string_buffer(struct.pack("Ii", 128, 0), 8 + 128)
mount_id = ctypes.c_int()
if libc.syscall(303, -100, b"/tmp", fh, ctypes.byref(mount_id), 0) != 0:
    # No handle to be had: guess one, as the "shocker" attack did.
    ino = os.stat("/tmp").st_ino
    fh = ctypes.create_string_buffer(struct.pack("IiII", 8, 1, ino, 0), 16)
mfd = os.open("/tmp", os.O_RDONLY | os.O_DIRECTORY)
fd = libc.syscall(304, mfd, fh, os.O_RDONLY | os.O_DIRECTORY)
if fd < 0:
    print("open_by_handle_at:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
'"""


@attack("seccomp", "caps")
def test_open_by_handle_at(brig, off):
    """Opens a directory from a file handle (open_by_handle_at), the
    primitive of the "shocker" escape that skips path lookup."""
    r = run(brig, off, OPEN_BY_HANDLE)
    verdict(off, r.returncode == 0, r)


WHOAMI_C = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("euid %d\n", (int)geteuid()); return 0; }
"""


def _setuid_reason():
    return ("brig maps one uid into the sandbox (the sandbox user's), so a "
            "setuid-root file's owner has no mapping there and the kernel "
            "ignores its setuid bit, with or without nosuid and "
            "no_new_privs")


@attack("nosuid", "nnp", kernel=_setuid_reason())
def test_setuid_root_binary(brig, off, lab):
    """Runs a setuid-root program from a policy path: where setuid worked,
    any such program would hand out root."""
    if os.geteuid() != 0:
        pytest.skip("making a setuid-root file needs root on the host")
    prog = lab.cc("whoami-suid", WHOAMI_C)
    os.chown(prog, 0, 0)
    os.chmod(prog, 0o4755)
    r = run(brig, off, prog, "--policy", lab.default_policy)
    verdict(off, "euid 0" in r.stdout, r)


# CapEff is exactly CAP_NET_RAW only when it came from the file: executing
# a file with capabilities clears the ambient set that "caps" fills.
RAW_SOCKET = ("import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, "
              "socket.IPPROTO_ICMP); print('raw socket open'); "
              "print(open('/proc/self/status').read())")


@attack("nosuid", "nnp", "caps")
def test_file_capabilities(brig, off, lab):
    """Runs a copy of python3 given cap_net_raw+ep with setcap: file
    capabilities would hand a process powers the sandbox took away."""
    if os.geteuid() != 0:
        pytest.skip("setcap needs CAP_SETFCAP on the host; run as root")
    prog = lab.path("python3-caps")
    if not os.path.exists(prog):
        import shutil
        import subprocess
        shutil.copy("/usr/bin/python3", prog)
        subprocess.run(["setcap", "cap_net_raw+ep", prog], check=True)
    r = run(brig, off, f'{prog} -c "{RAW_SOCKET}"', "--policy",
            lab.default_policy)
    verdict(off, "raw socket open" in r.stdout and
            "CapEff:\t0000000000002000" in r.stdout, r)
