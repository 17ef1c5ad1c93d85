"""brig provider: credentials stored for sandboxes to use without seeing
them. Every command here runs the real binary against a fresh store, and
no command's output may hold a value it was given."""

import json
import os
import sqlite3
import stat

import pytest

import helpers

TYPES = {
    "generic": ([], []),
    "anthropic": (["ANTHROPIC_API_KEY"], ["api.anthropic.com:443"]),
    "openai": (["OPENAI_API_KEY"], ["api.openai.com:443"]),
    "opencode": (["OPENCODE_API_KEY"], ["opencode.ai:443"]),
    "github": (["GITHUB_TOKEN", "GH_TOKEN"],
               ["api.github.com:443", "github.com:443"]),
    "gitlab": (["GITLAB_TOKEN"], ["gitlab.com:443"]),
    "nvidia": (["NVIDIA_API_KEY"], ["integrate.api.nvidia.com:443"]),
}
ALIASES = {"claude": "anthropic", "codex": "openai"}
DEFAULT_KEYS = sorted({k for keys, _ in TYPES.values() for k in keys})


class Watched:
    """brig, with every command's output checked for the secrets the
    test registered: a value must never be printed, on stdout or
    stderr, whatever the command and whether it succeeds."""

    def __init__(self, brig):
        self.brig = brig
        self.secrets = []
        for k in DEFAULT_KEYS:
            brig.env.pop(k, None)

    def secret(self, prefix="sk-e2e-"):
        """A value unique to this call, so finding it is a real leak."""
        s = helpers.unique(prefix) + "-" + helpers.unique("v")
        self.secrets.append(s)
        return s

    def __call__(self, *args, **kw):
        r = self.brig(*args, **kw)
        for s in self.secrets:
            assert s not in r.stdout, "value on stdout" + helpers.describe(r)
            assert s not in r.stderr, "value on stderr" + helpers.describe(r)
        return r

    def db(self):
        return os.path.join(self.brig.state, "brig.db")


@pytest.fixture
def pv(cli):
    return Watched(cli)


def get_json(pv, name):
    return json.loads(helpers.ok(pv("provider", "get", name, "-o", "json")))


def list_json(pv):
    return json.loads(helpers.ok(pv("provider", "list", "-o", "json")))


def stored_value(pv, name, key):
    """The value as the store holds it, read past brig, to show that the
    tests' "never printed" checks are about a value that is there."""
    with sqlite3.connect(pv.db()) as db:
        row = db.execute(
            "SELECT c.value FROM provider_credentials c"
            " JOIN providers p ON p.id = c.provider_id"
            " WHERE p.name = ? AND c.key = ?", (name, key)).fetchone()
    return bytes(row[0]).decode() if row else None


@pytest.mark.parametrize("verb", [[], ["create"], ["update"], ["list"],
                                  ["get"], ["delete"], ["types"]],
                         ids=lambda v: " ".join(v) or "provider")
def test_help(pv, verb):
    """Every provider verb answers --help on stdout with exit 0."""
    r = pv("provider", *verb, "--help")
    assert r.returncode == 0, helpers.describe(r)
    assert "usage" in r.stdout.lower()
    assert (verb or ["provider"])[-1] in r.stdout


def test_brig_help_lists_provider(pv):
    out = helpers.ok(pv("--help"))
    assert "provider" in out


def test_walkthrough_create_with_argv_value(pv):
    """The issue's walkthrough: a generic provider with the value on
    argv. It is stored, never printed, and brig warns both that argv is
    visible and that an unbound credential goes to any allowed
    endpoint."""
    value = pv.secret()
    r = pv("provider", "create", "--name", "voice-api", "--type",
           "generic", "--credential", f"VOICE_API_KEY={value}")
    helpers.ok(r)
    assert "VOICE_API_KEY" in r.stdout
    assert "/proc" in r.stderr and "--credential VOICE_API_KEY" in r.stderr
    assert "any endpoint" in r.stderr
    assert stored_value(pv, "voice-api", "VOICE_API_KEY") == value
    p = get_json(pv, "voice-api")
    assert p["type"] == "generic"
    assert p["keys"] == ["VOICE_API_KEY"]
    assert p["hosts"] == []


def test_bare_key_reads_the_environment(pv):
    """--credential KEY takes the value from brig's environment, with no
    warning about argv."""
    value = pv.secret()
    r = pv("provider", "create", "--name", "envkey", "--type", "generic",
           "--credential", "MY_API_KEY", "--host", "api.example.com",
           env={"MY_API_KEY": value})
    helpers.ok(r)
    assert "/proc" not in r.stderr
    assert "any endpoint" not in r.stderr, "bound: no unbound warning"
    assert stored_value(pv, "envkey", "MY_API_KEY") == value
    assert get_json(pv, "envkey")["hosts"] == ["api.example.com"]


