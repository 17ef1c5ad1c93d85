"""The default boundary (DESIGN.md section 7) seen from inside a sandbox
with the default policy: what may be written, what is not there, who
the agent is, and which processes and networks it can see."""

import os
import platform
import pwd
import subprocess

import pytest

import helpers
from helpers import fails, ok

ALLOWED_TOP = {"usr", "lib", "lib64", "lib32", "libx32", "bin", "sbin",
               "proc", "dev", "app", "etc", "var", "sandbox", "tmp"}
MINIMAL_DEV = {"null", "zero", "full", "random", "urandom", "tty", "pts",
               "ptmx", "shm", "fd", "stdin", "stdout", "stderr", "core"}


def test_write_sandbox_notes(module_brig, box):
    """The agent can write its workspace: /sandbox/notes.txt."""
    ok(module_brig.sh(box, "echo hello > /sandbox/notes.txt"))
    assert ok(module_brig.sh(box, "cat /sandbox/notes.txt")) == "hello\n"


@pytest.mark.parametrize("path", ["/tmp/scratch", "/dev/null"])
def test_write_read_write_paths(module_brig, box, path):
    """/tmp and /dev/null, read-write in the default policy, take writes."""
    ok(module_brig.sh(box, f"echo x > {path}"))


def test_write_etc_fails(module_brig, box):
    """/etc is read-only: /etc/myconfig.txt cannot be created."""
    fails(module_brig.sh(box, "echo x > /etc/myconfig.txt"))
    fails(module_brig.sh(box, "test -e /etc/myconfig.txt"))
    assert not os.path.exists("/etc/myconfig.txt")


def test_modify_usr_bin_python3_fails(module_brig, box):
    """/usr is read-only: /usr/bin/python3 can be neither appended to,
    replaced, nor removed."""
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("the host has no /usr/bin/python3")
    before = os.stat("/usr/bin/python3")
    fails(module_brig.sh(box, ": >> /usr/bin/python3"))
    fails(module_brig.sh(box, "touch /usr/bin/python3"))
    fails(module_brig.sh(box, "rm -f /usr/bin/python3 && "
                              "test ! -e /usr/bin/python3"))
    fails(module_brig.sh(box, "echo x > /usr/bin/brig-e2e-new"))
    after = os.stat("/usr/bin/python3")
    assert (before.st_mtime_ns, before.st_size) == \
        (after.st_mtime_ns, after.st_size)


def test_write_var_log_fails(module_brig, box):
    """/var/log is read-only for the agent."""
    fails(module_brig.sh(box, "echo x > /var/log/brig-e2e.log"))
    fails(module_brig.sh(box, "mkdir /var/log/brig-e2e"))


def test_app_and_var_log_are_empty(module_brig, box):
    """/app and /var/log are the sandbox's own empty directories: the
    host's logs are not the agent's business."""
    out = ok(module_brig.sh(box, "ls -A /app /var/log"))
    assert out.split() == ["/app:", "/var/log:"], out


def test_hidden_host_paths(module_brig, box):
    """/root, /home, the caller's home, the state directory and the
    checkout do not exist inside."""
    home = os.path.expanduser("~")
    top = "/" + str(helpers.REPO).strip("/").split("/")[0]
    paths = ["/root", "/home", home, module_brig.state,
             os.path.dirname(module_brig.state), "/mnt", "/srv", "/opt",
             "/boot", "/run"]
    if top.strip("/") not in ALLOWED_TOP:
        paths.append(top)
    for p in paths:
        r = module_brig.sh(box, f"test -e '{p}' || test -L '{p}'")
        assert r.returncode == 1, f"{p} exists inside" + helpers.describe(r)


def test_root_holds_only_policy_paths(module_brig, box):
    """The root directory holds only what the default policy names (plus
    /bin, /sbin, /lib64 as links into /usr), nothing else of the host."""
    names = set(ok(module_brig.sh(box, "ls -A /")).split())
    assert names <= ALLOWED_TOP, f"unexpected: {names - ALLOWED_TOP}"
    assert {"usr", "etc", "proc", "dev", "sandbox", "tmp"} <= names
    var = set(ok(module_brig.sh(box, "ls -A /var")).split())
    assert var <= {"log"}, f"unexpected in /var: {var}"


def test_dev_is_minimal(module_brig, box):
    """/dev holds only the minimal set of devices, no host disks."""
    names = set(ok(module_brig.sh(box, "ls -A /dev")).split())
    assert names <= MINIMAL_DEV, f"unexpected in /dev: {names - MINIMAL_DEV}"
    ok(module_brig.sh(box, "head -c 16 /dev/urandom | wc -c"))


