"""Support for the network tests: a test CA made with the openssl CLI,
loopback servers run in threads of the test process (plain HTTP echo,
HTTPS echo, TCP echo), files put into a sandbox, and the event log read
as decisions."""

import asyncio
import http.server
import json
import os
import re
import resource
import select
import shutil
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

import helpers
from helpers import ok

# Class numbers of DESIGN.md section 9: a CONNECT or a captured
# connection is decided as Network Activity, an absolute-form request as
# HTTP Activity; both are closed as Network Activity.
NETWORK = 4001
HTTP = 4002


def raise_fd_limit():
    """Lets the test process hold the connections of the load test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- The test CA ----------------------------------------------------------

class TestCA:
    """A CA key and certificate, and one server certificate signed by it
    for NAMES (subjectAltName), all made by openssl in a fresh folder."""

    def __init__(self, names):
        if not shutil.which("openssl"):
            pytest.skip("no openssl CLI on this machine")
        self.dir = tempfile.mkdtemp(prefix="brig-e2e-ca-")
        d = self.dir
        self.ca_key, self.ca_cert = f"{d}/ca.key", f"{d}/ca.pem"
        self.key, self.cert = f"{d}/server.key", f"{d}/server.pem"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes"]
        self._openssl("req", "-x509", *ec, "-keyout", self.ca_key,
                      "-out", self.ca_cert, "-days", "2",
                      "-subj", "/CN=brig e2e test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._openssl("req", *ec, "-keyout", self.key,
                      "-out", f"{d}/server.csr", "-subj", f"/CN={names[0]}")
        with open(f"{d}/ext.cnf", "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=" + ",".join(f"DNS:{n}" for n in names)
                    + "\n")
        self._openssl("x509", "-req", "-in", f"{d}/server.csr",
                      "-CA", self.ca_cert, "-CAkey", self.ca_key,
                      "-set_serial", "1", "-days", "2",
                      "-extfile", f"{d}/ext.cnf", "-out", self.cert)

    def _openssl(self, *args):
        r = subprocess.run(["openssl", *args], capture_output=True,
                           text=True)
        assert r.returncode == 0, f"openssl {args[0]} failed: {r.stderr}"

    def pem(self):
        with open(self.ca_cert) as f:
            return f.read()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Loopback servers -----------------------------------------------------

class EchoHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with what it received, as JSON."""

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = json.dumps({
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode(errors="replace"),
            "tls": self.server.tls,
        }).encode()
        self.server.requests.append(json.loads(reply))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = answer

    def log_message(self, *args):
        pass


class EchoHTTPServer(http.server.ThreadingHTTPServer):
    """The echo handler on 127.0.0.1, over TLS when given a context."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, context=None):
        self.context = context
        self.tls = context is not None
        self.requests = []
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever,
                                       daemon=True)
        self.thread.start()

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the request's own thread, so a client
        # that never finishes one holds up nobody else.
        if self.context:
            request.settimeout(60)
            try:
                request = self.context.wrap_socket(request,
                                                   server_side=True)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

    def stop(self):
        self.shutdown()
        self.server_close()


def https_server(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ca.cert, ca.key)
    return EchoHTTPServer(ctx)


class TCPEchoServer:
    """Echoes bytes on 127.0.0.1, one asyncio loop in a thread; counts
    the connections it accepted and knows how many are open."""

    def __init__(self):
        self.accepted = 0
        self.open = 0
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,),
                                       daemon=True)
        self.thread.start()
        started.wait(5)

    def _run(self, started):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(
            self._serve, "127.0.0.1", 0, backlog=2048))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _serve(self, reader, writer):
        self.accepted += 1
        self.open += 1
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self.open -= 1
            writer.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# --- Inside the sandbox ---------------------------------------------------

def put(brig, name, path, data, mode="644"):
    """Writes DATA to PATH inside sandbox NAME (through the sandbox's own
    stdin, so it works whoever owns the workspace on the host)."""
    if isinstance(data, str):
        data = data.encode()
    r = brig("sandbox", "exec", name, "--", "sh", "-c",
             f'cat > "$1" && chmod {mode} "$1"', "put", path,
             input=data, binary=True)
    assert r.returncode == 0, "could not write " + path + helpers.describe(r)


# --- The event log --------------------------------------------------------

def events(brig, name, *opts):
    """Every stored event of NAME (`brig logs -o json`), parsed."""
    out = ok(brig("logs", name, "-o", "json", "-n", "1000000", *opts))
    return [json.loads(line) for line in out.splitlines()]


def is_decision(e):
    return e["class_uid"] in (NETWORK, HTTP) and \
        e.get("activity_name") != "close"


def is_close(e):
    return e["class_uid"] == NETWORK and e.get("activity_name") == "close"


class Log:
    """The events of one sandbox from a mark on, so that a test sharing
    a sandbox reads only what it caused."""

    def __init__(self, brig, name):
        self.brig, self.name = brig, name
        self.mark()

    def mark(self):
        self.start = len(events(self.brig, self.name))

    def new(self):
        return events(self.brig, self.name)[self.start:]

    def decisions(self, host=None, port=None):
        return [e for e in self.new() if is_decision(e)
                and (host is None or e.get("host") == host)
                and (port is None or e.get("port") == port)]

    def closes(self, host=None):
        return [e for e in self.new() if is_close(e)
                and (host is None or e.get("host") == host)]

    def decision(self, host, port=None, timeout=5):
        """The one decision for HOST (and PORT) since the mark; fails
        when there is none or more than one."""
        got = helpers.wait_for(lambda: self.decisions(host, port), timeout)
        # A second event for the same request would come right after.
        time.sleep(0.05)
        got = self.decisions(host, port)
        assert len(got) == 1, \
            f"expected one decision for {host}:{port}, got {got}"
        return got[0]


class Lines:
    """Reads a running command's stdout line by line, with deadlines.
    strict: a line that is not UTF-8 fails the test rather than being
    read with replacement characters."""

    def __init__(self, proc, strict=False):
        self.proc = proc
        self.buf = b""
        self.errors = "strict" if strict else "replace"

    def next(self, timeout):
        """The next line, or None after TIMEOUT seconds or at EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                return None
            data = os.read(self.proc.stdout.fileno(), 65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors=self.errors)

    def _until(self, found, what, timeout):
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(deadline - time.monotonic(), 0))
            if line is None:
                pytest.fail(f"no line {what} within {timeout}s; "
                            f"got {seen}")
            seen.append(line)
            if found(line):
                return seen

    def until(self, needle, timeout):
        """Lines up to and including the first that contains NEEDLE."""
        return self._until(lambda line: needle in line,
                           f"with {needle!r}", timeout)

    def until_match(self, pattern, timeout):
        """Lines up to and including the first that matches PATTERN."""
        return self._until(lambda line: re.search(pattern, line),
                           f"matching {pattern!r}", timeout)


