"""The credential wall (issue 4): a key registered with brig works for
the agent's HTTPS calls while the agent, its files, its logs and anything
it can print hold only a placeholder.

The "voice API" is a server of this test process on 127.0.0.1 (TLS, with
a CA made at test time) that accepts only the real key and reflects what
it received, so a real value it was sent travels back in the response
unless brig scrubs it. The supervisor trusts that CA through
--upstream-ca; inside, curl, Python and Node trust the sandbox's own CA
with no flag. A real value never appears in a command line inside the
sandbox: when a test must send one, it goes through stdin."""

import json
import os
import re
import shlex
import stat
import time
import uuid
from types import SimpleNamespace

import pytest

import helpers
import netsupport
from helpers import ok
from netsupport import Log

PYTHON = os.path.realpath("/usr/bin/python3")  # /usr/bin/python3.11
NODE = "/usr/bin/node"
CURL = "/usr/bin/curl"
OPENSSL = "/usr/bin/openssl"
# The program of git's that holds the socket of an https remote.
GIT_REMOTE = os.path.realpath("/usr/lib/git-core/git-remote-https")
PLACEHOLDER = re.compile(r"brig-ph-[0-9a-f]{32}")
# OCSF severity_id of a finding brig must raise loudly.
SEVERITY_HIGH = 4

TLS_NAMES = ["voice.test", "other.test", "body.test"]

POLICY = """\
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
network_policies:
  voice:
    name: voice
    endpoints:
      - host: voice.test
        port: 443
      - host: other.test
        port: 443
      - host: plain.test
        port: 80
{extra}    binaries:
      - path: /usr/bin/curl
      - path: {python}
{more}"""

# An endpoint that opts in to request body rewriting.
BODY_ENDPOINT = """\
      - host: body.test
        port: 443
        request_body_credential_rewrite: true
"""


def policy_text(extra=""):
    more = "".join(f"      - path: {p}\n"
                   for p in (NODE, OPENSSL, GIT_REMOTE)
                   if os.access(p, os.X_OK))
    return POLICY.format(python=PYTHON, more=more, extra=extra)


def real_value(prefix):
    """A value unique to this run, so that finding it is a real leak (the
    walkthrough's sk-real-secret-key-here, made unique)."""
    return f"{prefix}-{uuid.uuid4().hex}"


# --- Servers and the sandbox ----------------------------------------------

class Servers:
    """The test CA, the voice API over TLS (every name in TLS_NAMES) and
    the same API over plain HTTP."""

    def __init__(self):
        self.secrets = []
        self.ca = netsupport.TestCA(TLS_NAMES)
        self.api = netsupport.secret_api_server(self.ca, self.secrets)
        self.plain = netsupport.SecretAPIServer(self.secrets)

    def connect_to(self):
        maps = [f"{n}:443:127.0.0.1:{self.api.port}" for n in TLS_NAMES]
        maps += [f"{n}:80:127.0.0.1:{self.plain.port}"
                 for n in ("plain.test", "optin.test")]
        return [arg for m in maps for arg in ("--connect-to", m)]

    def stop(self):
        self.api.stop()
        self.plain.stop()
        self.ca.cleanup()


@pytest.fixture(scope="module")
def servers():
    s = Servers()
    yield s
    s.stop()


def scrubbed_brig(b):
    """Takes the test keys out of brig's own environment: only `provider
    create` may see a value, never the supervisor."""
    for k in ("VOICE_API_KEY", "BOUND_API_KEY"):
        b.env.pop(k, None)
    return b


def create_sandbox(b, servers, name, policy_path, *providers):
    args = ["sandbox", "create", "--name", name, "--detach",
            "--policy", policy_path, "--upstream-ca", servers.ca.ca_cert,
            *servers.connect_to()]
    for p in providers:
        args += ["--provider", p]
    return b(*args)


def placeholder(b, name, key):
    return ok(b("sandbox", "exec", name, "--", "printenv", key)).strip()


