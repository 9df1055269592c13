#!/usr/bin/env python3
"""Benchmark corral against Apache ZooKeeper 3.8 on this machine, in the same run.

Both servers get the same zoo.cfg (standalone, forceSync on, fresh data directories) and are
run alternately, ROUNDS times each, each server first in every other round; every workload of
corral-bench runs against each. Prints
one JSON line per measurement, then a table of medians, corral/ZooKeeper ratios and each
server's peak RSS.

    scripts/bench_vs_zookeeper.py [--rounds 2] [--duration 10] [--sessions 32] [--inflight 8]
    scripts/bench_vs_zookeeper.py --ensemble [--failovers 5] ...

--ensemble: each target is 3 servers on this machine from one zoo.cfg (server.N lines, a
myid each), corral-bench's sessions spread over all three; RSS is the largest member's. Then
leader failover, --failovers times per target: the time from SIGKILL of the leader to the
first acknowledged write through a surviving member (a new session on each survivor in turn,
then a create), median reported; the killed member is started again before the next one.

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkwire  # noqa: E402

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


ENSEMBLE_CFG = "initLimit=10\nsyncLimit=5\n{servers}"


def argv_for(target, workdir, cfg, ensemble=False):
    if target == "zookeeper":
        log4j = os.path.join(workdir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write("log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\n"
                    "log4j.appender.F.File=%s/server.log\nlog4j.appender.F.layout=org.apache.log4j.SimpleLayout\n" % workdir)
        main = "org.apache.zookeeper.server." + ("quorum.QuorumPeerMain" if ensemble else "ZooKeeperServerMain")
        return ["java", "-Xmx1000m", "-Dlog4j.configuration=file:" + log4j, "-cp",
                zkserver.zookeeper_classpath(), main, cfg]
    return [CORRAL, "--config", cfg]


def spawn(argv, workdir):
    log = open(os.path.join(workdir, "stdout.log"), "a")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, RUST_LOG=os.environ.get("CORRAL_LOG", "warn")))


class Ensemble:
    """Three servers of one target from one zoo.cfg (each its own dataDir and client port)."""

    def __init__(self, target, workdir):
        self.target, self.members = target, []
        ports = [(zkserver.free_port(), zkserver.free_port(), zkserver.free_port()) for _ in range(3)]
        servers = "".join("server.%d=127.0.0.1:%d:%d\n" % (i + 1, q, e) for i, (_, q, e) in enumerate(ports))
        for i, (client, _, _) in enumerate(ports):
            d = os.path.join(workdir, "m%d" % (i + 1))
            os.makedirs(os.path.join(d, "data"))
            with open(os.path.join(d, "data", "myid"), "w") as f:
                f.write("%d\n" % (i + 1))
            cfg = os.path.join(d, "zoo.cfg")
            with open(cfg, "w") as f:
                f.write(ZOO_CFG.format(data=os.path.join(d, "data"), port=client)
                        + ENSEMBLE_CFG.format(servers=servers))
            self.members.append({"dir": d, "port": client, "argv": argv_for(target, d, cfg, True), "proc": None})
        for i in range(3):
            self.start(i, wait=False)
        for m in self.members:
            zkserver.wait_ready("127.0.0.1", m["port"], pid=m["proc"].pid)

    def start(self, i, wait=True):
        m = self.members[i]
        m["proc"] = spawn(m["argv"], m["dir"])
        if wait:
            zkserver.wait_ready("127.0.0.1", m["port"], pid=m["proc"].pid)

    @property
    def hosts(self):
        return ",".join("127.0.0.1:%d" % m["port"] for m in self.members)

    def pids(self):
        return [m["proc"].pid for m in self.members if m["proc"]]

    def leader(self):
        for i, m in enumerate(self.members):
            try:
                if "Mode: leader" in zkserver.four_letter("127.0.0.1", m["port"], "srvr"):
                    return i
            except OSError:
                pass
        return None

    def kill(self, i):
        m = self.members[i]
        os.killpg(m["proc"].pid, signal.SIGKILL)
        m["proc"].wait()
        m["proc"] = None

    def stop(self):
        for m in self.members:
            if m["proc"]:
                stop(m["proc"])
                m["proc"] = None


def failover_ms(ensemble, n):
    """The time from SIGKILL of the leader to the first write acknowledged by a survivor."""
    leader = None
    deadline = time.monotonic() + 60
    while leader is None and time.monotonic() < deadline:
        leader = ensemble.leader()
        time.sleep(0.05)
    survivors = [m["port"] for i, m in enumerate(ensemble.members) if i != leader]
    ensemble.kill(leader)
    killed = time.monotonic()
    attempt = 0
    while time.monotonic() - killed < 120:
        port = survivors[attempt % len(survivors)]
        attempt += 1
        try:
            sock = zkwire.connect("127.0.0.1", port, socket_timeout=1.0)
            try:
                if zkwire.create(sock, "/failover-%d-%d" % (n, attempt)) == 0:
                    elapsed = (time.monotonic() - killed) * 1000
                    break
            finally:
                sock.close()
        except OSError:
            pass
        time.sleep(0.01)
    else:
        raise SystemExit("%s: no write acknowledged within 120 s of killing the leader" % ensemble.target)
    ensemble.start(leader)
    return elapsed


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


def run_round(target, args, results, rss, failovers):
    with tempfile.TemporaryDirectory(prefix="bench-%s-" % target) as workdir:
        if args.ensemble:
            ensemble = Ensemble(target, workdir)
            pids, hosts, done = ensemble.pids, ensemble.hosts, ensemble.stop
        else:
            proc, hosts = start(target, workdir)
            pids, done = (lambda: [proc.pid]), (lambda: stop(proc))
        try:
            for workload in WORKLOADS:
                if workload == "create":
                    rss.setdefault(target, []).append(max(rss_kib(pid) for pid in pids()))
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
            for n in range(args.failovers if args.ensemble else 0):
                ms = failover_ms(ensemble, n)
                print(json.dumps({"server": target, "failover_ms": round(ms, 1)}), flush=True)
                failovers.setdefault(target, []).append(ms)
        finally:
            done()


def summarize(results, rss, failovers):
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
    if failovers.get("corral") and failovers.get("zookeeper"):
        c, z = statistics.median(failovers["corral"]), statistics.median(failovers["zookeeper"])
        print("\nLeader failover, SIGKILL to the first acknowledged write, median of %d:"
              % len(failovers["corral"]))
        print("  corral %.0f ms, ZooKeeper %.0f ms; ratio %.2f" % (c, z, c / z))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--sessions", type=int, default=32)
    p.add_argument("--inflight", type=int, default=8)
    p.add_argument("--ensemble", action="store_true", help="3 servers per target")
    p.add_argument("--failovers", type=int, default=5, help="leader kills per round (--ensemble)")
    p.add_argument("--targets", default="zookeeper,corral",
                   help="comma-separated; the summary needs both")
    args = p.parse_args()
    targets = args.targets.split(",")
    for binary in (CORRAL, BENCH):
        if not os.access(binary, os.X_OK):
            sys.exit("build first: cargo build --release (missing %s)" % binary)
    results, rss, failovers = {}, {}, {}
    for round_number in range(args.rounds):
        # Each server goes first in every other round: neither always follows the other.
        order = targets if round_number % 2 == 0 else targets[::-1]
        for target in order:
            run_round(target, args, results, rss, failovers)
    if set(targets) >= {"zookeeper", "corral"}:
        summarize(results, rss, failovers)


if __name__ == "__main__":
    main()
