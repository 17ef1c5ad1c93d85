"""Attacks that try to leave the sandbox without the proxy: direct
connections, datagrams, name lookups and unix sockets aimed at the host.

The sandbox's own network namespace (only lo, no route out) is the wall;
its proof ("netns") runs the sandbox on the host's network, where each
attack reaches a listener of this test process."""

import socket
import uuid

import pytest

import helpers
import netkit
from escape import attack, run, verdict
from netsupport import EchoHTTPServer

HOST_IP = netkit.host_ipv4()
NAMESERVER = netkit.host_nameserver()
NO_HOST_IP = None if HOST_IP else "the host has no global IPv4 address"
NO_V6 = None if netkit.host_has_ipv6_loopback() else \
    "the host has no IPv6 loopback (::1)"
NO_RESOLVER = None if netkit.resolver_answers(NAMESERVER) else \
    f"the host's resolver ({NAMESERVER}) does not answer the host itself"
# Landlock ABI 6 scopes abstract unix sockets to the sandbox's domain: a
# second wall against them, switched off with the first in the proof.
ABSTRACT_WALLS = ("netns", "landlock") if helpers.landlock_abi() >= 6 \
    else ("netns",)


@pytest.fixture(scope="module")
def http():
    s = EchoHTTPServer()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def anywhere():
    """A listener on every IPv4 address of the host."""
    s = netkit.Listener(addr="0.0.0.0")
    yield s
    s.stop()


@pytest.fixture
def udp():
    s = netkit.UDPCatcher()
    yield s
    s.stop()


TCP_READ = r"""python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.settimeout(5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print(s.recv(100).decode().strip())
except OSError as e:
    print("refused:", e)
' {addr} {port}"""


@attack("netns")
def test_noproxy_denied_name(brig, off, http):
    """curl --noproxy '*' to a name the policy never allows (localhost, a
    host service): a direct request would skip every rule."""
    r = run(brig, off, f"curl -sS --max-time 5 --noproxy '*' "
                       f"http://localhost:{http.port}/egress")
    verdict(off, r.returncode == 0 and '"/egress"' in r.stdout, r)


@attack("netns")
def test_noproxy_allowed_name(brig, off, http, tmp_path):
    """curl --noproxy '*' to an allowed name pinned to its address: the
    request would skip identification, inspection and the log."""
    p = netkit.policy(tmp_path, ([("allowed.test", http.port)],
                                 [netkit.CURL]))
    r = run(brig, off,
            f"curl -sS --max-time 5 --noproxy '*' --resolve "
            f"allowed.test:{http.port}:127.0.0.1 "
            f"http://allowed.test:{http.port}/pinned",
            "--policy", p,
            *netkit.connect_to("allowed.test", http.port, http.port))
    verdict(off, r.returncode == 0 and '"/pinned"' in r.stdout, r)


@attack("netns")
def test_raw_connect_loopback(brig, off, anywhere):
    """A raw connect() to a service on the host's loopback: local
    services (databases, agents, debuggers) trust loopback callers."""
    r = run(brig, off, TCP_READ.format(addr="127.0.0.1", port=anywhere.port))
    verdict(off, anywhere.token in r.stdout, r)


@pytest.mark.skipif(not HOST_IP, reason="the host has no global IPv4")
@attack("netns")
def test_raw_connect_host_address(brig, off, anywhere):
    """A raw connect() to the host's own non-loopback address: services
    bound to every address, and the LAN behind it."""
    r = run(brig, off, TCP_READ.format(addr=HOST_IP, port=anywhere.port))
    verdict(off, anywhere.token in r.stdout, r)


