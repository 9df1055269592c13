"""An ensemble of three on hosts of their own (network namespaces), on both targets: it
elects a leader that clients in the root namespace reach, elects another when that leader is
cut off, and takes it back as a follower once the partition heals. The ground the nemesis
will stand on. Needs root; corral's target needs CORRAL_BIN, Apache's the zookeeper package."""

import os
import sys
import tempfile
import time

import pytest

here = os.path.dirname(__file__)
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "lib"))

import zkserver  # noqa: E402
from netns import Hosts, leftovers  # noqa: E402

ELECTION_S = 60


def targets():
    """corral if CORRAL_BIN is set, Apache ZooKeeper if installed; FAULTS_TARGETS (a comma
    list) narrows them."""
    found = []
    if os.environ.get("CORRAL_BIN"):
        found.append("corral")
    if os.path.exists("/usr/share/java/zookeeper.jar"):
        found.append("zookeeper")
    wanted = os.environ.get("FAULTS_TARGETS")
    return [t for t in found if not wanted or t in wanted.split(",")]


def mode(addr):
    """A member's role as `srvr` says it, or None while it serves no one."""
    try:
        text = zkserver.four_letter(addr, 2181, "srvr", timeout=1.0)
    except OSError:
        return None
    line = next((l for l in text.splitlines() if l.startswith("Mode: ")), None)
    return line.split(": ", 1)[1].strip() if line else None


def wait_for(what, check, timeout=ELECTION_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError("no %s within %ds" % (what, timeout))


def leader_among(hosts, members):
    leaders = [i for i in members if mode(hosts.addrs[i]) == "leader"]
    return leaders[0] if len(leaders) == 1 else None


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
@pytest.mark.parametrize("target", targets())
def test_a_leader_cut_off_is_replaced_and_comes_back_as_a_follower(target):
    hosts = Hosts(3, prefix="zkf%s%d" % (target[0], os.getpid() % 1000))
    with tempfile.TemporaryDirectory() as d:
        try:
            hosts.create()
            zkserver.start_on_hosts(d, target, os.environ.get("CORRAL_BIN"), hosts)
            everyone = range(3)
            old = wait_for("leader", lambda: leader_among(hosts, everyone))

            hosts.isolate(old)
            rest = [i for i in everyone if i != old]
            new = wait_for("new leader", lambda: leader_among(hosts, rest))
            assert new != old

            hosts.heal()
            rejoined = lambda: True if mode(hosts.addrs[old]) == "follower" else None  # noqa: E731
            wait_for("the old leader following", rejoined)
            assert leader_among(hosts, everyone) == new
        finally:
            zkserver.stop(d)
            hosts.destroy()
    assert leftovers(hosts.prefix) == []
