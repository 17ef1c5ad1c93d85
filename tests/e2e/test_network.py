"""The network wall (issue 3): default-deny egress through the
supervisor's proxy, decisions per binary, SSRF refusals, transparent
capture, live policy revisions and one event per decision.

Every upstream is a server of this test process on 127.0.0.1, reached
through the operator's --connect-to mappings; the names in the policies
(api.github.com, httpbin.org, *.example.test, ...) never leave the
machine. Inside, curl trusts a CA made at test time (--cacert)."""

import errno
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import textwrap
import time

import pytest

import helpers
import netsupport
from helpers import ok
from netsupport import Log

CA_IN = "/sandbox/ca.pem"
CURL = "/usr/bin/curl"
PYTHON = os.path.realpath("/usr/bin/python3")  # /usr/bin/python3.11
NODE = "/usr/bin/node"

# Names the HTTPS server answers for (its certificate's subjectAltName).
TLS_NAMES = ["api.github.com", "httpbin.org", "a.example.test",
             "b.a.example.test", "example.test", "x.deep.test",
             "b.a.deep.test", "deep.test", "node.test", "copy.test"]
# Nominal port of the TCP echo endpoints; --connect-to maps it to the
# echo server's real port.
ECHO_PORT = 7000

HEAD = """\
version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /lib, /proc, /dev/urandom, /app, /etc, /var/log]
  read_write: [/sandbox, /tmp, /dev/null]
landlock:
  compatibility: best_effort
process:
  run_as_user: sandbox
  run_as_group: sandbox
"""

# The shared sandbox's policy. {echo} is the echo server's real port, so
# that a dial the SSRF rules should have stopped would reach it.
NET_POLICY = HEAD + """\
network_policies:
  github:
    name: github
    endpoints:
      - host: api.github.com
        port: 443
    binaries:
      - path: /usr/bin/curl
  node_only:
    name: node-only
    endpoints:
      - host: node.test
        port: 443
    binaries:
      - path: /usr/bin/node
  one_label:
    name: one-label
    endpoints:
      - host: "*.example.test"
        port: 443
      - host: a.example.test
        port: 80
      - host: dead.example.test
        port: 81
    binaries:
      - path: /usr/bin/curl
  many_labels:
    name: many-labels
    endpoints:
      - host: "**.deep.test"
        port: 443
    binaries:
      - path: /usr/bin/curl
  copies:
    name: copies
    endpoints:
      - host: copy.test
        port: 443
    binaries:
      - path: "/usr/bin/cur*"
      - path: "/sandbox/curl-*"
      - path: "/tmp/curl-*"
      - path: /sandbox/exact-curl
  refused:
    name: refused
    endpoints:
      - host: 127.0.0.1
        port: {echo}
      - host: localhost
        port: {echo}
      - host: 169.254.169.254
        port: 80
      - host: 10.213.7.9
        port: 80
    binaries:
      - path: /usr/bin/curl
      - path: {python}
"""

# The policy a single tunnel test starts with: two echo endpoints for
# python, in two policies so that one can go and the other stay.
TUNNEL_POLICY = HEAD + """\
network_policies:
  github:
    name: github
    endpoints:
      - host: api.github.com
        port: 443
    binaries:
      - path: /usr/bin/curl
  echo:
    name: echo
    endpoints:
      - host: echo.test
        port: 7000
      - host: load-ok.test
        port: 7000
    binaries:
      - path: {python}
  keep:
    name: keep
    endpoints:
      - host: keep.test
        port: 7000
    binaries:
      - path: {python}
"""


def policy_text(template, servers=None):
    return template.format(python=PYTHON,
                           echo=servers.echo.port if servers else 0)


# --- Servers and sandboxes ------------------------------------------------

class Servers:
    """The CA and the three loopback servers of one test module."""

    def __init__(self):
        netsupport.raise_fd_limit()
        self.ca = netsupport.TestCA(TLS_NAMES)
        self.https = netsupport.https_server(self.ca)
        self.http = netsupport.EchoHTTPServer()
        self.echo = netsupport.TCPEchoServer()

    def connect_to(self):
        """--connect-to options that send every test name to us."""
        maps = [f"{n}:443:127.0.0.1:{self.https.port}" for n in TLS_NAMES]
        maps.append(f"a.example.test:80:127.0.0.1:{self.http.port}")
        maps += [f"{n}:{ECHO_PORT}:127.0.0.1:{self.echo.port}"
                 for n in ("echo.test", "keep.test", "load-ok.test",
                           "load-no.test")]
        # Nothing listens there: the port of a socket just closed.
        maps.append(f"dead.example.test:81:127.0.0.1:{free_port()}")
        return [arg for m in maps for arg in ("--connect-to", m)]

    def stop(self):
        self.https.stop()
        self.http.stop()
        self.echo.stop()
        self.ca.cleanup()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def servers():
    s = Servers()
    yield s
    s.stop()


