"""Interactive use on a pseudo-terminal: create and connect give a
login shell; Ctrl-C, window size and job control reach the sandbox."""

import pytest

import helpers
from helpers import ok


@pytest.fixture
def term(module_brig):
    """Opens brig commands on pseudo-terminals; closes them after."""
    opened = []

    def open_(*args, rows=24, cols=80):
        t = helpers.Pty([helpers.BRIG, *args], module_brig.env, rows, cols)
        opened.append(t)
        return t
    yield open_
    for t in opened:
        t.close()


def test_connect_shell(module_brig, box, term):
    """connect gives a working shell in /sandbox: `echo $((6*7))` prints
    42, and exit ends brig with status 0."""
    t = term("sandbox", "connect", box)
    t.send("echo $((6*7))\n")
    t.expect(r"\b42\b")
    t.send('echo "pwd=$(pwd)"; test -t 0 && echo tty-$((2+3))\n')
    t.expect(r"pwd=/sandbox\s")
    t.expect(r"tty-5")
    t.send("exit\n")
    assert t.wait() == 0


def test_persistence_across_exec_and_connect(module_brig, box, term):
    """/sandbox/notes.txt written through exec is there in a connected
    shell, and a file the shell writes is there for the next exec."""
    ok(module_brig.sh(box, "echo from-exec > /sandbox/notes.txt"))
    t = term("sandbox", "connect", box)
    t.send("cat /sandbox/notes.txt; echo from-shell > /sandbox/shell.txt\n")
    t.expect(r"from-exec")
    t.send("exit\n")
    assert t.wait() == 0
    assert ok(module_brig.sh(box, "cat /sandbox/shell.txt")) == \
        "from-shell\n"


def test_ctrl_c_reaches_sandbox(module_brig, box, term):
    """Ctrl-C interrupts `sleep` inside the shell; the shell and brig
    stay alive."""
    t = term("sandbox", "connect", box)
    arg = helpers.unique_sleep()
    t.send(f"sleep {arg}\n")
    assert helpers.wait_for(lambda: helpers.pgrep_exact(f"sleep {arg}")), \
        "sleep did not start:\n" + t.text()
    t.send("\x03")
    assert helpers.wait_for(
        lambda: not helpers.pgrep_exact(f"sleep {arg}"), 5), \
        "Ctrl-C did not reach the sleep"
    t.send("echo alive-$((40+2))\n")
    t.expect(r"alive-42")
    assert t.proc.poll() is None
    t.send("exit\n")
    assert t.wait() == 0


def test_window_size(module_brig, box, term):
    """The terminal's size reaches the sandbox at start and on resize."""
    t = term("sandbox", "connect", box, rows=33, cols=97)
    t.send("stty size\n")
    t.expect(r"\b33 97\b")
    t.resize(41, 123)
    t.send("stty size\n")
    t.expect(r"\b41 123\b")
    t.send("exit\n")
    t.wait()


def test_job_control(module_brig, box, term):
    """The shell has job control: a background job is listed by jobs
    and can be brought back with fg and stopped with Ctrl-C."""
    t = term("sandbox", "connect", box)
    arg = helpers.unique_sleep()
    t.send(f"sleep {arg} &\n")
    t.send("jobs\n")
    t.expect(r"\[1\].*(Running|running)")
    t.send("fg\n")
    assert helpers.wait_for(lambda: helpers.pgrep_exact(f"sleep {arg}"))
    t.send("\x03")
    assert helpers.wait_for(
        lambda: not helpers.pgrep_exact(f"sleep {arg}"), 5)
    t.send("echo back-$((1+1))\n")
    t.expect(r"back-2")
    t.send("exit\n")
    t.wait()


def test_exec_on_a_tty(module_brig, box, term):
    """exec uses a terminal when brig's stdin is one, and passes the
    exit code through."""
    t = term("sandbox", "exec", box, "--", "sh", "-c",
             "test -t 0 && test -t 1 && echo tty-yes; exit 5")
    t.expect(r"tty-yes")
    assert t.wait() == 5


def test_create_interactive_not_kept(module_brig, term):
    """create without a command gives a shell; without --keep the
    sandbox is gone once the shell exits."""
    t = term("sandbox", "create", "--name", "inter")
    t.send("echo $((6*7))\n")
    t.expect(r"\b42\b")
    t.send("exit\n")
    assert t.wait() == 0
    assert "inter" not in module_brig.names()


def test_create_interactive_kept(module_brig, term):
    """create --keep gives a shell; the sandbox stays after it exits,
    and a later connect finds the shell's files."""
    t = term("sandbox", "create", "--name", "interk", "--keep")
    t.send("echo kept-$((3*3)) > /sandbox/k.txt; echo $((6*7))\n")
    t.expect(r"\b42\b")
    t.send("exit\n")
    assert t.wait() == 0
    assert "interk" in module_brig.names()
    t = term("sandbox", "connect", "interk")
    t.send("cat /sandbox/k.txt\n")
    t.expect(r"kept-9")
    t.send("exit\n")
    assert t.wait() == 0
    ok(module_brig("sandbox", "delete", "interk"))
