#!/usr/bin/env python3
"""Times sandbox startup: brig, bwrap and a bare /bin/true, round-robin
so that a change in machine load hits all three alike. Then measures an
idle supervisor's resident memory. Prints a report; asserts nothing.

usage: startup.py BRIG RUNS JSON_OUT   (BRIG_STATE_DIR must be set)
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

# The least bwrap needs to run /bin/true on a merged-/usr host.
BWRAP_MINIMAL = ["bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr",
                 "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib",
                 "/lib", "--symlink", "usr/lib64", "/lib64", "--proc",
                 "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"]


def bwrap_comparable(workspace):
    """bwrap building what brig's default policy builds: /usr and /etc
    read-only, a writable workspace at /sandbox, its own /tmp, /app and
    /var/log, /proc, /dev, a new session, no capabilities. (brig also
    generates /etc files, applies Landlock and seccomp and runs a
    supervisor; bwrap has no equivalent for those.)"""
    return ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr",
            "--ro-bind", "/etc", "/etc", "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/sbin", "/sbin", "--symlink", "usr/lib",
            "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc",
            "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/app",
            "--tmpfs", "/var/log", "--bind", workspace, "/sandbox",
            "--chdir", "/sandbox", "/bin/true"]


def time_once(argv):
    start = time.perf_counter_ns()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter_ns() - start
    if r.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({r.returncode}): "
                 f"{r.stderr.decode(errors='replace')}")
    return elapsed / 1e6


def idle_rss_kib(brig):
    """VmRSS of a detached sandbox's supervisor after a second idle."""
    name = f"bench-{os.getpid()}"
    subprocess.run([brig, "sandbox", "create", "--detach", "--name", name],
                   check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)
    try:
        time.sleep(1)
        got = subprocess.run([brig, "sandbox", "get", name, "-o", "json"],
                             check=True, capture_output=True)
        pid = json.loads(got.stdout)["supervisor_pid"]
        fields = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.split()
        pss = None
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss = int(line.split()[1])
        except OSError:
            pass
        return int(fields["VmRSS"][0]), pss
    finally:
        subprocess.run([brig, "sandbox", "delete", name],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    brig, runs, json_out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    workspace = os.path.join(os.environ["BRIG_STATE_DIR"], "bwrap-ws")
    os.makedirs(workspace, exist_ok=True)
    commands = {
        "brig": [brig, "run", "--", "/bin/true"],
        "bwrap": bwrap_comparable(workspace),
        "bwrap-min": BWRAP_MINIMAL,
        "bare": ["/bin/true"],
    }
    for argv in commands.values():
        time_once(argv)

    samples = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(time_once(argv))

    med = {n: statistics.median(s) for n, s in samples.items()}
    ratio = med["brig"] / med["bwrap"]
    rss, pss = idle_rss_kib(brig)

    print(f"startup, {runs} runs each, interleaved "
          f"({platform.node()}, kernel {platform.release()}, "
          f"{os.cpu_count()} cpus, uid {os.getuid()})")
    print(f"{'command':10} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8}")
    for name, s in samples.items():
        q = statistics.quantiles(s, n=10)
        print(f"{name:10} {med[name]:10.2f} {q[0]:8.2f} {q[-1]:8.2f}")
    verdict = "within" if ratio <= 1.5 else "over"
    print(f"brig/bwrap median ratio (comparable mounts): {ratio:.2f} "
          f"(target <= 1.5: {verdict} target)")
    print(f"brig/bwrap-min median ratio: "
          f"{med['brig'] / med['bwrap-min']:.2f}")
    verdict = "within" if rss < 4096 else "over"
    print(f"idle supervisor VmRSS: {rss} KiB"
          + (f", Pss {pss} KiB" if pss is not None else "")
          + f" (target < 4096 KiB: {verdict} target)")

    with open(json_out, "w") as f:
        json.dump({"runs": runs, "kernel": platform.release(),
                   "uid": os.getuid(), "median_ms": med,
                   "ratio_brig_bwrap": ratio,
                   "idle_supervisor_rss_kib": rss,
                   "idle_supervisor_pss_kib": pss,
                   "samples_ms": samples}, f, indent=1)


if __name__ == "__main__":
    main()
