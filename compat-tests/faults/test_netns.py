"""The fault tests' hosts: namespaces that reach each other and the root namespace, that a
partition cuts apart and a heal joins again, and that leave nothing behind."""

import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from netns import Hosts, leftovers  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")

PORT = 7077
LISTEN = ("import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
          "socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', %d)); s.listen(16)\n"
          "while True: s.accept()[0].close()" % PORT)
CONNECT = ("import socket, sys; socket.create_connection((sys.argv[1], %d), timeout=1)"
           % PORT)


def reaches(hosts, source, target):
    """Whether host `source` (None: the root namespace) opens a TCP connection to `target`."""
    argv = [sys.executable, "-c", CONNECT, hosts.addrs[target]]
    if source is not None:
        argv = hosts.argv(source, argv)
    return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0


def wait_listening(hosts, target):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if reaches(hosts, None, target):
            return True
        time.sleep(0.1)
    return False


def test_partitions_cut_and_heal_and_nothing_is_left_behind():
    hosts = Hosts(3, prefix="zkft%d" % (os.getpid() % 1000))
    servers = []
    try:
        hosts.create()
        for i in range(3):
            argv = hosts.argv(i, [sys.executable, "-c", LISTEN])
            servers.append(subprocess.Popen(argv))
        assert all(wait_listening(hosts, i) for i in range(3)), "the root namespace reaches all"
        assert reaches(hosts, 0, 1) and reaches(hosts, 1, 2), "hosts reach each other"

        hosts.partition([0], [1, 2])
        assert not reaches(hosts, 0, 1) and not reaches(hosts, 1, 0)
        assert reaches(hosts, 1, 2), "the majority side still talks"
        assert reaches(hosts, None, 0), "clients still reach a host cut off from its peers"

        hosts.isolate(2)
        assert reaches(hosts, 0, 1) and not reaches(hosts, 2, 0), "a new partition replaces it"

        hosts.heal()
        assert reaches(hosts, 0, 2) and reaches(hosts, 2, 1)
    finally:
        for server in servers:
            server.kill()
            server.wait()
        hosts.destroy()
    assert leftovers(hosts.prefix) == []
