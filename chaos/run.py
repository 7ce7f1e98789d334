#!/usr/bin/env python3
"""One chaos run: a real cluster, a seeded schedule of faults, clients, and the checkers.

    sudo python3 chaos/run.py --seed 7 --duration 60          # see docs/reliability.md

Prints one summary line; exits 0 when nothing was lost, the policy history is
linearizable and no cap window admitted more than its cap. On failure the run's folder
(schedule, history, answers, every node's log) is kept and named.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import linearizable  # noqa: E402
from checks import check_caps  # noqa: E402
from faults import KINDS, Injector, schedule  # noqa: E402
from net import Network, available  # noqa: E402
from procs import FAKETIME, FIU_PRELOAD, Cluster, http, wait_until  # noqa: E402
from workloads import PolicyWorkload, QuotaWorkload  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAIL_STOP_STATUS = 74  # a node's exit status when its disk fails (Sources/Node/FailStop.swift)
DISK_MB = 1024  # each node's tmpfs data directory when the disk-full fault is drawn (RocksDB preallocates ~70 MB a log)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1, help="the first seed")
    parser.add_argument("--runs", type=int, default=1, help="runs, with seeds seed, seed+1, …")
    parser.add_argument("--duration", type=float, default=60, help="seconds of faults (default 60)")
    parser.add_argument("--nodes", type=int, default=3, choices=(3, 5))
    parser.add_argument("--build", default="debug", choices=("debug", "release"))
    parser.add_argument("--out", default=None, help="where each run's folder seed-N goes (default .build/chaos)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="fault kinds to draw from")
    parser.add_argument("--plant", default="none", choices=("none", "stale-reads", "half-cap"),
                        help="a planted bug, to show the checkers catch it")
    parser.add_argument("--keep", action="store_true", help="keep the folder of a passing run")
    parser.add_argument("--skew-ms", type=int, default=None,
                        help="one node's wall clock this far ahead (negative: behind), through libfaketime; "
                             "default: a node and 250 to 1500 ms either way drawn from the seed; 0: none")
    parser.add_argument("--skip-without-root", action="store_true",
                        help="exit 0, saying so, where namespaces cannot be made (not root)")
    return parser.parse_args()


def binaries(build: str) -> tuple[str, str]:
    folder = os.path.join(ROOT, ".build", build)
    weir, mock = os.path.join(folder, "weir"), os.path.join(folder, "mockllm")
    for path in (weir, mock):
        if not os.access(path, os.X_OK):
            sys.exit(f"chaos: {path} is missing; build it first (swift build{' -c release' if build == 'release' else ''})")
    return weir, mock


def run_schedule(cluster: Cluster, faults, log) -> list[tuple[float, float]]:
    """Plays the faults; returns their (start, end) wall times."""
    injector, windows, began = Injector(cluster), [], time.monotonic()
    try:
        for fault in faults:
            time.sleep(max(0.0, began + fault.at - time.monotonic()))
            start = time.time()
            log.write(f"{fault.describe()}: ")  # before it starts: a fault that fails to start is named
            log.flush()
            what = injector.begin(fault)
            log.write(f"{what}\n")
            log.flush()
            time.sleep(fault.duration)
            if note := injector.end():
                log.write(f"  {note}\n")
            windows.append((start, time.time()))
            for node in cluster.crashed():
                # A node whose disk failed may stop (74) on a write it began before the heal.
                if node in injector.disk_failed and cluster.nodes[node].returncode == FAIL_STOP_STATUS:
                    cluster.start_node(node)
                    log.write(f"  n{node} stopped late on its failed disk (exit status 74); restarted\n")
            if crashed := cluster.crashed():
                raise RuntimeError(f"nodes {crashed} exited on their own during {fault.describe()}")
    except BaseException:
        injector.abandon()
        raise
    return windows


def recover(cluster: Cluster, healed: float) -> float:
    """Seconds from `healed` (the last fault's end, monotonic) until every node is ready,
    takes a write, and every member has applied the same index (asked with the clients
    stopped, so the index can settle)."""
    nodes = range(1, cluster.count + 1)
    wait_until("every node ready after the last fault", lambda: all(cluster.ready(n) for n in nodes), 60)
    for node in nodes:
        wait_until(f"a write through n{node}", lambda: http(
            "POST", cluster.url(node, "/admin/api/users"), cluster.token, {"id": "user:chaos-probe", "email": f"probe{node}@chaos.example"})[0] == 200, 60)

    def settled() -> bool:
        members = cluster.status(1).get("members", [])
        applied = [(m.get("report") or {}).get("applied") for m in members]
        return len(members) == cluster.count and None not in applied and len(set(applied)) == 1
    wait_until("every member at the same applied index", settled, 60)
    return time.monotonic() - healed


def final_reads(cluster: Cluster, policy: PolicyWorkload) -> tuple[int, int]:
    """Reads every key on every node into the history (retried until answered, 30 s at
    most). Returns (lost, unanswered): keys written with an acknowledgement that a node
    does not have at all, and reads no node answered."""
    acknowledged = {op.key for op in policy.history if op.kind == "write" and op.complete is not None}
    lost = unanswered = 0
    for node in range(1, cluster.count + 1):
        for key in range(policy.keys):
            deadline, value = time.monotonic() + 30, False
            while value is False and time.monotonic() < deadline:
                value = policy.read(900 + node, node, key)
                if value is False:
                    time.sleep(0.2)
            unanswered += value is False
            lost += str(key) in acknowledged and value is None
    return lost, unanswered


def main() -> int:
    args = arguments()
    if os.geteuid() != 0 or (why := available()):
        print(f"chaos: needs root and network namespaces (ip netns): {'not root' if os.geteuid() else why}")
        if args.skip_without_root:
            print("chaos: SKIPPED: no run was made")
            return 0
        return 2
    unknown = set(args.kinds.split(",")) - set(KINDS)
    if unknown:
        print(f"chaos: unknown fault kinds {sorted(unknown)}; the kinds are {','.join(KINDS)}")
        return 2
    if "disk-fail" in args.kinds.split(",") and not os.path.exists(FIU_PRELOAD[-1]):
        print("chaos: the disk-fail fault needs libfiu (Debian's fiu-utils; make deps installs it)")
        return 2
    weir, mock = binaries(args.build)
    # A SIGTERM (a CI timeout) unwinds like Ctrl-C, so every process and namespace goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failed, began = [], time.monotonic()
    for seed in range(args.seed, args.seed + args.runs):
        if not one_run(args, seed, weir, mock):
            failed.append(seed)
    if args.runs > 1:
        print(f"chaos runs={args.runs} failed={len(failed)} seeds_failed={failed or '-'} minutes={(time.monotonic() - began) / 60:.1f}")
    return 1 if failed else 0


def one_run(args: argparse.Namespace, seed: int, weir: str, mock: str) -> bool:
    """One seed's run; prints its summary line; True when every checker passed."""
    base = os.path.abspath(args.out or os.path.join(ROOT, ".build", "chaos"))
    out = os.path.join(base, f"seed-{seed}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    network = Network(20 + (os.getpid() + seed) % 200, args.nodes)
    cluster = Cluster(network, weir, mock, out, args.nodes, disk_mb=DISK_MB if "disk-full" in args.kinds.split(",") else 0,
                      fiu="disk-fail" in args.kinds.split(","))
    faults = schedule(seed, args.duration, args.nodes, tuple(args.kinds.split(",")))
    policy, quota = PolicyWorkload(cluster, seed), QuotaWorkload(cluster, seed)
    policy.stale_reads = args.plant == "stale-reads"
    cluster.skews = skew(args, seed)
    summary, ok = {}, False
    try:
        network.create()
        cluster.start()
        quota.prepare()
        policy.start()
        quota.start()
        with open(f"{out}/schedule.txt", "w") as log:
            fault_times = run_schedule(cluster, faults, log)
        healed = time.monotonic()
        time.sleep(1)  # the clients see the healed cluster for a moment
        policy.stop()
        quota.stop()
        recovery = recover(cluster, healed)
        lost, unanswered = final_reads(cluster, policy)
        verdict = linearizable.check(policy.history)
        caps = check_caps(quota.answers, fault_times, half=args.plant == "half-cap", skews=cluster.skews)
        evidence = policy.acknowledged > 0 and not caps.unexercised
        ok = lost == 0 and unanswered == 0 and verdict.ok and caps.overshoot == 0 and evidence and not cluster.crashed()
        summary = {
            "seed": seed, "nodes": args.nodes, "faults": len(faults),
            "skew": ",".join(f"n{n}:{s:+.3f}s" for n, s in cluster.skews.items()) or "none", "ops": len(policy.history),
            "acked": policy.acknowledged, "lost": lost, "unanswered": unanswered,
            "linearizable": "yes" if verdict.ok else ("undecided" if verdict.undecided else "no"),
            "quota_answers": len(quota.answers), "admitted": caps.admitted, "cap_overshoot": caps.overshoot,
            "admitted_min_pct": round(caps.admitted_min_pct, 1) if caps.saturated_windows else "n/a",
            "quiet_min_pct": round(caps.quiet_min_pct, 1) if caps.quiet_windows else "n/a",
            "windows": caps.saturated_windows, "recovery_s": round(recovery, 1),
        }
        if caps.unexercised:
            summary["unexercised"] = ",".join(caps.unexercised)
        save(out, policy, quota, verdict, caps)
        if not verdict.ok:
            print(f"chaos: not linearizable: {verdict.explanation[:2000]}")
        if caps.overshoot:
            print(f"chaos: cap overshoot: {caps.worst}")
    except Exception as error:  # the summary says what broke; the folder has the rest
        summary = {"seed": seed, "error": f"{type(error).__name__}: {error}"}
        with open(os.path.join(out, "error.txt"), "w") as file:
            traceback.print_exc(file=file)
    finally:
        policy.stopping.set()
        quota.stopping.set()
        cluster.close()
        network.destroy()
    print("chaos " + " ".join(f"{k}={v}" for k, v in summary.items()), flush=True)
    if ok and not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    elif not ok:
        print(f"chaos: the run's schedule, history and node logs are in {out}")
    return ok


def skew(args: argparse.Namespace, seed: int) -> dict[int, float]:
    """Which node's clock is off, and by how many seconds."""
    if args.skew_ms == 0 or not os.path.exists(FAKETIME):
        return {}
    dice = random.Random(seed * 31 + 17)
    node = dice.randrange(1, args.nodes + 1)
    if args.skew_ms is not None:
        return {node: args.skew_ms / 1000}
    return {node: dice.choice((-1, 1)) * dice.uniform(0.25, 1.5)}


def save(out: str, policy: PolicyWorkload, quota: QuotaWorkload, verdict, caps) -> None:
    with open(f"{out}/history.jsonl", "w") as file:
        for op in policy.history:
            file.write(json.dumps(dataclasses.asdict(op)) + "\n")
    with open(f"{out}/answers.jsonl", "w") as file:
        for answer in quota.answers:
            file.write(json.dumps(dataclasses.asdict(answer)) + "\n")
    with open(f"{out}/verdict.txt", "w") as file:
        file.write(f"{verdict.explanation}\n{caps.worst}\n")


if __name__ == "__main__":
    sys.exit(main())
