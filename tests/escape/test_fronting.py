"""Domain fronting through the proxy: a CONNECT target, an SNI, a URL
and a Host header that name different hosts, so that a request decided
for an allowed host is served for a denied one.

The proof ("host-check") stops the proxy comparing them; the request
then reaches the test's server under the denied name."""

import uuid

import pytest

import netkit
from escape import attack, verdict
from netsupport import EchoHTTPServer


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
