"""kill -9 at a random instant, 100 times: the state always loads and nothing acknowledged is lost (spec J4).

Each round starts `python main.py` on the same PROJECTS_ROOT (its Claude Code CLIs
talking to the scripted model), checks that every change acknowledged in earlier
rounds is there, then changes state through the API - projects and jobs created,
renamed, archived, restored, settings changed, follow-ups sent - recording each
acknowledged answer, until a timer kills the whole process group with SIGKILL at
a random instant (now and then during start-up, before anything answered).

Requests go one at a time, so at most one is in flight when the kill lands; its
change may or may not have been made, and either is accepted. After each check
the server's own answer becomes the record for such in-flight changes.

CCS_KILL_ITERATIONS changes the number of rounds (default 100, some 3 minutes).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.main_process import PRINTED_LOGIN, ROOT, child_environment, free_port

ITERATIONS = int(os.environ.get("CCS_KILL_ITERATIONS", "100"))
START_TIMEOUT_S = 60.0


@dataclass
class Ledger:
    """What the server acknowledged: the state it must come back with."""

    projects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {name, archived}
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {project_id, name, archived, model}
    prompts: dict[str, list[str]] = field(default_factory=dict)  # job id -> acknowledged prompt texts
    in_flight: tuple[str, str | None, dict[str, Any]] | None = None  # (kind, id, the change) when killed
    unchecked: set[str] = field(default_factory=set)  # jobs whose transcripts changed since the last check
    counts: Counter = field(default_factory=Counter)


class Killed(Exception):
    """The server went away in the middle of a request."""


def _request(client: httpx.Client, ledger: Ledger, kind: str, target: str | None, change: dict[str, Any],
             method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    ledger.in_flight = (kind, target, change)
    try:
        response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise Killed from exc
    ledger.in_flight = None
    # 503: the live-session cap (J5) refused new work, clearly; not acknowledged, nothing to check.
    assert response.status_code < 500 or response.status_code == 503, f"{method} {path}: {response.text[:300]}"
    return response


def mutate(client: httpx.Client, ledger: Ledger, rng: random.Random, tag: str) -> None:
    """One random change through the API, recorded if acknowledged."""
    active = [pid for pid, p in ledger.projects.items() if not p["archived"]]
    choice = rng.choices(["project", "rename_project", "archive_project", "job", "rename_job", "archive_job",
                          "settings", "follow_up"], weights=[3, 4, 1, 5, 10, 5, 8, 2])[0]
    if choice == "project" or not active:
        name = f"p-{tag}"
        response = _request(client, ledger, "create_project", None, {"name": name}, "POST", "/api/projects",
                            {"name": name})
        if response.status_code == 201:
            ledger.projects[response.json()["id"]] = {"name": name, "archived": False}
    elif choice == "rename_project":
        pid = rng.choice(list(ledger.projects))
        name = f"p-{tag}"
        if _request(client, ledger, "project", pid, {"name": name}, "PATCH", f"/api/projects/{pid}",
                    {"name": name}).status_code == 200:
            ledger.projects[pid]["name"] = name
    elif choice == "archive_project":
        pid = rng.choice(list(ledger.projects))
        archived = not ledger.projects[pid]["archived"]
        action = "archive" if archived else "restore"
        if _request(client, ledger, "project", pid, {"archived": archived}, "POST",
                    f"/api/projects/{pid}/{action}").status_code == 200:
            ledger.projects[pid]["archived"] = archived
    elif choice == "job" or not ledger.jobs:
        pid = rng.choice(active)
        prompt = f"job {tag}"
        response = _request(client, ledger, "create_job", None, {"project_id": pid, "prompt": prompt}, "POST",
                            "/api/jobs", {"project_id": pid, "prompt": prompt, "name": f"j-{tag}"})
        if response.status_code == 201:
            job_id = response.json()["id"]
            ledger.jobs[job_id] = {"project_id": pid, "name": f"j-{tag}", "archived": False, "model": None}
            ledger.prompts[job_id] = [prompt]
            ledger.unchecked.add(job_id)
    else:
        job_id = rng.choice(list(ledger.jobs))
        job = ledger.jobs[job_id]
        if choice == "rename_job":
            if _request(client, ledger, "job", job_id, {"name": f"j-{tag}"}, "PATCH", f"/api/jobs/{job_id}",
                        {"name": f"j-{tag}"}).status_code == 200:
                job["name"] = f"j-{tag}"
        elif choice == "archive_job":
            action = "restore" if job["archived"] else "archive"
            if _request(client, ledger, "job", job_id, {"archived": not job["archived"]}, "POST",
                        f"/api/jobs/{job_id}/{action}").status_code == 200:
                job["archived"] = not job["archived"]
        elif choice == "settings":
            if _request(client, ledger, "job", job_id, {"model": f"model-{tag}"}, "PATCH",
                        f"/api/jobs/{job_id}/settings", {"model": f"model-{tag}"}).status_code == 200:
                job["model"] = f"model-{tag}"
        else:
            prompt = f"follow-up {tag}"
            ledger.unchecked.add(job_id)
            if _request(client, ledger, "prompt", job_id, {"prompt": prompt}, "POST", f"/api/jobs/{job_id}/messages",
                        {"prompt": prompt}).status_code == 202:
                ledger.prompts[job_id].append(prompt)
    ledger.counts["acknowledged"] += 1


def _transcript_texts(client: httpx.Client, job_id: str) -> list[str]:
    texts, after = [], 0
    while True:
        page = client.get(f"/api/jobs/{job_id}/transcript", params={"after_seq": after, "limit": 1000}).json()
        texts += [e.get("text") for e in page["events"] if e["kind"] in ("user", "prompt_queued")]
        if not page["has_more"]:
            return texts
        after = page["events"][-1]["seq"]


def verify(client: httpx.Client, ledger: Ledger, everything: bool = False) -> None:
    """Every acknowledged change is there; an in-flight one may or may not be. Then adopt the server's answer."""
    projects = {p["id"]: p for p in client.get("/api/projects", params={"include_archived": True}).json()}
    jobs = {j["id"]: j for j in client.get("/api/jobs", params={"include_archived": True}).json()}
    kind, target, change = ledger.in_flight or (None, None, {})
    extra_projects, extra_jobs = set(projects) - set(ledger.projects), set(jobs) - set(ledger.jobs)
    assert len(extra_projects) <= (kind == "create_project"), f"unacknowledged projects: {extra_projects}"
    assert len(extra_jobs) <= (kind == "create_job"), f"unacknowledged jobs: {extra_jobs}"
    for pid, expected in ledger.projects.items():
        assert pid in projects, f"acknowledged project {pid} {expected} is lost"
        got = projects[pid]
        for key, value in expected.items():
            maybe = change.get(key) if kind == "project" and target == pid else value
            assert got[key] in (value, maybe), f"project {pid}: {key} is {got[key]!r}, acknowledged {value!r}"
        expected.update(name=got["name"], archived=got["archived"])
    for job_id, expected in ledger.jobs.items():
        assert job_id in jobs, f"acknowledged job {job_id} {expected} is lost"
        got = jobs[job_id]
        seen = {"project_id": got["project_id"], "name": got["name"], "archived": got["status"] == "archived",
                "model": got["model"]}
        for key, value in expected.items():
            maybe = change.get(key) if kind == "job" and target == job_id else value
            assert seen[key] in (value, maybe), f"job {job_id}: {key} is {seen[key]!r}, acknowledged {value!r}"
        expected.update(seen)
        assert got["status"] in ("completed", "failed", "archived", "idle"), got["status"]  # recovered
    for job_id in extra_jobs:  # created by the in-flight request after all
        got = jobs[job_id]
        ledger.jobs[job_id] = {"project_id": got["project_id"], "name": got["name"],
                               "archived": got["status"] == "archived", "model": got["model"]}
        ledger.prompts[job_id] = [got["prompt"]]
        ledger.unchecked.add(job_id)
    for pid in extra_projects:
        ledger.projects[pid] = {"name": projects[pid]["name"], "archived": projects[pid]["archived"]}
    for job_id in (ledger.jobs if everything else ledger.unchecked):
        texts = _transcript_texts(client, job_id)
        missing = [p for p in ledger.prompts[job_id] if p not in texts]
        assert not missing, f"job {job_id}: acknowledged prompts missing from the transcript: {missing}"
        if kind == "prompt" and target == job_id and change["prompt"] in texts:
            ledger.prompts[job_id].append(change["prompt"])
    ledger.counts["jobs with a finished turn"] = sum(1 for job in jobs.values() if job["turns"])
    ledger.unchecked.clear()
    ledger.in_flight = None
    ledger.counts["verified starts"] += 1


