"""The escape battery's shared parts.

Each attack is one test function that runs twice:

- "walled": every wall up. The attack must fail.
- "proof": the walls it targets switched off (BRIG_TEST_DISABLE, honoured
  only by builds with -Dtest_switches=true). The attack must succeed, which
  shows that the test can fail. Where the kernel alone stops the attack
  even then (a sysctl, a missing device), the proof is skipped with the
  reason, never counted as passed.

An attack is written as

    @attack("seccomp")
    def test_keyctl(brig, off):
        \"\"\"Adds a key to a kernel keyring: keys outlive the sandbox.\"\"\"
        r = run(brig, off, "python3 -c '...'")
        verdict(off, r.returncode == 0, r)

with a docstring of one line: what it tries and why it matters.
"""

import subprocess

import pytest

import helpers


def attack(*walls, kernel=None):
    """Marks a test as an attack stopped by the named walls (names of
    BRIG_TEST_DISABLE). kernel: why the proof cannot succeed on this
    machine even with those walls off, or None."""
    assert walls, "an attack names the walls that stop it"
    proof_marks = [pytest.mark.skip(reason=kernel)] if kernel else []
    params = [pytest.param("", id="walled"),
              pytest.param(",".join(walls), id="proof", marks=proof_marks)]

    def wrap(fn):
        fn.walls = walls
        return pytest.mark.parametrize("off", params)(fn)
    return wrap


def bounded(fn):
    """Marks a test as an attack on a resource limit. Limits cannot be
    switched off safely (a fork bomb with none would take the machine),
    so the proof runs the same attack under a wide limit instead, and
    must get further: the test gets "wide", False walled, True in its
    proof."""
    return pytest.mark.parametrize(
        "wide", [pytest.param(False, id="walled"),
                 pytest.param(True, id="proof")])(fn)


def env_for(off, env=None):
    """The environment for one brig command of an attack."""
    env = dict(env or {})
    if off:
        env["BRIG_TEST_DISABLE"] = off
    return env or None


def run(brig, off, script, *opts, timeout=60, env=None, input=None):
    """Runs script with sh -c in a new sandbox (brig run OPTS -- sh -c)."""
    return brig("run", *opts, "--", "sh", "-c", script,
                env=env_for(off, env), timeout=timeout, input=input)


def verdict(off, escaped, detail=""):
    """The attack's outcome: it must fail walled and succeed in its proof."""
    if isinstance(detail, subprocess.CompletedProcess):
        detail = helpers.describe(detail)
    if off:
        assert escaped, (f"with '{off}' switched off the attack should "
                         f"succeed, or this test cannot fail:\n{detail}")
    else:
        assert not escaped, f"the attack got through:\n{detail}"
