"""Shared parts of the attacks on the network wall, the proxy, the
credentials and caller identity: listeners on the host that tell whether
an attack reached them, policies, and the programs run inside.

Every server is a thread of the test process. A listener answers each
connection with a token of its own, so an attack that prints the token
has reached the host; nothing depends on timing."""

import json
import os
import socket
import subprocess
import threading
import uuid

import pytest

PYTHON = os.path.realpath("/usr/bin/python3")  # /usr/bin/python3.11
CURL = "/usr/bin/curl"

FS = """\
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


def policy(tmp_path, *rules, name="policy.yaml"):
    """A policy file with one network rule per (endpoints, binaries):
    endpoints are (host, port) or (host, port, extra YAML lines)."""
    text = FS + "network_policies:\n" if rules else FS
    for i, (endpoints, binaries) in enumerate(rules):
        text += f"  r{i}:\n    name: r{i}\n    endpoints:\n"
        for ep in endpoints:
            text += f'      - host: "{ep[0]}"\n        port: {ep[1]}\n'
            for extra in ep[2:]:
                text += f"        {extra}\n"
        text += "    binaries:\n"
        text += "".join(f'      - path: "{b}"\n' for b in binaries)
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, 0o644)
    return path


def connect_to(host, port, to_port, addr="127.0.0.1"):
    return ["--connect-to", f"{host}:{port}:{addr}:{to_port}"]


# --- What the host has ----------------------------------------------------

def host_ipv4():
    """The host's first global IPv4 address, or None."""
    r = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                       capture_output=True, text=True)
    for line in r.stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
    return None


def host_has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def host_nameserver():
    """The first nameserver of the host's /etc/resolv.conf, or None."""
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1]
    except OSError:
        pass
    return None


def dns_query(name, qid=0x4242):
    """A DNS query for NAME, type A, recursion desired."""
    q = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"


def resolver_answers(server, port=53, timeout=1.0):
    """Whether SERVER answers a DNS query from the host itself."""
    if not server:
        return False
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(dns_query("example.com"), (server, port))
            return s.recv(512)[:2] == b"\x42\x42"
        except OSError:
            return False


# --- Listeners on the host ------------------------------------------------

class Listener:
    """A TCP (or unix) listener that greets each connection with its
    token and counts them."""

    def __init__(self, family=socket.AF_INET, addr="127.0.0.1"):
        self.token = "brig-reached-" + uuid.uuid4().hex[:12]
        self.accepted = 0
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        self.sock.bind(addr if family == socket.AF_UNIX else (addr, 0))
        self.sock.listen(64)
        self.port = None if family == socket.AF_UNIX \
            else self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                c.sendall(self.token.encode() + b"\n")
            except OSError:
                pass
            c.close()

    def stop(self):
        self.sock.close()


class UDPCatcher:
    """Receives datagrams on every address; answers a DNS query with a
    made-up address (203.0.113.7) so a lookup through it can be seen."""

    ANSWER = bytes([203, 0, 113, 7])

    def __init__(self, addr="0.0.0.0"):
        self.got = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            self.got.append(data)
            if len(data) > 12:
                # The question as it came, one answer pointing at it.
                reply = data[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00" \
                    b"\x00\x00" + data[12:] + b"\xc0\x0c\x00\x01\x00\x01" \
                    b"\x00\x00\x00\x3c\x00\x04" + self.ANSWER
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    def stop(self):
        self.sock.close()


# --- Programs run inside --------------------------------------------------

# Sends a request head (argv[1], JSON string) to the proxy inside and
# prints its answer as JSON: status, reason (from a JSON body), body, and
# after a 200 to CONNECT, what the tunnel's far end said first.
PROXY_SEND = r"""
import json, socket, sys
head = json.loads(sys.argv[1]).encode()
wait = float(sys.argv[2]) if len(sys.argv) > 2 else 10
s = socket.create_connection(("127.0.0.1", 3128), timeout=wait)
s.sendall(head)
data = b""
try:
    while b"\r\n\r\n" not in data:
        c = s.recv(65536)
        if not c:
            break
        data += c
    top, _, rest = data.partition(b"\r\n\r\n")
    status = int(top.split()[1]) if top else 0
    if status == 200 and head.startswith(b"CONNECT"):
        while b"\n" not in rest:
            c = s.recv(4096)
            if not c:
                break
            rest += c
    else:
        while True:
            c = s.recv(65536)
            if not c:
                break
            rest += c
except socket.timeout:
    status = status if data else -1
    top, _, rest = data.partition(b"\r\n\r\n")
body = rest.decode("latin-1")
try:
    reason = json.loads(body).get("reason")
except ValueError:
    reason = None
print(json.dumps({"status": status, "reason": reason, "body": body}))
"""


def proxy_send(brig, off, head, *opts, wait=10, env=None):
    """PROXY_SEND in a new sandbox; returns (answer, completed process)."""
    from escape import env_for
    r = brig("run", *opts, "--", "python3", "-c", PROXY_SEND,
             json.dumps(head.replace("\n", "\r\n")), wait,
             env=env_for(off, env), timeout=wait + 30)
    if r.returncode != 0 or not r.stdout.strip():
        return None, r
    return json.loads(r.stdout.strip().splitlines()[-1]), r


def require_gcc():
    import shutil
    if not shutil.which("gcc"):
        pytest.skip("no gcc on this machine to build the attack's library")


def shared_library(tmp_path, name="x"):
    """A small shared library (built with gcc), as bytes."""
    require_gcc()
    src = tmp_path / f"{name}.c"
    src.write_text("int brig_escape_injected = 1;\n")
    lib = tmp_path / f"{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)],
                   check=True)
    return lib.read_bytes()


