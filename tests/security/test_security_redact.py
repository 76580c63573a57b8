"""The API key and the login token never reach a browser, a log line or an error page (spec J1)."""

from __future__ import annotations

import json
import logging
import time

import pytest
from starlette.requests import Request

from core.security.redact import Redactor, install_log_redaction
from tests.support.scripted_model import text, tool_use
from tests.support.security_clients import PageSocket, cookie_header, run_server

API_KEY = "sk-ant-fake-key-0123456789abcdef"
TOKEN = "login-token-0123456789abcdef"


def test_log_records_are_masked_whatever_logger_and_formatter(caplog):
    install_log_redaction(Redactor([API_KEY, TOKEN]))
    logger = logging.getLogger("some.library")
    with caplog.at_level(logging.INFO):
        logger.info("calling with key %s", API_KEY)
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/login?token=anything-typed", "1.1", 200)
        logger.info("dict args %(key)s", {"key": TOKEN})
        try:
            raise RuntimeError(f"failed with {API_KEY}")
        except RuntimeError:
            logger.exception("boom")
    shown = caplog.text + "".join(logging.Formatter().format(r) for r in caplog.records)
    assert API_KEY not in shown and TOKEN not in shown and "anything-typed" not in shown
    assert "*" * len(API_KEY) in shown and "token=***" in shown
    access = caplog.records[1]
    assert isinstance(access.args, tuple) and len(access.args) == 5  # uvicorn's access formatter unpacks them


def test_short_values_are_not_secrets():
    redactor = Redactor(["abc", None, ""])
    assert not redactor and redactor.text("abc") == "abc"


async def test_a_failing_page_shows_a_generic_error_not_the_exception():
    import main

    request = Request({"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b"",
                       "nicegui_page_path": "/x"})
    response = await main._server_error(request, RuntimeError(f"leaking {API_KEY} and /home/user/secret"))
    assert response.status_code == 500
    assert API_KEY not in response.body.decode() and "secret" not in response.body.decode()
    with pytest.raises(RuntimeError):  # not a page: Starlette's bare "Internal Server Error"
        await main._server_error(Request({"type": "http", "method": "GET", "path": "/api/x", "headers": [],
                                          "query_string": b""}), RuntimeError("x"))


def test_a_key_printed_by_a_tool_is_masked_in_the_api_the_page_and_the_socket(claude_env, tmp_path):
    model = claude_env.model
    model.add_response(tool_use("Bash", {"command": "echo key=$ANTHROPIC_API_KEY; env | grep -c AUTH_TOKEN || true"}))
    model.add_response(text(f"The key is {API_KEY}."))
    env = {"ANTHROPIC_API_KEY": API_KEY, "AUTH_TOKEN": TOKEN}
    with run_server(tmp_path, [], env) as server, server.bearer(TOKEN) as client:
        project = client.post("/api/projects", json={"name": "leaky"}).json()
        job = client.post("/api/jobs", json={"project_id": project["id"], "prompt": "show the key",
                                             "permission_mode": "bypassPermissions"}).json()
        deadline = time.monotonic() + 90
        while client.get(f"/api/jobs/{job['id']}").json()["status"] not in ("idle", "failed", "completed"):
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.2)
        transcript = client.get(f"/api/jobs/{job['id']}/transcript").text
        results = [e for e in json.loads(transcript)["events"] if e["kind"] == "tool_result"]
        assert results and "key=" + "*" * len(API_KEY) in json.dumps(results), results
        assert '"content": "key=' in json.dumps(results) or "key=*" in transcript
        assert API_KEY not in transcript and "The key is ****" in transcript
        # The shell the agent runs does not inherit the server's own login token.
        assert any(str(e.get("content", "")).strip().endswith("0") for e in results), results

        with server.logged_in(TOKEN) as browser:
            page = browser.get(f"/job/{job['id']}", headers={"Accept": "text/html"})
            assert page.status_code == 200 and API_KEY not in page.text and TOKEN not in page.text
            assert "*" * len(API_KEY) in page.text  # the transcript is there, masked
            cookie = cookie_header(browser)
        # Live: the job page's socket while a reply with the key streams in.
        socket = PageSocket(server, f"/job/{job['id']}", cookie)
        model.add_response(text(f"Once more: {API_KEY} and {TOKEN}.", chunk=400))
        assert client.post(f"/api/jobs/{job['id']}/messages", json={"prompt": "again"}).status_code == 202
        assert socket.pump(60, until=lambda frame: "Once more" in frame), socket.received[-5:]
        socket.pump(1.0)
        socket.close()
        live = "".join(socket.received)
        assert API_KEY not in live and TOKEN not in live and "Once more: " + "*" * len(API_KEY) in live
    log = server.log()
    assert API_KEY not in log and TOKEN not in log
