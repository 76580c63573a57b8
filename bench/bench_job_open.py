"""Opening a long job in a real browser (spec D5, D6): python bench/bench_job_open.py [--events 500 5000 20000]

Jobs with transcripts of several lengths (realistic turns: thinking, markdown with code, Read / Grep /
Edit / Bash calls and their results, usage footers; the same generator as bench_chat_open.py) are
written to a fresh PROJECTS_ROOT, then ``python main.py`` serves them and headless Chromium opens
each job's page in a fresh browser context (cold cache), several times. Per length it reports:

- first paint: navigation start -> first contentful paint (the browser's own ``paint`` entry);
- chat ready: navigation start -> the newest message of the transcript rendered in the chat;
- server: request sent -> first byte of the page (the server building it);
- HTML: bytes of the page document; WS: bytes the websocket brought until the chat was ready;
- DOM: elements in the page once ready.

A first row ("frame") opens /approvals with nothing pending, the same frame with no chat: the time
a page of this app needs whatever it shows.

Each length is opened cold (a fresh browser context: NiceGUI's scripts are fetched and compiled again)
and warm (one context, as a browser that has opened the app before).

Target: at 5,000 events, chat ready (and so first paint) <= 1 s, and HTML and DOM flat across the
lengths: the page shows the recent part and loads older parts on demand ("Load earlier"), so what a
browser receives does not grow with the transcript. The last column checks that on-demand load once.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_chat_open import history  # noqa: E402

from core import events as ev  # noqa: E402
from core.models import Job, JobStatus, new_id  # noqa: E402
from core.services import Services  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.ui_support import cli_env, start_server  # noqa: E402
from tests.support.main_process import MainProcess  # noqa: E402

RUNS = 5
TARGET_MS = 1000.0
FLAT_RATIO = 1.3


def _end_marker(count: int) -> str:
    return f"End of the {count}-event transcript."


def build_jobs(projects_root: Path, lengths: list[int]) -> dict[int, str]:
    """Write one completed job per length (its transcript ends with a marker message); returns their ids."""
    services = Services.create(Settings(projects_root=projects_root))
    project = services.projects.create("bench")
    ids = {}
    for count in lengths:
        events = history(count - 1) + [ev.make(ev.ASSISTANT, block={"type": "text", "text": _end_marker(count)},
                                               message_id="m", uuid=new_id(), parent_tool_use_id=None,
                                               model="bench", error=None)]
        job = services.jobs.add_imported_job(
            Job(id=new_id(), project_id=project.id, name=f"{count} events", prompt="bench",
                status=JobStatus.COMPLETED), events)
        ids[count] = job.id
    services.store.close()
    return ids


def new_context(browser, server: MainProcess):
    """A browser context logged in as a person does: by opening the printed login URL (cookie only, no cache)."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1440, "height": 900})
    server.log_in(context)
    return context


def open_once(browser, server: MainProcess, job_id: str | None, count: int, context=None) -> dict[str, Any]:
    """One opening of the job's page (None: the approvals page, the frame alone, as a baseline): in a fresh
    context (cold cache), or in `context` (warm)."""
    own = context is None
    context = context or new_context(browser, server)
    ws_bytes = [0]
    try:
        page = context.new_page()
        page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: ws_bytes.__setitem__(
            0, ws_bytes[0] + len(frame))))
        response = page.goto(f"/job/{job_id}" if job_id else "/approvals", wait_until="commit")
        html = len(response.body())
        timing = response.request.timing
        server = timing["responseStart"] - timing["requestStart"]
        if job_id:
            page.get_by_test_id("assistant-text").filter(has_text=_end_marker(count)).wait_for(timeout=30_000)
        else:
            page.get_by_text("Nothing is waiting for an answer.").wait_for(timeout=30_000)
        ready = page.evaluate("performance.now()")
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
        paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
        dom = page.evaluate("document.getElementsByTagName('*').length")
        result = {"paint": paint, "ready": ready, "server": server, "html": html, "ws": ws_bytes[0], "dom": dom}
        earlier = page.get_by_test_id("load-earlier")
        if earlier.is_visible():
            before = page.get_by_test_id("user-message").count()
            started = time.perf_counter()
            earlier.click()
            page.wait_for_function(f"document.querySelectorAll('[data-testid=user-message]').length > {before}")
            result["earlier"] = (time.perf_counter() - started) * 1000
        page.close()
        return result
    finally:
        if own:
            context.close()


