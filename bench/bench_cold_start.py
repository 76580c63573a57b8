"""Cold start with many jobs stored: python bench/bench_cold_start.py [--jobs 10000] [--runs 5]

A PROJECTS_ROOT is filled with `--jobs` finished jobs over 20 projects, each with one realistic turn in its
event log (a prompt, thinking, tool calls and their results, an answer: ~16 events, ~7 KB; the generator of
bench_chat_open.py), written with the app's own storage classes. Then, `--runs` times each, alternating:

- the app: ``python main.py`` (with an API key in its environment, so it re-execs itself without it, as a
  real start does), started by tests.support.main_process: it waits for /login and reads the printed token;
- the floor: a bare NiceGUI app (``ui.run`` with one page and one API route, no state), started the same way.

Each figure is the time from process start to the first 200 of an authenticated ``GET /api/projects``, and
then of the first page ``/``. The app may take at most 1.5x the floor's time to its first API answer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_chat_open import turn  # noqa: E402

from core.models import Job, JobStatus, new_id  # noqa: E402
from core.services import Services  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.support.main_process import child_environment, start_main  # noqa: E402
from tests.support.scripted_model import LEAKY_ENV, offline_cli_env  # noqa: E402

RUNS = 5
PROJECTS = 20
TARGET_RATIO = 1.5

FLOOR_APP = '''\
"""The floor: a bare NiceGUI app with one page and one API route, no state."""
import sys

from nicegui import app, ui


@ui.page("/")
def index() -> None:
    ui.label("Hello")


@app.get("/api/projects")
def projects() -> list:
    return []


ui.run(host="127.0.0.1", port=int(sys.argv[sys.argv.index("--port") + 1]), reload=False, show=False)
'''


def fill(projects_root: Path, n_jobs: int) -> None:
    """n_jobs finished jobs with one turn each, through the app's storage (one rewrite per shard)."""
    services = Services.create(Settings(projects_root=projects_root))
    projects = [services.projects.create(f"project-{i:02d}") for i in range(PROJECTS)]
    records = []
    created = time.time() - n_jobs * 60
    for i in range(n_jobs):
        job = Job(id=new_id(), project_id=projects[i % PROJECTS].id, name=f"Job {i}: fix the failing handler",
                  prompt=f"Turn {i}: fix the failing handler and run the tests.", status=JobStatus.COMPLETED,
                  created_at=created + i * 60, updated_at=created + i * 60 + 30, turns=1, cost_usd=0.01,
                  session_id=new_id())
        log = services.logs.log(job.id)
        log.append_many([{**event, "seq": seq} for seq, event in enumerate(turn(i), start=1)])
        records.append(job.to_dict())
    services.store.save_jobs(records)
    services.store.close()


def start_once(workdir: Path, projects_root: Path, env: dict[str, str], script: Path | None) -> tuple[float, float]:
    """(seconds to the first 200 of GET /api/projects, seconds to the first 200 of GET /), from process start."""
    shutil.rmtree(workdir, ignore_errors=True)
    started = time.perf_counter()
    server = start_main(workdir, projects_root, base_env=env, script=script)
    try:
        with server.bearer() as client:
            response = client.get("/api/projects")
            assert response.status_code == 200, (response.status_code, response.text[:300])
            api = time.perf_counter() - started
            response = client.get("/")
            assert response.status_code == 200, (response.status_code, response.text[:300])
            page = time.perf_counter() - started
    finally:
        server.stop()
    return api, page


def main(n_jobs: int, runs: int) -> int:
    base = Path(tempfile.mkdtemp(prefix="ccs-bench-cold-"))
    try:
        for sub in ("home", "cli-tmp", "empty"):
            (base / sub).mkdir()
        projects_root = base / "projects"
        started = time.perf_counter()
        fill(projects_root, n_jobs)
        size = sum(p.stat().st_size for p in projects_root.rglob("*") if p.is_file())
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; stored {n_jobs:,} jobs "
              f"({size / 2**20:.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
        floor_script = base / "floor_app.py"
        floor_script.write_text(FLOOR_APP)
        # An installed or once-run app starts from compiled bytecode; a shell that forbids writing it (this
        # sandbox's) would have every start compile the app's 150 modules again (0.17 s), the floor's one.
        env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV and k != "PYTHONDONTWRITEBYTECODE"}
        env = child_environment(env, **offline_cli_env(base / "home", "http://127.0.0.1:9", base / "cli-tmp",
                                                       api_key="bench-key"))
        figures: dict[str, list[tuple[float, float]]] = {"app": [], "floor": []}
        start_once(base / "warm", projects_root, env, None)  # the OS caches the interpreter and the packages
        for _ in range(runs):
            figures["floor"].append(start_once(base / "floor", base / "empty", env, floor_script))
            figures["app"].append(start_once(base / "app", projects_root, env, None))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    med = {name: (statistics.median(a for a, _ in rows), statistics.median(p for _, p in rows))
           for name, rows in figures.items()}
    print(f"median of {runs} starts, seconds from process start to the first 200:")
    print(f"{'':>34} {'GET /api/projects':>18} {'GET /':>8}")
    print(f"{'floor (bare NiceGUI app)':>34} {med['floor'][0]:>18.2f} {med['floor'][1]:>8.2f}")
    print(f"{f'python main.py, {n_jobs:,} jobs':>34} {med['app'][0]:>18.2f} {med['app'][1]:>8.2f}")
    for name, rows in figures.items():
        print(f"  {name} runs (api / page): " + ", ".join(f"{a:.2f}/{p:.2f}" for a, p in rows))
    ratio = med["app"][0] / med["floor"][0]
    ok = ratio <= TARGET_RATIO
    print(f"verdict: first API answer {ratio:.2f}x the floor (target <= {TARGET_RATIO}x): {'PASS' if ok else 'FAIL'}; "
          f"first page {med['app'][1] / med['floor'][1]:.2f}x the floor's")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    sys.exit(main(args.jobs, args.runs))
