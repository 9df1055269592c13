"""Workloads that create znodes and are judged by what every server holds at the end:

- Set: unique znodes under /faults-set; every acknowledged one must be on every server, the
  servers must agree, and nothing may appear that was never attempted (checks.check_set).
- UniqueIds: sequential znodes under /faults-ids as ids; no name acknowledged twice
  (checks.check_unique_ids), and every acknowledged one on every server.
- Fifo: each session sends its writes pipelined, a counter in each, as sequential znodes
  under /faults-fifo whose sequence numbers give the order the ensemble applied them; on
  every server each session's counters must be in order (checks.check_fifo).
"""

from checks import check_fifo, check_set, check_unique_ids
from clients import CALL_TIMEOUT_S, Clients, children_or_empty, on_each_server, outcome_of

SET, IDS, FIFO = "/faults-set", "/faults-ids", "/faults-fifo"
ROOTS = (SET, IDS, FIFO)
FIFO_BATCH = 5


def tally(outcomes):
    counts = {"ok": 0, "fail": 0, "unknown": 0}
    for outcome in outcomes:
        counts[outcome] += 1
    return counts


class Set(Clients):
    def __init__(self, servers, clients, seed):
        super().__init__(servers, clients, seed)
        self.attempts, self.n = {}, 0

    def step(self, zk, i, rng):
        with self.lock:
            self.n += 1
            element = "e-%d-%d" % (i, self.n)
            self.attempts[element] = "unknown"
        outcome, _ = outcome_of(
            lambda: zk.create_async("%s/%s" % (SET, element)).get(timeout=CALL_TIMEOUT_S))
        with self.lock:
            self.attempts[element] = outcome

    def check(self):
        finals = on_each_server(self.servers, lambda zk: set(children_or_empty(zk, SET)))
        return tally(self.attempts.values()), check_set(dict(self.attempts), finals)


class UniqueIds(Clients):
    def __init__(self, servers, clients, seed):
        super().__init__(servers, clients, seed)
        self.acknowledged, self.outcomes = [], []

    def step(self, zk, i, rng):
        outcome, name = outcome_of(lambda: zk.create_async(
            IDS + "/id-", sequence=True).get(timeout=CALL_TIMEOUT_S))
        with self.lock:
            self.outcomes.append(outcome)
            if outcome == "ok":
                self.acknowledged.append(("c%d" % i, name))

    def check(self):
        anomalies = check_unique_ids(self.acknowledged)
        names = {name.rsplit("/", 1)[1] for _, name in self.acknowledged}
        finals = on_each_server(self.servers, lambda zk: set(children_or_empty(zk, IDS)))
        for server, held in sorted(finals.items()):
            lost = sorted(names - held)
            if lost:
                anomalies.append("%s lost %d acknowledged id(s): %s"
                                 % (server, len(lost), ", ".join(lost[:10])))
        return tally(self.outcomes), anomalies


class Fifo(Clients):
    """Each client sends FIFO_BATCH creates without waiting, then collects their answers."""

    def __init__(self, servers, clients, seed):
        super().__init__(servers, clients, seed)
        self.writes = {}  # {session: {counter: outcome}}
        self.counter = {}

    def step(self, zk, i, rng):
        session = "c%d" % i
        sent = []
        for _ in range(FIFO_BATCH):
            c = self.counter[session] = self.counter.get(session, 0) + 1
            data = ("%s:%d" % (session, c)).encode()
            sent.append((c, zk.create_async(FIFO + "/w-", data, sequence=True)))
        for c, pending in sent:
            outcome, _ = outcome_of(lambda: pending.get(timeout=CALL_TIMEOUT_S))
            with self.lock:
                self.writes.setdefault(session, {})[c] = outcome

    def check(self):
        finals = on_each_server(self.servers, self._applied)
        outcomes = [o for sent in self.writes.values() for o in sent.values()]
        return tally(outcomes), check_fifo(self.writes, finals)

    @staticmethod
    def _applied(zk):
        """{session: [counters in sequence order]} as this server holds them."""
        names = sorted(children_or_empty(zk, FIFO), key=lambda n: int(n[2:]))
        reads = [zk.get_async("%s/%s" % (FIFO, name)) for name in names]  # pipelined
        applied = {}
        for pending in reads:
            session, counter = pending.get(timeout=30)[0].decode().split(":")
            applied.setdefault(session, []).append(int(counter))
        return applied
