"""A job's title bar: name (rename), status, mode, grace countdown, and the controls its state allows."""

from __future__ import annotations

from nicegui import ui

from components.common.format import cost, countdown, status_color, status_label, text_of_input
from components.common.live_refresh import refresh_on_notices
from components.common.notify import toast
from components.common.rename_dialog import open_rename_dialog
from components.job.isolation import IsolationBar
from core.errors import UserError
from core.jobs.export import export
from core.models import EFFORT_LEVELS, PERMISSION_MODES
from core.services import Services

# (label, icon, handler method, test id, colour), in the order they show.
CONTROLS = (
    ("Stop", "stop", "stop", "stop", "negative"),
    ("Complete now", "done", "complete", "complete-now", "primary"),
    ("Pin as session", "push_pin", "pin", "pin", "primary"),
    ("Close session", "logout", "complete", "close-session", "primary"),
    ("Resume as session", "play_arrow", "resume", "resume-session", "primary"),
    ("Retry", "replay", "retry", "retry", "primary"),
    ("Restore", "unarchive", "restore", "restore", "primary"),
    ("Archive", "archive", "archive", "archive", "grey"),
    ("Discard branch", "delete_forever", "confirm_discard_branch", "discard-branch", "negative"),
)
EXPORTS = (("Markdown", "markdown"), ("HTML page", "html"), ("JSON (imports back)", "json"))
RETRY_BLOCKED = "Retry is not offered until Anthropic credentials are configured: it would fail the same way."


