#!/usr/bin/env python3
"""Benchmarks brig's egress proxy against a direct loopback connection and
against tinyproxy: tunnel throughput, connection setup latency, the
supervisor's memory with 10,000 idle tunnels and `policy set --wait`.
Prints a report and writes JSON; asserts nothing.

usage: proxy.py BRIG JSON_OUT   (BRIG_STATE_DIR must be set)

The brig client runs inside a sandbox and reaches the host-side servers
through the supervisor's proxy (CONNECT to 127.0.0.1:3128, names mapped
with --connect-to); the direct and tinyproxy clients run the same code
(client.py) on the host.
"""

import json
import multiprocessing
import os
import platform
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "client.py")
with open(CLIENT) as _f:
    CLIENT_SRC = _f.read()

GIB = 1 << 30
THROUGHPUT_ROUNDS = 5
LATENCY_CONNS = 1000
LATENCY_ROUNDS = 4
TUNNELS = 10000
POLICY_SETS = 50
# The whole run should stay near 5 minutes; opening tunnels gets what is
# left of this, but never less than MIN_HOLD_BUDGET seconds.
TOTAL_BUDGET = 270
MIN_HOLD_BUDGET = 60
KINDS = ("brig", "direct", "tinyproxy")
PYTHON = "/usr/bin/python3"
PYTHON_EXE = os.path.realpath(PYTHON)

POLICY = """version: 1
network_policies:
  bench:
    name: bench
    endpoints:
      - {{ host: sink.test, port: 9000 }}
      - {{ host: echo.test, port: 9000 }}
      - {{ host: hold.test, port: 9000 }}
{extra}    binaries:
      - {{ path: {python} }}
      - {{ path: /usr/bin/curl }}
"""


def raise_nofile():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def listener(backlog=4096):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(backlog)
    return s


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        got = s.recv(n - len(data))
        if not got:
            raise ConnectionError("EOF")
        data += got
    return data


def serve_sink(lsock):
    """Reads an 8-byte length, counts that many bytes, replies "ok"."""
    buf = bytearray(1 << 20)
    while True:
        c, _ = lsock.accept()
        try:
            total = int.from_bytes(recv_exact(c, 8), "big")
            got = 0
            while got < total:
                n = c.recv_into(buf)
                if n == 0:
                    break
                got += n
            if got >= total:
                c.sendall(b"ok")
        except OSError:
            pass
        c.close()


def serve_echo(lsock):
    """Echoes whatever arrives, one event loop, TCP_NODELAY."""
    sel = selectors.DefaultSelector()
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is lsock:
                try:
                    c, _ = lsock.accept()
                except BlockingIOError:
                    continue
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            c = key.fileobj
            try:
                data = c.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                c.setblocking(True)
                c.sendall(data)
                c.setblocking(False)
            else:
                sel.unregister(c)
                c.close()


def serve_hold(lsock):
    """Accepts and keeps every connection; drops those closed by peers."""
    raise_nofile()
    sel = selectors.DefaultSelector()
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is lsock:
                while True:
                    try:
                        c, _ = lsock.accept()
                    except (BlockingIOError, OSError):
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ)
                continue
            c = key.fileobj
            try:
                if c.recv(65536):
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            sel.unregister(c)
            c.close()


def start_server(fn):
    lsock = listener()
    port = lsock.getsockname()[1]
    proc = multiprocessing.get_context("fork").Process(
        target=fn, args=(lsock,), daemon=True)
    proc.start()
    lsock.close()
    return proc, port


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_tinyproxy(state):
    """tinyproxy on loopback, CONNECT allowed to any port (no ConnectPort
    line), in the foreground."""
    port = free_port()
    conf = os.path.join(state, "tinyproxy.conf")
    with open(conf, "w") as f:
        f.write(f"Port {port}\nListen 127.0.0.1\nTimeout 600\n"
                "MaxClients 1024\nLogLevel Error\n")
    log = open(os.path.join(state, "tinyproxy.log"), "w")
    proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf],
                            stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.01)
    version = subprocess.run(["tinyproxy", "-v"], capture_output=True,
                             text=True).stdout.strip()
    return proc, port, version