@pytest.fixture(scope="module")
def demo(module_brig, servers, tmp_path_factory):
    """The walkthrough's setup: provider voice-api (generic, unbound) made
    from VOICE_API_KEY in brig's environment, provider bound-api bound to
    voice.test, and sandbox demo-sandbox using both."""
    b = scrubbed_brig(module_brig)
    voice = real_value("sk-real-secret-key-here")
    bound = real_value("sk-bound-key")
    servers.secrets += [voice, bound]
    r = b("provider", "create", "--name", "voice-api", "--type", "generic",
          "--credential", "VOICE_API_KEY", env={"VOICE_API_KEY": voice})
    ok(r)
    assert voice not in r.stdout + r.stderr, helpers.describe(r)
    r = b("provider", "create", "--name", "bound-api", "--type", "generic",
          "--credential", "BOUND_API_KEY", "--host", "voice.test:443",
          env={"BOUND_API_KEY": bound})
    ok(r)
    path = tmp_path_factory.mktemp("creds") / "policy.yaml"
    path.write_text(policy_text())
    r = create_sandbox(b, servers, "demo-sandbox", path, "voice-api",
                       "bound-api")
    ok(r)
    assert voice not in r.stdout + r.stderr, helpers.describe(r)
    name = "demo-sandbox"
    return SimpleNamespace(
        brig=b, name=name, voice=voice, bound=bound, policy=path,
        ph={"VOICE_API_KEY": placeholder(b, name, "VOICE_API_KEY"),
            "BOUND_API_KEY": placeholder(b, name, "BOUND_API_KEY")})


# --- Inside the sandbox ---------------------------------------------------

# One HTTP request with urllib, trusting what the environment says. The
# spec (argv) may name variables ($VOICE_API_KEY), expanded inside; stdin
# may hold more headers as JSON (how a real value is sent without ever
# being on a command line). Prints status, headers and body as JSON.
FETCH = r"""
import json, os, sys, urllib.error, urllib.request
spec = json.loads(sys.argv[1])
x = os.path.expandvars
headers = {k: x(v) for k, v in spec.get("headers", {}).items()}
extra = sys.stdin.read()
if extra:
    headers.update(json.loads(extra))
data = x(spec["body"]).encode() if "body" in spec else None
req = urllib.request.Request(x(spec["url"]), data=data, headers=headers,
                             method=spec.get("method"))
try:
    r = urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    r = e
body = r.read()
print(json.dumps({"status": r.status, "headers": dict(r.headers.items()),
                  "body": body.decode("latin-1")}))
"""


def fetch(b, name, url, headers=None, secret_headers=None, **spec):
    """FETCH inside NAME; SECRET_HEADERS go through stdin."""
    spec = dict(spec, url=url, headers=headers or {})
    r = b("sandbox", "exec", name, "--", "python3", "-c", FETCH,
          json.dumps(spec), input=json.dumps(secret_headers or {}))
    return json.loads(ok(r))


def curl(b, name, url, *opts, input=None):
    """curl inside NAME, with no --cacert: the sandbox's bundle is
    trusted through CURL_CA_BUNDLE. Prints the body, then the status on
    a line of its own. OPTS are shell words, so "$VOICE_API_KEY" expands
    inside."""
    script = ("curl -sS --max-time 10 -w '\\n%{http_code}' "
              + " ".join(opts) + " " + shlex.quote(url))
    return b.sh(name, script, input=input)


def curl_answer(r):
    """(status, body) of a curl() that completed."""
    assert r.returncode == 0, "curl failed" + helpers.describe(r)
    body, _, status = r.stdout.rpartition("\n")
    return int(status), body


def new_requests(server, start):
    return server.requests[start:]


def denial(status, body):
    """The JSON body of a 403 from the supervisor."""
    assert status == 403, (status, body)
    return json.loads(body)


# --- The walkthrough ------------------------------------------------------

def test_walkthrough_placeholder(demo):
    """printenv VOICE_API_KEY inside shows a placeholder, not the value."""
    ph = demo.ph["VOICE_API_KEY"]
    assert PLACEHOLDER.fullmatch(ph), ph
    assert demo.voice not in ph
    assert PLACEHOLDER.fullmatch(demo.ph["BOUND_API_KEY"])
    assert demo.ph["BOUND_API_KEY"] != ph
    env = ok(demo.brig.sh(demo.name, "env"))
    for var, want in (("SSL_CERT_FILE", "/run/brig/ca-bundle.pem"),
                      ("REQUESTS_CA_BUNDLE", "/run/brig/ca-bundle.pem"),
                      ("CURL_CA_BUNDLE", "/run/brig/ca-bundle.pem"),
                      ("GIT_SSL_CAINFO", "/run/brig/ca-bundle.pem"),
                      ("DENO_CERT", "/run/brig/ca-bundle.pem"),
                      ("NODE_EXTRA_CA_CERTS", "/run/brig/ca.pem")):
        assert f"{var}={want}\n" in env, (var, env)


NODE_FETCH = """\
fetch(process.argv[1], {headers: {Authorization:
                                  'Bearer ' + process.env.VOICE_API_KEY}})
  .then(async r => console.log(JSON.stringify(
    {status: r.status, body: await r.text()})))
  .catch(e => { console.log(JSON.stringify(
    {error: String(e), cause: String(e.cause)})); process.exit(1); });
"""


