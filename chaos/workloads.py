"""What the clients do during a chaos run, and what they saw.

Policy: clients write and read registers (the e-mail of users `user:chaos-<k>`) through
random nodes, reads with `?consistent=true`; every call is recorded with its invoke and
complete times for the linearizability checker. Quota: clients send chat completions
through haproxy against capped tokens; every answer is recorded for the cap checker.
"""
from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass

from linearizable import Op
from procs import Cluster, call, http


class Clients:
    """`clients` threads running `_client(index)` until `stop`."""
    clients: int

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.clients):
            thread = threading.Thread(target=self._client, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _client(self, index: int) -> None:
        raise NotImplementedError


def key_id(key: int) -> str:
    return f"user:chaos-{key}"


class PolicyWorkload(Clients):
    """`clients` threads doing reads and writes on `keys` registers until stopped."""

    def __init__(self, cluster: Cluster, seed: int, clients: int = 6, keys: int = 8, timeout: float = 5.0):
        super().__init__()
        self.cluster, self.seed, self.clients, self.keys, self.timeout = cluster, seed, clients, keys, timeout
        self.history: list[Op] = []
        self.acknowledged = 0
        self.stale_reads = False  # a planted bug: reads without ReadIndex

    def _client(self, process: int) -> None:
        dice = random.Random(self.seed * 1_000 + process)
        sequence = 0
        while not self.stopping.is_set():
            key = dice.randrange(self.keys)
            node = dice.randrange(1, self.cluster.count + 1)
            if dice.random() < 0.5:
                sequence += 1
                self.write(process, node, key, f"p{process}-{sequence}@chaos.example")
            else:
                self.read(process, node, key)
            time.sleep(dice.uniform(0.005, 0.03))

    def write(self, process: int, node: int, key: int, value: str) -> None:
        invoke = time.monotonic()
        code, _ = http("POST", self.cluster.url(node, "/admin/api/users"), self.cluster.token,
                       {"id": key_id(key), "email": value}, timeout=self.timeout)
        complete = time.monotonic()
        # Anything but 200 may still take effect later (a proposal forwarded before a
        # partition, a commit whose answer was lost): indeterminate, not failed.
        op = Op(process, str(key), "write", value, invoke, complete if code == 200 else None)
        with self.lock:
            self.history.append(op)
            self.acknowledged += code == 200

    def read(self, process: int, node: int, key: int) -> str | None | bool:
        """The value read, None if absent; False when there was no answer."""
        invoke = time.monotonic()
        query = "" if self.stale_reads else "?consistent=true"
        code, body = http("GET", self.cluster.url(node, f"/admin/api/users/{key_id(key)}{query}"), self.cluster.token,
                          timeout=self.timeout)
        complete = time.monotonic()
        if code == 200 and isinstance(body, dict):
            value = body.get("email")
        elif code == 404:
            value = None
        else:
            return False  # a read without an answer says nothing
        with self.lock:
            self.history.append(Op(process, str(key), "read", value, invoke, complete))
        return value


def go_duration(text: str | None) -> float | None:
    """Seconds in a duration as Go prints it (`120ms`, `8.5s`, `1m0s`, `720h0m0s`); None
    for none or a malformed one."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?|(\d+)ms", text or "")
    if not text or not match:
        return None
    hours, minutes, seconds, milliseconds = match.groups()
    if milliseconds is not None:
        return int(milliseconds) / 1000
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


@dataclass
class Answer:
    token: int
    sent: float       # wall-clock seconds: quota windows are aligned to the epoch
    received: float
    status: int
    node: int = 0     # the node that answered (`x-weir-node`), 0 when unknown
    reset: float | None = None  # `x-ratelimit-reset-<unit>` in seconds: the charged window's end, from the head
    tokens: int = 0     # the tokens the provider reported (`usage.total_tokens`), for an admission
    estimate: int = 0   # the tokens the node reserved for it, as the node estimates them


@dataclass(frozen=True)
class Cap:
    name: str
    period: str
    seconds: int
    max_requests: int = 0
    max_tokens: int = 0  # a token cap when set (then max_requests is 0)

    @property
    def unit(self) -> str:
        return "tokens" if self.max_tokens else "requests"

    @property
    def limit(self) -> int:
        return self.max_tokens or self.max_requests


CAPS = (Cap("chaos-10s", "10s", 10, max_requests=40), Cap("chaos-minute", "minute", 60, max_requests=150),
        Cap("chaos-tokens", "10s", 10, max_tokens=1000))
PROMPT = "x"
MAX_TOKENS = 16  # mockllm answers at most this many; with the prompt, within the node's estimate


def estimate(prompt: str = PROMPT, max_tokens: int = MAX_TOKENS) -> int:
    """The tokens a node reserves for a chat request: the prompt at four bytes a token,
    rounded up (at least 1), plus `max_tokens` (`TokenEstimate` in the gateway)."""
    return max(1, (len(prompt.encode()) + 3) // 4) + max_tokens


class QuotaWorkload(Clients):
    """Clients through haproxy, alternating between one token per cap, at about `rate`
    requests a second in all: several times every cap."""

    def __init__(self, cluster: Cluster, seed: int, clients: int = 6, rate: float = 30.0):
        super().__init__()
        self.cluster, self.seed, self.clients, self.rate = cluster, seed, clients, rate
        self.secrets: list[str] = []
        self.answers: list[Answer] = []

    def prepare(self) -> None:
        """One token per cap, each cap on the token lane; applied everywhere before load."""
        token = self.cluster.token
        for cap in CAPS:
            code, issued = http("POST", self.cluster.url(1, "/admin/api/tokens"), token,
                                {"principal": "human:admin", "name": cap.name})
            if code not in (200, 201):
                raise RuntimeError(f"issuing a token: {code} {issued}")
            quota = {"lane": "token", "subject": issued["token"]["id"], "name": cap.name, "period": cap.period,
                     f"max_{cap.unit}": cap.limit}
            code, body = http("POST", self.cluster.url(1, "/admin/api/quotas"), token, quota)
            if code not in (200, 201):
                raise RuntimeError(f"creating quota {cap.name}: {code} {body}")
            self.secrets.append(issued["secret"])
        for node in range(1, self.cluster.count + 1):
            http("GET", self.cluster.url(node, "/admin/api/quotas?consistent=true"), token)

    def _client(self, client: int) -> None:
        pause = self.clients / self.rate
        turn = client
        while not self.stopping.is_set():
            cap = turn % len(CAPS)
            turn += 1
            sent = time.time()
            code, body, headers = call("POST", self.cluster.balancer("/v1/chat/completions"), self.secrets[cap],
                                       {"model": "gpt-4o-mini", "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": PROMPT}]},
                                       timeout=10)
            received = time.time()
            node = int(headers.get("x-weir-node", "0") or 0) if headers.get("x-weir-node", "").isdigit() else 0
            with self.lock:
                usage = body.get("usage") if isinstance(body, dict) else None
                # A cache hit is charged one request and no tokens, whatever usage it replays.
                cached = headers.get("x-weir-cache") == "hit"
                tokens = usage.get("total_tokens", 0) if isinstance(usage, dict) and code == 200 and not cached else 0
                self.answers.append(Answer(cap, sent, received, code, node, go_duration(headers.get(f"x-ratelimit-reset-{CAPS[cap].unit}")),
                                           tokens if isinstance(tokens, int) else 0, estimate()))
            time.sleep(max(0.0, pause - (received - sent)))
