#!/usr/bin/env python3
"""Benchmarks brig's HTTPS inspection: small keep-alive HTTPS requests
through inspection, through a pass-through tunnel and direct; and the
cost of a leaf certificate, a new connection to a host the sandbox CA
has signed for before (cache hit) against one it has not (miss).
Prints a report and writes JSON; asserts nothing.

usage: tls.py BRIG JSON_OUT   (BRIG_STATE_DIR must be set)

One loopback HTTPS server (a test CA made with the openssl CLI, a
certificate for inspect.test, pass.test and *.inspect.test) answers
every GET with about 100 bytes of JSON saying whether the Authorization
header held the real key, the placeholder or something else. A provider
binds VOICE_API_KEY to inspect.test and *.inspect.test, so the proxy
terminates TLS toward those names and passes pass.test through. The
names are mapped to the server with --connect-to (at most 64: two plus
MISS_HOSTS names hN.inspect.test, the leaf cache misses).

The sandboxed clients run client.py inside (`python3 -c`); the direct
client runs the same code on the host, with the real key.
"""

import json
import multiprocessing
import os
import platform
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "client.py")
with open(CLIENT) as _f:
    CLIENT_SRC = _f.read()

PYTHON = "/usr/bin/python3"
PYTHON_EXE = os.path.realpath(PYTHON)
KEY_NAME = "VOICE_API_KEY"
KEY_VALUE = "sk-bench-secret-0123456789"
INSPECT = "inspect.test"
PASS = "pass.test"
MAX_CONNECT_TO = 64  # PROXY_MAX_CONNECT_TO
MISS_HOSTS = MAX_CONNECT_TO - 2
ROUNDS = 20
REQUESTS = 1000  # per mode and round
WARMUP = 50
MODES = ("inspected", "passthrough", "direct")
# The leaf cache is the sandbox's: each sandbox (a new CA, an empty
# cache) gives MISS_HOSTS more misses. The first is the one of the
# keep-alive runs; the others are made for this alone.
LEAF_SANDBOXES = 3
EXEC_BASELINE = 10

POLICY = """version: 1
network_policies:
  bench:
    name: bench
    endpoints:
      - {{ host: {inspect}, port: 443 }}
      - {{ host: {passh}, port: 443 }}
      - {{ host: "*.{inspect}", port: 443 }}
    binaries:
      - {{ path: {python} }}
"""


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr,
          flush=True)


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


# --- The test CA and the server -------------------------------------------

def openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"openssl {args[0]} failed: {r.stderr}")


def make_ca(d, names):
    """A CA and one server certificate for NAMES, as netsupport.TestCA
    makes them (EC P-256)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out",
            f"{d}/ca.pem", "-days", "2", "-subj", "/CN=brig bench test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", f"{d}/server.key", "-out",
            f"{d}/server.csr", "-subj", f"/CN={names[0]}")
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=" + ",".join(f"DNS:{n}" for n in names)
                + "\n")
    openssl("x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem",
            "-CAkey", f"{d}/ca.key", "-set_serial", "1", "-days", "2",
            "-extfile", f"{d}/ext.cnf", "-out", f"{d}/server.pem")
    return f"{d}/ca.pem", f"{d}/server.pem", f"{d}/server.key"


def classify(auth):
    token = auth.removeprefix("Bearer ").strip()
    if token == KEY_VALUE:
        return "real"
    if token.startswith("brig-ph-"):
        return "placeholder"
    return "other" if token else "none"


def serve_conn(tls, counts, lock):
    """HTTP/1.1 keep-alive on one TLS connection: every request gets one
    small JSON body, head and body in a single write."""
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                got = tls.recv(65536)
                if not got:
                    return
                buf += got
            head, _, buf = buf.partition(b"\r\n\r\n")
            host = auth = ""
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.decode(errors="replace").partition(":")
                k = k.strip().lower()
                if k == "host":
                    host = v.strip()
                elif k == "authorization":
                    auth = v.strip()
                elif k == "content-length":
                    length = int(v)
            while len(buf) < length:
                got = tls.recv(65536)
                if not got:
                    return
                buf += got
            buf = buf[length:]
            kind = classify(auth)
            with lock:
                name = host.rsplit(":", 1)[0]
                if name.endswith("." + INSPECT):
                    name = "*." + INSPECT
                key = f"{name} {kind}"
                counts[key] = counts.get(key, 0) + 1
            body = json.dumps({"ok": True, "auth": kind, "host": host,
                               "model": "bench-1", "tokens": 42,
                               "id": "req-0123456789"}).encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json"
                        b"\r\nContent-Length: %d\r\n\r\n%s"
                        % (len(body), body))
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        tls.close()


def serve(lsock, cert, key, conn):
    """The server process: a thread per connection (handshake included);
    answers its request counts on CONN when asked."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    counts, lock = {}, threading.Lock()

    def stats():
        while True:
            try:
                conn.recv()
            except EOFError:
                os._exit(0)
            with lock:
                conn.send(dict(counts))

    threading.Thread(target=stats, daemon=True).start()

    def handshake(s):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(30)
        try:
            tls = ctx.wrap_socket(s, server_side=True)
        except (OSError, ssl.SSLError):
            s.close()
            return
        serve_conn(tls, counts, lock)

    while True:
        s, _ = lsock.accept()
        threading.Thread(target=handshake, args=(s,), daemon=True).start()


