"""Policy files: every OpenShell file loads; every bad one is refused
with its file, line and column; a refused policy creates nothing."""

import re
import textwrap

import pytest

import helpers

GOOD_FILES = sorted(list(helpers.SHARED.glob("compat/*.yaml"))
                    + list(helpers.SHARED.glob("examples/*.yaml")))

# A policy using every part of the schema the issue names, in forms that
# are all valid: globbed hosts, port lists, private allowed_ips, access
# without rules and rules without access, audit, tls skip, binary globs.
FULL_POLICY = """\
version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /lib, /proc, /dev/urandom, /app, /etc, /var/log]
  read_write: [/sandbox, /tmp, /dev/null]
landlock:
  compatibility: hard_requirement
process:
  run_as_user: "1001"
  run_as_group: sandbox
network_policies:
  everything:
    name: everything
    endpoints:
      - host: "*.example.com"
        ports: [80, 443]
        access: read-only
      - host: "**.example.org"
        port: 8443
        protocol: rest
        tls: skip
        enforcement: audit
        rules:
          - allow:
              method: GET
              path: "/v1/**"
      - host: db.internal.example
        port: 5432
        allowed_ips: [10.0.0.0/8, 192.168.1.0/24]
    binaries:
      - path: /usr/bin/curl
      - path: "/sandbox/.venv/bin/*"
      - path: "/usr/lib/node_modules/**"
"""


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda p: p.name)
def test_shared_policies_load(cli, path):
    """Every OpenShell policy in shared/compat and shared/examples loads
    unchanged: exit 0 and a one-line summary."""
    r = cli("policy", "check", path)
    assert r.returncode == 0, helpers.describe(r)
    assert len(r.stdout.strip().splitlines()) == 1, r.stdout


def test_shared_policies_present():
    """The compat and examples folders are there, so the test above
    cannot pass by finding no file."""
    if not helpers.SHARED.is_dir():
        pytest.skip(f"no shared folder at {helpers.SHARED} "
                    "(set BRIG_SHARED_DIR)")
    assert GOOD_FILES, f"no policy files under {helpers.SHARED}"


def test_full_schema_loads(cli, tmp_path):
    """Valid uses of every schema feature load, so the refusals below
    are refusals of the bad part and not of the whole format."""
    f = tmp_path / "full.yaml"
    f.write_text(FULL_POLICY)
    r = cli("policy", "check", f)
    assert r.returncode == 0, helpers.describe(r)
    assert len(r.stdout.strip().splitlines()) == 1, r.stdout


# Each bad policy marks with '#<' the line (or the lines) where the
# error may be reported. The column must fall on a token of that line.
NET = """\
version: 1
network_policies:
  example:
    name: example
    endpoints:
      - host: api.example.com
{extra}    binaries:
      - path: /usr/bin/curl
"""


def net(extra, port="        port: 443\n"):
    return NET.format(extra=port + textwrap.indent(
        textwrap.dedent(extra), "        ") if extra else port)


BAD = {
    "unknown-key": """\
version: 1
filesystem_policy:
  include_workdir: true
  read_wirte:  #<
    - /sandbox
""",
    "unknown-key-in-endpoint": net("prot: 443  #<\n"),
    "wrong-type-mapping": """\
version: 1
landlock:  #<
  - best_effort  #<
""",
    "wrong-type-bool": """\
version: 1
filesystem_policy:
  include_workdir: maybe  #<
""",
    "wrong-type-list": """\
version: 1
filesystem_policy:
  read_only:  #<
    nested: /usr  #<
""",
    "wrong-type-port": NET.format(extra="        port: https  #<\n"),
    "version-2": "version: 2  #<\n",
    "version-0": "version: 0  #<\n",
    "relative-read-only": """\
version: 1
filesystem_policy:
  read_only:
    - usr/lib  #<
""",
    "relative-read-write": """\
version: 1
filesystem_policy:
  read_write:
    - ./work  #<
""",
    "dotdot": """\
version: 1
filesystem_policy:
  read_only:
    - /usr/../etc  #<
""",
    "read-write-root": """\
version: 1
filesystem_policy:
  read_write:
    - /  #<
""",
    "run-as-user-root": """\
version: 1
process:
  run_as_user: root  #<
""",
    "run-as-user-0": """\
version: 1
process:
  run_as_user: "0"  #<
""",
    "run-as-group-root": """\
version: 1
process:
  run_as_group: root  #<
""",
    "run-as-group-0": """\
version: 1
process:
  run_as_group: 0  #<
""",
    "landlock-compatibility": """\
version: 1
landlock:
  compatibility: strict  #<
""",
    "bare-star-host": NET.replace("host: api.example.com",
                                  'host: "*"  #<').format(
        extra="        port: 443\n"),
    "port-0": NET.format(extra="        port: 0  #<\n"),
    "port-65536": NET.format(extra="        port: 65536  #<\n"),
    "port-negative": NET.format(extra="        port: -1  #<\n"),
    "ports-list-out-of-range": NET.format(extra="""\
        ports:
          - 443
          - 70000  #<
"""),
    # Either key, or the endpoint that holds both, is the place.
    "access-with-rules": NET.replace("host: api.example.com",
                                     "host: api.example.com  #<").format(
        extra="""\
        port: 443
        access: read-only  #<
        rules:  #<
          - allow:
              method: GET
              path: /
"""),
    "allowed-ips-loopback": net("""\
allowed_ips:
  - 127.0.0.1  #<
"""),
    "allowed-ips-loopback-net": net("""\
allowed_ips:
  - 10.0.0.0/8
  - 127.0.0.0/8  #<
"""),
    "allowed-ips-covers-loopback": net("""\
allowed_ips:
  - 0.0.0.0/0  #<
"""),
    "allowed-ips-link-local": net("""\
allowed_ips:
  - 169.254.169.254  #<
"""),
    "allowed-ips-unspecified": net("""\
allowed_ips:
  - 0.0.0.0  #<
"""),
    "allowed-ips-ipv6-loopback": net("""\
allowed_ips:
  - "::1"  #<
"""),
}

