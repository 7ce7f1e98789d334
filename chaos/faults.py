"""A seeded schedule of faults, and how each is done and undone.

One fault at a time: it starts, lasts `duration` seconds, heals, and the cluster gets a
quiet `gap` before the next. Every kind below is replayed exactly from the seed (which
node, how long); only "the leader" is resolved when the fault starts.
"""
from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass

from procs import Cluster

KINDS = ("kill", "pause", "isolate", "isolate-leader", "split", "bridge", "one-way", "drain-rejoin", "remove-rejoin", "disk-full",
         "disk-fail")


@dataclass
class Fault:
    at: float        # seconds after the schedule starts
    kind: str
    duration: float
    node: int        # the node it concerns (for split: the dice for the minority)
    other: int = 0   # one-way: the far end; bridge: the bridge node

    def describe(self) -> str:
        extra = f"->{self.other}" if self.kind == "one-way" else (f" via {self.other}" if self.kind == "bridge" else "")
        return f"+{self.at:.1f}s {self.kind} n{self.node}{extra} for {self.duration:.1f}s"


def schedule(seed: int, seconds: float, count: int, kinds: tuple[str, ...] = KINDS) -> list[Fault]:
    """Faults filling `seconds`: each 1.5–6 s (longer than an election timeout), gaps 1–4 s."""
    dice = random.Random(seed)
    faults, at = [], dice.uniform(1, 3)
    while True:
        duration = dice.uniform(1.5, 6)
        if at + duration > seconds:
            return faults
        kind = dice.choice(kinds)
        node = dice.randrange(1, count + 1)
        other = dice.choice([n for n in range(1, count + 1) if n != node])
        faults.append(Fault(at, kind, duration, node, other))
        at += duration + dice.uniform(1, 4)


class Injector:
    """Starts and heals faults on a cluster; `active` says what is on now."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.active: Fault | None = None
        self.target = 0
        self.disk_failed: set[int] = set()  # nodes whose disk failed: a late stop (74) is the fault's

    def begin(self, fault: Fault) -> str:
        """Starts `fault`; returns what was done (with the leader resolved)."""
        cluster, network = self.cluster, self.cluster.network
        self.target = fault.node
        what = self._begin(fault, cluster, network)
        self.active = fault  # only now: a fault that failed half-way is not "ended" by redoing its other half
        return what

    def _begin(self, fault: Fault, cluster: Cluster, network) -> str:
        if fault.kind == "kill":
            cluster.kill(fault.node)
        elif fault.kind == "pause":
            cluster.pause(fault.node)
        elif fault.kind in ("isolate", "isolate-leader"):
            if fault.kind == "isolate-leader":
                self.target = cluster.leader() or fault.node
            network.partition([{self.target}, set(range(1, cluster.count + 1)) - {self.target}])
        elif fault.kind == "split":
            nodes = list(range(1, cluster.count + 1))
            random.Random(fault.node * 7919 + int(fault.at * 1000)).shuffle(nodes)
            minority = set(nodes[: (cluster.count - 1) // 2])
            network.partition([minority, set(nodes) - minority])
            return f"split {sorted(minority)} | {sorted(set(nodes) - minority)}"
        elif fault.kind == "bridge":
            rest = [n for n in range(1, cluster.count + 1) if n != fault.other]
            half = len(rest) // 2
            network.partition([set(rest[:half]), set(rest[half:])], bridge=fault.other)
        elif fault.kind == "one-way":
            network.cut(fault.node, fault.other)
        elif fault.kind == "drain-rejoin":
            cluster.drain(fault.node, via=fault.other)
            cluster.kill(fault.node)
            cluster.wipe(fault.node)
        elif fault.kind == "disk-full":
            return f"disk-full n{fault.node} ({cluster.fill_disk(fault.node) // 1024} KiB taken)"
        elif fault.kind == "disk-fail":
            self.disk_failed.add(fault.node)
            cluster.fail_syncs(fault.node)
        elif fault.kind == "remove-rejoin":
            cluster.kill(fault.node)
            cluster.remove(fault.node, via=fault.other)
            cluster.wipe(fault.node)
        return f"{fault.kind} n{self.target}" + (f" (-> n{fault.other})" if fault.kind in ("one-way", "bridge") else "")

    def abandon(self) -> None:
        """After an error: every link restored and every paused node resumed; nothing started."""
        self.active = None
        self.cluster.network.heal()
        for node in list(self.cluster.paused):
            self.cluster.resume(node)

    def end(self) -> str:
        """Heals the active fault: links restored, the paused resumed, the killed restarted,
        the full disk freed. Returns what the fault did to the node beyond the fault itself."""
        fault, self.active = self.active, None
        if fault is None:
            return ""
        self.cluster.network.heal()
        if fault.kind in ("disk-full", "disk-fail"):
            wait = 1.0
            if fault.kind == "disk-full":
                self.cluster.free_disk(fault.node)
            elif not self.cluster.stopped(fault.node, within=1):
                try:
                    self.cluster.fail_syncs(fault.node, failing=False)
                except subprocess.TimeoutExpired:
                    wait = 10.0  # it is stopping, and no one read the control pipe
            if self.cluster.stopped(fault.node, within=wait):
                # A node that cannot make its log durable stops (docs/reliability.md,
                # exit status 74): restarted once the disk works.
                status = self.cluster.nodes[fault.node].returncode
                self.cluster.start_node(fault.node)
                return f"n{fault.node} stopped on the failing disk (exit status {status}); restarted"
        elif fault.kind == "pause":
            self.cluster.resume(fault.node)
        elif fault.kind == "kill":
            self.cluster.start_node(fault.node)
        elif fault.kind in ("drain-rejoin", "remove-rejoin"):
            self.cluster.rejoin(fault.node, via=fault.other)
        return ""
