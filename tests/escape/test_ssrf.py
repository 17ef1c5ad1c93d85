"""Server-side request forgery through the proxy: names and spellings
that the policy allows but that lead to loopback, link-local (cloud
metadata), the unspecified address or the host's own address.

Each policy here lists its target, so only the proxy's address rules
stand in the way. Their proof ("ssrf") lets the classifier allow every
address and the parser read every IPv4 spelling as glibc does; the
attack then reaches a listener of this test."""

import threading
import time

import pytest

import netkit
from escape import attack, verdict
from netsupport import EchoHTTPServer

HOST_IP = netkit.host_ipv4()


@pytest.fixture(scope="module")
def anywhere():
    """A listener on every IPv4 address of the host (loopback too)."""
    s = netkit.Listener(addr="0.0.0.0")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def http():
    s = EchoHTTPServer()
    yield s
    s.stop()


def through_connect(brig, off, tmp_path, listed, target, port, listener):
    """CONNECT TARGET:PORT with LISTED:PORT in the policy for python;
    returns (answer, reached, process)."""
    p = netkit.policy(tmp_path, ([(listed, port)], [netkit.PYTHON]))
    answer, r = netkit.proxy_send(
        brig, off, f"CONNECT {target}:{port} HTTP/1.1\nHost: x\n\n",
        "--policy", p)
    # The proxy answers 200 only once it has connected to the target:
    # that alone is the SSRF (the listener's greeting usually follows).
    reached = bool(answer) and (answer["status"] == 200 or
                                listener.token in answer["body"])
    return answer, reached, r


def through_get(brig, off, tmp_path, listed, url, port, http, host=None):
    """An absolute-form GET of URL, with LISTED:PORT in the policy."""
    p = netkit.policy(tmp_path, ([(listed, port)], [netkit.PYTHON]))
    host = host or url.split("/")[2]
    path = "/ssrf-" + str(len(http.requests))
    answer, r = netkit.proxy_send(
        brig, off, f"GET {url}{path} HTTP/1.1\nHost: {host}\n\n",
        "--policy", p)
    reached = bool(answer) and answer["status"] == 200 and \
        any(q["path"] == path for q in http.requests)
    return answer, reached, r


def refused(off, answer, r, status, reason):
    """In the walled run, the proxy said why."""
    if off:
        return
    assert answer, r.stderr
    assert (answer["status"], answer["reason"]) == (status, reason), answer


@attack("ssrf")
def test_localhost_by_name(brig, off, tmp_path, anywhere):
    """CONNECT to an allowed name that resolves to loopback (localhost):
    the host's local services trust loopback callers."""
    answer, reached, r = through_connect(brig, off, tmp_path, "localhost",
                                         "localhost", anywhere.port,
                                         anywhere)
    verdict(off, reached, r)
    refused(off, answer, r, 403, "loopback_refused")


@attack("ssrf")
def test_loopback_absolute_form(brig, off, tmp_path, http):
    """An absolute-form GET to 127.0.0.1 listed in the policy: loopback
    is refused even where a policy names it."""
    answer, reached, r = through_get(brig, off, tmp_path, "127.0.0.1",
                                     f"http://127.0.0.1:{http.port}",
                                     http.port, http)
    verdict(off, reached, r)
    refused(off, answer, r, 403, "loopback_refused")


@attack("ssrf")
def test_ipv4_mapped_ipv6(brig, off, tmp_path, anywhere):
    """CONNECT [::ffff:127.0.0.1]: loopback in IPv6 clothing, which a
    check of IPv4 ranges alone lets through."""
    answer, reached, r = through_connect(brig, off, tmp_path, "127.0.0.1",
                                         "[::ffff:127.0.0.1]", anywhere.port,
                                         anywhere)
    verdict(off, reached, r)
    refused(off, answer, r, 403, "loopback_refused")


def dialing(remote):
    """Whether a socket of this network namespace is dialing or has
    reached REMOTE (as /proc/net/tcp spells it)."""
    try:
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f][1:]
    except OSError:
        return False
    return any(row[2] == remote and row[3] in ("01", "02") for row in rows)