def call_with(client, b, name, url):
    """An authenticated call (Bearer $VOICE_API_KEY) by CLIENT inside
    NAME: (status, body)."""
    if client == "python":
        a = fetch(b, name, url,
                  {"Authorization": "Bearer $VOICE_API_KEY"})
        return a["status"], a["body"]
    if client == "curl":
        return curl_answer(curl(b, name, url, "-H",
                                '"Authorization: Bearer $VOICE_API_KEY"'))
    if not os.access(NODE, os.X_OK):
        pytest.skip(f"no {NODE} on this machine")
    r = b("sandbox", "exec", name, "--", "node", "-e", NODE_FETCH, url)
    got = json.loads(ok(r))
    return got["status"], got["body"]


@pytest.mark.parametrize("client", ["python", "curl", "node"])
def test_walkthrough_call(demo, servers, client):
    """The API takes the placeholder as Bearer; the echo shows it back."""
    start = len(servers.api.requests)
    status, body = call_with(client, demo.brig, demo.name,
                             f"https://voice.test/v1/{client}")
    assert status == 200, body
    got = json.loads(body)
    assert got["authorized"] is True
    assert got["headers"]["authorization"] == \
        "Bearer " + demo.ph["VOICE_API_KEY"], got
    assert demo.voice not in body
    seen = new_requests(servers.api, start)
    assert [s["headers"]["authorization"] for s in seen] == \
        ["Bearer " + demo.voice], seen


def test_git_trusts_sandbox_ca(demo, servers):
    """git over HTTPS trusts the sandbox's CA with no flag (GIT_SSL_CAINFO)
    and the placeholder in its http.extraHeader reaches the API as the
    real value."""
    if not os.access(GIT_REMOTE, os.X_OK):
        pytest.skip(f"no {GIT_REMOTE} on this machine")
    start = len(servers.api.requests)
    log = Log(demo.brig, demo.name)
    r = demo.brig.sh(demo.name,
                     'git -c http.extraHeader="Authorization: Bearer '
                     '$VOICE_API_KEY" ls-remote https://voice.test/v1/git '
                     '2>&1')
    seen = new_requests(servers.api, start)
    assert "certificate" not in r.stdout, helpers.describe(r)
    assert seen, f"git reached no server: {log.new()}" + helpers.describe(r)
    assert seen[0]["headers"]["authorization"] == "Bearer " + demo.voice
    assert demo.voice not in r.stdout


# --- Nowhere inside, nowhere in the logs ----------------------------------

# Reads the value from stdin (never argv), then reports every readable
# file under the roots, every /proc/*/environ and cmdline and `env` that
# hold it, and where it saw the placeholder (to show the scan looks).
SCAN = r"""
import json, os, stat, subprocess, sys
needle = sys.stdin.buffer.read()
assert len(needle) > 20
ph = os.environb[b"VOICE_API_KEY"]
hits, ph_seen, files, procs = [], [], 0, 0
def check(where, data):
    if needle in data:
        hits.append(where)
    if ph in data:
        ph_seen.append(where)
for root in ("/sandbox", "/tmp", "/run", "/etc"):
    for d, dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            try:
                if not stat.S_ISREG(os.lstat(p).st_mode):
                    continue
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            files += 1
            check(p, data)
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for what in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                data = f.read()
        except OSError:
            continue
        procs += 1
        check(f"/proc/{pid}/{what}", data)
check("env", subprocess.run(["env"], capture_output=True).stdout)
print(json.dumps({"hits": hits, "placeholder": ph_seen, "files": files,
                  "procs": procs}))
"""


def host_files(root, skip=()):
    """Every regular file under ROOT, as (path, bytes), but those named
    in SKIP and those this user cannot read."""
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if n in skip or not stat.S_ISREG(os.lstat(p).st_mode):
                continue
            try:
                with open(p, "rb") as f:
                    yield p, f.read()
            except OSError:
                continue


