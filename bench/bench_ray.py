"""Twenty agents on a two-node Ray cluster (spec O2): python bench/bench_ray.py [--jobs 20] [--turns 20]

A real Ray cluster on this machine (tests/support/ray_cluster.py: a head and one worker node, each a
`ray start` of its own with its own HOME and folders, NODE_CPUS CPUs each) and ``python main.py`` with
RUNNER=ray (tests/support/main_process.py), every CLI talking to one scripted model. Three figures:

1. ``--jobs`` jobs submitted at once (POST /api/jobs, bypassPermissions) in one git-initialised project:
   each one's scripted reply writes a file with a Bash tool call, then says it is done. Every job must end
   its turn (idle, live), and its file must be on its branch in the server's repository
   (``git show <branch>:<file>``). Printed: the wall time, per-job times, where the jobs ran (``runs_on``),
   and what the jobs said (`waiting_for`) while Ray started their actors.
2. The server's memory: VmRSS of the main.py process plus its descendants (with Ray the CLIs run under
   the nodes' raylets, not under the server; a child between fork and exec, which shares the server's
   memory, is not counted), idle before the jobs, at the peak while they start, and with all of them
   live; and, for scale, the nodes' own processes (Ray workers holding the agents and their CLIs), and
   the CPU the idle cluster and the 20 live idle agents use.
3. Per-turn overhead against the local runner: a follow-up (POST /api/jobs/{id}/messages) to a live, idle
   job, timed from sending it to the job's `status: idle` event arriving on its event stream (the stored
   events' server-side `ts` split it: the reply's last assistant event, then the result), ``--turns`` times,
   alternating between the Ray server's job and a job on a second server with the local runner (isolated,
   as a Ray job always is). Once with a short text reply (no tools: the model's own time is the same on
   both), then with a reply that writes a file (on Ray, the turn's end then commits and ships a bundle).

Target: per-turn time with Ray <= 1.2x the local runner's (median to median, text reply), and every job
done with its file on its branch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench._common import descendants, machine, mb, offline_env, rss_kb, stats, verdict  # noqa: E402
from tests.support.main_process import MainProcess, run_main  # noqa: E402
from tests.support.ray_cluster import RAY_ENV, RayCluster, git, git_project  # noqa: E402
from tests.support.scripted_model import offline_cli_env, text, tool_results, tool_use  # noqa: E402

JOBS = 20
TURNS = 20
NODE_CPUS = 6  # per node: 2 x 6 CPUs hold 20 agents of AGENT_CPUS with room to spare
AGENT_CPUS = "0.5"
AGENT_MEMORY_MB = "300"
TARGET_RATIO = 1.2
START_ALL_TIMEOUT_S = 300.0
TURN_TIMEOUT_S = 120.0
SETTLE_S = 0.3  # between measured turns: the other server's last turn settles
WRITE = re.compile(r"\[write ([\w.-]+)\]")  # a prompt with this gets a Bash call writing that file
SHORT_REPLY = "Noted; nothing to change."


def respond(body: dict[str, Any]) -> Any:
    """Stateless, for every CLI sharing the model: a Bash call writing the file a prompt names, then "Done."
    once its result is in; a short text to any other prompt."""
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"] or [{}]
    last = {"messages": [users[-1]]}
    if tool_results(last):
        return [text("Done.")]
    found = WRITE.search(json.dumps(users[-1].get("content")))
    if found:
        name = found.group(1)
        return [text("Writing it."), tool_use("Bash", {"command": f"echo 'written by {name}' > {name}"})]
    return [text(SHORT_REPLY)]


# ------------------------------------------------------------------------------ memory

def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def own_descendants(pid: int) -> list[int]:
    """The process's descendants, less its copies about to exec a program (a child between (v)fork and exec
    still runs the server's command line and shares its memory, so its VmRSS would count the server twice)."""
    mine = cmdline(pid)
    return [p for p in descendants(pid) if cmdline(p) != mine]


