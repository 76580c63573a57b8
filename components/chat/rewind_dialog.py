"""Restore files to before a user message (spec L3): which files change first, then on confirmation.

The dry run may take a few seconds: a job without a live session has its conversation
re-attached to reach Claude Code's checkpoints. What it cannot do is said in the dialog,
in Claude Code's words or the server's.
"""

from __future__ import annotations

from typing import Any

from nicegui import background_tasks, ui

from components.chat.fmt import tag
from components.common.notify import toast
from core.errors import UserError

LISTED_FILES = 200
NOT_RESTORED = ("Only what Claude changed with its edit tools goes back; changes made by shell commands "
                "stay. The conversation stays as it is.")


class RewindDialog:
    def __init__(self, jobs: Any, job_id: str, user_seq: int, text: str) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.user_seq = user_seq
        with ui.dialog() as self.dialog, ui.card().classes("w-[36rem] max-w-full gap-3") as card:
            tag(card, "rewind-dialog")
            ui.label("Restore files to before this message").classes("text-h6")
            if text.strip():
                ui.label(text).classes("ccs-user whitespace-pre-wrap break-words w-full").style(
                    "max-height: 6.5em; overflow: hidden")
            self.body = ui.column().classes("w-full gap-2")
            with ui.row().classes("w-full justify-end gap-2"):
                self.cancel = tag(ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps"),
                                  "rewind-cancel")
                self.confirm = tag(ui.button("Restore files", icon="history", on_click=self._restore)
                                   .props("color=negative no-caps"), "rewind-confirm")
        self.confirm.set_visibility(False)
        self.dialog.on_value_change(lambda event: None if event.value else self.dialog.delete())
        self.dialog.open()
        live = jobs.is_live(job_id)
        self._waiting("Asking Claude Code which files would change…" if live else
                      "Re-attaching the session to read Claude Code's checkpoints…")
        background_tasks.create(self._plan(), name=f"rewind-plan-{job_id}")

    def _waiting(self, message: str) -> None:
        self.body.clear()
        with self.body, ui.row().classes("items-center gap-2 no-wrap"):
            ui.spinner(size="sm")
            tag(ui.label(message).classes("ccs-muted"), "rewind-waiting")

    def _cannot(self, reason: str) -> None:
        self.body.clear()
        with self.body, ui.row().classes("items-start gap-2 no-wrap text-negative"):
            ui.icon("block", size="xs").classes("q-mt-xs")
            tag(ui.label(reason).classes("whitespace-pre-wrap break-words"), "rewind-error")
        self.confirm.set_visibility(False)
        self.cancel.set_text("Close")

    async def _ask(self, dry_run: bool):
        """The rewind's result, or None once a refusal is shown (or nobody is looking any more)."""
        try:
            result = await self.jobs.rewinds.rewind(self.job_id, self.user_seq, dry_run=dry_run)
        except UserError as exc:
            result, refusal = None, str(exc)
        else:
            refusal = None if result.can_rewind else (
                result.error or "Claude Code cannot restore the files to before this message.")
        if self.dialog.is_deleted:
            return None
        if refusal is not None:
            self._cannot(refusal)
            return None
        return result

    async def _plan(self) -> None:
        plan = await self._ask(dry_run=True)
        if plan is None:
            return
        self.body.clear()
        with self.body:
            if not plan.files:
                tag(ui.label("What Claude changed with its edit tools is as it was before this message: "
                             "there is nothing to restore.").classes("whitespace-pre-wrap"), "rewind-nothing")
                self.cancel.set_text("Close")
                return
            count = len(plan.files)
            what = "1 file goes back to what it was" if count == 1 else f"{count} files go back to what they were"
            ui.label(f"{what} before this message (+{plan.insertions} −{plan.deletions} lines):")
            with tag(ui.column().classes("w-full gap-0 ccs-pre").style("max-height: 40vh; overflow-y: auto"),
                     "rewind-files"):
                for path in plan.files[:LISTED_FILES]:
                    tag(ui.label(path).classes("break-all"), "rewind-file")
                if count > LISTED_FILES:
                    ui.label(f"… and {count - LISTED_FILES} more").classes("ccs-muted")
            ui.label(NOT_RESTORED).classes("ccs-muted")
        self.confirm.set_text(f"Restore {count} file{'s' if count != 1 else ''}")
        self.confirm.set_visibility(True)

    async def _restore(self) -> None:
        self.confirm.set_visibility(False)
        self._waiting("Restoring the files…")
        done = await self._ask(dry_run=False)
        if done is None:
            return
        with self.dialog:
            toast(f"Restored {len(done.files)} file{'s' if len(done.files) != 1 else ''}.", type="positive")
        self.dialog.close()
