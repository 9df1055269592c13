"""Compare per-test outcomes with a list of tests expected to pass.

An outcomes file has one "<passed|failed|skipped>\\t<test id>" line per test (written by
kazoo/external_server.py; any scenario may produce one). An expected file lists test ids,
one per line; '#' starts a comment.

    outcomes.py check --expected FILE --outcomes FILE --mode required|reference
        required:  every expected test must pass (exit 1 and list the ones that did not)
        reference: report differences both ways; exit 0 (exit 1 with --strict)
        --ignore-missing: expected tests absent from the outcomes (deselected) are not checked
    outcomes.py update --expected FILE OUTCOMES [OUTCOMES ...]
        rewrite FILE with the tests that passed in every given run (drops flaky tests)
"""

import argparse
import collections
import sys


def read_outcomes(path):
    result = {}
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    outcome, test_id = line.rstrip("\n").split("\t", 1)
                    result[test_id] = outcome
    except FileNotFoundError:
        print("outcomes: %s is missing (did the run crash or time out?)" % path)
    return result


def read_expected(path):
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]


def counts(outcomes):
    c = collections.Counter(outcomes.values())
    return "%d passed, %d failed, %d skipped" % (c["passed"], c["failed"], c["skipped"])


def check(expected_path, outcomes_path, mode, strict, ignore_missing=False):
    expected = read_expected(expected_path)
    outcomes = read_outcomes(outcomes_path)
    if ignore_missing:
        expected = [t for t in expected if t in outcomes]
    not_passing = [t for t in expected if outcomes.get(t) != "passed"]
    extra = sorted(t for t, o in outcomes.items() if o == "passed" and t not in set(expected))
    print("outcomes: %s; %d expected to pass" % (counts(outcomes), len(expected)))
    for t in not_passing:
        print("  NOT PASSING (%s): %s" % (outcomes.get(t, "not run"), t))
    for t in extra:
        print("  passing but not in %s: %s" % (expected_path, t))
    if mode == "required":
        if not_passing:
            print("outcomes: %d expected test(s) did not pass" % len(not_passing))
            return 1
        return 0
    if not_passing or extra:
        print("outcomes: the reference server differs from the recorded baseline%s"
              % ("" if strict else " (warning only)"))
        return 1 if strict else 0
    print("outcomes: matches the recorded baseline")
    return 0


def update(expected_path, outcome_paths):
    runs = [read_outcomes(p) for p in outcome_paths]
    passing = set.intersection(*({t for t, o in r.items() if o == "passed"} for r in runs))
    flaky = set.union(*({t for t, o in r.items() if o == "passed"} for r in runs)) - passing
    with open(expected_path, "w") as f:
        f.write("# Tests that passed against Apache ZooKeeper 3.8 in each of %d runs.\n" % len(runs))
        f.write("# Regenerate with: lib/outcomes.py update --expected <this file> <outcomes>...\n")
        for t in sorted(passing):
            f.write(t + "\n")
    print("wrote %d tests to %s" % (len(passing), expected_path))
    for t in sorted(flaky):
        print("  left out (did not pass in every run): %s" % t)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--expected", required=True)
    c.add_argument("--outcomes", required=True)
    c.add_argument("--mode", choices=["required", "reference"], required=True)
    c.add_argument("--strict", action="store_true")
    c.add_argument("--ignore-missing", action="store_true")
    u = sub.add_parser("update")
    u.add_argument("--expected", required=True)
    u.add_argument("outcomes", nargs="+")
    a = p.parse_args()
    if a.cmd == "check":
        sys.exit(check(a.expected, a.outcomes, a.mode, a.strict, a.ignore_missing))
    sys.exit(update(a.expected, a.outcomes))


if __name__ == "__main__":
    main()
