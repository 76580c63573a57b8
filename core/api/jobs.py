"""/api/jobs: submit, inspect, list and control jobs (spec C1-C11).

Routes are `async def` on purpose: the session manager is not thread-safe and
starts tasks on the running loop, so it must be called from the loop, as the UI does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from core.api.deps import ServicesDep
from core.api.schemas import (
    CarriedOver,
    JobCreate,
    JobDetail,
    JobOut,
    JobRename,
    JobSettings,
    JobStatusName,
    LiveInfo,
)
from core.models import Job

router = APIRouter(prefix="/jobs", tags=["jobs"])


def created(job: Job, request: Request, response: Response) -> JobOut:
    """201 with a Location under whatever prefix the API is mounted at."""
    response.headers["Location"] = str(request.url_for("get_job", job_id=job.id))
    return JobOut.of(job)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=JobOut)
async def create_job(body: JobCreate, services: ServicesDep, request: Request, response: Response) -> JobOut:
    """Start a job in a project. It runs at once, or waits as `queued` when all running slots are taken."""
    images = [image.to_image() for image in body.images]
    job = services.jobs.submit(body.project_id, body.prompt, images, mode=body.mode, model=body.model,
                               permission_mode=body.permission_mode, thinking_tokens=body.thinking_tokens,
                               effort=body.effort, name=body.name, isolated=body.isolated, base=body.base,
                               budget_usd=body.budget_usd, over_budget=body.over_budget)
    return created(job, request, response)


@router.get("", response_model=list[JobOut])
async def list_jobs(services: ServicesDep, project_id: str | None = None, status: JobStatusName | None = None,
                    include_archived: bool = False) -> list[JobOut]:
    """Newest first. Archived jobs are left out unless asked for (or filtered by `status=archived`)."""
    include_archived = include_archived or status == "archived"
    if project_id is not None:
        services.projects.get(project_id)  # an unknown project is a 404, not an empty list
    return [JobOut.of(j) for j in services.jobs.list(project_id, include_archived, status)]


@router.get("/{job_id}", response_model=JobDetail)
async def get_job(job_id: str, services: ServicesDep) -> JobDetail:
    """The job record plus what only the live session knows (queued prompts, streaming reply...)."""
    job = services.jobs.get(job_id)
    return JobDetail(**job.to_dict(), live_info=LiveInfo(**services.jobs.live_info(job_id)))


@router.patch("/{job_id}", response_model=JobOut)
async def rename_job(job_id: str, body: JobRename, services: ServicesDep) -> JobOut:
    return JobOut.of(services.jobs.rename(job_id, body.name))


@router.patch("/{job_id}/settings", response_model=JobOut)
async def update_settings(job_id: str, body: JobSettings, services: ServicesDep) -> JobOut:
    """Model, permission mode, thinking, effort and the cost cap; a live session picks them up between turns."""
    sent = body.model_fields_set
    clear = tuple(name for name in sent if getattr(body, name) is None)
    job = await services.jobs.update_settings(
        job_id, model=body.model if "model" in sent else None, permission_mode=body.permission_mode,
        thinking_tokens=body.thinking_tokens, effort=body.effort, budget_usd=body.budget_usd, clear=clear)
    return JobOut.of(job)


@router.get("/{job_id}/context")
async def job_context(job_id: str, services: ServicesDep) -> dict[str, Any]:
    """How full the live job's context window is (spec N2): `tokens`, `max_tokens`, `percent`,
    `auto_compact_at` (the CLI compacts by itself there; null when it does not), `model` and the biggest
    `parts`. 409 when the job has no running Claude Code process. Send `/compact` as a message to compact."""
    return await services.jobs.inspect.context(job_id)


@router.post("/{job_id}/stop", response_model=JobOut)
async def stop_job(job_id: str, services: ServicesDep) -> JobOut:
    """Interrupt the running turn (a queued job never starts)."""
    return JobOut.of(await services.jobs.stop(job_id))


@router.post("/{job_id}/complete", response_model=JobOut)
async def complete_job(job_id: str, services: ServicesDep) -> JobOut:
    """Complete Now (a job) or Close Session (a session): end the live channel."""
    return JobOut.of(services.jobs.complete(job_id))


@router.post("/{job_id}/pin", response_model=JobOut)
async def pin_job(job_id: str, services: ServicesDep) -> JobOut:
    """Pin as Session: a live job keeps its channel and stops counting down."""
    return JobOut.of(services.jobs.pin(job_id))


@router.post("/{job_id}/resume", response_model=JobOut)
async def resume_session(job_id: str, services: ServicesDep) -> JobOut:
    """Resume as Session: re-attach a finished job's conversation as a live idle session."""
    return JobOut.of(services.jobs.resume_session(job_id))


@router.post("/{job_id}/archive", response_model=JobOut)
async def archive_job(job_id: str, services: ServicesDep) -> JobOut:
    """Stops a live job first; nothing is deleted."""
    return JobOut.of(await services.jobs.archive(job_id))


@router.post("/{job_id}/restore", response_model=JobOut)
async def restore_job(job_id: str, services: ServicesDep) -> JobOut:
    return JobOut.of(services.jobs.restore(job_id))


@router.post("/{job_id}/carry-over", response_model=CarriedOver)
async def carry_over(job_id: str, services: ServicesDep) -> CarriedOver:
    """An isolated job: bring the main checkout's uncommitted changes into its worktree (they stay in the main
    checkout too)."""
    return CarriedOver(paths=await services.jobs.isolation.carry_over(job_id))


@router.post("/{job_id}/discard-branch", response_model=JobOut)
async def discard_branch(job_id: str, services: ServicesDep) -> JobOut:
    """An archived isolated job: delete its branch, and the work on it, for good."""
    return JobOut.of(await services.jobs.isolation.discard_branch(job_id))
