"""The compose ensemble, end to end: from images built on this machine, docker/docker-compose.yml
brings up three corral servers and a Prometheus. A stock client (kazoo) writes through every
server; Prometheus must see all three targets up, evaluate every alert rule without error,
and see a write counter move; the leader's
container is stopped, and a new leader must serve every acknowledged write. Everything it
created (containers, network, volumes, images) is removed at the end, pass or fail.

    compose_check.py            (run by scripts/test-compose.sh, with kazoo's python)
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = "corral-compose-check"
TAG = "compose-check"
SERVERS = ["zoo1", "zoo2", "zoo3"]
WAIT_S = 120


def compose_command():
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    sys.exit("compose_check: neither `docker compose` nor `docker-compose` is installed")


COMPOSE = compose_command() + ["-p", PROJECT, "-f", os.path.join(ROOT, "docker", "docker-compose.yml")]
# Every published port left to Docker, so that the check never collides with a running server.
ENV = dict(os.environ, CORRAL_IMAGE_TAG=TAG, PROMETHEUS_PORT="",
           **{"ZOO%d_%s" % (i, kind): "" for i in (1, 2, 3) for kind in ("PORT", "ADMIN_PORT")})


def compose(*args, check=True):
    return subprocess.run(COMPOSE + list(args), env=ENV, check=check, capture_output=True, text=True)


def port(service, inner):
    out = compose("port", service, str(inner)).stdout.strip()
    return int(out.rsplit(":", 1)[1])


def four_letter(port_, word):
    try:
        with socket.create_connection(("127.0.0.1", port_), timeout=2) as s:
            s.sendall(word.encode())
            chunks = []
            while chunk := s.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks).decode()
    except OSError:
        return ""


def mode(port_):
    for line in four_letter(port_, "srvr").splitlines():
        if line.startswith("Mode: "):
            return line[len("Mode: "):]
    return None


def until(what, check, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise SystemExit("compose_check: timed out waiting for %s" % what)


def settled_leader(ports):
    modes = {name: mode(p) for name, p in ports.items()}
    leaders = [name for name, m in modes.items() if m == "leader"]
    others_follow = all(m in ("leader", "follower") for m in modes.values())
    return leaders[0] if len(leaders) == 1 and others_follow else None


def prometheus(port_, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port_, path), timeout=5) as r:
        return json.load(r)["data"]


def targets_up(prom):
    targets = prometheus(prom, "/api/v1/targets")["activeTargets"]
    return len(targets) == 3 and all(t["health"] == "up" for t in targets)


def rules_evaluated(prom):
    """Every alert rule loaded and evaluated without error (so each query parses and runs)."""
    rules = [r for g in prometheus(prom, "/api/v1/rules")["groups"] for r in g["rules"]]
    bad = [r["name"] for r in rules if r.get("health") != "ok" or r.get("lastError")]
    return len(rules) > 0 and not bad


def proposals(prom):
    result = prometheus(prom, "/api/v1/query?query=sum(proposal_count)")["result"]
    return float(result[0]["value"][1]) if result else 0.0


def write_through_each(ports):
    """20 creates through each server, each acknowledged; the acknowledged paths and data."""
    from kazoo.client import KazooClient
    acknowledged = {}
    for name, p in ports.items():
        zk = KazooClient(hosts="127.0.0.1:%d" % p, timeout=15)
        zk.start(timeout=30)
        zk.ensure_path("/compose")
        for n in range(20):
            path = zk.create("/compose/%s-" % name, ("%s %d" % (name, n)).encode(), sequence=True)
            acknowledged[path] = ("%s %d" % (name, n)).encode()
        zk.stop()
        zk.close()
    return acknowledged


def check_survivors(port_, acknowledged):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts="127.0.0.1:%d" % port_, timeout=15)
    zk.start(timeout=30)
    zk.sync("/compose")
    lost = [p for p, data in acknowledged.items() if zk.exists(p) is None or zk.get(p)[0] != data]
    zk.create("/compose/after-failover", b"ok")
    zk.stop()
    zk.close()
    return lost


def run():
    subprocess.run([os.path.join(ROOT, "docker", "build-images.sh"), TAG], check=True)
    compose("up", "-d")
    ports = {name: port(name, 2181) for name in SERVERS}
    prom = port("prometheus", 9090)
    leader = until("a leader, the others following", lambda: settled_leader(ports))
    print("compose_check: %s leads; clients on %s" % (leader, ports))
    until("Prometheus to scrape all three servers", lambda: targets_up(prom))
    until("ZooKeeper's alert rules to load and evaluate", lambda: rules_evaluated(prom))
    before = proposals(prom)
    acknowledged = write_through_each(ports)
    print("compose_check: %d writes acknowledged through the three servers" % len(acknowledged))
    until("Prometheus to see proposal_count move", lambda: proposals(prom) > before)
    compose("stop", "-t", "0", leader)
    survivors = {n: p for n, p in ports.items() if n != leader}
    new_leader = until("a new leader among %s" % list(survivors), lambda: settled_leader(survivors))
    print("compose_check: %s stopped; %s leads now" % (leader, new_leader))
    lost = check_survivors(survivors[new_leader], acknowledged)
    if lost:
        raise SystemExit("compose_check: acknowledged writes lost after failover: %s" % lost)
    print("compose_check: every acknowledged write survived the leader's loss")


def cleanup():
    compose("down", "-v", "--remove-orphans", check=False)
    subprocess.run(["docker", "image", "rm", "corral:%s" % TAG, "corral-prometheus:%s" % TAG],
                   capture_output=True)


def main():
    try:
        run()
    except BaseException:
        print(compose("logs", "--tail", "40", check=False).stdout[-20000:])
        raise
    finally:
        cleanup()
    print("compose_check: PASS")


if __name__ == "__main__":
    main()
