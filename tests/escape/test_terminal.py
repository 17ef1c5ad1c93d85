"""Terminal injection: bytes pushed into the input of the terminal brig
was started from run as the caller's next command once brig exits.

The caller here is a session whose controlling terminal is a fresh pty,
as a person in a terminal emulator; brig's own input is /dev/null, as
when an agent harness starts it. After brig exits, the test reads the
pty as the caller's shell would."""

import os
import select
import subprocess
import tty

import helpers
from escape import attack, env_for, verdict

TIOCSTI = 0x5412
TIOCLINUX = 0x541C

# Pushes "id\n" into /dev/tty (the controlling terminal) with TIOCSTI;
# the request is given as a full 64-bit word, optionally with high bits
# set, through the raw system call (the kernel reads only 32 bits).
INJECT = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
req = {req:#x}
try:
    fd = os.open("/dev/tty", os.O_RDWR)
except OSError as e:
    print("open /dev/tty:", e)
    sys.exit(1)
for c in b"id\n":
    b = ctypes.c_char(c)
    if libc.syscall(16, fd, ctypes.c_ulong(req), ctypes.byref(b)) != 0:
        print("ioctl:", os.strerror(ctypes.get_errno()))
        sys.exit(1)
print("injected")
"""

# TIOCLINUX subcode 3 pastes the console's selection as input; any
# subcode shows whether the ioctl reaches a console at all.
LINUX = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for path in ("/dev/tty", "/proc/self/fd/0", "/proc/self/fd/1"):
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as e:
        print(path, e)
        continue
    arg = ctypes.c_char(3)
    if libc.syscall(16, fd, ctypes.c_ulong(0x541C), ctypes.byref(arg)) == 0:
        print("pasted through", path)
        sys.exit(0)
    print(path, os.strerror(ctypes.get_errno()))
sys.exit(1)
"""


def run_from_terminal(brig, off, script):
    """Runs python3 -c script in brig started from a session whose
    controlling terminal is a new pty; returns (result, what the caller's
    shell would read from the terminal next)."""
    master, slave = os.openpty()
    tty.setraw(slave)  # injected bytes are readable at once, unechoed
    name = os.ttyname(slave)

    def take_terminal():
        # A session leader's first terminal becomes its controlling one.
        os.close(os.open(name, os.O_RDWR))
    try:
        r = subprocess.run(
            [helpers.BRIG, "run", "--", "python3", "-c", script],
            env=dict(brig.env, **(env_for(off) or {})),
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            start_new_session=True, preexec_fn=take_terminal, timeout=60)
        typed = b""
        while select.select([slave], [], [], 0)[0]:
            typed += os.read(slave, 4096)
    finally:
        os.close(slave)
        os.close(master)
    return r, typed


@attack("setsid", "seccomp")
def test_tiocsti_caller_terminal(brig, off):
    """Types "id" into the caller's terminal with TIOCSTI on /dev/tty:
    the caller's shell would run it, outside the sandbox, once brig
    exits."""
    r, typed = run_from_terminal(brig, off, INJECT.format(req=TIOCSTI))
    verdict(off, b"id\n" in typed, f"{helpers.describe(r)}\ntyped: {typed}")


@attack("setsid", "seccomp")
def test_tiocsti_high_bits(brig, off):
    """The same with the ioctl request's upper 32 bits set: the kernel
    drops them, so a filter that compares all 64 bits would miss it."""
    req = 0xFFFFFFFF00000000 | TIOCSTI
    r, typed = run_from_terminal(brig, off, INJECT.format(req=req))
    verdict(off, b"id\n" in typed, f"{helpers.describe(r)}\ntyped: {typed}")


def _tioclinux_reason():
    return ("TIOCLINUX acts only on a virtual console (/dev/ttyN); the "
            "sandbox is never given one (its terminals are ptys from its "
            "own devpts) and the caller's terminal in this test is a pty")


@attack("setsid", "seccomp", kernel=_tioclinux_reason())
def test_tioclinux(brig, off):
    """Pastes the console selection as input with TIOCLINUX (subcode 3),
    the console's own way of typing into a terminal."""
    r, typed = run_from_terminal(brig, off, LINUX)
    verdict(off, r.returncode == 0 and "pasted" in r.stdout, r)
