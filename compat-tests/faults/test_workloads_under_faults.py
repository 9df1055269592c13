"""A short seeded run of every workload at once, on every member of an ensemble (each on a
namespaced host) while the nemesis kills, pauses and partitions: registers read, written and
compared-and-set (each key's history must be linearizable), a set of unique znodes, unique
ids from sequential znodes, each session's pipelined writes in order, and sessions with
their ephemerals. Once healed, every server is asked on its own what it holds and each
workload's checks must find nothing. On both targets: Apache ZooKeeper's run keeps
the test honest. FAULTS_MEMBERS picks 3 or 5 servers; the record goes to COMPAT_RESULTS."""

import json
import os
import shutil
import sys
import tempfile

import pytest

here = os.path.dirname(__file__)
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "lib"))

import zkserver  # noqa: E402
from clients import ensure_paths  # noqa: E402
from elements import ROOTS, Fifo, Set, UniqueIds  # noqa: E402
from ephemerals import EPH, Ephemerals  # noqa: E402
from nemesis import Nemesis, schedule  # noqa: E402
from netns import Hosts, leftovers  # noqa: E402
from report import save  # noqa: E402
from test_hosts_ensemble import leader_among, targets, wait_for  # noqa: E402
from workload import Register, prepare  # noqa: E402

SEED = int(os.environ.get("FAULTS_SEED", "1207"))
SECONDS = float(os.environ.get("FAULTS_SECONDS", "15"))
MEMBERS = int(os.environ.get("FAULTS_MEMBERS", "3"))
WORKLOADS = {"set": Set, "unique-ids": UniqueIds, "fifo": Fifo, "ephemerals": Ephemerals}
KEYS = 8


def run(target, hosts, d):
    hosts.create()
    zkserver.start_on_hosts(d, target, os.environ.get("CORRAL_BIN"), hosts)
    leader = lambda: leader_among(hosts, range(MEMBERS))  # noqa: E731
    wait_for("leader", leader)
    servers = ["%s:2181" % a for a in hosts.addrs]
    ensure_paths(",".join(servers), *ROOTS, EPH)
    prepare(",".join(servers), keys=KEYS)
    workloads = {"register": Register(servers, keys=KEYS, clients=3 * MEMBERS, seed=SEED)}
    workloads.update({name: kind(servers, MEMBERS, SEED) for name, kind in WORKLOADS.items()})
    for w in workloads.values():
        w.start()
    faults = schedule(SEED, MEMBERS, SECONDS)
    events = Nemesis(hosts, d, leader).run(faults, until=lambda: False)
    wait_for("leader after healing", leader, timeout=90)
    for w in workloads.values():
        w.finish()
    results = {}
    for name, w in workloads.items():
        counts, anomalies = w.check()
        results[name] = {"counts": counts, "anomalies": anomalies, "errors": w.errors}
    return faults, events, results


def keep_server_logs(d, record):
    """Each member's server.log beside the run's record, as evidence."""
    for member in zkserver.member_dirs(d):
        log = os.path.join(member, "server.log")
        if os.path.exists(log):
            shutil.copy(log, "%s.%s.log" % (record[:-len(".json")], os.path.basename(member)))


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
@pytest.mark.parametrize("target", targets())
def test_workloads_keep_their_promises_under_faults(target):
    hosts = Hosts(MEMBERS, prefix="zkw%s%d" % (target[0], os.getpid() % 1000))
    with tempfile.TemporaryDirectory() as d:
        try:
            faults, events, results = run(target, hosts, d)
        finally:
            zkserver.stop(d)
            hosts.destroy()
        path = save("workloads", target, SEED, events, results)
        if any(r["anomalies"] for r in results.values()):
            keep_server_logs(d, path)
    assert leftovers(hosts.prefix) == []
    print("seed %d, %s, %d members: %d faults, %s" % (
        SEED, target, MEMBERS, len(faults),
        {name: r["counts"] for name, r in results.items()}))
    for name, r in results.items():
        assert not r["errors"], "%s's clients failed; the run cannot be judged: %s" % (
            name, r["errors"])
        assert r["counts"].get("ok", 0) > 10, "%s did too little to judge: %s" % (name, r)
    found = {name: r["anomalies"] for name, r in results.items() if r["anomalies"]}
    assert not found, "anomalies (seed %d), see %s:\n%s" % (SEED, path,
                                                            json.dumps(found, indent=1))
