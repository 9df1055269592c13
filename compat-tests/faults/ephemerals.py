"""The sessions-and-ephemerals workload: sessions with a short timeout create ephemerals under
/faults-eph while the nemesis runs; now and then one closes cleanly and a new one takes its
place, and a session the faults expire is replaced by kazoo with a new one.

At the end, with the faults healed, every server must show:
- every acknowledged ephemeral of a session still alive (never expired: only disconnected,
  for less than its timeout), owned by that session;
- none of a session that was closed or expired (given that session's timeout to go), and no
  ephemeral owned by a session that is not alive: an expiry deletes them once and for all.
"""

import time

from clients import (CALL_TIMEOUT_S, Clients, children_or_empty, connect, on_each_server,
                     outcome_of, session_of)

EPH = "/faults-eph"
SESSION_TIMEOUT_S = 6.0
CLOSE_SHARE = 0.05
GONE_WITHIN_S = 45.0


class Ephemerals(Clients):
    session_timeout = SESSION_TIMEOUT_S

    def __init__(self, servers, clients, seed):
        super().__init__(servers, clients, seed)
        self.status = {}  # {session id: "alive", "closed" or "expired"}
        self.created = {}  # {session id: {name: outcome}}
        self.live = {}  # {client: its kazoo client, kept open until the checks are done}
        self.current = {}  # {client: the session id it last saw}
        self.n = 0

    def step(self, zk, i, rng):
        sid = self._session(zk, i)
        if sid is None:
            time.sleep(0.05)
            return None
        if rng.random() < CLOSE_SHARE:
            zk.stop()  # closeSession, then the connection closes
            zk.close()
            with self.lock:
                self.status[sid] = "closed"
            return connect(self.servers[i % len(self.servers)], self.session_timeout)
        with self.lock:
            self.n += 1
            name = "%x-%d" % (sid, self.n)
        outcome, _ = outcome_of(lambda: zk.create_async(
            "%s/%s" % (EPH, name), ephemeral=True).get(timeout=CALL_TIMEOUT_S))
        if outcome == "ok" and session_of(zk) != sid:
            outcome = "unknown"  # answered for a session that has since been replaced
        with self.lock:
            self.created.setdefault(sid, {})[name] = outcome
        return None

    def _session(self, zk, i):
        """The client's session id; one it no longer has (kazoo replaced it after LOST) is
        recorded as expired."""
        sid = session_of(zk)
        if sid is None:
            return None
        with self.lock:
            before = self.current.get(i)
            if before is not None and before != sid and self.status.get(before) == "alive":
                self.status[before] = "expired"
            self.current[i] = sid
            self.status.setdefault(sid, "alive")
        return sid

    def closing(self, zk, i):
        # A session is judged alive only once its client is connected again: one that was
        # cut off for longer than its timeout learns here that it expired.
        deadline = time.monotonic() + 30
        while not (zk.connected and session_of(zk)) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._session(zk, i)
        self.live[i] = zk  # closed by `check`, after the final reads

    def check(self):
        try:
            return self._counts(), self._anomalies()
        finally:
            for zk in self.live.values():
                zk.stop()
                zk.close()

    def _counts(self):
        counts = {"ok": 0, "fail": 0, "unknown": 0}
        for made in self.created.values():
            for outcome in made.values():
                counts[outcome] += 1
        for status in self.status.values():
            counts[status] = counts.get(status, 0) + 1
        return counts

    def _anomalies(self):
        alive = {sid for sid, s in self.status.items() if s == "alive"}
        deadline = time.monotonic() + GONE_WITHIN_S
        while True:
            finals = on_each_server(self.servers, _owners)
            found = self._judge(finals, alive)
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(1.0)  # a closed or expired session's ephemerals may still be going

    def _judge(self, finals, alive):
        anomalies = []
        for server, owners in sorted(finals.items()):
            for sid in sorted(alive):
                kept = {n for n, o in self.created.get(sid, {}).items() if o == "ok"}
                lost = sorted(n for n in kept if owners.get(n) != sid)
                if lost:
                    anomalies.append("%s: live session %x lost ephemerals: %s"
                                     % (server, sid, lost[:10]))
            orphans = sorted(n for n, owner in owners.items() if owner not in alive)
            if orphans:
                anomalies.append("%s: ephemerals of closed or expired sessions: %s"
                                 % (server, ["%s (%s)" % (n, self.status.get(owners[n], "?"))
                                             for n in orphans[:10]]))
        return anomalies


def _owners(zk):
    """{ephemeral name: its owner session} as this server holds them."""
    names = children_or_empty(zk, EPH)
    stats = [(n, zk.exists_async("%s/%s" % (EPH, n))) for n in names]
    return {n: pending.get(timeout=30).ephemeralOwner for n, pending in stats
            if pending.get(timeout=30) is not None}
