"""The supervisor's death takes the whole sandbox with it."""

import os
import signal

import helpers
from helpers import ok


def test_supervisor_killed_leaves_nothing(brig):
    """After SIGKILL to the supervisor no process of the sandbox
    survives (neither a foreground exec nor a daemonised background
    process) and list shows the sandbox failed, with a reason."""
    brig.create("victim")
    fg, bg = helpers.unique_sleep(), helpers.unique_sleep()
    client = brig.popen("sandbox", "exec", "victim", "--", "sleep", fg)
    try:
        ok(brig.sh("victim", f"setsid sleep {bg} >/dev/null 2>&1 &"))
        assert helpers.wait_for(lambda: helpers.pgrep_exact(f"sleep {fg}")
                                and helpers.pgrep_exact(f"sleep {bg}"), 5), \
            "the sleeps did not start"

        pid = brig.get("victim")["supervisor_pid"]
        os.kill(pid, signal.SIGKILL)

        gone = helpers.wait_for(
            lambda: not helpers.pgrep_exact(f"sleep {fg}")
            and not helpers.pgrep_exact(f"sleep {bg}"), 2.0)
        assert gone, ("sandbox processes survived the supervisor: "
                      f"{helpers.pgrep_exact(f'sleep {fg}')} "
                      f"{helpers.pgrep_exact(f'sleep {bg}')}")
    finally:
        if client.poll() is None:
            client.kill()
        client.communicate()

    s = brig.get("victim")
    assert s["state"] == "failed", s
    assert s["reason"], s
    row = [line.split() for line in
           ok(brig("sandbox", "list")).splitlines()[1:]]
    assert row and row[0][:2] == ["victim", "failed"], row


def test_failed_sandbox_can_be_deleted(brig):
    """A sandbox whose supervisor died can still be deleted."""
    brig.create("dead")
    os.kill(brig.get("dead")["supervisor_pid"], signal.SIGKILL)
    helpers.wait_for(lambda: brig.get("dead")["state"] == "failed", 3)
    ok(brig("sandbox", "delete", "dead"))
    assert brig.list() == []
    assert not brig.sandbox_dir("dead").exists()


def test_exec_into_failed_sandbox_fails(brig):
    """exec into a sandbox whose supervisor died fails with exit 1."""
    brig.create("gone")
    os.kill(brig.get("gone")["supervisor_pid"], signal.SIGKILL)
    helpers.wait_for(lambda: brig.get("gone")["state"] == "failed", 3)
    r = brig.sh("gone", "true")
    assert r.returncode == 1, helpers.describe(r)
    assert r.stderr.startswith("brig: "), r.stderr
