"""Helpers for brig's end-to-end tests: run the real binary, read its
JSON, drive a pseudo-terminal, and probe what the host kernel offers."""

import ctypes
import errno
import fcntl
import json
import os
import platform
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BRIG = os.environ.get("BRIG") or str(HERE / "../../build-test/brig")
SHARED = Path(os.environ.get("BRIG_SHARED_DIR") or REPO.parent / "shared")

# Generous: a brig command should take milliseconds, but a loaded CI
# machine must not turn a slow start into a red test.
TIMEOUT = 30


def unique(prefix="m"):
    """A short marker no other test or process uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def unique_sleep():
    """An argument for sleep(1) that names one process on the host."""
    n = uuid.uuid4().int
    return f"{3000 + n % 1000}.{n % 999983:06d}"


def describe(r):
    """What a finished command did, for assertion messages."""
    out, err = r.stdout, r.stderr
    if isinstance(out, bytes):
        out = out.decode(errors="replace")
        err = err.decode(errors="replace")
    return (f"\n$ {' '.join(map(str, r.args))}\nexit {r.returncode}\n"
            f"--- stdout\n{out[-3000:]}--- stderr\n{err[-3000:]}")


def ok(r):
    """Asserts that a command succeeded and returns its stdout."""
    assert r.returncode == 0, "command failed" + describe(r)
    return r.stdout


def fails(r):
    """Asserts that a command failed (exit 1..125 or killed)."""
    assert r.returncode != 0, "command succeeded, should fail" + describe(r)
    return r


def new_state_dir():
    """A fresh, short state path (control sockets live under it and a
    unix socket path is limited to 108 bytes). brig creates it."""
    base = tempfile.mkdtemp(prefix="brig-e2e-")
    os.chmod(base, 0o755)
    return os.path.join(base, "state")


def keep_sanitizer_reports(state):
    """Copies every supervisor.log under STATE that holds a sanitizer's
    report into $BRIG_SANITIZER_REPORTS (set by tests/run for its ASan
    pass): a supervisor stops at the first report, and its log would
    otherwise go with the state directory."""
    dest = os.environ.get("BRIG_SANITIZER_REPORTS")
    root = os.path.join(state, "sandboxes")
    if not dest or not os.path.isdir(root):
        return
    for name in os.listdir(root):
        log = os.path.join(root, name, "supervisor.log")
        try:
            with open(log, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if "Sanitizer" in text or "runtime error" in text:
            out = os.path.join(dest, unique(f"{name}-") + ".log")
            with open(out, "w") as f:
                f.write(text)


class Brig:
    """The real brig binary, bound to one state directory."""

    def __init__(self):
        self.state = new_state_dir()
        self.env = dict(os.environ, BRIG_STATE_DIR=self.state)
        self.env.pop("BRIG_TEST_DISABLE", None)
        self.env.setdefault("LANG", "C.UTF-8")

    def __call__(self, *args, input=None, timeout=TIMEOUT, env=None,
                 binary=False, cwd=None):
        e = dict(self.env, **(env or {}))
        kw = {} if binary else {"encoding": "utf-8", "errors": "replace"}
        if input is None:
            kw["stdin"] = subprocess.DEVNULL
        if input is not None and not binary and isinstance(input, bytes):
            input = input.decode()
        try:
            return subprocess.run([BRIG, *map(str, args)], input=input,
                                  capture_output=True, timeout=timeout,
                                  env=e, cwd=cwd, **kw)
        except subprocess.TimeoutExpired as t:
            pytest.fail(f"brig {' '.join(map(str, args))} did not finish "
                        f"in {timeout}s; output so far: {t.stdout!r} "
                        f"{t.stderr!r}")

    def popen(self, *args, env=None, **kw):
        """Starts brig without waiting; stdin is /dev/null unless given."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen([BRIG, *map(str, args)],
                                env=dict(self.env, **(env or {})), **kw)

    def sh(self, name, script, **kw):
        """Runs a shell script in sandbox NAME through `sandbox exec`."""
        return self("sandbox", "exec", name, "--", "sh", "-c", script, **kw)

    def run_sh(self, script, *opts, **kw):
        """Runs a shell script in an ephemeral sandbox (`brig run`)."""
        return self("run", *opts, "--", "sh", "-c", script, **kw)

    def create(self, name=None, *opts, detach=True):
        args = ["sandbox", "create"]
        if name:
            args += ["--name", name]
        if detach:
            args.append("--detach")
        return ok(self(*args, *opts))

    def list(self):
        return json.loads(ok(self("sandbox", "list", "-o", "json")))

    def names(self):
        return sorted(s["name"] for s in self.list())

    def get(self, name):
        return json.loads(ok(self("sandbox", "get", name, "-o", "json")))

    def sandbox_dir(self, name):
        return Path(self.state) / "sandboxes" / name

    def cleanup(self):
        """Deletes every sandbox this state dir knows, kills any
        supervisor that survives that, and removes the directory."""
        sandboxes = []
        keep_sanitizer_reports(self.state)
        try:
            r = self("sandbox", "list", "-o", "json", timeout=10)
            sandboxes = json.loads(r.stdout) if r.returncode == 0 else []
        except Exception:
            pass
        for s in sandboxes:
            try:
                self("sandbox", "delete", s["name"], timeout=10)
            except Exception:
                pass
            pid = s.get("supervisor_pid")
            if isinstance(pid, int) and pid > 0 and pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        # Only the directory new_state_dir() made, never anything else.
        base = os.path.dirname(self.state)
        if os.path.basename(base).startswith("brig-e2e-"):
            shutil.rmtree(base, ignore_errors=True)