def stop(proc):
    """Ends a command started with popen, if it is still running."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


# --- An API that takes only the real key ----------------------------------

def basic_password(value):
    """The password of an "Authorization: Basic ..." value, or None."""
    import base64
    import binascii
    scheme, _, token = (value or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        plain = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return plain.partition(":")[2]


def big_body(secret, size=200 * 1024):
    """A body of SIZE bytes with SECRET at offsets that straddle the usual
    read sizes (4, 16 and 64 KiB), and the pieces to write it in: each
    cut falls inside a copy of SECRET, so no single read holds it whole."""
    n = len(secret)
    line = b"the quick brown fox jumps over the lazy dog 0123456789\n"
    body = bytearray((line * (size // len(line) + 1))[:size])
    offsets = [0, 1000, 4096 - n // 2, 8192 - 1, 16384 - n + 1,
               32768 - n // 3, 65536 - n // 2, 100000, 131072 - 2,
               163840 - n // 2, size - n]
    for o in offsets:
        body[o:o + n] = secret.encode()
    cuts = sorted({o + n // 2 for o in offsets[:-1]} |
                  {o + 1 for o in offsets[1:-1]})
    pieces, last = [], 0
    for c in cuts + [size]:
        pieces.append(bytes(body[last:c]))
        last = c
    return bytes(body), pieces


class SecretAPIHandler(http.server.BaseHTTPRequestHandler):
    """An API that accepts a request only when it carries one of the
    server's secrets (Bearer, x-api-key, Basic password, ?key=, or a path
    segment), else 401. It reflects what it received as JSON, so whatever
    real value it got travels back in the response. /big answers a large
    body holding the secret (chunked with ?chunked=1) and an X-Echo-Key
    header holding it."""

    protocol_version = "HTTP/1.1"

    def secret_in(self):
        from urllib.parse import parse_qs, unquote, urlsplit
        h = self.headers
        url = urlsplit(self.path)
        given = [(h.get("Authorization") or "").removeprefix("Bearer "),
                 h.get("x-api-key"), basic_password(h.get("Authorization"))]
        given += parse_qs(url.query).get("key", [])
        given += [unquote(p) for p in url.path.split("/")]
        for s in self.server.secrets:
            if s in given:
                return s
        return None

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" not in te:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                break
            body += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return body

    def answer(self):
        body = self.read_body()
        secret = self.secret_in()
        seen = {
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode(errors="replace"),
            "tls": self.server.tls,
            "authorized": secret is not None,
        }
        self.server.requests.append(seen)
        if secret and self.path.startswith("/big"):
            return self.big(secret)
        reply = json.dumps(seen).encode()
        self.send_response(200 if secret else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def big(self, secret):
        chunked = "chunked=1" in self.path
        body, pieces = big_body(secret)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-Echo-Key", secret)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        for p in pieces:
            if chunked:
                p = b"%x\r\n%s\r\n" % (len(p), p)
            self.wfile.write(p)
            self.wfile.flush()
            time.sleep(0.002)  # separate TLS records, separate reads
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = answer

    def log_message(self, *args):
        pass


class SecretAPIServer(EchoHTTPServer):
    """SecretAPIHandler on 127.0.0.1, over TLS when given a context,
    accepting the values in SECRETS (a list the test may extend)."""

    def __init__(self, secrets, context=None):
        self.secrets = secrets
        super().__init__(context)
        # Before anyone knows the port: no request has been served yet.
        self.RequestHandlerClass = SecretAPIHandler


def secret_api_server(ca, secrets):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ca.cert, ca.key)
    return SecretAPIServer(secrets, ctx)
