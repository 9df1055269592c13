#!/usr/bin/env python3
"""Probe corral and Apache ZooKeeper 3.8 with hostile clients, side by side in one run.

Each scenario runs on a freshly started server (the same zoo.cfg for both, the one
scripts/bench_vs_zookeeper.py writes: standalone, forceSync, maxClientCnxns=0, all four-letter
words; ZooKeeper as `java -Xmx1000m`), while a CANARY client in its own process holds one
session and loops setData /canary, getData /canary, one request at a time. Reported per
(server, scenario): the server's RSS before, at its peak (sampled every 200 ms from
/proc/<pid>/status) and after the hostile clients are gone (once `mntr` shows at most 2 live
connections and at least 5 s after they closed), the canary's worst single-request latency and
its failures (error replies, requests that took over 5 s, lost connections), plus extras.

Scenarios (counts are multiplied by --scale; durations are fixed):
  idle-connections  10,000 handshaken sessions held idle ~15 s (pinging), then closed
  sessions          10,000 sessions opened and closed (closeSession) in waves of 1,000
  watches           2,000 sessions x 100 exists-watches on /w/0..99, then /w/0..99 are set
                    once each: 200,000 notifications; time until all arrived
  slow-reader-100k  one client (SO_RCVBUF=4096) pipelines getData of a 100 kB znode,
  slow-reader-1m    resp. 1 MB, 50 per write, for 25 s, never reading its socket (its
                    session timeout is 30 s; corral drops a client stalled for 2/3 of it)
  slowloris         2,000 connections dribbling a 1,000-byte frame a byte a second for 20 s,
                    plus 2,000 connections that send nothing

Output: progress lines, one JSON line per (server, scenario), then a Markdown table.

    scripts/adversarial.py [--targets corral,zookeeper] [--scenarios idle-connections,...]
                           [--scale 1.0]

Quick check: scripts/adversarial.py --scale 0.1. Standard library only; needs the release
binary (target/release/corral) and the Debian `zookeeper` package. Connects to 127.0.0.1
only. Raises RLIMIT_NOFILE's soft limit to the hard one (65536 or more if allowed).
"""

import argparse
import asyncio
import json
import os
import resource
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, HERE)
import bench_vs_zookeeper as bench  # noqa: E402  (also puts compat-tests/lib on sys.path)

zkserver = bench.zkserver
HOST = "127.0.0.1"
SCENARIOS = ["idle-connections", "sessions", "watches", "slow-reader-100k", "slow-reader-1m", "slowloris"]
TARGETS = ["corral", "zookeeper"]
CANARY_LIMIT_S = 5.0
# Connections being opened at once: below ZooKeeper's accept backlog (Java's default, 50), so a
# burst never overflows it and no SYN waits for a retransmission (reported: listen_overflows).
CONNECT_CONCURRENCY = 40
SETTLE_MAX_S = 30.0

