"""Live event streams over HTTP (spec I2, D5): server-sent events a script follows and resumes."""

from __future__ import annotations

import asyncio

from core import events
from core.api.streams import job_events
from core.hub import QueueListener
from core.models import Job, JobStatus, new_id
from tests.api.test_api import QUESTION
from tests.support.api_server import SseMessage, api_client, job_turns, poll, read_sse, transcript
from tests.support.scripted_model import text, tool_use

STREAM_TIMEOUT = 90


async def _collect_until(stream, done, into: list[SseMessage]) -> None:
    """Append messages from `stream` (a read_sse iterator) to `into` until `done(message)` holds for one."""
    async with asyncio.timeout(STREAM_TIMEOUT):
        async for message in stream:
            into.append(message)
            if done(message):
                return
    raise AssertionError(f"the stream ended early after {len(into)} messages")


def _is_status(status: str):
    return lambda m: m.event == "message" and m.data["kind"] == "status" and m.data["status"] == status


def _stored(messages: list[SseMessage]) -> list[SseMessage]:
    return [m for m in messages if m.event == "message"]


async def test_stream_sends_stored_events_then_live_ones_with_deltas(services, project, scripted_model):
    scripted_model.add_response(text("Streaming in many small pieces, one after another.", chunk=4, delay=0.03))
    async with api_client(services) as api:
        job = (await api.post("/jobs", json={"project_id": project.id, "prompt": "stream please"})).json()
        messages: list[SseMessage] = []
        async with api.stream("GET", f"/jobs/{job['id']}/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await _collect_until(read_sse(response), _is_status("idle"), messages)
        stored = _stored(messages)
        assert all(m.id == str(m.data["seq"]) for m in stored)
        assert [m.data for m in stored] == (await transcript(api, job["id"]))[:len(stored)]
        deltas = [m for m in messages if m.event == "delta"]
        assert deltas and all(m.id is None and m.data["live"] for m in deltas)
        streamed = "".join(m.data["text"] for m in deltas if m.data.get("delta_type") == "text_delta")
        assert streamed == "Streaming in many small pieces, one after another."
        first_delta = messages.index(deltas[0])
        assistant = next(i for i, m in enumerate(messages) if m.event == "message" and m.data["kind"] == "assistant")
        assert first_delta < assistant, "text arrives live before the complete message is stored"


async def test_a_client_that_reconnects_from_its_last_seq_gets_every_event_exactly_once(
        services, project, scripted_model):
    scripted_model.add_response(text("First answer, streamed slowly.", chunk=3, delay=0.02))
    scripted_model.add_response(text("Second answer, sent while nobody listened.", chunk=3, delay=0.02))
    scripted_model.add_response(text("Third answer.", chunk=3, delay=0.02))
    received: list[SseMessage] = []
    async with api_client(services) as api:
        job = (await api.post("/jobs", json={"project_id": project.id, "prompt": "one", "mode": "session"})).json()
        url = f"/jobs/{job['id']}/events"

        async with api.stream("GET", url) as response:  # leaves mid-turn, after a few events
            await _collect_until(read_sse(response), lambda m: len(_stored(received)) >= 3, received)
        await poll(lambda: asyncio.sleep(0, services.hub.listener_count(job["id"])), lambda count: count == 0,
                   what="the stream to unsubscribe when its client left")
        await job_turns(api, job["id"], 1)
        await api.post(f"/jobs/{job['id']}/messages", json={"prompt": "two"})
        await job_turns(api, job["id"], 2)

        last_id = _stored(received)[-1].id
        async with api.stream("GET", url, headers={"Last-Event-ID": last_id}) as response:
            stream = read_sse(response)
            await _collect_until(stream, lambda m: m.event == "message" and m.data["kind"] == "result", received)
            await api.post(f"/jobs/{job['id']}/messages", json={"prompt": "three"})
            await _collect_until(stream, lambda m: m.event == "message" and m.data["kind"] == "user", received)

        resume_at = _stored(received)[-1].data["seq"]
        async with api.stream("GET", url, params={"after_seq": resume_at}) as response:
            await _collect_until(read_sse(response), lambda m: _is_status("idle")(m) and
                                 services.jobs.get(job["id"]).turns == 3, received)

        seqs = [m.data["seq"] for m in _stored(received)]
        everything = await transcript(api, job["id"])
    assert seqs == [e["seq"] for e in everything][:len(seqs)], "each stored event exactly once, in order"
    assert [e["text"] for e in everything if e["kind"] == "user"] == ["one", "two", "three"]


async def test_idle_streams_get_heartbeats_and_bad_resume_points_are_refused(services, project, scripted_model):
    async with api_client(services, heartbeat_s=0.2) as api:
        job = (await api.post("/jobs", json={"project_id": project.id, "prompt": "hi"})).json()
        await job_turns(api, job["id"], 1)
        last = (await api.get(f"/jobs/{job['id']}/transcript")).json()["last_seq"]
        seen: list[SseMessage] = []
        async with api.stream("GET", f"/jobs/{job['id']}/events", params={"after_seq": last}) as response:
            async with asyncio.timeout(STREAM_TIMEOUT):
                async for message in read_sse(response, comments=True):
                    seen.append(message)
                    if [m.data for m in seen].count("ping") >= 2:
                        break
        assert [m.data for m in seen] == ["live", "ping", "ping"], "nothing after the last seq, then heartbeats"

        url = f"/jobs/{job['id']}/events"
        for headers, params, status, fragment in [({"Last-Event-ID": "seven"}, {}, 400, "Last-Event-ID"),
                                                  ({"Last-Event-ID": "-3"}, {}, 400, "Last-Event-ID"),
                                                  ({}, {"after_seq": -1}, 422, "after_seq (query)")]:
            response = await api.get(url, headers=headers, params=params)
            assert response.status_code == status and fragment in response.json()["detail"], response.text


async def test_the_server_stream_reports_job_changes_and_approvals(services, project, scripted_model):
    scripted_model.add_response(tool_use("AskUserQuestion", QUESTION))
    scripted_model.add_response(text("Red, then."))
    notices: list[SseMessage] = []
    async with api_client(services) as api, api.stream("GET", "/events") as response:
        stream = read_sse(response, comments=True)
        async with asyncio.timeout(STREAM_TIMEOUT):
            assert (await anext(stream)).data == "live"  # subscribed: nothing from now on is missed
            job = (await api.post("/jobs", json={"project_id": project.id, "prompt": "ask me",
                                                 "permission_mode": "bypassPermissions"})).json()
            async for notice in stream:
                notices.append(notice)
                if notice.event == "approvals" and notice.data["pending"] == 1:
                    break
            [approval] = (await api.get("/approvals")).json()
            await api.post(f"/approvals/{approval['id']}", json={"behavior": "allow",
                                                                 "answers": {"Which colour?": "Red"}})
            async for notice in stream:
                notices.append(notice)
                if notice.event == "job" and notice.data["job"]["status"] == "idle":
                    break
    assert all(n.id is None for n in notices)
    assert notices[0].event == "job" and notices[0].data["job"]["id"] == job["id"]
    statuses = [n.data["job"]["status"] for n in notices if n.event == "job"]
    assert "running" in statuses and statuses[-1] == "idle"
    pending = [n.data["pending"] for n in notices if n.event == "approvals"]
    assert pending[0] == 1 and 0 in pending


async def test_a_reader_that_falls_far_behind_is_cut_off_and_can_resume(services, project):
    """The server never buffers without bound for a slow client: it ends the stream instead."""
    job = Job(id=new_id(), project_id=project.id, name="long", prompt="hi", status=JobStatus.COMPLETED)
    services.jobs.add_imported_job(job, [events.make(events.USER, text="hi")])
    stream = job_events(services, job.id, 0, heartbeat_s=60)
    first = await anext(stream)  # the backlog, then subscribed
    assert "id: 1\n" in first and first.endswith(": live\n\n")
    for _ in range(QueueListener().queue.maxsize + 1):  # live deltas nobody reads
        services.hub.publish(job.id, events.make(events.DELTA, live=True, seq=1, text="x"))
    assert [chunk async for chunk in stream] == []
    assert services.hub.listener_count(job.id) == 0
    resumed = job_events(services, job.id, 1, heartbeat_s=60)
    assert await anext(resumed) == "retry: 2000\n\n: live\n\n"
    await resumed.aclose()
