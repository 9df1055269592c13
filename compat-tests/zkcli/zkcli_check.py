"""Drive ZooKeeper 3.8's zkCli (org.apache.zookeeper.ZooKeeperMain) and check what it prints.

One interactive zkCli session reads commands on stdin (Debian ships no jline, so zkCli reads
plain lines and prints no prompt). After every command the driver sends the client-side
command `printwatches`, whose answer `printwatches is on|off` marks the end of the command's
output. Watch notifications are printed by zkCli's event thread at any moment, so they are
taken out of the stream (`WATCHER::` + `WatchedEvent ...` lines) and checked separately: each
step lists the events it must cause, in order, and the driver waits (bounded) for them.

Expectations are exactly what zkCli prints against Apache ZooKeeper 3.8.0 on a fresh server,
with zxids, times and session ids masked. Lists whose order ZooKeeper leaves unspecified
(`ls`, `ls -R`, `getEphemerals`, `whoami`) are sorted before comparing.

Usage: zkcli_check.py HOST:PORT [--server-dir DIR] [--record] [--log FILE]
  --server-dir  the server's directory: also restart the server mid-session (same port and
                data) and check that the session, its auth and its watches survive
  --record      print every command's (masked) output instead of checking it
Exit status: 0 when every check passed.
"""

import argparse
import os
import queue
import re
import subprocess
import sys
import threading
import time

STEP_TIMEOUT_S = 20.0
EVENT_TIMEOUT_S = 10.0
# How long a client must stay connected after a restart before the checks go on.
RECONNECT_SETTLE_S = 3.0
SENTINEL = "printwatches"
SENTINEL_RE = re.compile(r"^printwatches is (on|off)$")
EVENT_RE = re.compile(r"^WatchedEvent state:\S+ type:\S+ path:\S+$")

JAVA = os.environ.get("JAVA", "java")
# zookeeper.jar's manifest Class-Path brings in jute, commons-cli, slf4j-api, netty...
# slf4j-nop keeps client logging off the output we parse.
CLASSPATH = os.environ.get(
    "ZKCLI_CLASSPATH", "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar")

# digest of user1:pw1 (base64(sha1("user1:pw1"))), as zkCli prints it for auth:user1:pw1 ACLs
USER1_DIGEST = "user1:GMJqCvSAmNfv41XqBotWHO0HsNc="
# a digest nobody can log in with
OTHER_DIGEST = "other:AAAAAAAAAAAAAAAAAAAAAAAAAAA="


def zkcli_argv(hosts, *cmd):
    return [JAVA, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.log.dir=/tmp", "-cp", CLASSPATH,
            "org.apache.zookeeper.ZooKeeperMain", "-server", hosts, *cmd]