def main(lengths: list[int], runs: int) -> int:
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="ccs-bench-job-open-"))
    try:
        for sub in ("home", "projects", "cli-tmp"):
            (base / sub).mkdir()
        started = time.perf_counter()
        ids = build_jobs(base / "projects", lengths)
        print(f"wrote {len(lengths)} jobs ({sum(lengths):,} events) in {time.perf_counter() - started:.1f} s",
              flush=True)
        server = start_server(base / "server", cli_env(base / "home", base / "projects", base / "cli-tmp",
                                                       "http://127.0.0.1:9"))
        rows = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                open_once(browser, server, ids[lengths[0]], lengths[0])  # warm the server's code paths
                warm = new_context(browser, server)
                open_once(browser, server, ids[lengths[0]], lengths[0], warm)  # fills its cache
                for count in [0, *lengths]:
                    for cache in ("cold", "warm"):
                        samples = [open_once(browser, server, ids.get(count), count,
                                             warm if cache == "warm" else None) for _ in range(runs)]
                        row = {key: statistics.median(s[key] for s in samples)
                               for key in ("paint", "ready", "server", "html", "ws", "dom")}
                        loads = [s["earlier"] for s in samples if "earlier" in s]
                        row.update(events=count, cache=cache, earlier=statistics.median(loads) if loads else None)
                        rows.append(row)
                warm.close()
                browser.close()
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"\nmedian of {runs} opens; cold: a fresh browser context each time, warm: one context (cached assets)")
    print(f"{'events':>7} {'cache':>5} {'server ms':>9} {'first paint ms':>14} {'chat ready ms':>13} {'HTML KB':>7} "
          f"{'WS KB':>6} {'DOM':>5} {'earlier ms':>10}")
    for row in rows:
        earlier = f"{row['earlier']:>10.0f}" if row["earlier"] is not None else f"{'-':>10}"
        print(f"{row['events'] or 'frame':>7} {row['cache']:>5} {row['server']:>9.0f} {row['paint']:>14.0f} "
              f"{row['ready']:>13.0f} {row['html'] / 1024:>7.0f} {row['ws'] / 1024:>6.1f} {row['dom']:>5.0f} {earlier}")
    # Sizes must not follow the transcript: compare the longest job's page with the shortest one's.
    frame = {r["cache"]: r for r in rows if not r["events"]}
    rows = [r for r in rows if r["events"]]
    ratios = {key: max(r[key] for r in rows) / max(1, min(r[key] for r in rows)) for key in ("html", "dom")}
    flat = all(ratio < FLAT_RATIO for ratio in ratios.values())
    upto = [r for r in rows if r["events"] <= 5000]
    fast = {cache: all(r["ready"] <= TARGET_MS for r in upto if r["cache"] == cache) for cache in ("cold", "warm")}
    print(f"verdict: chat ready up to 5,000 events <= {TARGET_MS:.0f} ms: warm cache "
          f"{'OK' if fast['warm'] else 'TOO SLOW'}, cold cache {'OK' if fast['cold'] else 'TOO SLOW'}; page size "
          + ("flat" if flat else "GROWS") + " (longest/shortest: "
          + ", ".join(f"{key} {ratio:.2f}" for key, ratio in ratios.items()) + ")")
    print(f"(the frame alone, /approvals with nothing pending, is ready in {frame['warm']['ready']:.0f} ms warm, "
          f"{frame['cold']['ready']:.0f} ms cold: the part of the time no transcript can take away)")
    fast = fast["warm"]
    return 0 if fast and flat else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="*", default=[500, 5000, 20000])
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    sys.exit(main(sorted(args.events), args.runs))
