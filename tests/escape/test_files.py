"""Link tricks on the workspace and on policy paths, and writes to the
workspace's protected names (hooks and configuration that run code on
the host the moment a person or a tool opens the project)."""

import os
import shutil

import pytest

from escape import attack, run, verdict
from hostkit import lab, own, workspace  # noqa: F401


def git_workspace(ws):
    """A project with .git/hooks/pre-commit and .git/config, all owned by
    the workspace's owner."""
    hooks = os.path.join(ws, ".git", "hooks")
    os.makedirs(hooks)
    for p in (os.path.join(ws, ".git"), hooks):
        own(p, ws)
    for name, mode in (("hooks/pre-commit", 0o755), ("config", 0o644)):
        p = os.path.join(ws, ".git", name)
        with open(p, "w") as f:
            f.write("# harmless\n")
        os.chmod(p, mode)
        own(p, ws)
    return os.path.join(hooks, "pre-commit"), os.path.join(ws, ".git",
                                                          "config")


def planted(path):
    with open(path) as f:
        return "evil" in f.read()


@attack("readonly-mounts")
def test_write_git_hook(brig, off, workspace):
    """Writes .git/hooks/pre-commit in a --workspace project: the hook
    runs on the host at the user's next commit."""
    hook, _ = git_workspace(workspace)
    r = run(brig, off, "echo 'echo evil' > /sandbox/.git/hooks/pre-commit",
            "--workspace", workspace)
    verdict(off, planted(hook), r)


@attack("readonly-mounts")
def test_git_config_hooks_path(brig, off, workspace):
    """Points core.hooksPath in .git/config at a directory the agent
    writes: new hooks without touching .git/hooks."""
    _, config = git_workspace(workspace)
    r = run(brig, off, "printf '[core]\\n\\thooksPath = /sandbox/evil\\n' "
            ">> /sandbox/.git/config", "--workspace", workspace)
    verdict(off, planted(config), r)


@attack("readonly-mounts")
def test_planted_link_to_hook(brig, off, workspace):
    """Writes through notes.txt, planted before start as a link to
    .git/hooks/pre-commit: a link must not carry a write past the guard."""
    hook, _ = git_workspace(workspace)
    link = os.path.join(workspace, "notes.txt")
    os.symlink(".git/hooks/pre-commit", link)
    own(link, workspace)
    r = run(brig, off, "echo 'echo evil' >> /sandbox/notes.txt",
            "--workspace", workspace)
    verdict(off, planted(hook), r)


def _root_reason():
    return ("a link resolves in the sandbox's own root, which holds only "
            "the policy's paths; no test switch builds the sandbox on the "
            "host's root, so this proof cannot be shown")


@attack("landlock", kernel=_root_reason())
def test_planted_link_to_host_secret(brig, off, lab, workspace):
    """Reads leak.txt, planted in the workspace before start as a link to
    a host file outside the policy: the link must lead nowhere inside."""
    d = lab.mkdtemp("brig-escape-secret-")
    secret = os.path.join(d, "secret")
    with open(secret, "w") as f:
        f.write("host-secret-51aa\n")
    os.chmod(secret, 0o644)
    os.symlink(secret, os.path.join(workspace, "leak.txt"))
    own(os.path.join(workspace, "leak.txt"), workspace)
    try:
        r = run(brig, off, "cat /sandbox/leak.txt", "--workspace", workspace)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    verdict(off, "host-secret-51aa" in r.stdout, r)


@pytest.fixture
def guarded(lab):
    """A host directory that DAC lets anybody write, with ro/f inside, so
    that only brig's walls can stop a write to it."""
    d = lab.mkdtemp("brig-escape-links-")
    os.chmod(d, 0o777)
    ro = os.path.join(d, "ro")
    os.mkdir(ro)
    os.chmod(ro, 0o777)
    with open(os.path.join(ro, "f"), "w") as f:
        f.write("original\n")
    os.chmod(os.path.join(ro, "f"), 0o666)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@attack("landlock", "readonly-mounts")
def test_policy_path_link_into_read_only(brig, off, lab, guarded):
    """Writes through a read_write policy path that is a link (planted by
    an earlier sandbox) into a read_only one: it must stay read-only."""
    ro, link = os.path.join(guarded, "ro"), os.path.join(guarded, "rw")
    os.symlink("ro", link)
    policy = lab.policy(ro=[ro], rw=[link])
    r = run(brig, off, f"echo evil > {link}/f", "--policy", policy)
    verdict(off, planted(os.path.join(ro, "f")), r)


@pytest.mark.parametrize("standing", ["landlock", "readonly-mounts"])
def test_policy_path_link_each_wall_alone(brig, lab, guarded, switches,
                                          standing):
    """With one of the two walls switched off, the other alone still stops
    the write through the link (Landlock once followed the link and gave
    the read_only target the link's write rights)."""
    ro, link = os.path.join(guarded, "ro"), os.path.join(guarded, "rw")
    os.symlink("ro", link)
    policy = lab.policy(ro=[ro], rw=[link])
    other = "readonly-mounts" if standing == "landlock" else "landlock"
    r = run(brig, other, f"echo evil > {link}/f", "--policy", policy)
    verdict("", planted(os.path.join(ro, "f")), r)


def _exdev_reason():
    return ("link(2) never crosses mount points (EXDEV) and every policy "
            "path is a bind mount of its own: the kernel refuses the link "
            "with all of brig's walls off")


@attack("landlock", "readonly-mounts", kernel=_exdev_reason())
def test_hard_link_across_read_only(brig, off, lab, guarded):
    """Hard-links a read_only file into a read_write directory of the same
    file system and writes through the link: one inode, two doors."""
    ro, rw = os.path.join(guarded, "ro"), os.path.join(guarded, "rw")
    os.mkdir(rw)
    os.chmod(rw, 0o777)
    policy = lab.policy(ro=[ro], rw=[rw])
    r = run(brig, off, f"ln {ro}/f {rw}/f && echo evil >> {rw}/f",
            "--policy", policy)
    verdict(off, planted(os.path.join(ro, "f")), r)
