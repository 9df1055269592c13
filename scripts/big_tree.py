#!/usr/bin/env python3
"""Measure corral and Apache ZooKeeper 3.8 holding a big tree, in the same run.

For each server (same zoo.cfg as scripts/bench_vs_zookeeper.py: standalone, forceSync on,
default snapCount, fresh data directories):
  1. fill it with --znodes znodes of 100 bytes (corral-bench --workload create --keep);
  2. run the set workload for --duration seconds while it snapshots the full tree (every
     snapCount txns on both servers) and report the slowest request (the longest stall),
     p99.9 and throughput;
  3. read its RSS and the size of its data directory;
  4. stop it (SIGTERM) and time a restart until it serves again (srvr answers as serving),
     then once more after SIGKILL;
  5. check that the restarted server still holds every znode.

    scripts/big_tree.py [--znodes 1000000] [--duration 30] [--targets corral,zookeeper]

Needs `cargo build --release` and the Debian `zookeeper` package (compat-tests/run.sh).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_vs_zookeeper as bench  # noqa: E402
import zkserver  # noqa: E402  (bench_vs_zookeeper put compat-tests/lib on the path)


def znode_count(hosts):
    host, port = hosts.rsplit(":", 1)
    mntr = zkserver.four_letter(host, int(port), "mntr", timeout=30.0)
    return int(re.search(r"zk_znode_count\s+(\d+)", mntr).group(1))


def run_bench(hosts, workload, duration, keep=False):
    argv = [bench.BENCH, "--hosts", hosts, "--workload", workload, "--duration", str(duration),
            "--warmup", "1"] + (["--keep"] if keep else [])
    return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)


def fill(hosts, znodes):
    started = time.monotonic()
    while znode_count(hosts) < znodes:
        run_bench(hosts, "create", 10, keep=True)
    return znode_count(hosts), time.monotonic() - started


def du_mib(path):
    out = subprocess.run(["du", "-sm", path], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def restart(proc, target, workdir, sig):
    os.killpg(proc.pid, sig)
    proc.wait()
    started = time.monotonic()
    proc, hosts = bench.start(target, workdir, fresh=False)
    return proc, hosts, time.monotonic() - started


def measure(target, args):
    with tempfile.TemporaryDirectory(prefix="bigtree-%s-" % target) as workdir:
        proc, hosts = bench.start(target, workdir)
        try:
            count, fill_s = fill(hosts, args.znodes)
            stall = run_bench(hosts, "set", args.duration)
            peak_kib, anon_kib = bench.rss_kib(proc.pid)
            data_mib = du_mib(os.path.join(workdir, "data"))
            proc, hosts, sigterm_s = restart(proc, target, workdir, signal.SIGTERM)
            after_term = znode_count(hosts)
            proc, hosts, sigkill_s = restart(proc, target, workdir, signal.SIGKILL)
            after_kill = znode_count(hosts)
        finally:
            bench.stop(proc)
        snapshots = snapshot_log(workdir) if target == "corral" else {}
    return {
        "server": target, "znodes": count, "fill_s": round(fill_s, 1),
        "set_ops_per_sec": stall["ops_per_sec"], "set_errors": stall["errors"],
        "set_p999_us": stall["latency_us"]["p999"], "longest_stall_us": stall["latency_us"]["max"],
        "rss_peak_mib": peak_kib // 1024, "rss_anon_mib": anon_kib // 1024, "data_dir_mib": data_mib,
        "restart_after_sigterm_s": round(sigterm_s, 2), "znodes_after_sigterm": after_term,
        "restart_after_sigkill_s": round(sigkill_s, 2), "znodes_after_sigkill": after_kill,
        **snapshots,
    }


def snapshot_log(workdir):
    """corral's own account (it logs each snapshot written and loaded, with its duration)."""
    with open(os.path.join(workdir, "stdout.log"), errors="replace") as f:
        text = f.read()
    written = [int(ms) for ms in re.findall(r"wrote a snapshot .*?ms=(\d+)", text)]
    loaded = [int(ms) for ms in re.findall(r"loaded the snapshot .*?ms=(\d+)", text)]
    return {"snapshots_written": len(written), "snapshot_write_ms_max": max(written, default=0),
            "snapshot_load_ms": loaded}


def main():
    os.environ.setdefault("CORRAL_LOG", "info,openraft=warn")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--znodes", type=int, default=1_000_000)
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--targets", default="corral,zookeeper")
    args = p.parse_args()
    for target in args.targets.split(","):
        print(json.dumps(measure(target, args)), flush=True)


if __name__ == "__main__":
    main()
