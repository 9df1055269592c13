#!/usr/bin/env python3
"""Time `corral import` against Apache ZooKeeper 3.8 loading the same data directory.

1. Fill a ZooKeeper 3.8 (standalone, snapCount high enough that it snapshots only when it
   starts) with --znodes znodes of 100 bytes (corral-bench --workload create --keep).
2. Restart it (it writes a snapshot of the whole tree as it starts), then write --txns
   setData txns, which stay in its log, and stop it: a snapshot plus a log of --txns txns.
3. Time ZooKeeper starting on that directory until it serves (and its own account, the
   "Snapshot loaded in N ms" line, which covers the snapshot and the log replay).
4. Time `corral import` of the same directory, then corral starting on the result until it
   serves, and check that both serve the same number of znodes.

    scripts/bench_import.py [--znodes 1000000] [--txns 100000] [--keep DIR | --reuse DIR]

--keep DIR leaves the ZooKeeper directory it made in DIR; --reuse DIR times one made so.

Needs `cargo build --release` and the Debian `zookeeper` package (compat-tests/run.sh).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_vs_zookeeper as bench  # noqa: E402
import big_tree  # noqa: E402
import zkserver  # noqa: E402

EXTRA_CFG = "snapCount=10000000\n"


def zookeeper_argv(workdir, level):
    log4j = os.path.join(workdir, "log4j.properties")
    with open(log4j, "w") as f:
        f.write("log4j.rootLogger=%s, F\nlog4j.appender.F=org.apache.log4j.FileAppender\n"
                "log4j.appender.F.File=%s/server.log\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\n"
                "log4j.appender.F.layout.ConversionPattern=%%d{ISO8601} %%-5p %%m%%n\n" % (level, workdir))
    return ["java", "-Xmx2000m", "-Dlog4j.configuration=file:" + log4j, "-cp",
            zkserver.zookeeper_classpath(), "org.apache.zookeeper.server.ZooKeeperServerMain",
            os.path.join(workdir, "zoo.cfg")]


def launch(argv, workdir, port):
    """Starts argv; returns the process and the seconds until it served."""
    started = time.monotonic()
    log = open(os.path.join(workdir, "stdout.log"), "a")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, RUST_LOG="warn"))
    zkserver.wait_ready("127.0.0.1", port, pid=proc.pid, timeout=600)
    return proc, time.monotonic() - started


def zxid(port):
    srvr = zkserver.four_letter("127.0.0.1", port, "srvr", timeout=30.0)
    return int(re.search(r"Zxid: (0x[0-9a-f]+)", srvr).group(1), 16)


def make_zookeeper_dir(workdir, znodes, txns):
    data = os.path.join(workdir, "data")
    port = zkserver.free_port()
    os.makedirs(data)
    with open(os.path.join(workdir, "zoo.cfg"), "w") as f:
        f.write(bench.ZOO_CFG.format(data=data, port=port) + EXTRA_CFG)
    argv = zookeeper_argv(workdir, "WARN")
    proc, _ = launch(argv, workdir, port)
    hosts = "127.0.0.1:%d" % port
    count, fill_s = big_tree.fill(hosts, znodes)
    bench.stop(proc)
    proc, _ = launch(argv, workdir, port)
    target = zxid(port) + txns
    while zxid(port) < target:
        big_tree.run_bench(hosts, "set", 0.5)
    bench.stop(proc)
    print("filled ZooKeeper with %d znodes in %.0fs, then logged %d txns"
          % (count, fill_s, txns), file=sys.stderr)
    return data, port


def time_zookeeper(workdir, port):
    proc, serve_s = launch(zookeeper_argv(workdir, "INFO"), workdir, port)
    try:
        count = big_tree.znode_count("127.0.0.1:%d" % port)
    finally:
        bench.stop(proc)
    with open(os.path.join(workdir, "server.log"), errors="replace") as f:
        text = f.read()
    loaded = [int(ms) for ms in re.findall(r"Snapshot loaded in (\d+) ms", text)]
    return {"serving_s": round(serve_s, 2), "load_ms": loaded[-1] if loaded else None, "znodes": count}


def time_corral(zk_data, workdir):
    corral_dir = os.path.join(workdir, "corral")
    os.makedirs(corral_dir)
    port = zkserver.free_port()
    cfg = os.path.join(corral_dir, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write(bench.ZOO_CFG.format(data=os.path.join(corral_dir, "data"), port=port))
    started = time.monotonic()
    done = subprocess.run([bench.CORRAL, "--config", cfg, "import", "--zookeeper-data-dir", zk_data,
                           "--quiet"], check=True, capture_output=True, text=True)
    import_s = time.monotonic() - started
    print(done.stdout, file=sys.stderr)
    proc, serve_s = launch([bench.CORRAL, "--config", cfg], corral_dir, port)
    try:
        count = big_tree.znode_count("127.0.0.1:%d" % port)
    finally:
        bench.stop(proc)
    return {"import_s": round(import_s, 2), "serving_after_import_s": round(serve_s, 2),
            "znodes": count, "summary": done.stdout.strip()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--znodes", type=int, default=1_000_000)
    p.add_argument("--txns", type=int, default=100_000)
    p.add_argument("--keep", help="leave the ZooKeeper directory made here")
    p.add_argument("--reuse", help="time a ZooKeeper directory left by --keep")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as workdir:
        if args.reuse:
            shutil.copytree(args.reuse, workdir, dirs_exist_ok=True)
            zk_data = os.path.join(workdir, "data")
            with open(os.path.join(workdir, "zoo.cfg"), "w") as f:
                port = zkserver.free_port()
                f.write(bench.ZOO_CFG.format(data=zk_data, port=port) + EXTRA_CFG)
        else:
            zk_data, port = make_zookeeper_dir(workdir, args.znodes, args.txns)
            if args.keep:
                shutil.copytree(zk_data, os.path.join(args.keep, "data"))
        files = {name: os.path.getsize(os.path.join(zk_data, "version-2", name))
                 for name in sorted(os.listdir(os.path.join(zk_data, "version-2")))}
        os.sync()  # neither side should pay for flushing what was just written
        # corral first: ZooKeeper writes a new snapshot of everything as it starts.
        corral = time_corral(zk_data, workdir)
        zookeeper = time_zookeeper(workdir, port)
    result = {"files": files, "zookeeper": zookeeper, "corral": corral}
    print(json.dumps(result, indent=1))
    if zookeeper["znodes"] != corral["znodes"]:
        raise SystemExit("corral serves %d znodes, ZooKeeper %d" % (corral["znodes"], zookeeper["znodes"]))


if __name__ == "__main__":
    main()