def tree_rss_kb(pid: int) -> tuple[int, int, int]:
    """(the process's VmRSS, its descendants' summed VmRSS, how many descendants), in kB."""
    kids = own_descendants(pid)
    return rss_kb(pid), sum(rss_kb(p) for p in kids), len(kids)


def process_name(pid: int) -> str:
    """Its command's name, and for a Python the first argument after its options (the script or -m module)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    name = Path(argv[0]).name
    if name.startswith("python"):
        rest = [a for a in argv[1:] if a and not a.startswith("-")]
        name += f" {Path(rest[0]).name if rest else ' '.join(argv[1:3])}"
    return name


def session_rss_kb(session: int) -> tuple[int, int]:
    """(summed VmRSS, process count) of every process in a session: one Ray node of RayCluster."""
    total = count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry)) == session:
                    total += rss_kb(entry)
                    count += 1
    return total, count


def clis_on(session: int) -> tuple[int, int]:
    """(how many, their summed VmRSS in kB): the Claude Code CLIs among a node's processes."""
    count = total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry)) == session and b"claude" in Path(f"/proc/{entry}/cmdline").read_bytes():
                    count += 1
                    total += rss_kb(entry)
    return count, total


# A driver of its own that counts the job actors (named ccs-job-<id>) the cluster still has.
_COUNT_ACTORS = """
import sys, ray
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
print(sum(1 for a in ray.util.list_named_actors(all_namespaces=True) if a["name"].startswith("ccs-job-")))
"""


def actors_left(address: str) -> str:
    env = {**os.environ, **RAY_ENV}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, "-c", _COUNT_ACTORS, address], env=env, capture_output=True, text=True,
                          timeout=120)
    lines = done.stdout.strip().splitlines()
    return lines[-1] if done.returncode == 0 and lines else f"unknown ({done.stderr.strip()[-300:]})"


def _jiffies(pid: int | str) -> int:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    return 0


def _session_jiffies(sessions: list[int]) -> dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry)) in sessions:
                    found[int(entry)] = _jiffies(entry)
    return found


def cpu_busy(pid: int, sessions: list[int], seconds: float = 3.0) -> str:
    """The machine's busy share of all its cores, and the share of one core used by the process and by the
    processes of `sessions` (the Ray nodes), over `seconds`."""
    def machine_jiffies() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    (total0, idle0), own0, nodes0 = machine_jiffies(), _jiffies(pid), _session_jiffies(sessions)
    time.sleep(seconds)
    (total1, idle1), own1, nodes1 = machine_jiffies(), _jiffies(pid), _session_jiffies(sessions)
    ticks = os.sysconf("SC_CLK_TCK") * seconds / 100
    nodes = sum(j - nodes0.get(p, 0) for p, j in nodes1.items())
    return (f"machine {100 * (1 - (idle1 - idle0) / max(1, total1 - total0)):.0f}% busy (all cores), main.py "
            f"{(own1 - own0) / ticks:.0f}% of a core, the Ray nodes' processes {nodes / ticks:.0f}% of a core")