@attack("ssrf")
def test_metadata_address(brig, off, tmp_path):
    """CONNECT 169.254.169.254:80, the cloud metadata service: it hands
    out the machine's cloud credentials to whoever asks."""
    p = netkit.policy(tmp_path, ([("169.254.169.254", 80)],
                                 [netkit.PYTHON]))
    seen = []
    done = threading.Event()

    def watch():
        # Whether or not a metadata service answers on this machine, the
        # proof is the proxy's own connection to it.
        while not done.is_set() and not seen:
            if dialing("FEA9FEA9:0050"):
                seen.append(True)
            time.sleep(0.01)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        answer, r = netkit.proxy_send(
            brig, off, "CONNECT 169.254.169.254:80 HTTP/1.1\nHost: x\n\n",
            "--policy", p, wait=3)
    finally:
        done.set()
        t.join(5)
    assert answer, r.stderr
    verdict(off, bool(seen) or answer["status"] == 200, r)
    refused(off, answer, r, 403, "link_local_refused")


@pytest.mark.skipif(not HOST_IP, reason="the host has no global IPv4")
@attack("ssrf")
def test_host_own_address(brig, off, tmp_path, anywhere):
    """CONNECT to the host's own address: services bound to every
    address of the machine the sandbox runs on."""
    answer, reached, r = through_connect(brig, off, tmp_path, HOST_IP,
                                         HOST_IP, anywhere.port, anywhere)
    verdict(off, reached, r)
    if not off:
        assert answer["status"] == 403, answer
        assert answer["reason"].endswith("_refused"), answer


@attack("ssrf")
def test_unspecified_address(brig, off, tmp_path, anywhere):
    """CONNECT 0.0.0.0, which Linux dials as this host: loopback under
    another name."""
    answer, reached, r = through_connect(brig, off, tmp_path, "0.0.0.0",
                                         "0.0.0.0", anywhere.port, anywhere)
    verdict(off, reached, r)
    refused(off, answer, r, 403, "unspecified_refused")


# Spellings that glibc (inet_aton) reads as 127.0.0.1. The proxy takes
# only the dotted quad: any other spelling is a bad request, so that one
# address has one spelling for the policy and for the Host check.

@attack("ssrf")
def test_decimal_spelling_connect(brig, off, tmp_path, anywhere):
    """CONNECT 2130706433 (127.0.0.1 as one decimal number): a filter on
    the text misses it, the resolver does not."""
    answer, reached, r = through_connect(brig, off, tmp_path, "127.0.0.1",
                                         "2130706433", anywhere.port,
                                         anywhere)
    verdict(off, reached, r)
    refused(off, answer, r, 400, "bad_request")


@attack("ssrf")
def test_octal_spelling_absolute_form(brig, off, tmp_path, http):
    """An absolute-form GET to http://0177.0.0.1 (octal 127): another
    spelling of loopback in the URL."""
    answer, reached, r = through_get(brig, off, tmp_path, "127.0.0.1",
                                     f"http://0177.0.0.1:{http.port}",
                                     http.port, http)
    verdict(off, reached, r)
    refused(off, answer, r, 400, "bad_request")


@attack("ssrf")
def test_hex_spelling_host_header(brig, off, tmp_path, http):
    """A GET whose Host header spells loopback in hex (0x7f.0.0.1): the
    name a server routes by, spelled around the checks."""
    answer, reached, r = through_get(brig, off, tmp_path, "127.0.0.1",
                                     f"http://127.0.0.1:{http.port}",
                                     http.port, http,
                                     host=f"0x7f.0.0.1:{http.port}")
    verdict(off, reached, r)
    refused(off, answer, r, 400, "bad_request")


def test_spellings_never_dialed(brig, tmp_path, anywhere):
    """Octal, hex and short spellings in a CONNECT target are all bad
    requests; none reaches the host's loopback."""
    p = netkit.policy(tmp_path, ([("127.0.0.1", anywhere.port)],
                                 [netkit.PYTHON]))
    before = anywhere.accepted
    for spelling in ("0177.0.0.1", "0x7f000001", "127.1", "0x7f.1",
                     "017700000001"):
        answer, r = netkit.proxy_send(
            brig, "", f"CONNECT {spelling}:{anywhere.port} HTTP/1.1\n"
                      "Host: x\n\n", "--policy", p)
        assert answer and answer["status"] == 400, (spelling, answer)
    assert anywhere.accepted == before
