"""Tests of the linearizability checker: python3 -m pytest -q chaos/test_linearizable.py"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from linearizable import Op, Verdict, check  # noqa: E402

MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "linearizable.py")
INF = math.inf


def w(process: int, value: str | None, invoke: float, complete: float | None, key: str = "k") -> Op:
    return Op(process, key, "write", value, invoke, complete)


def r(process: int, value: str | None, invoke: float, complete: float | None, key: str = "k") -> Op:
    return Op(process, key, "read", value, invoke, complete)


def assert_ok(verdict: Verdict) -> None:
    assert verdict.ok, verdict.explanation
    assert not verdict.undecided
    assert verdict.key is None


def assert_bad(verdict: Verdict, key: str = "k") -> None:
    assert not verdict.ok
    assert not verdict.undecided, verdict.explanation
    assert verdict.key == key
    assert repr(key) in verdict.explanation


# --------------------------------------------------------------------------- examples


def test_empty_history_is_linearizable():
    v = check([])
    assert_ok(v)
    assert (v.keys_checked, v.ops_checked) == (0, 0)


def test_single_process_sequential_history_is_linearizable():
    h = [r(1, None, 0, 1), w(1, "a", 2, 3), r(1, "a", 4, 5), w(1, "b", 6, 7), r(1, "b", 8, 9),
         w(1, None, 10, 11), r(1, None, 12, 13)]
    v = check(h)
    assert_ok(v)
    assert (v.keys_checked, v.ops_checked) == (1, 7)


def test_stale_read_is_not_linearizable():
    h = [w(1, "a", 0, 1), r(2, None, 2, 3)]
    assert_bad(check(h))


def test_concurrent_read_may_see_old_or_new_value():
    for seen in (None, "a"):
        h = [w(1, "a", 0, 10), r(2, seen, 2, 3)]
        assert_ok(check(h))


def test_read_of_value_never_written_is_not_linearizable():
    h = [w(1, "a", 0, 10), r(2, "zzz", 2, 3), w(3, "b", 1, 4)]
    assert_bad(check(h))


def test_initial_value_is_what_an_early_read_sees():
    assert_ok(check([r(1, "init", 0, 1)], initial="init"))
    assert_bad(check([r(1, None, 0, 1)], initial="init"))


def test_indeterminate_write_that_took_effect():
    h = [w(1, "a", 0, 1), w(2, "x", 2, None), r(3, "x", 50, 51), r(1, "x", 60, 61)]
    assert_ok(check(h))


def test_read_before_indeterminate_write_cannot_see_it():
    h = [w(1, "a", 0, 1), r(3, "x", 2, 3), w(2, "x", 5, None)]
    assert_bad(check(h))


def test_indeterminate_write_that_never_took_effect():
    h = [w(1, "a", 0, 1), w(2, "x", 2, None), r(3, "a", 3, 4), r(1, "a", 50, 51),
         r(3, "a", 90, 91)]
    assert_ok(check(h))


def test_indeterminate_write_takes_effect_at_most_once():
    # x may appear at one point only: a, x, a, x needs two writes of x.
    h = [w(1, "a", 0, 1), w(2, "x", 2, None), r(3, "x", 3, 4), w(1, "a", 5, 6), r(3, "x", 7, 8)]
    assert_bad(check(h))
    assert_ok(check(h + [w(4, "x", 2.5, None)]))


def test_indeterminate_reads_are_dropped():
    h = [w(1, "a", 0, 1), r(2, "garbage", 2, None), r(3, "a", 3, 4)]
    v = check(h)
    assert_ok(v)
    assert v.ops_checked == 2


def test_new_old_inversion_is_not_linearizable():
    # During a long write of b, process 2 sees b, then (strictly later) process 3 sees a.
    h = [w(1, "a", 0, 1), w(1, "b", 2, 20), r(2, "b", 3, 4), r(3, "a", 5, 6)]
    assert_bad(check(h))
    # The other way round (old, then new) is fine.
    h = [w(1, "a", 0, 1), w(1, "b", 2, 20), r(2, "a", 3, 4), r(3, "b", 5, 6)]
    assert_ok(check(h))


def test_duplicate_values_are_allowed():
    # a, b, a: the second read of a needs the second write of a.
    h = [w(1, "a", 0, 1), r(2, "a", 2, 3), w(1, "b", 4, 5), r(2, "b", 6, 7),
         w(3, "a", 8, 9), r(2, "a", 10, 11)]
    assert_ok(check(h))
    assert_bad(check(h[:4] + h[5:]))


def test_touching_intervals_count_as_concurrent():
    # The read is invoked exactly when the write completes: they may be in either order.
    assert_ok(check([w(1, "a", 0, 1), r(2, None, 1, 2)]))
    assert_bad(check([w(1, "a", 0, 1), r(2, None, 1.000001, 2)]))


def test_one_bad_key_among_many_is_named():
    h = []
    for i in range(20):
        key = f"key{i:02}"
        h += [w(i, f"v{i}", 0, 1, key), r(i + 100, f"v{i}", 2, 3, key)]
    h[2 * 13 + 1] = r(113, None, 2, 3, "key13")  # stale read on key13 only
    v = check(h)
    assert_bad(v, "key13")
    assert "key07" not in v.explanation


def test_explanation_is_the_shortest_failing_prefix():
    h = [w(1, f"v{i}", 10 * i, 10 * i + 1) for i in range(50)]
    h.append(r(2, "v3", 302, 303))  # v30 is current: v3 is stale
    h += [r(2, f"v{i}", 10 * i + 2, 10 * i + 3) for i in range(31, 50)]
    v = check(h)
    assert_bad(v)
    # The prefix ends at the stale read: 31 writes + that read; the last 20 are listed.
    assert "prefix has 32 ops" in v.explanation
    assert "12 earlier ops not shown" in v.explanation
    assert "'v3'" in v.explanation and "302.000000" in v.explanation
    assert "completes at the cut" in v.explanation
    assert "'v31'" not in v.explanation  # nothing after the cut


def test_explanation_marks_ops_running_at_the_cut():
    h = [w(1, "a", 0, 1), w(2, "b", 2, 100), r(3, None, 3, 4), r(4, "b", 5, 6)]
    v = check(h)
    assert_bad(v)
    assert "after the cut" in v.explanation
    assert "'b'" in v.explanation
    assert "process 4" not in v.explanation  # the read of b completes after the cut


def test_invalid_ops_are_rejected():
    with pytest.raises(ValueError):
        check([Op(1, "k", "cas", "a", 0, 1)])
    with pytest.raises(ValueError):
        check([w(1, "a", 2, 1)])


def hard_history(n: int) -> list[Op]:
    """n fully concurrent writes of distinct values, then a read of a value never written."""
    h = [w(i, f"v{i}", 0, 10) for i in range(n)]
    return h + [r(n, "never", 11, 12)]


def test_budget_exhaustion_is_undecided():
    v = check(hard_history(12), max_steps=100)
    assert not v.ok and v.undecided
    assert v.key == "k"
    assert "undecided: step budget exhausted" in v.explanation
    assert_bad(check(hard_history(12)))  # decidable with the default budget


def test_bad_key_wins_over_undecided_key():
    hard = hard_history(12)  # key "k", sorted first
    bad = [w(1, "a", 0, 1, "z"), r(2, None, 2, 3, "z")]
    v = check(hard + bad, max_steps=100)
    assert_bad(v, "z")
    assert v.keys_checked == 2


def test_deep_history_needs_no_recursion():
    n = 5000
    h = []
    for i in range(n):
        h += [w(i % 7, f"v{i % 3}", 4 * i, 4 * i + 1.5), r(7 + i % 5, f"v{i % 3}", 4 * i + 2, 4 * i + 3)]
    assert_ok(check(h))
    h[-1] = r(1, "v9", 4 * n - 2, 4 * n - 1)  # the very last read fails: backtrack 10,000 deep
    v = check(h)
    assert_bad(v)
    assert "prefix has 10000 ops" in v.explanation


# --------------------------------------------------------------------------- random histories


def simulate(
    rng: random.Random, n_ops: int, processes: int, keys: list[str], values: list[str],
    p_indeterminate: float, gap: float, duration: float, initial: str | None = None,
) -> list[Op]:
    """A history of real linearizable registers.

    Each op takes effect at a random point inside [invoke, complete]. An indeterminate
    write takes effect at a random later time, or (half the time) never; an
    indeterminate read gets a garbage value that the checker must ignore.
    """
    free_at = [0.0] * processes
    clock = 0.0
    specs = []  # [process, key, kind, value, invoke, complete, effect time or None]
    for _ in range(n_ops):
        clock += rng.expovariate(1 / gap)
        p = rng.randrange(processes)
        invoke = max(clock, free_at[p])
        complete = invoke + rng.uniform(0.2, 1.0) * duration
        free_at[p] = complete
        effect: float | None = rng.uniform(invoke, complete)
        kind = rng.choice(("write", "read"))
        value = rng.choice(values) if kind == "write" else None
        if rng.random() < p_indeterminate:
            complete_seen = None
            if kind == "write":
                effect = invoke + rng.uniform(0, 10 * duration) if rng.random() < 0.5 else None
            else:
                effect, value = None, "garbage"
        else:
            complete_seen = complete
        specs.append([p, rng.choice(keys), kind, value, invoke, complete_seen, effect])
    register = {key: initial for key in keys}
    for spec in sorted((s for s in specs if s[6] is not None), key=lambda s: s[6]):
        if spec[2] == "write":
            register[spec[1]] = spec[3]
        else:
            spec[3] = register[spec[1]]
    return [Op(*spec[:6]) for spec in specs]


def can_observe(read: Op, value: str | None, history: list[Op], initial: str | None) -> bool:
    """False only if no linearization lets `read` return `value`.

    The read returns what the last write before it wrote. A write W of `value` cannot be
    that one if it starts after the read ends, or if some definite write B is forced
    between them (W.complete < B.invoke and B.complete < read.invoke). The initial value
    is a write at -infinity.
    """
    writes = [op for op in history if op.key == read.key and op.kind == "write"]
    sources = [(-INF, -INF)] if value == initial else []
    sources += [(op.invoke, INF if op.complete is None else op.complete)
                for op in writes if op.value == value]
    blockers = [op for op in writes if op.complete is not None]
    for invoke, complete in sources:
        if invoke > read.complete:
            continue
        if any(complete < b.invoke and b.complete < read.invoke for b in blockers):
            continue
        return True
    return False


def mutate_one_read(rng: random.Random, history: list[Op], values: list[str],
                    initial: str | None) -> tuple[list[Op], Op, bool] | None:
    """Change one definite read to a value it cannot observe.

    Prefer a value that is written somewhere (so the checker must reason about time);
    fall back to a value never written. Returns (history, new read, used a written value).
    """
    reads = [i for i, op in enumerate(history) if op.kind == "read" and op.complete is not None]
    if not reads:
        return None
    rng.shuffle(reads)
    for i in reads:
        op = history[i]
        choices = [v for v in values + [initial]
                   if v != op.value and not can_observe(op, v, history, initial)]
        if choices:
            new = Op(op.process, op.key, op.kind, rng.choice(choices), op.invoke, op.complete)
            return history[:i] + [new] + history[i + 1:], new, True
    i = reads[0]
    op = history[i]
    new = Op(op.process, op.key, op.kind, "never-written", op.invoke, op.complete)
    return history[:i] + [new] + history[i + 1:], new, False


def test_random_linearizable_histories_pass_and_mutations_fail():
    seeds = 300
    mutated = written_value_mutations = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        values = [f"v{i}" for i in range(rng.randint(2, 5))]
        initial = rng.choice([None, "v0"])
        history = simulate(
            rng, n_ops=rng.randint(5, 80), processes=rng.randint(1, 6),
            keys=["a", "b"][: rng.randint(1, 2)], values=values,
            p_indeterminate=rng.choice([0.0, 0.05, 0.2]), gap=1.0,
            duration=rng.choice([0.5, 2.0, 6.0]), initial=initial,
        )
        v = check(history, initial=initial)
        assert v.ok, f"seed {seed}: a linearizable history was rejected:\n{v.explanation}"
        m = mutate_one_read(rng, history, values, initial)
        if m is None:
            continue
        bad_history, bad_read, written = m
        v = check(bad_history, initial=initial)
        assert not v.ok and not v.undecided, f"seed {seed}: mutation {bad_read} was accepted"
        assert v.key == bad_read.key, f"seed {seed}: wrong key {v.key}"
        if seed % 3 == 0:  # the explanation's prefix is the shortest one (a slow oracle)
            expected = len(shortest_bad_prefix_by_scan(bad_history, bad_read.key, initial))
            assert f"prefix has {expected} ops" in v.explanation, f"seed {seed}:\n{v.explanation}"
        mutated += 1
        written_value_mutations += written
    # Make sure the mutations were mostly the subtle kind, not only never-written values.
    assert mutated > seeds * 0.9
    assert written_value_mutations > mutated * 0.5, (mutated, written_value_mutations)


def shortest_bad_prefix_by_scan(history: list[Op], key: str, initial: str | None) -> list[Op]:
    """The ops of `key` as they stood at the earliest completion time at which the
    history (running writes indeterminate, running reads dropped) is not linearizable."""
    mine = [op for op in history if op.key == key]
    for cut in sorted({op.complete for op in mine if op.complete is not None}):
        prefix = []
        for op in mine:
            if op.invoke > cut:
                continue
            if op.complete is not None and op.complete <= cut:
                prefix.append(op)
            elif op.kind == "write":
                prefix.append(Op(op.process, op.key, op.kind, op.value, op.invoke, None))
        if not check(prefix, initial=initial).ok:
            return prefix
    raise AssertionError("the whole history is linearizable")


def brute_force_ok(history: list[Op], initial: str | None) -> bool:
    """Linearizability by trying every order of every subset of indeterminate writes."""
    ops = [op for op in history if op.kind == "write" or op.complete is not None]
    for key in {op.key for op in ops}:
        mine = [op for op in ops if op.key == key]
        definite = [op for op in mine if op.complete is not None]
        pending = [op for op in mine if op.complete is None]
        subsets = itertools.chain.from_iterable(
            itertools.combinations(pending, k) for k in range(len(pending) + 1))
        if not any(_some_order_works(definite + list(s), initial) for s in subsets):
            return False
    return True


def _some_order_works(ops: list[Op], initial: str | None) -> bool:
    def end(op: Op) -> float:
        return INF if op.complete is None else op.complete

    def extend(left: list[Op], state: str | None) -> bool:
        if not left:
            return True
        for op in left:
            # op may go next unless another remaining op ended strictly before it began
            if any(end(o) < op.invoke for o in left if o is not op):
                continue
            if op.kind == "read" and op.value != state:
                continue
            rest = [o for o in left if o is not op]
            if extend(rest, op.value if op.kind == "write" else state):
                return True
        return False

    return extend(ops, initial)


def test_agrees_with_brute_force_on_small_histories():
    outcomes = {True: 0, False: 0}
    for seed in range(600):
        rng = random.Random(seed)
        history = []
        for _ in range(rng.randint(1, 7)):
            invoke = rng.randint(0, 8)  # a coarse grid: many ties
            complete = invoke + rng.randint(0, 4) if rng.random() > 0.2 else None
            kind = rng.choice(("write", "read"))
            value = rng.choice(["a", "b", None]) if kind == "read" else rng.choice(["a", "b"])
            history.append(Op(rng.randrange(3), "k", kind, value, invoke, complete))
        expected = brute_force_ok(history, None)
        v = check(history)
        assert v.ok == expected, f"seed {seed}: brute force says {expected}:\n{history}\n{v.explanation}"
        outcomes[expected] += 1
    assert min(outcomes.values()) > 100, outcomes


def test_performance_2000_ops_10_processes():
    rng = random.Random(2024)
    history = simulate(rng, n_ops=2000, processes=10, keys=["k"], values=[f"v{i}" for i in range(5)],
                       p_indeterminate=0.05, gap=1.0, duration=3.0)
    start = time.perf_counter()
    v = check(history)
    elapsed = time.perf_counter() - start
    print(f"\nperformance: {v.ops_checked} ops, 10 processes, one key: {elapsed:.3f} s")
    assert v.ok, v.explanation


# --------------------------------------------------------------------------- command line


def write_jsonl(path, history: list[Op]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for op in history:
            f.write(json.dumps(op.__dict__) + "\n")


def run_cli(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, MODULE, str(path)], capture_output=True, text=True,
                          timeout=60)


def test_cli_linearizable(tmp_path):
    path = tmp_path / "good.jsonl"
    write_jsonl(path, [w(1, "a", 0, 1), r(2, "a", 2, 3), w(1, "b", 0, 1, "other"),
                       r(2, "garbage", 2, None, "other")])
    out = run_cli(path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "linearizable=yes keys=2 ops=3\n"


def test_cli_not_linearizable(tmp_path):
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, [w(1, "a", 0, 1, "fine"), w(1, "a", 0, 1, "stale"), r(2, None, 2, 3, "stale")])
    out = run_cli(path)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "linearizable=no key=stale"
    assert "not linearizable" in lines[1] and len(lines) == 4


def test_cli_malformed_file(tmp_path):
    path = tmp_path / "malformed.jsonl"
    path.write_text('{"process": 1, "kind": "write", "value": "a", "invoke": 0, "complete": 1}\n')
    out = run_cli(path)
    assert out.returncode == 2
    assert "missing field 'key'" in out.stderr
