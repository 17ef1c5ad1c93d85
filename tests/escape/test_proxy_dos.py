"""Attacks that try to wear the proxy out from inside: so many tunnels
that nothing else gets a descriptor, a client that never finishes its
request head, heads too large to hold, and a flood of bad DNS queries.

The proxy keeps a connection budget below its descriptor limit and gives
a head ten seconds; the proof ("proxy-limits") drops both, and the
attack then holds the proxy (or the whole sandbox) hostage."""

import shutil
import subprocess

import pytest

import helpers
import netkit
from escape import attack, env_for, run, verdict
from netsupport import EchoHTTPServer, Lines


FLOOD = r"""
import socket, sys
codes = {}
held = []
for _ in range(int(sys.argv[1])):
    try:
        s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
        s.sendall(b"CONNECT hold.test:9000 HTTP/1.1\r\n\r\n")
        line = s.recv(200).split(b"\r\n")[0].decode() or "closed"
    except OSError as e:
        line = type(e).__name__
    codes[line] = codes.get(line, 0) + 1
    held.append(s)
print(codes, flush=True)
sys.stdin.read()
"""


def exec_alive(brig, name, off):
    """Whether `sandbox exec NAME -- echo alive` works within 10 s."""
    try:
        r = subprocess.run([helpers.BRIG, "sandbox", "exec", name, "--",
                            "echo", "alive"], env=dict(brig.env,
                                                       **(env_for(off) or {})),
                           capture_output=True, text=True, timeout=10,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and r.stdout.strip() == "alive"


@attack("proxy-limits")
def test_tunnel_flood(brig, off, hold_server, tmp_path):
    """Opens more tunnels than the supervisor has descriptors for: with
    none left, no command could start in the sandbox (a hostage)."""
    if not shutil.which("prlimit"):
        pytest.skip("no prlimit on this machine")
    p = netkit.policy(tmp_path, ([("hold.test", 9000)], [netkit.PYTHON]))
    # The supervisor inherits this limit: its budget is (400 - 128) / 2.
    r = subprocess.run(["prlimit", "--nofile=400:400", helpers.BRIG,
                        "sandbox", "create", "--name", "flood", "--detach",
                        "--policy", str(p),
                        *netkit.connect_to("hold.test", 9000, hold_server)],
                       env=dict(brig.env, **(env_for(off) or {})),
                       capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0, r.stderr
    flood = brig.popen("sandbox", "exec", "flood", "--", "python3", "-c",
                       FLOOD, "300", stdin=subprocess.PIPE)
    try:
        counts = Lines(flood).next(60)
        alive = exec_alive(brig, "flood", off)
    finally:
        flood.stdin.close()  # the flood ends and lets its tunnels go
        try:
            flood.wait(10)
        except subprocess.TimeoutExpired:
            flood.kill()
            flood.wait()
    verdict(off, not alive, f"flood: {counts}, exec worked: {alive}")
    if not off:
        assert "503 Service Unavailable" in (counts or ""), counts


SLOW = r"""
import socket, time
s = socket.create_connection(("127.0.0.1", 3128))
s.settimeout(0.5)
s.sendall(b"GET http://slow.test/ HTTP/1.1\r\nX-Slow: ")
start = time.monotonic()
while time.monotonic() - start < 13:
    try:
        got = s.recv(200)
        print("closed:", got.split(b"\r\n")[0].decode() or "EOF")
        break
    except socket.timeout:
        pass
    try:
        s.sendall(b"a")
    except OSError as e:
        print("closed:", type(e).__name__)
        break
else:
    print("still open")
"""


@attack("proxy-limits")
def test_slowloris_head(brig, off):
    """Sends a request head a byte at a time, forever: each such client
    would hold a connection (and a descriptor) of the proxy for good."""
    r = brig("run", "--", "python3", "-c", SLOW, env=env_for(off),
             timeout=60)
    assert r.returncode == 0, helpers.describe(r)
    verdict(off, "still open" in r.stdout, r)
    if not off:
        assert "408" in r.stdout, r.stdout


@pytest.fixture(scope="module")
def http():
    s = EchoHTTPServer()
    yield s
    s.stop()


def test_oversized_head_refused(brig, tmp_path, http):
    """A 64 KiB request head is answered 431 and never forwarded: the
    proxy's head buffer has a fixed size."""
    p = netkit.policy(tmp_path, ([("big.test", 80)], [netkit.CURL]))
    before = len(http.requests)
    r = run(brig, "", "curl -sS -o /dev/null -w '%{http_code}' "
                      "-H \"X-Big: $(head -c 65536 /dev/zero | tr '\\0' a)\" "
                      "http://big.test/", "--policy", p,
            *netkit.connect_to("big.test", 80, http.port))
    assert r.stdout == "431", helpers.describe(r)
    assert len(http.requests) == before


DNS_FLOOD = r"""
import os, random, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rnd = random.Random(7)
for i in range(3000):
    kind = i % 4
    if kind == 0:
        pkt = os.urandom(rnd.randrange(0, 600))
    elif kind == 1:  # a header claiming questions that are not there
        pkt = b"\x12\x34\x01\x00\xff\xff\x00\x00\x00\x00\x00\x00"
    elif kind == 2:  # a compression pointer to itself
        pkt = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c"
    else:  # a name longer than DNS allows
        pkt = bytes.fromhex(sys.argv[1])[:12] + b"\x3f" + b"a" * 63 * 5
    s.sendto(pkt, ("127.0.0.1", 53))
s.settimeout(5)
while True:
    try:
        s.recv(4096)
    except socket.timeout:
        break
s.sendto(bytes.fromhex(sys.argv[1]), ("127.0.0.1", 53))
a = s.recv(512)
print("answer", a[:2].hex(), a[3] & 15, a[-4:].hex())
"""


def test_dns_stub_survives_flood(brig, tmp_path):
    """3,000 random and malformed queries, then a real one: the stub
    still answers it with a synthetic address."""
    p = netkit.policy(tmp_path, ([("ok.test", 443)], [netkit.PYTHON]))
    q = netkit.dns_query("ok.test")
    r = brig("run", "--policy", p, "--", "python3", "-c", DNS_FLOOD,
             q.hex(), timeout=60)
    assert r.returncode == 0, helpers.describe(r)
    words = r.stdout.split()
    assert words[:3] == ["answer", "4242", "0"], r.stdout
    # 198.18.0.0/15, the synthetic range.
    assert words[3][:2] == "c6" and int(words[3][2:4], 16) in (18, 19), \
        r.stdout
