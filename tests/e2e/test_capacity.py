"""The proxy's own limits: past its descriptor budget it answers 503 and
stays usable, rather than running out and failing everything."""

import shutil
import subprocess

import pytest

import helpers
from helpers import ok

HOLD_POLICY = """version: 1
network_policies:
  hold:
    name: hold
    endpoints:
      - {{ host: hold.test, port: 9000 }}
    binaries:
      - {{ path: {python} }}
"""

CLIENT = """
import socket
codes = {}
held = []
for _ in range(TUNNELS):
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(b"CONNECT hold.test:9000 HTTP/1.1\\r\\n\\r\\n")
    line = s.recv(200).split(b"\\r\\n")[0].decode()
    codes[line] = codes.get(line, 0) + 1
    held.append(s)
for line, n in sorted(codes.items()):
    print(n, line)
"""


def test_past_the_budget_503_and_exec_still_works(brig, hold_server,
                                                   tmp_path):
    """With a small descriptor limit, tunnels past the proxy's budget get
    503 (not a policy denial), and the sandbox still runs commands."""
    if not shutil.which("prlimit"):
        pytest.skip("no prlimit on this machine")
    python = ok(brig.run_sh("readlink -f /usr/bin/python3")).strip()
    policy = tmp_path / "hold.yaml"
    policy.write_text(HOLD_POLICY.format(python=python))
    name = "cap"
    # The supervisor inherits this limit: its budget is (400 - 128) / 2.
    r = subprocess.run(["prlimit", "--nofile=400:400", helpers.BRIG,
                        "sandbox", "create", "--name", name, "--detach",
                        "--policy", str(policy), "--connect-to",
                        f"hold.test:9000:127.0.0.1:{hold_server}"],
                       env=brig.env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0, r.stderr
    out = ok(brig("sandbox", "exec", name, "--", "python3", "-c",
                  CLIENT.replace("TUNNELS", "200"), timeout=120))
    counts = {line.split(" ", 1)[1]: int(line.split(" ", 1)[0])
              for line in out.strip().splitlines()}
    assert counts.get("HTTP/1.1 200 Connection established") == 136, counts
    assert counts.get("HTTP/1.1 503 Service Unavailable") == 64, counts
    # Nothing of that was a policy decision against the caller.
    assert "403" not in out
    assert ok(brig("sandbox", "exec", name, "--", "echo", "alive")) \
        .strip() == "alive"

