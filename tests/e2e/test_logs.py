"""brig logs: the event log rendered for people and as stored, filtered,
followed (through rotation), readable after the supervisor dies, and
gone with the sandbox."""

import json
import os
import re
import signal
import time

import helpers
from helpers import fails, ok
from netsupport import Lines, stop

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
SUPERVISOR_CLASSES = {6002, 5019}
SANDBOX_CLASSES = {4001, 4002, 1007, 2004}


def events(brig, name, *opts):
    """`brig logs NAME -o json`, parsed."""
    out = ok(brig("logs", name, "-o", "json", *opts))
    return [json.loads(line) for line in out.splitlines()]


def kill_supervisor(brig, name):
    """SIGKILL to the sandbox's supervisor; the directory stays."""
    os.kill(brig.get(name)["supervisor_pid"], signal.SIGKILL)
    assert helpers.wait_for(lambda: brig.get(name)["state"] == "failed", 5)


def fake_event(seq, name="box", **extra):
    """A line as the supervisor writes it; pid carries a sequence number."""
    e = {"time": int(time.time() * 1000), "class_uid": 1007,
         "category_uid": 1, "activity_id": 1, "activity_name": "launch",
         "severity_id": 1, "source": "supervisor", "sandbox": name,
         "pid": seq}
    e.update(extra)
    return json.dumps(e, separators=(",", ":")) + "\n"


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def rotate(d):
    """What the supervisor does when events.jsonl is full."""
    for i in (2, 1):
        if (d / f"events.jsonl.{i}").exists():
            os.rename(d / f"events.jsonl.{i}", d / f"events.jsonl.{i + 1}")
    os.rename(d / "events.jsonl", d / "events.jsonl.1")
    (d / "events.jsonl").touch(mode=0o600)


def test_lifecycle_and_process_events(brig):
    """The default view shows the start and each exec's start and exit,
    one readable line each, with a level column."""
    brig.create("box")
    ok(brig.sh("box", "true"))
    assert brig.sh("box", "exit 3").returncode == 3
    out = ok(brig("logs", "box")).splitlines()
    assert re.fullmatch(TIME + r" INFO START +sandbox started.*", out[0]), out
    assert any(re.fullmatch(TIME + r" INFO EXEC +pid \d+ started", line)
               for line in out), out
    assert any(re.fullmatch(TIME + r" INFO EXIT +pid \d+ exited with code 3",
                            line) for line in out), out
    assert len([x for x in out if " EXEC " in x]) == 2, out


def test_json_is_as_stored(brig):
    """-o json prints the stored lines byte for byte, each an OCSF
    object."""
    brig.create("box")
    ok(brig.sh("box", "true"))
    out = ok(brig("logs", "box", "-o", "json"))
    stored = (brig.sandbox_dir("box") / "events.jsonl").read_text()
    assert out == stored
    for e in map(json.loads, out.splitlines()):
        assert {"time", "class_uid", "severity_id", "source",
                "sandbox"} <= e.keys(), e
        assert e["sandbox"] == "box"


def test_last_n(brig):
    """-n N shows the last N events; -n 0 none."""
    brig.create("box")
    for _ in range(3):
        ok(brig.sh("box", "true"))
    every = events(brig, "box")
    assert len(every) == 7
    assert events(brig, "box", "-n", "2") == every[-2:]
    assert ok(brig("logs", "box", "-n", "0")) == ""


def test_since(brig):
    """--since 1s leaves out what happened before that."""
    brig.create("box")
    ok(brig.sh("box", "true"))
    time.sleep(1.5)
    assert brig.sh("box", "exit 5").returncode == 5
    recent = events(brig, "box", "--since", "1s")
    assert [e["class_uid"] for e in recent] == [1007, 1007], recent
    assert recent[-1]["exit_code"] == 5
    assert len(events(brig, "box", "--since", "1h")) == 5
    assert len(events(brig, "box", "--since", "2000-01-01T00:00:00Z")) == 5
    assert events(brig, "box", "--since", "2999-01-01T00:00:00.5+02:00") \
        == []


def test_source(brig):
    """--source supervisor is lifecycle and config only; --source sandbox
    is what ran inside; all is both."""
    brig.create("box")
    ok(brig.sh("box", "true"))
    sup = events(brig, "box", "--source", "supervisor")
    box = events(brig, "box", "--source", "sandbox")
    assert sup and {e["class_uid"] for e in sup} <= SUPERVISOR_CLASSES
    assert box and {e["class_uid"] for e in box} <= SANDBOX_CLASSES
    assert len(events(brig, "box", "--source", "all")) == len(sup) + len(box)
    human = ok(brig("logs", "box", "--source", "supervisor"))
    assert " START " in human and " EXEC " not in human


def test_usage_errors(brig):
    """Bad values are usage errors (exit 2) that name the option."""
    brig.create("box")
    for args in (["--source", "kernel"], ["--since", "yesterday"],
                 ["--level", "loud"], ["-n", "-1"], ["-o", "yaml"], []):
        r = brig("logs", *(["box"] if args else []), *args)
        assert r.returncode == 2, helpers.describe(r)
        assert r.stderr.startswith("brig: "), r.stderr
    assert brig("logs", "box", "a", "b").returncode == 2