def test_real_value_found_nowhere(demo, servers):
    """The value is in no file, process or env inside, event or log line."""
    b, name, value = demo.brig, demo.name, demo.voice
    # Give every path a chance to write it: a resolved call whose answer
    # reflects it, a large answer holding it, and a leak attempt.
    ok(b.sh(name, "env > /sandbox/env.txt; cp /sandbox/env.txt /tmp/"))
    a = fetch(b, name, "https://voice.test/scan",
              {"Authorization": "Bearer $VOICE_API_KEY"})
    assert a["status"] == 200, a
    a = fetch(b, name, "https://voice.test/big",
              {"Authorization": "Bearer $VOICE_API_KEY"})
    assert a["status"] == 200, a["status"]
    a = fetch(b, name, "https://voice.test/leak",
              secret_headers={"Authorization": "Bearer " + value})
    assert a["status"] == 403, a
    r = b.sh(name, "curl -sS -o /dev/null -w '%{http_code}' -K -",
             input=f'url = "https://voice.test/leak/{value}?key={value}"\n')
    assert ok(r) == "403", helpers.describe(r)
    sleeper = b.popen("sandbox", "exec", name, "--", "sleep", "30")
    try:
        r = b("sandbox", "exec", name, "--", "python3", "-c", SCAN,
              input=value)
        got = json.loads(ok(r))
    finally:
        netsupport.stop(sleeper)
    assert got["hits"] == [], got["hits"]
    assert got["files"] > 50 and got["procs"] >= 2, got
    assert "/sandbox/env.txt" in got["placeholder"], got
    assert "/tmp/env.txt" in got["placeholder"], got
    assert any(p.endswith("/environ") for p in got["placeholder"]), got
    assert "env" in got["placeholder"], got

    for args in (["logs", name, "-o", "json", "-n", "1000000"],
                 ["logs", name, "-n", "1000000"],
                 ["sandbox", "get", name, "-o", "json"],
                 ["sandbox", "list"], ["provider", "list", "-o", "json"]):
        out = ok(b(*args))
        assert value not in out, args
    events = netsupport.events(b, name)
    assert any(e.get("reason") == "secret_leak" for e in events), \
        "the leak attempt left no event"
    assert any(e.get("path") == "/big" for e in events), events[-5:]

    scanned = {}
    for p, data in host_files(b.state, skip=("brig.db", "brig.db-wal",
                                             "brig.db-shm")):
        scanned[os.path.basename(p)] = scanned.get(os.path.basename(p), 0) + 1
        assert value.encode() not in data, p
    assert scanned.get("events.jsonl") and scanned.get("supervisor.log"), \
        scanned

    pid = b.get(name)["supervisor_pid"]
    for what in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                data = f.read()
        except PermissionError:
            continue  # not dumpable: unreadable to all but root
        assert value.encode() not in data, f"supervisor's {what}"
        assert b"VOICE_API_KEY" not in data, f"supervisor's {what}"


# --- Where a placeholder is resolved --------------------------------------

def test_bound_credential_refused_elsewhere(demo, servers):
    """A key bound to voice.test is refused toward other.test (mismatch)."""
    b, name = demo.brig, demo.name
    log = Log(b, name)
    start = len(servers.api.requests)
    status, body = curl_answer(curl(b, name, "https://other.test/v1/bound",
                                    "-H", '"x-api-key: $BOUND_API_KEY"'))
    got = denial(status, body)
    assert got["error"] == "credential_endpoint_mismatch", got
    assert (got["host"], got["port"]) == ("other.test", 443), got
    assert new_requests(servers.api, start) == [], \
        "the refused request reached the server"
    events = helpers.wait_for(
        lambda: [e for e in log.new()
                 if e.get("reason") == "credential_endpoint_mismatch"], 5)
    assert events and events[0]["host"] == "other.test", log.new()
    assert events[0]["action"] == "deny" and events[0]["binary"] == CURL

    status, body = curl_answer(curl(b, name, "https://voice.test/v1/bound",
                                    "-H", '"x-api-key: $BOUND_API_KEY"'))
    assert status == 200, body
    assert json.loads(body)["headers"]["x-api-key"] == \
        demo.ph["BOUND_API_KEY"]
    assert servers.api.requests[-1]["headers"]["x-api-key"] == demo.bound

    # The unbound key goes to other.test as well: it is resolved there.
    status, body = curl_answer(curl(b, name, "https://other.test/v1/open",
                                    "-H", '"x-api-key: $VOICE_API_KEY"'))
    assert status == 200, body
    assert servers.api.requests[-1]["headers"]["x-api-key"] == demo.voice


LEAKS = {
    # curl -K - reads its configuration (holding the value) from stdin.
    "bearer": ('header = "Authorization: Bearer {v}"\n', "/leak"),
    "x-api-key": ('header = "x-api-key: {v}"\n', "/leak"),
    "query": ("", "/leak?key={v}"),
    "path": ("", "/leak/{v}/x"),
    "basic": ('user = "someone:{v}"\n', "/leak"),
    "body": ('data = "token={v}"\n', "/leak"),
}


