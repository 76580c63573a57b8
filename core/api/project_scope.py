"""What the per-project workspace routes (files, git, memory) share.

The project they name must exist (404) and not be archived (409, as for new
jobs); its directory must still be there. The services they call block on the
disk and on git subprocesses, so the calls run in worker threads, as the UI
panels run them: one slow repository must not hold up every other client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from core.api.deps import ServicesDep
from core.errors import Conflict, NotFound, UserError, describe_os_error
from core.models import Project
from core.workspace.files.service import FileService
from core.workspace.git.service import GitService
from core.workspace.memory import MemoryService

T = TypeVar("T")


async def active_project(project_id: str, services: ServicesDep) -> Project:
    project = services.projects.get(project_id)
    if project.archived:
        raise Conflict(f"Project {project.name!r} is archived; restore it first.")
    if not Path(project.path).is_dir():
        raise NotFound(f"Project directory {project.path} does not exist.")
    return project


ProjectDep = Annotated[Project, Depends(active_project)]


async def project_files(project: ProjectDep, services: ServicesDep) -> FileService:
    # The first use of a project starts its file index: that touches the disk, so not on the loop.
    return await off_loop(services.workspaces.files, project.id)


async def project_git(project: ProjectDep, services: ServicesDep) -> GitService:
    return services.workspaces.git(project.id)  # the Git tab's own: one lock for the UI's and the API's writes


async def project_memory(project: ProjectDep, services: ServicesDep) -> MemoryService:
    # It reads the project's jobs' first events to find the auto-memory folder the CLI reported.
    return await off_loop(services.workspaces.memory, project.id)


FilesDep = Annotated[FileService, Depends(project_files)]
GitDep = Annotated[GitService, Depends(project_git)]
MemoryDep = Annotated[MemoryService, Depends(project_memory)]


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn` in a worker thread; an operating-system error becomes a clear 404 or 400 instead of a 500."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except (FileNotFoundError, NotADirectoryError) as exc:  # something vanished while we looked
        raise NotFound(describe_os_error(exc)) from None
    except OSError as exc:  # no permission, a name too long, a full disk...
        raise UserError(describe_os_error(exc)) from None


class WorkspaceJSON(JSONResponse):
    """JSON that survives file names and file contents that are not valid UTF-8.

    The OS hands such names over with lone surrogates (PEP 383), which UTF-8 cannot
    encode: their bytes are decoded again here, invalid ones shown as U+FFFD.
    """

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that stands for no byte
            return text.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace").encode("utf-8")
