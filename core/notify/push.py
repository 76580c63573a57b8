"""Web Push (spec M2): approvals, finished and failed jobs reach a person's devices, with actions.

What lives here: the server's VAPID key pair (made at the first start, kept mode 0600 in the
state folder), the browsers' push subscriptions with the user each belongs to, each user's
choice of events, what each event sends, and the sending.

A subscription is what a browser's `pushManager.subscribe()` gives: an `endpoint` (the push
service's URL for that browser) and its keys (`p256dh`, `auth`). The payload is encrypted for
those keys (aes128gcm) and signed with the VAPID key (pywebpush does both). What is sent:

    {"title", "body", "url": "job/<id>" (relative to the app's root, the service worker's scope),
     "tag", "job_id", "approval_id", "kind", "actions": [{"action", "title", "behavior"}]}

A permission request carries Allow and Deny (`behavior` is what the service worker posts to
`POST /api/approvals/{id}`), a plan Approve, a question none (tapping opens the job). Tags are the
in-page notifier's (components/shell/notifier.py), so a browser that gets both shows one.

Sending never holds up a job: listeners only schedule it, pywebpush (blocking, and slow to
import) runs in a thread, and every failure is logged. A subscription the push service says is
gone (404, 410) is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import UserError
from core.settings import is_loopback_host
from storage.atomic_json import write_atomic

log = logging.getLogger(__name__)

OWNER = "owner"  # today's only user (as in core/security/credentials.py)
EVENTS = ("approvals", "finished", "failed")
KEYS_FILE = "push_vapid.json"
STORE_FILE = "push.json"
SEND_TIMEOUT_S = 10.0
SHUTDOWN_WAIT_S = 2.0  # how long a stop waits for pushes under way (a slow push service holds up no restart)
TTL_S = 3600  # a push service keeps an undelivered message this long (a phone asleep)
GONE = (404, 410)
MAX_ENDPOINT = 2048
BODY_CHARS = 180
_FINISHED = ("idle", "completed")

Sender = Callable[[dict[str, Any], bytes, str, str], int]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class VapidKeys:
    """The server's VAPID key pair (EC P-256): the private key as PEM, the public one as the browser wants
    it (base64url of the uncompressed point, `applicationServerKey`)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / KEYS_FILE
        self._lock = threading.Lock()
        self._keys: tuple[str, str] | None = None

    def ensure(self) -> tuple[str, str]:
        """(private PEM, public key), made and kept on first use."""
        with self._lock:
            if self._keys is None:
                self._keys = self._load() or self._make()
            return self._keys

    @property
    def public_key(self) -> str:
        return self.ensure()[1]

    @property
    def private_pem(self) -> str:
        return self.ensure()[0]

    def _load(self) -> tuple[str, str] | None:
        try:
            data = json.loads(self.path.read_text())
            return str(data["private_pem"]), str(data["public_key"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s cannot be read (%s): new push keys are made; devices must subscribe again",
                        self.path, exc)
            return None

    def _make(self) -> tuple[str, str]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        public = b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                      serialization.PublicFormat.UncompressedPoint))
        write_atomic(self.path, json.dumps({"private_pem": pem, "public_key": public}).encode(), mode=0o600)
        return pem, public


def check_subscription(subscription: dict[str, Any]) -> dict[str, Any]:
    """A browser's subscription, checked: an https endpoint (http only on a loopback host: a local push
    service, the tests) and keys of the right sizes. Returns the parts kept."""
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys") or {}
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise UserError("A subscription needs its endpoint URL.")
    parts = urlsplit(endpoint)
    if not parts.hostname or parts.scheme not in ("https", "http") or \
            (parts.scheme == "http" and not is_loopback_host(parts.hostname)):
        raise UserError("A push endpoint must be an https URL.")
    try:
        p256dh, auth = unb64url(str(keys["p256dh"])), unb64url(str(keys["auth"]))
    except (KeyError, TypeError, ValueError):
        raise UserError("A subscription needs its keys p256dh and auth, base64url-encoded.") from None
    if len(p256dh) != 65 or p256dh[0] != 4 or len(auth) != 16:
        raise UserError("The subscription's keys have the wrong size (p256dh: a P-256 point, auth: 16 bytes).")
    return {"endpoint": endpoint, "keys": {"p256dh": str(keys["p256dh"]), "auth": str(keys["auth"])}}


