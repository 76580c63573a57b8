"""Browser notifications when an approval waits or a job finishes (spec E4), once the user allows them."""

from __future__ import annotations

import json

from nicegui import ui

from components.common.notify import toast
from core.services import Services

_JS = """
<style>.ccs-notify-granted [data-testid=enable-notifications] { display: none !important; }</style>
<script>
// Once the browser shows notifications (or cannot), the button that asks for them has nothing to do.
window.ccsNotifyGranted = function () {
  return !('Notification' in window) || Notification.permission === 'granted';
};
if (window.ccsNotifyGranted()) document.documentElement.classList.add('ccs-notify-granted');
window.ccsAskNotify = async function () {
  if (!('Notification' in window)) return 'unsupported';
  const answer = await Notification.requestPermission();
  if (window.ccsNotifyGranted()) document.documentElement.classList.add('ccs-notify-granted');
  return answer;
};
window.ccsNotify = function (title, body, tag) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return false;
  new Notification(title, {body: body, tag: tag});
  return true;
};
</script>
"""


class Notifier:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._running: set[str] = {j.id for j in services.jobs.list() if j.status == "running"}
        ui.add_head_html(_JS)
        self.client = ui.context.client  # notices arrive outside any page context
        ui.context.client.on_delete(services.hub.subscribe_all(self._on_notice))

    def button(self) -> None:
        """Shown only while the browser does not show notifications yet (hidden in the page's CSS once it does);
        a different icon from the approvals button beside it."""
        self._button = ui.button(icon="notification_add", on_click=self._ask).props(
            "flat round color=white aria-label='Enable browser notifications' data-testid=enable-notifications")
        self._button.tooltip("Enable browser notifications: an alert when Claude needs you or a job ends")

    async def _ask(self) -> None:
        try:
            answer = await self._button.client.run_javascript("window.ccsAskNotify()", timeout=120)
        except TimeoutError:  # the browser's question is still open
            return
        with self._button:
            self._said(answer)

    @staticmethod
    def _said(answer: object) -> None:
        if answer == "granted":
            toast("Browser notifications are on.")
        elif answer == "denied":
            toast("Notifications are blocked for this site: allow them in the browser's site settings.",
                      type="warning")
        elif answer == "unsupported":
            toast("This browser cannot show notifications.", type="warning")

    def _send(self, title: str, body: str, tag: str) -> None:
        args = ", ".join(json.dumps(value) for value in (title, body, tag))
        self.client.run_javascript(f"window.ccsNotify && window.ccsNotify({args})")

    def _on_notice(self, notice: dict) -> None:
        if notice.get("kind") == "approvals" and notice.get("pending", 0) > 0:
            job = self.services.jobs.jobs.get(notice.get("job_id", ""))
            pending = self.services.jobs.approvals.pending(notice.get("job_id"))
            if job and pending:
                self._send("Claude is waiting for you", f"{job.name}: {pending[-1].tool_name}",
                           f"approval-{pending[-1].id}")
        elif notice.get("kind") == "job":
            job = notice["job"]
            if job["status"] == "running":
                self._running.add(job["id"])
            elif job["id"] in self._running and job["status"] in ("idle", "completed", "failed"):
                self._running.discard(job["id"])
                verb = "failed" if job["status"] == "failed" else "finished"
                self._send(f"Job {verb}", job["name"], f"job-{job['id']}-{job.get('turns', 0)}")