def make_sandbox(brig, servers, name, policy=None, tmp=None):
    """A detached sandbox NAME with POLICY (text; default policy when
    None), every test name mapped to our servers, and the CA inside."""
    opts = servers.connect_to()
    if policy is not None:
        path = os.path.join(tmp, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(policy)
        opts += ["--policy", path]
    brig.create(name, *opts)
    netsupport.put(brig, name, CA_IN, servers.ca.pem())
    return name


@pytest.fixture(scope="module")
def net(module_brig, servers, tmp_path_factory):
    """One sandbox with NET_POLICY, shared by the tests that only make
    requests (no policy change)."""
    tmp = str(tmp_path_factory.mktemp("net"))
    return make_sandbox(module_brig, servers, "net",
                        policy_text(NET_POLICY, servers), tmp)


def write_policy(tmp_path, text, name="policy.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def revisions(brig, name):
    """`brig policy list NAME` as (rev, sha, status) rows."""
    out = ok(brig("policy", "list", name)).splitlines()
    assert out[0].split()[:4] == ["REV", "SHA256", "STATUS", "CREATED"], out
    return [tuple(line.split()[:3]) for line in out[1:]]


# --- Inside the sandbox ---------------------------------------------------

def curl(brig, name, url, *opts, binary="curl", env=""):
    """curl -sS URL inside NAME (through the proxy, as the variables
    say), trusting the test CA."""
    script = (f'{env} {binary} -sS --max-time 10 --cacert {CA_IN} '
              + " ".join(shlex_quote(o) for o in opts)
              + f" {shlex_quote(url)}")
    return brig.sh(name, script)


def shlex_quote(s):
    return shlex.quote(str(s))


def served(r):
    """What our echo server saw of a request that went through."""
    assert r.returncode == 0, "request failed" + helpers.describe(r)
    return json.loads(r.stdout)


def assert_connect_denied(r):
    """curl through the proxy was answered 403 to its CONNECT."""
    assert r.returncode == 56, "expected a refused CONNECT" + \
        helpers.describe(r)
    assert "403" in r.stderr, r.stderr


PROXY_REQUEST = r"""
import json, socket, sys
head = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(head)
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
top, _, body = data.partition(b"\r\n\r\n")
lines = top.decode("latin-1").split("\r\n")
headers = {}
for line in lines[1:]:
    k, _, v = line.partition(":")
    headers[k.strip().lower()] = v.strip()
n = int(headers.get("content-length") or 0)
while len(body) < n:
    chunk = s.recv(65536)
    if not chunk:
        break
    body += chunk
status = int(lines[0].split()[1]) if lines[0] else 0
print(json.dumps({"status": status, "headers": headers,
                  "body": body.decode("latin-1")}))
"""


def via_proxy(brig, name, head):
    """Sends the request HEAD (python, raw) to the proxy inside NAME and
    returns its answer: status, headers (lower case) and body."""
    r = brig("sandbox", "exec", name, "--", "python3", "-c", PROXY_REQUEST,
             input=head.replace("\n", "\r\n"))
    assert r.returncode == 0, helpers.describe(r)
    return json.loads(r.stdout)


def connect_head(host, port):
    return f"CONNECT {host}:{port} HTTP/1.1\nHost: {host}:{port}\n\n"


def denial(answer):
    """The JSON body of a 403 from the proxy."""
    assert answer["status"] == 403, answer
    return json.loads(answer["body"])


# --- The walkthrough ------------------------------------------------------

def test_proxy_variables(module_brig, net):
    """Every process inside is pointed at the proxy, loopback excepted."""
    env = dict(line.split("=", 1) for line in
               ok(module_brig.sh(net, "env")).splitlines() if "=" in line)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "grpc_proxy"):
        assert env.get(var) == "http://127.0.0.1:3128", (var, env)
        assert env.get(var.lower()) == "http://127.0.0.1:3128", (var, env)
    assert env.get("NO_PROXY") == env.get("no_proxy") == \
        "localhost,127.0.0.1,::1", env
    assert env.get("NODE_USE_ENV_PROXY") == "1", env



def test_walkthrough(brig, servers, tmp_path):
    """Issue 3 walkthrough: denied and logged; policy set lets one in live."""
    example = helpers.SHARED / "examples" / "network-policy.yaml"
    if not example.is_file():
        pytest.skip(f"no {example} (set BRIG_SHARED_DIR)")
    name = make_sandbox(brig, servers, "demo-sandbox")
    supervisor = brig.get(name).get("supervisor_pid")

    tail = brig.popen("logs", name, "--tail", "--source", "sandbox")
    try:
        lines = netsupport.Lines(tail)
        assert_connect_denied(curl(brig, name, "https://api.github.com/zen"))
        assert_connect_denied(curl(brig, name, "https://httpbin.org/get"))
        seen = lines.until("httpbin.org", 5)
    finally:
        netsupport.stop(tail)
    denials = [x for x in seen if " DENY " in x]
    assert len(denials) == 2, seen
    assert re.search(r"DENY +curl -> api\.github\.com:443 \(policy none: "
                     r"no_endpoint\)", denials[0]), seen
    assert re.search(r"DENY +curl -> httpbin\.org:443 \(policy none: "
                     r"no_endpoint\)", denials[1]), seen

    r = brig("policy", "set", name, "--policy", example, "--wait")
    assert r.returncode == 0, helpers.describe(r)

    got = served(curl(brig, name, "https://api.github.com/zen"))
    assert (got["host"], got["path"], got["tls"]) == \
        ("api.github.com", "/zen", True)
    assert_connect_denied(curl(brig, name, "https://httpbin.org/get"))
    assert brig.get(name).get("supervisor_pid") == supervisor, \
        "the sandbox was restarted"

    out = ok(brig("logs", name, "--source", "sandbox"))
    assert re.search(r"ALLOW +curl -> api\.github\.com:443 \(policy "
                     r"github-passthrough", out), out
    assert len(re.findall(r"DENY +curl -> httpbin\.org:443", out)) == 2, out


# --- Who is calling -------------------------------------------------------

def test_python_denied_where_only_curl_allowed(module_brig, net):
    """python is refused (binary_not_allowed) where only curl is allowed."""
    b = module_brig
    log = Log(b, net)
    script = textwrap.dedent(f"""\
        import socket, ssl, urllib.request
        ctx = ssl.create_default_context(cafile="{CA_IN}")
        try:
            urllib.request.urlopen("https://api.github.com/zen",
                                   context=ctx, timeout=10)
            print("proxy: through")
        except OSError as e:
            print("proxy:", e)
        s = socket.create_connection(("api.github.com", 443), timeout=10)
        try:
            ctx.wrap_socket(s, server_hostname="api.github.com")
            print("direct: through")
        except OSError as e:
            print("direct: refused", type(e).__name__)
        """)
    r = b("sandbox", "exec", net, "--", "python3", "-c", script)
    assert r.returncode == 0, helpers.describe(r)
    assert "Tunnel connection failed: 403" in r.stdout, r.stdout
    assert "direct: refused" in r.stdout, r.stdout
    decisions = log.decisions("api.github.com", 443)
    assert [(e["action"], e["binary"], e["reason"]) for e in decisions] == \
        [("deny", PYTHON, "binary_not_allowed")] * 2, decisions

    got = served(curl(b, net, "https://api.github.com/zen"))
    assert got["path"] == "/zen"


def test_node_allowed_when_listed(module_brig, net):
    """node reaches the endpoint listed for it, by CONNECT and by capture."""
    if not os.access(NODE, os.X_OK):
        pytest.skip(f"no {NODE} on this machine")
    b = module_brig
    script = textwrap.dedent(f"""\
        const fs = require('fs'), http = require('http'),
              https = require('https'), tls = require('tls');
        const ca = fs.readFileSync('{CA_IN}');
        const body = (stream, done) => {{
          let b = ''; stream.on('data', d => b += d);
          stream.on('end', () => done(b));
        }};
        const capture = () => new Promise(res => {{
          https.get({{host: 'node.test', path: '/capture', ca, agent: false}},
                    r => body(r, b => res(JSON.parse(b))))
               .on('error', e => res({{error: e.code || e.message}}));
        }});
        const connect = () => new Promise(res => {{
          const req = http.request({{host: '127.0.0.1', port: 3128,
                                    method: 'CONNECT', path: 'node.test:443',
                                    headers: {{Host: 'node.test:443'}}}});
          req.on('connect', (r, sock) => {{
            if (r.statusCode !== 200) {{
              sock.destroy();
              return res({{status: r.statusCode}});
            }}
            const get = 'GET /connect HTTP/1.0\\r\\n' +
                        'Host: node.test\\r\\n\\r\\n';
            const t = tls.connect(
              {{socket: sock, servername: 'node.test', ca}},
              () => t.write(get));
            body(t, b => res(JSON.parse(b.split('\\r\\n\\r\\n')[1])));
            t.on('error', e => res({{error: e.code}}));
          }});
          req.on('error', e => res({{error: e.code || e.message}}));
          req.end();
        }});
        (async () => console.log(JSON.stringify(
          {{capture: await capture(), connect: await connect()}})))();
        """)
    log = Log(b, net)
    r = b("sandbox", "exec", net, "--", "node", "-e", script)
    assert r.returncode == 0, helpers.describe(r)
    got = json.loads(r.stdout)
    assert got["capture"].get("path") == "/capture", got
    assert got["capture"].get("host") == "node.test", got
    assert got["connect"].get("path") == "/connect", got
    decisions = log.decisions("node.test", 443)
    assert [(e["action"], e["binary"], e["policy"]) for e in decisions] == \
        [("allow", NODE, "node-only")] * 2, decisions

    assert_connect_denied(curl(b, net, "https://node.test/"))
    e = log.decisions("node.test", 443)[-1]
    assert (e["binary"], e["reason"]) == (CURL, "binary_not_allowed"), e


@pytest.mark.parametrize("where", ["/sandbox", "/tmp"])
def test_copied_curl_denied(module_brig, net, where):
    """A copy of curl in a writable place is not curl, nor matched by globs."""
    b = module_brig
    copy = f"{where}/curl-copy"
    ok(b.sh(net, f"cp /usr/bin/curl {copy} && cp /usr/bin/curl "
                 "/sandbox/exact-curl"))
    for url in ("https://api.github.com/zen", "https://copy.test/"):
        log = Log(b, net)
        assert_connect_denied(curl(b, net, url, binary=copy))
        e = log.decision(url.split("/")[2], 443)
        # Where a glob rule names the copy's path, it is refused for
        # where it lives; elsewhere, as a binary no rule names.
        why = ("binary_in_writable_path" if "copy.test" in url
               else "binary_not_allowed")
        assert (e["action"], e["binary"], e["reason"]) == \
            ("deny", copy, why), e

    # The same glob policy lets the real curl through, and an exact rule
    # for a writable path lets that path through.
    served(curl(b, net, "https://api.github.com/zen"))
    assert served(curl(b, net, "https://copy.test/"))["host"] == "copy.test"
    log = Log(b, net)
    served(curl(b, net, "https://copy.test/", binary="/sandbox/exact-curl"))
    e = log.decision("copy.test", 443)
    assert (e["action"], e["binary"]) == ("allow", "/sandbox/exact-curl"), e


def test_ld_preload_denied(module_brig, net, tmp_path):
    """curl running a library preloaded from /sandbox is not allowed curl."""
    if not shutil.which("gcc"):
        pytest.skip("no gcc on this machine to build the preloaded library")
    src = tmp_path / "x.c"
    src.write_text("int brig_e2e_preloaded = 1;\n")
    lib = tmp_path / "x.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", lib, src], check=True)
    b = module_brig
    netsupport.put(b, net, "/sandbox/x.so", lib.read_bytes(), mode="755")

    log = Log(b, net)
    r = curl(b, net, "https://api.github.com/zen",
             env="LD_PRELOAD=/sandbox/x.so")
    assert_connect_denied(r)
    e = log.decision("api.github.com", 443)
    assert (e["action"], e["reason"]) == ("deny", "code_from_writable_path"), e

    # The library did load: the same command shows it in curl's maps.
    r = b.sh(net, "LD_PRELOAD=/sandbox/x.so /usr/bin/curl -sS "
                  "file:///proc/self/maps")
    assert "/sandbox/x.so" in ok(r)
    served(curl(b, net, "https://api.github.com/zen"))


