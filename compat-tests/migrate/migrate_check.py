"""Migration, differentially: Apache ZooKeeper 3.8 -> corral -> Apache ZooKeeper.

1. Start ZooKeeper (snapCount=100, small log preallocation), write a varied tree: every node
   type, ACLs of every scheme, a quota, sequential counters, deleted and re-created nodes,
   multis that succeed and fail, a session that closes and one that stays live with its
   ephemerals, and enough writes to roll the log and take snapshots mid-way.
2. Dump it (path, data, Stat, ACL), stop it, `corral import` its directory, start corral on
   the same port and compare corral's dump with ZooKeeper's: identical. The live session's
   client reconnects to corral with its ZooKeeper password and still owns its ephemerals.
3. Write a little through corral, dump, stop it, `corral export`, start ZooKeeper on the
   export and compare again. The live session reconnects to ZooKeeper too.

    migrate_check.py --corral-bin BIN --work DIR [--save-fixture DIR]

--save-fixture copies ZooKeeper's version-2 files and its dump into DIR (the Rust tests'
fixtures under tests/fixtures/zookeeper-3.8).
"""

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkserver  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402
from kazoo.protocol.serialization import Create, Create2, int_struct, long_struct  # noqa: E402
from kazoo.security import ACL, Id, make_digest_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Permissions  # noqa: E402

EXTRA_CFG = "snapCount=100\npreAllocSize=16\n"
LIVE_TIMEOUT_S = 40.0


class CreateContainer(Create):
    type = 19
    deserialize = Create2.deserialize


class CreateTTL(collections.namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21
    deserialize = Create2.deserialize

    def serialize(self):
        b = Create(self.path, self.data, self.acl, self.flags).serialize()
        b.extend(long_struct.pack(self.ttl))
        return b


def call(client, request):
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=10)


def super_client(hosts):
    client = KazooClient(hosts=hosts, timeout=10)
    client.start(timeout=30)
    client.add_auth("digest", "super:test")
    return client


