"""Web Push end to end (spec M2): a real job's permission request reaches a push service on loopback,
encrypted for the browser's keys and signed with the server's VAPID key; its Allow action, posted with
the login cookie as the service worker does, answers the approval and the model sees it. A push service
that says a subscription is gone (410) makes the server drop it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from pathlib import Path

import httpx
import pytest
from py_vapid import Vapid

from core.notify.push import unb64url
from core.security.auth import Authenticator
from core.settings import SettingsError, load_settings
from tests.support.api_server import TIMEOUT, api_server
from tests.support.helpers import wait_status, wait_until
from tests.support.push_endpoint import BrowserKeys, PushEndpoint
from tests.support.scripted_model import text, tool_use


async def _pushed(endpoint: PushEndpoint, browser: BrowserKeys) -> tuple[dict, dict]:
    message = await asyncio.to_thread(endpoint.next_message)
    return json.loads(browser.decrypt(message.body)), message.headers


async def test_a_permission_request_is_pushed_with_allow_and_deny_and_the_allow_action_answers_it(
        services, project, scripted_model):
    target = Path(project.path) / "pushed.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "from a push"}))
    scripted_model.add_response(text("Written."))
    browser = BrowserKeys()
    with PushEndpoint() as endpoint:
        async with api_server(services) as server, \
                httpx.AsyncClient(base_url=server.base, headers=server.headers, timeout=TIMEOUT) as api:
            key = (await api.get("/push/key")).json()["public_key"]
            subscribed = await api.post("/push/subscriptions", json=browser.subscription(endpoint.url + "/sub/1"))
            assert subscribed.status_code == 201, subscribed.text
            assert subscribed.json()["user"] == "owner"

            job = services.jobs.submit(project.id, "write a file", permission_mode="default")
            payload, headers = await _pushed(endpoint, browser)
            [approval] = services.jobs.approvals.pending(job.id)
            assert payload == {
                "title": "Claude wants to use Write", "body": f"{job.name}: {target}", "url": f"job/{job.id}",
                "tag": f"approval-{approval.id}", "job_id": job.id, "approval_id": approval.id,
                "kind": "permission",
                "actions": [{"action": "allow", "title": "Allow", "behavior": "allow"},
                            {"action": "deny", "title": "Deny", "behavior": "deny"}]}
            # Signed with the server's key (RFC 8292), encrypted as browsers decrypt (RFC 8291).
            assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
            assert Vapid.verify(headers["authorization"]) and f"k={key}" in headers["authorization"]
            claims = json.loads(unb64url(headers["authorization"].split("t=")[1].split(",")[0].split(".")[1]))
            assert claims["sub"] == services.settings.push_contact and claims["aud"] == endpoint.url

            # The Allow action, as sw.js posts it: the login cookie, this server's Origin, no bearer token.
            cookie = Authenticator.from_settings(services.settings)
            session = cookie.new_session("owner")
            origin = server.base.removesuffix("/api")
            action = payload["actions"][0]
            async with httpx.AsyncClient(timeout=TIMEOUT) as worker:
                answered = await worker.post(f"{server.base}/approvals/{payload['approval_id']}",
                                             json={"behavior": action["behavior"]},
                                             headers={"Cookie": f"{cookie.cookie_name}={session}", "Origin": origin})
            assert answered.status_code == 200, answered.text
            assert answered.json()["allow"] is True

            await wait_status(services.jobs, job.id, "idle")
            assert target.read_text() == "from a push"
            results = scripted_model.tool_results(scripted_model.requests[1])
            assert results and not results[0].is_error, results

            finished, _ = await _pushed(endpoint, browser)  # the turn's end follows
            assert finished["title"] == "Job finished" and finished["url"] == f"job/{job.id}"
            assert finished["tag"] == f"job-{job.id}-1" and finished["actions"] == []


async def test_a_subscription_the_push_service_says_is_gone_is_dropped(services):
    browser = BrowserKeys()
    with PushEndpoint(status=410) as gone, PushEndpoint(status=500) as broken:
        async with api_server(services) as server, \
                httpx.AsyncClient(base_url=server.base, headers=server.headers, timeout=TIMEOUT) as api:
            for endpoint in (gone, broken):
                response = await api.post("/push/subscriptions", json=browser.subscription(endpoint.url + "/x"))
                assert response.status_code == 201, response.text
            tested = await api.post("/push/test")
            assert tested.status_code == 200 and tested.json() == {"sent": 0}
            payload, _ = await _pushed(gone, browser)
            assert payload["title"] == "Claude Code Server" and payload["kind"] == "test"
            await asyncio.to_thread(broken.next_message)
            # 410: dropped; 500: kept (logged), the service may be back later.
            assert [s["endpoint"] for s in services.push.store.subscriptions()] == [broken.url + "/x"]
            removed = await api.request("DELETE", "/push/subscriptions", json={"endpoint": broken.url + "/x"})
            assert removed.json() == {"removed": True}
            assert (await api.post("/push/test")).status_code == 400  # no device left


async def test_events_a_user_turned_off_are_not_pushed_and_bad_subscriptions_are_refused(
        services, project, scripted_model):
    scripted_model.add_response(text("Done."))
    browser = BrowserKeys()
    with PushEndpoint() as endpoint:
        async with api_server(services) as server, \
                httpx.AsyncClient(base_url=server.base, headers=server.headers, timeout=TIMEOUT) as api:
            assert (await api.get("/push/preferences")).json() == {"approvals": True, "finished": True,
                                                                  "failed": True}
            changed = await api.put("/push/preferences", json={"finished": False})
            assert changed.json() == {"approvals": True, "finished": False, "failed": True}
            for endpoint_url, keys in [("http://push.example.com/x", None), ("ftp://127.0.0.1/x", None),
                                       (endpoint.url, {"p256dh": "AAAA", "auth": "AAAA"})]:
                body = browser.subscription(endpoint_url)
                body["keys"] = keys or body["keys"]
                refused = await api.post("/push/subscriptions", json=body)
                assert refused.status_code == 400, (endpoint_url, refused.text)
            assert (await api.post("/push/subscriptions", json=browser.subscription(endpoint.url))).status_code == 201
            job = services.jobs.submit(project.id, "say done")
            await wait_status(services.jobs, job.id, "idle")
            await asyncio.sleep(0.5)
            assert endpoint.messages.empty()  # the finished turn was not pushed
    await wait_until(lambda: not services.push._tasks, what="no push under way")


async def test_the_vapid_keys_are_made_once_and_kept_private(services_factory):
    first = services_factory()
    key = first.push.keys.public_key
    kept = first.settings.state_dir / "push_vapid.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert services_factory().push.keys.public_key == key  # a restart keeps them: subscriptions stay valid


async def test_a_plan_is_pushed_with_approve_and_a_question_opens_its_job(services, project, scripted_model):
    plan = "# Tidy the docs\n1. Fix the links"
    question = {"questions": [{"question": "Which colour?", "header": "Colour", "multiSelect": False,
                               "options": [{"label": "Red", "description": ""}, {"label": "Blue", "description": ""}]}]}
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": plan}))
    scripted_model.add_response(tool_use("AskUserQuestion", question))
    scripted_model.add_response(text("Going ahead."))
    browser = BrowserKeys()
    with PushEndpoint() as endpoint:
        async with api_server(services) as server, \
                httpx.AsyncClient(base_url=server.base, headers=server.headers, timeout=TIMEOUT) as api:
            await api.post("/push/subscriptions", json=browser.subscription(endpoint.url))
            job = services.jobs.submit(project.id, "plan something", permission_mode="plan")
            pushed, _ = await _pushed(endpoint, browser)
            assert (pushed["kind"], pushed["title"]) == ("plan", "Claude has a plan for you to approve")
            assert pushed["body"] == f"{job.name}: Tidy the docs"
            assert pushed["actions"] == [{"action": "approve", "title": "Approve", "behavior": "allow"}]
            auth = Authenticator.from_settings(services.settings)
            cookie = {"Cookie": f"{auth.cookie_name}={auth.new_session('owner')}",
                      "Origin": server.base.removesuffix("/api")}
            async with httpx.AsyncClient(timeout=TIMEOUT) as worker:
                approved = await worker.post(f"{server.base}/approvals/{pushed['approval_id']}",
                                             json={"behavior": "allow"}, headers=cookie)
            assert approved.status_code == 200 and approved.json()["allow"], approved.text

            asked, _ = await _pushed(endpoint, browser)
            assert (asked["kind"], asked["title"], asked["actions"]) == ("question", "Claude has a question", [])
            assert asked["body"] == f"{job.name}: Which colour?" and asked["url"] == f"job/{job.id}"
            services.jobs.approvals.answer(asked["approval_id"], "allow", answers={"Which colour?": "Blue"})
            await wait_status(services.jobs, job.id, "idle")


async def test_a_push_service_that_hangs_holds_up_no_job(services, project, scripted_model):
    target = Path(project.path) / "quick.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "x"}))
    scripted_model.add_response(text("Done."))
    with PushEndpoint(delay=8) as slow:
        services.push.store.add("owner", BrowserKeys().subscription(slow.url))
        job = services.jobs.submit(project.id, "write a file", permission_mode="default")
        await wait_until(lambda: services.jobs.approvals.pending(job.id), what="the permission request")
        await asyncio.to_thread(slow.next_message)  # the push reached the service, which does not answer
        started = asyncio.get_running_loop().time()
        services.jobs.approvals.answer(services.jobs.approvals.pending(job.id)[0].id, "allow")
        await wait_status(services.jobs, job.id, "idle")
        assert target.read_text() == "x"
        assert services.push._tasks, "the push is still waiting for its answer, the job did not"
        assert asyncio.get_running_loop().time() - started < 8


async def test_a_failed_job_is_pushed_with_why(services, project, scripted_model):
    scripted_model.add_response(text("stuck"), hang=True)
    browser = BrowserKeys()
    with PushEndpoint() as endpoint:
        services.push.store.add("owner", browser.subscription(endpoint.url))
        job = services.jobs.submit(project.id, "first")
        await wait_until(lambda: len(scripted_model.requests) == 1, what="the request")
        os.kill(services.jobs.live[job.id].client._transport._process.pid, signal.SIGKILL)
        await wait_status(services.jobs, job.id, "failed", timeout=20)
        scripted_model.release()
        failed, _ = await _pushed(endpoint, browser)
        assert (failed["kind"], failed["title"], failed["url"]) == ("failed", "Job failed", f"job/{job.id}")
        assert failed["body"].startswith(f"{job.name}: ") and "exit code -9" in failed["body"]


def test_the_push_contact_must_be_a_mailto_or_https_url():
    assert load_settings([], env={"PUSH_CONTACT": "mailto:ops@example.com"}).push_contact == "mailto:ops@example.com"
    for wrong in ("ops@example.com", "http://example.com", "mailto:nobody"):
        with pytest.raises(SettingsError, match="PUSH_CONTACT"):
            load_settings([], env={"PUSH_CONTACT": wrong})
