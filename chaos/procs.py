"""The processes of a chaos run: weir nodes in their namespaces, haproxy and mockllm.

Everything started here is stopped by `Cluster.close`, which the runner calls on success,
failure and Ctrl-C alike; a node's log goes to `<out>/n<i>.log` and survives the run.
"""
from __future__ import annotations

from http.client import HTTPException
import errno
import json
import os
import select
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from net import Network

HTTP_PORT = 8080
PEER_PORT = 7080


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def http(method: str, url: str, token: str | None = None, body: object | None = None,
         timeout: float = 5.0) -> tuple[int, object]:
    """One HTTP call; (status, parsed JSON or text). Status 0: no answer (timeout, reset)."""
    code, parsed, _ = call(method, url, token, body, timeout)
    return code, parsed


def call(method: str, url: str, token: str | None = None, body: object | None = None,
         timeout: float = 5.0) -> tuple[int, object, dict[str, str]]:
    """`http`, with the answer's headers (lower-cased names)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, _parse(answer.read()), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, _parse(error.read()), {k.lower(): v for k, v in error.headers.items()}
    except (OSError, urllib.error.URLError, HTTPException):
        return 0, None, {}  # no answer, or a cut one (a node killed mid-answer)


def _parse(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def wait_until(what: str, condition, within: float, every: float = 0.1) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within:.0f} s")
        time.sleep(every)


@dataclass
class Cluster:
    """`count` weir nodes n1… in `network`, haproxy on the harness side, mockllm upstream."""
    network: Network
    binary: str
    mockllm: str
    out: str
    count: int = 3
    environment: dict[str, str] = field(default_factory=dict)
    nodes: dict[int, subprocess.Popen] = field(default_factory=dict)
    paused: set[int] = field(default_factory=set)
    skews: dict[int, float] = field(default_factory=dict)  # node → seconds its wall clock is ahead (libfaketime)
    helpers: list[subprocess.Popen] = field(default_factory=list)
    balancer_port: int = 0
    mock_port: int = 0
    disk_mb: int = 0  # >0: each node's data directory is a tmpfs of this size, so a disk can fill
    fiu: bool = False  # nodes run under libfiu's POSIX preload, so their fsyncs can be made to fail
    mounted: list[str] = field(default_factory=list)

    def url(self, node: int, path: str) -> str:
        return f"http://{self.network.address(node)}:{HTTP_PORT}{path}"

    def balancer(self, path: str) -> str:
        return f"http://127.0.0.1:{self.balancer_port}{path}"

    admin_token: str = ""

    @property
    def token(self) -> str:
        return self.admin_token

    # Start and stop

    def start(self) -> None:
        os.makedirs(self.out, exist_ok=True)
        if self.disk_mb:
            for node in range(1, self.count + 1):
                self._mount_disk(node)
        for name in ("cluster.secret", "kek.key"):
            with open(f"{self.out}/{name}", "w") as file:
                file.write(secrets.token_hex(32))
        self._start_mock()
        for node in range(1, self.count + 1):
            self.start_node(node, bootstrap=True)
        self._start_haproxy()
        wait_until("the first admin token", self._copy_token, 90)
        wait_until("every node ready", lambda: all(self.ready(n) for n in range(1, self.count + 1)), 90)
        wait_until("the demo models on every node", self._models_everywhere, 30)

    def _start_mock(self) -> None:
        mock = subprocess.Popen([self.mockllm, "--listen", f"{self.network.host}:0", "--seed", "1"],
                                stdout=subprocess.PIPE, stderr=open(f"{self.out}/mockllm.log", "w"), text=True)
        self.helpers.append(mock)
        if not select.select([mock.stdout], [], [], 30)[0]:
            raise RuntimeError("mockllm printed no port within 30 s; see mockllm.log")
        line = mock.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"mockllm did not start ({line.strip() or 'it exited'}); see mockllm.log")
        self.mock_port = int(line.rsplit(":", 1)[1].strip())

    def _start_haproxy(self) -> None:
        self.balancer_port = free_port()
        servers = "\n".join(f"    server n{n} {self.network.address(n)}:{HTTP_PORT} check" for n in range(1, self.count + 1))
        config = f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch
frontend weir
    bind 127.0.0.1:{self.balancer_port}
    bind {self.network.host}:{self.balancer_port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}
"""
        with open(f"{self.out}/haproxy.cfg", "w") as file:
            file.write(config)
        haproxy = subprocess.Popen(["haproxy", "-f", f"{self.out}/haproxy.cfg", "-db"],
                                   stdout=subprocess.DEVNULL, stderr=open(f"{self.out}/haproxy.log", "w"))
        self.helpers.append(haproxy)
        wait_until("haproxy sending to ready nodes", lambda: haproxy.poll() is None and http(
            "GET", self.balancer("/health/ready"), timeout=2)[0] == 200, 60)

    def start_node(self, node: int, bootstrap: bool = False, join: int | None = None) -> None:
        """Starts node: `bootstrap` on the first start, `join` (a member) after a wipe."""
        address = self.network.address
        peers = ",".join(f"n{n}=tcp://{address(n)}:{PEER_PORT}" for n in range(1, self.count + 1))
        command = [*self.network.exec_prefix(node), self.binary, "serve", "--node-id", f"n{node}",
                   "--data-dir", f"{self.out}/n{node}", "--http-port", str(HTTP_PORT),
                   "--peer-listen", f"tcp://{address(node)}:{PEER_PORT}", "--set", f"http.host={address(node)}",
                   "--set", "cluster.id=chaos", "--set", f"cluster.secret_file={self.out}/cluster.secret",
                   "--set", f"cluster.kek_file={self.out}/kek.key"]
        if join is not None:
            # Through the balancer, as an operator would: any ready member answers.
            command += ["--join", f"http://{self.network.host}:{self.balancer_port}"]
        else:
            command += ["--set", f"peer.peers={peers}"]
        if bootstrap:
            command.append("--bootstrap")
        if node in self.nodes and self.nodes[node].poll() is None:
            raise RuntimeError(f"n{node} is already running (pid {self.nodes[node].pid})")
        environment = {**os.environ, **self.environment,
                       "WEIR_PROVIDERS_DEMO_UPSTREAM": f"http://{self.network.host}:{self.mock_port}/v1"}
        preload = []
        if self.fiu:
            preload += FIU_PRELOAD
            environment.update(FIU_CTRL_FIFO=self._fiu_fifo(node), FIU_ENABLE="")
        if self.skews.get(node):
            # The wall clock only: Raft's timers and the service's intervals run on the
            # monotonic clock, as on a machine whose NTP is off.
            preload.append(FAKETIME)
            environment.update(FAKETIME=f"{self.skews[node]:+.3f}", DONT_FAKE_MONOTONIC="1")
        if preload:
            environment["LD_PRELOAD"] = " ".join(preload)
        log = open(f"{self.out}/n{node}.log", "a")
        self.nodes[node] = subprocess.Popen(command, stdout=log, stderr=log, env=environment, start_new_session=True)
        self.paused.discard(node)

    # Membership, as an operator changes it

    def drain(self, node: int, via: int) -> None:
        """Drains node through another; retried, as its answer advises, until the node has
        left the voting set (a drain whose proposal did not commit in time may still)."""
        last: list[object] = []

        def drained() -> bool:
            code, body = http("POST", self.url(via, "/admin/api/cluster/drain"), self.token, {"node": f"n{node}"}, timeout=60)
            last[:] = [code, body]
            members = self.status(via).get("members")
            return code == 200 or (bool(members) and not any(m.get("node_id") == node and m.get("membership") == "voter" for m in members))
        try:
            wait_until(f"n{node} drained through n{via}", drained, 90, every=1)
        except TimeoutError as error:
            raise RuntimeError(f"{error}; last answer {last}") from None

    def remove(self, node: int, via: int) -> None:
        """Removes node by force; retried while the cluster elects (a removal needs a leader)."""
        def removed() -> bool:
            code, body = http("POST", self.url(via, "/admin/api/cluster/remove"), self.token, {"node": f"n{node}"}, timeout=10)
            return code == 200
        wait_until(f"n{node} removed through n{via}", removed, 30, every=0.5)

    # Disks

    def _mount_disk(self, node: int) -> None:
        path = f"{self.out}/n{node}"
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.disk_mb}m", f"chaos-n{node}", path], check=True)
        self.mounted.append(path)

    def fill_disk(self, node: int) -> int:
        """Takes every free byte of node's disk (a file it does not know); returns how many.
        The node writes meanwhile, so the space is taken in steps that halve when the disk
        is full, down to one page: a block the node took first is no error."""
        path = f"{self.out}/n{node}"
        stats = os.statvfs(path)
        step, taken = max(4096, stats.f_bavail * stats.f_frsize), 0
        descriptor = os.open(f"{path}/.chaos-filler", os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            while step >= 4096:
                try:
                    os.posix_fallocate(descriptor, taken, step)
                    taken += step
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    step //= 2
        finally:
            os.close(descriptor)
        return taken

    def free_disk(self, node: int) -> None:
        try:
            os.remove(f"{self.out}/n{node}/.chaos-filler")
        except FileNotFoundError:
            pass

    def _fiu_fifo(self, node: int) -> str:
        return f"{self.out}/fiu-n{node}"

    def stopped(self, node: int, within: float) -> bool:
        """True when node's process exits within `within` seconds (or has)."""
        try:
            self.nodes[node].wait(timeout=within)
            return True
        except subprocess.TimeoutExpired:
            return False

    def fail_syncs(self, node: int, failing: bool = True) -> None:
        """Every fsync and fdatasync of node fails with EIO (a disk that fails writes), or
        succeeds again."""
        command = "enable name=posix/io/sync/*,failinfo=5" if failing else "disable name=posix/io/sync/*"
        # fiu-ctrl exits 0 on an unknown pid or a refused command: its output says.
        done = subprocess.run(["fiu-ctrl", "-f", self._fiu_fifo(node), "-c", command, str(self.nodes[node].pid)],
                              check=True, timeout=10, capture_output=True, text=True)
        if "rror" in done.stdout + done.stderr:
            raise RuntimeError(f"fiu-ctrl {command!r} on n{node}: {(done.stdout + done.stderr).strip()}")

    def wipe(self, node: int) -> None:
        import shutil
        shutil.rmtree(f"{self.out}/n{node}", ignore_errors=True)

    def rejoin(self, node: int, via: int) -> None:
        """Joins a wiped node back under its own id, as a learner, and starts it."""
        body = {"node": f"n{node}", "peer_address": f"tcp://{self.network.address(node)}:{PEER_PORT}"}

        def joined() -> bool:
            return http("POST", self.url(via, "/admin/api/cluster/join"), self.token, body, timeout=10)[0] == 200
        wait_until(f"n{node} added through n{via}", joined, 30, every=0.5)
        self.start_node(node, join=via)
        # One replacement at a time, as an operator would: the next fault finds it a voter.
        wait_until(f"n{node} a voter again and ready", lambda: self.is_voter(node, via) and self.ready(node), 90, every=0.25)

    def is_voter(self, node: int, via: int) -> bool:
        members = self.status(via).get("members", [])
        return any(m.get("node_id") == node and m.get("membership") == "voter" for m in members)

    def kill(self, node: int) -> None:
        """kill -9, then reaped."""
        process = self.nodes.pop(node, None)
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.paused.discard(node)

    def pause(self, node: int) -> None:
        os.killpg(self.nodes[node].pid, signal.SIGSTOP)
        self.paused.add(node)

    def resume(self, node: int) -> None:
        if node in self.paused and node in self.nodes:
            os.killpg(self.nodes[node].pid, signal.SIGCONT)
        self.paused.discard(node)

    def crashed(self) -> list[int]:
        """Nodes that exited without being told to."""
        return [n for n, p in self.nodes.items() if p.poll() is not None]

    def close(self) -> None:
        for node in list(self.paused):
            self.resume(node)
        for process in self.nodes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.nodes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for path in reversed(self.mounted):
            subprocess.run(["umount", "-l", path], check=False)
        self.mounted.clear()
        for process in self.helpers:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # Looking

    def ready(self, node: int) -> bool:
        return http("GET", self.url(node, "/health/ready"), timeout=2)[0] == 200

    def status(self, node: int) -> dict:
        code, body = http("GET", self.url(node, "/admin/api/cluster"), self.token, timeout=3)
        return body if code == 200 and isinstance(body, dict) else {}

    def leader(self) -> int | None:
        for node in range(1, self.count + 1):
            if node in self.nodes and node not in self.paused:
                leader = self.status(node).get("leader")
                if leader:
                    return int(leader)
        return None

    def _copy_token(self) -> bool:
        for node in range(1, self.count + 1):
            path = f"{self.out}/n{node}/admin.token"
            if os.path.exists(path) and os.path.getsize(path) > 0:
                with open(path) as source:
                    self.admin_token = source.read().strip()
                return bool(self.admin_token)
        return False

    def _models_everywhere(self) -> bool:
        for node in range(1, self.count + 1):
            code, body = http("GET", self.url(node, "/admin/api/deployments"), self.token)
            if code != 200 or len(body.get("items", [])) < 1:
                return False
        return True


FIU_PRELOAD = ["/usr/lib/fiu/fiu_run_preload.so", "/usr/lib/fiu/fiu_posix_preload.so"]


def free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