def test_tail_sees_new_event(brig):
    """--tail prints what is there, then a new event within a second of
    it happening; SIGINT ends it with exit 0."""
    brig.create("box")
    tail = brig.popen("logs", "box", "--tail", "--source", "sandbox")
    try:
        lines = Lines(tail, strict=True)
        time.sleep(0.3)
        runner = brig.popen("sandbox", "exec", "box", "--", "sh", "-c",
                            "exit 9")
        assert runner.wait(timeout=helpers.TIMEOUT) == 9
        done = time.monotonic()
        lines.until_match(r"EXIT +pid \d+ exited with code 9", 5)
        assert time.monotonic() - done < 1.0
        tail.send_signal(signal.SIGINT)
        assert tail.wait(timeout=5) == 0
    finally:
        stop(tail)


def test_tail_ends_when_sandbox_deleted(brig):
    """Deleting the sandbox ends a follow with exit 0, after the delete
    event."""
    brig.create("box")
    tail = brig.popen("logs", "box", "--tail", "-n", "0")
    try:
        lines = Lines(tail, strict=True)
        time.sleep(0.3)
        ok(brig("sandbox", "delete", "box"))
        lines.until_match(r" DELETE +sandbox deleted", 5)
        assert tail.wait(timeout=5) == 0
    finally:
        stop(tail)


def test_logs_outlive_supervisor_and_go_with_sandbox(brig):
    """After SIGKILL to the supervisor the log is still read; after
    delete it is gone."""
    brig.create("box")
    ok(brig.sh("box", "true"))
    kill_supervisor(brig, "box")
    out = ok(brig("logs", "box"))
    assert " START " in out and " EXIT " in out
    ok(brig("sandbox", "delete", "box"))
    r = fails(brig("logs", "box"))
    assert r.returncode == 1
    assert "no sandbox named 'box'" in r.stderr


def test_rendering_and_bad_lines(brig):
    """Network events read as `DENY curl -> host:port (policy ...)`, the
    level filter works, and a line that is not an event is shown raw
    (terminal controls defused) or skipped in json with a warning."""
    brig.create("box")
    kill_supervisor(brig, "box")
    log = brig.sandbox_dir("box") / "events.jsonl"
    append(log, fake_event(1, class_uid=4001, category_uid=4,
                           activity_id=5, activity_name="refuse",
                           severity_id=3, action="deny",
                           host="api.github.com", port=443,
                           binary="/usr/bin/curl", policy=None,
                           reason="no_endpoint"))
    append(log, "not json \x1b[31mred\n")
    append(log, fake_event(2, class_uid=5019, category_uid=5,
                           activity_name="log", policy_rev=2,
                           sha256="ab" * 32, status="loaded"))
    out = ok(brig("logs", "box")).splitlines()
    assert re.fullmatch(TIME + r" WARN DENY +curl -> api\.github\.com:443 "
                        r"\(policy none: no_endpoint\)", out[-3]), out
    assert out[-2] == "not json ?[31mred", out
    assert re.fullmatch(TIME + r" INFO POLICY rev 2 loaded "
                        r"\(sha256 abababababab\)", out[-1]), out

    high = ok(brig("logs", "box", "--level", "medium")).splitlines()
    assert len(high) == 2 and " DENY " in high[0], high

    r = brig("logs", "box", "-o", "json")
    assert r.returncode == 0
    assert "not json" not in r.stdout
    assert all(json.loads(x) for x in r.stdout.splitlines())
    assert "1 lines" in r.stderr and "not JSON" in r.stderr, r.stderr


def test_reads_rotated_files_in_order(brig):
    """events.jsonl.3, .2, .1 and events.jsonl are read in that order."""
    brig.create("box")
    kill_supervisor(brig, "box")
    d = brig.sandbox_dir("box")
    for i, part in ((3, range(0, 10)), (2, range(10, 20)),
                    (1, range(20, 30))):
        (d / f"events.jsonl.{i}").write_text(
            "".join(fake_event(s) for s in part))
    (d / "events.jsonl").write_text("".join(fake_event(s)
                                            for s in range(30, 40)))
    seqs = [e["pid"] for e in events(brig, "box", "-n", "1000")]
    assert seqs == list(range(40))
    assert [e["pid"] for e in events(brig, "box", "-n", "5")] == \
        list(range(35, 40))


def test_tail_follows_rotation(brig):
    """A follow neither misses nor repeats an event when the file it
    reads is rotated, once or twice between two looks."""
    brig.create("box")
    kill_supervisor(brig, "box")
    d = brig.sandbox_dir("box")
    log = d / "events.jsonl"
    tail = brig.popen("logs", "box", "--tail", "-n", "0", "-o", "json")
    try:
        lines = Lines(tail, strict=True)
        time.sleep(0.3)
        got = []
        seq = 0

        def expect_upto(last):
            while not got or got[-1] < last:
                line = lines.next(5)
                assert line is not None, f"stuck after {got}"
                got.append(json.loads(line)["pid"])

        for rounds in (1, 1, 2, 3):
            for _ in range(rounds):
                append(log, "".join(fake_event(seq + i) for i in range(5)))
                seq += 5
                rotate(d)
            append(log, fake_event(seq))
            seq += 1
            expect_upto(seq - 1)
        assert got == list(range(seq))

        # Leaves nothing to read: the follow waits, then ends cleanly.
        assert lines.next(0.3) is None
        tail.send_signal(signal.SIGTERM)
        assert tail.wait(timeout=5) == 0
    finally:
        stop(tail)
