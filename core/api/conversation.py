"""A job's conversation: follow-ups, forks, edit & resend, restoring files, and the stored transcript
(spec C5, C7, D5, D6, L3), export and import (spec N5)."""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi import APIRouter, Query, Request, Response, status

from core.api.deps import ServicesDep
from core.api.jobs import created
from core.api.schemas import EditResend, Fork, JobOut, Message, Rewind, RewindOut, Transcript
from core.errors import UserError
from core.jobs import export
from storage.atomic_json import dumps

router = APIRouter(prefix="/jobs", tags=["conversation"])

MAX_PAGE = 5000


@router.post("/{job_id}/messages", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
async def follow_up(job_id: str, body: Message, services: ServicesDep) -> JobOut:
    """Send a follow-up. A running job queues it until its turn ends (a `prompt_queued` event says so);
    a finished job resumes its conversation, or starts afresh with a `warning` event if it has none."""
    images = [image.to_image() for image in body.images]
    return JobOut.of(services.jobs.follow_up(job_id, body.prompt, images, over_budget=body.over_budget))


@router.post("/{job_id}/fork", status_code=status.HTTP_201_CREATED, response_model=JobOut)
async def fork(job_id: str, body: Fork, services: ServicesDep, request: Request, response: Response) -> JobOut:
    """A new job whose conversation is this one up to the assistant turn at `at_seq`, then `prompt`."""
    images = [image.to_image() for image in body.images]
    return created(services.jobs.fork(job_id, body.at_seq, body.prompt, images), request, response)


@router.post("/{job_id}/edit", status_code=status.HTTP_201_CREATED, response_model=JobOut)
async def edit_resend(job_id: str, body: EditResend, services: ServicesDep, request: Request,
                      response: Response) -> JobOut:
    """A new job whose conversation is this one before the user message at `user_seq`, then `prompt`."""
    images = [image.to_image() for image in body.images]
    return created(services.jobs.edit_resend(job_id, body.user_seq, body.prompt, images), request, response)


@router.post("/{job_id}/rewind", response_model=RewindOut)
async def rewind(job_id: str, body: Rewind, services: ServicesDep) -> RewindOut:
    """Restore the files Claude changed since the user message at `user_seq` to what they were before it.

    `dry_run` only lists them. A real restore adds a `rewind` event to the transcript; the conversation
    goes on as it was. A job without a live session has its conversation resumed first (no prompt is
    sent). 409 while a turn is running; `can_rewind` false, with `error`, when Claude Code kept no
    checkpoint for that message.
    """
    return RewindOut(**asdict(await services.jobs.rewinds.rewind(job_id, body.user_seq, dry_run=body.dry_run)))


@router.get("/{job_id}/transcript", response_model=Transcript)
async def transcript(job_id: str, services: ServicesDep,
                     after_seq: int | None = Query(None, ge=0, description="Events after this seq (forwards)."),
                     before_seq: int | None = Query(None, ge=1, description="Events before this seq (backwards)."),
                     limit: int = Query(1000, ge=1, le=MAX_PAGE)) -> Response:
    """Stored events, oldest first, paged by seq.

    Forwards: `after_seq` (default 0) returns the first `limit` events after it.
    Backwards: `before_seq` returns the last `limit` events before it; start from `last_seq + 1`.
    """
    if after_seq is not None and before_seq is not None:
        raise UserError("Give after_seq or before_seq, not both.")
    last_seq = services.logs.log(services.jobs.get(job_id).id).last_seq()
    if before_seq is not None:
        events = services.jobs.events_before(job_id, before_seq, limit)
        has_more = len(events) == limit and events[0]["seq"] > 1
    else:
        events = services.jobs.events(job_id, after_seq or 0, limit)
        has_more = bool(events) and events[-1]["seq"] < last_seq
    # Stored events are plain JSON already: serialized at once, not validated into `Transcript` and out again
    # (a third of the time of reading a 0.7 MB reply). The model documents the shape.
    page = {"job_id": job_id, "events": events, "last_seq": last_seq, "has_more": has_more}
    return Response(dumps(page), media_type="application/json")


@router.get("/{job_id}/export", response_class=Response,
            responses={200: {"content": {"text/markdown": {}, "text/html": {}, "application/json": {}}}})
async def export_conversation(job_id: str, services: ServicesDep,
                              format: str = Query("markdown", description="markdown, html or json")) -> Response:
    """The job's conversation as a file to download (spec N5): Markdown; one self-contained HTML page that loads
    and runs nothing; or JSON, which `POST /api/jobs/import` turns back into the same conversation."""
    job = services.jobs.get(job_id)
    exported = export.export(job, services.jobs.events(job_id), format)
    return Response(exported.content, media_type=exported.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'})


@router.post("/import", status_code=status.HTTP_201_CREATED, response_model=JobOut)
async def import_conversation(request: Request, response: Response, services: ServicesDep,
                              project_id: str = Query(..., description="The project the conversation joins.")
                              ) -> JobOut:
    """A conversation exported as JSON (`GET /api/jobs/{id}/export?format=json`) as a new, finished job of the
    project, with the same transcript. A follow-up starts a new conversation with the CLI."""
    services.projects.get(project_id)
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise UserError("The body is not JSON.") from None
    job, history = export.imported(project_id, data)
    return created(services.jobs.add_imported_job(job, history), request, response)
