"""/api/approvals: pending tool permissions, questions and plans, and their answers (spec E1-E5)."""

from __future__ import annotations

from fastapi import APIRouter

from core.api.deps import ServicesDep
from core.api.schemas import ApprovalAnswer, ApprovalOut, Decision

router = APIRouter(tags=["approvals"])


@router.get("/approvals", response_model=list[ApprovalOut])
async def list_approvals(services: ServicesDep, job_id: str | None = None) -> list[ApprovalOut]:
    """Everything waiting for a person, oldest first, across all projects (or for one job)."""
    if job_id is not None:
        services.jobs.get(job_id)
    return [ApprovalOut(**a.to_dict()) for a in services.jobs.approvals.pending(job_id)]


@router.get("/jobs/{job_id}/approvals", response_model=list[ApprovalOut])
async def job_approvals(job_id: str, services: ServicesDep) -> list[ApprovalOut]:
    services.jobs.get(job_id)
    return [ApprovalOut(**a.to_dict()) for a in services.jobs.approvals.pending(job_id)]


@router.post("/approvals/{approval_id}", response_model=Decision)
async def answer_approval(approval_id: str, body: ApprovalAnswer, services: ServicesDep) -> Decision:
    """`allow`, `allow_always` (this tool, for the rest of the job) or `deny` with a `message`.

    Questions (AskUserQuestion) take `answers`: {question text: chosen label or free text};
    multi-select questions take a list of labels.
    """
    decision = services.jobs.approvals.answer(approval_id, body.behavior, body.message, body.answers)
    return Decision(approval_id=approval_id, allow=decision.allow, always=decision.always,
                    message=decision.message, answers=(decision.updated_input or {}).get("answers"))