@pytest.mark.parametrize("where", sorted(LEAKS))
def test_real_value_blocked(demo, servers, where):
    """A request holding the real value is refused: secret_leak, high."""
    b, name, value = demo.brig, demo.name, demo.voice
    log = Log(b, name)
    start = len(servers.api.requests)
    config, path = LEAKS[where]
    config = config.format(v=value) + \
        f'url = "https://voice.test{path.format(v=value)}"\n'
    r = b.sh(name, "curl -sS --max-time 10 -w '\\n%{http_code}' -K -",
             input=config)
    assert value not in r.stdout + r.stderr
    status, body = curl_answer(r)
    got = denial(status, body)
    assert got["error"] == "secret_leak", got
    assert all(value not in json.dumps(s)
               for s in new_requests(servers.api, start)), \
        "the real value reached the server"
    events = helpers.wait_for(
        lambda: [e for e in log.new() if e.get("reason") == "secret_leak"],
        5)
    assert len(events) == 1, log.new()
    e = events[0]
    assert (e["action"], e["host"], e["binary"]) == \
        ("deny", "voice.test", CURL), e
    assert value not in json.dumps(log.new()), "the value is in an event"
    assert e["severity_id"] == SEVERITY_HIGH, e


# A POST whose body holds the value (read from stdin) cut in two at a
# TLS record boundary, so no single read of the proxy holds all of it.
SPLIT_BODY = r"""
import http.client, json, ssl, sys, time
value = sys.stdin.read().encode()
body = b"x" * 5000 + b"token=" + value + b"&" + b"y" * 5000
cut = 5000 + 6 + len(value) // 2
c = http.client.HTTPSConnection("127.0.0.1", 3128, timeout=10,
                                context=ssl.create_default_context())
c.set_tunnel("voice.test", 443)
c.putrequest("POST", "/leak-split")
c.putheader("Content-Length", str(len(body)))
c.putheader("Content-Type", "application/x-www-form-urlencoded")
c.endheaders()
for part in (body[:cut], body[cut:]):
    time.sleep(0.2)
    try:
        c.send(part)
    except OSError:
        break
try:
    r = c.getresponse()
    print(json.dumps({"status": r.status, "body": r.read().decode()}))
except (OSError, http.client.HTTPException) as e:
    print(json.dumps({"status": 0, "body": repr(e)}))
"""


def test_real_value_in_split_body_blocked(demo, servers):
    """A real value in a request body split across reads is still refused."""
    b, name, value = demo.brig, demo.name, demo.voice
    start = len(servers.api.requests)
    r = b("sandbox", "exec", name, "--", "python3", "-c", SPLIT_BODY,
          input=value)
    got = json.loads(ok(r))
    time.sleep(0.3)  # the server records a request once its body is in
    leaked = [s for s in new_requests(servers.api, start)
              if value in json.dumps(s)]
    assert not leaked, "the real value reached the server in a body"
    assert got["status"] == 403, got


def test_placeholder_not_resolved_over_plain_http(demo, servers):
    """Over plain HTTP the server gets the placeholder, not the value."""
    b, name = demo.brig, demo.name
    for opts in ([], ["--proxytunnel"]):
        start = len(servers.plain.requests)
        status, body = curl_answer(curl(
            b, name, "http://plain.test/v1/plain", *opts, "-H",
            '"Authorization: Bearer $VOICE_API_KEY"'))
        assert status == 401, (opts, body)
        seen = new_requests(servers.plain, start)
        assert [s["headers"]["authorization"] for s in seen] == \
            ["Bearer " + demo.ph["VOICE_API_KEY"]], (opts, seen)


# An endpoint that lets credentials cross in plain text.
PLAIN_OPT_IN = """\
      - host: optin.test
        port: 80
        allow_uninspected_credentials: true
"""


def test_placeholder_resolved_over_plain_http_opt_in(brig, servers,
                                                      tmp_path):
    """allow_uninspected_credentials: the placeholder is resolved over
    plain HTTP, as a proxy request and inside a CONNECT tunnel, and the
    answer comes back scrubbed."""
    b = scrubbed_brig(brig)
    value = real_value("sk-plain-key")
    servers.secrets.append(value)
    ok(b("provider", "create", "--name", "plain-api", "--type", "generic",
         "--credential", "VOICE_API_KEY", env={"VOICE_API_KEY": value}))
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(PLAIN_OPT_IN))
    ok(create_sandbox(b, servers, "plain", path, "plain-api"))
    ph = placeholder(b, "plain", "VOICE_API_KEY")
    for opts in ([], ["--proxytunnel"]):
        start = len(servers.plain.requests)
        status, body = curl_answer(curl(
            b, "plain", "http://optin.test/v1/plain", *opts, "-u",
            '"user:$VOICE_API_KEY"', "-H",
            '"Authorization2: Bearer $VOICE_API_KEY"'))
        assert status == 200, (opts, body)
        seen = new_requests(servers.plain, start)
        assert [s["headers"]["authorization2"] for s in seen] == \
            ["Bearer " + value], (opts, seen)
        assert value not in body and ph in body, (opts, body)
        echoed = json.loads(body)["headers"]["authorization"]
        assert netsupport.basic_password(echoed) == ph, (opts, echoed)
    # plain.test did not opt in: the same sandbox does not resolve there.
    start = len(servers.plain.requests)
    status, body = curl_answer(curl(
        b, "plain", "http://plain.test/v1/plain", "-H",
        '"Authorization: Bearer $VOICE_API_KEY"'))
    assert status == 401, body
    assert new_requests(servers.plain, start)[0]["headers"][
        "authorization"] == "Bearer " + ph