def test_private_tmp(module_brig, box):
    """/tmp is private: host files there are not visible inside and
    files written inside do not appear on the host."""
    marker = helpers.unique("brig-e2e-tmp-")
    with open(f"/tmp/{marker}", "w") as f:
        f.write("host")
    try:
        fails(module_brig.sh(box, f"test -e /tmp/{marker}"))
        ok(module_brig.sh(box, f"echo in > /tmp/{marker}-in"))
        assert not os.path.exists(f"/tmp/{marker}-in")
    finally:
        os.unlink(f"/tmp/{marker}")


def test_identity(module_brig, box):
    """The agent is user and group 'sandbox' (1000)."""
    out = ok(module_brig.sh(box, "id -u; id -un; id -g; id -gn"))
    assert out.split() == ["1000", "sandbox", "1000", "sandbox"], out


def test_passwd_and_home(module_brig, box):
    """/etc/passwd inside names sandbox:x:1000:1000 with home /sandbox
    (not the host's file), and HOME and the start directory agree."""
    passwd = ok(module_brig.sh(box, "cat /etc/passwd"))
    entries = [line.split(":") for line in passwd.splitlines()]
    sandbox = [e for e in entries if e[0] == "sandbox"]
    assert sandbox, passwd
    assert sandbox[0][1:4] == ["x", "1000", "1000"], sandbox
    assert sandbox[0][5] == "/sandbox", sandbox
    caller = pwd.getpwuid(os.getuid()).pw_name
    if caller != "root":
        assert caller not in [e[0] for e in entries], "host passwd leaked"
    group = ok(module_brig.sh(box, "cat /etc/group"))
    assert any(g.startswith("sandbox:x:1000:") for g in group.splitlines())
    assert ok(module_brig.sh(box, 'echo "$HOME"')).strip() == "/sandbox"


def test_process_status(module_brig, box):
    """/proc/self/status: no effective capabilities, no_new_privs set and
    a seccomp filter in force."""
    status = ok(module_brig.sh(box, "cat /proc/self/status"))
    fields = dict(line.split(":\t", 1) for line in status.splitlines()
                  if ":\t" in line)
    assert "CapEff" in fields, f"no status read:\n{status}"
    assert fields["CapEff"].strip() == "0000000000000000", status
    assert fields["CapPrm"].strip() == "0000000000000000", status
    assert fields["CapAmb"].strip() == "0000000000000000", status
    assert fields["NoNewPrivs"].strip() == "1", status
    assert fields["Seccomp"].strip() == "2", status


def test_core_dumps_off(module_brig, box):
    """Core dumps are off (RLIMIT_CORE 0)."""
    assert ok(module_brig.sh(box, "ulimit -c")).strip() == "0"


def test_only_sandbox_processes_visible(module_brig, box):
    """/proc inside lists only the sandbox's processes: a host process
    is invisible and init is PID 1."""
    arg = helpers.unique_sleep()
    host = subprocess.Popen(["sleep", arg])
    try:
        out = ok(module_brig.sh(
            box, "for f in /proc/[0-9]*/cmdline; do "
                 "printf '%s ' \"${f%/cmdline}\"; tr '\\0' ' ' < $f; "
                 "echo; done"))
    finally:
        host.kill()
        host.wait()
    assert f"sleep {arg}" not in out, out
    pids = [int(line.split()[0].split("/")[2]) for line in out.splitlines()
            if line.strip()]
    assert 1 in pids, out
    assert len(pids) < 20, f"{len(pids)} processes visible:\n{out}"


def test_network_only_loopback(module_brig, box):
    """The network namespace has only lo: no route out exists at all."""
    dev = ok(module_brig.sh(box, "cat /proc/net/dev"))
    names = [line.split(":")[0].strip() for line in dev.splitlines()[2:]]
    assert names == ["lo"], dev
    r = module_brig.sh(box, "command -v ip >/dev/null && ip -o link show")
    if r.returncode == 0:
        links = [line.split(":")[1].strip() for line in r.stdout.splitlines()]
        assert links == ["lo"], r.stdout
        assert "UP" in r.stdout, r.stdout


def test_loopback_works(module_brig, box):
    """lo is up: a server and client inside can talk over 127.0.0.1 (an
    agent's own dev servers need this)."""
    script = (
        "import socket\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
        "c = socket.create_connection(s.getsockname(), timeout=5)\n"
        "a, _ = s.accept(); c.sendall(b'ping'); print(a.recv(4).decode())\n")
    r = module_brig("sandbox", "exec", box, "--", "python3", "-c", script)
    assert ok(r).strip() == "ping"


def test_shadow_unreadable(module_brig, box):
    """/etc/shadow stays unreadable inside, also when brig runs as root,
    because the sandbox user maps to an unprivileged host uid."""
    if not os.path.exists("/etc/shadow"):
        pytest.skip("the host has no /etc/shadow")
    fails(module_brig.sh(box, "cat /etc/shadow"))


