"""The AdminServer, differentially: every command and alias of every server in the target
is asked for over HTTP, after a session has made an ephemeral node and a watch, and each
answer is reduced to its shape: the HTTP status and content type, the JSON keys in order,
and the keys of nested objects and each value's JSON type. The shapes must equal the ones Apache ZooKeeper 3.8 gave, recorded
in expected-standalone.json and expected-ensemble.json, except where ZooKeeper 3.9 (which
corral follows) differs from 3.8; those differences are listed below, each with its reason.

    admin_check.py <server-dir> <connect-string> --out <file> --expected <file> [--reference]
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import zkserver  # noqa: E402

NAMES = [
    "configuration", "conf", "config", "connection_stat_reset", "crst", "connections", "cons",
    "dirs", "dump", "environment", "env", "envi", "get_trace_mask", "gtmk", "hash",
    "initial_configuration", "icfg", "is_read_only", "isro", "last_snapshot", "lsnp",
    "leader", "lead", "monitor", "mntr", "observer_connection_stat_reset", "orst",
    "observers", "obsr", "ruok", "server_stats", "srvr", "set_trace_mask", "stmk",
    "set_trace_mask?traceMask=306", "stat_reset", "srst", "stats", "stat",
    "system_properties", "sysp", "voting_view", "watch_summary", "wchs", "watches", "wchc",
    "watches_by_path", "wchp", "zabstate", "snapshot", "snap", "restore", "rest", "nosuch",
]

# Objects whose keys are data (session ids, paths, times, server ids), not field names:
# their values are merged into one shape under "*".
KEYED_BY_DATA = {
    "expiry_time_to_session_ids", "session_id_to_ephemeral_paths",
    "session_id_to_watched_paths", "path_to_session_ids", "current_config",
}

# Whose keys are a JVM's properties: of those only the zookeeper.* ones (zoo.cfg's keys that
# ZooKeeper sets as properties) are compared, with the envelope and the value types.
JVM_PROPERTIES = {"system_properties", "sysp"}

# ZooKeeper 3.9 answers these where 3.8 has no such command (3.8: "Unknown command").
ADDED_IN_3_9 = {"snapshot", "snap", "restore", "rest"}

def get(port, name):
    url = "http://%s:%d/commands/%s" % (zkserver.HOST, port, name)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def shape(value, key=None):
    if isinstance(value, dict):
        if key in KEYED_BY_DATA:
            # The first value that has contents: ZooKeeper keeps empty expiry buckets.
            shapes = [shape(v) for v in value.values()]
            return {"*": next((x for x in shapes if x), shapes[0])} if shapes else {}
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if value is None:
        return "null"
    return "str"


def answer_shape(port, name):
    status, content_type, body = get(port, name)
    doc = json.loads(body)
    keys = list(doc)
    if name in JVM_PROPERTIES:
        # zookeeper.log.dir: a -D of the harness's java command line, which corral is not given.
        keys = [k for k in keys if (k.startswith("zookeeper.") and k != "zookeeper.log.dir")
                or k in ("command", "error")]
        values = {type(v).__name__ for k, v in doc.items() if k not in ("command", "error")}
        doc = {"properties": sorted(values), "command": doc["command"], "error": doc["error"]}
    # The order of the keys too, but not of mntr's (3.8 and 3.9 order them differently).
    order = keys[-2:] if name in ("monitor", "mntr") else keys
    return {"status": status, "content_type": content_type, "keys": order, "shape": shape(doc)}


def role_of(port):
    leader = json.loads(get(port, "leader")[2])
    if "is_leader" not in leader:
        return "standalone"
    return "leader" if leader["is_leader"] else "follower"


def make_state(hosts, log):
    """A session on every server, each with an ephemeral node and a data watch, so that
    connections, dump and the watch commands have something to list on every member; kept
    open while the commands are asked."""
    from kazoo.client import KazooClient
    clients = []
    for i, host in enumerate(hosts.split(",")):
        zk = KazooClient(hosts=host, timeout=15)
        zk.start(timeout=30)
        clients.append(zk)
        zk.ensure_path("/admin-check")
        zk.create("/admin-check/e%d" % i, b"x", ephemeral=True)
        zk.get("/admin-check", watch=lambda event: None)
        log.write("state: session 0x%x on %s\n" % (zk.client_id[0], host))
    for _ in range(130):  # past 128 txns, so that `hash` lists a digest
        clients[0].create("/admin-check/n", b"", sequence=True)
    for zk in clients:
        zk.sync("/admin-check")
    return clients


def collect(server_dir, hosts, log):
    clients = make_state(hosts, log)
    try:
        found = {}
        for member in zkserver.member_dirs(server_dir):
            port = zkserver.read_state(member)["admin_port"]
            found.setdefault(role_of(port), {name: answer_shape(port, name) for name in NAMES})
        return found
    finally:
        for zk in clients:
            zk.stop()
            zk.close()


def differences(expected, actual):
    """What differs between two shape maps, less the version differences listed above."""
    out = []
    for role, commands in expected.items():
        if role not in actual:
            out.append("%s: no server of this role answered" % role)
            continue
        for name, want in commands.items():
            got = actual[role].get(name)
            if name in ADDED_IN_3_9:
                continue
            if name in ("monitor", "mntr"):
                out += monitor_differences(role, name, want, got)
                continue
            # The top-level keys in order (put by ZooKeeper in that order); nested objects
            # are Jackson beans, whose key order varies between JVM runs.
            if got != want:
                out.append("%s %s:\n  3.8: %s\n  got: %s" % (role, name, json.dumps(want), json.dumps(got)))
    return out


SUMMARY_PREFIXES = ("avg_", "min_", "max_", "cnt_", "sum_", "p50_", "p95_", "p99_", "p999_")


def corral_names():
    """The metric names corral knows (the tables of src/metrics/names.rs and the gauges of
    src/node/gauges.rs), and the ZooKeeper names it does not export, each documented with its
    reason in names.rs."""
    import re
    src = os.path.join(HERE, "..", "..", "src")
    with open(os.path.join(src, "metrics", "names.rs")) as f:
        names = f.read()
    with open(os.path.join(src, "node", "gauges.rs")) as f:
        gauges = f.read()
    known = set(re.findall(r'= "([a-z0-9_]+)"', names)) | set(re.findall(r'"([a-z0-9_]+)"', gauges))
    not_exported = set(re.findall(r'\("([a-z0-9_]+)", "', names))
    return known, not_exported


def base_name(key, names):
    """A mntr key as the metric it shows: without a summary's prefix (`avg_`) and without a
    keyed set's key (`1_ack_latency`, `zookeeper_write_per_namespace`)."""
    if key in names:
        return key
    for prefix in SUMMARY_PREFIXES:
        if key.startswith(prefix) and key[len(prefix):]:
            key = key[len(prefix):]
            break
    if key in names:
        return key
    return next((n for n in sorted(names, key=len, reverse=True) if key.endswith("_" + n)), key)