def test_bound_placeholder_refused_over_plain_http(demo, servers):
    """A key bound to voice.test sent to plain.test over plain HTTP is
    refused (mismatch), though it would not have been resolved there."""
    b, name = demo.brig, demo.name
    log = Log(b, name)
    start = len(servers.plain.requests)
    status, body = curl_answer(curl(
        b, name, "http://plain.test/v1/plain", "-H",
        '"x-api-key: $BOUND_API_KEY"'))
    got = denial(status, body)
    assert got["error"] == "credential_endpoint_mismatch", got
    assert new_requests(servers.plain, start) == []
    events = helpers.wait_for(
        lambda: [e for e in log.new()
                 if e.get("reason") == "credential_endpoint_mismatch"], 5)
    assert events and events[0]["host"] == "plain.test", log.new()


def test_host_mismatch_in_tunnel(demo, servers):
    """A Host header inside the tunnel naming another host is refused."""
    b, name = demo.brig, demo.name
    start = len(servers.api.requests)
    status, body = curl_answer(curl(
        b, name, "https://voice.test/v1/host", "-H", "'Host: other.test'",
        "-H", '"Authorization: Bearer $VOICE_API_KEY"'))
    got = denial(status, body)
    assert got["reason"] == "host_mismatch", got
    assert new_requests(servers.api, start) == []


# Opens TLS to voice.test:443, through the proxy (CONNECT) or directly
# (captured), sending the SNI given; prints whether the handshake held.
SNI = r"""
import json, socket, ssl, sys
how, sni = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
if how == "connect":
    s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    s.sendall(b"CONNECT voice.test:443 HTTP/1.1\r\n"
              b"Host: voice.test:443\r\n\r\n")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = s.recv(1)
        if not c:
            break
        head += c
    assert head.split()[1] == b"200", head
else:
    s = socket.create_connection(("voice.test", 443), timeout=10)
try:
    t = ctx.wrap_socket(s, server_hostname=sni)
    t.sendall(b"GET /v1/sni HTTP/1.1\r\nHost: voice.test\r\n"
              b"Connection: close\r\n\r\n")
    data = b""
    while b"\r\n" not in data:
        c = t.recv(65536)
        if not c:
            break
        data += c
    print(json.dumps({"handshake": True,
                      "status": int(data.split()[1]) if data else 0}))
except (OSError, ssl.SSLError) as e:
    print(json.dumps({"handshake": False, "error": repr(e)}))
"""


@pytest.mark.parametrize("how", ["connect", "capture"])
def test_sni_mismatch_refused(demo, servers, how):
    """A handshake whose SNI is not the target fails; the right SNI works."""
    b, name = demo.brig, demo.name
    start = len(servers.api.requests)
    r = b("sandbox", "exec", name, "--", "python3", "-c", SNI, how,
          "other.test")
    got = json.loads(ok(r))
    assert got["handshake"] is False, got
    assert new_requests(servers.api, start) == []
    r = b("sandbox", "exec", name, "--", "python3", "-c", SNI, how,
          "voice.test")
    got = json.loads(ok(r))
    assert got == {"handshake": True, "status": 401}, got


def test_sni_mismatch_openssl(demo):
    """openssl s_client -servername other.test to voice.test fails."""
    b, name = demo.brig, demo.name
    probe = b.sh(name, "command -v openssl")
    if probe.returncode != 0:
        pytest.skip("no openssl CLI inside the sandbox")
    script = ("openssl s_client -proxy 127.0.0.1:3128 -connect voice.test:443"
              " -servername {sni} -verify_return_error </dev/null")
    r = b.sh(name, script.format(sni="other.test"))
    assert r.returncode != 0, helpers.describe(r)
    r = b.sh(name, script.format(sni="voice.test"))
    assert r.returncode == 0, helpers.describe(r)