# Opcodes and wire helpers (all big-endian, every message is a 4-byte length then payload).
OP_CREATE, OP_DELETE, OP_EXISTS, OP_GET_DATA, OP_SET_DATA, OP_PING, OP_CLOSE = 1, 2, 3, 4, 5, 11, -11
XID_WATCH, XID_PING = -1, -2
TCP_ESTABLISHED = 1


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def ustr(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def buf(b):
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def connect_request(timeout_ms):
    return frame(struct.pack(">iqiq", 0, 0, timeout_ms, 0) + buf(bytes(16)) + b"\0")


def request(xid, op, body=b""):
    return frame(struct.pack(">ii", xid, op) + body)


OPEN_ACL = struct.pack(">ii", 1, 31) + ustr("world") + ustr("anyone")


def create_body(path, data, flags=0):
    return ustr(path) + buf(data) + OPEN_ACL + struct.pack(">i", flags)


def path_watch_body(path, watch=False):  # exists and getData
    return ustr(path) + (b"\1" if watch else b"\0")


def set_data_body(path, data):
    return ustr(path) + buf(data) + struct.pack(">i", -1)


def log(msg):
    print("%s %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# ---------------------------------------------------------------- blocking client


class SyncClient:
    """One session on a blocking socket; every call is bounded by a deadline."""

    def __init__(self, port, session_ms=30000, deadline=None, rcvbuf=None):
        deadline = deadline or time.monotonic() + 15
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            self.sock.connect((HOST, port))
            self._send(connect_request(session_ms), deadline)
            resp = self.read_frame(deadline)
            _, self.timeout_ms, self.session_id = struct.unpack_from(">iiq", resp)
        except BaseException:
            self.sock.close()
            raise
        self.xid = 0

    def _send(self, data, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline")
        self.sock.settimeout(remaining)
        self.sock.sendall(data)

    def _recv_exact(self, n, deadline):
        out = bytearray()
        while len(out) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(min(n - len(out), 1 << 20))
            if not chunk:
                raise ConnectionError("server closed the connection")
            out += chunk
        return bytes(out)

    def read_frame(self, deadline):
        n = struct.unpack(">i", self._recv_exact(4, deadline))[0]
        return self._recv_exact(n, deadline)

    def call(self, op, body=b"", timeout=15.0):
        """(err, reply body); watch events and pings in between are skipped."""
        deadline = time.monotonic() + timeout
        self.xid += 1
        self._send(request(self.xid, op, body), deadline)
        while True:
            reply = self.read_frame(deadline)
            xid, _zxid, err = struct.unpack_from(">iqi", reply)
            if xid == self.xid:
                return err, reply[16:]

    def close(self, timeout=5.0):
        try:
            self.call(OP_CLOSE, timeout=timeout)
        except OSError:
            pass
        finally:
            self.sock.close()


def tcp_queues(local_port, remote_port):
    """(tx_queue, rx_queue) in bytes of the 127.0.0.1 socket local_port -> remote_port, from
    /proc/net/tcp{,6}: what its owner has written but the peer not yet acknowledged, and what
    has arrived but its owner not yet read. None if there is no such socket. (Java's sockets
    are IPv6 ones, with 127.0.0.1 as ::ffff:127.0.0.1.)"""
    want = (":%04X" % local_port, ":%04X" % remote_port)
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, remote = fields[1], fields[2]
                    if (local[-5:], remote[-5:]) == want and local[:-5].endswith("0100007F") \
                            and remote[:-5].endswith("0100007F"):
                        tx, rx = fields[4].split(":")
                        return int(tx, 16), int(rx, 16)
        except (OSError, StopIteration, IndexError):
            pass
    return None


def tcp_state(sock):
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except OSError:
        return -1


# ---------------------------------------------------------------- canary (child process)


def canary_main(port):
    """Runs in its own process (`--canary-child PORT`) so the load generator's CPU use and the
    GIL do not show up as server stalls. Prints `ready`, runs until stdin closes, prints JSON."""
    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stats = dict(requests=0, failures=0, timeouts=0, error_replies=0, disconnects=0, reconnects=0)
    latencies = []
    worst, worst_at = 0.0, 0.0
    client = None
    deadline = time.monotonic() + 30
    while client is None:
        try:
            client = SyncClient(port, deadline=time.monotonic() + CANARY_LIMIT_S)
        except OSError:
            if time.monotonic() > deadline or stop.is_set():
                print(json.dumps({"error": "canary could not connect"}), flush=True)
                return
            time.sleep(0.2)
    print("ready", flush=True)
    start = time.monotonic()
    data = b"canary-%d" % os.getpid()
    use_set = True
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            if client is None:
                client = SyncClient(port, deadline=t0 + CANARY_LIMIT_S)
                stats["reconnects"] += 1
            remaining = t0 + CANARY_LIMIT_S - time.monotonic()
            if use_set:
                err, _ = client.call(OP_SET_DATA, set_data_body("/canary", data), timeout=remaining)
            else:
                err, _ = client.call(OP_GET_DATA, path_watch_body("/canary"), timeout=remaining)
            use_set = not use_set
            if err != 0:
                stats["error_replies"] += 1
                stats["failures"] += 1
        except TimeoutError:
            stats["timeouts"] += 1
            stats["failures"] += 1
            if client is not None:
                client.sock.close()
            client = None
        except (OSError, struct.error):
            stats["disconnects"] += 1
            stats["failures"] += 1
            if client is not None:
                client.sock.close()
            client = None
            time.sleep(0.05)
        dt = time.monotonic() - t0
        stats["requests"] += 1
        latencies.append(dt)
        if dt > worst:
            worst, worst_at = dt, t0 - start
    if client is not None:
        client.close(timeout=2)
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else None
    stats.update(worst_ms=round(worst * 1000, 1), worst_at_s=round(worst_at, 1),
                 p50_ms=q(0.5) and round(q(0.5), 2), p99_ms=q(0.99) and round(q(0.99), 2),
                 seconds=round(time.monotonic() - start, 1))
    print(json.dumps(stats), flush=True)


class Canary:
    def __init__(self, port):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--canary-child", str(port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 40)
        line = self.proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            self.kill()
            raise RuntimeError("canary did not start: %r" % line)

    def finish(self):
        """Stops the canary and returns its statistics."""
        try:
            out, _ = self.proc.communicate(input="", timeout=CANARY_LIMIT_S + 10)
            return json.loads(out.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
            self.kill()
            return {"error": "canary did not report: %r" % e}

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- servers and measurement


def start_server(target, workdir):
    """bench_vs_zookeeper.start()'s config and argv; the process is stopped if it never serves."""
    data = os.path.join(workdir, "data")
    cfg = os.path.join(workdir, "zoo.cfg")
    port = zkserver.free_port()
    os.makedirs(data)
    with open(cfg, "w") as f:
        f.write(bench.ZOO_CFG.format(data=data, port=port))
    if target == "zookeeper":
        log4j = os.path.join(workdir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write("log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\n"
                    "log4j.appender.F.File=%s/server.log\nlog4j.appender.F.layout=org.apache.log4j.SimpleLayout\n"
                    % workdir)
        argv = ["java", "-Xmx1000m", "-Dlog4j.configuration=file:" + log4j, "-cp",
                zkserver.zookeeper_classpath(), "org.apache.zookeeper.server.ZooKeeperServerMain", cfg]
    else:
        argv = [bench.CORRAL, "--config", cfg]
    with open(os.path.join(workdir, "stdout.log"), "a") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=dict(os.environ, RUST_LOG=os.environ.get("CORRAL_LOG", "warn")))
    try:
        zkserver.wait_ready(HOST, port, pid=proc.pid, d=workdir)
    except BaseException:
        stop_server(proc)
        raise
    return proc, port


def stop_server(proc):
    if proc.poll() is not None:
        return
    try:
        bench.stop(proc)
    except ProcessLookupError:
        proc.wait()


def log_tail(workdir, lines=15):
    out = []
    for name in ("stdout.log", "server.log"):
        try:
            with open(os.path.join(workdir, name), errors="replace") as f:
                out += f.readlines()[-lines:]
        except FileNotFoundError:
            pass
    return "".join(out)


def rss_status(pid):
    """(VmRSS, VmHWM) in KiB, or None if the process is gone."""
    fields = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if "VmRSS" not in fields:  # zombie
        return None
    return int(fields["VmRSS"][0]), int(fields["VmHWM"][0])


def listen_overflows():
    """TcpExt ListenOverflows + ListenDrops (this network namespace): SYNs a full backlog dropped."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for head, values in zip(lines[::2], lines[1::2]):
        if head.startswith("TcpExt:"):
            table = dict(zip(head.split()[1:], values.split()[1:]))
            return int(table.get("ListenOverflows", 0)) + int(table.get("ListenDrops", 0))
    return None


def mib(kib):
    return None if kib is None else round(kib / 1024, 1)


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.last = None
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            st = rss_status(self.pid)
            if st is not None:
                self.last = st[0]
                self.peak = max(self.peak, st[0])
            self.halt.wait(self.interval)

    def stop(self):
        self.halt.set()
        self.join(2)


def mntr(port, timeout=5.0):
    try:
        text = zkserver.four_letter(HOST, port, "mntr", timeout=timeout)
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition("\t")
        out[key.strip()] = value.strip()
    return out


def alive_connections(port):
    value = mntr(port).get("zk_num_alive_connections")
    return int(value) if value and value.lstrip("-").isdigit() else None


class Ctx:
    def __init__(self, target, name, port, proc, sampler, scale):
        self.target, self.name, self.port, self.proc = target, name, port, proc
        self.sampler, self.scale = sampler, scale
        self.extras = {}
        self.rss_after = None

    def count(self, base):
        return max(1, int(round(base * self.scale)))

    def say(self, msg):
        st = rss_status(self.proc.pid)
        log("[%s/%s] %s (rss %s MiB)" % (self.target, self.name, msg, mib(st and st[0])))

    def settle(self, closed_at):
        """After the hostile clients are gone: wait until mntr shows <= 2 connections (the canary,
        and on ZooKeeper the mntr connection itself) and >= 5 s since they closed; sample RSS."""
        t0 = time.monotonic()
        alive = None
        while time.monotonic() - t0 < SETTLE_MAX_S and self.proc.poll() is None:
            alive = alive_connections(self.port)
            if alive is not None and alive <= 2:
                break
            time.sleep(0.5)
        wait = closed_at + 5 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        st = rss_status(self.proc.pid)
        self.rss_after = st and st[0]
        self.extras["alive_connections_after"] = alive
        self.extras["settle_s"] = round(time.monotonic() - closed_at, 1)


# ---------------------------------------------------------------- asyncio client


class ZkProto(asyncio.Protocol):
    """A session on an asyncio transport: handshake, calls by xid, counts watch events."""

    def __init__(self, event_target=0):
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.buf = bytearray()
        self.handshake = loop.create_future()
        self.closed = loop.create_future()
        self.pending = {}
        self.xid = 0
        self.events = 0
        self.event_target = event_target
        self.events_done = loop.create_future()
        self.events_done_at = None
        self.transport = None
        self.lost = False
        self.closing = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        pos, b = 0, self.buf
        while len(b) - pos >= 4:
            n = int.from_bytes(b[pos:pos + 4], "big", signed=True)
            if len(b) - pos - 4 < n:
                break
            self.on_frame(bytes(b[pos + 4:pos + 4 + n]))
            pos += 4 + n
        if pos:
            del b[:pos]

    def on_frame(self, payload):
        if not self.handshake.done():
            if len(payload) < 16:
                self.handshake.set_exception(ConnectionError("short ConnectResponse"))
                return
            _, timeout_ms, session_id = struct.unpack_from(">iiq", payload)
            self.handshake.set_result(session_id)
            return
        xid, _zxid, err = struct.unpack_from(">iqi", payload)
        if xid == XID_WATCH:
            self.events += 1
            if self.event_target and self.events >= self.event_target and not self.events_done.done():
                self.events_done_at = time.monotonic()
                self.events_done.set_result(self.events)
        elif xid != XID_PING:
            fut = self.pending.pop(xid, None)
            if fut is not None and not fut.done():
                fut.set_result(err)

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        self.lost = True
        err = ConnectionError("connection lost")
        for fut in (self.handshake, *self.pending.values()):
            if not fut.done():
                fut.set_exception(err)
                fut.exception()  # mark retrieved
        self.pending.clear()
        if not self.closed.done():
            self.closed.set_result(time.monotonic())

    def call(self, op, body=b""):
        fut = self.loop.create_future()
        if self.lost:
            fut.set_exception(ConnectionError("connection lost"))
            return fut
        self.xid += 1
        self.pending[self.xid] = fut
        self.transport.write(request(self.xid, op, body))
        return fut

    def ping(self):
        if not self.lost:
            self.transport.write(request(XID_PING, OP_PING))

    def close(self):
        self.closing = True
        if self.transport is not None:
            self.transport.close()


async def zk_open(port, session_ms, timeout=30.0, event_target=0):
    loop = asyncio.get_running_loop()
    transport, proto = await asyncio.wait_for(
        loop.create_connection(lambda: ZkProto(event_target), HOST, port), timeout)
    transport.write(connect_request(session_ms))
    try:
        await asyncio.wait_for(asyncio.shield(proto.handshake), timeout)
    except BaseException:
        transport.abort()
        raise
    return proto


async def open_many(ctx, n, session_ms, concurrency=CONNECT_CONCURRENCY, event_target=0, into=None):
    """Opens n sessions, at most `concurrency` handshakes in flight. Returns (conns, failures)."""
    sem = asyncio.Semaphore(concurrency)
    conns = into if into is not None else []
    failures = {}

    async def one():
        async with sem:
            try:
                conns.append(await zk_open(ctx.port, session_ms, event_target=event_target))
            except (OSError, asyncio.TimeoutError) as e:
                failures[type(e).__name__] = failures.get(type(e).__name__, 0) + 1

    await asyncio.gather(*(one() for _ in range(n)))
    return conns, failures


async def progress(ctx, what, every=5.0):
    while True:
        await asyncio.sleep(every)
        ctx.say(what())


def close_all(conns):
    for c in conns:
        c.close()


async def close_sessions(conns, timeout=30.0, concurrency=500):
    """closeSession on each; waits for the reply and for the server to close. Returns #ok."""
    sem = asyncio.Semaphore(concurrency)
    ok = 0

    async def one(c):
        nonlocal ok
        async with sem:
            try:
                err = await asyncio.wait_for(c.call(OP_CLOSE), timeout)
                await asyncio.wait_for(asyncio.shield(c.closed), timeout)
                ok += err == 0
            except (OSError, asyncio.TimeoutError):
                pass
            finally:
                c.close()

    await asyncio.gather(*(one(c) for c in conns))
    return ok


# ---------------------------------------------------------------- scenarios


def scenario_idle(ctx):
    n, hold = ctx.count(10000), 15.0

    async def run():
        conns = []
        prog = asyncio.ensure_future(progress(ctx, lambda: "connected %d/%d" % (len(conns), n)))

        async def pinger():  # what a real client does every few seconds while idle
            while True:
                await asyncio.sleep(5)
                for c in list(conns):
                    c.ping()

        ping_task = asyncio.ensure_future(pinger())
        try:
            t0 = time.monotonic()
            _, failures = await open_many(ctx, n, 40000, into=conns)
            ctx.extras.update(connected=len(conns), connect_failures=failures,
                              connect_s=round(time.monotonic() - t0, 1))
            ctx.say("%d connected in %.1fs, holding %.0fs" % (len(conns), time.monotonic() - t0, hold))
            await asyncio.sleep(hold / 2)
            ctx.extras["server_alive_connections_at_peak"] = await asyncio.to_thread(alive_connections, ctx.port)
            await asyncio.sleep(hold / 2)
            ctx.extras["dropped_by_server"] = sum(c.lost for c in conns)
            st = rss_status(ctx.proc.pid)
            ctx.extras["rss_at_hold_end_mib"] = mib(st and st[0])
        finally:
            prog.cancel()
            ping_task.cancel()
            close_all(conns)
        await asyncio.sleep(0.5)

    asyncio.run(run())
    closed_at = time.monotonic()
    ctx.say("closed all connections")
    ctx.settle(closed_at)


def scenario_sessions(ctx):
    n, wave = ctx.count(10000), ctx.count(1000)

    async def run():
        opened = closed_ok = 0
        open_s = close_s = 0.0
        fails = {}
        t0 = time.monotonic()
        for start in range(0, n, wave):
            conns = []
            try:
                t1 = time.monotonic()
                _, failures = await open_many(ctx, min(wave, n - start), 30000, into=conns)
                t2 = time.monotonic()
                opened += len(conns)
                for k, v in failures.items():
                    fails[k] = fails.get(k, 0) + v
                closed_ok += await close_sessions(conns)
                open_s += t2 - t1
                close_s += time.monotonic() - t2
            finally:
                close_all(conns)
            ctx.say("wave %d: %d opened, %d closed so far" % (start // wave + 1, opened, closed_ok))
        ctx.extras.update(sessions_opened=opened, sessions_closed_ok=closed_ok, open_failures=fails,
                          elapsed_s=round(time.monotonic() - t0, 1), opening_s=round(open_s, 1),
                          closing_s=round(close_s, 1))

    asyncio.run(run())
    closed_at = time.monotonic()
    ctx.settle(closed_at)


def scenario_watches(ctx):
    n, paths = ctx.count(2000), 100
    setup = SyncClient(ctx.port)
    try:
        for p in ["/w"] + ["/w/%d" % i for i in range(paths)]:
            err, _ = setup.call(OP_CREATE, create_body(p, b"0"))
            if err not in (0, -110):
                raise RuntimeError("create %s: error %d" % (p, err))
    finally:
        setup.close()

    async def run():
        conns = []
        prog = asyncio.ensure_future(progress(ctx, lambda: "%d sessions" % len(conns)))
        try:
            t0 = time.monotonic()
            _, failures = await open_many(ctx, n, 40000, event_target=paths, into=conns)
            ctx.extras.update(sessions=len(conns), open_failures=failures)
            sem = asyncio.Semaphore(200)
            arm_failures = 0

            async def arm(c):
                nonlocal arm_failures
                async with sem:
                    futs = [c.call(OP_EXISTS, path_watch_body("/w/%d" % i, True)) for i in range(paths)]
                    try:
                        errs = await asyncio.wait_for(asyncio.gather(*futs), 60)
                        arm_failures += sum(e != 0 for e in errs)
                    except (OSError, asyncio.TimeoutError):
                        arm_failures += paths

            await asyncio.gather(*(arm(c) for c in conns))
            ctx.extras.update(watch_failures=arm_failures, arm_s=round(time.monotonic() - t0, 1))
            info = await asyncio.to_thread(mntr, ctx.port)
            ctx.extras["server_watch_count"] = info.get("zk_watch_count")
            ctx.say("%d sessions armed %d watches each; firing" % (len(conns), paths))
            setter = await zk_open(ctx.port, 30000)
            t_fire = time.monotonic()
            set_failures = 0
            for i in range(paths):
                try:
                    err = await asyncio.wait_for(setter.call(OP_SET_DATA, set_data_body("/w/%d" % i, b"1")), 30)
                    set_failures += err != 0
                except (OSError, asyncio.TimeoutError):
                    set_failures += 1
            ctx.extras["set_all_s"] = round(time.monotonic() - t_fire, 2)
            setter.close()
            if conns:
                await asyncio.wait([c.events_done for c in conns], timeout=60)
            done = [c.events_done_at for c in conns if c.events_done_at is not None]
            ctx.extras.update(
                set_failures=set_failures,
                events_expected=len(conns) * paths,
                events_received=sum(c.events for c in conns),
                sessions_with_all_events=len(done),
                all_events_s=round(max(done) - t_fire, 2) if len(done) == len(conns) and done else None)
            ctx.say("%d/%d events, all arrived after %ss" % (ctx.extras["events_received"],
                                                           ctx.extras["events_expected"],
                                                           ctx.extras["all_events_s"]))
            ctx.extras["sessions_closed_ok"] = await close_sessions(conns)
        finally:
            prog.cancel()
            close_all(conns)
        await asyncio.sleep(0.2)

    asyncio.run(run())
    ctx.settle(time.monotonic())


def scenario_slow_reader(ctx, size, duration=25.0, per_write=50):
    setup = SyncClient(ctx.port)
    try:
        err, _ = setup.call(OP_CREATE, create_body("/big", b"x" * size), timeout=30)
        if err != 0:
            raise RuntimeError("create /big (%d bytes): error %d" % (size, err))
    finally:
        setup.close()
    s = SyncClient(ctx.port, rcvbuf=4096).sock  # SO_RCVBUF set before connect
    ctx.extras["rcvbuf_effective"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    s.setblocking(False)
    xid, sent, written, pending = 0, 0, 0, b""
    request_bytes = len(request(1, OP_GET_DATA, path_watch_body("/big")))
    client_port = s.getsockname()[1]
    last_progress = t0 = time.monotonic()
    next_report = t0 + 5
    next_queues = t0 + 1
    disconnected = None
    try:
        while time.monotonic() - t0 < duration:
            if not pending:
                batch = []
                for _ in range(per_write):
                    xid += 1
                    batch.append(request(xid, OP_GET_DATA, path_watch_body("/big")))
                pending = b"".join(batch)
            _, writable, _ = select.select([], [s], [], 0.5)
            if writable:
                try:
                    k = s.send(pending)
                    written += k
                    pending = pending[k:]
                    last_progress = time.monotonic()
                    if not pending:
                        sent += per_write
                except BlockingIOError:
                    pass
                except OSError as e:
                    disconnected = (time.monotonic() - t0, type(e).__name__)
                    break
            state = tcp_state(s)
            if state != TCP_ESTABLISHED:
                disconnected = (time.monotonic() - t0, "tcp state %d" % state)
                break
            if time.monotonic() >= next_queues:
                next_queues += 1
                # How much of what we wrote the server has read, from the kernel's queues:
                # written minus our send queue minus what waits unread in the server's socket.
                mine, theirs = tcp_queues(client_port, ctx.port), tcp_queues(ctx.port, client_port)
                if mine and theirs:
                    ctx.extras.update(requests_read_by_server=(written - mine[0] - theirs[1]) // request_bytes,
                                      server_unread_kib=theirs[1] // 1024,
                                      server_kernel_sendq_kib=theirs[0] // 1024)
            if time.monotonic() >= next_report:
                next_report += 5
                ctx.say("%d getData sent, %s read by the server, sender blocked for %.1fs" % (
                    sent, ctx.extras.get("requests_read_by_server"), time.monotonic() - last_progress))
        info = mntr(ctx.port)  # packets_received includes the canary's requests
        ctx.extras.update(server_packets_received=info.get("zk_packets_received"),
                          server_packets_sent=info.get("zk_packets_sent"),
                          server_outstanding_requests=info.get("zk_outstanding_requests"))
    finally:
        s.close()
    closed_at = time.monotonic()
    ctx.extras.update(
        requests_sent=sent, bytes_written=written,
        sender_last_progress_s=round(last_progress - t0, 1),
        server_disconnected=disconnected is not None,
        disconnected_after_s=disconnected and round(disconnected[0], 1),
        disconnect_how=disconnected and disconnected[1])
    ctx.say("slow reader done: %d requests sent, %s" % (
        sent, "server disconnected it after %.1fs" % disconnected[0] if disconnected else "never disconnected"))
    ctx.settle(closed_at)


class RawProto(asyncio.Protocol):
    def __init__(self):
        self.transport = None
        self.opened_at = time.monotonic()
        self.server_closed_at = None
        self.closing = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        pass

    def eof_received(self):
        if not self.closing and self.server_closed_at is None:
            self.server_closed_at = time.monotonic()
        return False

    def connection_lost(self, exc):
        if not self.closing and self.server_closed_at is None:
            self.server_closed_at = time.monotonic()

    def close(self):
        self.closing = True
        if self.transport is not None:
            self.transport.close()


def scenario_slowloris(ctx, duration=20.0):
    n = ctx.count(2000)

    async def run():
        loop = asyncio.get_running_loop()
        dribblers, silent = [], []
        sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
        fails = 0

        async def one(i, group, prefix):
            nonlocal fails
            # These connections complete at SYN-ACK, before the server accepts them: a bounded
            # rate (500/s), not just a bounded number in flight, keeps its backlog from overflowing.
            await asyncio.sleep(i / 500)
            async with sem:
                try:
                    _, p = await asyncio.wait_for(loop.create_connection(RawProto, HOST, ctx.port), 30)
                except (OSError, asyncio.TimeoutError):
                    fails += 1
                    return
                if prefix:
                    p.transport.write(struct.pack(">i", 1000))
                group.append(p)

        try:
            t0 = time.monotonic()
            await asyncio.gather(*(one(i, dribblers if i % 2 == 0 else silent, i % 2 == 0) for i in range(2 * n)))
            ctx.extras.update(dribblers=len(dribblers), silent=len(silent), connect_failures=fails,
                              connect_s=round(time.monotonic() - t0, 1))
            ctx.say("%d dribbling + %d silent connections open" % (len(dribblers), len(silent)))
            for second in range(int(duration)):
                await asyncio.sleep(1)
                for p in dribblers:
                    if p.server_closed_at is None and not p.transport.is_closing():
                        p.transport.write(b"\0")
                if second == 4:
                    ctx.extras["server_alive_connections_at_5s"] = await asyncio.to_thread(
                        alive_connections, ctx.port)
                if second % 5 == 4:
                    ctx.say("%ds: server closed %d dribbling, %d silent" % (
                        second + 1, sum(p.server_closed_at is not None for p in dribblers),
                        sum(p.server_closed_at is not None for p in silent)))

            def closed(group):
                times = [p.server_closed_at - p.opened_at for p in group if p.server_closed_at is not None]
                return len(times), round(statistics.median(times), 1) if times else None

            (dc, dm), (sc, sm) = closed(dribblers), closed(silent)
            ctx.extras.update(dribblers_closed_by_server=dc, dribbler_close_median_s=dm,
                              silent_closed_by_server=sc, silent_close_median_s=sm)
        finally:
            close_all(dribblers + silent)
        await asyncio.sleep(0.2)

    asyncio.run(run())
    ctx.settle(time.monotonic())


RUNNERS = {
    "idle-connections": scenario_idle,
    "sessions": scenario_sessions,
    "watches": scenario_watches,
    "slow-reader-100k": lambda ctx: scenario_slow_reader(ctx, 100_000),
    "slow-reader-1m": lambda ctx: scenario_slow_reader(ctx, 1_000_000),
    "slowloris": scenario_slowloris,
}


def run_one(target, name, scale):
    result = {"server": target, "scenario": name}
    with tempfile.TemporaryDirectory(prefix="adversarial-%s-" % target) as workdir:
        proc, port = start_server(target, workdir)
        sampler = canary = None
        try:
            setup = SyncClient(port)
            try:
                setup.call(OP_CREATE, create_body("/canary", b"0"))
            finally:
                setup.close()
            time.sleep(1)
            before = rss_status(proc.pid)
            sampler = RssSampler(proc.pid)
            sampler.start()
            ctx = Ctx(target, name, port, proc, sampler, scale)
            ctx.say("start (pid %d, port %d)" % (proc.pid, port))
            canary = Canary(port)
            overflows = listen_overflows()
            t0 = time.monotonic()
            try:
                RUNNERS[name](ctx)
            except Exception as e:  # report and go on with the next scenario
                result["error"] = "%s: %s" % (type(e).__name__, e)
                ctx.say("scenario failed: %s" % result["error"])
            stats = canary.finish()
            canary = None
            sampler.stop()
            crashed = proc.poll() is not None
            after = ctx.rss_after if ctx.rss_after is not None else (rss_status(proc.pid) or (None,))[0]
            hwm = rss_status(proc.pid)
            result.update(
                rss_before_mib=mib(before and before[0]), rss_peak_mib=mib(sampler.peak),
                rss_after_mib=mib(after), vmhwm_mib=mib(hwm and hwm[1]),
                canary_worst_ms=stats.get("worst_ms"), canary_failures=stats.get("failures"),
                canary=stats, duration_s=round(time.monotonic() - t0, 1), server_crashed=crashed,
                listen_overflows=overflows is not None and listen_overflows() - overflows)
            result.update(ctx.extras)
            if crashed:
                result["server_exit"] = proc.returncode
                log("[%s/%s] SERVER EXITED (%s); log tail:\n%s" % (target, name, proc.returncode, log_tail(workdir)))
        finally:
            if canary is not None:
                canary.kill()
            if sampler is not None:
                sampler.stop()
            stop_server(proc)
    print(json.dumps(result), flush=True)
    return result


def table(results, targets, scenarios):
    names = {"corral": "corral", "zookeeper": "ZooKeeper"}
    head = ["scenario"]
    for t in targets:
        head += ["%s RSS peak / after MiB" % names[t]]
    for t in targets:
        head += ["%s canary worst ms" % names[t]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in scenarios:
        row = [s]
        cells = []
        for t in targets:
            r = results.get((t, s), {})
            if "rss_peak_mib" not in r:
                row.append("not run" if not r else "failed")
                cells.append("—")
                continue
            note = " (crashed)" if r.get("server_crashed") else ""
            row.append("%s / %s%s" % (r["rss_peak_mib"], r["rss_after_mib"], note))
            worst = r.get("canary_worst_ms")
            fails = r.get("canary_failures")
            cells.append("%s%s" % ("%.0f" % worst if worst is not None else "?",
                                   " (%d failed)" % fails if fails else ""))
        lines.append("| " + " | ".join(row + cells) + " |")
    return "\n".join(lines)


def notes(results, targets, scenarios):
    out = []
    keys = {
        "idle-connections": ["connected", "dropped_by_server", "server_alive_connections_at_peak", "connect_s"],
        "sessions": ["sessions_opened", "sessions_closed_ok", "opening_s", "closing_s"],
        "watches": ["events_received", "events_expected", "all_events_s", "set_all_s", "arm_s"],
        "slow-reader-100k": ["requests_sent", "requests_read_by_server", "server_disconnected",
                             "disconnected_after_s", "sender_last_progress_s"],
        "slow-reader-1m": ["requests_sent", "requests_read_by_server", "server_disconnected",
                           "disconnected_after_s", "sender_last_progress_s"],
        "slowloris": ["dribblers_closed_by_server", "dribbler_close_median_s", "silent_closed_by_server",
                      "silent_close_median_s"],
    }
    for s in scenarios:
        for t in targets:
            r = results.get((t, s))
            if not r:
                continue
            parts = ["rss_before=%s" % r.get("rss_before_mib")]
            if isinstance(r.get("canary"), dict):
                parts.append("canary_requests=%s" % r["canary"].get("requests"))
            parts += ["%s=%s" % (k, r[k]) for k in keys.get(s, []) if k in r]
            if r.get("error"):
                parts.append("error=%s" % r["error"])
            out.append("- %s / %s: %s" % (s, t, ", ".join(parts)))
    return "\n".join(out)


def interrupt(*_):
    raise KeyboardInterrupt()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else max(hard, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--canary-child":
        canary_main(int(sys.argv[2]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--scale", type=float, default=1.0, help="multiplies connection/session counts")
    args = p.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    scenarios = [s for s in args.scenarios.split(",") if s]
    for t in targets:
        if t not in TARGETS:
            p.error("unknown target %r" % t)
    for s in scenarios:
        if s not in RUNNERS:
            p.error("unknown scenario %r (known: %s)" % (s, ",".join(SCENARIOS)))
    if "corral" in targets and not os.access(bench.CORRAL, os.X_OK):
        sys.exit("missing %s (cargo build --release)" % bench.CORRAL)
    if "corral" in targets:
        log("corral binary %s, modified %s" % (bench.CORRAL, time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(os.stat(bench.CORRAL).st_mtime))))
    nofile = raise_nofile()
    need = int(10000 * args.scale) + 1000
    log("RLIMIT_NOFILE %d (this run needs about %d per process)" % (nofile, need))
    if nofile < need:
        log("warning: the file descriptor limit is lower than the run needs")
    # SIGTERM (and SIGINT, even if inherited as ignored) unwinds like Ctrl-C: the finally
    # blocks stop the servers and the canary.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    results = {}
    interrupted = False
    try:
        for s in scenarios:
            for t in targets:
                try:
                    results[(t, s)] = run_one(t, s, args.scale)
                except (RuntimeError, OSError) as e:
                    log("[%s/%s] could not run: %s" % (t, s, e))
                    results[(t, s)] = {"server": t, "scenario": s, "error": str(e)}
                    print(json.dumps(results[(t, s)]), flush=True)
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        interrupted = True
    print()
    print("Scale %g; each scenario on a fresh server; canary = setData+getData loop, one at a time." % args.scale)
    print()
    print(table(results, targets, scenarios))
    print()
    print(notes(results, targets, scenarios))
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
