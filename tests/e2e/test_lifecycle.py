"""Sandbox lifecycle through the CLI: run, create (kept, not kept,
detached, named or not), exec, list, get, delete, and two brig commands
at once."""

import json
import os
import re
import time

import pytest

import helpers
from helpers import fails, ok

KEYS = {"name", "state", "reason", "created_at", "policy_rev", "workspace",
        "keep", "supervisor_pid"}
STATES = {"running", "failed", "stopped", "starting"}


def test_run_writes_workspace(brig):
    """`brig run -- sh -c 'echo hi > /sandbox/notes.txt'` works."""
    r = brig.run_sh("echo hi > /sandbox/notes.txt && cat /sandbox/notes.txt")
    assert ok(r) == "hi\n"


def test_run_forwards_output(brig):
    """brig run forwards the command's stdout and stderr separately."""
    r = brig.run_sh("echo out; echo err >&2")
    assert ok(r) == "out\n"
    assert "err\n" in r.stderr


@pytest.mark.parametrize("script,code", [("exit 0", 0), ("exit 7", 7),
                                         ("exit 255", 255),
                                         ("kill -9 $$", 137),
                                         ("kill -TERM $$", 143)])
def test_run_exit_code(brig, script, code):
    """brig run exits with the command's code, 128+signal if killed."""
    r = brig.run_sh(script)
    assert r.returncode == code, helpers.describe(r)


def test_run_missing_command_fails(brig):
    """A command that does not exist inside is a failure, not exit 0."""
    fails(brig("run", "--", "/no/such/program"))


def test_run_is_ephemeral(brig):
    """brig run leaves no sandbox, no directory and no workspace behind;
    the next run starts from an empty /sandbox."""
    ok(brig.run_sh("echo hi > /sandbox/notes.txt"))
    assert brig.list() == []
    d = helpers.Path(brig.state) / "sandboxes"
    assert not d.exists() or list(d.iterdir()) == []
    fails(brig.run_sh("test -e /sandbox/notes.txt"))


def test_run_stdin(brig):
    """brig run forwards stdin."""
    assert ok(brig("run", "--", "cat", input="piped\n")) == "piped\n"


def test_detach_list_get_delete(brig):
    """create --detach returns at once with the sandbox running; list,
    get and -o json describe it; delete removes it, its directory and
    its supervisor."""
    start = time.monotonic()
    brig.create("d1")
    assert time.monotonic() - start < 10

    table = ok(brig("sandbox", "list")).splitlines()
    assert table, "sandbox list printed nothing"
    assert table[0].split()[:4] == ["NAME", "STATE", "AGE", "POLICY"], table
    rows = [line.split() for line in table[1:]]
    assert [r[:2] for r in rows] == [["d1", "running"]], table

    listed = brig.list()
    assert len(listed) == 1 and KEYS <= set(listed[0]), listed
    s = brig.get("d1")
    assert s["name"] == "d1" and s["state"] == "running", s
    assert KEYS <= set(s), s
    assert s["keep"] in (True, False), s
    assert isinstance(s["supervisor_pid"], int) and s["supervisor_pid"] > 0
    assert helpers.pid_alive(s["supervisor_pid"]), s
    assert "d1" in ok(brig("sandbox", "get", "d1"))
    assert brig.sandbox_dir("d1").is_dir()

    ok(brig("sandbox", "delete", "d1"))
    assert brig.list() == []
    assert not brig.sandbox_dir("d1").exists()
    assert helpers.wait_for(lambda: not helpers.pid_alive(
        s["supervisor_pid"]), 5), "supervisor outlived delete"
    fails(brig("sandbox", "get", "d1"))


def test_delete_several(brig):
    """delete takes several names at once."""
    brig.create("a1")
    brig.create("a2")
    brig.create("a3")
    ok(brig("sandbox", "delete", "a1", "a3"))
    assert brig.names() == ["a2"]


def test_delete_kills_sandbox_processes(brig):
    """Deleting a sandbox ends every process inside it."""
    brig.create("dk")
    arg = helpers.unique_sleep()
    ok(brig.sh("dk", f"sleep {arg} >/dev/null 2>&1 &"))
    assert helpers.wait_for(lambda: helpers.pgrep_exact(f"sleep {arg}"))
    ok(brig("sandbox", "delete", "dk"))
    assert helpers.wait_for(
        lambda: not helpers.pgrep_exact(f"sleep {arg}"), 3), \
        "a process survived delete"


def test_duplicate_name_refused(brig):
    """A second sandbox with a taken name is refused (exit 1) and the
    first one is left alone."""
    brig.create("dup")
    r = brig("sandbox", "create", "--detach", "--name", "dup")
    assert r.returncode == 1, helpers.describe(r)
    assert r.stderr.startswith("brig: ")
    assert brig.names() == ["dup"]
    ok(brig.sh("dup", "true"))


def test_generated_name(brig):
    """Without --name a name is generated, listed and usable."""
    brig.create(None)
    names = brig.names()
    assert len(names) == 1 and re.fullmatch(r"[A-Za-z0-9][\w.-]*", names[0])
    ok(brig.sh(names[0], "true"))


