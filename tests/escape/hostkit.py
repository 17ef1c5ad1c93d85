"""Shared parts of the attacks on the kernel, processes and files: a lab
directory on the host that the sandbox can read and execute from (small C
programs are compiled there at test time), policies that name it, and
probes of what the kernel itself allows."""

import ctypes
import errno
import gzip
import os
import shutil
import subprocess
import tempfile

import pytest

import helpers

POLICY = """\
version: 1
filesystem_policy:
  read_only: [/usr, /lib, /proc, /dev/urandom, /app, /etc, /var/log{ro}]
  read_write: [/sandbox, /tmp, /dev/null{rw}]
landlock:
  compatibility: best_effort
process:
  run_as_user: sandbox
  run_as_group: sandbox
"""

# The host uid that owns a --workspace when the tests run as root (brig
# refuses a root-owned workspace): nobody, so it owns nothing else.
ROOT_WS_UID = 65534


class Lab:
    """A host directory under /var/tmp (the sandbox's /tmp is its own),
    readable by everybody and named read_only in lab.policy()."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="brig-escape-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.built = {}

    def path(self, name):
        return os.path.join(self.dir, name)

    def cc(self, name, source, *flags):
        """Compiles source into the lab (once) and returns the path."""
        if name in self.built:
            return self.built[name]
        src = self.path(name + ".c")
        with open(src, "w") as f:
            f.write(source)
        out = self.path(name)
        r = subprocess.run(["gcc", "-O1", "-w", "-o", out, src, *flags],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"gcc {name}: {r.stderr}"
        os.chmod(out, 0o755)
        self.built[name] = out
        return out

    def script(self, name, text):
        """Writes a python3 script into the lab; returns how to run it."""
        path = self.path(name + ".py")
        if name not in self.built:
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
            self.built[name] = path
        return "python3 " + path

    @property
    def default_policy(self):
        if "policy" not in self.built:
            self.built["policy"] = self.policy()
        return self.built["policy"]

    def policy(self, ro=(), rw=()):
        """A policy file: the defaults plus the lab, read_only, plus the
        given paths."""
        ro = [self.dir, *ro]
        text = POLICY.format(ro="".join(", " + p for p in ro),
                             rw="".join(", " + p for p in rw))
        fd, path = tempfile.mkstemp(suffix=".yaml", dir=self.dir)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def mkdtemp(self, prefix):
        """A world-readable host directory outside every policy path."""
        d = tempfile.mkdtemp(prefix=prefix, dir="/var/tmp")
        os.chmod(d, 0o755)
        return d

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def lab():
    helpers.skip_without_userns()
    lab = Lab()
    yield lab
    lab.cleanup()


@pytest.fixture
def workspace():
    """A --workspace directory on the host owned by an unprivileged user
    (the caller, or nobody when the tests run as root)."""
    d = tempfile.mkdtemp(prefix="brig-escape-ws-", dir="/var/tmp")
    os.chmod(d, 0o755)
    if os.geteuid() == 0:
        os.chown(d, ROOT_WS_UID, ROOT_WS_UID)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def own(path, ws):
    """Gives path (made by the test) to the workspace's owner."""
    st = os.stat(ws)
    if os.geteuid() == 0:
        os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)


def sysctl(name):
    """A sysctl's value as text, or None where the kernel lacks it."""
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return None


def kernel_config(option):
    """Whether the running kernel was built with option=y (None: cannot
    tell, /proc/config.gz is missing)."""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return any(line.strip() == option + "=y" for line in f)
    except OSError:
        return None


def raw_syscall(nr, *args):
    """Calls a system call in this (host) process: returns (ret, errno)."""
    libc = ctypes.CDLL(None, use_errno=True)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return r, ctypes.get_errno()


def host_can_socket(family, kind, proto=0):
    """Whether this kernel lets the host open such a socket at all."""
    try:
        import socket
        socket.socket(family, kind, proto).close()
        return True
    except OSError as e:
        return e.errno not in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT,
                               errno.ESOCKTNOSUPPORT)
