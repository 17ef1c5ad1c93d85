"""The command line itself: help, usage errors, error format, doctor."""

import pytest

VERBS = [
    [],
    ["run"],
    ["sandbox"],
    ["sandbox", "create"],
    ["sandbox", "connect"],
    ["sandbox", "exec"],
    ["sandbox", "list"],
    ["sandbox", "get"],
    ["sandbox", "delete"],
    ["policy"],
    ["policy", "check"],
    ["doctor"],
]


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: " ".join(v) or "brig")
def test_help(cli, verb):
    """Every verb answers --help with usage on stdout and exit 0, so a
    person can find out how to use it without reading the source."""
    r = cli(*verb, "--help")
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower(), r.stdout
    if verb:
        assert verb[-1] in r.stdout


def test_no_arguments_is_usage_error(cli):
    """brig alone is a usage error (exit 2), not a silent success."""
    r = cli()
    assert r.returncode == 2, r.stdout + r.stderr


@pytest.mark.parametrize("args", [
    ["frobnicate"],
    ["sandbox", "frobnicate"],
    ["run"],
    ["run", "--no-such-option", "--", "true"],
    ["sandbox", "exec"],
    ["sandbox", "get"],
    ["policy", "check"],
], ids=lambda a: " ".join(a))
def test_usage_errors_exit_2(cli, args):
    """Usage errors exit 2 with a 'brig: ' message on stderr, so scripts
    can tell a mistake in the call from a failure of the sandbox."""
    r = cli(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("brig: ") or "usage" in r.stderr.lower(), \
        r.stderr


def test_error_names_the_sandbox(cli):
    """An operation on a sandbox that does not exist exits 1 with
    'brig: ...' naming it."""
    r = cli("sandbox", "get", "no-such-sandbox")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("brig: "), r.stderr
    assert "no-such-sandbox" in r.stderr


@pytest.mark.parametrize("verb", [["exec", "no-such-sandbox", "--", "true"],
                                  ["delete", "no-such-sandbox"],
                                  ["connect", "no-such-sandbox"]],
                         ids=lambda v: v[0])
def test_unknown_sandbox_is_error(cli, verb):
    """exec, delete and connect on an unknown sandbox fail with exit 1."""
    r = cli("sandbox", *verb)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("brig: "), r.stderr


def test_doctor(brig):
    """doctor exits 0 on a host that can run sandboxes and reports user
    namespaces, Landlock and seccomp, the features brig depends on."""
    r = brig("doctor")
    assert r.returncode == 0, r.stdout + r.stderr
    text = (r.stdout + r.stderr).lower()
    for word in ("namespace", "landlock", "seccomp"):
        assert word in text, f"doctor does not mention {word}:\n{text}"