# --- What may be reached --------------------------------------------------

def test_wrong_port_denied(module_brig, net):
    """An allowed host on an unlisted port is refused with port_not_allowed."""
    b = module_brig
    log = Log(b, net)
    assert_connect_denied(curl(b, net, "https://api.github.com:8443/zen"))
    e = log.decision("api.github.com", 8443)
    assert (e["action"], e["binary"], e["reason"]) == \
        ("deny", CURL, "port_not_allowed"), e


@pytest.mark.parametrize("host,policy", [
    ("a.example.test", "one-label"),
    ("b.a.example.test", None),
    ("example.test", None),
    ("x.deep.test", "many-labels"),
    ("b.a.deep.test", "many-labels"),
    ("deep.test", None),
])
def test_wildcards(module_brig, net, host, policy):
    """`*` in a host is exactly one label, `**` one or more, never zero."""
    b = module_brig
    log = Log(b, net)
    r = curl(b, net, f"https://{host}/w")
    e = log.decision(host, 443)
    if policy:
        assert served(r)["host"] == host
        assert (e["action"], e["policy"]) == ("allow", policy), e
    else:
        assert_connect_denied(r)
        assert (e["action"], e["reason"]) == ("deny", "no_endpoint"), e


def test_denial_body(module_brig, net):
    """A denial is a 403 with a JSON body the agent can show its user."""
    b = module_brig
    r = curl(b, net, "http://httpbin.org/get", "-i")
    assert r.returncode == 0, helpers.describe(r)
    head, _, body = r.stdout.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 403"), head
    assert re.search(r"(?im)^content-type: application/json", head), head
    assert json.loads(body) == {"error": "policy_denied",
                                "host": "httpbin.org", "port": 80,
                                "binary": CURL, "reason": "no_endpoint"}

    answer = via_proxy(b, net, connect_head("httpbin.org", 443))
    assert denial(answer) == {"error": "policy_denied", "host": "httpbin.org",
                              "port": 443, "binary": PYTHON,
                              "reason": "no_endpoint"}