def workload(hosts):
    """Writes the tree; returns the live client (still connected) and its session id."""
    admin = super_client(hosts)
    live = KazooClient(hosts=hosts, timeout=LIVE_TIMEOUT_S)
    live.start(timeout=30)
    owner = KazooClient(hosts=hosts, timeout=10)
    owner.start(timeout=30)
    owner.add_auth("digest", "alice:secret")

    admin.create("/app", b"root of the app")
    admin.create("/app/null-data", None)
    admin.create("/app/binary", bytes(range(256)))
    admin.create("/app/deep/a/b/c/d", b"deep", makepath=True)
    for i in range(5):
        admin.set("/app/binary", bytes([i]) * (i + 1))
    # Sequential counters, with gaps from deletes.
    for i in range(6):
        admin.create("/app/seq/item-", b"%d" % i, sequence=True, makepath=True)
    for child in sorted(admin.get_children("/app/seq"))[:3]:
        admin.delete("/app/seq/" + child)
    admin.create("/app/seq/item-", b"after", sequence=True)
    # Deleted and re-created.
    admin.create("/app/re", b"first")
    admin.delete("/app/re")
    admin.create("/app/re", b"second")
    # ACLs of every scheme.
    owner.create("/app/acl-auth", b"a", acl=[ACL(Permissions.ALL, Id("auth", ""))])
    admin.create("/app/acl-digest", b"d", acl=[make_digest_acl("bob", "pw", all=True)])
    admin.create("/app/acl-ip", b"i", acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.1"))])
    admin.create("/app/acl-sasl", b"s", acl=[ACL(Permissions.READ, Id("sasl", "jaasuser"))])
    admin.create("/app/acl-world-read", b"w", acl=READ_ACL_UNSAFE)
    admin.create("/app/acl-mixed", b"m", acl=OPEN_ACL_UNSAFE + [make_digest_acl("carol", "pw", read=True)])
    for i in range(3):
        admin.set_acls("/app/acl-mixed", OPEN_ACL_UNSAFE if i % 2 else READ_ACL_UNSAFE + OPEN_ACL_UNSAFE)
    # A quota, as zkCli's setquota writes it.
    admin.create("/app/quota/x", b"12345", makepath=True)
    admin.create("/zookeeper/quota/app/quota/zookeeper_limits", b"count=10,bytes=1000", makepath=True)
    admin.create("/zookeeper/quota/app/quota/zookeeper_stats", b"count=0,bytes=0")
    admin.create("/app/quota/y", b"67")
    admin.set("/app/quota/x", b"1")
    admin.delete("/app/quota/y")
    # Containers and TTL nodes.
    call(admin, CreateContainer("/app/container", b"c", OPEN_ACL_UNSAFE, 4))
    admin.create("/app/container/child", b"keeps it")
    call(admin, CreateTTL("/app/ttl", b"t", OPEN_ACL_UNSAFE, 5, 3600 * 1000))
    call(admin, CreateTTL("/app/ttl-seq-", b"t", OPEN_ACL_UNSAFE, 6, 7200 * 1000))
    # Multis: one that commits, one that fails (logged as an error multi).
    t = admin.transaction()
    t.create("/app/multi", b"m")
    t.create("/app/multi/child", b"c")
    t.set_data("/app", b"changed by a multi")
    t.delete("/app/re")
    t.check("/app/binary", 5)
    results = t.commit()
    assert not any(isinstance(r, Exception) for r in results), "the good multi failed: %r" % results
    t = admin.transaction()
    t.create("/app/never", b"n")
    t.check("/app/binary", 999)
    assert any(isinstance(r, Exception) for r in t.commit()), "the bad multi committed"
    # A session that goes, taking its ephemerals with it.
    gone = KazooClient(hosts=hosts, timeout=10)
    gone.start(timeout=30)
    gone.create("/app/gone", b"g", ephemeral=True)
    gone.stop()
    gone.close()
    # The live session's ephemerals.
    live.create("/app/live", b"l")
    live.create("/app/live/e1", b"1", ephemeral=True)
    live.create("/app/live/e-", b"s", ephemeral=True, sequence=True)
    # Enough writes to roll the log and take snapshots mid-way (snapCount=100).
    admin.create("/app/counter", b"0")
    for i in range(450):
        admin.set("/app/counter", b"%d" % i)
        if i % 50 == 0:
            admin.create("/app/bulk/n-", b"x" * i, sequence=True, makepath=True)
    owner.stop()
    owner.close()
    admin.stop()
    admin.close()
    return live


def dump(hosts):
    """Every node: data (hex, or null), Stat and ACL, by path."""
    client = super_client(hosts)
    client.sync("/")
    out = {}
    pending = ["/"]
    while pending:
        path = pending.pop()
        data, stat = client.get(path)
        acl, _ = client.get_acls(path)
        out[path] = {
            "data": None if data is None else data.hex(),
            "stat": {k: getattr(stat, k) for k in (
                "czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                "ephemeralOwner", "dataLength", "numChildren", "pzxid")},
            "acl": [[a.perms, a.id.scheme, a.id.id] for a in acl],
        }
        for child in client.get_children(path):
            pending.append(("" if path == "/" else path) + "/" + child)
    client.stop()
    client.close()
    return out


def compare(expected, actual, what):
    problems = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            problems.append("%s: missing" % path)
        elif path not in expected:
            problems.append("%s: unexpected" % path)
        elif expected[path] != actual[path]:
            problems.append("%s: expected %s, got %s" % (path, expected[path], actual[path]))
    if problems:
        raise SystemExit("%s differ in %d node(s):\n  %s" % (what, len(problems), "\n  ".join(problems[:40])))
    print("%s: identical (%d nodes)" % (what, len(expected)))


def server_dir(work, name, target, corral_bin, port):
    d = os.path.join(work, name)
    zkserver._write_server(d, target, corral_bin, port)
    with open(os.path.join(d, "zoo.cfg"), "a") as f:
        f.write(EXTRA_CFG)
    return d


def run_corral(corral_bin, d, *args):
    argv = [corral_bin, "--config", os.path.join(d, "zoo.cfg")] + list(args) + ["--quiet"]
    print("$ " + " ".join(argv), flush=True)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    sys.stdout.write(done.stdout)
    sys.stdout.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit("%s failed with %d" % (args[0], done.returncode))


def wait_connected(client, session_id, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if client.connected and client.client_id and client.client_id[0] == session_id:
            client.exists("/")  # a round trip on the reconnected session
            print("the live session 0x%x reconnected to %s" % (session_id, what))
            return
        time.sleep(0.05)
    raise SystemExit("the live session did not reconnect to %s" % what)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corral-bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--save-fixture")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    port = zkserver.free_port()
    hosts = "%s:%d" % (zkserver.HOST, port)
    dirs = []
    try:
        zk = server_dir(args.work, "zookeeper", "zookeeper", None, port)
        dirs.append(zk)
        zkserver.launch(zk)
        live = workload(hosts)
        session_id = live.client_id[0]
        before = dump(hosts)
        zkserver.stop(zk)
        zk_data = zkserver.read_state(zk)["data_dir"]
        if args.save_fixture:
            save_fixture(zk_data, before, args.save_fixture)

        corral = server_dir(args.work, "corral", "corral", args.corral_bin, port)
        dirs.append(corral)
        run_corral(args.corral_bin, corral, "import", "--zookeeper-data-dir", zk_data)
        zkserver.launch(corral)
        compare(before, dump(hosts), "ZooKeeper's tree and corral's after the import")
        wait_connected(live, session_id, "corral")
        assert live.exists("/app/live/e1").ephemeralOwner == session_id
        live.create("/app/live/after-import", b"written through corral", ephemeral=True)
        live.set("/app/counter", b"through corral")
        middle = dump(hosts)
        zkserver.stop(corral)

        back = os.path.join(args.work, "zookeeper-again")
        run_corral(args.corral_bin, corral, "export", "--to-zookeeper-data-dir", os.path.join(back, "data"))
        zk2 = server_dir(args.work, "zookeeper-again", "zookeeper", None, port)
        dirs.append(zk2)
        zkserver.launch(zk2)
        compare(middle, dump(hosts), "corral's tree and ZooKeeper's after the export")
        wait_connected(live, session_id, "ZooKeeper again")
        assert live.exists("/app/live/after-import").ephemeralOwner == session_id
        live.stop()
        live.close()
        print("migrate: PASS")
    except BaseException:
        for d in dirs:
            print("---- last lines of %s/server.log" % d)
            print(zkserver.log_tail(d, 60))
        raise
    finally:
        for d in dirs:
            try:
                zkserver.stop(d)
            except Exception as e:  # noqa: BLE001 - best effort cleanup
                print("stopping %s: %s" % (d, e))


def save_fixture(zk_data, tree, out):
    os.makedirs(out, exist_ok=True)
    src = os.path.join(zk_data, "version-2")
    for name in sorted(os.listdir(src)):
        if name.startswith(("snapshot.", "log.")):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
    with open(os.path.join(out, "tree.json"), "w") as f:
        json.dump(tree, f, indent=1, sort_keys=True)
    print("fixture saved in %s" % out)


if __name__ == "__main__":
    main()
