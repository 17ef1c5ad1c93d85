"""Resource limits: --pids, --memory, --cpus and --files. Every bomb is
small (64 tasks, 256 MiB) so that the machine stays healthy, and each
protection is shown to matter: the same bomb gets further when the
limit is wide."""

import json
import os
import re
import resource
import subprocess

import pytest

import helpers
from helpers import ok

# Forks up to CAP sleeping children, stops at the first refused fork,
# prints how many it made, and kills them a while later (the watchdog
# samples once a second far from the limits: a shorter peak can pass
# unlogged).
FORKER = r"""
import os, sys, time
cap, n, kids = int(sys.argv[1]), 0, []
while n < cap:
    try:
        pid = os.fork()
    except OSError as e:
        print("refused", e.errno)
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    kids.append(pid)
    n += 1
print("forked", n, flush=True)
time.sleep(1.5)
for k in kids:
    os.kill(k, 9)
"""

# N processes that each hold MB MiB of touched memory for a while;
# prints how many of them were killed by SIGKILL.
MEMORY_BOMB = r"""
import os, sys, time
n, mb, kids = int(sys.argv[1]), int(sys.argv[2]), []
for i in range(n):
    pid = os.fork()
    if pid == 0:
        x = b"\1" * (mb << 20)
        time.sleep(3)
        os._exit(0)
    kids.append(pid)
killed = 0
for k in kids:
    _, st = os.waitpid(k, 0)
    killed += os.WIFSIGNALED(st) and os.WTERMSIG(st) == 9
print("killed", killed, "of", n, flush=True)
"""

# Opens /dev/null until refused (or CAP times); prints how many.
OPENER = r"""
import os, sys
fds = []
try:
    while len(fds) < int(sys.argv[1]):
        fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    print("refused", e.errno)
print("opened", len(fds), flush=True)
"""


def limits(brig, name):
    return brig.get(name)["limits"]


def logs(brig, name):
    return ok(brig("logs", name))


def py(brig, name, script, *args, **kw):
    return brig("sandbox", "exec", name, "--", "python3", "-c", script,
                *map(str, args), **kw)


def number(text, word):
    m = re.search(rf"{word} (\d+)", text)
    assert m, f"no '{word} N' in {text!r}"
    return int(m.group(1))


def rlimit_backend(brig, name):
    """Skips a test of an rlimit-only protection under cgroup v2."""
    backend = limits(brig, name)["backend"]
    if backend != "rlimit":
        pytest.skip(f"this protection is the rlimit backend's; the "
                    f"sandbox uses {backend}")


# --- Options ----------------------------------------------------------------

BAD = [
    ("--pids", "3"), ("--pids", "0"), ("--pids", "many"),
    ("--pids", "99999999"), ("--memory", "1X"), ("--memory", "10M"),
    ("--memory", "-1G"), ("--memory", ""), ("--memory", "99999999T"),
    ("--cpus", "0"), ("--cpus", "-1"), ("--cpus", "1.2345"),
    ("--cpus", "abc"), ("--files", "8"), ("--files", "99999999"),
]


@pytest.mark.parametrize("verb", [["run"], ["sandbox", "create"]])
@pytest.mark.parametrize("opt,value", BAD)
def test_bad_values_are_usage_errors(cli, verb, opt, value):
    """A bad limit is refused before anything is made, with exit 2 and
    a message naming the option and the value."""
    r = cli(*verb, opt, value, "--", "true")
    assert r.returncode == 2, helpers.describe(r)
    assert f"invalid {opt} '{value}'" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(cli.state, "sandboxes")), \
        "a refused create left state behind"


