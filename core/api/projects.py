"""/api/projects: create, list, rename, archive and restore projects (spec B1, B2)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from core.api.deps import ServicesDep
from core.api.schemas import ProjectCreate, ProjectOut, ProjectUpdate
from core.errors import UserError, describe_os_error

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectOut)
async def create_project(body: ProjectCreate, services: ServicesDep, request: Request,
                         response: Response) -> ProjectOut:
    try:
        project = services.projects.create(body.name, body.path)
    except OSError as exc:  # e.g. a path component too long, or no permission to create the directory
        raise UserError(f"The project directory cannot be used: {describe_os_error(exc)}") from exc
    response.headers["Location"] = str(request.url_for("get_project", project_id=project.id))
    return ProjectOut.of(project)


@router.get("", response_model=list[ProjectOut])
async def list_projects(services: ServicesDep, include_archived: bool = False) -> list[ProjectOut]:
    return [ProjectOut.of(p) for p in services.projects.list(include_archived)]


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(project_id: str, services: ServicesDep) -> ProjectOut:
    return ProjectOut.of(services.projects.get(project_id))


@router.patch("/{project_id}", response_model=ProjectOut)
async def update_project(project_id: str, body: ProjectUpdate, services: ServicesDep) -> ProjectOut:
    """Rename (only the display name changes; the directory stays where it is), choose whether new jobs
    are isolated by default, or set the monthly budget (null removes it)."""
    project = services.projects.get(project_id)
    if body.name is not None:
        project = services.projects.rename(project_id, body.name)
    if body.isolate_jobs is not None:
        project = services.projects.set_isolate_jobs(project_id, body.isolate_jobs)
    if "monthly_budget_usd" in body.model_fields_set:
        project = services.projects.set_monthly_budget(project_id, body.monthly_budget_usd)
    return ProjectOut.of(project)


@router.post("/{project_id}/archive", response_model=ProjectOut)
async def archive_project(project_id: str, services: ServicesDep) -> ProjectOut:
    """Stops the project's live jobs first; nothing is deleted."""
    return ProjectOut.of(await services.archive_project(project_id))


@router.post("/{project_id}/restore", response_model=ProjectOut)
async def restore_project(project_id: str, services: ServicesDep) -> ProjectOut:
    return ProjectOut.of(services.restore_project(project_id))