class Sampler:
    """The peak of the server's RSS (itself + descendants), sampled every 200 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = self.peak_self = self.peak_kids = 0
        self.kids_at_peak: Counter[str] = Counter()  # the descendants' names when they weighed the most
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.2):
            pids = own_descendants(self.pid)
            own, kids = rss_kb(self.pid), sum(rss_kb(p) for p in pids)
            if kids > self.peak_kids:
                self.kids_at_peak = Counter(process_name(p) for p in pids)
            self.peak_self, self.peak_kids = max(self.peak_self, own), max(self.peak_kids, kids)
            self.peak = max(self.peak, own + kids)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)


# ------------------------------------------------------------------------------ event streams

class Follower:
    """A job's event stream (GET /api/jobs/{id}/events) followed in a thread, each event with the moment
    it arrived here: stored events as they are, text deltas as {"kind": "delta"}."""

    def __init__(self, server: MainProcess, job_id: str) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.cond = threading.Condition()
        self.client = server.bearer()
        self.path = f"/api/jobs/{job_id}/events"
        self.live = threading.Event()  # the stored backlog is in: what follows is new
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()
        if not self.live.wait(30):
            raise TimeoutError(f"{self.path} sent no backlog")

    def _follow(self) -> None:
        name = None
        with contextlib.suppress(httpx.HTTPError), \
                self.client.stream("GET", self.path, timeout=httpx.Timeout(None, connect=10.0)) as response:
            for line in response.iter_lines():
                if line.startswith(": live"):
                    self.live.set()
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    event = json.loads(line[5:])
                    if name == "delta":
                        event = {"kind": "delta", "delta_type": event.get("delta_type")}
                    with self.cond:
                        self.events.append((time.perf_counter(), event))
                        self.cond.notify_all()
                elif not line:
                    name = None

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def wait_idle(self, after: int, timeout: float) -> list[tuple[float, dict[str, Any]]]:
        """The events from index `after` up to the job's next `status: idle` (or failed) event."""
        def ended() -> bool:
            return any(e.get("kind") == "status" and e.get("status") in ("idle", "failed", "completed")
                       for _, e in self.events[after:])

        with self.cond:
            if not self.cond.wait_for(ended, timeout):
                raise TimeoutError(f"{self.path}: no turn end within {timeout:.0f} s")
            return list(self.events[after:])

    def close(self) -> None:
        self.client.close()
        self.thread.join(5)


def first(events: list[tuple[float, dict[str, Any]]], kind: str, **fields: Any) -> float | None:
    return next((t for t, e in events if e.get("kind") == kind and all(e.get(k) == v for k, v in fields.items())),
                None)


def one_turn(api: httpx.Client, follower: Follower, job_id: str, prompt: str) -> dict[str, float]:
    """Send a follow-up to an idle live job; ms from sending to: the server's 202, the first text delta here,
    the server storing the reply's last assistant event and the result event (their `ts`), and the
    `status: idle` event arriving here."""
    mark = follower.mark()
    wall0, t0 = time.time(), time.perf_counter()
    response = api.post(f"/api/jobs/{job_id}/messages", json={"prompt": prompt})
    accepted = time.perf_counter()
    response.raise_for_status()
    events = follower.wait_idle(mark, TURN_TIMEOUT_S)
    status = next(e for _, e in events if e.get("kind") == "status" and e.get("status") != "running")
    if status["status"] != "idle":
        raise RuntimeError(f"job {job_id} ended its turn {status['status']}: {status.get('error')}")
    idle = first(events, "status", status="idle") or accepted
    delta = first(events, "delta", delta_type="text_delta") or idle
    stamps = {e.get("kind"): e["ts"] for _, e in events if e.get("kind") in ("assistant", "result") and "ts" in e}
    return {"accepted": (accepted - t0) * 1000, "first_text": (delta - t0) * 1000,
            "assistant": (stamps.get("assistant", wall0) - wall0) * 1000,
            "result": (stamps.get("result", wall0) - wall0) * 1000, "idle": (idle - t0) * 1000}


def compare(servers: dict[str, tuple[httpx.Client, Follower, str]], turns: int, prompt: str,
            label: str) -> dict[str, list[dict[str, float]]]:
    """`turns` follow-ups to each server's job, alternating which goes first, after one unmeasured one each."""
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    for api, follower, job_id in servers.values():
        one_turn(api, follower, job_id, prompt.format(n="warm"))
    order = list(servers)
    for n in range(turns):
        for name in (order if n % 2 == 0 else order[::-1]):
            api, follower, job_id = servers[name]
            time.sleep(SETTLE_S)
            rows[name].append(one_turn(api, follower, job_id, prompt.format(n=n)))
        print(f"  {label} turn {n + 1:2d}: " + " | ".join(f"{name} {rows[name][-1]['idle']:6.0f} ms" for name in order),
              flush=True)
    return rows