def test_plain_http_forwarded(module_brig, net, servers):
    """An allowed absolute-form GET reaches the server in origin form."""
    b = module_brig
    log = Log(b, net)
    got = served(curl(b, net, "http://a.example.test/plain?q=1"))
    assert (got["method"], got["path"], got["host"], got["tls"]) == \
        ("GET", "/plain?q=1", "a.example.test", False)
    e = log.decision("a.example.test", 80)
    assert (e["action"], e["binary"]) == ("allow", CURL), e


def test_host_mismatch(module_brig, net, servers):
    """A Host header naming another host than the URL is refused, not sent."""
    b = module_brig
    before = len(servers.http.requests)
    r = curl(b, net, "http://a.example.test/", "-H", "Host: other.test")
    assert r.returncode == 0, helpers.describe(r)
    assert json.loads(r.stdout)["reason"] == "host_mismatch", r.stdout
    assert len(servers.http.requests) == before


def test_oversized_head(module_brig, net, servers):
    """A request head over 16 KiB gets 431 and is never forwarded."""
    b = module_brig
    before = len(servers.http.requests)
    big = "a" * 20480
    r = curl(b, net, "http://a.example.test/", "-o", "/dev/null",
             "-w", "%{http_code}", "-H", f"X-Big: {big}")
    assert r.stdout == "431", helpers.describe(r)
    assert len(servers.http.requests) == before


