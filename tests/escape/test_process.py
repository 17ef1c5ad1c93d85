"""Attacks on other processes (inside the sandbox, its init, the host and
the supervisor) and on what a process inherits from the caller: open
descriptors and the working directory."""

import os
import subprocess

import helpers
from escape import attack, env_for, run, verdict
from hostkit import lab, workspace  # noqa: F401

PTRACE = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pid = int(sys.argv[1])
if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
    print("ptrace:", os.strerror(ctypes.get_errno()))
    sys.exit(1)
os.waitpid(pid, 0x40000000)  # __WALL: the stop the attach caused
libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
print("attached")
"""

# Writes one byte of the target's first writable mapping back in place,
# through process_vm_writev or /proc/PID/mem (argv[2]).
POKE = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pid, how = int(sys.argv[1]), sys.argv[2]
addr = 0x10000
try:
    with open(f"/proc/{pid}/maps") as f:
        addr = next(int(l.split("-")[0], 16) for l in f if " rw-p " in l)
except (OSError, StopIteration) as e:
    print("maps:", e)
if how == "mem":
    try:
        with open(f"/proc/{pid}/mem", "r+b", buffering=0) as m:
            m.seek(addr)
            b = m.read(1)
            m.seek(addr)
            n = m.write(b)
    except OSError as e:
        print("mem:", e)
        sys.exit(1)
else:
    class iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
    buf = ctypes.create_string_buffer(1)
    local = iovec(ctypes.cast(buf, ctypes.c_void_p), 1)
    remote = iovec(addr, 1)
    libc.syscall(310, pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    n = libc.syscall(311, pid, ctypes.byref(local), 1, ctypes.byref(remote),
                     1, 0)
    if n != 1:
        print("process_vm_writev:", os.strerror(ctypes.get_errno()))
        sys.exit(1)
print("wrote", n, "byte at", hex(addr))
"""


def against_sibling(script, *args):
    """Runs script against a sleep started beside it."""
    return (f"sleep 1000 & T=$!; {script} $T {' '.join(args)}; rc=$?; "
            f"kill $T; exit $rc")


@attack("seccomp")
def test_ptrace_sibling(brig, off, lab):
    """Attaches ptrace to another process in the sandbox: a tracer owns
    its target's memory, registers and descriptors."""
    r = run(brig, off, against_sibling(lab.script("ptrace", PTRACE)),
            "--policy", lab.default_policy)
    verdict(off, "attached" in r.stdout, r)


@attack("seccomp", "dumpable")
def test_ptrace_init(brig, off, lab):
    """Attaches ptrace to the sandbox's init, which holds the socket to
    the supervisor and starts every process inside."""
    r = run(brig, off, lab.script("ptrace", PTRACE) + " 1", "--policy",
            lab.default_policy)
    verdict(off, "attached" in r.stdout, r)


@attack("seccomp")
def test_process_vm_writev_sibling(brig, off, lab):
    """Writes into another sandboxed process with process_vm_writev, which
    needs no attach and no stop."""
    r = run(brig, off, against_sibling(lab.script("poke", POKE), "vm"),
            "--policy", lab.default_policy)
    verdict(off, "wrote 1 byte" in r.stdout, r)


@attack("seccomp", "dumpable")
def test_process_vm_writev_init(brig, off, lab):
    """Writes into the sandbox's init with process_vm_writev: code there
    could speak to the supervisor as init."""
    r = run(brig, off, lab.script("poke", POKE) + " 1 vm", "--policy",
            lab.default_policy)
    verdict(off, "wrote 1 byte" in r.stdout, r)


@attack("landlock", "readonly-mounts")
def test_proc_mem_write_sibling(brig, off, lab):
    """Writes into another sandboxed process through /proc/PID/mem, an
    open(2) that no system call filter tells from any other."""
    r = run(brig, off, against_sibling(lab.script("poke", POKE), "mem"),
            "--policy", lab.default_policy)
    verdict(off, "wrote 1 byte" in r.stdout, r)


def start_host_target(ws):
    """A process on the host that runs as the sandbox user's host uid
    (the workspace's owner), so only brig's walls stand between them."""
    st = os.stat(ws)

    def become_owner():
        if os.geteuid() == 0:
            os.setgid(st.st_gid)
            os.setuid(st.st_uid)
    return subprocess.Popen(["sleep", "1000"], preexec_fn=become_owner)


@attack("pidns", "landlock")
def test_signal_host_process(brig, off, workspace):
    """Sends SIGTERM to a host process of the same uid: without a pid
    namespace and signal scoping, every such process is in reach."""
    target = start_host_target(workspace)
    try:
        r = run(brig, off, f"kill -TERM {target.pid} && echo sent",
                "--workspace", workspace)
        gone = "sent" in r.stdout and \
            helpers.wait_for(lambda: target.poll() is not None)
    finally:
        if target.poll() is None:
            target.kill()
        target.wait()
    verdict(off, gone, r)


def _supervisor_reason():
    if os.geteuid() == 0:
        return ("run as root, the supervisor is root and the sandbox user "
                "an unprivileged uid: the kernel refuses the signal even "
                "without brig's walls (the run as brig-test shows it)")
    return None


@attack("pidns", "landlock", kernel=_supervisor_reason())
def test_kill_supervisor(brig, off):
    """Kills the supervisor by its host pid from inside: the proxy and the
    audit trail would go with it."""
    name = "sup"
    helpers.ok(brig("sandbox", "create", "--detach", "--name", name,
                    env=env_for(off)))
    pid = brig.get(name)["supervisor_pid"]
    r = brig("sandbox", "exec", name, "--", "sh", "-c",
             f"kill -KILL {pid} && echo sent")
    # A supervisor that dies takes the command with it, before "sent".
    hit = "sent" in r.stdout or "ended before" in r.stderr
    gone = helpers.wait_for(lambda: not helpers.pid_alive(pid)) if hit \
        else not helpers.pid_alive(pid)
    verdict(off, gone, r)


@attack("close-fds")
def test_leaked_descriptor(brig, off, lab):
    """Reads a host file through a descriptor the caller left open when it
    started brig: an inherited descriptor ignores every path rule."""
    d = lab.mkdtemp("brig-escape-fd-")
    secret = os.path.join(d, "secret")
    with open(secret, "w") as f:
        f.write("fd-secret-4c1e\n")
    fd = os.open(secret, os.O_RDONLY)
    try:
        r = subprocess.run(
            [helpers.BRIG, "run", "--", "python3", "-c",
             f"import os; print(os.read({fd}, 100).decode())"],
            env=dict(brig.env, **(env_for(off) or {})), pass_fds=(fd,),
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60)
    finally:
        os.close(fd)
        os.unlink(secret)
        os.rmdir(d)
    verdict(off, "fd-secret-4c1e" in r.stdout, r)


@attack("chdir", "landlock")
def test_working_directory_outside(brig, off, lab):
    """Reads ./secret after brig was started from a host directory the
    policy does not mount: the working directory is a way back out."""
    d = lab.mkdtemp("brig-escape-cwd-")
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("cwd-secret-9b7d\n")
    os.chmod(os.path.join(d, "secret"), 0o644)
    try:
        r = brig("run", "--", "sh", "-c", "cat ./secret; ls .", cwd=d,
                 env=env_for(off))
    finally:
        os.unlink(os.path.join(d, "secret"))
        os.rmdir(d)
    verdict(off, "cwd-secret-9b7d" in r.stdout, r)
