"""The prompt composer (F1-F3): Enter sends, Shift+Enter breaks the line, drafts survive switching
jobs, images by picker, drag-and-drop or paste, `/` commands and `@` file completion, and the
options of a new job."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from nicegui import app, ui

from components.common.format import text_of_input
from components.common.notify import toast
from components.job.isolation import IsolationOption
from core.errors import UserError
from core.jobs.budgets import BudgetReached
from core.jobs.images import MAX_IMAGE_BYTES, MAX_IMAGES, Image, from_base64, validate
from core.models import EFFORT_LEVELS, PERMISSION_MODES
from core.services import Services

LOCAL_COMMANDS = [
    {"name": "session", "description": "Keep this job open as a session (Pin as Session)"},
    {"name": "stop", "description": "Stop the current turn"},
    {"name": "close", "description": "Complete the job now / close the session"},
]
# What `/` offers before a job exists: only making it a session means anything yet.
NEW_JOB_COMMANDS = [{"name": "session", "description": "Start this job as a session (it stays open)"}]
# Why the image picker refused files, by the check that failed (Quasar's `failedPropValidation`).
REJECTIONS = {
    "max-files": f"At most {MAX_IMAGES} images per message: the first {MAX_IMAGES} were kept.",
    "max-file-size": f"Images must be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB each.",
    "accept": "Images must be JPEG, PNG, GIF or WebP.",
}
# Read each pasted image in the browser and hand it to the server as base64.
_PASTE_JS = """(e) => {
  const items = (e.clipboardData && e.clipboardData.items) || [];
  for (const item of items) {
    if (item.kind !== 'file' || !item.type.startsWith('image/')) continue;
    const file = item.getAsFile();
    const reader = new FileReader();
    reader.onload = () => emit({name: file.name || 'pasted-image', type: file.type,
                                data: String(reader.result).split(',')[1]});
    reader.readAsDataURL(file);
  }
}"""
_DROP_JS = _PASTE_JS.replace("(e.clipboardData && e.clipboardData.items)", "(e.dataTransfer && e.dataTransfer.items)")
_SUGGESTION_KEYS_JS = """(e) => {
  if (!['ArrowUp', 'ArrowDown', 'Tab', 'Escape'].includes(e.key) || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey)
    return;
  const box = document.getElementById('BOX_ID');
  if (!box || !box.children.length) return;
  e.preventDefault();
  emit(e.key);
}"""
_AT_TOKEN = re.compile(r"(^|\s)@([^\s@]*)$")


class Composer:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None,
                 file_completer: Callable[[str], list[str]] | None = None,
                 on_sent: Callable[[str], None] | None = None) -> None:
        self.services = services
        self.project_id = project_id
        self.job_id = job_id
        self.file_completer = file_completer
        self.on_sent = on_sent
        self.images: list[Image] = []
        self._choices: list[tuple[str, str, str]] = []  # the suggestions shown: (label, caption, replacement)
        self._chosen = 0  # the highlighted one, taken by Enter or Tab
        self.draft_key = f"draft-{job_id or 'new-' + project_id}"
        with ui.column().classes("w-full gap-1").props("data-testid=composer") as self.root:
            self.root.on("dragover.prevent", lambda: None, js_handler="() => {}")
            self.root.on("drop.prevent", self._on_paste, js_handler=_DROP_JS)
            self.thumbs = ui.row().classes("gap-2")
            self.suggestions = ui.column().classes("w-full gap-0").props("data-testid=suggestions")
            with ui.row().classes("w-full items-end no-wrap gap-2"):
                self.text = ui.textarea(
                    placeholder="Message Claude… (Enter to send, Shift+Enter for a new line, / for commands, "
                                "@ for files)",
                    value=app.storage.user.get(self.draft_key, "")).props(
                    "outlined autogrow dense data-testid=prompt").classes("grow")
                self.text.on("keydown.enter.exact.prevent", self.send)
                # While suggestions show, the arrows move through them and Tab (or Enter) takes one; otherwise
                # the keys keep their usual meaning in the text.
                self.text.on("keydown", self._on_suggestion_key, js_handler=_SUGGESTION_KEYS_JS.replace(
                    "BOX_ID", f"c{self.suggestions.id}"))
                self.text.on("paste", self._on_paste, js_handler=_PASTE_JS)
                self.text.on_value_change(self._on_change)
                # The picker is Quasar's uploader, hidden behind a paperclip; drops land on the whole composer.
                self.upload = ui.upload(multiple=True, auto_upload=True, max_file_size=MAX_IMAGE_BYTES,
                                        max_files=MAX_IMAGES, on_upload=self._on_upload).props(
                    "accept='image/png,image/jpeg,image/gif,image/webp' data-testid=image-upload").classes("hidden")
                # Quasar says which of its checks each rejected file failed: say that one, not all of them.
                self.upload.on("rejected", self._on_rejected,
                               js_handler="(entries) => emit((entries || []).map(e => e.failedPropValidation))")
                ui.button(icon="attach_file", on_click=lambda: self.upload.run_method("pickFiles")).props(
                    "flat round aria-label='Attach images' data-testid=attach")
                ui.button(icon="send", on_click=self.send).props("round aria-label=Send data-testid=send")
            if job_id is None:
                self._new_job_options()

    # -- new-job options ------------------------------------------------------------------

    def _new_job_options(self) -> None:
        settings = self.services.settings
        with ui.expansion("Options", icon="tune").classes("w-full").props("dense data-testid=job-options"):
            with ui.row().classes("items-center gap-4"):
                self.mode = ui.toggle({"job": "One-shot job", "session": "Session"}, value="job").props(
                    "dense data-testid=mode")
                self.model = ui.input("Model", value=settings.default_model or "").props("dense")
                self.permission_mode = ui.select(list(PERMISSION_MODES), value=settings.default_permission_mode,
                                                 label="Permission mode").props("dense").classes("w-44")
                self.thinking = ui.number("Thinking tokens (0 = off)", min=0, step=1024).props("dense").classes(
                    "w-44")
                self.effort = ui.select([""] + list(EFFORT_LEVELS), value="", label="Effort").props(
                    "dense").classes("w-28")
                self.budget = ui.number("Budget, USD (empty: none)", min=0, step=1, format="%.2f").props(
                    "dense data-testid=job-budget").classes("w-44")
            self.isolation = IsolationOption(self.services, self.project_id)

    # -- drafts and completion ------------------------------------------------------------

    def _on_change(self, _event=None) -> None:
        value = text_of_input(self.text)
        app.storage.user[self.draft_key] = value
        self._suggest(value)

    def _suggest(self, value: str) -> None:
        items: list[tuple[str, str, str]] = []  # (label, caption, replacement text)
        if value.startswith("/") and "\n" not in value and " " not in value:
            wanted = value[1:].lower()
            commands = (LOCAL_COMMANDS + self.services.jobs.slash_commands(self.job_id) if self.job_id
                        else NEW_JOB_COMMANDS)
            for command in commands:
                name = str(command.get("name", "")).lstrip("/")
                if name.lower().startswith(wanted):
                    items.append((f"/{name}", str(command.get("description", ""))[:80], f"/{name} "))
        else:
            match = _AT_TOKEN.search(value)
            if match and self.file_completer:
                head = value[: match.start(2) - 1]
                for path in self.file_completer(match.group(2))[:8]:
                    items.append((f"@{path}", "", f"{head}@{path} "))
        self._choices, self._chosen = items[:10], 0
        self._render_suggestions()

    def _render_suggestions(self) -> None:
        self.suggestions.clear()
        with self.suggestions:
            for index, (label, caption, replacement) in enumerate(self._choices):
                chosen = index == self._chosen
                with ui.row().classes("w-full items-center gap-2 cursor-pointer q-px-sm rounded-borders" + (
                        " bg-blue-9 text-white" if chosen else "")).props(
                        f"data-testid=suggestion aria-selected={'true' if chosen else 'false'}") as row:
                    ui.label(label).classes("text-body2" + ("" if chosen else " text-primary"))
                    ui.label(caption).classes("text-caption ellipsis" + ("" if chosen else " text-grey"))
                row.on("click", lambda r=replacement: self._apply(r))

    def _on_suggestion_key(self, event) -> None:
        if not self._choices:
            return
        key = event.args
        if key == "Escape":
            self._choices = []
            self.suggestions.clear()
        elif key in ("ArrowUp", "ArrowDown"):
            self._chosen = (self._chosen + (1 if key == "ArrowDown" else -1)) % len(self._choices)
            self._render_suggestions()
        elif key == "Tab":
            self._apply(self._choices[self._chosen][2])

    def _apply(self, replacement: str) -> None:
        self.text.value = replacement
        self._choices = []
        self.suggestions.clear()
        self.text.run_method("focus")

    # -- images ---------------------------------------------------------------------------

    def _on_rejected(self, event) -> None:
        reasons = {str(r) for r in event.args} if isinstance(event.args, list) else set()
        messages = [message for reason, message in REJECTIONS.items() if reason in reasons]
        toast(" ".join(messages) or REJECTIONS["accept"], type="negative")

    async def _on_upload(self, event) -> None:
        data = await event.file.read()
        self._add_image(Image(event.file.content_type, data, event.file.name))
        self.upload.run_method("reset")

    def _on_paste(self, event) -> None:
        args = event.args if isinstance(event.args, dict) else {}  # the browser's word: any JSON at all
        try:
            self._add_image(from_base64(str(args.get("type", "")), str(args.get("data", "")),
                                        str(args.get("name", "pasted-image"))))
        except UserError as exc:
            toast(str(exc), type="negative")

    def _add_image(self, image: Image) -> None:
        try:
            validate(self.images + [image])
        except UserError as exc:
            toast(str(exc), type="negative")
            return
        self.images.append(image)
        self._render_thumbs()

    def _render_thumbs(self) -> None:
        self.thumbs.clear()
        with self.thumbs:
            for index, image in enumerate(self.images):
                source = f"data:{image.media_type};base64,{base64.b64encode(image.data).decode()}"
                with ui.card().classes("q-pa-xs").props("data-testid=thumbnail"):
                    ui.image(source).classes("w-16 h-16").props("fit=cover")
                    ui.button(icon="close", on_click=lambda i=index: self._remove(i)).props(
                        "flat dense round size=xs")

    def _remove(self, index: int) -> None:
        if 0 <= index < len(self.images):
            self.images.pop(index)
        self._render_thumbs()

    # -- sending --------------------------------------------------------------------------

    async def send(self) -> None:
        await self._send(over_budget=False)

    async def _send(self, over_budget: bool) -> None:
        # Not send()'s parameter: NiceGUI hands an event handler that takes one the event's arguments.
        text = text_of_input(self.text).strip()
        if self._choices and not any(text == label for label, _, _ in self._choices):
            self._apply(self._choices[self._chosen][2])  # Enter on a partial `/comp` or `@pa` takes the suggestion
            return
        if await self._local_command(text):
            return
        text = text_of_input(self.text).strip()  # a local command may have left only the prompt
        try:
            if self.job_id is None:
                job = self.services.jobs.submit(self.project_id, text, self.images, **self._options(),
                                                over_budget=over_budget)
                job_id = job.id
            else:
                self.services.jobs.follow_up(self.job_id, text, self.images, over_budget=over_budget)
                job_id = self.job_id
        except BudgetReached as exc:
            self._ask_to_continue(str(exc))
            return
        except UserError as exc:
            toast(str(exc), type="negative")
            return
        self.text.value = ""
        app.storage.user.pop(self.draft_key, None)
        self.images = []
        self._render_thumbs()
        self._choices = []
        self.suggestions.clear()
        if self.on_sent:
            self.on_sent(job_id)

    def _ask_to_continue(self, reason: str) -> None:
        """A budget is used up (spec N3): say which and by how much; going on is the person's deliberate choice."""
        with ui.dialog() as dialog, ui.card().classes("max-w-md").props("data-testid=budget-dialog"):
            ui.label("Budget reached").classes("text-h6")
            ui.label(reason).props("data-testid=budget-reason")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")

                async def go_on() -> None:
                    dialog.close()
                    await self._send(over_budget=True)

                ui.button("Continue anyway", on_click=go_on).props("color=warning data-testid=budget-continue")
        dialog.open()

    def _options(self) -> dict:
        thinking = self.thinking.value
        if not isinstance(thinking, int | float) or thinking < 0:  # cleared, or not a number at all
            thinking = None
        budget = self.budget.value
        return {"mode": self.mode.value, "model": text_of_input(self.model).strip() or None,
                "permission_mode": self.permission_mode.value,
                "thinking_tokens": int(thinking) if thinking is not None else None,
                "effort": self.effort.value or None, "isolated": self.isolation.value,
                "budget_usd": budget if isinstance(budget, int | float) and budget > 0 else None}

    async def _local_command(self, text: str) -> bool:
        if self.job_id is None:
            return self._new_job_command(text)
        if text not in ("/session", "/stop", "/close"):
            return False
        jobs = self.services.jobs
        try:
            if text == "/session":
                jobs.pin(self.job_id)
            elif text == "/stop":
                await jobs.stop(self.job_id)
            else:
                jobs.complete(self.job_id)
        except UserError as exc:
            toast(str(exc), type="negative")
            return True
        self.text.value = ""
        return True

    def _new_job_command(self, text: str) -> bool:
        """On the new-job page `/session` makes the job a session (`/session <prompt>` starts it); `/stop` and
        `/close` have no job to act on yet. Anything else is the prompt."""
        command, _, rest = text.partition(" ")
        if command == "/session":
            self.mode.value = "session"
            if rest.strip():
                self.text.value = rest.strip()
                return False  # sent as the prompt of a session
            self.text.value = ""
            toast("This job will start as a session (it stays open until you close it): "
                      "now write its first prompt.")
            return True
        if command in ("/stop", "/close"):
            toast(f"{command} acts on a running job; there is none yet. Write a prompt to start one.",
                      type="warning")
            return True
        return False