def test_files_above_hard_limit_is_usage_error(cli):
    """Init cannot raise a hard rlimit, so asking for more open files
    than the caller's hard limit is refused up front."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard >= 1048576:
        pytest.skip(f"the hard open-files limit ({hard}) is the maximum")
    r = cli("run", "--files", hard + 1, "--", "true")
    assert r.returncode == 2, helpers.describe(r)
    assert "hard limit" in r.stderr and "ulimit -Hn" in r.stderr, r.stderr


def test_help_names_the_options(cli):
    for verb in (["run"], ["sandbox", "create"]):
        text = ok(cli(*verb, "--help"))
        for opt in ("--pids", "--memory", "--cpus", "--files"):
            assert opt in text, (verb, opt)


# --- What is in force --------------------------------------------------------

def test_get_shows_limits(brig):
    """get (table and JSON) shows the limits given and the backend; the
    start of the sandbox logs them too."""
    brig.create("lim", "--pids", "64", "--memory", "256M", "--cpus",
                "1.5", "--files", "128")
    got = limits(brig, "lim")
    assert got["pids"] == 64 and got["memory"] == 256 << 20, got
    assert got["cpus"] == 1.5 and got["files"] == 128, got
    assert got["backend"] in ("rlimit", "cgroup2"), got
    table = ok(brig("sandbox", "get", "lim"))
    assert re.search(r"limits: +pids 64, memory 256 MiB, cpus 1\.5, "
                     r"files 128 \((rlimit|cgroup2)\)", table), table
    assert re.search(r"limits: pids 64, memory 256 MiB, cpus 1\.5, "
                     r"files 128 \((rlimit|cgroup2)", logs(brig, "lim"))


def test_defaults(brig):
    """Without options: at least 1024 tasks, half of the RAM up to
    8 GiB, every CPU, 4096 files (or the hard limit, if lower)."""
    brig.create("def")
    got = limits(brig, "def")
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert got["pids"] >= 1024, got
    assert got["memory"] == max(min(ram // 2, 8 << 30), 32 << 20), got
    assert got["cpus"] is None, got
    assert got["files"] == min(4096, hard), got
    if got["backend"] == "rlimit":
        out = ok(brig.sh("def", "ulimit -n; ulimit -v"))
        assert out.split() == [str(got["files"]), "unlimited"], \
            "the default memory limit must not cap address space " + out


def test_cgroup_backend(brig):
    """With cgroup v2 delegated, the sandbox's processes are in a cgroup
    of their own with the limits set, removed with the sandbox."""
    brig.create("cg", "--pids", "64", "--memory", "256M", "--cpus", "1")
    if limits(brig, "cg")["backend"] != "cgroup2":
        m = re.search(r"\(rlimit: (.*)\)$", logs(brig, "cg"), re.M)
        pytest.skip("cgroup v2 is not usable here: "
                    + (m.group(1) if m else "see brig doctor"))
    m = re.search(r"\(cgroup2: ([^)]*)\)", logs(brig, "cg"))
    assert m, logs(brig, "cg")
    path = m.group(1)
    with open(os.path.join(path, "memory.max")) as f:
        assert int(f.read()) == 256 << 20
    with open(os.path.join(path, "cpu.max")) as f:
        assert f.read().split() == ["100000", "100000"]
    with open(os.path.join(path, "cgroup.procs")) as f:
        assert f.read().split(), "init is not in the sandbox's cgroup"
    ok(brig("sandbox", "delete", "cg"))
    assert helpers.wait_for(lambda: not os.path.exists(path), 5), \
        f"{path} outlived the sandbox"


# --- Tasks --------------------------------------------------------------------

def test_pids_limit_stops_forks(brig):
    """With --pids 64 the forker is refused before 64; the same script
    with a wide limit makes all 200 it asks for. The refusal is logged
    once."""
    brig.create("few", "--pids", "64")
    brig.create("many", "--pids", "4096")
    few = ok(py(brig, "few", FORKER, 200))
    many = ok(py(brig, "many", FORKER, 200))
    assert "refused 11" in few, few  # EAGAIN
    assert number(few, "forked") < 64, few
    assert number(many, "forked") == 200, many
    assert helpers.wait_for(
        lambda: "limit pids: " in logs(brig, "few"), 5), logs(brig, "few")
    assert "LIMIT" in logs(brig, "few")
    assert "limit pids" not in logs(brig, "many")


def test_pids_counted_per_sandbox(brig):
    """RLIMIT_NPROC counts per user namespace (Linux 5.14 and later):
    tasks in one sandbox take nothing from another's limit, even when
    both run as the same host user (brig as an unprivileged user)."""
    brig.create("one", "--pids", "64")
    brig.create("two", "--pids", "64")
    ok(brig.sh("one", "for i in $(seq 40); do sleep 60 & done; "
                      "sleep 0.2; echo started"))
    n = int(ok(brig.sh("one", "ls /proc | grep -c '^[0-9]'")).strip())
    assert n >= 40, f"only {n} processes in the first sandbox"
    two = ok(py(brig, "two", FORKER, 40))
    assert number(two, "forked") == 40, two


def test_fork_bomb_leaves_supervisor_responsive(brig):
    """A real fork bomb inside: exec still works while it runs, the
    sandbox is listed as running, it never has more tasks than the limit
    and init's reserve, the pids limit is in the logs, and delete ends
    it."""
    brig.create("bomb", "--pids", "64")
    ok(brig.sh("bomb", "bash -c ':(){ :|:& };:' >/dev/null 2>&1 &"))
    assert helpers.wait_for(
        lambda: "limit pids" in logs(brig, "bomb"), 10), logs(brig, "bomb")
    for _ in range(3):
        assert ok(brig("sandbox", "exec", "bomb", "--", "echo",
                       "alive")) == "alive\n"
        tasks = ok(brig("sandbox", "exec", "bomb", "--", "ls", "/proc"))
        pids = [p for p in tasks.split() if p.isdigit()]
        assert len(pids) <= 64 + 16, f"{len(pids)} processes inside"
    assert [s["state"] for s in brig.list()] == ["running"]
    # The host: this test still forks and runs processes.
    assert subprocess.run(["true"]).returncode == 0
    assert logs(brig, "bomb").count("limit pids") == 1, \
        "one event per episode, not a flood"
    ok(brig("sandbox", "delete", "bomb"))
    assert brig.list() == []


# --- Memory ---------------------------------------------------------------------

def test_memory_bomb_killed_by_watchdog(brig):
    """Four processes of 100 MiB each, every one under --memory 256M but
    more than it together: some are killed (by the supervisor's
    watchdog, or by the kernel under cgroup v2) and the kill is logged.
    With --memory 1G, none is."""
    brig.create("mem", "--memory", "256M")
    brig.create("roomy", "--memory", "1G")
    out = ok(py(brig, "mem", MEMORY_BOMB, 4, 100, timeout=60))
    roomy = ok(py(brig, "roomy", MEMORY_BOMB, 4, 100, timeout=60))
    assert number(out, "killed") >= 1, out
    assert number(roomy, "killed") == 0, roomy
    text = logs(brig, "mem")
    # The executable, or its comm once the supervisor's Landlock domain
    # hides another domain's exe link.
    assert re.search(r"LIMIT +limit memory: (killed pid \d+ \((/usr/bin/|"
                     r"comm:)python3[^)]*\), [\d.]+ MiB in use of 256 MiB|"
                     r"the kernel killed)", text), text
    assert "limit memory" not in logs(brig, "roomy")
    event = [json.loads(line) for line in
             ok(brig("logs", "mem", "-o", "json")).splitlines()
             if '"limit"' in line][0]
    assert event["class_uid"] == 2004 and event["limit"] == "memory", event


def test_one_process_over_memory_gets_enomem(brig):
    """One process asking for more than --memory gets ENOMEM
    (RLIMIT_AS); with a wider limit the same allocation succeeds."""
    brig.create("one", "--memory", "256M")
    rlimit_backend(brig, "one")
    brig.create("wide", "--memory", "1G")
    script = "x = b'1' * (300 << 20); print('allocated')"
    r = py(brig, "one", script)
    assert r.returncode == 1 and "MemoryError" in r.stderr, \
        helpers.describe(r)
    assert ok(py(brig, "wide", script)) == "allocated\n"


def test_tmp_is_no_larger_than_memory(brig):
    """/tmp is memory: it is sized to the sandbox's memory limit."""
    brig.create("tmp", "--memory", "64M")
    r = brig.sh("tmp", "dd if=/dev/zero of=/tmp/fill bs=1M count=100")
    assert r.returncode != 0 and "No space left" in r.stderr, \
        helpers.describe(r)
    brig.create("tmpbig", "--memory", "256M")
    ok(brig.sh("tmpbig", "dd if=/dev/zero of=/tmp/fill bs=1M count=100"))