class Bench:
    def __init__(self, brig, state):
        self.brig = brig
        self.state = state
        self.name = f"bench-proxy-{os.getpid()}"
        self.ports = {}
        self.tp_port = None
        self.problems = []

    def brig_cmd(self, *args, check=True, **kw):
        r = subprocess.run([self.brig, *args], capture_output=True,
                           text=True, **kw)
        if check and r.returncode != 0:
            sys.exit(f"brig {' '.join(args)} failed ({r.returncode}): "
                     f"{r.stderr.strip()}")
        return r

    def client_argv(self, kind, mode, server, arg, *extra):
        if kind == "brig":
            return [self.brig, "sandbox", "exec", self.name, "--", PYTHON,
                    "-c", CLIENT_SRC, mode, f"{server}.test:9000", "env",
                    str(arg), *extra]
        target = f"127.0.0.1:{self.ports[server]}"
        proxy = "-" if kind == "direct" else f"127.0.0.1:{self.tp_port}"
        return [PYTHON, CLIENT, mode, target, proxy, str(arg)]

    def client(self, kind, mode, server, arg):
        argv = self.client_argv(kind, mode, server, arg)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if r.returncode != 0:
            msg = (f"{kind} {mode} client failed ({r.returncode}): "
                   f"{r.stderr.strip()[-600:]}")
            self.problems.append(msg)
            print(msg, file=sys.stderr)
            return None
        return json.loads(r.stdout.strip().splitlines()[-1])

    def supervisor_pid(self):
        got = self.brig_cmd("sandbox", "get", self.name, "-o", "json")
        return json.loads(got.stdout)["supervisor_pid"]


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads", "RssAnon",
                           "RssFile"):
                    out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    out["nofile"] = [int(x) if x.isdigit() else x
                                     for x in line.split()[3:5]]
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
            out["cpu_ticks"] = int(fields[11]) + int(fields[12])
    except OSError as e:
        out["error"] = str(e)
    return out


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench_throughput(b):
    for kind in KINDS:  # warm-up, not counted
        b.client(kind, "throughput", "sink", 64 << 20)
    runs = {k: [] for k in KINDS}
    for _ in range(THROUGHPUT_ROUNDS):
        for kind in KINDS:
            r = b.client(kind, "throughput", "sink", GIB)
            if r and r["ack"] == "ok":
                runs[kind].append(r["bytes"] / (1 << 20) / r["seconds"])
    med = {k: statistics.median(v) if v else None for k, v in runs.items()}
    return {"mib_s": runs, "median_mib_s": med}


def bench_latency(b):
    for kind in KINDS:
        b.client(kind, "latency", "echo", 50)
    samples = {k: [] for k in KINDS}
    per = LATENCY_CONNS // LATENCY_ROUNDS
    for _ in range(LATENCY_ROUNDS):
        for kind in KINDS:
            r = b.client(kind, "latency", "echo", per)
            if r:
                samples[kind].extend(r["samples_us"])
    stats = {k: {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99)}
             if v else None for k, v in samples.items()}
    return {"stats_us": stats, "samples_us": samples}


def bench_policy_set(b, files):
    # The floor: a brig command that only reads the store.
    floor = []
    for _ in range(20):
        start = time.perf_counter_ns()
        b.brig_cmd("policy", "list", b.name)
        floor.append((time.perf_counter_ns() - start) / 1e6)
    times, failures = [], []
    for i in range(POLICY_SETS):
        start = time.perf_counter_ns()
        r = b.brig_cmd("policy", "set", b.name, "--policy",
                       files[(i + 1) % 2], "--wait", check=False)
        times.append((time.perf_counter_ns() - start) / 1e6)
        if r.returncode != 0:
            failures.append({"i": i, "rc": r.returncode,
                             "stderr": r.stderr.strip()})
    if failures:
        b.problems.append(f"policy set --wait failed {len(failures)} "
                          f"times, first: {failures[0]}")
    return {"ms": times, "median_ms": statistics.median(times),
            "p99_ms": pct(times, 99), "max_ms": max(times),
            "failures": failures[:5], "nfailures": len(failures),
            "floor_policy_list_median_ms": statistics.median(floor)}


