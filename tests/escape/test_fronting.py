"""Domain fronting through the proxy: a CONNECT target, an SNI, a URL
and a Host header that name different hosts, so that a request decided
for an allowed host is served for a denied one.

The proof ("host-check") stops the proxy comparing them; the request
then reaches the test's server under the denied name."""

import json
import shlex
import uuid

import pytest

import helpers
import netkit
import netsupport
from escape import attack, env_for, verdict
from netsupport import EchoHTTPServer, events, is_decision


@pytest.fixture(scope="module")
def servers():
    s = netkit.CredServers()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def http():
    s = EchoHTTPServer()
    yield s
    s.stop()


def inspecting(brig, servers, tmp_path):
    """Options for a sandbox whose tunnels to allowed names are opened
    up (a provider makes the proxy inspect them)."""
    value = netkit.real_value()
    servers.secrets.append(value)
    netkit.provider(brig, "api", "API_KEY", value)
    return servers.opts(servers.policy(tmp_path), "api")


@attack("host-check")
def test_absolute_form_host_disagrees(brig, off, tmp_path, http):
    """GET http://allowed.test/ with Host: denied.test: a shared front
    server routes by Host, so the denied site answers."""
    p = netkit.policy(tmp_path, ([("allowed.test", 80)], [netkit.PYTHON]))
    path = "/front-" + uuid.uuid4().hex[:8]
    answer, r = netkit.proxy_send(
        brig, off, f"GET http://allowed.test{path} HTTP/1.1\n"
                   "Host: denied.test\n\n",
        "--policy", p, *netkit.connect_to("allowed.test", 80, http.port))
    got = netkit.seen_by(http, path)
    verdict(off, bool(got) and got[0]["host"] == "denied.test", r)
    if not off:
        assert (answer["status"], answer["reason"]) == \
            (403, "host_mismatch"), answer


@attack("host-check")
def test_connect_allowed_inner_host_denied(brig, off, tmp_path, servers):
    """CONNECT allowed.test:443, then Host: denied.test inside the TLS
    session: the classic fronting request."""
    opts = inspecting(brig, servers, tmp_path)
    path = "/front-" + uuid.uuid4().hex[:8]
    answer, r = netkit.tls_request(brig, off, opts, connect="allowed.test:443",
                                   sni="allowed.test", host="denied.test",
                                   path=path)
    got = netkit.seen_by(servers.tls, path)
    verdict(off, bool(got) and got[0]["host"] == "denied.test", r)
    if not off:
        assert answer["status"] == 403 and "host_mismatch" in \
            answer["text"], answer


@attack("host-check")
def test_sni_denied_in_allowed_tunnel(brig, off, tmp_path, servers):
    """A TLS session naming denied.test (SNI) inside a tunnel to
    allowed.test: the name a TLS front end routes by."""
    opts = inspecting(brig, servers, tmp_path)
    path = "/sni-" + uuid.uuid4().hex[:8]
    answer, r = netkit.tls_request(brig, off, opts, connect="allowed.test:443",
                                   sni="denied.test", host="allowed.test",
                                   path=path)
    verdict(off, bool(netkit.seen_by(servers.tls, path)), r)
    if not off:
        assert answer["status"] == 0, answer  # the handshake was refused


# --- Tunnels passed through uninspected -------------------------------------

# A TLS session through a CONNECT tunnel, driven on memory BIOs so that
# the ClientHello can also ride with the CONNECT head (early data). argv[1]
# is a JSON spec: connect, sni, host, path, early. The client trusts
# nothing (CERT_NONE): the server here is the test's, not the proxy's.
# Prints JSON: status (0 when the handshake failed), text.
TLS_BIO = r"""
import json, socket, ssl, sys
spec = json.loads(sys.argv[1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname=spec["sni"])
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
head = f"CONNECT {spec['connect']} HTTP/1.1\r\n\r\n".encode()
def step(fn):
    while True:
        try:
            r = fn()
            s.sendall(out.read())
            return r
        except ssl.SSLWantReadError:
            s.sendall(out.read())
            data = s.recv(65536)
            if not data:
                raise ConnectionError("closed")
            inc.write(data)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
s.sendall(head + hello if spec["early"] else head)
got = b""
while b"\r\n\r\n" not in got:
    c = s.recv(1)
    if not c:
        break
    got += c
if not got.startswith(b"HTTP/1.1 200"):
    print(json.dumps({"status": -1, "text": got.decode("latin-1")}))
    sys.exit(0)
if not spec["early"]:
    s.sendall(hello)
try:
    step(tls.do_handshake)
    req = f"GET {spec['path']} HTTP/1.1\r\nHost: {spec['host']}\r\n"
    step(lambda: tls.write((req + "Connection: close\r\n\r\n").encode()))
    text = b""
    while True:
        try:
            text += step(lambda: tls.read(65536))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
except (OSError, ssl.SSLError) as e:
    print(json.dumps({"status": 0, "text": repr(e)}))
    sys.exit(0)
text = text.decode("latin-1")
status = int(text.split()[1]) if text.startswith("HTTP/") else 0
print(json.dumps({"status": status, "text": text}))
"""