def test_not_kept_removed_after_command(brig):
    """Without --keep, a sandbox is removed when its command exits."""
    r = brig("sandbox", "create", "--name", "once", "--",
             "sh", "-c", "echo ran")
    assert "ran" in ok(r)
    assert "once" not in brig.names()
    assert not brig.sandbox_dir("once").exists()


def test_keep_outlives_command(brig):
    """With --keep, a sandbox outlives its first command until delete,
    and its workspace keeps what the command wrote."""
    ok(brig("sandbox", "create", "--name", "kept", "--keep", "--",
            "sh", "-c", "echo first > /sandbox/first.txt"))
    assert brig.names() == ["kept"]
    s = brig.get("kept")
    assert s["state"] in STATES - {"failed"}, s
    assert s["keep"] is True, s
    assert ok(brig.sh("kept", "cat /sandbox/first.txt")) == "first\n"
    ok(brig("sandbox", "delete", "kept"))
    assert brig.names() == []


def test_detached_is_kept(brig):
    """A --detach sandbox stays until deleted, across several execs."""
    brig.create("stay")
    for _ in range(3):
        ok(brig.sh("stay", "true"))
    assert brig.get("stay")["state"] == "running"


class TestExec:
    """sandbox exec against one shared detached sandbox."""

    @pytest.mark.parametrize("script,code", [("exit 0", 0), ("exit 7", 7),
                                             ("kill -9 $$", 137)])
    def test_exit_code(self, module_brig, box, script, code):
        """exec exits with the command's code, 128+signal if killed."""
        r = module_brig.sh(box, script)
        assert r.returncode == code, helpers.describe(r)

    def test_pipe(self, module_brig, box):
        """`echo x | brig sandbox exec N -- cat` prints x."""
        r = module_brig("sandbox", "exec", box, "--", "cat", input="x\n")
        assert ok(r) == "x\n"

    def test_without_double_dash(self, module_brig, box):
        """`sandbox exec N CMD` works without the --."""
        assert ok(module_brig("sandbox", "exec", box, "echo", "a")) == "a\n"

    def test_binary_stream(self, module_brig, box):
        """A megabyte of arbitrary bytes goes through stdin and stdout
        unchanged."""
        data = os.urandom(1 << 20)
        r = module_brig("sandbox", "exec", box, "--", "cat", input=data,
                        binary=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout == data

    def test_stderr_separate(self, module_brig, box):
        """stdout and stderr stay separate streams."""
        r = module_brig.sh(box, "echo out; echo err >&2")
        assert ok(r) == "out\n"
        assert r.stderr == "err\n"

    def test_not_a_tty(self, module_brig, box):
        """Without a terminal on brig's stdin, the command gets none."""
        out = ok(module_brig.sh(box, "test -t 0 && echo tty || echo pipe"))
        assert out == "pipe\n"

    def test_arguments_preserved(self, module_brig, box):
        """Arguments with spaces, quotes and empty strings arrive as
        given."""
        args = ["a b", "", "'q'", "$HOME", "--x"]
        r = module_brig("sandbox", "exec", box, "--", "python3", "-c",
                        "import json, sys; print(json.dumps(sys.argv[1:]))",
                        *args)
        assert json.loads(ok(r)) == args

    def test_workspace_persists_across_exec(self, module_brig, box):
        """/sandbox/notes.txt written by one exec is read by the next and
        lives in the sandbox's workspace directory on the host."""
        ok(module_brig.sh(box, "echo persisted > /sandbox/persist.txt"))
        assert ok(module_brig.sh(box, "cat /sandbox/persist.txt")) == \
            "persisted\n"
        host = module_brig.sandbox_dir(box) / "workspace" / "persist.txt"
        assert host.read_text() == "persisted\n"


def test_concurrent_creates(brig):
    """Five `sandbox create` at once all succeed and all are listed:
    two brig commands at a time lose and corrupt nothing."""
    procs = [brig.popen("sandbox", "create", "--detach", "--name", f"c{i}")
             for i in range(5)]
    results = [(p.wait(helpers.TIMEOUT), p.communicate()) for p in procs]
    for i, (code, (out, err)) in enumerate(results):
        assert code == 0, f"c{i}: exit {code}: {err.decode()}"
    assert brig.names() == [f"c{i}" for i in range(5)]
    for i in range(5):
        assert brig.get(f"c{i}")["state"] == "running"
        assert ok(brig.sh(f"c{i}", "echo $((40+2))")) == "42\n"


def test_concurrent_runs_and_deletes(brig):
    """Ephemeral runs, deletes and lists at the same time all succeed."""
    brig.create("x1")
    brig.create("x2")
    procs = [brig.popen("run", "--", "sh", "-c", f"echo run{i}")
             for i in range(3)]
    procs += [brig.popen("sandbox", "delete", "x1"),
              brig.popen("sandbox", "list", "-o", "json"),
              brig.popen("sandbox", "delete", "x2")]
    outs = [(p.wait(helpers.TIMEOUT), *p.communicate()) for p in procs]
    for code, out, err in outs:
        assert code == 0, err.decode()
    for i in range(3):
        assert outs[i][1] == f"run{i}\n".encode()
    json.loads(outs[4][1])
    assert brig.list() == []
