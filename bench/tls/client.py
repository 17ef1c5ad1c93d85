"""The client half of bench/tls: runs inside a sandbox (passed to
`python3 -c`) or on the host, and prints one JSON object on stdout.

usage: client.py MODE PROXY CAFILE KEY ARGS...
  MODE    keepalive | first
  PROXY   "env" for the HTTPS_PROXY variable (CONNECT through it), or
          "direct:PORT" to connect straight to 127.0.0.1:PORT
  CAFILE  "-" for the default trust store (SSL_CERT_FILE, which holds
          the sandbox CA inside), a PEM file to trust instead, or
          "+FILE" for both
  KEY     the name of the environment variable whose value goes in
          "Authorization: Bearer ...", or "=VALUE" for the value itself

keepalive HOST N WARMUP: one http.client.HTTPSConnection to HOST:443,
WARMUP requests not counted, then N GET requests one after the other;
one latency sample (microseconds, request sent to body read) each.

first HOST...: for each HOST, a new connection (full handshake, no
session resumed): TCP connect (+ CONNECT and its 200),
the TLS handshake, then one GET up to the first byte of the response,
timed by phase; the rest of the response is read untimed.
"""

import json
import os
import socket
import ssl
import sys
import time
import http.client
from urllib.parse import urlsplit


def context(cafile):
    if cafile == "-":
        return ssl.create_default_context()
    if cafile.startswith("+"):
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cafile=cafile[1:])
        return ctx
    return ssl.create_default_context(cafile=cafile)


def proxy_addr(arg):
    if arg == "env":
        url = os.environ.get("HTTPS_PROXY") or os.environ["https_proxy"]
        u = urlsplit(url)
        return (u.hostname, u.port), None
    return None, int(arg.split(":", 1)[1])


def auth_value(key):
    if key.startswith("="):
        return key[1:]
    return os.environ[key]


def request_bytes(host, auth):
    return (f"GET /v1/ping HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {auth}\r\nAccept: application/json\r\n"
            "User-Agent: brig-bench-tls\r\n\r\n").encode()


def keepalive(proxy, port, ctx, auth, host, n, warmup):
    if proxy:
        conn = http.client.HTTPSConnection(proxy[0], proxy[1], context=ctx,
                                           timeout=30)
        conn.set_tunnel(host, 443)
    else:
        # Straight to the server, still checking the name HOST.
        conn = http.client.HTTPSConnection(host, 443, context=ctx,
                                           timeout=30)
        conn._create_connection = (
            lambda addr, timeout=None, source_address=None:
            socket.create_connection(("127.0.0.1", port), timeout))
    headers = {"Authorization": f"Bearer {auth}",
               "Accept": "application/json"}
    bodies = []
    for _ in range(warmup):
        conn.request("GET", "/v1/ping", headers=headers)
        r = conn.getresponse()
        bodies.append(r.read())
    sock = conn.sock
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    status_bad = 0
    pc = time.perf_counter_ns
    start = pc()
    for _ in range(n):
        t = pc()
        conn.request("GET", "/v1/ping", headers=headers)
        r = conn.getresponse()
        body = r.read()
        samples.append((pc() - t) / 1e3)
        if r.status != 200:
            status_bad += 1
    elapsed = (pc() - start) / 1e9
    last = json.loads(body)
    out = {"n": n, "seconds": elapsed, "samples_us": samples,
           "bad_status": status_bad, "same_socket": conn.sock is sock,
           "tls": sock.version(), "cipher": sock.cipher()[0],
           "response_bytes": len(body), "framing":
           r.getheader("Transfer-Encoding") or "content-length",
           "first": json.loads(bodies[0]) if bodies else None, "last": last}
    conn.close()
    return out


def recv_head(s):
    head = b""
    while b"\r\n\r\n" not in head:
        got = s.recv(4096)
        if not got:
            raise ConnectionError(f"proxy closed after {head!r}")
        head += got
    return head


def read_rest(s):
    """Reads what is left of one response (either framing), roughly."""
    data = b""
    s.settimeout(5)
    while True:
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            low = head.lower()
            if b"transfer-encoding: chunked" in low:
                if body.endswith(b"0\r\n\r\n"):
                    return data
            else:
                for line in low.split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        if len(body) >= int(line.split(b":")[1]):
                            return data
        got = s.recv(65536)
        if not got:
            return data
        data += got


def first(proxy, port, cafile, auth, hosts):
    pc = time.perf_counter_ns
    out = []
    # One context for all: a Python client resumes no session unless
    # asked to, so every connection is a full handshake (session_reused
    # says so).
    ctx = context(cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    for host in hosts:
        req = request_bytes(host, auth)
        row = {"host": host}
        try:
            t0 = pc()
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(30)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if proxy:
                s.connect(proxy)
                hp = f"{host}:443".encode()
                s.sendall(b"CONNECT " + hp + b" HTTP/1.1\r\nHost: " + hp
                          + b"\r\n\r\n")
                head = recv_head(s)
                if head.split(b" ", 2)[1:2] != [b"200"]:
                    raise ConnectionError(head.decode(errors="replace")
                                          [:200])
            else:
                s.connect(("127.0.0.1", port))
            t1 = pc()
            ss = ctx.wrap_socket(s, server_hostname=host)
            t2 = pc()
            ss.sendall(req)
            b = ss.recv(1)
            t3 = pc()
            if not b:
                raise ConnectionError("no response")
            rest = b + read_rest(ss)
            row.update(connect_us=(t1 - t0) / 1e3,
                       handshake_us=(t2 - t1) / 1e3,
                       request_us=(t3 - t2) / 1e3,
                       ttfb_us=(t3 - t0) / 1e3,
                       status=int(rest.split(b" ", 2)[1]),
                       resumed=ss.session_reused,
                       issuer=dict(x[0] for x in
                                   ss.getpeercert()["issuer"])
                       .get("commonName"))
            ss.close()
        except (OSError, ssl.SSLError, ConnectionError, ValueError) as e:
            row["error"] = f"{type(e).__name__}: {e}"[:300]
        out.append(row)
    return {"rows": out}


def main():
    mode, proxy_arg, cafile, key = sys.argv[1:5]
    args = sys.argv[5:]
    proxy, port = proxy_addr(proxy_arg)
    auth = auth_value(key)
    if mode == "keepalive":
        out = keepalive(proxy, port, context(cafile), auth, args[0],
                        int(args[1]), int(args[2]))
    else:
        out = first(proxy, port, cafile, auth, args)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