# --- Credentials ----------------------------------------------------------

# One HTTPS request through a CONNECT tunnel, written by hand so that the
# tunnel's target, the SNI and the Host header can disagree. argv[1] is a
# JSON spec: connect, sni, host, method, path, headers (values may name
# $VARIABLES, expanded inside), body. A "{secret}" in a header or the body
# is replaced by stdin, so a real value never sits on a command line.
# Prints the answer as JSON: status (0 when the handshake failed), text.
TLS_REQUEST = r"""
import json, os, socket, ssl, sys
spec = json.loads(sys.argv[1])
secret = sys.stdin.read()
x = lambda v: os.path.expandvars(v).replace("{secret}", secret)
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(f"CONNECT {spec['connect']} HTTP/1.1\r\n\r\n".encode())
head = b""
while b"\r\n\r\n" not in head:
    c = s.recv(1)
    if not c:
        break
    head += c
if not head.startswith(b"HTTP/1.1 200"):
    print(json.dumps({"status": -1, "text": head.decode("latin-1")}))
    sys.exit(0)
ctx = ssl.create_default_context()
ctx.check_hostname = False
try:
    t = ctx.wrap_socket(s, server_hostname=spec["sni"])
except (OSError, ssl.SSLError) as e:
    print(json.dumps({"status": 0, "text": repr(e)}))
    sys.exit(0)
body = x(spec.get("body", "")).encode()
lines = [f"{spec.get('method', 'GET')} {x(spec['path'])} HTTP/1.1",
         f"Host: {spec['host']}", "Connection: close",
         f"Content-Length: {len(body)}"]
lines += [f"{k}: {x(v)}" for k, v in spec.get("headers", {}).items()]
t.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
out = b""
try:
    while True:
        c = t.recv(65536)
        if not c:
            break
        out += c
except (OSError, ssl.SSLError):
    pass
text = out.decode("latin-1")
status = int(text.split()[1]) if text.startswith("HTTP/") else 0
print(json.dumps({"status": status, "text": text}))
"""


def tls_request(brig, off, opts, secret="", **spec):
    """TLS_REQUEST in a new sandbox (brig run OPTS); returns (answer,
    completed process)."""
    from escape import env_for
    spec.setdefault("sni", spec["host"])
    spec.setdefault("connect", spec["host"] + ":443")
    r = brig("run", *opts, "--", "python3", "-c", TLS_REQUEST,
             json.dumps(spec), env=env_for(off), input=secret)
    if r.returncode != 0 or not r.stdout.strip():
        return None, r
    return json.loads(r.stdout.strip().splitlines()[-1]), r


def real_value(prefix="sk-escape"):
    """A credential value unique to this run."""
    return f"{prefix}-{uuid.uuid4().hex}"


def provider(brig, name, key, value, host=None):
    """`brig provider create` NAME with KEY=VALUE (through the
    environment, never the command line), bound to HOST when given."""
    args = ["provider", "create", "--name", name, "--type", "generic",
            "--credential", key]
    if host:
        args += ["--host", host]
    r = brig(*args, env={key: value})
    assert r.returncode == 0, r.stderr
    return name


def seen_by(server, path):
    """What SERVER received for PATH (a list, usually of one)."""
    return [q for q in server.requests if q["path"].split("?")[0] == path]


class CredServers:
    """A test CA, an API that reflects what it got over TLS (for every
    name in NAMES) and the same API over plain HTTP (plain.test)."""

    NAMES = ["allowed.test", "denied.test", "voice.test", "other.test"]

    def __init__(self):
        import netsupport
        self.secrets = []
        self.ca = netsupport.TestCA(self.NAMES)
        self.tls = netsupport.secret_api_server(self.ca, self.secrets)
        self.plain = netsupport.SecretAPIServer(self.secrets)

    def policy(self, tmp_path):
        """python may reach every name but denied.test."""
        return policy(tmp_path, (
            [(n, 443) for n in self.NAMES if n != "denied.test"] +
            [("plain.test", 80)], [PYTHON]))

    def opts(self, policy_path, *providers):
        o = ["--policy", policy_path, "--upstream-ca", self.ca.ca_cert]
        for n in self.NAMES:
            o += connect_to(n, 443, self.tls.port)
        o += connect_to("plain.test", 80, self.plain.port)
        for p in providers:
            o += ["--provider", p]
        return o

    def stop(self):
        self.tls.stop()
        self.plain.stop()
        self.ca.cleanup()