def pid_alive(pid):
    """Whether PID names a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def pgrep_exact(cmdline):
    """Host pids whose whole command line is exactly CMDLINE."""
    r = subprocess.run(["pgrep", "-x", "-f", cmdline],
                       capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def wait_for(predicate, timeout=5.0, step=0.05):
    """Polls PREDICATE until it is true or TIMEOUT passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


# --- What the host offers -------------------------------------------------

def landlock_abi():
    """The kernel's Landlock ABI version, 0 when there is none."""
    if platform.machine() not in ("x86_64", "aarch64"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    v = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(v, 0)


def userns_problem():
    """None when this user may create a user namespace, else why not."""
    r = subprocess.run(["unshare", "--user", "--map-root-user", "true"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        return None
    return ("this user cannot create user namespaces: "
            + (r.stderr.strip() or f"unshare exited {r.returncode}"))


def skip_without_userns():
    why = userns_problem()
    if why:
        pytest.skip(why)


def skip_without_landlock():
    if landlock_abi() < 1:
        pytest.skip("the kernel has no Landlock (CONFIG_SECURITY_LANDLOCK "
                    "off, or 'landlock' missing from the lsm= list)")


# --- Pseudo-terminals -----------------------------------------------------

def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _take_terminal():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Pty:
    """Runs a command with a pseudo-terminal as its controlling terminal,
    the way a person in a terminal emulator would."""

    def __init__(self, argv, env, rows=24, cols=80):
        self.master, slave = os.openpty()
        set_winsize(slave, rows, cols)
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True, preexec_fn=_take_terminal)
        os.close(slave)
        self.out = b""
        self.pos = 0

    def send(self, text):
        os.write(self.master, text.encode() if isinstance(text, str)
                 else text)

    def _read(self, timeout):
        """Reads what is there; returns "data", "timeout" or "eof"."""
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return "timeout"
        try:
            data = os.read(self.master, 65536)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        self.out += data
        return "data" if data else "eof"

    def expect(self, pattern, timeout=10):
        """Waits for regex PATTERN in output not matched before."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str)
                        else pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self._read(min(left, 0.2)) == "eof":
                if not rx.search(self.out, self.pos):
                    pytest.fail(f"no {pattern!r} on the terminal; it "
                                f"showed:\n{self.text()[-2000:]}")

    def text(self):
        return self.out.decode(errors="replace")

    def resize(self, rows, cols):
        set_winsize(self.master, rows, cols)

    def wait(self, timeout=10):
        """Waits for the command to exit, draining the terminal."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        if self.proc.poll() is None:
            pytest.fail(f"command on the terminal did not exit in "
                        f"{timeout}s; it showed:\n{self.text()[-2000:]}")
        while self._read(0.05) == "data":
            pass
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