_ZYGOTE = """
import os, signal, sys
sys.path.insert(0, {root!r})
import main  # the slow part (1-2 s of imports), paid once
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited rounds vanish without a wait
log = os.open({log!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # a group of its own: the kill takes its Claude Code CLIs too
        os.dup2(log, 1)
        os.dup2(log, 2)
        try:
            main.main(["--port", line.strip()])
        finally:
            os._exit(0)
    print(pid, flush=True)
"""


class Zygote:
    """One process that imports the server once and forks a fresh process per round, which runs
    main.main() - all that `python main.py` does after its imports - so a round costs the state
    loading and start-up, not 1-2 s of imports. (It imported nothing but modules: no thread, no loop.)"""

    def __init__(self, env: dict[str, str], workdir: Path, log_path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _ZYGOTE.format(root=str(ROOT), log=str(log_path))],
                                     cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True)

    def start(self) -> tuple[int, str]:
        """A new server: its pid and URL."""
        port = free_port()
        self.proc.stdin.write(f"{port}\n".encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the zygote died"
        return int(line), f"http://127.0.0.1:{port}"

    def close(self) -> None:
        self.proc.stdin.close()
        _kill(self.proc.pid)
        self.proc.wait(30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _dies(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _ready(pid: int, url: str, log_path: Path) -> bool:
    """True once the server answers; False if it died first (killed during start-up)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while _alive(pid):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/login", timeout=2, trust_env=False).status_code == 200:
                return True
        assert time.monotonic() < deadline, f"the server did not start:\n{log_path.read_text()[-5000:]}"
        time.sleep(0.02)
    return False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def test_acknowledged_state_survives_kill_9_at_random_instants(claude_env, tmp_path):
    seed = int(os.environ.get("CCS_KILL_SEED", str(time.time_ns() % 10**9)))
    print(f"\nCCS_KILL_SEED={seed}")
    rng = random.Random(seed)
    env = child_environment(GRACE_PERIOD_SECONDS="5")
    ledger = Ledger()
    phases: Counter = Counter()  # seconds spent per phase, summed over the rounds
    log_path = tmp_path / "server.log"
    started = time.monotonic()
    zygote = Zygote(env, tmp_path, log_path)
    try:
        for iteration in range(ITERATIONS + 1):
            pid, url = zygote.start()
            during_start = iteration < ITERATIONS and rng.random() < 0.15
            timer = threading.Timer(rng.uniform(0.0, 0.3), _kill, [pid]) if during_start else None
            if timer:
                timer.start()
            try:
                mark = time.monotonic()
                if not _ready(pid, url, log_path):
                    ledger.counts["killed during start-up"] += 1
                    continue
                phases["start"] += time.monotonic() - mark
                # Logged in as a script would be, with the token of the login URL this start printed: the
                # same in every round (it is kept in the state folder), whatever the kills interrupted.
                tokens = {found[1] for found in PRINTED_LOGIN.findall(log_path.read_text(errors="replace"))}
                assert len(tokens) == 1, f"one login token across restarts, not {len(tokens)}"
                with httpx.Client(base_url=url, timeout=30, trust_env=False,
                                  headers={"Authorization": f"Bearer {tokens.pop()}"}) as client:
                    mark = time.monotonic()
                    try:
                        verify(client, ledger, everything=iteration in (ITERATIONS // 2, ITERATIONS))
                    except httpx.HTTPError:
                        assert timer is not None and _dies(pid), "the server failed while being checked"
                        ledger.counts["killed while being checked"] += 1  # only reads were under way
                        continue
                    phases["verify"] += time.monotonic() - mark
                    mark = time.monotonic()
                    if iteration == ITERATIONS:
                        break
                    if timer is None:
                        # Up to 1.5 s: long enough for a Claude Code CLI to start, answer and save its session.
                        timer = threading.Timer(rng.uniform(0.0, 1.5), _kill, [pid])
                        timer.start()
                    try:
                        step = 0
                        while True:
                            mutate(client, ledger, rng, f"{iteration}-{step}")
                            step += 1
                    except Killed:
                        ledger.counts["killed"] += 1
                    phases["changes"] += time.monotonic() - mark
            finally:
                mark = time.monotonic()
                if timer:
                    timer.cancel()
                _kill(pid)
                assert _dies(pid), "SIGKILL did not end the server"
                phases["stop"] += time.monotonic() - mark
    finally:
        zygote.close()
    counts = dict(ledger.counts, projects=len(ledger.projects), jobs=len(ledger.jobs),
                  prompts=sum(len(p) for p in ledger.prompts.values()), seconds=round(time.monotonic() - started))
    print(f"\nkill -9 rounds: {ITERATIONS}; " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    print("seconds per phase: " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    assert ledger.counts["verified starts"] >= ITERATIONS * 0.7
    assert ledger.counts["acknowledged"] > ITERATIONS
