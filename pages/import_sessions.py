"""`/import`: sessions the Claude Code CLI saved on this machine, imported as finished, resumable jobs (spec H3)."""

from __future__ import annotations

from datetime import datetime

from nicegui import ui

from components.common.format import text_of_input
from components.common.notify import toast
from components.workspace.common import blocking, message_of, notify_error
from core.jobs.importer import LocalSession
from core.services import Services
from pages.layout import frame

ALL_FOLDERS = "__all__"
COLUMNS = [
    {"name": "title", "label": "Session", "field": "title", "align": "left", "sortable": True,
     "style": "white-space: normal; min-width: 16rem"},
    {"name": "cwd", "label": "Folder", "field": "cwd", "align": "left", "sortable": True},
    {"name": "modified", "label": "Last active", "field": "modified_text", "align": "left", "sortable": True,
     ":sort": "(a, b, rowA, rowB) => rowA.modified - rowB.modified"},
    {"name": "messages", "label": "Messages", "field": "message_count", "align": "right", "sortable": True},
    {"name": "status", "label": "", "field": "imported_job_id", "align": "left"},
]
# Imported sessions have no checkbox: they cannot be imported twice.
_SELECT_SLOT = """
<q-td auto-width>
  <q-checkbox v-if="!props.row.imported_job_id" v-model="props.selected" dense />
</q-td>
"""
_STATUS_SLOT = """
<q-td :props="props">
  <a v-if="props.row.imported_job_id" href="#" class="text-positive" data-testid="import-open-job"
     @click.prevent="() => $parent.$emit('open_job', props.row.imported_job_id)">imported · open job</a>
</q-td>
"""


def matches(session: LocalSession, words: list[str], folder: str) -> bool:
    """The core's rule for a query (every word in the title, first prompt or folder), plus the folder choice."""
    if folder != ALL_FOLDERS and session.cwd != folder:
        return False
    haystack = " ".join(filter(None, (session.title, session.first_prompt, session.cwd))).lower()
    return all(word in haystack for word in words)


def _row(session: LocalSession) -> dict:
    return {**session.to_dict(), "modified_text": datetime.fromtimestamp(session.modified).strftime("%Y-%m-%d %H:%M")}


class ImportView:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.sessions: list[LocalSession] = []
        ui.label("Import CLI sessions").classes("text-h5")
        ui.label("Sessions the Claude Code CLI saved on this machine (~/.claude/projects). An imported session "
                 "becomes a completed job with its transcript; send it a message to resume it with its full "
                 "context.").classes("text-grey")
        with ui.row().classes("w-full items-center gap-2"):
            self.query = ui.input(placeholder="Filter by title, prompt or folder").props(
                "dense outlined clearable debounce=200 data-testid=import-filter").classes("grow")
            self.folder = ui.select({ALL_FOLDERS: "All folders"}, value=ALL_FOLDERS).props(
                "dense outlined options-dense data-testid=import-folder").classes("w-72")
            ui.button(icon="refresh", on_click=self.discover).props(
                "flat round dense aria-label=Refresh data-testid=import-refresh")
        self.query.on_value_change(self.render)
        self.folder.on_value_change(self.render)
        self.status = ui.label().classes("text-caption text-grey").props("data-testid=import-status")
        self.table = ui.table(columns=COLUMNS, rows=[], row_key="session_id", selection="multiple",
                              pagination={"rowsPerPage": 25, "sortBy": "modified", "descending": True},
                              on_select=self._selection_changed).classes("w-full").props(
            "dense flat wrap-cells no-data-label='No sessions found.' data-testid=import-table")
        self.table.add_slot("body-selection", _SELECT_SLOT)
        self.table.add_slot("body-cell-status", _STATUS_SLOT)
        self.table.on("open_job", lambda e: ui.navigate.to(f"/job/{e.args}"))
        with ui.row().classes("items-center gap-2"):
            self.import_button = ui.button("Import selected", icon="download", on_click=self.import_selected).props(
                "no-caps data-testid=import-selected")
            self.import_button.disable()
            self.error = ui.label().classes("ws-error").props("data-testid=import-error")

    async def discover(self) -> None:
        self.status.text = "Looking for sessions…"
        try:
            self.sessions = await blocking(self.services.importer.discover)
        except Exception as exc:
            self.status.text = message_of(exc)
            return
        folders = sorted({s.cwd for s in self.sessions if s.cwd})
        self.folder.set_options({ALL_FOLDERS: "All folders", **{f: f for f in folders}},
                                value=self.folder.value if self.folder.value in folders else ALL_FOLDERS)
        self.render()

    def render(self) -> None:
        words = text_of_input(self.query).lower().split()
        shown = [s for s in self.sessions if matches(s, words, self.folder.value)]
        self.table.rows = [_row(s) for s in shown]
        self.table.selected = [r for r in self.table.selected if any(s.session_id == r["session_id"] for s in shown)]
        self.table.update()
        imported = sum(1 for s in shown if s.imported_job_id)
        self.status.text = f"{len(shown)} of {len(self.sessions)} sessions · {imported} already imported"
        self._selection_changed()

    def _selectable(self) -> list[str]:
        return [r["session_id"] for r in self.table.selected if not r.get("imported_job_id")]

    def _selection_changed(self, _=None) -> None:
        count = len(self._selectable())
        self.import_button.text = f"Import selected ({count})" if count else "Import selected"
        self.import_button.set_enabled(bool(count))

    async def import_selected(self) -> None:
        ids = self._selectable()
        if not ids:
            return
        self.error.text = ""
        try:
            # Reading the sessions' files in a thread; recording the jobs on the event loop, whose notices
            # other pages handle there.
            plans = await blocking(self.services.importer.plan, ids)
            jobs = self.services.importer.apply(plans)
        except Exception as exc:
            self.error.text = notify_error(exc)
            return
        self.table.selected = []
        toast(f"Imported {len(jobs)} session{'s' if len(jobs) != 1 else ''}.", type="positive")
        await self.discover()


def register(services: Services) -> None:
    @ui.page("/import")
    def import_page() -> None:
        with frame(services, title="Import sessions"):
            view = ImportView(services)
            # Discovery reads every transcript's head: the page shows first, the list follows.
            ui.timer(0.01, view.discover, once=True)
