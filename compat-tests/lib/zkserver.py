"""Start, stop and probe one ZooKeeper-protocol server for the compatibility tests.

A target is "zookeeper" (Apache ZooKeeper from the Debian package, run as a plain java
process) or "corral" (our binary). Both get the same zoo.cfg and JAAS file, modelled on
kazoo's own test harness (kazoo/testing/common.py + harness.py). Each server lives in its
own directory:

    <dir>/zoo.cfg  jaas.conf  log4j.properties  data/  server.log  server.json

server.json records target, host, port, argv and the current pid, so another process
(run.sh's exit trap, the kazoo pytest plugin restarting the server) can find it.

An ensemble (--members N, N > 1) is a directory of member directories m1..mN, each one as
above (its zoo.cfg adds initLimit, syncLimit, the server.N lines, and data/myid), and a
server.json listing them; stop and restart act on every member, and `start` prints the
connect string of all of them. Apache ZooKeeper then runs as QuorumPeerMain.

CLI (stdlib only, any python3):
    zkserver.py start --target zookeeper|corral --dir DIR [--corral-bin PATH] [--members N]
                                           # prints host:port[,host:port...]
    zkserver.py stop --dir DIR
    zkserver.py restart --dir DIR          # same port, same data
    zkserver.py 4lw HOST:PORT CMD          # e.g. srvr, ruok, mntr
    zkserver.py exists-checks-read HOST:PORT  # 1 if exists() checks READ (ZOOKEEPER-2590)
"""

import argparse
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"
START_TIMEOUT_S = float(os.environ.get("COMPAT_START_TIMEOUT", "60"))
STOP_TIMEOUT_S = 15.0

# base64(sha1("super:test")): kazoo's tests authenticate as digest super:test.
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="

# Exactly the Server section kazoo's harness writes for ZOOKEEPER_JAAS_AUTH=digest.
JAAS_CONF = """Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};
"""

ZOO_CFG = """# Written by compat-tests/lib/zkserver.py; settings follow kazoo's test harness.
tickTime=2000
dataDir={data_dir}
clientPort={port}
clientPortAddress={host}
maxClientCnxns=0
admin.enableServer=true
admin.serverAddress={host}
admin.serverPort={admin_port}
4lw.commands.whitelist=*
reconfigEnabled=true
localSessionsEnabled=false
localSessionsUpgradingEnabled=false
extendedTypesEnabled=true
authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
DigestAuthenticationProvider.superDigest={super_digest}
"""

LOG4J = """log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
"""


