"""The one owner of each project's workspace objects, held by `Services` (`services.workspaces`).

A project's file service (its index thread), git service (its lock, which serialises
writes from every page and API client) and memory files are made on first use and
shared by the panels and the API; `close_all` ends them with the server.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from core.claude_home import claude_config_dir
from core.workspace.files.service import FileService, FileServices
from core.workspace.git.service import GitService
from core.workspace.memory import MemoryService, reported_auto_dir

if TYPE_CHECKING:
    from core.services import Services


class Workspaces:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._files = FileServices()
        self._git: dict[str, GitService] = {}
        self._lock = threading.Lock()

    def directory(self, project_id: str, job_id: str | None = None) -> Path:
        """Where a project's panels work: the project's folder, or an isolated job's own worktree."""
        if job_id is not None:
            job = self._services.jobs.get(job_id)
            if job.isolated and job.worktree:
                return Path(job.worktree)
        return self._services.projects.directory(project_id)

    def files(self, project_id: str, job_id: str | None = None) -> FileService:
        """The first call for a folder builds its file index in the background: call it off the event loop."""
        return self._files.get(self.directory(project_id, job_id))

    def git(self, project_id: str, job_id: str | None = None) -> GitService:
        """The one GitService per repository folder: its lock serialises every writer."""
        return self.git_at(self.directory(project_id, job_id))

    def git_at(self, directory: Path | str) -> GitService:
        key = str(Path(directory).resolve())
        with self._lock:
            service = self._git.get(key)
            if service is None:
                service = self._git[key] = GitService(key)
            return service

    def memory(self, project_id: str, job_id: str | None = None) -> MemoryService:
        """For this server: its own HOME and config folder, and the auto-memory folder its sessions reported
        (read from the project's jobs' first events: call it off the event loop)."""
        return MemoryService(self.directory(project_id, job_id), Path.home(), config_dir=claude_config_dir(),
                             auto_memory_dir=reported_auto_dir(self._services.jobs, project_id))

    def forget(self, project_id: str, job_id: str | None = None) -> None:
        """Drop a folder's file service (a project archived, a worktree removed): stops its index thread."""
        self._files.forget(self.directory(project_id, job_id))

    def close_all(self) -> None:
        self._files.close_all()
