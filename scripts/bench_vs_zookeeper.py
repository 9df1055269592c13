#!/usr/bin/env python3
"""Benchmark corral against Apache ZooKeeper 3.8 on this machine, in the same run.

Both servers get the same zoo.cfg (standalone, forceSync on, fresh data directories) and are
run alternately, ROUNDS times each, each server first in every other round; every workload of
corral-bench runs against each. Prints
one JSON line per measurement, then a table of medians, corral/ZooKeeper ratios and each
server's peak RSS.

    scripts/bench_vs_zookeeper.py [--rounds 2] [--duration 10] [--sessions 32] [--inflight 8]

ZooKeeper runs as zkServer.sh would start it: java -Xmx1000m (zkEnv.sh's default heap).
Needs the Debian `zookeeper` package (compat-tests/run.sh installs it) and
`cargo build --release`.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat-tests", "lib"))
import zkserver  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CORRAL = os.path.join(ROOT, "target", "release", "corral")
BENCH = os.path.join(ROOT, "target", "release", "corral-bench")
# create runs last: it grows the tree by each server's own throughput, so RSS is read before it.
WORKLOADS = ["set", "get", "exists", "mixed", "ephemeral", "create"]
ZOO_CFG = """tickTime=2000
dataDir={data}
clientPort={port}
clientPortAddress=127.0.0.1
maxClientCnxns=0
forceSync=yes
admin.enableServer=false
4lw.commands.whitelist=*
"""


def start(target, workdir, fresh=True):
    """Starts a server in `workdir`; with fresh=False, again on the data and port it had."""
    data = os.path.join(workdir, "data")
    cfg = os.path.join(workdir, "zoo.cfg")
    if fresh:
        port = zkserver.free_port()
        os.makedirs(data)
        with open(cfg, "w") as f:
            f.write(ZOO_CFG.format(data=data, port=port))
    else:
        with open(cfg) as f:
            port = int(next(ln for ln in f if ln.startswith("clientPort=")).split("=")[1])
    if target == "zookeeper":
        log4j = os.path.join(workdir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write("log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\n"
                    "log4j.appender.F.File=%s/server.log\nlog4j.appender.F.layout=org.apache.log4j.SimpleLayout\n" % workdir)
        argv = ["java", "-Xmx1000m", "-Dlog4j.configuration=file:" + log4j, "-cp",
                zkserver.zookeeper_classpath(), "org.apache.zookeeper.server.ZooKeeperServerMain", cfg]
    else:
        argv = [CORRAL, "--config", cfg]
    log = open(os.path.join(workdir, "stdout.log"), "a")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, RUST_LOG=os.environ.get("CORRAL_LOG", "warn")))
    zkserver.wait_ready("127.0.0.1", port, pid=proc.pid)
    return proc, "127.0.0.1:%d" % port


def rss_kib(pid):
    """(peak RSS, anonymous RSS) in KiB. corral's file-backed part is the LMDB log's pages,
    which the kernel can drop; a JVM's RSS is nearly all anonymous heap."""
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else "0"
    return int(fields.get("VmHWM", 0)), int(fields.get("RssAnon", 0))


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_round(target, args, results, rss):
    with tempfile.TemporaryDirectory(prefix="bench-%s-" % target) as workdir:
        proc, hosts = start(target, workdir)
        try:
            for workload in WORKLOADS:
                if workload == "create":
                    rss.setdefault(target, []).append(rss_kib(proc.pid))
                out = subprocess.run(
                    [BENCH, "--hosts", hosts, "--workload", workload, "--sessions", str(args.sessions),
                     "--inflight", str(args.inflight), "--duration", str(args.duration), "--warmup", "2"]
                    # create runs last and the server is discarded: no need to delete its nodes.
                    + (["--keep"] if workload == "create" else []),
                    check=True, capture_output=True, text=True).stdout
                result = json.loads(out)
                result["server"] = target
                print(json.dumps(result), flush=True)
                results.setdefault((target, workload), []).append(result)
        finally:
            stop(proc)


def summarize(results, rss):
    print("\n| workload | corral ops/s | ZooKeeper ops/s | ratio | corral p99 µs | ZooKeeper p99 µs | p99 ratio |")
    print("|---|---|---|---|---|---|---|")
    for w in WORKLOADS:
        c = results[("corral", w)]
        z = results[("zookeeper", w)]
        c_ops = statistics.median(r["ops_per_sec"] for r in c)
        z_ops = statistics.median(r["ops_per_sec"] for r in z)
        c_p99 = statistics.median(r["latency_us"]["p99"] for r in c)
        z_p99 = statistics.median(r["latency_us"]["p99"] for r in z)
        errors = sum(r["errors"] for r in c + z)
        note = "" if not errors else " (errors: %d)" % errors
        print("| %s | %.0f | %.0f | %.2fx | %d | %d | %.2f%s |" % (
            w, c_ops, z_ops, c_ops / z_ops if z_ops else float("inf"), c_p99, z_p99,
            c_p99 / z_p99 if z_p99 else float("inf"), note))
    (c_peak, c_anon), (z_peak, z_anon) = max(rss["corral"]), max(rss["zookeeper"])
    print("\nRSS before the create run (same tree on both), peak / anonymous:")
    print("  corral %.1f / %.1f MiB, ZooKeeper %.1f / %.1f MiB; ratios: peak %.3f, anonymous %.3f"
          % (c_peak / 1024, c_anon / 1024, z_peak / 1024, z_anon / 1024, c_peak / z_peak,
             c_anon / z_anon))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--sessions", type=int, default=32)
    p.add_argument("--inflight", type=int, default=8)
    p.add_argument("--targets", default="zookeeper,corral",
                   help="comma-separated; the summary needs both")
    args = p.parse_args()
    targets = args.targets.split(",")
    for binary in (CORRAL, BENCH):
        if not os.access(binary, os.X_OK):
            sys.exit("build first: cargo build --release (missing %s)" % binary)
    results, rss = {}, {}
    for round_number in range(args.rounds):
        # Each server goes first in every other round: neither always follows the other.
        order = targets if round_number % 2 == 0 else targets[::-1]
        for target in order:
            run_round(target, args, results, rss)
    if set(targets) >= {"zookeeper", "corral"}:
        summarize(results, rss)


if __name__ == "__main__":
    main()