def bench_memory(b, pid, budget):
    before = proc_status(pid)
    argv = b.client_argv("brig", "hold", "hold", TUNNELS, f"{budget:.0f}")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    try:
        client = json.loads(line)
    except ValueError:
        client = {"error": line.strip()}
    time.sleep(1)
    held = proc_status(pid)
    time.sleep(1)
    held2 = proc_status(pid)
    hz = os.sysconf("SC_CLK_TCK")
    cpu_idle_pct = None
    if "cpu_ticks" in held and "cpu_ticks" in held2:
        cpu_idle_pct = 100 * (held2["cpu_ticks"] - held["cpu_ticks"]) / hz
    # Does the proxy still take a new connection while they are held?
    probe = b.client("brig", "latency", "echo", 1)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    if p.returncode != 0:
        b.problems.append(f"hold client exited {p.returncode}: "
                          f"{err.strip()[-600:]}")
    time.sleep(2)
    after = proc_status(pid)
    probe_after = b.client("brig", "latency", "echo", 1)
    return {"before": before, "held": held2, "after_release": after,
            "client": client, "supervisor_cpu_pct_while_held": cpu_idle_pct,
            "probe_while_held_ok": probe is not None,
            "probe_while_held_us": probe and probe["samples_us"][0],
            "probe_after_release_ok": probe_after is not None}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    brig, json_out = sys.argv[1], sys.argv[2]
    state = os.environ["BRIG_STATE_DIR"]
    t0 = time.monotonic()
    raise_nofile()
    b = Bench(brig, state)
    servers = []
    for name, fn in (("sink", serve_sink), ("echo", serve_echo),
                     ("hold", serve_hold)):
        proc, port = start_server(fn)
        servers.append(proc)
        b.ports[name] = port
    tp, b.tp_port, tp_version = start_tinyproxy(state)

    files = []
    for i, extra in enumerate(("", "      - { host: other.test, port: "
                               "9001 }\n")):
        path = os.path.join(state, f"policy-{i}.yaml")
        with open(path, "w") as f:
            f.write(POLICY.format(extra=extra, python=PYTHON_EXE))
        files.append(path)
    connect_to = []
    for name, port in b.ports.items():
        connect_to += ["--connect-to", f"{name}.test:9000:127.0.0.1:{port}"]
    b.brig_cmd("sandbox", "create", "--name", b.name, "--detach",
               "--policy", files[0], *connect_to, stdin=subprocess.DEVNULL)
    try:
        pid = b.supervisor_pid()
        time.sleep(1)
        idle = proc_status(pid)
        progress("throughput")
        tput = bench_throughput(b)
        progress("latency")
        lat = bench_latency(b)
        progress("policy set")
        pol = bench_policy_set(b, files)
        progress("memory")
        budget = max(MIN_HOLD_BUDGET,
                     TOTAL_BUDGET - (time.monotonic() - t0))
        mem = bench_memory(b, pid, budget)
    finally:
        b.brig_cmd("sandbox", "delete", b.name, check=False)
        tp.terminate()
        tp.wait()
        for s in servers:
            s.terminate()

    report(b, json_out, tp_version, idle, tput, lat, pol, mem)


def verdict(ok):
    return "within target" if ok else "over target"


