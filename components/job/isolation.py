"""Isolated jobs in the UI (spec L1): the new-job switch, and what a job's header says of its worktree."""

from __future__ import annotations

from nicegui import ui

from components.common.notify import toast
from components.workspace.common import blocking, notify_error
from core.errors import UserError
from core.services import Services


class IsolationOption:
    """"Own worktree and branch" on the new-job form: the project's default, and a way to make git ready."""

    def __init__(self, services: Services, project_id: str) -> None:
        self.services = services
        self.project_id = project_id
        project = services.projects.get(project_id)
        with ui.column().classes("gap-1"):
            self.switch = ui.switch("Own worktree and branch", value=project.isolate_jobs,
                                    on_change=self._changed).props("dense data-testid=isolated")
            self.switch.tooltip("The job works in a git worktree of its own, on its own branch: jobs started side "
                                "by side do not touch each other's files, and its changes are reviewed and merged.")
            with ui.row().classes("items-center gap-2") as self.no_repo:
                ui.label("Isolated jobs need a git repository with a commit.").classes("text-caption text-warning")
                ui.button("Initialise git with a first commit", on_click=self._initialise).props(
                    "dense flat no-caps color=primary data-testid=git-init-commit")
            self.default = ui.checkbox("Isolate this project's new jobs by default", value=project.isolate_jobs,
                                       on_change=self._default_changed).props("dense data-testid=isolate-default")
        self._changed()

    @property
    def value(self) -> bool:
        return bool(self.switch.value)

    def _ready(self) -> bool:
        git = self.services.workspaces.git(self.project_id)
        try:
            return git.is_repo() and git.has_commits()
        except UserError:
            return False

    def _changed(self) -> None:
        self.no_repo.set_visibility(self.value and not self._ready())

    def _default_changed(self) -> None:
        self.services.projects.set_isolate_jobs(self.project_id, bool(self.default.value))

    async def _initialise(self) -> None:
        try:
            await blocking(self.services.workspaces.git(self.project_id).init, True)
        except UserError as exc:
            notify_error(exc)
            return
        toast("The project is a git repository now, with a first commit.", type="positive")
        self._changed()


class IsolationBar:
    """In a job's header: its branch and base, and the main checkout's changes it does not have."""

    def __init__(self, services: Services, job_id: str) -> None:
        self.services = services
        self.job_id = job_id
        with ui.column().classes("w-full gap-1") as self.root:
            with ui.row().classes("items-center gap-1 text-caption text-grey no-wrap"):
                ui.icon("call_split", size="xs")
                # A branch name has no spaces: on a phone it breaks anywhere rather than run off the screen.
                self.branch = ui.label().style("overflow-wrap: anywhere").props("data-testid=job-branch")
            with ui.row().classes("w-full items-center gap-2 rounded-borders q-px-sm bg-amber-1 text-black") \
                    .props("data-testid=uncommitted-elsewhere") as self.elsewhere:
                self.elsewhere_text = ui.label().classes("text-caption")
                ui.button("Carry them over", on_click=self._carry_over).props(
                    "dense flat no-caps color=primary data-testid=carry-over")
        self._shown: tuple | None = None

    def update(self, job) -> None:
        shown = (job.isolated, job.branch, job.base, tuple(job.uncommitted_elsewhere), job.status)
        if shown == self._shown:
            return
        self._shown = shown
        self.root.set_visibility(job.isolated)
        if not job.isolated:
            return
        base = f" from {job.base}" if job.base else (" from a detached HEAD" if job.branch else "")
        if job.branch:
            self.branch.set_text(f"Branch {job.branch}{base}")
        else:
            self.branch.set_text("Preparing its worktree…" if job.status in ("queued", "running") else
                                 "Its worktree is made when it runs")
        changed = job.uncommitted_elsewhere
        self.elsewhere.set_visibility(bool(changed))
        if changed:
            named = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            self.elsewhere_text.set_text(f"Uncommitted changes in the main checkout are not in this job's "
                                         f"worktree: {named}.")

    async def _carry_over(self) -> None:
        try:
            carried = await self.services.jobs.isolation.carry_over(self.job_id)
        except UserError as exc:
            notify_error(exc)
            return
        toast(f"Carried over {len(carried)} changed file{'s' if len(carried) != 1 else ''}.", type="positive")