# One request on a fresh inspected tunnel that asks for the connection
# to end after the answer (HTTP/1.0, or Connection: close), read until
# the connection ends or 3 s pass.
ONE_SHOT = r"""
import json, socket, ssl, sys, time
version = sys.argv[1]
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(b"CONNECT voice.test:443 HTTP/1.1\r\nHost: voice.test:443\r\n\r\n")
head = b""
while not head.endswith(b"\r\n\r\n"):
    head += s.recv(1)
t = ssl.create_default_context().wrap_socket(s, server_hostname="voice.test")
close = "Connection: close\r\n" if version == "1.1" else ""
t.sendall(f"GET /v1/oneshot HTTP/{version}\r\nHost: voice.test\r\n{close}\r\n"
          .encode())
t.settimeout(3)
data, eof = b"", False
try:
    while True:
        c = t.recv(65536)
        if not c:
            eof = True
            break
        data += c
except (OSError, ssl.SSLError):
    pass
head, _, body = data.partition(b"\r\n\r\n")
print(json.dumps({"eof": eof, "head": head.decode("latin-1"),
                  "body": body.decode("latin-1")}))
"""


def unchunk(body):
    out = ""
    while True:
        size, _, rest = body.partition("\r\n")
        n = int(size.split(";")[0], 16)
        if n == 0:
            return out
        out, body = out + rest[:n], rest[n + 2:]


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_answer_then_end_of_connection(demo, version):
    """HTTP/1.0 or Connection: close: a whole, readable answer, then EOF."""
    b, name = demo.brig, demo.name
    r = b("sandbox", "exec", name, "--", "python3", "-c", ONE_SHOT, version)
    got = json.loads(ok(r))
    assert got["head"].split()[1] == "401", got
    chunked = re.search(r"(?im)^transfer-encoding:.*chunked", got["head"])
    if version == "1.0":
        assert not chunked, "chunked answer to an HTTP/1.0 request:\n" + \
            got["head"]
    body = unchunk(got["body"]) if chunked else got["body"]
    assert json.loads(body)["path"] == "/v1/oneshot", got
    assert got["eof"], "the tunnel stayed open after the answer"


# --- How a placeholder may travel -----------------------------------------

def test_basic_auth_resolved(demo, servers):
    """curl -u user:$VOICE_API_KEY is resolved inside the Basic token."""
    b, name = demo.brig, demo.name
    status, body = curl_answer(curl(b, name, "https://voice.test/v1/basic",
                                    "-u", '"user:$VOICE_API_KEY"'))
    assert status == 200, body
    assert netsupport.basic_password(
        servers.api.requests[-1]["headers"]["authorization"]) == demo.voice


def test_basic_auth_reflection_scrubbed(demo, servers):
    """A reflected Basic token decodes to the placeholder, not the value."""
    b, name = demo.brig, demo.name
    status, body = curl_answer(curl(b, name, "https://voice.test/v1/basic",
                                    "-u", '"user:$VOICE_API_KEY"'))
    assert status == 200, body
    echoed = json.loads(body)["headers"]["authorization"]
    assert netsupport.basic_password(echoed) == demo.ph["VOICE_API_KEY"], \
        f"the answer hands the agent {echoed!r}, base64 of the real value"


@pytest.mark.parametrize("where", ["query", "path", "x-api-key"])
def test_placeholder_in_url_and_header_resolved(demo, servers, where):
    """A placeholder in ?key=, a path segment or x-api-key is resolved."""
    b, name = demo.brig, demo.name
    url, opts = {
        "query": ('"https://voice.test/v1/q?key=$VOICE_API_KEY&x=1"', []),
        "path": ('"https://voice.test/v1/$VOICE_API_KEY/speak"', []),
        "x-api-key": ("https://voice.test/v1/h",
                      ["-H", '"x-api-key: $VOICE_API_KEY"']),
    }[where]
    script = ("curl -sS --max-time 10 -w '\\n%{http_code}' "
              + " ".join(opts) + " " + url)
    status, body = curl_answer(b.sh(name, script))
    assert status == 200, body
    seen = servers.api.requests[-1]
    ph = demo.ph["VOICE_API_KEY"]
    got = json.loads(body)
    if where == "x-api-key":
        assert seen["headers"]["x-api-key"] == demo.voice
        assert got["headers"]["x-api-key"] == ph
    else:
        assert demo.voice in seen["path"] and ph not in seen["path"], seen
        assert ph in got["path"] and demo.voice not in body, got


def test_request_body_not_rewritten_by_default(demo, servers):
    """A placeholder in a body goes as is where the endpoint did not opt in."""
    b, name = demo.brig, demo.name
    a = fetch(b, name, "https://voice.test/v1/body", method="POST",
              body='{"key": "$VOICE_API_KEY"}',
              headers={"Content-Type": "application/json"})
    assert a["status"] == 401, a
    assert servers.api.requests[-1]["body"] == \
        json.dumps({"key": demo.ph["VOICE_API_KEY"]})


