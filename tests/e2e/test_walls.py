"""Each filesystem wall on its own. A read_only path is guarded twice:
by a read-only bind mount and by Landlock. With either switched off
(test builds only) the other must still stop the write; with both off
the write must go through, which shows the test can fail."""

import os
import shutil
import tempfile

import pytest

import helpers

POLICY = """\
version: 1
filesystem_policy:
  read_only: [/usr, /lib, /proc, /dev/urandom, /app, /etc, /var/log, {dir}]
  read_write: [/sandbox, /tmp, /dev/null]
landlock:
  compatibility: hard_requirement
process:
  run_as_user: sandbox
  run_as_group: sandbox
"""


@pytest.fixture(scope="module")
def guarded(module_brig):
    """A host directory that DAC lets anybody write (so only brig's
    walls can stop a write), named read_only in a policy. It is outside
    /tmp, which is private inside the sandbox."""
    helpers.skip_without_landlock()
    d = tempfile.mkdtemp(prefix="brig-e2e-wall-", dir="/var/tmp")
    os.chmod(d, 0o777)
    policy = os.path.join(d, "..", os.path.basename(d) + ".yaml")
    policy = os.path.normpath(policy)
    with open(policy, "w") as f:
        f.write(POLICY.format(dir=d))
    yield d, policy
    shutil.rmtree(d, ignore_errors=True)
    os.unlink(policy)


def attempt_write(brig, guarded, disable):
    d, policy = guarded
    target = os.path.join(d, helpers.unique("probe-"))
    env = {"BRIG_TEST_DISABLE": disable} if disable else None
    r = brig("run", "--policy", policy, "--", "sh", "-c",
             f"test -d {d} && echo x > {target}", env=env)
    return r, os.path.exists(target)


def test_guarded_dir_is_visible(module_brig, guarded):
    """The guarded directory is there inside, so a failed write below is
    the wall and not a missing path."""
    d, policy = guarded
    helpers.ok(module_brig("run", "--policy", policy, "--", "test", "-d", d))


@pytest.mark.parametrize("disable,walls", [
    ("", "mount and Landlock"),
    ("landlock", "read-only mount alone"),
    ("readonly-mounts", "Landlock alone"),
    ("seccomp", "mount and Landlock without seccomp"),
], ids=["both", "mount-only", "landlock-only", "no-seccomp"])
def test_write_blocked(module_brig, guarded, request, disable, walls):
    """A write to a read_only path fails with each wall standing alone."""
    if disable:
        request.getfixturevalue("switches")
    r, written = attempt_write(module_brig, guarded, disable)
    assert r.returncode != 0 and not written, \
        f"write went through with {walls}" + helpers.describe(r)


def test_write_goes_through_without_walls(module_brig, guarded, switches):
    """With both walls switched off the same write succeeds: the checks
    above would notice a wall that does nothing."""
    r, written = attempt_write(module_brig, guarded,
                               "landlock,readonly-mounts")
    assert r.returncode == 0 and written, helpers.describe(r)