def test_upstream_unreachable(module_brig, net):
    """An allowed endpoint nobody listens on gets 502 upstream_unreachable."""
    b = module_brig
    r = curl(b, net, "http://dead.example.test:81/", "-i")
    head, _, body = r.stdout.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 502"), helpers.describe(r)
    assert json.loads(body)["reason"] == "upstream_unreachable", body


# --- Capture and raw sockets ----------------------------------------------

RAW_CONNECT = r"""
import json, socket, time
def snmp():
    rows = [line.split() for line in open("/proc/net/snmp")]
    out = {}
    for keys, values in zip(rows[::2], rows[1::2]):
        for k, v in zip(keys[1:], values[1:]):
            out[keys[0] + k] = int(v)
    return out
before = snmp()
s = socket.socket()
t = time.monotonic()
try:
    s.connect(("93.184.216.34", 80))
    err = 0
except OSError as e:
    err = e.errno
took = time.monotonic() - t
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.sendto(b"x", ("8.8.8.8", 53))
    uerr = 0
except OSError as e:
    uerr = e.errno
after = snmp()
print(json.dumps({"errno": err, "took": took, "udp_errno": uerr,
                  "sent": {k: after[k] - before[k] for k in
                           ("Ip:OutRequests", "Tcp:OutSegs",
                            "Udp:OutDatagrams")}}))
"""


def test_raw_connect_fails_fast(module_brig, net):
    """A raw connect() fails in under 100 ms (ENETUNREACH); nothing is sent."""
    r = module_brig("sandbox", "exec", net, "--", "python3", "-c",
                    RAW_CONNECT)
    got = json.loads(ok(r))
    assert got["errno"] == errno.ENETUNREACH, got
    assert got["took"] < 0.1, got
    assert got["udp_errno"] == errno.ENETUNREACH, got
    assert got["sent"] == {"Ip:OutRequests": 0, "Tcp:OutSegs": 0,
                           "Udp:OutDatagrams": 0}, got


def test_noproxy_capture(module_brig, net):
    """--noproxy '*' is captured when allowed, else NXDOMAIN (logged)."""
    b = module_brig
    log = Log(b, net)
    got = served(curl(b, net, "https://api.github.com/zen",
                      "--noproxy", "*"))
    assert got["path"] == "/zen"
    e = log.decision("api.github.com", 443)
    assert (e["action"], e["binary"], e["policy"]) == \
        ("allow", CURL, "github"), e

    r = curl(b, net, "https://httpbin.org/get", "--noproxy", "*")
    assert r.returncode == 6, helpers.describe(r)
    assert helpers.wait_for(lambda: log.decisions("httpbin.org"), 5)
    for e in log.decisions("httpbin.org"):
        assert (e["action"], e["reason"]) == ("deny", "no_endpoint"), e


# --- SSRF -----------------------------------------------------------------

@pytest.mark.parametrize("host,port,reason", [
    ("127.0.0.1", None, "loopback_refused"),
    ("localhost", None, "loopback_refused"),
    ("169.254.169.254", 80, "link_local_refused"),
], ids=["loopback", "localhost", "metadata"])
def test_always_refused_addresses(module_brig, net, servers, host, port,
                                  reason):
    """Loopback and metadata are refused though listed, and never dialed."""
    port = port or servers.echo.port
    before = servers.echo.accepted
    for binary in ("python", "curl"):
        if binary == "python":
            body = denial(via_proxy(module_brig, net,
                                    connect_head(host, port)))
            assert body["binary"] == PYTHON, body
        else:
            r = curl(module_brig, net, f"http://{host}:{port}/",
                     "--noproxy", "", "-x", "http://127.0.0.1:3128")
            assert r.returncode == 0, helpers.describe(r)
            body = json.loads(r.stdout)
            assert body["binary"] == CURL, body
        assert (body["host"], body["port"], body["reason"]) == \
            (host, port, reason), body
    assert servers.echo.accepted == before, "the proxy dialed " + host


