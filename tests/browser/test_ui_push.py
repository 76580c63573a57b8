"""The installable app and Web Push in a real Chromium (spec M1, M2).

Every page links the manifest and registers the service worker at the app's root; the notification
settings turn this device's push subscription on; a real permission request is pushed by the server,
and what it pushed, delivered to the service worker through the DevTools protocol, shows a notification
with Allow and Deny; the Allow action (run through the service worker's own action path: no browser lets
a script press a notification's button) answers the request, after which the job writes its file. With
the server stopped, a page load shows the offline page.

The one stand-in is the browser's push service: Chromium subscribes through Google's (FCM), which this
machine cannot reach (and not at all in a Playwright context, which is incognito). So the page's
`PushManager.subscribe` hands out a subscription for a push service on loopback (the test's
`PushEndpoint`, whose keys the test holds, as the browser would); everything else is the browser's.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.support.main_process import run_main
from tests.support.push_endpoint import BrowserKeys, PushEndpoint
from tests.support.scripted_model import text, tool_use

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"  # with UPDATE_SCREENSHOTS=1
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SHELL = ("/manifest.webmanifest", "/sw.js", "/offline.html", "/icons/icon-192.png", "/icons/icon-512.png")

_NOTIFICATIONS = """async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(
    (n) => ({title: n.title, body: n.body, tag: n.tag, actions: n.actions.map((a) => a.title), data: n.data}))"""
_RUN_ACTION = """async ([payload, action]) => {
    const registration = await navigator.serviceWorker.ready;
    const channel = new MessageChannel();
    const answer = new Promise((resolve) => { channel.port1.onmessage = (event) => resolve(event.data); });
    registration.active.postMessage({type: 'notification-action', payload: payload, action: action}, [channel.port2]);
    return await answer;
}"""


# The page's pushManager, subscribed at `endpoint` with the test's keys (kept in localStorage across pages).
_FAKE_PUSH_SERVICE = """(() => {
  const made = %s;
  const key = 'test-push-subscription';
  const subscription = (applicationServerKey) => ({
    endpoint: made.endpoint,
    options: {applicationServerKey: Uint8Array.from(applicationServerKey).buffer, userVisibleOnly: true},
    toJSON: () => made,
    unsubscribe: async () => { localStorage.removeItem(key); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    localStorage.setItem(key, JSON.stringify(Array.from(new Uint8Array(options.applicationServerKey))));
    return subscription(new Uint8Array(options.applicationServerKey));
  };
  PushManager.prototype.getSubscription = async function () {
    const kept = localStorage.getItem(key);
    return kept ? subscription(JSON.parse(kept)) : null;
  };
})();"""


def _registration_id(cdp, scope: str) -> str:
    found: dict[str, str] = {}
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: found.update({r["scopeURL"]: r["registrationId"] for r in event["registrations"]
                                       if not r.get("isDeleted")}))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while scope not in found and time.monotonic() < deadline:
        cdp.send("Runtime.evaluate", {"expression": "1"})  # lets the protocol's events arrive
        time.sleep(0.05)
    assert scope in found, found
    return found[scope]


def test_the_app_installs_and_a_pushed_permission_is_allowed_from_its_notification(
        server, new_page, steps, scripted_model, tmp_path):
    with PushEndpoint() as push_service:
        _installed_app_flow(server, new_page, steps, scripted_model, tmp_path, push_service)


def _installed_app_flow(server, new_page, steps, scripted_model, tmp_path, push_service) -> None:
    page = new_page(server, viewport=DESKTOP)
    steps.page = page
    page.context.grant_permissions(["notifications"], origin=server.url)
    browser_keys = BrowserKeys()
    made = browser_keys.subscription(push_service.url + "/push/this-browser")
    page.context.add_init_script(_FAKE_PUSH_SERVICE % json.dumps(made))

    # The shell is public: a browser fetches it without a session (and nothing else is).
    anonymous = new_page(server.url)
    for path in SHELL:
        assert anonymous.request.get(server.url + path).status == 200, path
    assert anonymous.request.get(server.url + "/api/push/key").status == 401

    page.goto("/")
    manifest = page.locator("link[rel=manifest]").get_attribute("href")
    assert manifest == "/manifest.webmanifest"
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == server.url + "/"
    devtools = page.context.new_cdp_session(page)
    manifest_read = devtools.send("Page.getAppManifest")
    assert manifest_read["errors"] == [] and manifest_read["url"] == server.url + manifest, manifest_read
    # Chrome's own install check finds nothing missing (a Playwright context is incognito: no install there).
    errors = devtools.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == [], errors

    page.get_by_test_id("settings").click()
    expect(page).to_have_url(re.compile(r"/settings/notifications$"))
    status = page.get_by_test_id("push-device-status")
    expect(status).to_contain_text("Off")
    page.get_by_test_id("push-device").click()
    expect(status).to_have_text("On: this device receives pushes.", timeout=30_000)
    kept = json.loads((server.projects_root / ".server" / "push.json").read_text())
    [subscription] = kept["subscriptions"]
    assert subscription["user"] == "owner" and subscription["endpoint"] == made["endpoint"]
    shots = DOCS_SHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    page.mouse.move(1200, 800)
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus halo on the switch
    page.screenshot(path=str(shots / "push-settings.png"))  # docs/usage.md shows it
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(tmp_path / "push-settings-phone.png"))
    expect(page.get_by_test_id("settings")).to_be_visible()  # notifications allowed: the gear has the bell's place
    asking = new_page(server, viewport=PHONE)
    asking.goto("/")
    expect(asking.get_by_test_id("enable-notifications")).to_be_visible()
    expect(asking.get_by_test_id("settings")).to_be_hidden()  # five buttons fit beside the name on a phone
    page.set_viewport_size(DESKTOP)
    page.get_by_test_id("push-test").click()
    expect(page.get_by_text("Sent to 1 device.")).to_be_visible()
    test_push = json.loads(browser_keys.decrypt(push_service.next_message().body))
    assert test_push["kind"] == "test"

    # A real permission request...
    target = Path(server.projects_root) / "pushy" / "allowed.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "allowed from a push"}))
    scripted_model.add_response(text("Written after the push."))
    steps.create_project("pushy")
    job_id = steps.start_job("write a file")
    pushed = push_service.next_message()
    with server.bearer() as api:
        [pending] = api.get("/api/approvals", params={"job_id": job_id}).json()
        job = api.get(f"/api/jobs/{job_id}").json()

    # ... pushed by the server, and what the push service got delivered to this browser's service worker.
    cdp = page.context.new_cdp_session(page)
    registration = _registration_id(cdp, scope)
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": server.url, "registrationId": registration,
                                                  "data": browser_keys.decrypt(pushed.body).decode()})
    deadline = time.monotonic() + 10
    while not (shown := page.evaluate(_NOTIFICATIONS)):
        assert time.monotonic() < deadline, "no notification shown"
        time.sleep(0.1)
    [notification] = shown
    assert notification["title"] == "Claude wants to use Write"
    assert notification["body"] == f"{job['name']}: {target}"
    assert notification["actions"] == ["Allow", "Deny"]
    assert notification["tag"] == f"approval-{pending['id']}"

    # Tapping the notification on a phone opens its job, at the card waiting for the answer (docs/usage.md shows it).
    phone = new_page(server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto("/" + notification["data"]["url"])  # relative to the app's root, as the service worker opens it
    card = phone.get_by_test_id("transcript").locator("[data-testid=approval-card][data-kind=permission]")
    expect(card).to_contain_text("Write")
    card.scroll_into_view_if_needed()
    phone.screenshot(path=str((DOCS_SHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path)
                              / "phone-notification-job.png"))
    phone.close()

    # Allow, as the notification's button does it: the service worker posts the answer with the login cookie.
    result = page.evaluate(_RUN_ACTION, [notification["data"], "allow"])
    assert result == {"ok": True, "status": 200}, result
    expect(page.get_by_text("Written after the push.")).to_be_visible(timeout=30_000)
    assert target.read_text() == "allowed from a push"

    # The server goes away: a page load shows the offline page, from the service worker's cache.
    server.stop()
    page.goto(f"/job/{job_id}")
    expect(page.get_by_test_id("offline")).to_contain_text("Claude Code Server cannot be reached")
    expect(page.get_by_test_id("offline-retry")).to_be_visible()
    page.screenshot(path=str(tmp_path / "offline-desktop.png"))


def test_under_a_mount_prefix_the_service_worker_covers_the_app_and_the_offline_page_shows(
        claude_env, new_page, tmp_path):
    """mount() at /claude (examples/embed_app.py): the shell is served and public under the prefix, the worker's
    scope is the prefix, and the offline page is found there when the host is gone."""
    root = Path(__file__).resolve().parents[2]
    with run_main(tmp_path / "embedded", claude_env.projects_root, script=root / "examples" / "embed_app.py",
                  ready_path="/health") as embedded:
        assert embedded.prefix == "/claude"
        anonymous = new_page(embedded.url)
        for path in SHELL:
            assert anonymous.request.get(embedded.url + "/claude" + path).status == 200, path
        manifest = anonymous.request.get(embedded.url + "/claude/manifest.webmanifest").json()
        assert manifest["start_url"] == manifest["scope"] == "./"  # relative to the manifest: the prefix

        page = new_page(embedded)
        page.goto("/claude/")
        assert page.locator("link[rel=manifest]").get_attribute("href") == "/claude/manifest.webmanifest"
        scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
        assert scope == embedded.url + "/claude/"
        page.wait_for_function("() => !!navigator.serviceWorker.controller")
        embedded.stop()
        page.goto("/claude/approvals")
        expect(page.get_by_test_id("offline")).to_contain_text("Claude Code Server cannot be reached")
