#!/usr/bin/env python3
"""Does corral give memory back after a burst? Starts a corral binary on a fresh data dir and
prints its RSS: idle, at the peak of 10,000 sessions (all open at once by default, then
closed with closeSession), 5 s after they are all closed, then the set and get throughput of
corral-bench (32 sessions x 8 in flight, 10 s each).

    scripts/memory_return.py [--bin target/release/corral] [--sessions 10000] [--wave 10000]

Used to choose the allocator setting (README, "Reliability"); needs `cargo build --release`.
"""

import argparse
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ZOO_CFG = "tickTime=2000\ndataDir={data}\nclientPort={port}\nclientPortAddress=127.0.0.1\n" \
    "maxClientCnxns=0\n4lw.commands.whitelist=*\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def read_frame(sock):
    def exact(n):
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out
    (length,) = struct.unpack(">i", exact(4))
    return exact(length)


def open_session(port):
    sock = socket.create_connection(("127.0.0.1", port))
    request = struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + b"\0" * 16 + b"\0"
    sock.sendall(frame(request))
    read_frame(sock)
    return sock


def close_session(sock):
    try:
        sock.sendall(frame(struct.pack(">ii", 1, -11)))
        read_frame(sock)
    except OSError:
        pass
    sock.close()


def wave(port, count, peak, pid):
    socks = []
    lock = threading.Lock()

    def opener(n):
        mine = [open_session(port) for _ in range(n)]
        with lock:
            socks.extend(mine)

    threads = [threading.Thread(target=opener, args=(count // 8,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak[0] = max(peak[0], rss_mib(pid))
    closers = [threading.Thread(target=lambda part=socks[i::8]: [close_session(s) for s in part])
               for i in range(8)]
    for t in closers:
        t.start()
    for t in closers:
        t.join()


def bench(port, workload):
    out = subprocess.run([os.path.join(ROOT, "target", "release", "corral-bench"), "--hosts",
                          f"127.0.0.1:{port}", "--workload", workload, "--duration", "10"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "corral"))
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--wave", type=int, default=10000, help="sessions open at once")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        cfg = os.path.join(work, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(ZOO_CFG.format(data=os.path.join(work, "data"), port=port))
        server = subprocess.Popen([args.bin, "--config", cfg], stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                except OSError:
                    time.sleep(0.05)
            time.sleep(1)
            idle = rss_mib(server.pid)
            peak = [idle]
            for _ in range(args.sessions // args.wave):
                wave(port, args.wave, peak, server.pid)
            time.sleep(5)
            after = rss_mib(server.pid)
            results = {"bin": args.bin, "idle_mib": round(idle, 1), "peak_mib": round(peak[0], 1),
                       "after_sessions_mib": round(after, 1)}
            for workload in ["set", "get"]:
                results[f"{workload}_ops"] = round(bench(port, workload)["ops_per_sec"])
            results["after_bench_mib"] = round(rss_mib(server.pid), 1)
            print(json.dumps(results))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