def test_private_needs_allowed_ips(module_brig, net):
    """A private address without allowed_ips is refused, never dialed."""
    # The allowed case (an address inside allowed_ips) is left to the unit
    # tests: an end-to-end test must not dial a private address.
    body = denial(via_proxy(module_brig, net,
                            connect_head("10.213.7.9", 80)))
    assert (body["host"], body["port"], body["reason"]) == \
        ("10.213.7.9", 80, "private_refused"), body


# --- Logs -----------------------------------------------------------------

def test_tail_sees_new_denial(module_brig, net):
    """`logs --tail --source sandbox` shows a new denial within a second."""
    b = module_brig
    tail = b.popen("logs", net, "--tail", "--source", "sandbox", "-n", "0")
    try:
        lines = netsupport.Lines(tail)
        # A first denial shows that the follow is running.
        assert_connect_denied(curl(b, net, "https://tail-ready.test/"))
        lines.until("tail-ready.test", 5)
        assert_connect_denied(curl(b, net, "https://tail-check.test/"))
        done = time.monotonic()
        seen = lines.until("tail-check.test", 5)
        assert time.monotonic() - done < 1.0
        assert re.search(r"WARN DENY +curl -> tail-check\.test:443 "
                         r"\(policy none: no_endpoint\)", seen[-1]), seen
    finally:
        netsupport.stop(tail)


LOAD = r"""
import asyncio, json, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
N = int(sys.argv[1])
opened = 0
all_open = None

async def one(i):
    global opened
    host = "load-ok.test" if i % 2 == 0 else "load-no.test"
    r, w = await asyncio.open_connection("127.0.0.1", 3128)
    opened += 1
    if opened == N:
        all_open.set()
    await all_open.wait()
    w.write(f"CONNECT {host}:7000 HTTP/1.1\r\nHost: {host}:7000\r\n\r\n"
            .encode())
    head = await r.readuntil(b"\r\n\r\n")
    status = int(head.split()[1])
    if status == 200:
        w.write(b"ping")
        assert await r.readexactly(4) == b"ping"
    w.close()
    return host, status

async def main():
    global all_open
    all_open = asyncio.Event()
    got = await asyncio.wait_for(
        asyncio.gather(*(one(i) for i in range(N)), return_exceptions=True),
        60)
    counts = {}
    for g in got:
        key = repr(g) if isinstance(g, BaseException) else "%s %d" % g
        counts[key] = counts.get(key, 0) + 1
    print(json.dumps(counts))

asyncio.run(main())
"""


