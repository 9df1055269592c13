"""The fault tests' checks other than linearizability: each takes what the clients did and
what every server shows at the end, and returns the anomalies it finds (an empty list when
there are none), each a line a person can act on.

Outcomes are "ok" (acknowledged), "fail" (definitely refused) and "unknown" (connection lost
or timed out: it may or may not have taken effect).
"""


def check_set(attempts, finals):
    """Unique znodes created by every client.

    attempts: {element: outcome}; finals: {server: set of elements it lists at the end}.
    Every acknowledged element is on every server, the servers agree, and nothing appears
    that was never attempted or was definitely refused."""
    anomalies = []
    servers = sorted(finals)
    for server in servers:
        lost = sorted(e for e, outcome in attempts.items()
                      if outcome == "ok" and e not in finals[server])
        if lost:
            anomalies.append("%s lost %d acknowledged element(s): %s"
                             % (server, len(lost), ", ".join(lost[:10])))
        unknown = sorted(finals[server] - set(attempts))
        if unknown:
            anomalies.append("%s shows %d element(s) never attempted: %s"
                             % (server, len(unknown), ", ".join(unknown[:10])))
        refused = sorted(e for e in finals[server] if attempts.get(e) == "fail")
        if refused:
            anomalies.append("%s shows %d element(s) whose create was refused: %s"
                             % (server, len(refused), ", ".join(refused[:10])))
    for a, b in zip(servers, servers[1:]):
        if finals[a] != finals[b]:
            only_a = sorted(finals[a] - finals[b])[:10]
            only_b = sorted(finals[b] - finals[a])[:10]
            anomalies.append("%s and %s disagree: only on %s: %s; only on %s: %s"
                             % (a, b, a, only_a, b, only_b))
    return anomalies


def check_unique_ids(acknowledged):
    """Sequential znodes as unique ids: acknowledged is [(client, name)]; no name twice."""
    owners = {}
    anomalies = []
    for client, name in acknowledged:
        if name in owners:
            anomalies.append("id %s was given twice: to %s and to %s"
                             % (name, owners[name], client))
        else:
            owners[name] = client
    return anomalies


def check_fifo(writes, finals):
    """Each session's writes carry a counter, 1, 2, 3, ... in the order it sent them.

    writes: {session: {counter: outcome}}; finals: {server: {session: [counters in the
    order the server applied them]}} (read back from sequential znodes, whose sequence
    numbers give the order). On every server each session's counters must be applied in
    increasing order, each at most once; every acknowledged counter must be there; none
    that was definitely refused may be."""
    anomalies = []
    for server in sorted(finals):
        for session, sent in sorted(writes.items()):
            applied = finals[server].get(session, [])
            where = "%s, session %s" % (server, session)
            if any(b <= a for a, b in zip(applied, applied[1:])):
                anomalies.append("%s: applied out of order or twice: %s" % (where, applied))
            missing = sorted(c for c, outcome in sent.items()
                             if outcome == "ok" and c not in applied)
            if missing:
                anomalies.append("%s: acknowledged writes missing: %s" % (where, missing))
            refused = sorted(c for c in applied if sent.get(c) in ("fail", None))
            if refused:
                anomalies.append("%s: writes applied that were refused or never sent: %s"
                                 % (where, refused))
    return anomalies
