"""Each fault run's record, saved under COMPAT_RESULTS (or the temp directory): the seed, the
nemesis events, each workload's operation counts and its checks' verdicts (anomalies, with
the shortest history excerpt that shows each, where there is a history)."""

import json
import os
import tempfile


def save(name, target, seed, events, results):
    """Writes faults-<name>-<target>-<seed>.json; returns its path. `results` maps each
    workload to {"counts": ..., "anomalies": [...] or {key: excerpt}}."""
    directory = os.environ.get("COMPAT_RESULTS", tempfile.gettempdir())
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "faults-%s-%s-%d.json" % (name, target, seed))
    with open(path, "w") as f:
        json.dump({"target": target, "seed": seed,
                   "events": [[t, what, repr(fault)] for t, what, fault in events],
                   "verdict": "ok" if not any(r["anomalies"] for r in results.values())
                   else "anomalies",
                   "workloads": results}, f, indent=1, default=repr)
    return path
