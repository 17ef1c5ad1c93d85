"""The client half of bench/proxy: runs inside a sandbox (passed to
`python3 -c`) or on the host, and prints one JSON object on stdout.

usage: client.py MODE TARGET [PROXY] [ARG] [BUDGET]
  MODE    throughput | latency | hold
  TARGET  HOST:PORT to reach
  PROXY   HOST:PORT of a proxy to CONNECT through, "env" for the
          HTTPS_PROXY variable, or "-" to connect straight to TARGET
  ARG     throughput: bytes to send; latency: connections; hold: tunnels

throughput: sends an 8-byte length, then ARG bytes from a preallocated
buffer with sendall; the sink replies once it has counted them all. The
time is from the first byte to that reply.
latency: ARG sequential connections, each connect (+ CONNECT and its 200)
+ one 32-byte round trip; one sample in microseconds per connection.
hold: opens up to ARG tunnels, stopping after BUDGET seconds, and keeps
them; prints how many it got and the time at every 500th, then waits
for its stdin to close before letting them go.
"""

import json
import os
import resource
import socket
import sys
import time
from urllib.parse import urlsplit

CHUNK = 16 << 20


def proxy_addr(arg):
    if arg == "-":
        return None
    if arg == "env":
        url = os.environ.get("HTTPS_PROXY") or os.environ["https_proxy"]
        u = urlsplit(url)
        return (u.hostname, u.port)
    host, _, port = arg.rpartition(":")
    return (host, int(port))


def open_conn(target, proxy, timeout=None):
    """A connected socket to target, through proxy's CONNECT if given."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if proxy is None:
            s.connect(target)
            return s
        s.connect(proxy)
        hp = f"{target[0]}:{target[1]}".encode()
        s.sendall(b"CONNECT " + hp + b" HTTP/1.1\r\nHost: " + hp
                  + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            got = s.recv(4096)
            if not got:
                raise ConnectionError(f"proxy closed after {head!r}")
            head += got
        status = head.split(b" ", 2)[1:2]
        if status != [b"200"]:
            raise ConnectionError(head.decode(errors="replace")[:300])
        return s
    except BaseException:
        s.close()
        raise


def recv_exact(s, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = s.recv_into(view[got:])
        if k == 0:
            raise ConnectionError(f"EOF after {got} of {n} bytes")
        got += k
    return bytes(buf)


def throughput(target, proxy, total):
    buf = bytearray(os.urandom(1 << 16)) * (CHUNK >> 16)
    s = open_conn(target, proxy)
    s.sendall(total.to_bytes(8, "big"))
    start = time.perf_counter_ns()
    left = total
    while left > 0:
        if left >= CHUNK:
            s.sendall(buf)
            left -= CHUNK
        else:
            s.sendall(memoryview(buf)[:left])
            left = 0
    ack = recv_exact(s, 2)
    elapsed = time.perf_counter_ns() - start
    s.close()
    return {"bytes": total, "seconds": elapsed / 1e9, "ack": ack.decode()}


def latency(target, proxy, n):
    msg = b"x" * 32
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        s = open_conn(target, proxy, timeout=10)
        s.sendall(msg)
        recv_exact(s, len(msg))
        samples.append((time.perf_counter_ns() - start) / 1e3)
        s.close()
    return {"samples_us": samples}


def hold(target, proxy, n, budget):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    socks, errors = [], []
    start = time.perf_counter()
    failures_in_row = 0
    marks = []
    out_of_time = False
    for i in range(n):
        if i % 100 == 0:
            now = time.perf_counter() - start
            if i % 500 == 0:
                marks.append([i, round(now, 3)])
            if budget and now > budget:
                out_of_time = True
                break
        try:
            socks.append(open_conn(target, proxy, timeout=5))
            failures_in_row = 0
        except (OSError, ConnectionError) as e:
            errors.append({"index": i, "open": len(socks),
                           "error": f"{type(e).__name__}: {e}"})
            failures_in_row += 1
            if failures_in_row >= 3:
                break
    elapsed = time.perf_counter() - start
    # Are the tunnels still open (not closed by the far side)?
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1):
                alive += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    out = {"requested": n, "opened": len(socks), "alive": alive,
           "seconds": elapsed, "nofile": list(nofile), "marks": marks,
           "out_of_time": out_of_time, "budget": budget,
           "errors": errors[:10], "nerrors": len(errors)}
    print(json.dumps(out), flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()
    return None


def main():
    mode, target = sys.argv[1], sys.argv[2]
    host, _, port = target.rpartition(":")
    proxy = proxy_addr(sys.argv[3] if len(sys.argv) > 3 else "-")
    arg = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    if mode == "hold":
        budget = float(sys.argv[5]) if len(sys.argv) > 5 else 0
        out = hold((host, int(port)), proxy, arg, budget)
    else:
        fn = {"throughput": throughput, "latency": latency}[mode]
        out = fn((host, int(port)), proxy, arg)
    if out is not None:
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
