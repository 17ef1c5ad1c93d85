"""--workspace: a host project becomes /sandbox, live; the files in it
that run code on the host later (git hooks and config, editor and
direnv settings, MCP config) stay read-only and cannot be created."""

import os
import pwd
import shutil
import tempfile

import pytest

import helpers
from helpers import ok

PROTECTED_FILES = [".git/config", ".gitmodules", ".envrc", ".mcp.json"]
PROTECTED_DIRS = [".git/hooks", ".vscode", ".idea"]


@pytest.fixture
def workspace():
    """A host project directory. As root it belongs to an unprivileged
    user (brig refuses a root-owned workspace and maps the sandbox user
    to the project's owner); own() hands what a test adds to that owner,
    so that only brig, not file permissions, can stop a write."""
    d = tempfile.mkdtemp(prefix="brig-e2e-ws-", dir="/var/tmp")
    own(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def own(ws):
    """Makes everything in WS writable by its owner (nobody, as root)."""
    uid = gid = os.getuid()
    if uid == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    for root, dirs, files in os.walk(ws):
        os.chown(root, uid, gid)
        os.chmod(root, 0o755)
        for n in files:
            os.chown(os.path.join(root, n), uid, gid)
            os.chmod(os.path.join(root, n), 0o644)


def populate(ws):
    """Gives the project every protected path, each with content."""
    os.makedirs(f"{ws}/.git/hooks")
    for p in PROTECTED_FILES:
        with open(f"{ws}/{p}", "w") as f:
            f.write(f"original {p}\n")
    with open(f"{ws}/.git/hooks/pre-commit.sample", "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    for p in (".vscode", ".idea"):
        os.makedirs(f"{ws}/{p}")
        with open(f"{ws}/{p}/settings.json", "w") as f:
            f.write("{}\n")
    own(ws)


def snapshot(path):
    """Type and content of PATH and everything below it."""
    if not os.path.lexists(path):
        return None
    if os.path.islink(path):
        return ("link", os.readlink(path))
    if os.path.isfile(path):
        with open(path, "rb") as f:
            return ("file", f.read())
    return ("dir", {n: snapshot(os.path.join(path, n))
                    for n in sorted(os.listdir(path))})


def attempts(brig, ws, tries):
    """Runs each named shell command in one sandbox over WS; returns the
    names of those that succeeded."""
    script = "cd /sandbox\n" + "".join(
        f"( {cmd} ) >/dev/null 2>&1; echo \"{name}=$?\"\n"
        for name, cmd in tries.items())
    r = brig("run", "--workspace", ws, "--", "sh", "-c", script)
    ok(r)
    codes = dict(line.split("=") for line in r.stdout.split())
    assert set(codes) == set(tries), r.stdout
    return [name for name, code in codes.items() if code == "0"]


def test_edits_are_live(brig, workspace):
    """Edits inside show up on the host at once, and the other way round:
    /sandbox is the project, not a copy."""
    with open(f"{workspace}/from-host.txt", "w") as f:
        f.write("host\n")
    own(workspace)
    brig.create("ws", "--workspace", workspace)
    assert ok(brig.sh("ws", "cat /sandbox/from-host.txt")) == "host\n"
    ok(brig.sh("ws", "echo inside > /sandbox/from-sandbox.txt"))
    with open(f"{workspace}/from-sandbox.txt") as f:
        assert f.read() == "inside\n"
    with open(f"{workspace}/from-host.txt", "a") as f:
        f.write("more\n")
    assert ok(brig.sh("ws", "cat /sandbox/from-host.txt")) == "host\nmore\n"


def test_run_with_workspace(brig, workspace):
    """`brig run --workspace DIR` writes into DIR and deletes nothing of
    it when the run ends."""
    ok(brig.run_sh("echo hi > /sandbox/notes.txt", "--workspace",
                   workspace))
    with open(f"{workspace}/notes.txt") as f:
        assert f.read() == "hi\n"
    assert brig.list() == []


@pytest.mark.parametrize("path", PROTECTED_FILES)
def test_protected_file_present(brig, workspace, path):
    """A protected file that exists can be neither written, truncated,
    replaced, renamed nor deleted from inside."""
    populate(workspace)
    before = snapshot(f"{workspace}/{path}")
    won = attempts(brig, workspace, {
        "append": f"echo evil >> {path}",
        "truncate": f": > {path}",
        "rename": f"mv {path} {path}.moved",
        "delete": f"rm -f {path}",
        "replace": f"echo evil > planted && mv -f planted {path}",
        "symlink-over": f"ln -sf /sandbox/planted {path}",
    })
    assert won == [], f"allowed on {path}: {won}"
    assert snapshot(f"{workspace}/{path}") == before
    assert not os.path.lexists(f"{workspace}/{path}.moved")


@pytest.mark.parametrize("path", PROTECTED_DIRS)
def test_protected_dir_present(brig, workspace, path):
    """A protected directory that exists can have nothing added, changed
    or removed inside, and can be neither renamed nor deleted."""
    populate(workspace)
    inside = "pre-commit.sample" if path == ".git/hooks" else \
        "settings.json"
    before = snapshot(f"{workspace}/{path}")
    won = attempts(brig, workspace, {
        "add": f"echo evil > {path}/planted",
        "add-dir": f"mkdir {path}/planted",
        "modify": f"echo evil >> {path}/{inside}",
        "remove-inside": f"rm -f {path}/{inside}",
        "rename": f"mv {path} {path}.moved",
        "delete": f"rm -rf {path}",
    })
    assert won == [], f"allowed on {path}: {won}"
    assert snapshot(f"{workspace}/{path}") == before
    assert not os.path.lexists(f"{workspace}/{path}.moved")


@pytest.mark.parametrize("path", PROTECTED_FILES + PROTECTED_DIRS)
def test_protected_path_missing(brig, workspace, path):
    """A protected path that does not exist cannot be created: not as a
    file, a directory, a symlink, nor by renaming something there."""
    os.mkdir(f"{workspace}/.git")
    own(workspace)
    won = attempts(brig, workspace, {
        "create-file": f"echo evil > {path}",
        "create-dir": f"mkdir {path} && echo evil > {path}/planted",
        "symlink": f"ln -s /sandbox/elsewhere {path}",
        "rename-into": f"echo evil > planted && mv planted {path}",
        "rename-dir-into": f"mkdir -p d/x && mv d {path}",
    })
    assert won == [], f"allowed on missing {path}: {won}"
    assert not os.path.lexists(f"{workspace}/{path}")


def test_no_git_dir_no_hooks(brig, workspace):
    """In a project without .git, the agent cannot make .git/hooks or
    .git/config for the user's next git command to run."""
    won = attempts(brig, workspace, {
        "hooks": "mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit",
        "config": "mkdir -p .git && echo evil > .git/config",
    })
    assert won == [], f"allowed: {won}"
    assert not os.path.lexists(f"{workspace}/.git/hooks")
    assert not os.path.lexists(f"{workspace}/.git/config")


def test_git_dir_swap(brig, workspace):
    """Moving .git aside and building a new one with a planted hook does
    not work: the host's .git keeps its hooks and config and gains no
    pre-commit hook."""
    populate(workspace)
    before = snapshot(f"{workspace}/.git")
    r = brig.run_sh(
        "cd /sandbox; mv .git .git-old; mkdir -p .git/hooks; "
        "echo '#!/bin/sh' > .git/hooks/pre-commit; "
        "chmod +x .git/hooks/pre-commit; cp .git-old/config .git/config",
        "--workspace", workspace)
    assert r.returncode in (0, 1, 2), helpers.describe(r)
    assert snapshot(f"{workspace}/.git") == before, \
        "the host's .git changed"
    assert not os.path.lexists(f"{workspace}/.git/hooks/pre-commit")
