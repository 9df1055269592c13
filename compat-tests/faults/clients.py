"""The sessions of the fault tests' workloads: a thread per client, each with its own kazoo
session on one server (client i on server i mod n), looping until told to stop, and the final
reads that ask every server on its own what it holds once the faults are healed.

A call that raises a connection error or times out has an unknown outcome: it may still take
effect. A session waits to be connected again before its next call, so a disconnection costs
it one unknown outcome, not one per attempt while it reconnects.
"""

import random
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (BadArgumentsError, BadVersionError, NoAuthError,
                               NoChildrenForEphemeralsError, NodeExistsError, NoNodeError,
                               NotEmptyError)

CALL_TIMEOUT_S = 5.0
RETRY = {"max_tries": -1, "delay": 0.1, "max_delay": 1}


def connect(hosts, timeout=10.0):
    zk = KazooClient(hosts=hosts, timeout=timeout, connection_retry=RETRY)
    zk.start(timeout=30)
    return zk


def ensure_paths(hosts, *paths):
    zk = connect(hosts)
    try:
        for path in paths:
            zk.ensure_path(path)
    finally:
        zk.stop()
        zk.close()


class Clients:
    """`clients` threads running `self.step(zk, i, rng)` while connected, until `finish`."""

    session_timeout = 10.0

    def __init__(self, servers, clients, seed):
        self.servers, self.clients, self.seed = servers, clients, seed
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = []
        # A client thread that fails ends, and the run cannot be judged: the test says so.
        self.errors = []

    def start(self):
        for i in range(self.clients):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=CALL_TIMEOUT_S * 3 + 30)  # a closing client may wait to reconnect

    def _run(self, i):
        rng = random.Random("%s-%s-%d" % (type(self).__name__, self.seed, i))
        try:
            zk = connect(self.servers[i % len(self.servers)], self.session_timeout)
        except Exception:  # noqa: BLE001 - a client that never connects does nothing
            return
        try:
            while not self.stop.is_set():
                if not zk.connected:
                    time.sleep(0.05)
                    continue
                zk = self.step(zk, i, rng) or zk
        except Exception as e:  # noqa: BLE001 - reported by the test as a harness error
            self.errors.append("client %d: %r" % (i, e))
            raise
        finally:
            self.closing(zk, i)

    def step(self, zk, i, rng):
        """One call (or a few); may return a new client to carry on with."""
        raise NotImplementedError

    def closing(self, zk, i):
        zk.stop()
        zk.close()


# Answers that say the request was refused. kazoo raises the rest of its errors (connection
# loss, session expired or moved, timeouts) for requests whose fate it does not know.
DEFINITE = (BadArgumentsError, BadVersionError, NoAuthError, NoChildrenForEphemeralsError,
            NodeExistsError, NoNodeError, NotEmptyError)


def session_of(zk):
    """The client's session id, or None while it has none (kazoo drops it when the session
    expires, until the next one is made)."""
    client_id = zk.client_id
    return client_id[0] if client_id else None


def outcome_of(call):
    """("ok", result), ("fail", error) for a refusal the server gave, or ("unknown", error)."""
    try:
        return "ok", call()
    except DEFINITE as e:
        return "fail", e
    except Exception as e:  # noqa: BLE001 - lost or timed out: it may have been applied
        time.sleep(0.05)
        return "unknown", e


def on_each_server(servers, read):
    """{server: read(zk)} with a session of its own on each server, after a sync there so
    that the server has applied every write the leader had when it answered."""
    finals = {}
    for server in servers:
        zk = connect(server)
        try:
            zk.sync("/")
            finals[server] = read(zk)
        finally:
            zk.stop()
            zk.close()
    return finals


def children_or_empty(zk, path):
    try:
        return zk.get_children(path)
    except NoNodeError:
        return []