def test_request_body_rewrite_opt_in(brig, servers, tmp_path):
    """request_body_credential_rewrite: the value in the body, length fixed."""
    b = scrubbed_brig(brig)
    value = real_value("sk-body-key")
    servers.secrets.append(value)
    ok(b("provider", "create", "--name", "body-api", "--type", "generic",
         "--credential", "VOICE_API_KEY", "--host", "body.test",
         env={"VOICE_API_KEY": value}))
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(BODY_ENDPOINT))
    ok(create_sandbox(b, servers, "body", path, "body-api"))
    for chunked in (False, True):
        start = len(servers.api.requests)
        body = '{"key": "$VOICE_API_KEY", "pad": "' + "p" * 3000 + '"}'
        headers = {"Content-Type": "application/json"}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        a = fetch(b, "body", "https://body.test/v1/key/in/body",
                  method="POST", body=body, headers=headers)
        seen = new_requests(servers.api, start)
        assert len(seen) == 1, seen
        got = json.loads(seen[0]["body"])
        assert got == {"key": value, "pad": "p" * 3000}, seen
        assert a["status"] == 401, a  # the key is not where it looks
        # The reflected body holds the value: it comes back scrubbed.
        assert value not in a["body"]
        assert placeholder(b, "body", "VOICE_API_KEY") in a["body"]


# --- Responses ------------------------------------------------------------

@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_large_response_scrubbed(demo, servers, framing):
    """200 KiB holding the value across reads comes back with placeholders."""
    b, name = demo.brig, demo.name
    url = "https://voice.test/big" + ("?chunked=1" if framing == "chunked"
                                      else "")
    a = fetch(b, name, url, {"Authorization": "Bearer $VOICE_API_KEY"})
    assert a["status"] == 200, a["status"]
    ph = demo.ph["VOICE_API_KEY"]
    sent, _ = netsupport.big_body(demo.voice)
    want = sent.replace(demo.voice.encode(), ph.encode())
    got = a["body"].encode("latin-1")
    assert demo.voice.encode() not in got
    assert got.count(ph.encode()) == sent.count(demo.voice.encode())
    assert got == want, "the answer was changed beyond the value"
    headers = {k.lower(): v for k, v in a["headers"].items()}
    assert headers["x-echo-key"] == ph, headers


# --- The provider and its store -------------------------------------------

def test_provider_get_shows_no_value(demo):
    """provider get and list show keys and hosts, never the value."""
    b = demo.brig
    for args in (["provider", "get", "voice-api"],
                 ["provider", "get", "voice-api", "-o", "json"],
                 ["provider", "get", "bound-api", "-o", "json"],
                 ["provider", "list"], ["provider", "list", "-o", "json"]):
        out = ok(b(*args))
        assert demo.voice not in out and demo.bound not in out, args
    p = json.loads(ok(b("provider", "get", "voice-api", "-o", "json")))
    assert p["keys"] == ["VOICE_API_KEY"] and p["type"] == "generic", p
    text = ok(b("provider", "get", "voice-api"))
    assert "VOICE_API_KEY" in text


def test_store_file_modes(demo):
    """The store is 0600 (and its WAL and shm) in a 0700 directory."""
    state = demo.brig.state
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    db = os.path.join(state, "brig.db")
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    with open(db, "rb") as f:
        whole = f.read()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            assert stat.S_IMODE(os.stat(db + suffix).st_mode) == 0o600
            with open(db + suffix, "rb") as f:
                whole += f.read()
    # The check is about a file that does hold the value.
    assert demo.voice.encode() in whole


# --- Two sandboxes ---------------------------------------------------------

def test_placeholders_differ_between_sandboxes(demo, servers):
    """Two sandboxes get different placeholders; neither works in the other."""
    b, ph = demo.brig, demo.ph["VOICE_API_KEY"]
    ok(create_sandbox(b, servers, "second", demo.policy, "voice-api",
                      "bound-api"))
    other = placeholder(b, "second", "VOICE_API_KEY")
    assert PLACEHOLDER.fullmatch(other) and other != ph
    assert placeholder(b, "second", "BOUND_API_KEY") != \
        demo.ph["BOUND_API_KEY"]

    # Each works in its own sandbox ...
    for name in ("second", demo.name):
        status, body = curl_answer(curl(
            b, name, "https://voice.test/v1/own",
            "-H", '"Authorization: Bearer $VOICE_API_KEY"'))
        assert status == 200, (name, body)
    # ... and not in the other: the server never gets the value for it.
    for name, foreign in (("second", ph), (demo.name, other)):
        start = len(servers.api.requests)
        status, body = curl_answer(curl(
            b, name, "https://voice.test/v1/foreign",
            "-H", shlex.quote(f"Authorization: Bearer {foreign}")))
        assert status in (401, 403), (name, status, body)
        assert all(demo.voice not in json.dumps(s)
                   for s in new_requests(servers.api, start))
    ok(b("sandbox", "delete", "second"))