class PushStore:
    """Subscriptions (each with its user) and each user's events, in `<state>/push.json`, mode 0600."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / STORE_FILE
        self._lock = threading.Lock()
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            try:
                data = json.loads(self.path.read_text())
            except FileNotFoundError:
                data = {}
            except (OSError, ValueError) as exc:
                log.warning("%s cannot be read (%s): starting without push subscriptions", self.path, exc)
                data = {}
            if not isinstance(data, dict):
                data = {}
            data.setdefault("subscriptions", [])
            data.setdefault("preferences", {})
            self._data = data
        return self._data

    def _save(self) -> None:
        write_atomic(self.path, json.dumps(self._data, indent=1).encode(), mode=0o600)

    def subscriptions(self, user: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(s) for s in self._load()["subscriptions"] if user is None or s.get("user") == user]

    def add(self, user: str, subscription: dict[str, Any]) -> dict[str, Any]:
        """Keep a browser's subscription for `user` (the same endpoint again replaces the older one)."""
        entry = {**check_subscription(subscription), "user": user, "created_at": time.time()}
        with self._lock:
            data = self._load()
            data["subscriptions"] = [s for s in data["subscriptions"] if s.get("endpoint") != entry["endpoint"]]
            data["subscriptions"].append(entry)
            self._save()
        return entry

    def remove(self, endpoint: str, user: str | None = None) -> bool:
        with self._lock:
            data = self._load()
            kept = [s for s in data["subscriptions"]
                    if s.get("endpoint") != endpoint or (user is not None and s.get("user") != user)]
            removed = len(kept) != len(data["subscriptions"])
            if removed:
                data["subscriptions"] = kept
                self._save()
            return removed

    def preferences(self, user: str) -> dict[str, bool]:
        with self._lock:
            kept = self._load()["preferences"].get(user) or {}
        return {event: bool(kept.get(event, True)) for event in EVENTS}

    def set_preferences(self, user: str, changes: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(changes) - set(EVENTS))
        if unknown:
            raise UserError(f"Unknown push events: {', '.join(unknown)} (known: {', '.join(EVENTS)}).")
        with self._lock:
            data = self._load()
            kept = data["preferences"].setdefault(user, {})
            kept.update({event: bool(on) for event, on in changes.items()})
            self._save()
        return self.preferences(user)


# -- what each event sends -----------------------------------------------------------------------------


