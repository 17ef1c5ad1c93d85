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