class JobHeader:
    def __init__(self, services: Services, job_id: str) -> None:
        self.services = services
        self.job_id = job_id
        self.box = ui.column().classes("w-full gap-1")
        self._shown: tuple | None = None
        self._settings_shown: tuple | None = None
        self._forms: list[_SettingsForm] = []  # the Settings menu's, and the phone's dialog's
        self._items: dict[str, ui.menu_item] = {}  # the phone menu's controls, by test id
        self.render()
        refresh_on_notices(services.hub, self.render,
                           lambda n: (n.get("kind") == "job" and n["job"]["id"] == job_id)
                           or (n.get("kind") == "approvals" and n.get("job_id") == job_id))
        self._countdown_timer = ui.timer(1.0, self._tick)

    @property
    def job(self):
        return self.services.jobs.get(self.job_id)

    def render(self) -> None:
        # The parts change in place: a job's notices arrive several times a turn, and a redraw would close
        # the Settings menu under the user's hands. The controls are rebuilt only when which ones apply,
        # or the settings they show, change.
        job = self.job
        live = self.services.jobs.is_live(job.id)
        if self._shown is None:
            self._build(job)
        parent = self.services.jobs.jobs.get(job.parent_job_id or "")
        waiting = bool(self.services.jobs.approvals.pending(job.id))
        shown = (job.name, status_label(job.to_dict(), live, waiting), status_color(job.status, waiting), job.mode,
                 job.cost_usd, job.error, parent and (parent.id, parent.name), job.waiting_for, job.runs_on, live)
        if shown != self._shown:
            self._shown = shown
            self.name.set_text(job.name)
            self.status.set_text(shown[1])
            self.status.props(f"color={shown[2]}")
            self.session_chip.set_visibility(job.mode == "session")
            self.cost.set_text(cost(job.cost_usd))
            self.error.set_text(job.error or "")
            self.error.set_visibility(bool(job.error))
            self._show_where(job, live)
            self.parent_link.set_visibility(parent is not None)
            if parent is not None:
                self.parent_link.set_text(f"Forked from: {parent.name}")
                self.parent_link.props(f"href=/job/{parent.id}")
        self.isolation.update(job)
        allowed = self._allowed_controls(job, live)
        # A retry cannot succeed without credentials: say why it is not offered instead of letting it fail again.
        blocked = "retry" in allowed and not self.services.jobs.has_credentials()
        if blocked:
            allowed.discard("retry")
        self.retry_blocked.set_visibility(blocked)
        for testid, button in self._buttons.items():
            button.set_visibility(testid in allowed)
            self._items[testid].set_visibility(testid in allowed)
        settings = (job.model, job.permission_mode, job.thinking_tokens, job.effort, job.budget_usd)
        if settings != self._settings_shown:  # changed elsewhere (another window, the API): show the new values
            self._settings_shown = settings
            for form in self._forms:
                form.show(job)
        self._tick()

    def _build(self, job) -> None:
        with self.box:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                with ui.link(target=f"/project/{job.project_id}").classes("ccs-phone-only no-underline").props(
                        "data-testid=back-to-jobs aria-label='Back to the jobs'"):
                    ui.icon("arrow_back", size="sm")
                self.name = ui.label().classes("text-h6 ellipsis cursor-pointer").props("data-testid=job-name")
                self.name.on("click", self.open_rename)
                self.status = ui.badge().props("data-testid=job-status")
                self.session_chip = ui.chip("session", icon="push_pin").props("dense outline data-testid=mode-session")
                # Not on a phone: there the job's name needs the room more.
                self.countdown = ui.label("").classes("text-caption text-grey whitespace-nowrap ccs-hide-phone").props(
                    "data-testid=grace")
                ui.space()
                self.cost = ui.label().classes("text-caption text-grey").props("data-testid=job-cost")
                self._phone_menu()
            self.parent_link = ui.link("", "/").classes("text-caption").props("data-testid=parent-link")
            with ui.row().classes("items-center no-wrap gap-1 text-caption") as self.where:
                self.where_icon = ui.icon("dns", size="xs")
                self.where_text = ui.label().classes("min-w-0").props("data-testid=job-where")
            self.isolation = IsolationBar(self.services, self.job_id)
            self.error = ui.label().classes("text-negative text-caption").props("data-testid=job-error")
            # Every control exists from the start and shows when the job's state allows it: a state change
            # then only flips visibilities, and never closes the Settings menu under the user's hands.
            # On a phone they do not fit in a row: the same actions are in the ⋮ menu of the first row.
            with ui.row().classes("gap-1 ccs-controls ccs-hide-phone"):
                self._buttons = {
                    testid: ui.button(label, icon=icon, on_click=getattr(self, method)).props(
                        f"dense outline color={color} data-testid={testid}")
                    for label, icon, method, testid, color in CONTROLS}
                with ui.button("Settings", icon="tune").props("dense outline color=grey data-testid=job-settings"):
                    with ui.menu().props("auto-close=false"), ui.column().classes("q-pa-md gap-2 w-72"):
                        self._settings_form()
                self._export_menu()
            self.retry_blocked = ui.label(RETRY_BLOCKED).classes("text-caption text-warning").props(
                "data-testid=retry-blocked")
            self.retry_blocked.set_visibility(False)

    def _show_where(self, job, live: bool) -> None:
        """Spec O2: on which machine of the Ray cluster Claude Code runs, or why it waits for one."""
        if job.waiting_for:
            text, icon, color = job.waiting_for, "hourglass_empty", "text-warning"
        elif job.runs_on:
            text, icon, color = f"{'On' if live else 'Last ran on'} {job.runs_on}", "dns", "text-grey"
        else:
            self.where.set_visibility(False)
            return
        self.where.set_visibility(True)
        self.where.classes(remove="text-warning text-grey", add=color)
        self.where_icon.props(f"name={icon}")
        self.where_text.set_text(text)

    @staticmethod
    def _allowed_controls(job, live: bool) -> set[str]:
        """The controls the job's state allows, by test id."""
        status = job.status
        allowed = {"restore" if status == "archived" else "archive"}
        if status in ("running", "queued"):
            allowed.add("stop")
        if live and status == "idle" and job.mode == "job":
            allowed.add("complete-now")
        if live and status in ("idle", "running") and job.mode == "job":
            allowed.add("pin")
        if status == "idle" and job.mode == "session":
            allowed.add("close-session")
        if job.finished and job.session_id:
            allowed.add("resume-session")
        if status == "failed" and not job.session_id:
            allowed.add("retry")
        if status == "archived" and job.isolated and job.branch:
            allowed.add("discard-branch")
        return allowed

    def _phone_menu(self) -> None:
        """On a phone: one ⋮ button with every control, the settings (in a dialog) and the exports."""
        with ui.button(icon="more_vert").props(
                "flat round dense aria-label='Job actions' data-testid=job-more").classes("ccs-phone-only"):
            # Closed in the browser by any click in it: closed from the server, it stayed open after an action
            # whose item the action hides (Pin).
            with ui.menu().props("auto-close data-testid=job-more-menu"):
                for label, icon, method, testid, color in CONTROLS:
                    with ui.menu_item(on_click=getattr(self, method), auto_close=False).props(
                            f"data-testid=more-{testid}") as item:
                        with ui.item_section().props("avatar"):
                            ui.icon(icon, color=None if color == "grey" else color)
                        ui.item_section(label)
                    self._items[testid] = item
                ui.separator()
                with ui.menu_item(on_click=self._open_settings_dialog, auto_close=False).props(
                        "data-testid=more-settings"):
                    with ui.item_section().props("avatar"):
                        ui.icon("tune")
                    ui.item_section("Settings…")
                for label, fmt in EXPORTS:
                    with ui.menu_item(on_click=lambda f=fmt: self._download(f), auto_close=False).props(
                            f"data-testid=more-export-{fmt}"):
                        with ui.item_section().props("avatar"):
                            ui.icon("ios_share")
                        ui.item_section(f"Export: {label}")
        # The settings' fields in a dialog as wide as the phone: a menu hung on a hidden button has no place.
        with ui.dialog() as self._settings_dialog, ui.card().classes("w-full q-pa-md gap-2").props(
                "data-testid=job-settings-dialog"):
            with ui.row().classes("w-full items-center no-wrap"):
                ui.label("Job settings").classes("text-h6")
                ui.space()
                ui.button(icon="close", on_click=self._settings_dialog.close).props(
                    "flat round dense aria-label=Close")
            self._settings_form()

    def _open_settings_dialog(self) -> None:
        self._settings_dialog.open()

    def _settings_form(self) -> None:
        self._forms.append(_SettingsForm(self.services, self.job_id, self.box))

    def _export_menu(self) -> None:
        """The conversation as a file (spec N5)."""
        with ui.button("Export", icon="ios_share").props("dense outline color=grey data-testid=job-export"):
            with ui.menu():
                for label, fmt in EXPORTS:
                    ui.menu_item(label, on_click=lambda f=fmt: self._download(f)).props(
                        f"data-testid=export-{fmt}")

    def _download(self, fmt: str) -> None:
        job = self.services.jobs.get(self.job_id)
        exported = export(job, self.services.jobs.events(self.job_id), fmt)
        ui.download(exported.content, exported.filename, exported.media_type)

    def _tick(self) -> None:
        job = self.services.jobs.jobs.get(self.job_id)
        if job is None:
            return
        left = countdown(job.grace_deadline)
        self.countdown.set_text(f"completes in {left}" if left else "")

    async def _act(self, action, done: str | None = None) -> None:
        # After an await the clicked button may be gone (the header redraws on the job's changes): speak
        # through the header's box, which lives as long as the page.
        try:
            result = action()
            if hasattr(result, "__await__"):
                await result
        except UserError as exc:
            with self.box:
                toast(str(exc), type="negative")
            return
        with self.box:
            if done:
                toast(done)
        self.render()

    async def stop(self) -> None:
        await self._act(lambda: self.services.jobs.stop(self.job_id), "Stopping the current turn.")

    async def complete(self) -> None:
        await self._act(lambda: self.services.jobs.complete(self.job_id))

    async def pin(self) -> None:
        await self._act(lambda: self.services.jobs.pin(self.job_id), "Pinned: this job stays open as a session.")

    async def resume(self) -> None:
        await self._act(lambda: self.services.jobs.resume_session(self.job_id))

    async def retry(self) -> None:
        await self._act(lambda: self.services.jobs.retry(self.job_id), "Sent the prompt again.")

    async def archive(self) -> None:
        await self._act(lambda: self.services.jobs.archive(self.job_id), "Archived.")

    async def restore(self) -> None:
        await self._act(lambda: self.services.jobs.restore(self.job_id), "Restored.")

    def confirm_discard_branch(self) -> None:
        branch = self.job.branch
        with self.box, ui.dialog() as dialog, ui.card().classes("w-96 max-w-full"):
            ui.label(f"Delete the branch {branch}?").classes("text-subtitle1")
            ui.label("Everything the job did that was not merged is lost for good.").classes("text-caption")

            async def discard() -> None:
                dialog.close()
                await self._act(lambda: self.services.jobs.isolation.discard_branch(self.job_id),
                                f"Deleted the branch {branch}.")

            with ui.row().classes("w-full justify-end"):
                ui.button("Keep it", on_click=dialog.close).props("flat")
                ui.button("Delete the branch", on_click=discard).props("color=negative data-testid=discard-confirm")
        dialog.open()

    def open_rename(self) -> None:
        open_rename_dialog("Job name", self.job.name, lambda name: self.services.jobs.rename(self.job_id, name),
                           self.render)