def _clip(text: str, limit: int = BODY_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _input_summary(tool_input: dict[str, Any]) -> str:
    for key in ("command", "file_path", "notebook_path", "url", "pattern", "path", "query", "description"):
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def approval_payload(job: dict[str, Any], approval: dict[str, Any]) -> dict[str, Any]:
    """What a waiting approval sends: a permission with Allow and Deny, a plan with Approve, a question none."""
    kind, tool, name = approval.get("kind"), approval.get("tool_name", ""), job.get("name") or "A job"
    tool_input = approval.get("input") or {}
    if kind == "permission":
        summary = _input_summary(tool_input)
        title = f"Claude wants to use {tool}"
        body = f"{name}: {summary}" if summary else name
        actions = [{"action": "allow", "title": "Allow", "behavior": "allow"},
                   {"action": "deny", "title": "Deny", "behavior": "deny"}]
    elif kind == "plan":
        plan = str(tool_input.get("plan") or "")
        first = next((line.strip("# ").strip() for line in plan.splitlines() if line.strip("# ").strip()), "")
        title, body = "Claude has a plan for you to approve", f"{name}: {first}" if first else name
        actions = [{"action": "approve", "title": "Approve", "behavior": "allow"}]
    else:
        questions = [q.get("question", "") for q in tool_input.get("questions", []) if isinstance(q, dict)]
        title, body = "Claude has a question", f"{name}: {questions[0]}" if questions else name
        actions = []
    return {"title": title, "body": _clip(body), "url": f"job/{job['id']}", "tag": f"approval-{approval['id']}",
            "job_id": job["id"], "approval_id": approval["id"], "kind": kind, "actions": actions}


def job_payload(job: dict[str, Any]) -> dict[str, Any]:
    failed = job.get("status") == "failed"
    body = job.get("name") or "A job"
    if failed and job.get("error"):
        body = f"{body}: {job['error']}"
    return {"title": "Job failed" if failed else "Job finished", "body": _clip(body), "url": f"job/{job['id']}",
            "tag": f"job-{job['id']}-{job.get('turns', 0)}", "job_id": job["id"], "approval_id": None,
            "kind": "failed" if failed else "finished", "actions": []}


def send_webpush(subscription: dict[str, Any], data: bytes, private_pem: str, contact: str) -> int:
    """One message to one browser through its push service (blocking): the service's status code."""
    from py_vapid import Vapid
    from pywebpush import WebPushException, webpush

    info = {"endpoint": subscription["endpoint"], "keys": subscription["keys"]}
    try:
        response = webpush(info, data=data, vapid_private_key=Vapid.from_pem(private_pem.encode()),
                           vapid_claims={"sub": contact}, timeout=SEND_TIMEOUT_S, ttl=TTL_S)
    except WebPushException as exc:
        if exc.response is None:
            raise
        return int(exc.response.status_code)
    return int(response.status_code)


class PushNotifier:
    """Follows the hub (spec M2): a waiting approval and a turn that ends (finished, failed) become pushes to
    every subscription whose user wants that event."""

    def __init__(self, state_dir: Path, hub, jobs, contact: str, sender: Sender = send_webpush) -> None:
        self.keys = VapidKeys(state_dir)
        self.store = PushStore(state_dir)
        self.hub = hub
        self.jobs = jobs
        self.sender = sender
        self.contact = contact  # the VAPID `sub` claim (PUSH_CONTACT)
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._unsubscribe: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Follow the hub; the keys are made (or read) off the loop."""
        if self._unsubscribe:
            return
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._running = {j.id for j in self.jobs.list() if j.status == "running"}
        self._unsubscribe = [self.hub.subscribe_every_job(self._on_job_event),
                             self.hub.subscribe_all(self._on_notice)]
        threading.Thread(target=self._make_keys, name="push-keys", daemon=True).start()

    def _make_keys(self) -> None:
        try:
            self.keys.ensure()
        except Exception:
            log.exception("the push keys could not be made")

    async def shutdown(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._tasks:  # pushes under way get a moment to finish; a thread's request then ends by its timeout
            await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_WAIT_S)

    # -- events

    def _on_job_event(self, job_id: str, event: dict[str, Any]) -> None:
        if event.get("kind") != "approval":
            return
        job = self.jobs.jobs.get(job_id)
        if job is not None:
            self.dispatch("approvals", approval_payload(job.to_dict(), event.get("approval") or {}))

    def _on_notice(self, notice: dict[str, Any]) -> None:
        if notice.get("kind") != "job":
            return
        job = notice["job"]
        if job["status"] == "running":
            self._running.add(job["id"])
        elif job["id"] in self._running and job["status"] in (*_FINISHED, "failed"):
            self._running.discard(job["id"])
            self.dispatch("failed" if job["status"] == "failed" else "finished", job_payload(job))

    # -- sending

    def dispatch(self, event: str, payload: dict[str, Any]) -> None:
        """Schedule `payload` for every subscription whose user wants `event`; returns at once."""
        targets = [s for s in self.store.subscriptions() if self.store.preferences(s.get("user", OWNER))[event]]
        if targets:
            self._schedule(self.send(targets, payload))

    def _schedule(self, work) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:  # published from a thread: hand it to the loop the notifier started on
            if self._loop is None or self._loop.is_closed():
                work.close()
                return
            self._loop.call_soon_threadsafe(self._schedule, work)
            return
        task = loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(self, subscriptions: list[dict[str, Any]], payload: dict[str, Any]) -> int:
        """Send to every subscription at once, each in a thread; returns how many the push services accepted."""
        data = json.dumps(payload).encode()
        try:
            pem = await asyncio.to_thread(lambda: self.keys.private_pem)
        except Exception:
            log.exception("no push keys: nothing sent")
            return 0
        sent = await asyncio.gather(*(self._send_one(s, data, pem) for s in subscriptions))
        return sum(sent)

    async def _send_one(self, subscription: dict[str, Any], data: bytes, pem: str) -> bool:
        try:
            status = await _in_daemon_thread(self.sender, subscription, data, pem, self.contact)
        except Exception as exc:  # unreachable push service, bad key: logged, nothing else breaks
            log.warning("push to %s failed: %s", _where(subscription), exc)
            return False
        if status in GONE:
            await asyncio.to_thread(self.store.remove, subscription["endpoint"])
            log.info("push subscription at %s is gone (%s): removed", _where(subscription), status)
        elif status >= 300:
            log.warning("push to %s refused with status %s", _where(subscription), status)
        return status < 300

    async def send_test(self, user: str) -> int:
        """A test message to every device of `user`; how many push services accepted it."""
        subscriptions = self.store.subscriptions(user)
        if not subscriptions:
            raise UserError("No device of yours is subscribed: turn notifications on for this device first.")
        payload = {"title": "Claude Code Server", "body": "Test notification: push works on this device.",
                   "url": "", "tag": "push-test", "job_id": None, "approval_id": None, "kind": "test",
                   "actions": []}
        return await self.send(subscriptions, payload)


async def _in_daemon_thread(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in a thread of its own that nothing waits for at exit (asyncio.to_thread's pool is
    joined when the loop and the interpreter stop: a push service that does not answer would hold up a stop
    for the request's whole timeout)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        try:
            result, error = function(*args), None
        except BaseException as exc:  # handed to the awaiting task
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has stopped: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="web-push", daemon=True).start()
    return await future


def _where(subscription: dict[str, Any]) -> str:
    """A subscription's push service, for logs (the endpoint's path is the browser's secret handle)."""
    return urlsplit(subscription.get("endpoint", "")).netloc or "?"
