"""The chaos cluster's network: one namespace per node, joined by a bridge.

Each node runs in a network namespace of its own with one address on a bridge in the
harness's namespace (10.199.<net>.<10+i>), where haproxy, mockllm and the clients stay.
A link between two nodes is cut with blackhole routes inside their namespaces, so the
harness can partition peers while every node stays reachable from the clients: a
partitioned node goes on answering HTTP, as a real one would. `tc netem` does not work on
this platform; iproute2's namespaces, veth pairs, bridges and blackhole routes do.

A route is per direction; a one-way cut (a route on one side only) still breaks TCP both
ways, since the answers of the other side are lost. So every partition here is a set of
cut links: symmetric splits, one node isolated, and bridges (non-transitive cuts, where
A and C cannot talk but both talk to B).
"""
from __future__ import annotations

import subprocess


def run(*args: str) -> None:
    """Runs an `ip` command; raises with its output if it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Network:
    """A bridge `wcb<net>` and namespaces `wc<net>n<i>` for nodes 1…count."""

    def __init__(self, net: int, count: int) -> None:
        if not 1 <= net <= 250:
            raise ValueError("net must be 1…250")
        self.net, self.count = net, count
        self.bridge = f"wcb{net}"
        self.cuts: set[tuple[int, int]] = set()

    @property
    def host(self) -> str:
        """The harness's own address on the bridge."""
        return f"10.199.{self.net}.1"

    def address(self, node: int) -> str:
        return f"10.199.{self.net}.{10 + node}"

    def namespace(self, node: int) -> str:
        return f"wc{self.net}n{node}"

    def create(self) -> None:
        self.destroy()
        run("link", "add", "name", self.bridge, "type", "bridge")
        run("addr", "add", f"{self.host}/24", "dev", self.bridge)
        run("link", "set", self.bridge, "up")
        for node in range(1, self.count + 1):
            ns, outside = self.namespace(node), f"wc{self.net}h{node}"
            run("netns", "add", ns)
            run("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("link", "set", outside, "master", self.bridge, "up")
            run("-n", ns, "addr", "add", f"{self.address(node)}/24", "dev", "eth0")
            run("-n", ns, "link", "set", "eth0", "up")
            run("-n", ns, "link", "set", "lo", "up")

    def destroy(self) -> None:
        """Removes whatever of this network exists (safe to call twice, or after a crash)."""
        for node in range(1, self.count + 1):
            subprocess.run(["ip", "netns", "del", self.namespace(node)], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        self.cuts.clear()

    def cut(self, a: int, b: int) -> None:
        """Cuts the link from a to b (a's packets to b are dropped)."""
        if (a, b) not in self.cuts:
            run("-n", self.namespace(a), "route", "add", "blackhole", f"{self.address(b)}/32")
            self.cuts.add((a, b))

    def heal(self) -> None:
        """Restores every link."""
        for a, b in sorted(self.cuts):
            run("-n", self.namespace(a), "route", "del", "blackhole", f"{self.address(b)}/32")
        self.cuts.clear()

    def partition(self, groups: list[set[int]], bridge: int | None = None) -> None:
        """Cuts every link between different groups, both ways; `bridge` (a node in no
        group) keeps its links to all of them."""
        for a in range(1, self.count + 1):
            for b in range(1, self.count + 1):
                if a == b or bridge in (a, b):
                    continue
                if next(i for i, g in enumerate(groups) if a in g) != next(i for i, g in enumerate(groups) if b in g):
                    self.cut(a, b)

    def exec_prefix(self, node: int) -> list[str]:
        """What runs a command inside node's namespace."""
        return ["ip", "netns", "exec", self.namespace(node)]


def available() -> str | None:
    """None when namespaces work here, else why not."""
    probe = Network(250, 1)
    try:
        probe.create()
        return None
    except (RuntimeError, FileNotFoundError) as error:
        return str(error)
    finally:
        probe.destroy()