class _SettingsForm:
    """A job's own settings (model, permission mode, thinking, effort, budget) and Save: in the header's Settings
    menu, and on a phone in a dialog."""

    def __init__(self, services: Services, job_id: str, box) -> None:
        self.services, self.job_id, self.box = services, job_id, box
        # Full width each: a field as narrow as its value cut its label short ("Permi…").
        self.model = ui.input("Model").props("dense clearable").classes("w-full")
        self.mode = ui.select(list(PERMISSION_MODES), label="Permission mode").classes("w-full")
        self.thinking = ui.number("Thinking tokens (0 = off)", min=0, step=1024).classes("w-full")
        self.effort = ui.select([""] + list(EFFORT_LEVELS), label="Effort").classes("w-full")
        self.budget = ui.number("Budget, USD (empty: none)", min=0, step=1, format="%.2f").props(
            "data-testid=job-budget-setting").classes("w-full")
        ui.button("Save", on_click=self.save).props("dense")

    def show(self, job) -> None:
        self.model.value, self.mode.value = job.model or "", job.permission_mode
        self.thinking.value, self.effort.value = job.thinking_tokens, job.effort or ""
        self.budget.value = job.budget_usd

    async def save(self) -> None:
        name, tokens, cap = text_of_input(self.model).strip(), self.thinking.value, self.budget.value
        if not isinstance(tokens, int | float) or tokens < 0:  # cleared (or not a number at all)
            tokens = None
        if not isinstance(cap, int | float) or cap <= 0:  # cleared: no budget
            cap = None
        effort = self.effort.value
        clear = tuple(k for k, v in (("model", name), ("effort", effort), ("budget_usd", cap)) if not v)
        try:
            await self.services.jobs.update_settings(
                self.job_id, model=name or None, permission_mode=self.mode.value,
                thinking_tokens=int(tokens) if tokens is not None else None,
                effort=effort or None, budget_usd=cap, clear=clear)
        except UserError as exc:
            with self.box:
                toast(str(exc), type="negative")
            return
        with self.box:
            toast("Settings saved; they apply from the next turn.")
