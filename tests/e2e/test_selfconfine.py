"""The supervisor confines itself once the sandbox is built: a bug in it
(here simulated by the test-only BRIG_TEST_SUPERVISOR_ATTACK hook) can
neither start a program nor write or read outside its state directory.
Each attack is also run with the confinement switched off, to show that
it would work."""

import json
import os
from pathlib import Path

import helpers
from helpers import ok

EACCES = os.strerror(13)  # Landlock
EPERM = os.strerror(1)  # the seccomp filter


def status(pid):
    """Fields of /proc/PID/status (and of each of its threads)."""
    out = []
    for task in sorted(Path(f"/proc/{pid}/task").iterdir()):
        fields = {}
        for line in (task / "status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        out.append(fields)
    return out


def test_supervisor_has_filter_and_no_new_privs(brig):
    """Every thread of a running supervisor is under seccomp filter
    mode with no_new_privs: the proxy's worker and TLS threads too."""
    brig.create("sup")
    pid = brig.get("sup")["supervisor_pid"]
    threads = status(pid)
    assert len(threads) >= 2, "the proxy's worker thread is missing"
    for t in threads:
        assert t["Seccomp"] == "2", t
        assert t["NoNewPrivs"] == "1", t
    ok(brig.sh("sup", "echo still works"))


def test_switch_turns_confinement_off(brig, switches):
    """The test switch really switches it off (so the attacks below,
    run without it, show what confinement prevents)."""
    ok(brig("sandbox", "create", "--name", "open", "--detach",
            env={"BRIG_TEST_DISABLE": "supervisor-confine"}))
    pid = brig.get("open")["supervisor_pid"]
    for t in status(pid):
        assert t["Seccomp"] == "0", t


def attack(brig, tmp_path, name, disable=None):
    """Starts sandbox NAME with every attack; returns the outcomes by
    attack (missing: it never reported, as after a successful exec)
    and the paths involved."""
    tmp_path.chmod(0o700)
    p = {
        "outside": tmp_path / "written",
        "store_dir": Path(brig.state) / "planted",
        "inside": brig.sandbox_dir(name) / "attack-ok",
        "secret": tmp_path / "secret",
        "payload": tmp_path / "payload.sh",
        "marker": tmp_path / "ran",
    }
    p["secret"].write_text("host secret\n")
    p["payload"].write_text(f"#!/bin/sh\necho ran > {p['marker']}\n")
    p["payload"].chmod(0o755)
    spec = ",".join([f"write:{p['outside']}", f"write:{p['store_dir']}",
                     f"write:{p['inside']}", f"read:{p['secret']}",
                     "fork", f"exec:{p['payload']}"])
    env = {"BRIG_TEST_SUPERVISOR_ATTACK": spec}
    if disable:
        env["BRIG_TEST_DISABLE"] = disable
    ok(brig("sandbox", "create", "--name", name, "--detach", env=env))
    events = brig.sandbox_dir(name) / "events.jsonl"

    def outcomes():
        got = {}
        try:
            lines = events.read_text().splitlines()
        except OSError:
            return got
        for line in lines:
            e = json.loads(line)
            if e.get("activity_name") == "test-attack":
                what, _, result = e["message"].rpartition(": ")
                got[what] = result
        return got

    # Five attacks always report; the exec reports only when it failed.
    helpers.wait_for(lambda: len(outcomes()) == 6
                     or (len(outcomes()) == 5 and p["marker"].exists()),
                     10)
    return outcomes(), p


def test_attacks_fail_when_confined(brig, switches, tmp_path):
    helpers.skip_without_landlock()
    got, p = attack(brig, tmp_path, "conf")

    assert got[f"write:{p['outside']}"] == EACCES, got
    assert got[f"write:{p['store_dir']}"] == EACCES, got
    assert got[f"read:{p['secret']}"] == EACCES, got
    assert got["fork:"] == EPERM, got
    assert got[f"exec:{p['payload']}"] == EPERM, got
    assert not p["outside"].exists()
    assert not p["store_dir"].exists()
    assert not p["marker"].exists()
    # Its own directory stays writable: the wall is not everything.
    assert got[f"write:{p['inside']}"] == "done", got
    # And the sandbox still works after the attempts.
    ok(brig.sh("conf", "echo fine"))


def test_landlock_alone_stops_exec(brig, switches, tmp_path):
    """With only the seccomp filter off, Landlock's missing execute
    right still stops the program, and fork is what is left."""
    helpers.skip_without_landlock()
    got, p = attack(brig, tmp_path, "ll", disable="supervisor-filter")

    assert got[f"exec:{p['payload']}"] == EACCES, got
    assert got[f"write:{p['outside']}"] == EACCES, got
    assert got["fork:"] == "done", got
    assert not p["marker"].exists()


def test_attacks_work_without_confinement(brig, switches, tmp_path):
    """The same attacks, unconfined: each one succeeds, which is what
    makes the test above mean something."""
    got, p = attack(brig, tmp_path, "unconf", disable="supervisor-confine")

    assert got[f"write:{p['outside']}"] == "done", got
    assert got[f"write:{p['store_dir']}"] == "done", got
    assert got[f"read:{p['secret']}"] == "done", got
    assert got["fork:"] == "done", got
    assert p["outside"].read_text() == "attack\n"
    assert helpers.wait_for(p["marker"].exists, 5), \
        f"the payload did not run: {got}"
    assert f"exec:{p['payload']}" not in got


def test_kill_and_removal_still_work(brig):
    """Confined, the supervisor still kills the sandbox (init, and with
    it a daemonised process) and removes its state directory."""
    brig.create("sig")
    sleep = helpers.unique_sleep()
    ok(brig.sh("sig", f"setsid sleep {sleep} >/dev/null 2>&1 &"))
    assert helpers.wait_for(lambda: helpers.pgrep_exact(f"sleep {sleep}"))
    ok(brig("sandbox", "delete", "sig"))
    assert helpers.wait_for(
        lambda: not helpers.pgrep_exact(f"sleep {sleep}")), "it survived"
    assert not brig.sandbox_dir("sig").exists()


def test_proc_reads_a_watchdog_needs(brig, switches):
    """The loop's thread, inside the Landlock domain, still reads a
    process's statm, status and children (a resource watchdog's needs);
    maps, which takes ptrace access, is left to the worker thread."""
    helpers.skip_without_landlock()
    reads = ["/proc/1/statm", "/proc/1/status", "/proc/1/task/1/children"]
    spec = ",".join(f"read:{p}" for p in reads)
    ok(brig("sandbox", "create", "--name", "wd", "--detach",
            env={"BRIG_TEST_SUPERVISOR_ATTACK": spec}))
    events = brig.sandbox_dir("wd") / "events.jsonl"

    def outcomes():
        return [json.loads(line)["message"]
                for line in events.read_text().splitlines()
                if '"test-attack"' in line]

    assert helpers.wait_for(lambda: len(outcomes()) == len(reads), 10)
    assert outcomes() == [f"read:{p}: done" for p in reads]
