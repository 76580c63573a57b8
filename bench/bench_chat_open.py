"""Opening a long job in the chat view (spec D6): python bench/bench_chat_open.py [--events 5000]

Builds jobs of realistic transcripts (turns with thinking, markdown with code, Read / Edit /
Bash / Grep calls and their results, usage footers) of several lengths, then opens each in
NiceGUI's in-process user simulation (no browser, no CLI) and reports:

- build: time for `ChatView(...)` to build in the page function (median of runs);
- open: the whole page request + socket handshake as the `user` fixture does it;
- payload: bytes of the page response (the initial elements) — must not grow with the job;
- earlier: time to load one older batch on demand;
- append: bytes of the update message one live event causes at the end of the transcript.

Target: open < 1 s at 5,000 events, payload flat between the lengths.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nicegui import Client, ui  # noqa: E402
from nicegui.testing.user_simulation import user_simulation  # noqa: E402

from components.chat import ChatView  # noqa: E402
from core import events as ev  # noqa: E402
from core.models import Job, JobStatus, new_id  # noqa: E402
from core.services import Services  # noqa: E402
from core.settings import Settings  # noqa: E402

RUNS = 5
CODE = "\n".join(f"def handler_{i}(request):\n    return respond(request, status={200 + i})" for i in range(12))


def _assistant(block: dict[str, Any]) -> dict[str, Any]:
    return ev.make(ev.ASSISTANT, block=block, message_id="m", uuid=new_id(), parent_tool_use_id=None,
                   model="bench", error=None)


def _tool(name: str, tool_input: dict[str, Any], output: str) -> list[dict[str, Any]]:
    tool_id = "toolu_" + new_id()
    return [_assistant({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}),
            ev.make(ev.TOOL_RESULT, tool_use_id=tool_id, content=output, is_error=False, parent_tool_use_id=None,
                    uuid=new_id())]


def turn(i: int) -> list[dict[str, Any]]:
    """About 20 events, shaped like a real coding turn."""
    path = f"/work/project/src/module_{i % 37}.py"
    return [
        ev.make(ev.USER, text=f"Turn {i}: fix the failing handler and run the tests.", uuid=new_id(), images=[]),
        ev.make(ev.STATUS, status="running", previous="idle", reason=None, error=None),
        ev.make(ev.SYSTEM, subtype="init", session_id="s1", model="bench", cwd="/work/project", tools=[]),
        _assistant({"type": "thinking", "thinking": "The handler returns the wrong status. " * 8}),
        _assistant({"type": "text", "text": f"Looking at `{path}` first."}),
        *_tool("Read", {"file_path": path}, "\n".join(f"{n:6}\t{line}" for n, line in
                                                       enumerate(CODE.splitlines(), 1))),
        *_tool("Grep", {"pattern": "respond\\(", "path": "src"}, "\n".join(f"src/m{n}.py:{n}: respond(" for n in
                                                                           range(15))),
        *_tool("Edit", {"file_path": path, "old_string": CODE[:400], "new_string": CODE[:400].replace("200",
                                                                                                        "201")},
               f"The file {path} has been updated."),
        *_tool("Bash", {"command": "pytest -q", "description": "Run the tests"},
               "\n".join(f"tests/test_{n}.py ...." for n in range(40)) + "\n40 passed in 1.2s"),
        _assistant({"type": "text", "text": f"Fixed it:\n\n```python\n{CODE[:300]}\n```\n\n- one\n- two"}),
        ev.make(ev.RESULT, subtype="success", is_error=False, total_cost_usd=0.01 * i, duration_ms=4200,
                num_turns=4, usage={"input_tokens": 5200, "output_tokens": 640, "cache_read_input_tokens": 20000}),
        ev.make(ev.STATUS, status="idle", previous="running", reason=None, error=None),
    ]


def history(count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    i = 0
    while len(events) < count:
        events += turn(i)
        i += 1
    return events[:count]


async def measure(services: Services, project_id: str, user: Any, count: int, timings: dict) -> dict[str, Any]:
    job = services.jobs.add_imported_job(
        Job(id=new_id(), project_id=project_id, name=f"{count}", prompt="p", status=JobStatus.COMPLETED),
        history(count))
    builds, opens, payloads = [], [], []
    for _ in range(RUNS):
        response = await user.http_client.get(f"/chat/{job.id}")
        payloads.append(len(response.content))
        builds.append(timings.pop("build"))
        started = time.perf_counter()
        await user.open(f"/chat/{job.id}")
        opens.append(time.perf_counter() - started)
        timings.pop("build")
    view: ChatView = timings["view"]
    started = time.perf_counter()
    with user:
        view.load_earlier()
    earlier = time.perf_counter() - started
    client = user.client
    await asyncio.sleep(0.2)  # let the outbox send what is pending
    services.jobs.emit(services.jobs.get(job.id), _assistant({"type": "text", "text": "one more line"}))
    append = sum(len(json.dumps(element._to_dict(), default=str)) for element in client.outbox.updates.values())
    return {"events": count, "build_ms": statistics.median(builds) * 1000, "open_ms": statistics.median(opens) * 1000,
            "payload_kb": statistics.median(payloads) / 1024, "earlier_ms": earlier * 1000, "append_b": append}


async def main(lengths: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="ccs-bench-chat-") as tmp:
        services = Services.create(Settings(projects_root=Path(tmp) / "projects"))
        project = services.projects.create("bench")
        timings: dict[str, Any] = {}
        async with user_simulation() as user:
            @ui.page("/chat/{job_id}")
            def page(job_id: str) -> None:
                started = time.perf_counter()
                timings["view"] = ChatView(services, job_id, on_fork=print, on_edit=print)
                timings["build"] = time.perf_counter() - started

            rows = [await measure(services, project.id, user, count, timings) for count in lengths]
            for client in list(Client.instances.values()):  # stops their timers before NiceGUI's teardown
                client.delete()
    print(f"{'events':>7} {'build ms':>9} {'open ms':>8} {'payload KB':>11} {'earlier ms':>11} {'append B':>9}")
    for row in rows:
        print(f"{row['events']:>7} {row['build_ms']:>9.0f} {row['open_ms']:>8.0f} {row['payload_kb']:>11.0f} "
              f"{row['earlier_ms']:>11.0f} {row['append_b']:>9}")
    worst = max(row["open_ms"] for row in rows)
    flat = max(r["payload_kb"] for r in rows) / min(r["payload_kb"] for r in rows)
    print(f"verdict: open {'OK' if worst < 1000 else 'TOO SLOW'} ({worst:.0f} ms worst, target < 1000 ms); "
          f"payload ratio longest/shortest {flat:.2f} ({'flat' if flat < 1.3 else 'GROWS'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="*", default=[500, 2000, 5000])
    asyncio.run(main(parser.parse_args().events))