def report(rows: dict[str, list[dict[str, float]]], label: str) -> float:
    """Print the breakdown of each runner's turns and the ratio of the medians; returns that ratio."""
    for name, turns in rows.items():
        print(f"  {name:5s} send -> idle       {stats([r['idle'] for r in turns])}")
        med = {key: statistics.median(r[key] for r in turns) for key in turns[0]}
        print(f"  {name:5s} medians, ms from sending: 202 {med['accepted']:.0f}, first text delta here "
              f"{med['first_text']:.0f}, last assistant event stored {med['assistant']:.0f}, result stored "
              f"{med['result']:.0f} (+{med['result'] - med['assistant']:.0f} after it), idle here {med['idle']:.0f}")
    ray, local = (statistics.median(r["idle"] for r in rows[name]) for name in ("ray", "local"))
    ratio = ray / local
    print(f"  {label}: ray/local {ratio:.2f}x (median {ray:.0f} ms vs {local:.0f} ms, +{ray - local:.0f} ms per turn); "
          f"target <= {TARGET_RATIO}x: {verdict(ratio <= TARGET_RATIO)}")
    return ratio


# ------------------------------------------------------------------------------ the run

def start_jobs(server: MainProcess, api: httpx.Client, n_jobs: int,
               sessions: list[int]) -> tuple[bool, list[dict[str, Any]], Path]:
    """Part 1 and 2: n_jobs at once; returns (all done with their files, their records, the repository)."""
    project_id, root = git_project(api, "ray-bench")
    time.sleep(1.0)
    own, kids, count = tree_rss_kb(server.proc.pid)
    print(f"idle before the jobs: server RSS {mb(own)} + {count} descendant processes ({mb(kids)}); "
          f"CPU: {cpu_busy(server.proc.pid, sessions)}")
    sampler = Sampler(server.proc.pid)
    t0 = time.perf_counter()
    ids = []
    for n in range(n_jobs):
        response = api.post("/api/jobs", json={"project_id": project_id, "prompt": f"Job {n}: [write out-{n}.txt]",
                                               "permission_mode": "bypassPermissions"})
        response.raise_for_status()
        ids.append(response.json()["id"])
    submitted = time.perf_counter() - t0
    done_at: dict[str, float] = {}
    waited: dict[str, str] = {}  # job -> the first `waiting_for` it showed (the cluster "has no room")
    states: Counter[str] = Counter()
    deadline = time.monotonic() + START_ALL_TIMEOUT_S
    last_print = 0.0
    while len(done_at) < n_jobs and time.monotonic() < deadline:
        jobs = {j["id"]: j for j in api.get("/api/jobs", params={"project_id": project_id}).json()}
        for job_id in ids:
            job = jobs[job_id]
            if job.get("waiting_for") and job_id not in waited:
                waited[job_id] = job["waiting_for"]
            if job_id not in done_at and (job["status"] in ("failed", "completed")
                                          or (job["status"] == "idle" and job["turns"] >= 1)):
                done_at[job_id] = time.perf_counter() - t0
        states = Counter(jobs[i]["status"] for i in ids)
        if time.monotonic() - last_print > 15:
            last_print = time.monotonic()
            print(f"  {time.perf_counter() - t0:5.0f} s: {dict(states)}", flush=True)
        time.sleep(0.25)
    wall = time.perf_counter() - t0
    sampler.stop()
    time.sleep(0.5)
    live_own, live_kids, live_count = tree_rss_kb(server.proc.pid)

    records = [api.get(f"/api/jobs/{job_id}").json() for job_id in ids]
    arrived = 0
    problems = []
    for n, job in enumerate(records):
        try:
            content = git(root, "show", f"{job['branch']}:out-{n}.txt")
            arrived += content == f"written by out-{n}.txt\n"
        except (subprocess.CalledProcessError, TypeError):
            problems.append(f"job {n} ({job['status']}, branch {job['branch']}): out-{n}.txt not on its branch"
                            + (f"; error: {job['error']}" if job["error"] else ""))
    idle = [j for j in records if j["status"] == "idle" and j["turns"] >= 1 and j["live_info"]["live"]]
    print(f"{n_jobs} jobs submitted in {submitted:.2f} s; {len(idle)}/{n_jobs} idle and live after their turn, "
          f"{arrived}/{n_jobs} files on their branches (git show <branch>:out-N.txt); "
          f"all done in {wall:.1f} s wall (final states {dict(states)})")
    if done_at:
        print(f"  per job, submit -> turn done: {stats(list(done_at.values()), 's')}")
    for line in problems[:5]:
        print(f"  {line}")
    if waited:
        print(f"  {len(waited)}/{n_jobs} jobs showed `waiting_for` while starting, e.g.: "
              f"{next(iter(waited.values()))!r}")
    spread = Counter(j["runs_on"] or "nowhere" for j in records)
    print("where they ran (runs_on): " + "; ".join(f"{n} on {where}" for where, n in spread.most_common()))
    print(f"server RSS at the peak while they started: {mb(sampler.peak)} (main.py {mb(sampler.peak_self)}, "
          f"descendants {mb(sampler.peak_kids)}), +{mb(sampler.peak - own - kids)} over idle; descendants at their "
          f"peak: {', '.join(f'{n} {name}' for name, n in sampler.kids_at_peak.most_common()) or 'none'}")
    print(f"server RSS with all {len(idle)} live and idle: {mb(live_own + live_kids)} (main.py {mb(live_own)}, "
          f"{live_count} descendant processes {mb(live_kids)}), +{mb(live_own + live_kids - own - kids)} over idle, "
          f"~{mb((live_own + live_kids - own - kids) / max(1, len(idle)))} per live job")
    print(f"CPU with {len(idle)} live idle jobs: {cpu_busy(server.proc.pid, sessions)}")
    ok = len(idle) == n_jobs and arrived == n_jobs
    return ok, records, root


