"""The nemesis of the fault tests: a schedule of faults drawn from a printed seed (the same
seed gives the same schedule), and the hands that carry it out on an ensemble whose members
run on namespaced hosts (netns.Hosts + zkserver.start_on_hosts).

Faults: kill -9 and restart, SIGSTOP and SIGCONT, partitions (random halves, the leader
isolated, a bridge: one host that sees both sides of a split that the others cannot cross),
and combinations of them, as they come. Every fault is undone within its own step, and
`heal_all` undoes whatever is left before the final checks.
"""

import os
import random
import signal
import time
from dataclasses import dataclass

import zkserver

KINDS = ("kill", "pause", "halves", "isolate-leader", "bridge")


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the start
    kind: str
    hosts: tuple  # the hosts it acts on (for a partition: the first side, or the bridge)
    lasts: float  # seconds until it is undone


def schedule(seed, members, duration, every=(1.0, 4.0), lasts=(1.0, 5.0)):
    """Faults over `duration` seconds: one begins every `every` seconds (drawn), each lasting
    `lasts` seconds (drawn), on hosts drawn from `members`. Several may overlap."""
    rng = random.Random(seed)
    faults, t = [], rng.uniform(*every)
    while t < duration:
        kind = rng.choice(KINDS)
        if kind in ("kill", "pause"):
            hosts = (rng.randrange(members),)
        elif kind == "halves":
            side = rng.sample(range(members), members // 2)
            hosts = tuple(sorted(side))
        elif kind == "bridge":
            hosts = (rng.randrange(members),)
        else:
            hosts = ()
        faults.append(Fault(round(t, 3), kind, hosts, round(rng.uniform(*lasts), 3)))
        t += rng.uniform(*every)
    return faults


def bridge_sides(members, bridge):
    """Two sides that see `bridge` but not each other."""
    rest = [i for i in range(members) if i != bridge]
    half = len(rest) // 2
    return [rest[:half] + [bridge], rest[half:] + [bridge]]


class Nemesis:
    """Carries out faults on the ensemble in `ensemble_dir` whose members run on `hosts`.
    `leader()` names the current leader's index, or None."""

    def __init__(self, hosts, ensemble_dir, leader, log=print):
        self.hosts = hosts
        self.members = zkserver.member_dirs(ensemble_dir)
        self.leader = leader
        self.log = log
        self.down, self.paused = set(), set()

    def begin(self, fault):
        """Starts a fault; returns what `end` needs to undo it."""
        n = len(self.members)
        if fault.kind == "kill":
            i = fault.hosts[0]
            self._kill(i)
            return ("restart", i)
        if fault.kind == "pause":
            i = fault.hosts[0]
            if self._signal(i, signal.SIGSTOP):
                self.paused.add(i)
                return ("resume", i)
            return None
        if fault.kind == "halves":
            self.hosts.partition(list(fault.hosts), [i for i in range(n) if i not in fault.hosts])
        elif fault.kind == "isolate-leader":
            leader = self.leader()
            if leader is None:
                return None
            self.hosts.isolate(leader)
        elif fault.kind == "bridge":
            self.hosts.partition(*bridge_sides(n, fault.hosts[0]))
        return ("heal",)

    def end(self, undo):
        if undo is None:
            return
        if undo[0] == "restart":
            self._restart(undo[1])
        elif undo[0] == "resume":
            self._signal(undo[1], signal.SIGCONT)
            self.paused.discard(undo[1])
        else:
            self.hosts.heal()

    def heal_all(self):
        """Undoes every fault still in effect: partitions healed, paused members resumed,
        killed ones started again."""
        self.hosts.heal()
        for i in sorted(self.paused):
            self._signal(i, signal.SIGCONT)
        self.paused.clear()
        for i in sorted(self.down):
            self._restart(i)

    def run(self, faults, until):
        """Carries out `faults` (sorted by `at`) from now, each undone after `lasts`, until
        `until()` says stop or they are done; then heals everything. Returns the events."""
        start, pending, events = time.monotonic(), [], []
        queue = sorted(faults, key=lambda f: f.at)
        while (queue or pending) and not until():
            now = time.monotonic() - start
            for due in [p for p in pending if p[0] <= now]:
                pending.remove(due)
                self.end(due[1])
                events.append((round(now, 3), "end", due[2]))
            if queue and queue[0].at <= now:
                fault = queue.pop(0)
                undo = self.begin(fault)
                events.append((round(now, 3), "begin", fault))
                if undo is not None:
                    pending.append((now + fault.lasts, undo, fault))
            time.sleep(0.05)
        self.heal_all()
        return events

    def _kill(self, i):
        pid = zkserver.read_state(self.members[i]).get("pid")
        if pid and i not in self.down:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.down.add(i)
            self.paused.discard(i)

    def _restart(self, i):
        if i in self.down:
            zkserver.launch(self.members[i], wait=False)
            self.down.discard(i)

    def _signal(self, i, sig):
        pid = zkserver.read_state(self.members[i]).get("pid")
        if not pid or i in self.down:
            return False
        try:
            os.killpg(pid, sig)
            return True
        except ProcessLookupError:
            return False
