"""Hosts for the fault tests: one network namespace per server, joined by a bridge in the
root namespace, where the clients run. Needs root (ip, iptables).

Each host gets a veth pair (its end named eth0) on the bridge and an address of a /24 chosen
for this run; the bridge holds .1, so clients in the root namespace reach every host.
Partitions are iptables DROP rules in a chain of each host's own namespace (ZKFAULT), so
healing is flushing those chains, and deleting the namespaces removes them. Docker's FORWARD
policy drops bridged traffic (br_netfilter), so the harness inserts exactly one ACCEPT rule
for its bridge in the root namespace and deletes it when it tears down.
"""

import os
import subprocess

CHAIN = "ZKFAULT"


def _run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def _free_subnet(third):
    """The first 10.231.X.0/24 from X = `third` on that no bridge of this machine holds, so
    that runs side by side (a campaign in two processes) do not share one."""
    held = _run("ip", "-o", "-4", "addr", "show").stdout
    for n in range(200):
        candidate = 20 + (third - 20 + n) % 200
        if " 10.231.%d.1/" % candidate not in held:
            return candidate
    raise RuntimeError("no free 10.231.X.0/24 subnet")


class Hosts:
    """`count` hosts named `<prefix>-1` ... `<prefix>-<count>`; `with Hosts(3) as hosts:`."""

    def __init__(self, count, prefix=None, subnet=None):
        tag = prefix or "zkf%d" % (os.getpid() % 100000)
        self.prefix = tag
        self.bridge = tag + "br"
        third = _free_subnet((os.getpid() % 200) + 20) if subnet is None else subnet
        self.net = "10.231.%d" % third
        self.names = ["%s-%d" % (tag, i + 1) for i in range(count)]
        self.addrs = ["%s.%d" % (self.net, 10 + i) for i in range(count)]
        self._forward_rule = ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]
        self._made = False

    def __enter__(self):
        self.create()
        return self

    def __exit__(self, *exc):
        self.destroy()

    def create(self):
        self._made = True
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", self.net + ".1/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        _run("iptables", "-I", *self._forward_rule)
        for i, (name, addr) in enumerate(zip(self.names, self.addrs)):
            self._add_host(i, name, addr)

    def _add_host(self, i, name, addr):
        outside, inside = "%sv%d" % (self.prefix, i + 1), "%sp%d" % (self.prefix, i + 1)
        _run("ip", "netns", "add", name)
        _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        _run("ip", "link", "set", outside, "master", self.bridge, "up")
        _run("ip", "link", "set", inside, "netns", name)
        ns = ("ip", "netns", "exec", name)
        _run(*ns, "ip", "link", "set", inside, "name", "eth0")
        _run(*ns, "ip", "addr", "add", addr + "/24", "dev", "eth0")
        _run(*ns, "ip", "link", "set", "eth0", "up")
        _run(*ns, "ip", "link", "set", "lo", "up")
        _run(*ns, "iptables", "-N", CHAIN)
        _run(*ns, "iptables", "-I", "INPUT", "-j", CHAIN)
        _run(*ns, "iptables", "-I", "OUTPUT", "-j", CHAIN)

    def destroy(self):
        """Removes every namespace, link and rule this made; safe to call twice."""
        if not self._made:
            return
        self._made = False
        for i, name in enumerate(self.names):
            # Deleting our end removes the pair at once; a namespace's own links go only
            # when the kernel gets round to freeing it.
            _run("ip", "link", "del", "%sv%d" % (self.prefix, i + 1), check=False)
            _run("ip", "netns", "del", name, check=False)
        _run("ip", "link", "del", self.bridge, check=False)
        _run("iptables", "-D", *self._forward_rule, check=False)

    def argv(self, i, argv):
        """`argv` run on host `i` (0-based)."""
        return ["ip", "netns", "exec", self.names[i], *argv]

    def partition(self, *groups):
        """Cuts every host off from the hosts outside its group; hosts in no group are cut
        off from everyone. Replaces the previous partition."""
        self.heal()
        group_of = {}
        for g, members in enumerate(groups):
            for i in members:
                group_of[i] = g
        for i in range(len(self.names)):
            for j in range(len(self.names)):
                if i != j and (i not in group_of or group_of.get(i) != group_of.get(j)):
                    self._cut(i, j)

    def isolate(self, i):
        """Host `i` alone, the rest together."""
        self.partition([j for j in range(len(self.names)) if j != i])

    def _cut(self, i, j):
        ns = ("ip", "netns", "exec", self.names[i])
        _run(*ns, "iptables", "-A", CHAIN, "-s", self.addrs[j], "-j", "DROP")
        _run(*ns, "iptables", "-A", CHAIN, "-d", self.addrs[j], "-j", "DROP")

    def heal(self):
        for name in self.names:
            _run("ip", "netns", "exec", name, "iptables", "-F", CHAIN)


def leftovers(prefix):
    """What a Hosts with this prefix may have left: namespaces, links, FORWARD rules."""
    found = [n for n in _run("ip", "netns", "list").stdout.split() if n.startswith(prefix)]
    links = _run("ip", "-o", "link", "show").stdout
    found += [line.split(":")[1].strip() for line in links.splitlines()
              if line.split(":")[1].strip().startswith(prefix)]
    found += [r for r in _run("iptables", "-S", "FORWARD").stdout.splitlines() if prefix in r]
    return found


def sweep(prefix):
    """Removes what `leftovers(prefix)` finds: for a run that was killed before it could
    clean up after itself."""
    for name in leftovers(prefix):
        if name.startswith("-A FORWARD"):
            _run("iptables", "-D", *name.split()[1:], check=False)
        elif "@" in name or name.endswith("br"):
            _run("ip", "link", "del", name.split("@")[0], check=False)
        else:
            _run("ip", "netns", "del", name, check=False)
    return leftovers(prefix)
