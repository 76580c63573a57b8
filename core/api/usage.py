"""/api/usage: what agents cost and used, per day, project, model and job, for a period (spec N1)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Query, Response

from core.api.deps import ServicesDep
from core.errors import UserError
from core.usage import parse_day

router = APIRouter(prefix="/usage", tags=["usage"])
MAX_DAYS = 3 * 366
_START = Query(None, description="First day, YYYY-MM-DD (default: 29 days before the end).")
_END = Query(None, description="Last day, YYYY-MM-DD, included (default: today).")
_PROJECT = Query(None, description="Only this project's jobs.")


def period(start: str | None, end: str | None) -> tuple[date, date]:
    """The days a request asks for; UserError for a day that is not one or a period over three years."""
    try:
        last = parse_day(end, date.today())
        first = parse_day(start, last - timedelta(days=29))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if abs((last - first).days) > MAX_DAYS:
        raise UserError("A period can be at most three years long.")
    return (first, last) if first <= last else (last, first)


@router.get("")
async def usage(services: ServicesDep, start: str | None = _START, end: str | None = _END,
                project_id: str | None = _PROJECT) -> dict[str, Any]:
    """Totals, every day of the period, per project and per model (most expensive first), and the most
    expensive jobs, with the names of the projects and jobs. Costs in USD; tokens: input, output, cache
    reads and cache writes."""
    first, last = period(start, end)
    if project_id:
        services.projects.get(project_id)  # 404 for a project that does not exist
    # Off the loop: the first report after a start may read the summary and the turns logged since.
    return asdict(await asyncio.to_thread(services.jobs.usage.report, first, last, project_id))


@router.get("/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def usage_csv(services: ServicesDep, start: str | None = _START, end: str | None = _END,
                    project_id: str | None = _PROJECT) -> Response:
    """The period's usage as CSV: one row per day, project, model and job."""
    first, last = period(start, end)
    text = await asyncio.to_thread(services.jobs.usage.csv, first, last, project_id)
    filename = f"usage-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

