"""The fault tests' register workload: many kazoo sessions, spread over every server, read
(`sync` + `getData`), write (`setData -1`) and compare-and-set (`setData` at the version
they last saw) a few znodes, recording every call as a `linearizable.Op`.

A call that raises a connection error or times out has an unknown outcome (it may still be
applied later: a request kazoo queued while reconnecting is sent once connected); each
session waits to be connected again before its next call (`clients.Clients`), so a
disconnection costs it one unknown outcome, not one per attempt while it reconnects. A refusal
the server answered (BADVERSION) is a definite failure; a read without an answer is dropped,
as it changed nothing.
"""

import time

from kazoo.exceptions import BadVersionError, NoNodeError

from clients import CALL_TIMEOUT_S, Clients, connect
from linearizable import Op, is_linearizable, shortest_excerpt

ROOT = "/faults-register"
START = (b"0", 0)  # each register as `prepare` creates it
# About a minute of search in the worst case; a run of 60 s needs a few million at most.
MAX_STEPS = 60_000_000


def key_path(k):
    return "%s/k%d" % (ROOT, k)


def prepare(hosts, keys):
    """Creates the registers, each with data "0" at version 0."""
    zk = connect(hosts)
    try:
        zk.ensure_path(ROOT)
        for k in range(keys):
            zk.create(key_path(k), b"0")
    finally:
        zk.stop()
        zk.close()


class Register(Clients):
    """`clients` sessions, client i on server i mod len(servers), each running operations
    on random keys until `finish`; `histories()` gives each key's operations."""

    def __init__(self, servers, keys, clients, seed):
        super().__init__(servers, clients, seed)
        self.keys = keys
        self.ops = {k: [] for k in range(keys)}
        self.versions = {}  # {client: {key: the version it last saw}}
        self.calls = {}  # {client: how many calls it made}

    def histories(self):
        with self.lock:
            return {k: list(ops) for k, ops in self.ops.items()}

    def counts(self):
        counts = {"ok": 0, "fail": 0, "unknown": 0}
        for ops in self.histories().values():
            for op in ops:
                counts[op.outcome] += 1
        return counts

    def check(self):
        """(counts, {key: the shortest excerpt of its history that is not linearizable})."""
        anomalies = {}
        for key, ops in self.histories().items():
            if not is_linearizable(ops, START, max_steps=MAX_STEPS):
                anomalies["k%d" % key] = [repr(op) for op in shortest_excerpt(ops, START)]
        return self.counts(), anomalies

    def _record(self, key, op):
        with self.lock:
            self.ops[key].append(op)

    def step(self, zk, i, rng):
        n = self.calls[i] = self.calls.get(i, 0) + 1
        key = rng.randrange(self.keys)
        kind = rng.choice(("read", "write", "cas"))
        self._one(zk, "c%d" % i, key, kind, "c%d-%d" % (i, n), self.versions.setdefault(i, {}))

    def _one(self, zk, process, key, kind, value, versions):
        path = key_path(key)
        call = time.monotonic()
        if kind == "read":
            try:
                zk.sync_async(path).get(timeout=CALL_TIMEOUT_S)
                data, stat = zk.get_async(path).get(timeout=CALL_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - a read without an answer changed nothing
                time.sleep(0.05)
                return
            versions[key] = stat.version
            self._record(key, Op(process, "read", call, time.monotonic(), "ok",
                                 seen=(data, stat.version)))
            return
        expected = versions.get(key, 0) if kind == "cas" else -1
        try:
            stat = zk.set_async(path, value.encode(), version=expected).get(
                timeout=CALL_TIMEOUT_S)
        except (BadVersionError, NoNodeError):
            outcome, seen = "fail", None
        except Exception:  # noqa: BLE001 - lost or timed out: it may have been applied
            outcome, seen = "unknown", None
            time.sleep(0.05)
        else:
            outcome, seen = "ok", (None, stat.version)
            versions[key] = stat.version
        ret = None if outcome == "unknown" else time.monotonic()
        self._record(key, Op(process, kind, call, ret, outcome, value=value.encode(),
                             expected=expected if kind == "cas" else None, seen=seen))
