"""Attacks on the kernel's wider interfaces from inside the sandbox."""

from escape import attack, run, verdict

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
