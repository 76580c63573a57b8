"""A real Ray cluster on this machine for the tests and benches of spec O2: a head, and worker nodes.

Each node is a `ray start --block` of its own, in a session of its own, with its own HOME,
temporary folder and address (the head on the machine's address, workers on 127.0.0.2, .3,
...): nothing is shared through the file system, and a node stops as a machine would, every
process of it killed at once (`Node.lose`). The CLIs on a node talk to the scripted model
under the same offline settings as the server's (`offline_cli_env`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 60.0
IDENTITY = ["-c", "user.name=Cluster Test", "-c", "user.email=cluster@example.com"]
RAY_CLI = [sys.executable, "-m", "ray.scripts.scripts"]  # `ray`, whatever PATH holds
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    folder: Path  # HOME, the agents' folders and Ray's own files of this node
    address: str = ""  # the address Ray knows the node by

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def lose(self) -> None:
        """The machine is gone: every process of this node dies at once (raylet, workers, their CLIs)."""
        _kill_session(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def stop(self) -> None:
        self.lose()  # nothing of a test's cluster needs keeping: a graceful `ray stop` only takes longer


@dataclass
class RayCluster:
    env: dict[str, str]  # the environment of every node (the scripted model's offline settings)
    cpus: int = 1
    nodes: list[Node] = field(default_factory=list)
    address: str = ""

    def start_head(self) -> Node:
        node = self._start("head", ["--head", "--port=0", "--include-dashboard=false"])
        deadline = time.monotonic() + START_TIMEOUT_S
        marker = node.folder / "ray" / "ray_current_cluster"
        while not marker.is_file() or not marker.read_text().strip():
            assert node.alive, _log(node)
            assert time.monotonic() < deadline, f"the Ray head did not start\n{_log(node)}"
            time.sleep(0.2)
        self.address = marker.read_text().strip()
        node.address = self.address.split(":")[0]
        return node

    def add_node(self, cpus: int | None = None) -> Node:
        """A worker node on its own loopback address; returns once the head counts it."""
        number = len(self.nodes) + 1
        address = f"127.0.0.{number}"
        node = self._start(f"node{number}", [f"--address={self.address}", f"--node-ip-address={address}"], cpus)
        node.address = address
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Raylet is started" not in _log(node) and "Ray runtime started" not in _log(node):
            assert node.alive, _log(node)
            assert time.monotonic() < deadline, f"node {number} did not start\n{_log(node)}"
            time.sleep(0.2)
        time.sleep(1.0)  # the head hears of it with the node's first report
        return node

    def _start(self, name: str, args: list[str], cpus: int | None = None) -> Node:
        folder = Path(tempfile.mkdtemp(prefix=f"r{name}-", dir="/tmp"))  # short: Ray's sockets live under it
        (folder / "home").mkdir()
        env = {**os.environ, **self.env, **RAY_ENV, "HOME": str(folder / "home"),
               "CCS_AGENT_ROOT": str(folder / "agents"), "CLAUDE_CODE_TMPDIR": str(folder / "cli-tmp")}
        env.pop("RAY_ADDRESS", None)
        command = [*RAY_CLI, "start", "--block", "--disable-usage-stats",
                   f"--num-cpus={self.cpus if cpus is None else cpus}", f"--temp-dir={folder / 'ray'}", *args]
        with open(folder / "node.log", "wb") as log:
            proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        node = Node(name, proc, folder)
        self.nodes.append(node)
        return node

    @contextlib.contextmanager
    def head_held(self):
        """The head's CPUs taken by another program's actor (the cluster is busy) until the block ends."""
        proc = subprocess.Popen([sys.executable, "-c", _HOLDER, self.address], stdout=subprocess.PIPE,
                                stdin=subprocess.PIPE, env={**os.environ, **RAY_ENV}, start_new_session=True)
        try:
            line = proc.stdout.readline().decode() if proc.stdout else ""
            assert line.startswith("held"), f"the head could not be held: {line!r}"
            yield
        finally:
            _kill_session(proc.pid, signal.SIGKILL)
            proc.wait(10)
            time.sleep(1.0)  # Ray frees the CPUs when it notices the program is gone

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        for node in self.nodes:
            shutil.rmtree(node.folder, ignore_errors=True)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def git_project(api, name: str, committed: bool = True) -> tuple[str, Path]:
    """A new project (through the API client `api`), a git repository with one commit unless not `committed`:
    a job on the cluster works in a clone of it. Returns (project id, its folder)."""
    response = api.post("/api/projects", json={"name": name})
    response.raise_for_status()
    root = Path(response.json()["path"])
    if committed:
        git(root, "init", "-q", "-b", "main")
        (root / "README.md").write_text("# A project\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "start")
    return response.json()["id"], root


# A driver with one actor on the head that takes all of its CPUs, until the driver is killed.
_HOLDER = """
import sys, ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
head = next(n for n in ray.nodes() if n["Alive"] and "node:__internal_head__" in n["Resources"])
@ray.remote
class Holder:
    def ping(self):
        return True
holder = Holder.options(num_cpus=head["Resources"]["CPU"],
                        scheduling_strategy=NodeAffinitySchedulingStrategy(head["NodeID"], soft=False)).remote()
ray.get(holder.ping.remote())
print("held", flush=True)
sys.stdin.read()
"""


def _log(node: Node) -> str:
    with contextlib.suppress(OSError):
        return (node.folder / "node.log").read_text(errors="replace")[-4000:]
    return ""


def _kill_session(session: int, sig: int) -> None:
    """Signal every process of a session (`start_new_session`): Ray's workers run in process groups of their own."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry)) == session:
                    os.kill(int(entry), sig)