def test_event_count_under_load(brig, servers, tmp_path):
    """1,000 concurrent requests make exactly 1,000 decision events."""
    n = 1000
    name = make_sandbox(brig, servers, "load",
                        policy_text(TUNNEL_POLICY), str(tmp_path))
    log = Log(brig, name)
    before = servers.echo.accepted
    r = brig("sandbox", "exec", name, "--", "python3", "-c", LOAD, n,
             timeout=90)
    assert json.loads(ok(r)) == {"load-ok.test 200": n // 2,
                                 "load-no.test 403": n // 2}, r.stdout
    assert servers.echo.accepted - before == n // 2

    def settled():
        return len(log.closes("load-ok.test")) >= n // 2
    helpers.wait_for(settled, 10, 0.2)
    new = log.new()
    decisions = [e for e in new if netsupport.is_decision(e)]
    assert len(decisions) == n, f"{len(decisions)} decision events"
    assert {e["class_uid"] for e in decisions} == {netsupport.NETWORK}
    allowed = [e for e in decisions if e["action"] == "allow"]
    assert {e["host"] for e in allowed} == {"load-ok.test"}
    assert len(allowed) == n // 2
    assert {(e["host"], e["reason"]) for e in decisions
            if e["action"] == "deny"} == {("load-no.test", "no_endpoint")}
    assert len([e for e in new if netsupport.is_close(e)]) == n // 2


# --- Live policy ----------------------------------------------------------

def test_identical_policy_makes_no_revision(brig, servers, tmp_path):
    """Setting the policy already in force makes no new revision."""
    text = policy_text(TUNNEL_POLICY)
    name = make_sandbox(brig, servers, "same", text, str(tmp_path))
    path = write_policy(tmp_path, text, "again.yaml")
    assert len(revisions(brig, name)) == 1
    ok(brig("policy", "set", name, "--policy", path, "--wait"))
    assert len(revisions(brig, name)) == 1

    changed = write_policy(tmp_path, text.replace("port: 443", "port: 444"),
                           "changed.yaml")
    ok(brig("policy", "set", name, "--policy", changed, "--wait"))
    rows = revisions(brig, name)
    assert [(rev, status) for rev, _, status in rows] == \
        [("1", "superseded"), ("2", "loaded")], rows
    ok(brig("policy", "set", name, "--policy", changed, "--wait"))
    assert revisions(brig, name) == rows


BROKEN = {
    "bad-yaml": ("network_policies:\n  github:\n    name: github\n"
                 "    endpoints: [{host: api.github.com, port: 443}\n",
                 4),
    "bare-star": ("network_policies:\n  all:\n    name: all\n"
                  "    endpoints:\n      - host: \"*\"\n        port: 443\n"
                  "    binaries:\n      - path: /usr/bin/curl\n",
                  5),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_policy_keeps_old(brig, servers, tmp_path, case):
    """A broken policy is refused with file:line:col; the old one stays."""
    name = make_sandbox(brig, servers, "broken", policy_text(TUNNEL_POLICY),
                        str(tmp_path))
    text, line = BROKEN[case]
    path = write_policy(tmp_path, HEAD + text, "bad.yaml")
    head_lines = HEAD.count("\n")
    r = brig("policy", "set", name, "--policy", path, "--wait")
    assert r.returncode == 1, helpers.describe(r)
    m = re.search(r"bad\.yaml:(\d+):(\d+): \S", r.stderr)
    assert m, r.stderr
    assert int(m.group(1)) in (head_lines + line, head_lines + line + 1), \
        r.stderr
    assert len(revisions(brig, name)) == 1
    served(curl(brig, name, "https://api.github.com/zen"))
    assert_connect_denied(curl(brig, name, "https://httpbin.org/get"))


def test_static_change_refused(brig, servers, tmp_path):
    """A filesystem_policy change is refused whole, with 'recreate'."""
    text = policy_text(TUNNEL_POLICY)
    name = make_sandbox(brig, servers, "static", text, str(tmp_path))
    changed = text.replace("/var/log]", "/var/log, /opt]") + (
        "  httpbin:\n"
        "    name: httpbin\n"
        "    endpoints:\n"
        "      - host: httpbin.org\n"
        "        port: 443\n"
        "    binaries:\n"
        "      - path: /usr/bin/curl\n")
    assert changed.count("/opt") == 1
    path = write_policy(tmp_path, changed, "static.yaml")
    ok(brig("policy", "check", path))
    r = brig("policy", "set", name, "--policy", path, "--wait")
    assert r.returncode == 1, helpers.describe(r)
    assert "recreate" in r.stderr, r.stderr
    assert_connect_denied(curl(brig, name, "https://httpbin.org/get"))
    served(curl(brig, name, "https://api.github.com/zen"))
    rows = revisions(brig, name)
    assert rows[0][2] == "loaded" and rows[-1][2] == "failed", rows


TUNNELS = r"""
import socket, sys, time
def tunnel(host):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=30)
    s.sendall(f"CONNECT {host}:7000 HTTP/1.1\r\nHost: {host}:7000\r\n\r\n"
              .encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = s.recv(1)
        if not c:
            sys.exit("closed during CONNECT to " + host)
        head += c
    assert head.split()[1] == b"200", head
    s.sendall(b"ping")
    assert s.recv(4) == b"ping"
    return s
revoked, kept = tunnel("echo.test"), tunnel("keep.test")
print("open", flush=True)
try:
    got = revoked.recv(1)
except ConnectionResetError:
    got = b"reset"
print("revoked closed", got, flush=True)
kept.sendall(b"again")
print("kept", kept.recv(5).decode(), flush=True)
"""


def test_revoked_endpoint_closes_tunnel(brig, servers, tmp_path):
    """A tunnel the new revision no longer allows closes within 1 s."""
    text = policy_text(TUNNEL_POLICY)
    name = make_sandbox(brig, servers, "revoke", text, str(tmp_path))
    without = text.replace("      - host: echo.test\n        port: 7000\n",
                           "")
    assert without != text
    path = write_policy(tmp_path, without, "without.yaml")
    log = Log(brig, name)
    proc = brig.popen("sandbox", "exec", name, "--", "python3", "-c",
                      TUNNELS)
    try:
        lines = netsupport.Lines(proc)
        assert lines.next(10) == "open", proc.stderr
        ok(brig("policy", "set", name, "--policy", path, "--wait"))
        done = time.monotonic()
        line = lines.next(5)
        assert line is not None and line.startswith("revoked closed"), line
        assert time.monotonic() - done < 1.0
        assert lines.next(5) == "kept again"
        assert proc.wait(5) == 0
    finally:
        netsupport.stop(proc)
    closes = helpers.wait_for(lambda: log.closes("echo.test"), 5)
    assert [e["reason"] for e in closes] == ["policy_revoked"], closes
    assert closes[0]["bytes_in"] >= 4 and closes[0]["bytes_out"] >= 4, closes
    assert not any(e.get("reason") == "policy_revoked"
                   for e in log.closes("keep.test"))


# --- Tunnels passed through, and the fronting check -------------------------

# curl and python may reach one HTTPS and one plain endpoint; no provider,
# so every tunnel is passed through uninspected.
PASS_POLICY = HEAD + """\
network_policies:
  pass:
    name: pass
    endpoints:
      - host: api.github.com
        port: 443
      - host: echo.test
        port: 7000
    binaries:
      - path: /usr/bin/curl
      - path: {python}
"""

# Two tunnels to the echo server carrying bytes that are not TLS, the
# second starting with a handshake record's type byte; prints what came
# back, one line each.
PLAIN_TUNNELS = r"""
import socket
for first in (b"ping\n", b"\x16, then no TLS at all\n"):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    s.sendall(b"CONNECT echo.test:7000 HTTP/1.1\r\n\r\n")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = s.recv(1)
        if not c:
            raise SystemExit("closed during CONNECT")
        head += c
    assert head.split()[1] == b"200", head
    s.sendall(first)
    got = b""
    while not got.endswith(b"\n"):
        c = s.recv(100)
        if not c:
            break
        got += c
    print(repr(got == first))
"""

# HTTPS through a tunnel to api.github.com with no SNI at all, as a client
# that dials an address sends it; prints the status line.
NO_SNI = r"""
import socket, ssl
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(b"CONNECT api.github.com:443 HTTP/1.1\r\n\r\n")
head = b""
while not head.endswith(b"\r\n\r\n"):
    head += s.recv(1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
t.sendall(b"GET /no-sni HTTP/1.1\r\nHost: api.github.com\r\n"
          b"Connection: close\r\n\r\n")
print(t.recv(100).split(b"\r\n")[0].decode())
"""


def test_passthrough_tunnels_pass(brig, servers, tmp_path):
    """The fronting check lets be what has nothing to disagree with: HTTPS
    whose SNI names the tunnel's target, a ClientHello without SNI, and
    bytes that are not TLS; each tunnel is one allow decision."""
    name = make_sandbox(brig, servers, "pass",
                        PASS_POLICY.format(python=PYTHON), str(tmp_path))
    log = Log(brig, name)
    assert served(curl(brig, name, "https://api.github.com/sni"))["path"] \
        == "/sni"
    r = brig("sandbox", "exec", name, "--", "python3", "-c", NO_SNI)
    assert r.stdout.strip() == "HTTP/1.0 200 OK", helpers.describe(r)
    r = brig("sandbox", "exec", name, "--", "python3", "-c", PLAIN_TUNNELS)
    assert r.stdout.split() == ["True", "True"], helpers.describe(r)
    got = helpers.wait_for(lambda: len(log.decisions()) >= 4 and
                           log.decisions())
    assert sorted((e["host"], e["action"]) for e in got) == \
        [("api.github.com", "allow")] * 2 + [("echo.test", "allow")] * 2, got


def set_while_stopped(brig, name, policy):
    """`policy set --wait --timeout 1` while the supervisor is stopped
    (SIGSTOP); it runs again (SIGCONT) before this returns."""
    pid = brig.get(name)["supervisor_pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        r = brig("policy", "set", name, "--policy", policy, "--wait",
                 "--timeout", "1")
        took = time.monotonic() - start
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r.returncode == 124, helpers.describe(r)
    assert took < 5, took


def test_policy_set_wait_exit_codes(brig, servers, tmp_path):
    """`policy set --wait` exits 0 enforced, 1 refused, 124 timed out."""
    text = policy_text(TUNNEL_POLICY)
    name = make_sandbox(brig, servers, "wait", text, str(tmp_path))
    new = write_policy(tmp_path, text.replace("keep.test", "kept.test"),
                       "new.yaml")
    r = brig("policy", "set", name, "--policy", new, "--wait")
    assert r.returncode == 0, helpers.describe(r)

    static = write_policy(tmp_path, new.read_text().replace(
        "best_effort", "hard_requirement"), "static.yaml")
    r = brig("policy", "set", name, "--policy", static, "--wait")
    assert r.returncode == 1, helpers.describe(r)

    httpbin = write_policy(tmp_path, new.read_text().replace(
        "api.github.com", "httpbin.org"), "httpbin.yaml")
    set_while_stopped(brig, name, httpbin)
    assert helpers.wait_for(
        lambda: curl(brig, name, "https://httpbin.org/get").returncode == 0,
        5), "the revision set while stopped was never enforced"


def test_timed_out_revision_recorded_when_enforced(brig, servers, tmp_path):
    """A revision enforced after its --wait timed out is listed loaded."""
    text = policy_text(TUNNEL_POLICY)
    name = make_sandbox(brig, servers, "late", text, str(tmp_path))
    httpbin = write_policy(tmp_path, text.replace("api.github.com",
                                                  "httpbin.org"))
    set_while_stopped(brig, name, httpbin)
    assert helpers.wait_for(
        lambda: curl(brig, name, "https://httpbin.org/get").returncode == 0,
        5), "the revision set while stopped was never enforced"
    assert helpers.wait_for(
        lambda: [s for _, _, s in revisions(brig, name)]
        == ["superseded", "loaded"], 2), revisions(brig, name)