def free_port():
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def four_letter(host, port, cmd, timeout=2.0):
    """Send a four-letter word and return the whole reply (the server closes after it)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(cmd.encode("ascii"))
        chunks = []
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return b"".join(chunks).decode("utf-8", "replace")
            chunks.append(chunk)


def zookeeper_classpath():
    """The Debian layout: zookeeper.jar (its manifest lists its dependencies) + log4j 1.2."""
    if os.environ.get("ZOOKEEPER_CLASSPATH"):
        return os.environ["ZOOKEEPER_CLASSPATH"]
    jars = sorted(glob.glob("/usr/share/zookeeper/*.jar"))
    jars += sorted(glob.glob("/usr/share/zookeeper/lib/*.jar"))
    jars += ["/usr/share/java/zookeeper.jar"]
    jars += ["/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"]
    # The AdminServer's Jetty needs the servlet API, which zookeeper.jar's manifest omits.
    jars += ["/usr/share/java/servlet-api.jar"]
    missing = [j for j in jars if not os.path.exists(j)]
    if missing:
        raise SystemExit("zkserver: missing jars (is the zookeeper package installed?): %s" % missing)
    return ":".join(jars)


ENSEMBLE_CFG = """initLimit=10
syncLimit=5
{servers}"""


def _argv(target, d, corral_bin, ensemble=False):
    cfg, jaas = os.path.join(d, "zoo.cfg"), os.path.join(d, "jaas.conf")
    if target == "zookeeper":
        return [
            os.environ.get("JAVA", "java"),
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-Dfile.encoding=UTF-8",  # kazoo's harness: digest credentials are UTF-8
            "-Djava.awt.headless=true",
            "-Djava.security.auth.login.config=" + jaas,
            "-Dlog4j.configuration=file:" + os.path.join(d, "log4j.properties"),
            "-Dzookeeper.log.dir=" + d,
            "-cp",
            zookeeper_classpath(),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain"
            if ensemble
            else "org.apache.zookeeper.server.ZooKeeperServerMain",
            cfg,
        ]
    if target == "corral":
        if not corral_bin or not os.access(corral_bin, os.X_OK):
            raise SystemExit("zkserver: corral binary not executable: %r" % corral_bin)
        return [os.path.abspath(corral_bin), "--config", cfg, "--jaas", jaas]
    raise SystemExit("zkserver: unknown target %r" % target)


def read_state(d):
    with open(os.path.join(d, "server.json")) as f:
        return json.load(f)


def member_dirs(d):
    """The member directories of an ensemble in `d`, or [d] for one server."""
    state = read_state(d)
    return [os.path.join(d, m) for m in state["members"]] if "members" in state else [d]


def _write_state(d, state):
    tmp = os.path.join(d, "server.json.tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, os.path.join(d, "server.json"))


def _alive(pid):
    """True while pid runs. Reaps it if it is our child; treats zombies as dead."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def log_tail(d, lines=40):
    try:
        with open(os.path.join(d, "server.log"), errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except FileNotFoundError:
        return "(no server.log)"


def wait_ready(host, port, pid=None, timeout=START_TIMEOUT_S, d=None):
    """Poll `srvr` until the server says it is serving (ruok answers imok even before that)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if pid is not None and not _alive(pid):
            raise RuntimeError("server exited during start-up; log tail:\n" + log_tail(d or "."))
        try:
            last = four_letter(host, port, "srvr", timeout=1.0)
            if "Mode: " in last and "not currently serving" not in last:
                return last
        except OSError as e:
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError("server on %s:%d not ready after %.0fs (last: %s)" % (host, port, timeout, last))


def launch(d, wait=True):
    """(Re)start the server described by <d>/server.json and wait until it serves; for an
    ensemble, start every member first, then wait for each."""
    if "members" in read_state(d):
        members = member_dirs(d)
        for m in members:
            launch(m, wait=False)
        for m in members:
            st = read_state(m)
            try:
                wait_ready(st["host"], st["port"], st["pid"], d=m)
            except BaseException:
                stop(d)
                raise
        return read_state(members[0])
    state = read_state(d)
    os.makedirs(state["data_dir"], exist_ok=True)
    with open(os.path.join(d, "server.log"), "ab") as log:
        proc = subprocess.Popen(
            state["argv"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=d, start_new_session=True,
        )
    state["pid"] = proc.pid
    _write_state(d, state)
    if not wait:
        return state
    try:
        wait_ready(state["host"], state["port"], proc.pid, d=d)
    except BaseException:
        stop(d)
        raise
    return state


def _write_server(d, target, corral_bin, port, extra="", myid=None, place=None):
    """One server's directory: its config files and server.json (not started). `place`:
    (host, wrap, admin_port) for a server on a host of its own (see start_on_hosts), whose
    argv `wrap` turns into the command that runs it there."""
    os.makedirs(d, exist_ok=True)
    data_dir = os.path.join(d, "data")
    host, wrap, admin_port = place or (HOST, None, free_port())
    cfg = ZOO_CFG.format(data_dir=data_dir, port=port, host=host, super_digest=SUPER_DIGEST,
                         admin_port=admin_port)
    if extra:
        # A static ensemble: no reconfig (corral's dynamic membership is a later issue).
        cfg = cfg.replace("reconfigEnabled=true", "reconfigEnabled=false") + extra
    files = {"zoo.cfg": cfg, "jaas.conf": JAAS_CONF, "log4j.properties": LOG4J}
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    if myid is not None:
        os.makedirs(data_dir, exist_ok=True)
        with open(os.path.join(data_dir, "myid"), "w") as f:
            f.write("%d\n" % myid)
    argv = _argv(target, d, corral_bin, ensemble=myid is not None)
    state = {"target": target, "host": host, "port": port, "admin_port": admin_port,
             "data_dir": data_dir, "argv": wrap(argv) if wrap else argv, "pid": None}
    _write_state(d, state)


def start(d, target, corral_bin=None, members=1):
    """Write config for `target` into a fresh directory `d`, start it, return its state (an
    ensemble's: its first member's, with "hosts", the connect string of all)."""
    os.makedirs(d, exist_ok=True)
    if members <= 1:
        _write_server(d, target, corral_bin, free_port())
        state = launch(d)
        state["hosts"] = "%s:%d" % (state["host"], state["port"])
        return state
    ports = [(free_port(), free_port(), free_port()) for _ in range(members)]
    servers = "".join("server.%d=%s:%d:%d\n" % (i + 1, HOST, q, e) for i, (_, q, e) in enumerate(ports))
    names = ["m%d" % (i + 1) for i in range(members)]
    for i, name in enumerate(names):
        extra = ENSEMBLE_CFG.format(servers=servers)
        _write_server(os.path.join(d, name), target, corral_bin, ports[i][0], extra, myid=i + 1)
    _write_state(d, {"target": target, "members": names})
    state = launch(d)
    state["hosts"] = ",".join("%s:%d" % (HOST, c) for c, _, _ in ports)
    return state


def start_on_hosts(d, target, corral_bin, hosts):
    """An ensemble with a member on each of `hosts` (faults/netns.py: one network namespace
    each, so every member has ZooKeeper's usual ports on an address of its own). Returns the
    first member's state, with "hosts", the connect string of all."""
    os.makedirs(d, exist_ok=True)
    addrs = hosts.addrs
    servers = "".join("server.%d=%s:2888:3888\n" % (i + 1, a) for i, a in enumerate(addrs))
    names = ["m%d" % (i + 1) for i in range(len(addrs))]
    for i, name in enumerate(names):
        extra = ENSEMBLE_CFG.format(servers=servers)
        place = (addrs[i], lambda argv, i=i: hosts.argv(i, argv), 8080)
        _write_server(os.path.join(d, name), target, corral_bin, 2181, extra, i + 1, place)
    _write_state(d, {"target": target, "members": names})
    state = launch(d)
    state["hosts"] = ",".join("%s:2181" % a for a in addrs)
    return state


def stop(d):
    """Stop the server in `d` (TERM to its process group, KILL after a bound), or every
    member of the ensemble in `d`. Idempotent."""
    try:
        state = read_state(d)
    except FileNotFoundError:
        return
    if "members" in state:
        for m in member_dirs(d):
            stop(m)
        return
    pid = state.get("pid")
    if pid and _alive(pid):
        for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait_s
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _alive(pid):
                break
    state["pid"] = None
    _write_state(d, state)


def running(d):
    if "members" in read_state(d):
        return all(running(m) for m in member_dirs(d))
    pid = read_state(d).get("pid")
    return bool(pid) and _alive(pid)


def server_version(host, port):
    """(major, minor, patch) from the `srvr` four-letter word."""
    for line in four_letter(host, port, "srvr").splitlines():
        if line.startswith("Zookeeper version: "):
            digits = line.split(":", 1)[1].strip().split("-")[0].split(".")
            return tuple(int(d) for d in digits[:3])
    raise SystemExit("zkserver: no version in srvr from %s:%s" % (host, port))


def exists_checks_read(version):
    """ZOOKEEPER-2590: exists() checks READ on an existing node from 3.8.4 and 3.9.2 on
    (apache/zookeeper PR #2093). corral follows 3.9; the Debian reference is 3.8.0."""
    return version >= (3, 9, 2) or ((3, 8, 4) <= version < (3, 9, 0))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--target", required=True, choices=["zookeeper", "corral"])
    s.add_argument("--dir", required=True)
    s.add_argument("--corral-bin", default=os.environ.get("CORRAL_BIN"))
    s.add_argument("--members", type=int, default=1, help="an ensemble of this many servers")
    for name in ("stop", "restart"):
        sub.add_parser(name).add_argument("--dir", required=True)
    f = sub.add_parser("4lw")
    f.add_argument("hostport")
    f.add_argument("word")
    sub.add_parser("exists-checks-read", help="print 1 if the server's exists() checks READ").add_argument("hostport")
    a = p.parse_args(argv)
    try:
        if a.cmd == "start":
            st = start(a.dir, a.target, a.corral_bin, a.members)
            print(st["hosts"])
        elif a.cmd == "stop":
            stop(a.dir)
        elif a.cmd == "restart":
            stop(a.dir)
            launch(a.dir)
            print(",".join("%s:%d" % (read_state(m)["host"], read_state(m)["port"]) for m in member_dirs(a.dir)))
        elif a.cmd == "exists-checks-read":
            host, port = a.hostport.rsplit(":", 1)
            print(1 if exists_checks_read(server_version(host, int(port))) else 0)
        else:
            host, port = a.hostport.rsplit(":", 1)
            sys.stdout.write(four_letter(host, int(port), a.word))
    except RuntimeError as e:
        sys.exit("zkserver: %s" % e)


if __name__ == "__main__":
    main()
