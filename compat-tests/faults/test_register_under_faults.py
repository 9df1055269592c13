"""A short seeded run: sessions read, write and compare-and-set registers on every member
of a 3-server ensemble (each on a namespaced host) while the nemesis kills, pauses and
partitions; once healed, each register's history must be linearizable. On both targets:
Apache ZooKeeper's run keeps the test honest. The seed is printed; on an anomaly the
shortest excerpt is written to COMPAT_RESULTS (or the temp directory) and shown."""

import json
import os
import sys
import tempfile

import pytest

here = os.path.dirname(__file__)
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "lib"))

import zkserver  # noqa: E402
from linearizable import is_linearizable, shortest_excerpt  # noqa: E402
from nemesis import Nemesis, schedule  # noqa: E402
from netns import Hosts, leftovers  # noqa: E402
from test_hosts_ensemble import leader_among, targets, wait_for  # noqa: E402
from workload import Register, prepare  # noqa: E402

SEED = int(os.environ.get("FAULTS_SEED", "1207"))
SECONDS = float(os.environ.get("FAULTS_SECONDS", "15"))
START = (b"0", 0)
# About a minute of search in the worst case; a run of 15 s needs a few million at most.
MAX_STEPS = 60_000_000


def report(target, seed, events, counts, anomalies):
    results = os.environ.get("COMPAT_RESULTS", tempfile.gettempdir())
    os.makedirs(results, exist_ok=True)
    path = os.path.join(results, "faults-register-%s-%d.json" % (target, seed))
    with open(path, "w") as f:
        json.dump({"target": target, "seed": seed, "counts": counts,
                   "events": [[t, what, repr(fault)] for t, what, fault in events],
                   "anomalies": anomalies}, f, indent=1, default=repr)
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
@pytest.mark.parametrize("target", targets())
def test_registers_stay_linearizable_under_faults(target):
    hosts = Hosts(3, prefix="zkr%s%d" % (target[0], os.getpid() % 1000))
    with tempfile.TemporaryDirectory() as d:
        try:
            hosts.create()
            zkserver.start_on_hosts(d, target, os.environ.get("CORRAL_BIN"), hosts)
            leader = lambda: leader_among(hosts, range(3))  # noqa: E731
            wait_for("leader", leader)
            servers = ["%s:2181" % a for a in hosts.addrs]
            prepare(",".join(servers), keys=8)
            workload = Register(servers, keys=8, clients=9, seed=SEED)
            workload.start()
            faults = schedule(SEED, 3, SECONDS)
            events = Nemesis(hosts, d, leader).run(faults, until=lambda: False)
            wait_for("leader after healing", leader, timeout=90)
            workload.finish()
        finally:
            zkserver.stop(d)
            hosts.destroy()
    assert leftovers(hosts.prefix) == []
    counts = workload.counts()
    print("seed %d, %s: %d faults, ops %s" % (SEED, target, len(faults), counts))
    anomalies = {}
    for key, ops in workload.histories().items():
        if not is_linearizable(ops, START, max_steps=MAX_STEPS):
            anomalies[key] = [repr(op) for op in shortest_excerpt(ops, START)]
    path = report(target, SEED, events, counts, anomalies)
    assert counts["ok"] > 100, "the workload did too little to judge: %s" % counts
    assert not anomalies, "not linearizable (seed %d), see %s:\n%s" % (
        SEED, path, json.dumps(anomalies, indent=1))