def monitor_differences(role, name, want, got):
    """mntr's keys differ between 3.8 and 3.9, and corral leaves out the ZooKeeper metrics
    that mean nothing in it (documented in src/metrics/names.rs and docs/METRICS.md): so a
    key of 3.8's may be missing only if documented, and the keys both have must agree in
    type."""
    known, not_exported = corral_names()
    w, g = want["shape"], got["shape"]
    # Keyed sets (per namespace, per server) are compared as families: their keys are data.
    families = {base_name(k, known) for k in g}
    missing = {base_name(k, known | not_exported) for k in w if k not in g}
    missing = sorted(missing - not_exported - families)
    extra = sorted({base_name(k, known) for k in g if k not in w} - known)
    typed = [k for k in w if k in g and w[k] != g[k]]
    out = []
    for what, keys in (("missing and not documented", missing), ("not ZooKeeper's", extra),
                       ("typed differently", typed)):
        if keys:
            out.append("%s %s: keys %s: %s" % (role, name, what, ", ".join(keys)))
    if (want["status"], want["keys"]) != (got["status"], got["keys"]):
        out.append("%s %s: envelope %s, 3.8's %s" % (role, name, got["keys"], want["keys"]))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("server_dir")
    p.add_argument("hosts")
    p.add_argument("--out", required=True)
    p.add_argument("--expected", required=True)
    p.add_argument("--reference", action="store_true",
                   help="Apache ZooKeeper: differences from the recorded shapes only warn, "
                        "unless COMPAT_STRICT_BASELINE=1")
    args = p.parse_args()
    actual = collect(args.server_dir, args.hosts, sys.stdout)
    with open(args.out, "w") as f:
        json.dump(actual, f, indent=1)
    with open(args.expected) as f:
        expected = json.load(f)
    found = differences(expected, actual)
    for line in found:
        print("DIFF " + line)
    checked = sum(len(c) for c in actual.values())
    print("admin: %d answers checked, %d differences from Apache ZooKeeper 3.8 (%s)"
          % (checked, len(found), os.path.basename(args.expected)))
    if found and args.reference and os.environ.get("COMPAT_STRICT_BASELINE") != "1":
        print("admin: WARNING: Apache ZooKeeper differs from the recorded shapes; to record "
              "them again, copy %s over %s" % (args.out, args.expected))
        return 0
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