def report(b, json_out, tp_version, idle, tput, lat, pol, mem):
    print(f"proxy benchmark ({platform.node()}, kernel "
          f"{platform.release()}, {os.cpu_count()} cpus, uid {os.getuid()},"
          f" {tp_version})")

    med = tput["median_mib_s"]
    print(f"\nthroughput, 1 GiB per run, {THROUGHPUT_ROUNDS} rounds "
          "interleaved (sender -> sink on the host; brig's sender inside "
          "the sandbox)")
    print(f"{'path':10} {'median MiB/s':>13}   runs")
    for k in KINDS:
        runs = " ".join(f"{x:.0f}" for x in tput["mib_s"][k])
        m = f"{med[k]:13.0f}" if med[k] else f"{'failed':>13}"
        print(f"{k:10} {m}   {runs}")
    ratios = {}
    if med["brig"] and med["direct"]:
        ratios["brig_direct"] = med["brig"] / med["direct"]
        print(f"brig/direct: {ratios['brig_direct']:.2f} (target >= 0.9: "
              f"{verdict(ratios['brig_direct'] >= 0.9)})")
    if med["brig"] and med["tinyproxy"]:
        ratios["brig_tinyproxy"] = med["brig"] / med["tinyproxy"]
        print(f"brig/tinyproxy: {ratios['brig_tinyproxy']:.2f}")
    tput["ratios"] = ratios

    st = lat["stats_us"]
    print(f"\nconnection setup, {LATENCY_CONNS} sequential connections each"
          f" ({LATENCY_ROUNDS} interleaved rounds): connect + CONNECT/200 "
          "+ one 32-byte round trip (direct: no CONNECT)")
    print(f"{'path':10} {'p50 us':>8} {'p99 us':>8}")
    for k in KINDS:
        if st[k]:
            print(f"{k:10} {st[k]['p50']:8.0f} {st[k]['p99']:8.0f}")
        else:
            print(f"{k:10} {'failed':>8}")
    if st["brig"] and st["direct"]:
        added = st["brig"]["p50"] - st["direct"]["p50"]
        lat["brig_added_p50_us"] = added
        print(f"brig added at p50: {added:.0f} us (target < 150 us: "
              f"{verdict(added < 150)})")
    if st["brig"] and st["tinyproxy"]:
        print(f"brig - tinyproxy at p50: "
              f"{st['brig']['p50'] - st['tinyproxy']['p50']:.0f} us")

    print(f"\nsupervisor memory")
    print(f"idle (1 s after create): VmRSS {idle.get('VmRSS')} KiB, "
          f"{idle.get('fds')} fds, fd limit {idle.get('nofile')}")
    c = mem["client"]
    held = mem["held"]
    print(f"before the tunnels: VmRSS {mem['before'].get('VmRSS')} KiB, "
          f"VmHWM {mem['before'].get('VmHWM')} KiB")
    print(f"tunnels: {c.get('opened')} of {c.get('requested')} opened "
          f"({c.get('alive')} still open when counted) in "
          f"{c.get('seconds', 0):.1f} s; client fd limit {c.get('nofile')}")
    for e in c.get("errors", [])[:3]:
        print(f"  failure at tunnel {e['index']}: {e['error'][:200]}")
    if c.get("nerrors"):
        print(f"  ({c['nerrors']} failures; the client stops after 3 in a "
              "row)")
    if c.get("out_of_time"):
        print(f"  stopped by the time budget ({c['budget']} s), not by a "
              "failure")
    if c.get("marks"):
        print("  seconds to open the first N: " + ", ".join(
            f"{n}: {t:.1f}" for n, t in c["marks"] if n % 1000 == 0))
    print(f"held: VmRSS {held.get('VmRSS')} KiB (RssAnon "
          f"{held.get('RssAnon')}), VmHWM {held.get('VmHWM')} KiB, "
          f"{held.get('fds')} fds of limit {held.get('nofile')}, "
          f"{mem['supervisor_cpu_pct_while_held'] or 0:.0f}% cpu while "
          "idle")
    rss = held.get("VmRSS")
    if rss is not None and c.get("opened"):
        tag = "" if c.get("opened") == TUNNELS else (
            f" with only {c['opened']} tunnels, not {TUNNELS}")
        print(f"VmRSS with tunnels: {rss / 1024:.1f} MiB (target < 64 MiB"
              f" at {TUNNELS}: {verdict(rss < 65536)}{tag})")
        per = (rss - mem["before"].get("VmRSS", 0)) / c["opened"]
        print(f"  about {per:.2f} KiB per tunnel over the figure before "
              f"them; at {TUNNELS} that would be about "
              f"{(mem['before'].get('VmRSS', 0) + per * TUNNELS) / 1024:.1f}"
              " MiB")
    probe = mem["probe_while_held_us"]
    print(f"new connection while held: "
          + (f"ok, {probe / 1000:.1f} ms setup" if probe else "FAILED")
          + "; "
          f"after release: VmRSS {mem['after_release'].get('VmRSS')} KiB, "
          f"{mem['after_release'].get('fds')} fds, new connection "
          f"{'ok' if mem['probe_after_release_ok'] else 'FAILED'}")

    print(f"\npolicy set --wait, {POLICY_SETS} alternations between two "
          "policies (wall time of the brig command)")
    print(f"median {pol['median_ms']:.1f} ms, p99 {pol['p99_ms']:.1f} ms, "
          f"max {pol['max_ms']:.1f} ms (target < 50 ms: "
          f"{verdict(pol['p99_ms'] < 50)}); failures {pol['nfailures']}")
    print(f"  floor: `brig policy list` median "
          f"{pol['floor_policy_list_median_ms']:.1f} ms")

    if b.problems:
        print("\nproblems:")
        for p in b.problems:
            print(f"  {p}")

    with open(json_out, "w") as f:
        json.dump({"kernel": platform.release(), "uid": os.getuid(),
                   "cpus": os.cpu_count(), "tinyproxy": tp_version,
                   "throughput": tput, "latency": lat,
                   "idle_supervisor": idle, "memory": mem,
                   "policy_set": pol, "problems": b.problems}, f, indent=1)


if __name__ == "__main__":
    main()