def test_unset_variable_is_an_error(pv):
    """A bare KEY that brig's environment lacks is an error naming the
    key; nothing is created."""
    r = helpers.fails(pv("provider", "create", "--name", "nokey", "--type",
                         "generic", "--credential", "NOT_SET_ANYWHERE_X"))
    assert r.returncode == 1
    assert r.stderr.startswith("brig: ")
    assert "NOT_SET_ANYWHERE_X" in r.stderr and "not set" in r.stderr
    assert list_json(pv) == []


def test_empty_value_is_an_error(pv):
    r = helpers.fails(pv("provider", "create", "--name", "empty", "--type",
                         "generic", "--credential", "EMPTY_ONE",
                         env={"EMPTY_ONE": ""}))
    assert "the value of EMPTY_ONE" in r.stderr
    assert list_json(pv) == []


@pytest.mark.parametrize("args", [
    ["--type", "generic", "--credential", "K"],
    ["--name", "a", "--credential", "K"],
    ["--name", "a", "--type", "nope", "--credential", "K"],
    ["--name", "Bad_Name", "--type", "generic", "--credential", "K"],
    ["--name", "a", "--type", "generic"],
    ["--name", "a", "--type", "generic", "--credential", "K",
     "--host", "bad host"],
    ["--name", "a", "--type", "generic", "--credential", "K",
     "--host", "h.example.com:99999"],
    ["--name", "a", "--type", "generic", "--credential", "K",
     "--credential", "K"],
    ["--name", "a", "--type", "generic", "--from-existing"],
], ids=["no-name", "no-type", "unknown-type", "bad-name", "no-credential",
        "bad-host", "bad-port", "key-twice", "generic-from-existing"])
def test_create_usage_errors(pv, args):
    r = pv("provider", "create", *args, env={"K": pv.secret()})
    assert r.returncode == 2, helpers.describe(r)
    assert r.stderr.startswith("brig: ")
    assert list_json(pv) == []


def test_errors_never_quote_a_value(pv):
    """A mistake on a command line that holds a value must not echo the
    value back: not for a bad key, not for a mistyped option."""
    value = pv.secret()
    for args in (["--credential", f"1BAD={value}"],
                 [f"--credentail=GOOD={value}"],
                 ["--credential", f"GOOD={value}", "--credential",
                  f"GOOD={value}"]):
        r = pv("provider", "create", "--name", "a", "--type", "generic",
               *args)
        assert r.returncode == 2, helpers.describe(r)
    assert list_json(pv) == []


def test_token_given_as_a_name_is_not_quoted(pv):
    """A token pasted where a key name belongs (--credential "$TOKEN")
    is not echoed in the error, whether or not it is a valid variable
    name."""
    valid_name = "ghp_" + helpers.unique("Tok")
    pv.secrets.append(valid_name)
    for token in (valid_name, pv.secret("sk-proj-")):
        r = pv("provider", "create", "--name", "a", "--type", "github",
               "--credential", token)
        assert r.returncode in (1, 2), helpers.describe(r)
        assert "not shown" in r.stderr
    assert list_json(pv) == []


def test_duplicate_name_fails(pv):
    args = ["provider", "create", "--name", "dup", "--type", "generic",
            "--credential", "K", "--host", "h.example.com"]
    helpers.ok(pv(*args, env={"K": pv.secret()}))
    r = helpers.fails(pv(*args, env={"K": pv.secret()}))
    assert r.returncode == 1 and "'dup'" in r.stderr


def test_known_type_binds_its_hosts(pv):
    """A known type (here by its alias) binds its keys to its hosts."""
    value = pv.secret()
    helpers.ok(pv("provider", "create", "--name", "cl", "--type", "claude",
                  "--credential", "ANTHROPIC_API_KEY",
                  env={"ANTHROPIC_API_KEY": value}))
    p = get_json(pv, "cl")
    assert p["type"] == "anthropic"
    assert p["hosts"] == ["api.anthropic.com:443"]


def test_host_overrides_known_type(pv):
    helpers.ok(pv("provider", "create", "--name", "oa", "--type", "codex",
                  "--credential", "OPENAI_API_KEY", "--host",
                  "LLM.Example.com:8443", "--host", "[::1]:9000",
                  env={"OPENAI_API_KEY": pv.secret()}))
    assert get_json(pv, "oa")["hosts"] == ["[::1]:9000",
                                           "llm.example.com:8443"]


def test_from_existing_takes_the_types_keys(pv):
    """--from-existing takes every default key of the type that is set;
    github's GH_TOKEN alone is enough."""
    value = pv.secret()
    r = pv("provider", "create", "--name", "gh", "--type", "github",
           "--from-existing", env={"GH_TOKEN": value})
    helpers.ok(r)
    p = get_json(pv, "gh")
    assert p["keys"] == ["GH_TOKEN"]
    assert p["hosts"] == ["api.github.com:443", "github.com:443"]
    assert stored_value(pv, "gh", "GH_TOKEN") == value
    r = pv("provider", "create", "--name", "gl", "--type", "gitlab",
           "--from-existing")
    assert r.returncode == 1 and "GITLAB_TOKEN" in r.stderr