# --- Open files and CPUs -----------------------------------------------------------

def test_files_limit(brig):
    """--files 64 caps each process's open files; the default lets the
    same script open 200."""
    brig.create("fd", "--files", "64")
    brig.create("fddef")
    assert ok(brig.sh("fd", "ulimit -n")).strip() == "64"
    small = ok(py(brig, "fd", OPENER, 200))
    assert "refused 24" in small and number(small, "opened") < 64, small
    assert number(ok(py(brig, "fddef", OPENER, 200)), "opened") == 200


def test_cpus_affinity(brig):
    """--cpus 1 leaves one CPU to the sandbox (nproc says 1); without
    it the sandbox has every CPU; 1.5 rounds up to 2 without cgroups."""
    host = len(os.sched_getaffinity(0))
    if host < 2:
        pytest.skip("this machine has one CPU: --cpus 1 changes nothing")
    brig.create("cpu1", "--cpus", "1")
    rlimit_backend(brig, "cpu1")
    brig.create("cpu15", "--cpus", "1.5")
    brig.create("cpuall")
    assert ok(brig("sandbox", "exec", "cpu1", "--", "nproc")) == "1\n"
    assert ok(brig("sandbox", "exec", "cpu15", "--", "nproc")) == "2\n"
    assert ok(brig("sandbox", "exec", "cpuall", "--",
                   "nproc")) == f"{host}\n"