def start_server(cert, key):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1024)
    port = lsock.getsockname()[1]
    mine, theirs = multiprocessing.Pipe()
    proc = multiprocessing.get_context("fork").Process(
        target=serve, args=(lsock, cert, key, theirs), daemon=True)
    proc.start()
    lsock.close()
    return proc, port, mine


# --- brig -----------------------------------------------------------------

class Bench:
    def __init__(self, brig, state):
        self.brig = brig
        self.state = state
        self.base = f"bench-tls-{os.getpid()}"
        self.name = self.base
        self.made = []
        self.provider = f"bench-tls-{os.getpid()}"
        self.port = None
        self.problems = []
        self.setup = []  # what was tried and how brig took it
        self.exec_wall = []

    def brig_cmd(self, *args, check=True, env=None, note=None, **kw):
        r = subprocess.run([self.brig, *args], capture_output=True,
                           text=True, env=env, stdin=subprocess.DEVNULL,
                           **kw)
        if note:
            self.setup.append({"what": note, "rc": r.returncode,
                               "out": (r.stdout + r.stderr).strip()[-400:]})
        if check and r.returncode != 0:
            self.cleanup()
            sys.exit(f"brig {' '.join(args)} failed ({r.returncode}): "
                     f"{r.stderr.strip()}")
        return r

    def client(self, where, mode, cafile, key, *args):
        if where == "sandbox":
            argv = [self.brig, "sandbox", "exec", self.name, "--", PYTHON,
                    "-c", CLIENT_SRC, mode, "env", cafile, key, *args]
        else:
            argv = [PYTHON, CLIENT, mode, f"direct:{self.port}", cafile,
                    key, *args]
        t = time.perf_counter()
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if where == "sandbox":
            self.exec_wall.append(time.perf_counter() - t)
        if r.returncode != 0:
            msg = (f"{where} {mode} {args[:1]} client failed "
                   f"({r.returncode}): {r.stderr.strip()[-600:]}")
            self.problems.append(msg)
            print(msg, file=sys.stderr)
            return None
        return json.loads(r.stdout.strip().splitlines()[-1])

    def keepalive(self, mode, n, warmup=WARMUP):
        if mode == "inspected":
            return self.client("sandbox", "keepalive", "-", KEY_NAME,
                               INSPECT, str(n), str(warmup))
        if mode == "passthrough":
            return self.client("sandbox", "keepalive", self.ca_inside,
                               KEY_NAME, PASS, str(n), str(warmup))
        return self.client("host", "keepalive", self.ca, "=" + KEY_VALUE,
                           INSPECT, str(n), str(warmup))

    def create(self, name, policy, connect_to, note=None):
        """Creates sandbox NAME, makes it the current one and puts the
        test CA in its workspace; returns the seconds it took."""
        t = time.perf_counter()
        self.brig_cmd("sandbox", "create", "--name", name, "--detach",
                      "--provider", self.provider, "--policy", policy,
                      *connect_to, "--upstream-ca", self.ca, note=note)
        took = time.perf_counter() - t
        self.made.append(name)
        self.name = name
        got = self.brig_cmd("sandbox", "get", name, "-o", "json")
        self.info = json.loads(got.stdout)
        shutil.copy(self.ca, os.path.join(self.info["workspace"],
                                          "bench-ca.pem"))
        self.ca_inside = "/sandbox/bench-ca.pem"
        return took

    def delete(self, name):
        r = subprocess.run([self.brig, "sandbox", "delete", name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.problems.append(f"sandbox delete {name} failed "
                                 f"({r.returncode}): {r.stderr.strip()}")
        self.made.remove(name)

    def cleanup(self):
        for name in list(self.made):
            self.delete(name)
        subprocess.run([self.brig, "provider", "delete", self.provider,
                        "--force"], capture_output=True)


def cpu_seconds(pid):
    """User + system time of all of PID's threads, ended ones included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads", "RssAnon"):
                    out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        out["cpu_s"] = cpu_seconds(pid)
    except OSError as e:
        out["error"] = str(e)
    return out


def summary(samples):
    if not samples:
        return None
    return {"n": len(samples), "p50": pct(samples, 50),
            "p90": pct(samples, 90), "p99": pct(samples, 99),
            "mean": statistics.fmean(samples), "max": max(samples)}


# --- The measurements -----------------------------------------------------

def bench_keepalive(b):
    for mode in MODES:  # warm-up, not counted: also checks each path
        r = b.keepalive(mode, 200)
        if r:
            progress(f"  {mode}: {r['tls']} {r['cipher']}, "
                     f"{r['response_bytes']} B body ({r['framing']}), "
                     f"server saw the {r['last']['auth']} key")
    pid = b.info["supervisor_pid"]
    # What a `sandbox exec` of the client's interpreter costs the
    # supervisor by itself, to take out of the per-request figures.
    c0 = cpu_seconds(pid)
    for _ in range(EXEC_BASELINE):
        subprocess.run([b.brig, "sandbox", "exec", b.name, "--", PYTHON,
                        "-c", "import ssl, http.client"],
                       capture_output=True, stdin=subprocess.DEVNULL)
    exec_cpu = (cpu_seconds(pid) - c0) / EXEC_BASELINE
    runs = {m: [] for m in MODES}
    samples = {m: [] for m in MODES}
    cpu = {m: 0.0 for m in MODES}
    reqs = {m: 0 for m in MODES}
    info = {}
    for i in range(ROUNDS):
        # Rotate the order so that no mode always goes first.
        order = MODES[i % 3:] + MODES[:i % 3]
        for mode in order:
            c0 = cpu_seconds(pid)
            r = b.keepalive(mode, REQUESTS)
            cpu[mode] += cpu_seconds(pid) - c0
            if mode != "direct":
                cpu[mode] -= exec_cpu
            if not r:
                continue
            reqs[mode] += r["n"] + WARMUP
            runs[mode].append(r["n"] / r["seconds"])
            samples[mode].extend(r["samples_us"])
            info[mode] = {k: r[k] for k in ("tls", "cipher", "framing",
                                            "response_bytes", "same_socket",
                                            "bad_status")}
            info[mode]["auth_seen_by_server"] = r["last"]["auth"]
    stats = {m: summary(samples[m]) for m in MODES}
    med = {m: statistics.median(v) if v else None for m, v in runs.items()}
    sup_cpu = {m: cpu[m] / reqs[m] * 1e6 if reqs[m] else None
               for m in MODES}
    return {"rounds": ROUNDS, "requests": REQUESTS, "rps_runs": runs,
            "supervisor_cpu_us_per_request": sup_cpu,
            "supervisor_cpu_ms_per_exec": exec_cpu * 1e3,
            "median_rps": med, "stats_us": stats, "info": info,
            "samples_us": samples}


def leaf_batch(b, misses, rows, errors):
    """New connections in the current sandbox: one to inspect.test and
    one to pass.test not counted (the leaf of inspect.test made, the
    client warm), then each miss name once, each followed by one to
    inspect.test (a hit) and one to pass.test (no leaf at all), in one
    client; then as many direct on the host. Returns the supervisor's
    status before and after."""
    pid = b.info["supervisor_pid"]
    warm = [INSPECT, PASS]
    hosts = list(warm)
    for h in misses:
        hosts += [h, INSPECT, PASS]
    before = proc_status(pid)
    r = b.client("sandbox", "first", "+" + b.ca_inside, KEY_NAME, *hosts)
    after = proc_status(pid)
    d = b.client("host", "first", b.ca, "=" + KEY_VALUE,
                 *([INSPECT] * (len(misses) + 1)))
    for row in (r or {}).get("rows", [])[len(warm):]:
        if "error" in row:
            errors.append(row)
            continue
        if row["host"] == PASS:
            rows["passthrough"].append(row)
        elif row["host"] == INSPECT:
            rows["hit"].append(row)
        else:
            rows["miss"].append(row)
    for row in (d or {}).get("rows", [])[1:]:
        if "error" in row:
            errors.append(row)
        else:
            rows["direct"].append(row)
    return before, after


def bench_leaf(b, misses, policy, connect_to):
    rows = {"miss": [], "hit": [], "passthrough": [], "direct": []}
    errors = []
    before, after = leaf_batch(b, misses, rows, errors)
    creates = []
    for i in range(1, LEAF_SANDBOXES):
        name = f"{b.base}-leaf{i}"
        creates.append(b.create(name, policy, connect_to))
        leaf_batch(b, misses, rows, errors)
        b.delete(name)
    for e in errors[:3]:
        b.problems.append(f"new connection to {e['host']} failed: "
                          f"{e['error']}")
    phases = ("ttfb_us", "connect_us", "handshake_us", "request_us")
    stats = {k: {ph: summary([x[ph] for x in v]) for ph in phases}
             for k, v in rows.items()}
    issuers = {k: sorted({x["issuer"] for x in v}) for k, v in rows.items()}
    resumed = {k: sum(bool(x.get("resumed")) for x in v)
               for k, v in rows.items()}
    return {"stats_us": stats, "issuers": issuers, "resumed": resumed,
            "sandboxes": LEAF_SANDBOXES, "extra_create_s": creates,
            "nerrors": len(errors), "errors": errors[:5],
            "supervisor_before": before, "supervisor_after": after,
            "rows": rows}


def event_counts(b):
    r = b.brig_cmd("logs", b.name, "-o", "json", "-n", "1000000",
                   check=False)
    counts = {}
    for line in r.stdout.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        host = e.get("host") or "-"
        if host.endswith("." + INSPECT):
            host = "*." + INSPECT
        key = f"{host} {e.get('activity_name')} {e.get('action', '')}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    brig, json_out = sys.argv[1], sys.argv[2]
    state = os.environ["BRIG_STATE_DIR"]
    t0 = time.monotonic()
    load_start = os.getloadavg()
    b = Bench(brig, state)
    cadir = tempfile.mkdtemp(prefix="ca-", dir=state)
    b.ca, cert, key = make_ca(cadir, [INSPECT, PASS, f"*.{INSPECT}"])
    server, b.port, stats_pipe = start_server(cert, key)

    policy = os.path.join(state, "policy.yaml")
    with open(policy, "w") as f:
        f.write(POLICY.format(inspect=INSPECT, passh=PASS,
                              python=PYTHON_EXE))
    env = dict(os.environ, **{KEY_NAME: KEY_VALUE})
    b.brig_cmd("provider", "create", "--name", b.provider, "--type",
               "generic", "--credential", KEY_NAME, "--host", INSPECT,
               "--host", f"*.{INSPECT}", env=env,
               note=f"provider create --host {INSPECT} --host *.{INSPECT}")
    misses = [f"h{i}.{INSPECT}" for i in range(1, MISS_HOSTS + 1)]
    connect_to = []
    for h in [INSPECT, PASS] + misses:
        connect_to += ["--connect-to", f"{h}:443:127.0.0.1:{b.port}"]
    create_s = b.create(b.base, policy, connect_to,
                        note=f"sandbox create with {len(connect_to) // 2} "
                        "--connect-to and a *.inspect.test endpoint")
    try:
        pid = b.info["supervisor_pid"]
        time.sleep(0.5)
        idle = proc_status(pid)
        progress("keep-alive requests")
        ka = bench_keepalive(b)
        events = event_counts(b)
        final = proc_status(pid)
        progress("leaf certificates: new connections")
        leaf = bench_leaf(b, misses, policy, connect_to)
        stats_pipe.send("counts")
        server_counts = stats_pipe.recv()
    finally:
        b.cleanup()
        server.terminate()
        shutil.rmtree(cadir, ignore_errors=True)

    load = {"start": load_start, "end": os.getloadavg()}
    report(b, json_out, ka, leaf, idle, final, events, server_counts,
           create_s, time.monotonic() - t0, load)


def ssl_versions():
    out = {"python_ssl": ssl.OPENSSL_VERSION}
    r = subprocess.run(["openssl", "version"], capture_output=True,
                       text=True)
    out["openssl_cli"] = r.stdout.strip()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    out["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return out


def report(b, json_out, ka, leaf, idle, final, events, server_counts,
           create_s, total_s, load):
    vers = ssl_versions()
    print(f"TLS benchmark ({platform.node()}, kernel {platform.release()},"
          f" {os.cpu_count()} cpus, {vers.get('cpu', '?')}, uid "
          f"{os.getuid()}, {vers['python_ssl']}; load average "
          f"{load['start'][0]:.2f} at the start, {load['end'][0]:.2f} at "
          "the end)")

    st, med = ka["stats_us"], ka["median_rps"]
    print(f"\nkeep-alive HTTPS GET, one connection per run, {REQUESTS} "
          f"requests per run, {ROUNDS} rounds interleaved; latency from "
          "request sent to body read")
    print(f"{'path':12} {'req/s':>8} {'p50 us':>8} {'p99 us':>8} "
          f"{'mean us':>8}   {'runs (req/s)'}")
    for m in MODES:
        if not st[m]:
            print(f"{m:12} {'failed':>8}")
            continue
        runs = " ".join(f"{x:.0f}" for x in ka["rps_runs"][m])
        print(f"{m:12} {med[m]:8.0f} {st[m]['p50']:8.0f} "
              f"{st[m]['p99']:8.0f} {st[m]['mean']:8.0f}   {runs}")
    ratios = {}
    for m in ("inspected", "passthrough"):
        if st[m] and st["direct"]:
            ratios[m] = {"rps": med[m] / med["direct"],
                         "p50": st[m]["p50"] / st["direct"]["p50"],
                         "p99": st[m]["p99"] / st["direct"]["p99"],
                         "added_p50_us": st[m]["p50"] - st["direct"]["p50"]}
            print(f"{m}/direct: req/s {ratios[m]['rps']:.2f}, p50 "
                  f"{ratios[m]['p50']:.2f}x (+{ratios[m]['added_p50_us']:.0f}"
                  f" us), p99 {ratios[m]['p99']:.2f}x")
    if st["inspected"] and st["passthrough"]:
        ratios["inspected_passthrough"] = {
            "rps": med["inspected"] / med["passthrough"],
            "added_p50_us": st["inspected"]["p50"]
            - st["passthrough"]["p50"]}
        print(f"inspected/passthrough: req/s "
              f"{ratios['inspected_passthrough']['rps']:.2f}, inspection "
              f"adds {ratios['inspected_passthrough']['added_p50_us']:.0f}"
              " us at p50")
    ka["ratios"] = ratios
    sc = ka["supervisor_cpu_us_per_request"]
    print("supervisor CPU per request (all its threads, /proc stat ticks, "
          "less what a `sandbox exec` of python3 costs it: "
          f"{ka['supervisor_cpu_ms_per_exec']:.0f} ms): " + ", ".join(
              f"{m} {sc[m]:.0f} us" for m in MODES if sc[m] is not None))
    for m, i in ka["info"].items():
        print(f"  {m}: {i['tls']} {i['cipher']}, body {i['response_bytes']}"
              f" B ({i['framing']}), server saw the "
              f"{i['auth_seen_by_server']} key")

    ls = leaf["stats_us"]
    n = len(leaf["rows"]["miss"])
    print(f"\nnew connections, time to first byte: conn = TCP connect + "
          "CONNECT/200, hs = the client's TLS handshake (with the proxy "
          "when inspected: the leaf is found or made here), req = GET to "
          "the first response byte (inspected: the proxy's own upstream "
          f"handshake comes first); {n} miss names ({MISS_HOSTS} in each of"
          f" {leaf['sandboxes']} sandboxes), each followed by a hit and a "
          "pass-through; then direct on the host")
    print(f"{'kind':12} {'n':>4} {'ttfb p50':>9} {'p90':>7} {'max':>7}"
          f" {'conn p50':>9} {'hs p50':>8} {'req p50':>8}   (us)")
    for k in ("miss", "hit", "passthrough", "direct"):
        s = ls[k]
        if not s["ttfb_us"]:
            print(f"{k:12} {'failed':>4}")
            continue
        print(f"{k:12} {s['ttfb_us']['n']:4} {s['ttfb_us']['p50']:9.0f} "
              f"{s['ttfb_us']['p90']:7.0f} {s['ttfb_us']['max']:7.0f} "
              f"{s['connect_us']['p50']:9.0f} "
              f"{s['handshake_us']['p50']:8.0f} "
              f"{s['request_us']['p50']:8.0f}")
    if ls["miss"]["ttfb_us"] and ls["hit"]["ttfb_us"]:
        d = ls["miss"]["ttfb_us"]["p50"] - ls["hit"]["ttfb_us"]["p50"]
        dh = (ls["miss"]["handshake_us"]["p50"]
              - ls["hit"]["handshake_us"]["p50"])
        leaf["miss_minus_hit_p50_us"] = {"ttfb": d, "handshake": dh}
        print(f"leaf miss - hit at p50: {d:.0f} us to first byte, "
              f"{dh:.0f} us in the handshake")
    if ls["hit"]["ttfb_us"] and ls["passthrough"]["ttfb_us"]:
        gap = ls["hit"]["ttfb_us"]["p50"] - ls["passthrough"]["ttfb_us"]["p50"]
        print(f"hit - pass-through at p50: {gap:.0f}"
              " us (the proxy's own handshake with the client and its "
              "upstream connection)")
    print("  issuers seen: " + "; ".join(
        f"{k} {','.join(v)}" for k, v in leaf["issuers"].items()))
    print(f"  sessions resumed: {leaf['resumed']}")
    sb, sa = leaf["supervisor_before"], leaf["supervisor_after"]
    if sb.get("VmRSS") and sa.get("VmRSS"):
        print(f"  supervisor VmRSS: idle {idle.get('VmRSS')} KiB; after "
              f"the keep-alive runs {final.get('VmRSS')} KiB "
              f"({final.get('Threads')} threads, {final.get('fds')} fds); "
              f"before the first sandbox's misses {sb['VmRSS']} KiB, after "
              f"{sa['VmRSS']} KiB ({MISS_HOSTS} more leaves cached: about "
              f"{(sa['VmRSS'] - sb['VmRSS']) / MISS_HOSTS:.1f} KiB each)")

    print(f"\nsetup: sandbox create {create_s * 1000:.0f} ms (64 "
          "--connect-to; the leaf sandboxes: " + ", ".join(
              f"{x * 1000:.0f}" for x in leaf["extra_create_s"]) +
          f" ms); sandbox exec "
          f"wall median {statistics.median(b.exec_wall) * 1000:.0f} ms "
          f"({len(b.exec_wall)} runs); whole run {total_s:.0f} s")
    for s in b.setup:
        print(f"  {s['what']}: rc {s['rc']}"
              + (f" ({s['out'].splitlines()[-1][:160]})" if s["out"] else ""))
    print("server saw (host, key kind: requests): " + ", ".join(
        f"{k}: {v}" for k, v in sorted(server_counts.items())))
    print("events of the keep-alive runs (host activity action: count): "
          + ", ".join(f"{k}: {v}" for k, v in sorted(events.items())))

    if b.problems:
        print("\nproblems:")
        for p in b.problems:
            print(f"  {p}")

    with open(json_out, "w") as f:
        json.dump({"kernel": platform.release(), "uid": os.getuid(),
                   "cpus": os.cpu_count(), **vers,
                   "keepalive": ka, "leaf": leaf, "idle_supervisor": idle,
                   "final_supervisor": final, "events": events,
                   "server_counts": server_counts, "setup": b.setup,
                   "sandbox_create_s": create_s,
                   "exec_wall_s": b.exec_wall, "total_s": total_s,
                   "loadavg": load,
                   "problems": b.problems}, f, indent=1)


if __name__ == "__main__":
    main()