def test_list_and_get_show_no_value(pv):
    """list and get, as tables and as JSON, name keys and hosts and never
    a value."""
    values = {}
    for name, t in (("one", "openai"), ("two", "nvidia")):
        key = TYPES[t][0][0]
        values[name] = pv.secret()
        helpers.ok(pv("provider", "create", "--name", name, "--type", t,
                      "--credential", key, env={key: values[name]}))
    v = list_json(pv)
    assert [p["name"] for p in v] == ["one", "two"]
    assert v[1] == {**v[1], "type": "nvidia", "keys": ["NVIDIA_API_KEY"],
                    "hosts": ["integrate.api.nvidia.com:443"]}
    assert all(p["created_at"] > 0 for p in v)
    table = helpers.ok(pv("provider", "list"))
    assert "one" in table and "OPENAI_API_KEY" in table
    text = helpers.ok(pv("provider", "get", "two"))
    assert "NVIDIA_API_KEY" in text and "nvidia" in text
    for out in (json.dumps(v), table, text):
        assert not any(s in out for s in values.values())


def test_get_missing_fails(pv):
    r = helpers.fails(pv("provider", "get", "nope"))
    assert r.returncode == 1 and "'nope'" in r.stderr


def test_update_replaces_and_adds(pv):
    """update replaces a value, adds a key and a host, keeps the rest."""
    old, new, extra = pv.secret(), pv.secret(), pv.secret()
    helpers.ok(pv("provider", "create", "--name", "up", "--type",
                  "generic", "--credential", "A_KEY", "--host",
                  "a.example.com", env={"A_KEY": old}))
    r = pv("provider", "update", "up", "--credential", "A_KEY",
           "--credential", f"B_KEY={extra}", "--host", "b.example.com:443",
           env={"A_KEY": new})
    helpers.ok(r)
    assert "/proc" in r.stderr, "B_KEY's value was on argv"
    p = get_json(pv, "up")
    assert p["keys"] == ["A_KEY", "B_KEY"]
    assert p["hosts"] == ["a.example.com", "b.example.com:443"]
    assert p["updated_at"] >= p["created_at"]
    assert stored_value(pv, "up", "A_KEY") == new
    assert stored_value(pv, "up", "B_KEY") == extra
    with open(pv.db(), "rb") as f:
        assert old.encode() not in f.read(), "replaced value left on disk"


def test_update_errors(pv):
    helpers.ok(pv("provider", "create", "--name", "u", "--type", "generic",
                  "--credential", "K", "--host", "h.example.com",
                  env={"K": pv.secret()}))
    assert pv("provider", "update", "u").returncode == 2
    assert pv("provider", "update").returncode == 2
    r = pv("provider", "update", "nope", "--credential", "K",
           env={"K": pv.secret()})
    assert r.returncode == 1 and "'nope'" in r.stderr
    r = pv("provider", "update", "u", "--credential", "UNSET_KEY_Y")
    assert r.returncode == 1 and "UNSET_KEY_Y" in r.stderr


def test_delete(pv):
    value = pv.secret()
    helpers.ok(pv("provider", "create", "--name", "gone", "--type",
                  "generic", "--credential", "K", "--host", "h.example.com",
                  env={"K": value}))
    helpers.ok(pv("provider", "delete", "gone"))
    assert list_json(pv) == []
    assert pv("provider", "get", "gone").returncode == 1
    r = helpers.fails(pv("provider", "delete", "gone"))
    assert r.returncode == 1 and "'gone'" in r.stderr
    assert pv("provider", "delete").returncode == 2
    for suffix in ("", "-wal"):
        path = pv.db() + suffix
        if os.path.exists(path):
            with open(path, "rb") as f:
                assert value.encode() not in f.read(), path


def test_types(pv):
    """brig provider types lists each type, its alias, keys and hosts."""
    out = helpers.ok(pv("provider", "types"))
    for t, (keys, hosts) in TYPES.items():
        assert t in out
        for x in keys + hosts:
            assert x in out
    for alias in ALIASES:
        assert alias in out
    v = json.loads(helpers.ok(pv("provider", "types", "-o", "json")))
    got = {t["name"]: (t["keys"], t["hosts"]) for t in v}
    assert got == TYPES
    assert {t["alias"]: t["name"] for t in v if t["alias"]} == ALIASES


def test_store_file_modes(pv):
    """The store holding values is 0600 in a 0700 directory, and so are
    its WAL and shared-memory files whenever they exist."""
    helpers.ok(pv("provider", "create", "--name", "m", "--type", "generic",
                  "--credential", "K", "--host", "h.example.com",
                  env={"K": pv.secret()}))
    assert stat.S_IMODE(os.stat(pv.brig.state).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(pv.db()).st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        if os.path.exists(pv.db() + suffix):
            assert stat.S_IMODE(os.stat(pv.db() + suffix).st_mode) == 0o600


def test_unknown_subcommand(pv):
    assert pv("provider").returncode == 2
    assert pv("provider", "frobnicate").returncode == 2