def test_sandbox_user_is_unprivileged_on_host(module_brig, box):
    """Seen from the host, sandboxed processes run as the caller, or as
    an unprivileged uid when the caller is root, never as host root."""
    arg = helpers.unique_sleep()
    ok(module_brig.sh(box, f"sleep {arg} >/dev/null 2>&1 &"))
    pids = helpers.wait_for(lambda: helpers.pgrep_exact(f"sleep {arg}"))
    assert pids, "the background sleep is not running"
    with open(f"/proc/{pids[0]}/status") as f:
        uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
    if os.getuid() == 0:
        assert all(u != "0" for u in uids), uids
    else:
        assert uids[1] == str(os.getuid()), uids
    module_brig.sh(box, f"pkill -x -f 'sleep {arg}'")


SECCOMP_PROBE = r"""
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def report(name, rc):
    e = ctypes.get_errno() if rc < 0 else 0
    print(name, "allowed" if rc >= 0 else errno.errorcode.get(e, e))
def sock(name, family, kind, proto=0):
    try:
        socket.socket(family, kind, proto).close(); print(name, "allowed")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
report("unshare-user", libc.unshare(0x10000000))
report("unshare-mount", libc.unshare(0x00020000))
report("mount", libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
report("keyctl", libc.syscall(250, 0, -4, 0))
report("bpf", libc.syscall(321, 0, None, 0))
report("io_uring_setup", libc.syscall(425, 1, ctypes.create_string_buffer(120)))
report("userfaultfd", libc.syscall(323, 0))
report("perf_event_open", libc.syscall(298, ctypes.create_string_buffer(128), 0, -1, -1, 0))
report("clone3", libc.syscall(435, None, 0))
sock("af-unix", socket.AF_UNIX, socket.SOCK_STREAM)
sock("af-inet", socket.AF_INET, socket.SOCK_STREAM)
sock("af-inet6", socket.AF_INET6, socket.SOCK_STREAM)
sock("netlink-route", socket.AF_NETLINK, socket.SOCK_RAW, 0)
sock("netlink-audit", socket.AF_NETLINK, socket.SOCK_RAW, 9)
sock("af-alg", 38, socket.SOCK_SEQPACKET)
sock("af-vsock", 40, socket.SOCK_STREAM)
sock("af-packet", 17, socket.SOCK_RAW)
report("ptrace-traceme", libc.ptrace(0, 0, None, None))
"""


def seccomp_probe(brig_, *opts, env=None):
    r = brig_("run", *opts, "--", "python3", "-c", SECCOMP_PROBE, env=env)
    got = dict(line.split(" ", 1) for line in ok(r).splitlines())
    assert "ptrace-traceme" in got, "the probe did not finish" + \
        helpers.describe(r)
    return got


@pytest.fixture(scope="module")
def x86_64():
    if platform.machine() != "x86_64":
        pytest.skip("the probe uses x86_64 system call numbers")


def test_seccomp_denies(module_brig, x86_64):
    """The seccomp filter denies the calls DESIGN.md lists: new user or
    mount namespaces, mount, keyctl, bpf, io_uring, userfaultfd,
    perf_event_open, ptrace, clone3 (ENOSYS) and socket families other
    than unix, inet, inet6 and netlink-route."""
    got = seccomp_probe(module_brig)
    for name in ("unshare-user", "unshare-mount", "mount", "keyctl", "bpf",
                 "io_uring_setup", "userfaultfd", "perf_event_open",
                 "ptrace-traceme", "netlink-audit", "af-alg", "af-vsock",
                 "af-packet"):
        assert got[name] != "allowed", f"{name} allowed: {got}"
    assert got["clone3"] == "ENOSYS", got
    for name in ("af-unix", "af-inet", "af-inet6", "netlink-route"):
        assert got[name] == "allowed", f"{name} denied: {got}"


def test_unshare_binary_denied(module_brig, box):
    """`unshare -U` and `unshare -Urm mount` fail inside: the agent gets
    no new namespaces and no mount."""
    fails(module_brig.sh(box, "unshare -U true"))
    fails(module_brig.sh(box, "unshare -Urm mount -t tmpfs none /tmp"))


def test_seccomp_probe_can_fail(module_brig, switches, x86_64):
    """With seccomp switched off (test builds only), the same probe sees
    unshare, ptrace and keyctl allowed and clone3 not ENOSYS, so the test
    above really measures the filter."""
    got = seccomp_probe(module_brig, env={"BRIG_TEST_DISABLE": "seccomp"})
    assert got["unshare-user"] == "allowed", got
    assert got["ptrace-traceme"] == "allowed", got
    assert got["keyctl"] == "allowed", got
    assert got["clone3"] != "ENOSYS", got
