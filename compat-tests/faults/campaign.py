"""The long fault campaign: many seeded runs of the fault test (registers, set, ids, FIFO and
ephemerals workloads at once), each for --seconds of faults, over ensembles of 3 and 5, on
corral (and, with --targets corral,zookeeper, on Apache ZooKeeper as well).

    CORRAL_BIN=target/release/corral compat-tests/.venv/bin/python \\
        compat-tests/faults/campaign.py --runs 100 --seconds 60

Each run's record (seed, faults, counts, verdicts, excerpts) and pytest's log go under --out;
summary.jsonl gets a line per run, so an interrupted campaign resumes where it stopped
(SIGINT or SIGTERM let the run under way remove its servers and hosts first).
--summary prints the totals of what is there. It exits 1 when a run failed or found anomalies.
"""

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
TESTS = ("test_workloads_under_faults.py",)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--members", default="3,5", help="ensemble sizes, taken in turn")
    p.add_argument("--targets", default="corral")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--out", default=os.path.join(here, "..", ".cache", "campaign"))
    p.add_argument("--summary", action="store_true", help="only print the totals")
    return p.parse_args()


def done_runs(summary):
    if not os.path.exists(summary):
        return set()
    with open(summary) as f:
        return {(r["seed"], r["target"], r["members"]) for r in map(json.loads, f)}


def one_run(args, seed, target, members):
    name = "run-%d-%s-%d" % (seed, target, members)
    records = os.path.join(args.out, "records")
    env = dict(os.environ, FAULTS_SEED=str(seed), FAULTS_SECONDS=str(args.seconds),
               FAULTS_MEMBERS=str(members), FAULTS_TARGETS=target, COMPAT_RESULTS=records)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s"]
    started = time.monotonic()
    with open(os.path.join(args.out, name + ".log"), "w") as log:
        child = subprocess.Popen(argv + [os.path.join(here, t) for t in TESTS], env=env,
                                 stdout=log, stderr=subprocess.STDOUT, cwd=here)
        try:
            code = child.wait()
        except KeyboardInterrupt:
            # pytest stops at SIGINT after its cleanups: servers stopped, hosts removed.
            child.send_signal(signal.SIGINT)
            child.wait()
            raise
    row = {"seed": seed, "target": target, "members": members, "seconds": args.seconds,
           "exit": code, "took_s": round(time.monotonic() - started, 1), "workloads": {}}
    for path in glob.glob(os.path.join(records, "faults-*-%s-%d.json" % (target, seed))):
        with open(path) as f:
            record = json.load(f)
        row["faults"] = sum(1 for e in record["events"] if e[1] == "begin")
        for workload, result in record["workloads"].items():
            row["workloads"][workload] = {"counts": result["counts"],
                                          "anomalies": len(result["anomalies"])}
    return row


def show_tail(log, lines=60):
    """A failed run's last lines, where CI shows them."""
    with open(log) as f:
        tail = [l for l in f if "WARNING" not in l][-lines:]
    print("--- %s (last %d lines, kazoo's warnings left out)" % (log, len(tail)))
    print("".join(tail), flush=True)


def totals(summary):
    runs, faults, failed, anomalies, ops, sessions = 0, 0, [], 0, {}, {}
    with open(summary) as f:
        for row in map(json.loads, f):
            runs += 1
            faults += row.get("faults", 0)
            if row["exit"] != 0:
                failed.append("seed %d %s/%d" % (row["seed"], row["target"], row["members"]))
            for w in row["workloads"].values():
                anomalies += w["anomalies"]
                for outcome, n in w["counts"].items():
                    into = ops if outcome in ("ok", "fail", "unknown") else sessions
                    into[outcome] = into.get(outcome, 0) + n
    return {"runs": runs, "faults": faults, "operations": ops, "sessions": sessions,
            "anomalies": anomalies, "failed runs": failed}


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped like ^C: cleaned up
    args.out = os.path.abspath(args.out)  # the runs work in this directory
    os.makedirs(args.out, exist_ok=True)
    summary = os.path.join(args.out, "summary.jsonl")
    if not args.summary:
        done = done_runs(summary)
        sizes = [int(m) for m in args.members.split(",")]
        for k in range(args.runs):
            seed, members = args.first_seed + k, sizes[k % len(sizes)]
            for target in args.targets.split(","):
                if (seed, target, members) in done:
                    continue
                row = one_run(args, seed, target, members)
                with open(summary, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
                if row["exit"] != 0:
                    show_tail(os.path.join(args.out, "run-%d-%s-%d.log" % (seed, target, members)))
    if not os.path.exists(summary):
        print("no runs yet")
        return 0
    found = totals(summary)
    print(json.dumps(found, indent=1))
    return 1 if found["anomalies"] or found["failed runs"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("stopped; run the same command again to go on", file=sys.stderr)
        sys.exit(130)
