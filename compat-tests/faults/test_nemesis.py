"""The nemesis: its schedule follows its seed, and carried out on a real ensemble (each
member on a namespaced host) it kills, pauses and partitions, then heals everything, after
which the ensemble has one leader and every member serves again."""

import os
import sys
import tempfile

import pytest

here = os.path.dirname(__file__)
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "lib"))

import zkserver  # noqa: E402
from nemesis import KINDS, Nemesis, bridge_sides, schedule  # noqa: E402
from netns import Hosts, leftovers  # noqa: E402
from test_hosts_ensemble import leader_among, mode, targets, wait_for  # noqa: E402


def test_the_same_seed_gives_the_same_schedule():
    assert schedule(42, 5, 120) == schedule(42, 5, 120)
    assert schedule(42, 5, 120) != schedule(43, 5, 120)
    faults = schedule(7, 5, 600)
    assert {f.kind for f in faults} == set(KINDS), "every kind comes up"
    assert all(0 < f.at < 600 and 1 <= f.lasts <= 5 for f in faults)
    assert all(0 <= h < 5 for f in faults for h in f.hosts)
    halves = [f for f in faults if f.kind == "halves"]
    assert all(len(f.hosts) == 2 for f in halves), "a minority side of 2 of 5"


def test_a_bridge_sees_both_sides_that_do_not_see_each_other():
    sides = bridge_sides(5, 2)
    assert all(2 in side for side in sides)
    assert set(sides[0]) & set(sides[1]) == {2}
    assert set(sides[0]) | set(sides[1]) == set(range(5))


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
@pytest.mark.parametrize("target", targets())
def test_after_the_faults_are_healed_every_member_serves_under_one_leader(target):
    hosts = Hosts(3, prefix="zkn%s%d" % (target[0], os.getpid() % 1000))
    with tempfile.TemporaryDirectory() as d:
        try:
            hosts.create()
            zkserver.start_on_hosts(d, target, os.environ.get("CORRAL_BIN"), hosts)
            wait_for("leader", lambda: leader_among(hosts, range(3)))
            nemesis = Nemesis(hosts, d, lambda: leader_among(hosts, range(3)))
            seed = 20261207
            print("nemesis seed", seed)
            faults = schedule(seed, 3, 12, every=(0.5, 2.0), lasts=(0.5, 3.0))
            events = nemesis.run(faults, until=lambda: False)
            begun = [e for e in events if e[1] == "begin"]
            assert len(begun) == len(faults), events
            assert not nemesis.down and not nemesis.paused

            wait_for("one leader", lambda: leader_among(hosts, range(3)), timeout=90)
            serving = lambda: True if all(mode(a) for a in hosts.addrs) else None  # noqa: E731
            wait_for("every member serving", serving, timeout=90)
        finally:
            zkserver.stop(d)
            hosts.destroy()
    assert leftovers(hosts.prefix) == []
