"""Limits with clear errors (spec J5): prompt size, images, request bodies for the whole app,
terminals, and live sessions."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import pytest

from core.errors import Busy, UserError
from core.jobs.images import MAX_IMAGE_BYTES
from core.jobs.prompts import MAX_PROMPT_CHARS
from core.settings import SettingsError, load_settings
from core.workspace.terminal import TerminalManager
from tests.support.api_server import api_client
from tests.support.helpers import PNG_1PX, wait_status, wait_until
from tests.support.scripted_model import text
from tests.support.security_clients import Server, run_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("limits")
    with run_server(tmp, [], {"HOME": str(tmp), "ANTHROPIC_API_KEY": "", "AUTH_TOKEN": "", "CCS_PASSWORD": ""}) as s:
        yield s


def _png(size: int) -> str:
    return base64.b64encode(PNG_1PX + b"\0" * (size - len(PNG_1PX))).decode()


async def test_prompt_and_image_limits_answer_clearly_through_the_api(services, project):
    async with api_client(services) as client:
        cases = [
            ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, f"the limit is {MAX_PROMPT_CHARS:,}"),
            ({"prompt": "look", "images": [{"media_type": "image/png", "data": _png(100)}] * 11}, "At most 10"),
            ({"prompt": "look", "images": [{"media_type": "image/png", "data": _png(MAX_IMAGE_BYTES + 1)}]},
             "over the 5 MB limit"),
            ({"prompt": "look", "images": [{"media_type": "image/png", "data": _png(MAX_IMAGE_BYTES - 10)}] * 5},
             "over the 20 MB limit"),
        ]
        for body, message in cases:
            response = await client.post("/jobs", json={"project_id": project.id, **body})
            assert response.status_code == 400 and message in response.json()["detail"], response.text[:300]
        assert (await client.get("/jobs")).json() == [], "nothing refused became a job"


def _raw_post(server: Server, path: str, size: int, chunked: bool = False,
              authenticated: bool = True) -> tuple[int, bytes]:
    """POST `size` bytes as fast as the server takes them; the status and body it answers."""
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Content-Type: application/octet-stream",
            "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}", "Connection: close"]
    if authenticated:
        head.append(f"Authorization: Bearer {server.token}")
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        block = b"\0" * 2**20
        sent = 0
        try:
            while sent < size:
                piece = block[:size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed early: that is the point
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def test_request_bodies_are_limited_for_the_whole_app(server):
    over = 40 * 2**20 + 1
    for path in ("/", "/api/projects", "/_nicegui_ws/socket.io/?EIO=4&transport=polling", "/no/such/route"):
        status, body = _raw_post(server, path, over)
        assert status == 413 and b"40 MiB" in body, (path, body[:200])
    status, body = _raw_post(server, "/api/projects", over, chunked=True)  # no length up front
    assert status == 413, body[:200]
    status, body = _raw_post(server, "/_nicegui/client/abc/upload/1", MAX_IMAGE_BYTES + 512 * 1024)
    assert status == 413 and b"at most 5 MB" in body


def test_unauthenticated_bodies_are_refused_before_they_are_read(tmp_path):
    env = {"HOME": str(tmp_path), "AUTH_TOKEN": "the-operators-own-token"}
    with run_server(tmp_path, [], env) as server:
        status, body = _raw_post(server, "/api/projects", 30 * 2**20, authenticated=False)
        assert status == 401


async def test_terminals_are_capped_with_a_clear_error(tmp_path):
    manager = TerminalManager(max_terminals=2, shell=["/bin/sh"])
    try:
        manager.open("a", tmp_path)
        manager.open("b", tmp_path)
        manager.open("a", tmp_path)  # re-attaching to a live one is not another terminal
        with pytest.raises(UserError, match="2 terminals are open already; close one first"):
            manager.open("c", tmp_path)
    finally:
        await manager.close_all()


def test_limits_are_settings():
    settings = load_settings([], env={"MAX_TERMINALS": "3", "MAX_LIVE_SESSIONS": "5"}, dotenv_path=None)
    assert (settings.max_terminals, settings.max_live_sessions) == (3, 5)
    with pytest.raises(SettingsError, match="MAX_LIVE_SESSIONS must be at least MAX_RUNNING_JOBS"):
        load_settings([], env={"MAX_LIVE_SESSIONS": "1", "MAX_RUNNING_JOBS": "2"}, dotenv_path=None)


async def test_beyond_the_live_session_cap_idle_ones_make_room_then_new_work_is_refused(
        services_factory, project_factory, scripted_model):
    services = services_factory(max_live_sessions=2, max_running_jobs=1, hibernate_after_s=3600)
    project = project_factory(services)
    jobs = services.jobs
    first = jobs.submit(project.id, "one")
    await wait_status(jobs, first.id, "idle", timeout=60)
    second = jobs.submit(project.id, "two")
    await wait_status(jobs, second.id, "idle", timeout=60)
    assert len(jobs.live) == 2

    third = jobs.submit(project.id, "three")  # the longest-idle session gives up its process
    assert jobs.live[first.id].closing and not jobs.live[second.id].closing
    await wait_status(jobs, third.id, "idle", timeout=60)
    await wait_until(lambda: first.id not in jobs.live, 30, "the first session to hibernate")
    assert jobs.get(first.id).hibernated and jobs.get(first.id).status == "idle"

    scripted_model.add_response(text("slow"), hang=True)  # hold two turns, so nothing is idle
    scripted_model.add_response(text("slow"), hang=True)
    jobs.follow_up(second.id, "busy")
    jobs.follow_up(third.id, "busy")
    await wait_status(jobs, second.id, "running", "queued", timeout=30)
    with pytest.raises(Busy, match="All 2 live sessions are busy"):
        jobs.submit(project.id, "four")
    async with api_client(services) as client:
        response = await client.post("/jobs", json={"project_id": project.id, "prompt": "four"})
        assert response.status_code == 503 and "live sessions are busy" in response.json()["detail"]
    assert len(jobs.list()) == 3, "a refused job leaves no record"
    scripted_model.release()
    await wait_status(jobs, second.id, "idle", timeout=60)
    await wait_status(jobs, third.id, "idle", timeout=60)
    fourth = jobs.submit(project.id, "four")  # room again
    await wait_status(jobs, fourth.id, "idle", timeout=60)
