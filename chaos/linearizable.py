"""Linearizability checker for histories of independent read/write registers.

A history is a list of `Op`s, each a read or a write of one key (register) by one client,
with the monotonic time it was sent (`invoke`) and the time its answer arrived
(`complete`, or None when the outcome is unknown: timeout, connection reset).

Registers are P-compositional: a history is linearizable iff the sub-history of every
key is, so each key is checked on its own. A key is checked with the Wing & Gong search
as refined by Lowe and used by Porcupine:

* every definite op contributes a call and a return event; the events, in time order,
  form a doubly-linked list;
* the search walks the list from its head; at a call it tries to linearize that op now
  (apply it to the register), and if that is legal and the resulting configuration
  (set of linearized ops, register value) has not been seen before, it records the
  configuration, pushes the op on a stack and lifts its two events out of the list;
* reaching a return event means the op that returns there was not linearized in time,
  so the last choice is undone (pop, put the events back) and the search resumes just
  after that op's call;
* an empty list means every op is linearized: the key is linearizable. Backtracking
  with an empty stack means it is not.

The search is a loop with an explicit stack, so long histories cannot overflow Python's
recursion limit, and each key has a step budget after which it is reported undecided.

Time semantics: ops A and B are ordered only if A.complete < B.invoke strictly. At equal
times the call is placed before the return, so touching intervals count as concurrent
(the lenient choice: clock granularity must not produce false alarms).

Indeterminate writes (complete=None) may take effect at any time after their invoke, or
never. They are kept out of the event list and only ever linearized immediately before
a read that observes their value and could not see it otherwise (the "compound move" in
`_Search._try`). This is complete: in any linearization, an indeterminate write not
directly followed by a read is either overwritten unobserved or last, and can be
dropped, which is allowed. It keeps the search from trying every subset of pending
indeterminate writes at every step.

Command line: `python3 chaos/linearizable.py FILE.jsonl` reads one JSON object per line
with the `Op` fields, prints `linearizable=yes keys=N ops=M` and exits 0, or prints
`linearizable=no key=K` and the explanation and exits 1 (also when undecided, which the
explanation says). An unreadable file or a malformed op exits 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, replace

WRITE = "write"
READ = "read"
DEFAULT_MAX_STEPS = 5_000_000
EXPLAIN_MAX_OPS = 20  # ops listed in an explanation (the last ones of the failing prefix)

# Outcomes of the search on one key.
_OK = "ok"
_BAD = "not linearizable"
_UNDECIDED = "undecided"


@dataclass(frozen=True)
class Op:
    process: int  # client id
    key: str
    kind: str  # "write" or "read"
    value: str | None  # write: the value written; read: the value observed (None = absent)
    invoke: float  # monotonic seconds when the client sent it
    complete: float | None  # when the answer arrived; None = indeterminate


@dataclass
class Verdict:
    ok: bool
    key: str | None  # the first key found not linearizable (or undecided)
    explanation: str
    keys_checked: int
    ops_checked: int  # ops that took part (indeterminate reads are dropped, not counted)
    undecided: bool = False  # ok=False only because a key's step budget ran out


def check(
    history: list[Op], initial: str | None = None, max_steps: int = DEFAULT_MAX_STEPS
) -> Verdict:
    """Check `history` for linearizability; every register starts at `initial`.

    Keys are checked in sorted order; the first key proven not linearizable stops the
    check. A key whose search exceeds `max_steps` is skipped as undecided; if no key is
    proven bad, the verdict names the first undecided key (ok=False, undecided=True).
    """
    by_key = _group_by_key(history)
    keys_checked = ops_checked = 0
    undecided: tuple[str, int] | None = None
    for key in sorted(by_key):
        ops = by_key[key]
        keys_checked += 1
        ops_checked += len(ops)
        outcome, _ = _search_key(ops, initial, max_steps)
        if outcome == _BAD:
            cut, exact = _shortest_bad_prefix(ops, initial, max_steps)
            explanation = _explain(key, ops, cut, exact)
            return Verdict(False, key, explanation, keys_checked, ops_checked)
        if outcome == _UNDECIDED and undecided is None:
            undecided = (key, len(ops))
    if undecided is not None:
        key, n = undecided
        explanation = (
            f"key {key!r}: undecided: step budget exhausted "
            f"({max_steps} steps, {n} ops); no key was proven not linearizable"
        )
        return Verdict(False, key, explanation, keys_checked, ops_checked, undecided=True)
    explanation = f"linearizable: {keys_checked} keys, {ops_checked} ops"
    return Verdict(True, None, explanation, keys_checked, ops_checked)


# --------------------------------------------------------------------------- input


def _group_by_key(history: list[Op]) -> dict[str, list[Op]]:
    """Validate the ops and split them by key, dropping indeterminate reads."""
    by_key: dict[str, list[Op]] = defaultdict(list)
    for op in history:
        _validate(op)
        if op.kind == READ and op.complete is None:
            continue  # an unanswered read tells nothing
        by_key[op.key].append(op)
    return by_key


def _validate(op: Op) -> None:
    if op.kind not in (WRITE, READ):
        raise ValueError(f"op kind must be 'write' or 'read': {op}")
    if not math.isfinite(op.invoke):
        raise ValueError(f"op invoke time must be finite: {op}")
    if op.complete is not None and not (math.isfinite(op.complete) and op.complete >= op.invoke):
        raise ValueError(f"op must complete (finitely) no earlier than it was invoked: {op}")


# --------------------------------------------------------------------------- search


class _EventList:
    """Call and return events of definite ops as a doubly-linked list in time order.

    Entries are integers: 0 is the head sentinel, 1..2n the events, 2n+1 the tail
    sentinel. Ops are numbered in invoke order, so the first entry of the list is
    always the call of the lowest-numbered op not yet linearized.
    """

    HEAD = 0

    def __init__(self, ops: list[Op]):
        n = len(ops)
        events = sorted(
            [(op.invoke, 0, i) for i, op in enumerate(ops)]  # 0: call sorts first at a tie
            + [(op.complete, 1, i) for i, op in enumerate(ops)]
        )
        self.tail = 2 * n + 1
        self.nxt = list(range(1, 2 * n + 2)) + [self.tail]
        self.prv = [0] + list(range(0, 2 * n + 1))
        self.is_call = [False] * (2 * n + 2)
        self.time = [0.0] * (2 * n + 2)
        self.op_of = [-1] * (2 * n + 2)
        self.call_entry = [0] * n
        self.ret_entry = [0] * n
        for entry, (t, kind, i) in enumerate(events, start=1):
            self.time[entry] = t
            self.op_of[entry] = i
            if kind == 0:
                self.is_call[entry] = True
                self.call_entry[i] = entry
            else:
                self.ret_entry[i] = entry

    def empty(self) -> bool:
        return self.nxt[self.HEAD] == self.tail

    def lift(self, op: int) -> None:
        """Unlink both events of `op` (their own links are kept for `unlift`)."""
        nxt, prv = self.nxt, self.prv
        for e in (self.call_entry[op], self.ret_entry[op]):
            nxt[prv[e]] = nxt[e]
            prv[nxt[e]] = prv[e]

    def unlift(self, op: int) -> None:
        """Relink the events of the most recently lifted op, in reverse order."""
        nxt, prv = self.nxt, self.prv
        for e in (self.ret_entry[op], self.call_entry[op]):
            nxt[prv[e]] = e
            prv[nxt[e]] = e

    def first_return_after(self, entry: int) -> float:
        """Time of the first return event after `entry` (a call in the list).

        Nothing may be linearized later than this: that op would be overtaken.
        """
        e = self.nxt[entry]
        while self.is_call[e]:
            e = self.nxt[e]
        return self.time[e]


class _Search:
    """The Wing-Gong-Lowe search over the ops of one key."""

    def __init__(self, ops: list[Op], initial: str | None):
        definite = sorted((op for op in ops if op.complete is not None),
                          key=lambda op: (op.invoke, op.complete))
        self.events = _EventList(definite)
        self.is_write = [op.kind == WRITE for op in definite]
        self.values = [op.value for op in definite]
        self.initial = initial
        # Indeterminate writes, numbered in invoke order and grouped by value: any one
        # available write of a value is as good as another (none ever expires), so the
        # search only tries the earliest-invoked unused one.
        pending = sorted((op for op in ops if op.complete is None), key=lambda op: op.invoke)
        self.pending_invoke = [op.invoke for op in pending]
        self.pending_by_value: dict[str | None, list[int]] = defaultdict(list)
        for j, op in enumerate(pending):
            self.pending_by_value[op.value].append(j)

    def run(self, max_steps: int) -> tuple[str, int]:
        """Return (outcome, steps used)."""
        ev = self.events
        if ev.empty():
            return _OK, 0
        state = self.initial
        linearized = 0  # bitset of definite ops
        used = 0  # bitset of indeterminate writes consumed by compound moves
        stack: list[tuple[int, int, str | None]] = []  # (op, pending write or -1, old state)
        seen: set[tuple[int, int, int, str | None]] = set()
        entry = ev.nxt[ev.HEAD]
        steps = 0
        while True:
            steps += 1
            if steps > max_steps:
                return _UNDECIDED, steps
            if not ev.is_call[entry]:
                # A return of an op not linearized yet: undo the last choice.
                if not stack:
                    return _BAD, steps
                op, pend, state = stack.pop()
                ev.unlift(op)
                linearized ^= 1 << op
                if pend >= 0:
                    used ^= 1 << pend
                entry = ev.nxt[ev.call_entry[op]]
                continue
            op = ev.op_of[entry]
            move = self._try(op, entry, state, used)
            if move is None:
                entry = ev.nxt[entry]
                continue
            new_state, pend = move
            new_linearized = linearized | (1 << op)
            new_used = used | (1 << pend) if pend >= 0 else used
            ev.lift(op)
            if ev.empty():
                return _OK, steps
            key = self._cache_key(new_linearized, new_used, new_state)
            if key in seen:
                ev.unlift(op)
                entry = ev.nxt[entry]
                continue
            seen.add(key)
            stack.append((op, pend, state))
            state, linearized, used = new_state, new_linearized, new_used
            entry = ev.nxt[ev.HEAD]

    def _try(self, op: int, entry: int, state: str | None, used: int
             ) -> tuple[str | None, int] | None:
        """Linearize `op` now from `state`: (new state, pending write used or -1), or None."""
        value = self.values[op]
        if self.is_write[op]:
            return value, -1
        if value == state:
            return state, -1
        # Compound move: an indeterminate write of `value` takes effect just before the
        # read. It must have been invoked before anything still in the list returns.
        candidates = self.pending_by_value.get(value)
        if not candidates:
            return None
        deadline = self.events.first_return_after(entry)
        for j in candidates:
            if self.pending_invoke[j] > deadline:
                break
            if not (used >> j) & 1:
                return value, j
        return None

    def _cache_key(self, linearized: int, used: int, state: str | None
                   ) -> tuple[int, int, int, str | None]:
        """A compact, exact encoding of the configuration (linearized ops, used, state).

        All ops below the first one still in the list are linearized, so the bitset is
        stored as that op's number plus the bits above it: a few words, not n bits.
        """
        low = self.events.op_of[self.events.nxt[self.events.HEAD]]
        return linearized >> low, low, used, state


def _search_key(ops: list[Op], initial: str | None, max_steps: int) -> tuple[str, int]:
    return _Search(ops, initial).run(max_steps)


# --------------------------------------------------------------------------- explanation


def _prefix(ops: list[Op], cut: float) -> list[Op]:
    """The ops that matter for the history as it stood at time `cut`.

    Ops invoked later are left out, and so are reads still running at `cut`: they carry
    no information yet.
    """
    return [op for op in ops
            if op.invoke <= cut
            and (op.kind == WRITE or (op.complete is not None and op.complete <= cut))]


def _truncate(ops: list[Op], cut: float) -> list[Op]:
    """The history as it stood at time `cut`: writes still running are indeterminate."""
    return [op if op.complete is not None and op.complete <= cut else replace(op, complete=None)
            for op in _prefix(ops, cut)]


def _shortest_bad_prefix(ops: list[Op], initial: str | None, budget: int) -> tuple[float, bool]:
    """The earliest completion time `cut` whose truncation is not linearizable.

    A linearization of the whole history, cut at `cut`, linearizes its truncation, so
    failure is monotone in `cut` and a binary search over completion times finds it.
    Adding ops only between completions adds freedom, so completions are the only
    candidates. The searches share `budget` steps; returns (cut, exact) where exact is
    False if some search ran out of budget (the cut is then only an upper bound).
    """
    cuts = sorted({op.complete for op in ops if op.complete is not None})
    lo, hi = 0, len(cuts) - 1  # the truncation at the last completion is the whole history
    exact = True
    while lo < hi:
        mid = (lo + hi) // 2
        outcome, steps = _search_key(_truncate(ops, cuts[mid]), initial, budget)
        budget = max(0, budget - steps)
        if outcome == _BAD:
            hi = mid
        else:
            exact = exact and outcome == _OK
            lo = mid + 1
    return cuts[hi], exact


def _explain(key: str, ops: list[Op], cut: float, exact: bool) -> str:
    prefix = sorted(_prefix(ops, cut), key=lambda op: (op.invoke, op.process))
    what = "shortest" if exact else "a (budget-limited, maybe not shortest)"
    lines = [
        f"key {key!r} is not linearizable: {what} non-linearizable prefix has "
        f"{len(prefix)} ops (invoked by t={cut:.6f}, when the last of them completes)"
    ]
    shown = prefix[-EXPLAIN_MAX_OPS:]
    if len(shown) < len(prefix):
        lines.append(f"  ... {len(prefix) - len(shown)} earlier ops not shown")
    lines.extend("  " + _describe(op, cut) for op in shown)
    return "\n".join(lines)


def _describe(op: Op, cut: float) -> str:
    value = "absent" if op.value is None else repr(op.value)
    if op.complete is None:
        done = "indeterminate"
    elif op.complete > cut:
        done = f"{op.complete:.6f} (after the cut: may or may not have taken effect)"
    elif op.complete == cut:
        done = f"{op.complete:.6f}  <- completes at the cut"
    else:
        done = f"{op.complete:.6f}"
    return f"process {op.process} {op.kind:5} {value:12} invoke={op.invoke:.6f} complete={done}"


# --------------------------------------------------------------------------- command line


def load_jsonl(path: str) -> list[Op]:
    """Read a history: one JSON object per line with the `Op` fields."""
    history = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                complete = d.get("complete")
                history.append(Op(
                    process=int(d["process"]),
                    key=str(d["key"]),
                    kind=str(d["kind"]),
                    value=None if d.get("value") is None else str(d["value"]),
                    invoke=float(d["invoke"]),
                    complete=None if complete is None else float(complete),
                ))
            except KeyError as e:
                raise ValueError(f"{path}:{number}: missing field {e}") from e
            except (ValueError, TypeError, AttributeError) as e:
                raise ValueError(f"{path}:{number}: bad op: {e}") from e
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a register history for linearizability.")
    parser.add_argument("file", help="history, one JSON object per line with the Op fields")
    parser.add_argument("--initial", default=None, help="initial value of every key (default: absent)")
    parser.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, help="search budget per key")
    args = parser.parse_args(argv)
    try:
        verdict = check(load_jsonl(args.file), initial=args.initial, max_steps=args.max_steps)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if verdict.ok:
        print(f"linearizable=yes keys={verdict.keys_checked} ops={verdict.ops_checked}")
        return 0
    print(f"linearizable=no key={verdict.key}")
    print(verdict.explanation)
    return 1


if __name__ == "__main__":
    sys.exit(main())