def main(n_jobs: int, turns: int) -> int:
    print(machine())
    print(f"{n_jobs} scripted agents on a Ray head + 1 worker node ({NODE_CPUS} CPUs each), "
          f"RAY_AGENT_CPUS={AGENT_CPUS}, RAY_AGENT_MEMORY_MB={AGENT_MEMORY_MB}", flush=True)
    began = time.perf_counter()
    with offline_env() as (tmp, model):
        for _ in range(20_000):
            model.add_response(respond)
        cluster = RayCluster(env=offline_cli_env(tmp / "home", model.base_url, tmp / "cli-tmp", api_key="bench-key"),
                             cpus=NODE_CPUS)
        try:
            t0 = time.perf_counter()
            cluster.start_head()
            cluster.add_node()
            print(f"cluster up in {time.perf_counter() - t0:.1f} s: head {cluster.address}, worker "
                  f"{cluster.nodes[1].address}", flush=True)
            return run(tmp, cluster, n_jobs, turns, began)
        finally:
            cluster.stop()


def run(tmp: Path, cluster: RayCluster, n_jobs: int, turns: int, began: float) -> int:
    common = {"GRACE_PERIOD_SECONDS": "3600", "MAX_LIVE_SESSIONS": str(n_jobs + 4),
              "MAX_RUNNING_JOBS": str(n_jobs + 4), "HIBERNATE_AFTER_SECONDS": "7200"}
    ray_env = {**common, "RUNNER": "ray", "RAY_ADDRESS": cluster.address, "RAY_AGENT_CPUS": AGENT_CPUS,
               "RAY_AGENT_MEMORY_MB": AGENT_MEMORY_MB}
    nodes_before = [session_rss_kb(node.proc.pid) for node in cluster.nodes]
    with run_main(tmp / "server-ray", tmp / "projects-ray", env=ray_env) as ray_server, ray_server.bearer() as ray_api:
        all_done, records, repo = start_jobs(ray_server, ray_api, n_jobs, [n.proc.pid for n in cluster.nodes])
        nodes_live = [session_rss_kb(node.proc.pid) for node in cluster.nodes]
        for node, (before, _), (live, count) in zip(cluster.nodes, nodes_before, nodes_live, strict=True):
            clis, clis_kb = clis_on(node.proc.pid)
            print(f"  node {node.name} ({node.address}): {count} processes, {mb(live)} (+{mb(live - before)} with "
                  f"the agents; {clis} CLIs {mb(clis_kb)}, ~{mb(clis_kb / max(1, clis))} each)")
        added = sum(live for live, _ in nodes_live) - sum(before for before, _ in nodes_before)
        print(f"  ~{mb(added / n_jobs)} on the nodes per agent (its Ray worker and its CLI)", flush=True)

        ray_job = next((j for j in records if j["status"] == "idle"), None)
        if ray_job is None:
            print("no Ray job is idle: no per-turn comparison")
            return 1
        with run_main(tmp / "server-local", tmp / "projects-local", env=common) as local_server, \
                local_server.bearer() as local_api:
            local_project, _ = git_project(local_api, "local-bench")
            response = local_api.post("/api/jobs", json={"project_id": local_project, "prompt": "Say something.",
                                                         "permission_mode": "bypassPermissions", "isolated": True})
            response.raise_for_status()
            local_job = response.json()["id"]
            followers = {"ray": Follower(ray_server, ray_job["id"]), "local": Follower(local_server, local_job)}
            try:
                deadline = time.monotonic() + TURN_TIMEOUT_S
                while local_api.get(f"/api/jobs/{local_job}").json()["status"] != "idle":
                    assert time.monotonic() < deadline, local_server.log(3000)
                    time.sleep(0.1)
                servers = {"ray": (ray_api, followers["ray"], ray_job["id"]),
                           "local": (local_api, followers["local"], local_job)}
                print(f"\nper-turn time, a follow-up to a live idle job: Ray job on {ray_job['runs_on']} "
                      f"(with {n_jobs} live) vs a local isolated job", flush=True)
                text_rows = compare(servers, turns, "Turn {n}: anything to add?", "text")
                write_rows = compare(servers, turns, "Turn {n}: [write turn-{n}.txt]", "write")
            finally:
                for follower in followers.values():
                    follower.close()
        written = git(repo, "show", f"{ray_job['branch']}:turn-{turns - 1}.txt").strip()
        print(f"\nshort text reply (no tools), {turns} turns each:")
        text_ratio = report(text_rows, "text reply")
        print(f"reply writing a file with Bash (Ray: turn-end commit + bundle; last file on the branch: {written!r}):")
        report(write_rows, "file-writing reply (reported, not the target)")
        tracebacks = ray_server.log().count("Traceback")
        t0 = time.perf_counter()
    stopped = time.perf_counter() - t0
    time.sleep(1.0)
    clis = sum(clis_on(node.proc.pid)[0] for node in cluster.nodes)
    print(f"\nRay server: {tracebacks} tracebacks in its log; stopped (SIGTERM with {n_jobs} live sessions) in "
          f"{stopped:.1f} s; then {clis} CLIs left on the nodes, job actors left on the cluster: "
          f"{actors_left(cluster.address)}; whole bench {time.perf_counter() - began:.0f} s")
    ok = all_done and text_ratio <= TARGET_RATIO
    print(f"verdict: all {n_jobs} jobs done with their files: {verdict(all_done)}; per-turn ray/local "
          f"{text_ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict(text_ratio <= TARGET_RATIO)}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--turns", type=int, default=TURNS)
    args = parser.parse_args()
    sys.exit(main(args.jobs, args.turns))
