"""The Cron tab (spec G5): the scheduled tasks Claude created in the project, durable and per session.

Job notices (a job that ran CronCreate goes idle) mark the table stale; a timer
also reloads it, because the CLI rewrites `.claude/scheduled_tasks.json` when a
task fires without telling us, and the next-run times move on.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

from nicegui import background_tasks, ui

from components.common.format import age
from components.common.live_refresh import refresh_on_notices
from components.workspace.common import blocking, ensure_style, message_of, when_shown
from core.services import Services
from core.workspace.cron import CronTask

RELOAD_S = 30.0
# CronService keeps incremental scans of the job logs; two pages reading at once from worker threads must not
# interleave their updates of it.
COLUMNS = [
    {"name": "cron", "label": "Schedule", "field": "cron", "align": "left",
     "style": "white-space: nowrap; font-family: ui-monospace, monospace"},
    {"name": "kind", "label": "Runs", "field": "kind", "align": "left"},
    {"name": "durable", "label": "Durable", "field": "durable", "align": "left"},
    {"name": "prompt", "label": "Prompt", "field": "prompt", "align": "left",
     "style": "white-space: normal; min-width: 16rem"},
    {"name": "job", "label": "Job", "field": "job_name", "align": "left"},
    {"name": "last_run", "label": "Last run", "field": "last_run", "align": "left", "style": "white-space: nowrap"},
    {"name": "next_run", "label": "Next run", "field": "next_run", "align": "left", "style": "white-space: nowrap"},
]
# On a phone the table's columns did not fit: each task is a block of "label value" lines.
PHONE_CSS = """@media (max-width: 700px) {
  .ws-cron thead { display: none; }
  .ws-cron table, .ws-cron tbody, .ws-cron tr, .ws-cron td { display: block; width: 100%; }
  .ws-cron tr { height: auto !important; padding: 6px 0; border-bottom: 1px solid rgba(127, 127, 127, .28); }
  .ws-cron td { height: auto !important; min-width: 0 !important; padding: 2px 8px !important; border: none !important;
                white-space: normal !important; overflow-wrap: anywhere; }
  .ws-cron td::before { position: static !important; display: inline-block; width: 6.5em; background: none !important;
                        opacity: .65; font: 12px sans-serif; }  /* (Quasar's hover layer, put back in line) */
""" + "".join(f'  .ws-cron td:nth-child({n})::before {{ content: "{c["label"]}"; }}\n'
              for n, c in enumerate(COLUMNS, 1)) + "}"
# The server navigates (ui.navigate adds the path prefix of an embedded app); the name is text, never HTML.
_JOB_SLOT = """
<q-td :props="props">
  <a v-if="props.row.job_id" href="#" class="text-primary" data-testid="cron-job-link"
     @click.prevent="() => $parent.$emit('open_job', props.row.job_id)">{{ props.row.job_name }}</a>
  <span v-else class="text-grey">unknown</span>
</q-td>
"""


def when_text(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M") if timestamp else "—"


class CronPanel:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None) -> None:
        ensure_style()
        ensure_style("cron", PHONE_CSS)
        self.services = services
        self.project_id = project_id
        self.root = ui.column().classes("w-full q-pa-sm gap-2")
        when_shown(self._build)

    def _build(self) -> Awaitable[None]:
        with self.root:
            with ui.row().classes("w-full items-center no-wrap"):
                ui.label("Scheduled tasks").classes("text-subtitle1 whitespace-nowrap")
                ui.space()
                self.updated = ui.label().classes("text-caption text-grey whitespace-nowrap")
                ui.button(icon="refresh", on_click=self.reload).props(
                    "flat dense round aria-label=Refresh data-testid=cron-refresh")
            ui.label("Durable tasks live in .claude/scheduled_tasks.json and survive restarts; session tasks "
                     "live only while the job's Claude process runs.").classes("text-caption text-grey")
            self.error = ui.label().classes("ws-error").props("data-testid=cron-error")
            self.error.visible = False
            self.table = ui.table(columns=COLUMNS, rows=[], row_key="id").classes("w-full ws-cron").props(
                "dense flat wrap-cells no-data-label='No scheduled tasks in this project.' data-testid=cron-table")
            self.table.add_slot("body-cell-job", _JOB_SLOT)
            self.table.on("open_job", lambda e: ui.navigate.to(f"/job/{e.args}"))
            refresh_on_notices(self.services.hub, self._reload_soon, self._is_project_job, interval=1.0)
            ui.timer(RELOAD_S, self.reload)
        return self.reload()

    def _tasks(self) -> list[CronTask]:
        return self.services.cron.tasks(self.project_id)

    def _reload_soon(self) -> None:
        background_tasks.create(self.reload(), name="cron reload")  # the notice timer calls plain functions

    def _is_project_job(self, notice: dict) -> bool:
        return notice.get("kind") == "job" and notice["job"]["project_id"] == self.project_id

    async def reload(self) -> None:
        try:
            tasks = await blocking(self._tasks)
        except Exception as exc:
            self.error.text = message_of(exc)
            self.error.visible = True
            return
        self.error.visible = False
        self.table.rows = [self._row(task) for task in tasks]
        self.table.update()
        self.updated.text = f"updated {datetime.now().strftime('%H:%M:%S')}"

    def _row(self, task: CronTask) -> dict:
        job_name = ""
        if task.job_id:
            try:
                job_name = self.services.jobs.get(task.job_id).name
            except Exception:  # an archived or deleted job still names the task's origin
                job_name = task.job_id
        next_run = when_text(task.next_run) if task.valid else "never (unreadable schedule)"
        return {
            "id": task.id, "cron": task.cron, "kind": "recurring" if task.recurring else "once",
            "durable": "yes" if task.durable else "session", "prompt": task.prompt,
            "job_id": task.job_id, "job_name": job_name,
            "last_run": f"{when_text(task.last_run)} ({age(task.last_run)})" if task.last_run else "never",
            "next_run": next_run,
        }
