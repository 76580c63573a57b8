"""Notification settings (spec M2): this device's push subscription, which events are pushed, a test message.

The events are kept on the server per user (core/notify/push.py); the subscription lives in the
browser (its service worker's pushManager) and is handed to the server through the API by
`window.ccsPush` (components/shell/pwa.js), the browser asking for permission first.
"""

from __future__ import annotations

from nicegui import ui

from components.common.notify import toast
from core.errors import UserError
from core.notify.push import OWNER
from core.services import Services

EVENT_LABELS = {
    "approvals": "Claude waits for you: a question, a plan or a permission",
    "finished": "A job finished its turn",
    "failed": "A job failed",
}
_JS_TIMEOUT_S = 60.0  # the browser's permission prompt waits for a person


class NotificationSettings:
    def __init__(self, services: Services, user: str = OWNER) -> None:
        self.services = services
        self.user = user
        self._shown = False  # what the switch shows of this device: a change back to it is ours, not a click
        with ui.column().classes("w-full gap-4").style("max-width: 44rem"):
            ui.label("Notifications").classes("text-h5")
            ui.label("Push notifications reach this device even when no page of this server is open: a "
                     "permission request can be allowed or denied, a plan approved, from the notification "
                     "itself.").classes("text-body2 text-grey-5")
            with ui.card().classes("w-full").props("flat bordered"):
                ui.label("This device").classes("text-subtitle1 text-weight-medium")
                self.device = ui.switch("Push notifications on this device", on_change=self._device_changed) \
                    .props("data-testid=push-device")
                self.device_status = ui.label("Checking this browser…").classes("text-caption text-grey-5") \
                    .props("data-testid=push-device-status")
                ui.button("Send a test notification", icon="notifications", on_click=self._test) \
                    .props("outline no-caps data-testid=push-test")
            with ui.card().classes("w-full").props("flat bordered"):
                ui.label("What is pushed").classes("text-subtitle1 text-weight-medium")
                ui.label("For every device of yours that has push turned on.").classes("text-caption text-grey-5")
                preferences = services.push.store.preferences(user)
                for event, label in EVENT_LABELS.items():
                    ui.switch(label, value=preferences[event],
                              on_change=lambda e, event=event: self._event_changed(event, e.value)) \
                        .props(f"data-testid=push-event-{event}")
        ui.timer(0.1, self._read_device, once=True)

    async def _read_device(self) -> None:
        try:
            state = await ui.run_javascript("return await window.ccsPush.state()", timeout=_JS_TIMEOUT_S)
        except TimeoutError:
            self.device_status.text = "This browser did not answer."
            return
        if not state.get("supported"):
            self.device.disable()
            self.device_status.text = "This browser cannot receive push notifications."
            return
        self._set_device(bool(state.get("subscribed")))
        if state.get("permission") == "denied":
            self.device_status.text = "Notifications are blocked for this site in the browser's settings."
        else:
            self.device_status.text = "On: this device receives pushes." if state.get("subscribed") else \
                "Off: turn it on and allow notifications when the browser asks."

    def _set_device(self, value: bool) -> None:
        self._shown = value
        self.device.value = value

    async def _device_changed(self, event) -> None:
        on = bool(event.value)
        if on == self._shown:  # set by _set_device, not by a person
            return
        self._shown = on
        self.device_status.text = "Asking the browser…" if on else "Turning off…"
        call = "window.ccsPush.subscribe()" if on else "window.ccsPush.unsubscribe()"
        try:
            result = await ui.run_javascript(f"return await {call}", timeout=_JS_TIMEOUT_S)
        except TimeoutError:
            result = {"ok": False, "error": "The browser did not answer."}
        if result.get("ok"):
            self.device_status.text = "On: this device receives pushes." if on else "Off."
        else:
            self._set_device(not on)
            self.device_status.text = f"Could not turn it {'on' if on else 'off'}: {result.get('error')}"
            toast(self.device_status.text, type="negative")

    def _event_changed(self, event: str, value: bool) -> None:
        self.services.push.store.set_preferences(self.user, {event: bool(value)})

    async def _test(self) -> None:
        try:
            sent = await self.services.push.send_test(self.user)
        except UserError as exc:
            toast(str(exc), type="warning")
            return
        if sent:
            toast(f"Sent to {sent} device{'s' if sent != 1 else ''}.", type="positive")
        else:
            toast("No push service accepted it; the server log says why.", type="negative")
