"""The one place the domain is assembled: pages, the API, tests and benches all start here."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from core import sdk
from core.errors import UserError
from core.hub import Hub
from core.jobs.importer import SessionImporter
from core.jobs.manager import JobManager
from core.jobs.search import JobSearch
from core.notify.push import PushNotifier
from core.projects import ProjectService
from core.security.redact import Redactor
from core.settings import Settings
from core.workspace.cron import CronService
from core.workspace.reviews import JobReviews
from core.workspace.terminal import TerminalManager
from core.workspace.workspaces import Workspaces
from storage.event_log import EventLogStore
from storage.state_store import StateStore

SDK_PRELOAD_AFTER_S = 1.0  # after the first pages: the SDK's import holds the GIL for half a second


@dataclass
class Services:
    settings: Settings
    store: StateStore
    logs: EventLogStore
    hub: Hub
    projects: ProjectService
    jobs: JobManager
    search: JobSearch
    redactor: Redactor  # every secret the server knows: masked in what it stores and sends
    terminals: TerminalManager = field(default_factory=TerminalManager)
    cron: CronService = field(init=False)
    importer: SessionImporter = field(init=False)
    workspaces: Workspaces = field(init=False)
    reviews: JobReviews = field(init=False)  # isolated jobs' changes, accepted hunks and merges (spec L2)
    push: PushNotifier = field(init=False)  # Web Push to people's devices (spec M2)

    def __post_init__(self) -> None:
        # One of each, for the server's life: they keep incremental state about every job or project.
        self.cron = CronService(self)
        self.importer = SessionImporter(self)
        self.workspaces = Workspaces(self)
        self.jobs.isolation.git_at = self.workspaces.git_at  # one lock per repository for every writer
        self.reviews = JobReviews(self)
        self.push = PushNotifier(self.settings.state_dir, self.hub, self.jobs, self.settings.push_contact)

    @classmethod
    def create(cls, settings: Settings) -> Services:
        settings.projects_root.mkdir(parents=True, exist_ok=True)
        settings.state_dir.mkdir(exist_ok=True)
        settings.state_dir.chmod(0o700)  # keys, credentials and transcripts: the server's user only
        redactor = Redactor(settings.secrets())
        store = StateStore(settings.state_dir / "state")
        # A key a tool printed is masked before it reaches the disk (the login secrets join later: main.secure).
        logs = EventLogStore(settings.state_dir / "logs", mask=redactor.data)
        hub = Hub()
        projects = ProjectService(settings, store, hub)
        jobs = JobManager(settings, store, logs, hub, projects)
        jobs.recover()
        search = JobSearch(jobs, hub)
        return cls(settings, store, logs, hub, projects, jobs, search, redactor)

    def start(self) -> None:
        """Background work that needs a running event loop."""
        self.jobs.start_background()
        self.push.start()
        threading.Thread(target=self.search.build, name="search-index", daemon=True).start()
        # The SDK is not imported for the first pages (core/sdk.py): import it once they are served, off the loop.
        preload = threading.Timer(SDK_PRELOAD_AFTER_S, sdk.preload)
        preload.daemon = True
        preload.start()

    async def archive_project(self, project_id: str):
        """Archiving stops the project's live jobs first (spec B2); nothing is deleted."""
        for job in self.jobs.list(project_id):
            if self.jobs.is_live(job.id) or job.id in self.jobs.live:
                await self.jobs.end_live(job.id)
        return self.projects.set_archived(project_id, True)

    def restore_project(self, project_id: str):
        return self.projects.set_archived(project_id, False)

    def file_completer(self, project_id: str):
        """`@` completion for the composer: fuzzy project file paths from the project's file index."""
        def complete(query: str) -> list[str]:
            try:
                return self.workspaces.files(project_id).complete(query, 8)
            except UserError:  # the folder went away: nothing to complete
                return []

        return complete

    async def shutdown(self) -> None:
        await self.push.shutdown()
        await self.terminals.close_all()
        self.workspaces.close_all()
        await self.jobs.shutdown()