def mask(line):
    """Hide what differs between runs and servers: zxids, times, session ids."""
    line = re.sub(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$", r"\1 = <zxid>", line)
    line = re.sub(r"^(ctime|mtime) = .*$", r"\1 = <time>", line)
    line = re.sub(r"^ephemeralOwner = 0x(?!0$)[0-9a-f]+$", "ephemeralOwner = <session>", line)
    return line


def stat(cversion=0, dataVersion=0, aclVersion=0, owner="0x0", dataLength=0, numChildren=0):
    """The 11 lines zkCli prints for a Stat (masked)."""
    if owner == "session":
        owner = "<session>"
    return ["cZxid = <zxid>", "ctime = <time>", "mZxid = <zxid>", "mtime = <time>",
            "pZxid = <zxid>", "cversion = %d" % cversion, "dataVersion = %d" % dataVersion,
            "aclVersion = %d" % aclVersion, "ephemeralOwner = %s" % owner,
            "dataLength = %d" % dataLength, "numChildren = %d" % numChildren]


def stat_fields(raw_lines):
    """{'cZxid': int, ...} from unmasked stat lines."""
    out = {}
    for line in raw_lines:
        m = re.match(r"^(cZxid|mZxid|pZxid) = 0x([0-9a-f]+)$", line)
        if m:
            out[m.group(1)] = int(m.group(2), 16)
    return out


def ev(typ, path, state="SyncConnected"):
    return "WatchedEvent state:%s type:%s path:%s" % (state, typ, path)


def acl(scheme, ident, perms):
    return ["'%s,'%s" % (scheme, ident), ": %s" % perms]


def sorted_list_line(line):
    """'[b, a]' -> '[a, b]' (ZooKeeper does not specify child order)."""
    m = re.match(r"^\[(.*)\]$", line)
    if not m:
        return line
    items = [x for x in m.group(1).split(", ") if x]
    return "[" + ", ".join(sorted(items)) + "]"


class ZkCli:
    """One interactive zkCli process; output split into command output and watch events."""

    def __init__(self, hosts, log):
        self.log = log
        self.proc = subprocess.Popen(
            zkcli_argv(hosts), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
        self.lines = queue.Queue()
        self.events = []
        self.cond = threading.Condition()
        self.history = []  # every line sent, as zkCli numbers them
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            self.log.write("< " + line + "\n")
            if line == "" or line == "WATCHER::":
                continue
            if EVENT_RE.match(line):
                with self.cond:
                    self.events.append(line)
                    self.cond.notify_all()
            else:
                self.lines.put(line)
        self.lines.put(None)
        with self.cond:
            self.cond.notify_all()

    def send(self, line):
        self.log.write("> " + line + "\n")
        self.log.flush()
        self.history.append(line)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def run(self, cmd, timeout=STEP_TIMEOUT_S):
        """Send cmd and the sentinel; return cmd's output lines (None on timeout/exit).

        While zkCli has no live session it answers the sentinel and then also prints
        "Not connected" (printwatches is handled before its connection check); that
        trailer is consumed here.
        """
        if cmd == "close":
            self.closed = True
        elif cmd.startswith("connect "):
            self.closed = False
        self.send(cmd)
        self.send(SENTINEL)
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            if SENTINEL_RE.match(line):
                if self.closed:
                    try:
                        trailer = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
                    except queue.Empty:
                        return None
                    if trailer != "Not connected":
                        out.append(trailer)
                return out
            out.append(line)

    def discard_preamble(self):
        """Lines printed before the first command (Connecting to..., Welcome..., JLine...)."""
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                return out

    def wait_events(self, start, count, timeout=EVENT_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.events) < start + count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.events[start:])

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Checker:
    def __init__(self, cli, record):
        self.cli = cli
        self.record = record
        self.failures = []
        self.passes = 0
        self.event_mark = 0  # events before this index are accounted for

    def report(self, ok, what, detail=""):
        if ok:
            self.passes += 1
            print("PASS  %s" % what)
        else:
            self.failures.append(what)
            print("FAIL  %s" % what)
            for line in detail.splitlines():
                print("        " + line)
        sys.stdout.flush()

    def step(self, cmd, expect=(), sort=False, sort_lists=False, events=(), name=None,
             check=None, sort_events=False):
        """Run cmd; compare its masked output with expect and the events it causes with events.

        expect: list of strings or compiled regexes, one per output line, in order.
        sort: sort output and expect lines before comparing (expect must be strings).
        sort_lists: sort the items inside '[a, b]' lines.
        sort_events: compare the events as a multiset, for orders the client itself varies.
        check: optional f(raw_lines) -> error string or None, for relations between values.
        """
        name = name or cmd
        raw = self.cli.run(cmd)
        if raw is None:
            self.report(False, name, "no end-of-output marker within %.0fs (zkCli hung or exited)"
                        % STEP_TIMEOUT_S)
            return None
        got = [mask(x) for x in raw]
        if sort_lists:
            got = [sorted_list_line(x) for x in got]
        want = list(expect)
        if sort:
            got, want = sorted(got), sorted(want)
        evs = self.cli.wait_events(self.event_mark, len(events), timeout=EVENT_TIMEOUT_S if events else 0)
        self.event_mark += len(evs)
        if self.record:
            print("## %s" % cmd)
            for x in got:
                print("   " + x)
            for e in evs:
                print("   [event] " + e)
            return raw
        problems = []
        if len(got) != len(want) or not all(
                (w.fullmatch(g) if hasattr(w, "fullmatch") else w == g) for g, w in zip(got, want)):
            problems.append("output:\n" + "\n".join("  | " + g for g in got) + "\nexpected:\n"
                            + "\n".join("  | " + (w.pattern if hasattr(w, "pattern") else w)
                                        for w in want))
        if (sorted(evs) != sorted(events)) if sort_events else (list(evs) != list(events)):
            problems.append("watch events: %r\nexpected:     %r" % (evs, list(events)))
        if check and not problems:
            err = check(raw)
            if err:
                problems.append(err)
        self.report(not problems, name, "\n".join(problems))
        return raw

    def await_events(self, name, events, action=None, timeout=EVENT_TIMEOUT_S):
        """Run action() (if any), then wait for exactly these events (no command is sent)."""
        err = None
        if action:
            try:
                action()
            except Exception as e:  # noqa: BLE001 - reported as a failed check
                err = "action failed: %s" % e
        evs = self.cli.wait_events(self.event_mark, len(events), timeout=timeout)
        self.event_mark += len(evs)
        if self.record:
            print("## %s" % name)
            for e in evs:
                print("   [event] " + e)
            return
        if err is None and list(evs) != list(events):
            err = "watch events: %r\nexpected:     %r" % (evs, list(events))
        self.report(err is None, name, err or "")

    def await_reconnect(self, name, action, timeout):
        """Run action() (a restart), then wait until the client is connected again and has
        stayed so for RECONNECT_SETTLE_S. While a restarted ensemble elects, a client may be
        taken by a member that then drops it: any number of Disconnected/SyncConnected pairs
        passes, as long as there is one and the last leaves the client connected."""
        err = None
        try:
            action()
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            err = "action failed: %s" % e
        deadline = time.monotonic() + timeout
        pair = [ev("None", "null", state="Disconnected"), ev("None", "null")]
        evs = []
        while time.monotonic() < deadline:
            seen = self.cli.wait_events(self.event_mark, len(evs) + 1,
                                        timeout=RECONNECT_SETTLE_S)
            if len(seen) > len(evs):
                evs = seen
            elif evs and evs[-1] == pair[1]:
                break
        self.event_mark += len(evs)
        if self.record:
            print("## %s" % name)
            for e in evs[:2]:
                print("   [event] " + e)
            return
        pairs = len(evs) >= 2 and len(evs) % 2 == 0 and all(
            evs[i:i + 2] == pair for i in range(0, len(evs), 2))
        if err is None and not pairs:
            err = "watch events: %r\nexpected:     %r, repeated" % (evs, pair)
        self.report(err is None, name, err or "")

    def no_new_events(self, name, settle=1.0):
        time.sleep(settle)
        evs = self.cli.wait_events(self.event_mark, 0, timeout=0)
        self.event_mark += len(evs)
        if not self.record:
            self.report(not evs, name, "unexpected watch events: %r" % evs)


def zxid_relation(fn, text):
    def check(raw):
        f = stat_fields(raw)
        try:
            ok = fn(f)
        except KeyError as e:
            return "missing %s in stat" % e
        return None if ok else "%s does not hold: %r" % (text, f)
    return check


def ensemble_config():
    """The lines getConfig shows on a member of the ensemble under test, from its first
    member's zoo.cfg; [] for one server (COMPAT_ENSEMBLE unset)."""
    server_dir = os.environ.get("COMPAT_SERVER_DIR")
    if os.environ.get("COMPAT_ENSEMBLE") != "1" or not server_dir:
        return []
    with open(os.path.join(server_dir, "m1", "zoo.cfg")) as f:
        servers = [ln.strip() for ln in f if ln.startswith("server.")]
    return [ln + ":participant" for ln in servers] + ["version=0"]


def scenario(c, hosts, restart=None):
    s = c.step
    cli = c.cli

    # --- connection, client-side commands -------------------------------------------------
    first = cli.wait_events(0, 1)
    c.event_mark = len(first)
    preamble = cli.discard_preamble()
    if not c.record:
        c.report(first[:1] == [ev("None", "null")], "session established (SyncConnected event)",
                 "events: %r" % first)
        c.report(any(x == "Connecting to %s" % hosts for x in preamble), "zkCli preamble",
                 "preamble: %r" % preamble)
    s("ls /", ["[zookeeper]"], name="ls / on a fresh server")
    s("version", [re.compile(r"ZooKeeper CLI version: 3\.8\.\d+.*")])

    # --- whoami / addauth -------------------------------------------------------------------
    s("whoami", ["Auth scheme: User", "ip: 127.0.0.1"])
    s("addauth digest user1:pw1", [])
    s("whoami", ["Auth scheme: User", "digest: user1", "ip: 127.0.0.1"], sort=True,
      name="whoami after addauth digest")

    # --- create: every flag, and the errors ---------------------------------------------------
    s("create /zkcli \"hello world\"", ["Created /zkcli"])
    s("stat /zkcli", stat(dataLength=11),
      check=zxid_relation(lambda f: f["cZxid"] == f["mZxid"] == f["pZxid"],
                          "cZxid == mZxid == pZxid for a new leaf"))
    s("create /zkcli again", ["Node already exists: /zkcli"])
    s("create /nope/x", ["Node does not exist: /nope/x"])
    s("create r/a", ["Path must start with / character"])
    s("create /zkcli/", ["Path must not end with / character"])
    s("create -s /zkcli/seq- s", ["Created /zkcli/seq-0000000000"])
    s("create -s /zkcli/seq- s", ["Created /zkcli/seq-0000000001"])
    s("create -e /zkcli/eph e", ["Created /zkcli/eph"])
    s("stat /zkcli/eph", stat(owner="session", dataLength=1), name="stat of an ephemeral")
    s("create -e /zkcli/eph/child c", ["Ephemerals cannot have children: /zkcli/eph/child"])
    s("create -e -s /zkcli/es- e", ["Created /zkcli/es-0000000003"])
    s("create -c /zkcli/cont", ["Created /zkcli/cont"])
    s("create /zkcli/cont/k x", ["Created /zkcli/cont/k"])
    s("stat /zkcli/cont", stat(cversion=1, numChildren=1), name="stat of a container")
    s("create -t 60000 /zkcli/ttl t", ["Created /zkcli/ttl"])
    s("stat /zkcli/ttl", stat(dataLength=1), name="stat of a TTL node")
    s("create -s -t 60000 /zkcli/ttls- t", ["Created /zkcli/ttls-0000000006"])
    s("create -t 0 /zkcli/ttl0 t", ["ttl must be positive and cannot be larger than: 1099511627775"])
    s("create -e -t 100 /zkcli/bad x", ["TTLs cannot be used with Ephemeral znodes"])

    # --- get / ls / stat ------------------------------------------------------------------------
    kids = "[cont, eph, es-0000000003, seq-0000000000, seq-0000000001, ttl, ttls-0000000006]"
    s("get /zkcli", ["hello world"])
    s("get -s /zkcli", ["hello world"] + stat(cversion=7, dataLength=11, numChildren=7),
      check=zxid_relation(lambda f: f["pZxid"] > f["cZxid"] == f["mZxid"],
                          "pZxid > cZxid == mZxid after children were added"))
    s("get /zkcli/missing", ["Node does not exist: /zkcli/missing"])
    s("ls /zkcli", [kids], sort_lists=True)
    s("ls -s /zkcli", [kids] + stat(cversion=7, dataLength=11, numChildren=7), sort_lists=True)
    s("ls -R /zkcli", ["/zkcli", "/zkcli/cont", "/zkcli/eph", "/zkcli/es-0000000003",
                       "/zkcli/seq-0000000000", "/zkcli/seq-0000000001", "/zkcli/ttl",
                       "/zkcli/ttls-0000000006", "/zkcli/cont/k"], sort=True)
    s("ls /zkcli/missing", ["Node does not exist: /zkcli/missing"])
    s("stat /zkcli/missing", ["Node does not exist: /zkcli/missing"])

    # --- set with versions ----------------------------------------------------------------------
    s("set /zkcli newdata", [])
    s("set -s /zkcli newer", stat(cversion=7, dataVersion=2, dataLength=5, numChildren=7),
      check=zxid_relation(lambda f: f["mZxid"] > f["cZxid"], "mZxid > cZxid after set"))
    s("set -v 99 /zkcli bad", ["version No is not valid : /zkcli"])
    s("set -v 2 /zkcli good", [])
    s("get /zkcli", ["good"], name="get after set -v")
    s("set /zkcli/missing x", ["Node does not exist: /zkcli/missing"])

    # --- delete ---------------------------------------------------------------------------------
    s("delete /zkcli", ["Node not empty: /zkcli"])
    s("delete -v 7 /zkcli/seq-0000000000", ["version No is not valid : /zkcli/seq-0000000000"])
    s("delete -v 0 /zkcli/seq-0000000000", [])
    s("delete /zkcli/missing", ["Node does not exist: /zkcli/missing"])

    # --- ACLs -----------------------------------------------------------------------------------
    s("getAcl /zkcli", acl("world", "anyone", "cdrwa"))
    s("getAcl -s /zkcli", acl("world", "anyone", "cdrwa")
      + stat(cversion=8, dataVersion=3, dataLength=4, numChildren=6))
    s("getAcl /zkcli/missing", ["Node does not exist: /zkcli/missing"])
    s("create /zkcli/acl2 secret auth:user1:pw1:cdrwa", ["Created /zkcli/acl2"])
    s("getAcl /zkcli/acl2", acl("digest", USER1_DIGEST, "cdrwa"))
    s("get /zkcli/acl2", ["secret"], name="get digest-protected node with auth")
    s("create /zkcli/acl3 s world:anyone:r,digest:%s:cdrwa" % USER1_DIGEST, ["Created /zkcli/acl3"])
    s("getAcl /zkcli/acl3", acl("world", "anyone", "r") + acl("digest", USER1_DIGEST, "cdrwa"))
    s("setAcl /zkcli/acl3 world:anyone:r,digest:%s:cdrwa" % USER1_DIGEST, [])
    s("setAcl -s /zkcli/acl3 world:anyone:cdrwa", stat(aclVersion=2, dataLength=1))
    s("setAcl -v 9 /zkcli/acl3 world:anyone:cdrwa", ["version No is not valid : /zkcli/acl3"])
    s("setAcl -v 2 /zkcli/acl3 world:anyone:r", [])
    s("getAcl /zkcli/acl3", acl("world", "anyone", "r"), name="getAcl after setAcl -v")
    s("set /zkcli/acl3 x", ["Insufficient permission : /zkcli/acl3"],
      name="set on a read-only node (NOAUTH)")
    s("create /zkcli/acl3/c x", ["Insufficient permission : /zkcli/acl3/c"],
      name="create under a node without CREATE (NOAUTH)")
    s("create /zkcli/locked secret digest:%s:cdrwa" % OTHER_DIGEST, ["Created /zkcli/locked"])
    s("get /zkcli/locked", ["Insufficient permission : /zkcli/locked"],
      name="get without READ (NOAUTH)")
    s("getAcl /zkcli/locked", ["Insufficient permission : /zkcli/locked"],
      name="getAcl without READ or ADMIN (NOAUTH)")
    s("ls /zkcli/locked", ["Insufficient permission : /zkcli/locked"])
    if os.environ.get("COMPAT_EXISTS_CHECKS_READ") == "1":
        s("stat /zkcli/locked", ["Insufficient permission : /zkcli/locked"],
          name="stat without READ (NOAUTH; 3.8.4+/3.9.2+)")
    else:
        s("stat /zkcli/locked", stat(dataLength=6), name="stat needs no permission (before 3.8.4)")
    s("create /zkcli/badacl x foo:bar:cdrwa", ["KeeperErrorCode = InvalidACL for /zkcli/badacl",
                                                 "Acl is not valid : /zkcli/badacl"])
    s("create /zkcli/ipacl x ip:127.0.0.1:cdrwa", ["Created /zkcli/ipacl"])
    s("get /zkcli/ipacl", ["x"], name="get with a matching ip ACL")
    s("create /zkcli/ipacl2 x ip:10.0.0.0/8:cdrwa", ["Created /zkcli/ipacl2"])
    s("get /zkcli/ipacl2", ["Insufficient permission : /zkcli/ipacl2"],
      name="get with a non-matching ip ACL (NOAUTH)")
    s("create -c /zkcli/cont/k2 x", ["Created /zkcli/cont/k2"])
    s("setAcl -R /zkcli/cont world:anyone:cdrw", [])
    s("getAcl /zkcli/cont/k", acl("world", "anyone", "cdrw"), name="getAcl after setAcl -R")
    s("delete /zkcli/cont/k2", [])

    # --- counts, ephemerals ---------------------------------------------------------------------
    s("getAllChildrenNumber /zkcli", ["12"])
    s("getAllChildrenNumber /", ["16"])
    s("getAllChildrenNumber /zkcli/missing", ["Node does not exist: /zkcli/missing"])
    eph = "[/zkcli/eph, /zkcli/es-0000000003]"
    s("getEphemerals /zkcli", [eph], sort_lists=True)
    s("getEphemerals", [eph], sort_lists=True, name="getEphemerals (all paths)")
    s("getEphemerals /zkcli/cont", ["[]"])

    # --- quotas (the server keeps zookeeper_stats in step) -----------------------------------
    lim = "absolute path is /zookeeper/quota/zkcli/cont/zookeeper_limits"
    def quota(count, nbytes, hard_bytes, hard_count, st_count, st_bytes):
        return [lim, "Output quota for /zkcli/cont count=%d,bytes=%d=;byteHardLimit=%d;"
                "countHardLimit=%d" % (count, nbytes, hard_bytes, hard_count),
                "Output stat for /zkcli/cont count=%d,bytes=%d" % (st_count, st_bytes)]
    s("setquota -n 5 /zkcli/cont", [])
    s("listquota /zkcli/cont", quota(5, -1, -1, -1, 2, 1))
    s("setquota -b 100 /zkcli/cont", [])
    s("create /zkcli/cont/k2 abcd", ["Created /zkcli/cont/k2"])
    s("listquota /zkcli/cont", quota(5, 100, -1, -1, 3, 5), name="listquota after create")
    s("set /zkcli/cont/k xyz", [])
    s("listquota /zkcli/cont", quota(5, 100, -1, -1, 3, 7), name="listquota after set")
    s("delete /zkcli/cont/k2", [])
    s("listquota /zkcli/cont", quota(5, 100, -1, -1, 2, 3), name="listquota after delete")
    s("setquota -n 1 /zkcli/cont",
      ["[Warning]: the count quota you create is less than the existing count:2"])
    # zkCli repeats the soft-count warning whenever it sets any quota on this path
    warn = ["[Warning]: the count quota you create is less than the existing count:2"]
    s("setquota -N 10 /zkcli/cont", warn)
    s("setquota -B 1000 /zkcli/cont", warn)
    s("listquota /zkcli/cont", quota(1, 100, 1000, 10, 2, 3), name="listquota with hard limits")
    s("ls -R /zookeeper", ["/zookeeper", "/zookeeper/config", "/zookeeper/quota",
                           "/zookeeper/quota/zkcli", "/zookeeper/quota/zkcli/cont",
                           "/zookeeper/quota/zkcli/cont/zookeeper_limits",
                           "/zookeeper/quota/zkcli/cont/zookeeper_stats"], sort=True)
    s("delquota -n /zkcli/cont", [])
    s("delquota -N /zkcli/cont", [])
    s("listquota /zkcli/cont", quota(-1, 100, 1000, -1, 2, 3), name="listquota after delquota -n -N")
    s("delquota /zkcli/cont", [])
    s("listquota /zkcli/cont", [lim, "quota for /zkcli/cont does not exist."],
      name="listquota after delquota")
    s("setquota -n 2 /zkcli/missing", ["/zkcli/missing does not exist."])

    # --- the /zookeeper subtree -----------------------------------------------------------------
    s("delete /zookeeper/quota", ["Arguments are not valid : /zookeeper/quota"])
    s("set /zookeeper/config x", ["Insufficient permission : /zookeeper/config"])
    s("getAcl /zookeeper/config", acl("world", "anyone", "r"))
    # ZooKeeper creates /zookeeper/config with setACL(..., version -1), so its aclVersion is -1;
    # a member of an ensemble fills it with its config (dataVersion -1, as ZooKeeper sets it).
    config = ensemble_config()
    config_stat = stat(aclVersion=-1)
    if config:
        config_stat = stat(aclVersion=-1, dataVersion=-1, dataLength=len("\n".join(config)))
    s("stat /zookeeper/config", config_stat, name="stat /zookeeper/config")

    # --- sync, config, reconfig ---------------------------------------------------------------
    s("sync /zkcli", ["Sync is OK"])
    if not config:
        s("config", [], name="config (standalone: empty)")
        s("config -s", stat(aclVersion=-1), name="config -s")
        s("reconfig -add server.5=127.0.0.1:1234:1235;1236", ["KeeperErrorCode = Unimplemented"],
          name="reconfig on a standalone server")
    else:
        s("config", config, name="config (ensemble: its server.N lines and version)")
        s("config -s", config + config_stat, name="config -s")
        s("reconfig -add server.5=127.0.0.1:1234:1235;1236",
          ["KeeperErrorCode = Reconfig is disabled"], name="reconfig with reconfigEnabled=false")

    # --- history / redo -------------------------------------------------------------------------
    hist = list(cli.history)  # history includes the history command itself (sent next)
    n = len(hist)
    want = ["%d - %s" % (i, line) for i, line in
            enumerate(hist + ["history"]) if i >= n - 10]
    s("history", want)
    get_idx = cli.history.index("get /zkcli")
    s("redo %d" % get_idx, ["good"], name="redo of 'get /zkcli'")
    s("redo 99999", ["Command index out of range"])

    # --- watches --------------------------------------------------------------------------------
    s("get -w /zkcli", ["good"])
    s("set /zkcli w1", [], events=[ev("NodeDataChanged", "/zkcli")], name="data watch fires on set")
    s("set /zkcli w2", [], name="data watch is one-shot")
    s("ls -w /zkcli", ["[acl2, acl3, cont, eph, es-0000000003, ipacl, ipacl2, locked, "
                       "seq-0000000001, ttl, ttls-0000000006]"], sort_lists=True)
    s("create /zkcli/wchild x", ["Created /zkcli/wchild"],
      events=[ev("NodeChildrenChanged", "/zkcli")], name="child watch fires on create")
    s("ls -s -w /zkcli/wchild", ["[]"] + stat(dataLength=1))
    s("delete /zkcli/wchild", [], events=[ev("NodeDeleted", "/zkcli/wchild")],
      name="child watch on a deleted node fires NodeDeleted")
    s("stat -w /zkcli/newnode", ["Node does not exist: /zkcli/newnode"])
    s("create /zkcli/newnode x", ["Created /zkcli/newnode"],
      events=[ev("NodeCreated", "/zkcli/newnode")], name="exists watch fires on create")
    s("stat -w /zkcli/newnode", stat(dataLength=1))
    s("delete /zkcli/newnode", [], events=[ev("NodeDeleted", "/zkcli/newnode")],
      name="exists watch fires on delete")

    s("addWatch /zkcli/pr", [])
    s("create /zkcli/pr x", ["Created /zkcli/pr"], events=[ev("NodeCreated", "/zkcli/pr")],
      name="persistent recursive watch: create")
    s("create /zkcli/pr/a x", ["Created /zkcli/pr/a"], events=[ev("NodeCreated", "/zkcli/pr/a")],
      name="persistent recursive watch: create descendant")
    s("set /zkcli/pr/a y", [], events=[ev("NodeDataChanged", "/zkcli/pr/a")],
      name="persistent recursive watch: set descendant")
    s("set /zkcli/pr/a z", [], events=[ev("NodeDataChanged", "/zkcli/pr/a")],
      name="persistent recursive watch: fires again")
    s("addWatch -m PERSISTENT /zkcli/p", [])
    s("create /zkcli/p x", ["Created /zkcli/p"], events=[ev("NodeCreated", "/zkcli/p")],
      name="persistent watch: create")
    s("create /zkcli/p/c x", ["Created /zkcli/p/c"], events=[ev("NodeChildrenChanged", "/zkcli/p")],
      name="persistent watch: child created")
    s("set /zkcli/p/c y", [], name="persistent (non-recursive) watch ignores grandchildren data")
    s("set /zkcli/p y", [], events=[ev("NodeDataChanged", "/zkcli/p")], name="persistent watch: set")
    s("set /zkcli/p y2", [], events=[ev("NodeDataChanged", "/zkcli/p")],
      name="persistent watch: fires again")
    s("addWatch -m BOGUS /zkcli", [re.compile(r"addWatch \[-m mode\] path .*")],
      name="addWatch with a bad mode prints usage")

    s("printwatches off", [])
    s("set /zkcli/p z", [])
    c.no_new_events("printwatches off hides events")
    s("printwatches on", [])
    s("set /zkcli/p zz", [], events=[ev("NodeDataChanged", "/zkcli/p")],
      name="printwatches on shows events again")

    s("get -w /zkcli", ["w2"])
    s("ls -w /zkcli", [re.compile(r"\[.*\]")])
    s("removewatches /zkcli -d", [], events=[ev("DataWatchRemoved", "/zkcli")])
    s("removewatches /zkcli -c", [], events=[ev("ChildWatchRemoved", "/zkcli")])
    s("removewatches /zkcli", ["KeeperErrorCode = No such watcher for /zkcli"],
      name="removewatches with no watch left")
    s("get -w /zkcli", ["w2"])
    s("ls -w /zkcli", [re.compile(r"\[.*\]")])
    # The Java client queues these two from a HashMap keyed by the event type, whose order
    # changes from one JVM to the next (enum hash codes are identity hashes): on either server.
    s("removewatches /zkcli -a", [], events=[ev("DataWatchRemoved", "/zkcli"),
                                             ev("ChildWatchRemoved", "/zkcli")], sort_events=True)
    s("stat -w /zkcli", stat(cversion=19, dataVersion=5, dataLength=2, numChildren=13))
    s("removewatches /zkcli -d -l", [], events=[ev("DataWatchRemoved", "/zkcli")],
      name="removewatches -l (local)")
    s("removewatches /zkcli/p", [], events=[ev("PersistentWatchRemoved", "/zkcli/p")],
      name="removewatches of a persistent watch")
    s("set /zkcli/p gone", [], name="removed persistent watch no longer fires")
    s("removewatches /zkcli/missing", ["KeeperErrorCode = No such watcher for /zkcli/missing"])

    s("deleteall /zkcli/pr", [], events=[ev("NodeDeleted", "/zkcli/pr/a"),
                                         ev("NodeDeleted", "/zkcli/pr")],
      name="deleteall under a persistent recursive watch")
    s("removewatches /zkcli/pr", [], events=[ev("PersistentWatchRemoved", "/zkcli/pr")])
    s("deleteall /zkcli/missing", ["Node does not exist: /zkcli/missing"])

    # --- server restart: the session survives, the client re-registers its watches ----------
    if restart is None:
        if not c.record:
            print("SKIP  server restart (no --server-dir given)")
    else:
        s("create /rs x", ["Created /rs"])
        s("create /rs/rw x", ["Created /rs/rw"])
        s("create /rs/p x", ["Created /rs/p"])
        s("get -w /rs/rw", ["x"])
        s("ls -w /rs/rw", ["[]"])
        s("stat -w /rs/missing", ["Node does not exist: /rs/missing"])
        # -m is explicit: zkCli 3.8.0 keeps the mode of the previous addWatch when -m is
        # omitted, so after `addWatch -m PERSISTENT ...` above, a bare addWatch is PERSISTENT.
        s("addWatch -m PERSISTENT_RECURSIVE /rs/p", [])
        c.await_reconnect("client reconnects to the restarted server with the same session",
                          action=restart, timeout=60)
        s("whoami", ["Auth scheme: User", "digest: user1", "ip: 127.0.0.1"], sort=True,
          name="whoami after reconnect (auth re-sent)")
        s("getEphemerals /zkcli", [eph], sort_lists=True,
          name="ephemerals survive the restart")
        s("set /rs/rw y", [], events=[ev("NodeDataChanged", "/rs/rw")],
          name="data watch re-registered after reconnect (SetWatches)")
        s("create /rs/rw/c x", ["Created /rs/rw/c"], events=[ev("NodeChildrenChanged", "/rs/rw")],
          name="child watch re-registered after reconnect (SetWatches)")
        s("create /rs/missing x", ["Created /rs/missing"], events=[ev("NodeCreated", "/rs/missing")],
          name="exists watch re-registered after reconnect (SetWatches)")
        s("create /rs/p/x x", ["Created /rs/p/x"], events=[ev("NodeCreated", "/rs/p/x")],
          name="persistent recursive watch re-registered after reconnect (SetWatches2)")
        s("removewatches /rs/p", [], events=[ev("PersistentWatchRemoved", "/rs/p")])
        s("deleteall /rs", [])

    # --- close / connect: ephemerals go, auth goes ---------------------------------------------
    s("close", [], events=[ev("None", "null", state="Closed")])
    s("ls /", ["Not connected"], name="ls after close")
    s("connect %s" % hosts, [], events=[ev("None", "null")], name="connect")
    s("whoami", ["Auth scheme: User", "ip: 127.0.0.1"], name="whoami on the new session")
    s("getEphemerals", ["[]"], name="no ephemerals in the new session")
    s("ls /zkcli", ["[acl2, acl3, cont, ipacl, ipacl2, locked, p, seq-0000000001, ttl, "
                    "ttls-0000000006]"], sort_lists=True,
      name="old session's ephemerals are gone after close")
    s("get /zkcli/acl2", ["Insufficient permission : /zkcli/acl2"], name="no auth: NOAUTH")
    s("getAcl /zkcli/acl3", acl("world", "anyone", "r"))
    s("addauth digest user1:pw1", [])
    s("get /zkcli/acl2", ["secret"], name="get after addauth on the new session")
    s("get /zkcli/locked", ["Insufficient permission : /zkcli/locked"])
    s("addauth digest super:test", [])
    s("whoami", ["Auth scheme: User", "digest: super", "digest: user1", "ip: 127.0.0.1",
                 "super: "], sort=True, name="whoami as super")
    s("get /zkcli/locked", ["secret"], name="super reads any node")
    s("getAcl /zkcli/locked", acl("digest", OTHER_DIGEST, "cdrwa"), name="super reads any ACL")
    s("deleteall /zkcli -b 2", [])
    s("ls /", ["[zookeeper]"], name="ls / after deleteall")
    s("ls -R /zookeeper", ["/zookeeper", "/zookeeper/config", "/zookeeper/quota"], sort=True,
      name="ls -R /zookeeper at the end (delquota removed the empty quota parents)")
    s("getAllChildrenNumber /", ["3"], name="getAllChildrenNumber / at the end")

    # --- quit -------------------------------------------------------------------------------------
    cli.send("quit")
    try:
        rc = cli.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    if not c.record:
        c.report(rc == 0, "quit exits zkCli with status 0", "status: %r" % rc)


def one_shot(c, hosts, log):
    """zkCli -server host:port cmd args: one command per JVM."""
    cases = [
        (["create", "/oneshot", "one shot"], ["Created /oneshot"]),
        (["get", "/oneshot"], ["one shot"]),
        (["ls", "/"], ["[oneshot, zookeeper]"]),
        (["delete", "/oneshot"], []),
        (["get", "/oneshot"], ["Node does not exist: /oneshot"]),
    ]
    for args, want in cases:
        name = "one-shot: zkCli -server %s %s" % (hosts, " ".join(args))
        try:
            p = subprocess.run(zkcli_argv(hosts, *args), stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            c.report(False, name, "timed out")
            continue
        out = (p.stdout + p.stderr).splitlines()
        log.write("$ %s\n%s\n" % (" ".join(args), "\n".join(out)))
        skip = ("Connecting to ", "Welcome to ZooKeeper", "JLine support", "WATCHER::",
                "WatchedEvent ")
        got = [sorted_list_line(x) for x in out if x and not x.startswith(skip)]
        if c.record:
            print("## one-shot %s\n   %s" % (" ".join(args), "\n   ".join(got)))
            continue
        c.report(got == want, name, "output: %r\nexpected: %r" % (got, want))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hosts")
    p.add_argument("--record", action="store_true")
    p.add_argument("--log", default=os.devnull)
    p.add_argument("--server-dir", help="the server's dir ($COMPAT_SERVER_DIR): enables the "
                   "restart checks, which run `zkserver.py restart --dir SERVER_DIR`")
    a = p.parse_args()
    restart = None
    if a.server_dir:
        zkserver = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib", "zkserver.py")

        def restart():
            subprocess.run([sys.executable, zkserver, "restart", "--dir", a.server_dir],
                           check=True, stdout=subprocess.DEVNULL, timeout=90)
    started = time.monotonic()
    with open(a.log, "w") as log:
        cli = ZkCli(a.hosts, log)
        c = Checker(cli, a.record)
        try:
            scenario(c, a.hosts, restart)
        finally:
            cli.close()
        one_shot(c, a.hosts, log)
    print("zkcli: %d passed, %d failed (%.1fs)" % (c.passes, len(c.failures),
                                                  time.monotonic() - started))
    for f in c.failures:
        print("  failed: %s" % f)
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