@pytest.fixture(scope="module")
def tls_echo():
    """An HTTPS echo server on loopback for allowed.test and evil.test, as
    one CDN front serves many names."""
    ca = netsupport.TestCA(["allowed.test", "evil.test"])
    s = netsupport.https_server(ca)
    yield s
    s.stop()
    ca.cleanup()


def passthrough_box(brig, off, tmp_path, server, name):
    """A named sandbox without credentials (so tunnels are passed through
    uninspected) where curl and python may reach allowed.test:443 only."""
    p = netkit.policy(tmp_path, ([("allowed.test", 443)],
                                 [netkit.CURL, netkit.PYTHON]))
    r = brig("sandbox", "create", "--name", name, "--detach", "--policy", p,
             *netkit.connect_to("allowed.test", 443, server.port),
             env=env_for(off))
    assert r.returncode == 0, r.stderr
    return name


def refusals(brig, name):
    return [(e["action"], e.get("reason")) for e in events(brig, name)
            if is_decision(e) and e.get("host") == "allowed.test"]


def fronted(brig, off, server, name, script, path):
    """Runs script in NAME; the verdict is whether the server answered
    PATH for evil.test; walled, the one decision is sni_mismatch."""
    r = brig("sandbox", "exec", name, "--", "sh", "-c", script)
    got = netkit.seen_by(server, path)
    verdict(off, bool(got) and got[0]["host"] == "evil.test", r)
    if not off:
        assert helpers.wait_for(lambda: refusals(brig, name), 5) == \
            [("deny", "sni_mismatch")], refusals(brig, name)


@attack("host-check")
def test_passthrough_sni_fronted(brig, off, tmp_path, tls_echo):
    """curl --connect-to evil.test:443:allowed.test:443: the CONNECT names
    allowed.test, the SNI evil.test; a front serving both routes by SNI."""
    name = passthrough_box(brig, off, tmp_path, tls_echo, "front")
    path = "/front-" + uuid.uuid4().hex[:8]
    fronted(brig, off, tls_echo, name,
            "curl -sSk --max-time 10 --connect-to "
            f"evil.test:443:allowed.test:443 https://evil.test{path}", path)


@attack("host-check")
def test_passthrough_sni_fronted_early(brig, off, tmp_path, tls_echo):
    """The fronting ClientHello sent in the same write as the CONNECT
    head, before the proxy answers: it arrives as early data."""
    name = passthrough_box(brig, off, tmp_path, tls_echo, "early")
    path = "/early-" + uuid.uuid4().hex[:8]
    spec = {"connect": "allowed.test:443", "sni": "evil.test",
            "host": "evil.test", "path": path, "early": True}
    script = "python3 -c {} {}".format(shlex.quote(TLS_BIO),
                                       shlex.quote(json.dumps(spec)))
    fronted(brig, off, tls_echo, name, script, path)


@attack("host-check")
def test_captured_sni_fronted(brig, off, tmp_path, tls_echo):
    """The same without the proxy variables (--noproxy '*'): curl dials
    allowed.test's address itself, the capture takes the connection, and
    the SNI still says evil.test."""
    name = passthrough_box(brig, off, tmp_path, tls_echo, "capture")
    path = "/capture-" + uuid.uuid4().hex[:8]
    fronted(brig, off, tls_echo, name,
            "curl -sSk --max-time 10 --noproxy '*' --connect-to "
            f"evil.test:443:allowed.test:443 https://evil.test{path}", path)