@pytest.mark.skipif(not HOST_IP, reason="the host has no global IPv4")
@attack("netns")
def test_udp_to_host_address(brig, off, udp):
    """A UDP datagram to an address outside the sandbox: a channel out
    that no proxy speaks."""
    mark = "brig-udp-" + uuid.uuid4().hex[:10]
    script = (f"python3 -c 'import socket; s = socket.socket(socket.AF_INET, "
              f"socket.SOCK_DGRAM); s.sendto(b\"{mark}\", "
              f"(\"{HOST_IP}\", {udp.port}))'")
    r = run(brig, off, script)
    got = helpers.wait_for(lambda: mark.encode() in udp.got, 2)
    verdict(off, got, r)


DNS_ASK = r"""python3 -c '
import socket, sys
q = bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
try:
    s.sendto(q, (sys.argv[1], int(sys.argv[2])))
    a = s.recv(512)
    print("answer", a[:2].hex(), a[-4:].hex())
except OSError as e:
    print("no answer:", e)
' {addr} {port} {query}"""


@pytest.mark.skipif(not HOST_IP, reason="the host has no global IPv4")
@attack("netns")
def test_dns_to_outside_resolver(brig, off, udp):
    """A DNS query straight to a resolver outside (this test's): names
    carry data out (DNS tunnelling) and answers skip the stub."""
    q = netkit.dns_query("exfil-" + uuid.uuid4().hex[:8] + ".test")
    r = run(brig, off, DNS_ASK.format(addr=HOST_IP, port=udp.port,
                                      query=q.hex()))
    answered = f"answer 4242 {netkit.UDPCatcher.ANSWER.hex()}" in r.stdout
    verdict(off, answered, r)


@attack("netns", kernel=NO_RESOLVER)
def test_dns_to_host_resolver(brig, off):
    """A DNS query to the host's own resolver (/etc/resolv.conf): it
    resolves names the policy refuses and forwards data out."""
    if not NAMESERVER or ":" in NAMESERVER:
        pytest.skip("the host names no IPv4 resolver")
    q = netkit.dns_query("example.com")
    r = run(brig, off, DNS_ASK.format(addr=NAMESERVER, port=53,
                                      query=q.hex()))
    verdict(off, "answer 4242" in r.stdout, r)


@attack("netns", kernel=NO_V6)
def test_ipv6_connect_loopback(brig, off):
    """A raw IPv6 connect() to the host's ::1: a second address family
    a wall written for IPv4 alone would miss."""
    srv = netkit.Listener(socket.AF_INET6, "::1")
    try:
        r = run(brig, off, TCP_READ.format(addr="::1", port=srv.port))
    finally:
        srv.stop()
    verdict(off, srv.token in r.stdout, r)


ABSTRACT_READ = r"""python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(b"\0" + sys.argv[1].encode())
    print(s.recv(100).decode().strip())
except OSError as e:
    print("refused:", e)
' {name}"""


@attack(*ABSTRACT_WALLS)
def test_abstract_unix_socket(brig, off):
    """Connects to an abstract unix socket of the host (X11, D-Bus and
    many agents listen on one): it needs no file to be visible."""
    name = "brig-escape-" + uuid.uuid4().hex[:12]
    srv = netkit.Listener(socket.AF_UNIX, "\0" + name)
    try:
        r = run(brig, off, ABSTRACT_READ.format(name=name))
    finally:
        srv.stop()
    verdict(off, srv.token in r.stdout, r)


def test_unix_socket_path_not_visible(brig, tmp_path):
    """A unix socket in a host directory the policy does not name cannot
    be reached: the directory is not in the sandbox at all."""
    d = tmp_path / "sock"
    d.mkdir()
    d.chmod(0o755)
    path = str(d / "agent.sock")
    srv = netkit.Listener(socket.AF_UNIX, path)
    try:
        r = run(brig, "", "python3 -c 'import socket, sys; "
                          "s = socket.socket(socket.AF_UNIX); "
                          "s.connect(sys.argv[1]); print(s.recv(100))' "
                          + path)
    finally:
        srv.stop()
    assert srv.token not in r.stdout, helpers.describe(r)
    assert srv.accepted == 0
    assert "FileNotFoundError" in r.stderr, helpers.describe(r)