# For malformed YAML the parser decides where it noticed; the line must
# be one of the marked ones.
MALFORMED = {
    "unclosed-flow-sequence": """\
version: 1
filesystem_policy:
  read_only: [/usr, /lib  #<
  read_write: [/tmp]  #<
#<
""",
    "mapping-in-scalar": """\
version: 1
filesystem_policy:
  include_workdir: true: false  #<
""",
    "tab-indent": "version: 1\nfilesystem_policy:\n\tread_only: []  #<\n",
}


def marked_lines(text):
    return {i for i, line in enumerate(text.splitlines(), 1)
            if line.rstrip().endswith("#<")}


def check_location(stderr, text, exact_token=True):
    """Finds 'bad.yaml:LINE:COL: message' and checks its place."""
    m = re.search(r"^(?:brig: )?bad\.yaml:(\d+):(\d+): (\S.*)$", stderr,
                  re.MULTILINE)
    assert m, f"no 'bad.yaml:line:col: message' in stderr:\n{stderr}"
    line, col = int(m.group(1)), int(m.group(2))
    assert line in marked_lines(text), \
        f"error at line {line}, expected {sorted(marked_lines(text))}:\n" \
        f"{stderr}\n{text}"
    lines = text.splitlines()
    if exact_token and line <= len(lines):
        src = lines[line - 1]
        assert 1 <= col <= len(src), f"column {col} outside line {src!r}"
        before = src[col - 2] if col > 1 else " "
        assert src[col - 1] not in " \t" and before in " \t-[{,:", \
            f"column {col} is not the start of a token in {src!r}"
    return line, col, m.group(3)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_policy_refused_with_location(cli, tmp_path, case):
    """policy check refuses each kind of bad policy the issue lists with
    exit 1 and 'file:line:col: message', so a person can fix it."""
    text = BAD[case]
    (tmp_path / "bad.yaml").write_text(text)
    r = cli("policy", "check", "bad.yaml", cwd=tmp_path)
    assert r.returncode == 1, helpers.describe(r) + "\n" + text
    check_location(r.stderr, text)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_yaml_refused_with_location(cli, tmp_path, case):
    """Malformed YAML is refused with the line where it went wrong."""
    text = MALFORMED[case]
    (tmp_path / "bad.yaml").write_text(text)
    r = cli("policy", "check", "bad.yaml", cwd=tmp_path)
    assert r.returncode == 1, helpers.describe(r)
    check_location(r.stderr, text, exact_token=False)


def test_unknown_key_message(cli, tmp_path):
    """The message for a misspelt key is exactly the documented one."""
    (tmp_path / "bad.yaml").write_text(BAD["unknown-key"])
    r = cli("policy", "check", "bad.yaml", cwd=tmp_path)
    assert "bad.yaml:4:3: unknown key 'read_wirte'" in r.stderr, r.stderr


def test_missing_policy_file(cli, tmp_path):
    """A policy file that does not exist is an error naming it."""
    r = cli("policy", "check", tmp_path / "nope.yaml")
    assert r.returncode == 1, helpers.describe(r)
    assert "nope.yaml" in r.stderr


@pytest.mark.parametrize("case", ["unknown-key", "read-write-root",
                                  "unclosed-flow-sequence"])
def test_bad_policy_creates_nothing(brig, tmp_path, case):
    """sandbox create and run with a bad policy fail before anything
    exists: no sandbox listed, no sandbox directory, command not run."""
    text = BAD.get(case) or MALFORMED[case]
    (tmp_path / "bad.yaml").write_text(text)
    cmd = ["--", "true"]

    r = brig("sandbox", "create", "--detach", "--name", "nope",
             "--policy", "bad.yaml", cwd=tmp_path)
    assert r.returncode == 1, helpers.describe(r)
    check_location(r.stderr, text, exact_token=False)
    r = brig("sandbox", "create", "--name", "nope2", "--policy", "bad.yaml",
             *cmd, cwd=tmp_path)
    assert r.returncode == 1, helpers.describe(r)
    r = brig("run", "--policy", "bad.yaml", *cmd, cwd=tmp_path)
    assert r.returncode == 1, helpers.describe(r)

    assert brig.list() == []
    sandboxes = helpers.Path(brig.state) / "sandboxes"
    left = list(sandboxes.iterdir()) if sandboxes.exists() else []
    assert left == [], f"left behind: {left}"
