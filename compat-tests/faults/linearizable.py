"""Linearizability of one ZooKeeper znode used as a register: the Wing-Gong-Lowe search as
porcupine implements it (a linked list of call and return events, a stack to backtrack, and a
cache of (linearized set, state) pairs already explored).

An operation is a read (`sync` then `getData`), a write (`setData` at version -1) or a
compare-and-set (`setData` at an expected version). Its outcome is "ok", "fail" (a definite
refusal: BADVERSION for a compare-and-set) or "unknown" (the connection was lost or the call
timed out): an unknown operation may have taken effect at any moment after its call, or never,
so it is given no return time and may be placed anywhere after its call, last included.

The register's state is (data, version), as getData's Stat shows it.
"""

from dataclasses import dataclass, field, replace
from typing import Optional

INFINITY = float("inf")


@dataclass(frozen=True)
class Op:
    """One client call on the register."""
    process: str
    kind: str  # "read", "write" or "cas"
    call: float
    ret: Optional[float]  # None: the outcome is unknown
    outcome: str  # "ok", "fail" or "unknown"
    value: Optional[bytes] = None  # what a write or cas sets
    expected: Optional[int] = None  # a cas's expected version
    seen: Optional[tuple] = None  # (data, version) a read saw, or a write's new version as (None, v)


def step(state, op):
    """The state after `op` in `state`, or None if `op` cannot happen there."""
    data, version = state
    if op.kind == "read":
        return state if op.seen == state else None
    if op.kind == "write":
        if op.outcome == "fail":
            return state
        after = (op.value, version + 1)
        if op.outcome == "ok" and op.seen is not None and op.seen[1] != version + 1:
            return None
        return after
    if op.kind == "cas":
        matches = version == op.expected
        if op.outcome == "ok":
            if not matches:
                return None
            if op.seen is not None and op.seen[1] != version + 1:
                return None
            return (op.value, version + 1)
        if op.outcome == "fail":
            return state if not matches else None
        return (op.value, version + 1) if matches else state
    raise ValueError("unknown op kind %r" % op.kind)


@dataclass
class _Entry:
    op_id: int
    is_call: bool
    time: float
    match: "Optional[_Entry]" = None
    prev: "Optional[_Entry]" = field(default=None, repr=False)
    next: "Optional[_Entry]" = field(default=None, repr=False)


def _entries(ops):
    events = []
    for i, op in enumerate(ops):
        ret = INFINITY if op.outcome == "unknown" or op.ret is None else op.ret
        call, back = _Entry(i, True, op.call), _Entry(i, False, ret)
        call.match = back
        events += [call, back]
    # Calls before returns at the same moment: touching operations count as concurrent.
    events.sort(key=lambda e: (e.time, not e.is_call))
    head = _Entry(-1, True, -INFINITY)
    last = head
    for e in events:
        last.next, e.prev = e, last
        last = e
    return head


def _lift(entry):
    entry.prev.next = entry.next
    entry.next.prev = entry.prev
    back = entry.match
    back.prev.next = back.next
    if back.next is not None:
        back.next.prev = back.prev


def _unlift(entry):
    back = entry.match
    back.prev.next = back
    if back.next is not None:
        back.next.prev = back
    entry.prev.next = entry
    entry.next.prev = entry


class Undecided(Exception):
    """The search took more steps than it was allowed: neither verdict holds."""


_UNSEEN = ("unseen",)  # the data of a write no read saw: equal only to itself, never to a read


def _interchangeable(ops):
    """Each operation's class of interchangeable operations, or None. Two unknown writes (or
    two unknown compare-and-sets at the same expected version) whose data no read saw have
    the same effect and may both be placed anywhere after their calls: once both are
    called, placing either one first leads to the same searches. Their data becomes
    `_UNSEEN`, so the states they lead to are the same too."""
    read_data = {op.seen[0] for op in ops if op.kind == "read" and op.seen is not None}
    classes, rewritten = [], []
    for op in ops:
        if op.outcome == "unknown" and op.kind != "read" and op.value not in read_data:
            classes.append((op.kind, op.expected))
            op = replace(op, value=_UNSEEN)
        else:
            classes.append(None)
        rewritten.append(op)
    return rewritten, classes


def _settled(op, state):
    """An unknown compare-and-set at a version the register has passed: versions only grow,
    so wherever it is placed from here on it changes nothing."""
    return op.outcome == "unknown" and op.kind == "cas" and state[1] > op.expected


def is_linearizable(ops, initial=(None, -1), max_steps=None):
    """True when some order of `ops`, each placed between its call and its return, is a
    legal sequence of the register from `initial` (a missing node: no data, version -1;
    pass the created node's (data, 0) when the history starts after its create). Raises
    Undecided after `max_steps` steps, if given.

    Unknown operations stay pending to the end, so each one could double the sets to
    explore. Three rules keep that in check, each keeping the verdict:
    - of interchangeable ones (see `_interchangeable`) only the first is tried at a point;
    - a settled one (see `_settled`) is placed where it is met, with no alternative tried:
      every order that places it later can place it there instead;
    - once only unknown operations are left, the history is linearizable: each may be
      placed last, or never have happened."""
    ops, classes = _interchangeable(ops)
    head = _entries(ops)
    state, linearized, tried = initial, 0, frozenset()
    stack, seen = [], set()
    entry = head.next
    steps = 0
    while head.next is not None:
        steps += 1
        if max_steps is not None and steps > max_steps:
            raise Undecided("%d operations, %d steps" % (len(ops), steps))
        backtrack = not entry.is_call
        if entry.is_call:
            op, cls = ops[entry.op_id], classes[entry.op_id]
            settled = _settled(op, state)
            after = None if cls in tried and not settled else step(state, op)
            key = (linearized | 1 << entry.op_id, after)
            if after is not None and key not in seen:
                seen.add(key)
                stack.append((entry, state, tried, settled))
                state, linearized, tried = after, key[0], frozenset()
                _lift(entry)
                entry = head.next
            elif settled:
                backtrack = True
            else:
                tried = tried | {cls} if cls is not None else tried
                entry = entry.next
        if backtrack:
            if entry.time == INFINITY:
                # Only unknown operations are left: each may be placed last, or never have been.
                return True
            while True:
                if not stack:
                    return False
                entry, state, tried, settled = stack.pop()
                linearized &= ~(1 << entry.op_id)
                _unlift(entry)
                if not settled:
                    break
            if classes[entry.op_id] is not None:
                tried = tried | {classes[entry.op_id]}
            entry = entry.next
    return True


def shortest_excerpt(ops, initial=(None, -1)):
    """A short window of a history that is not linearizable and still shows why: the
    shortest failing prefix (by call time), then with leading operations dropped for as long
    as it still fails. Operations dropped from the front are replaced by nothing, so the
    window's own start state is tried as every state a read in it saw."""
    ordered = sorted(ops, key=lambda o: o.call)
    lo, hi = 1, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if is_linearizable(ordered[:mid], initial):
            lo = mid + 1
        else:
            hi = mid
    window = ordered[:lo]
    starts = [initial] + [o.seen for o in window if o.kind == "read" and o.seen]
    while len(window) > 1:
        rest = window[1:]
        if all(not is_linearizable(rest, s) for s in starts):
            window = rest
        else:
            break
    return window
