"""Approvals end to end: the real CLI asks, a person answers, the model sees the answer (spec E1-E5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.helpers import kinds, wait_status, wait_until
from tests.support.scripted_model import text, tool_use

pytestmark = pytest.mark.warm_pool  # the default: the pool on (spec O1)

QUESTION = {"questions": [{"question": "Which colour?", "header": "Colour", "multiSelect": False,
                           "options": [{"label": "Red", "description": "warm"},
                                       {"label": "Blue", "description": "cool"}]}]}


async def _pending(services, job_id, kind):
    await wait_until(lambda: any(a.kind == kind for a in services.jobs.approvals.pending(job_id)),
                     what=f"a pending {kind}")
    return next(a for a in services.jobs.approvals.pending(job_id) if a.kind == kind)


async def test_question_answer_reaches_the_model(services, project, scripted_model):
    scripted_model.add_response(tool_use("AskUserQuestion", QUESTION))
    scripted_model.add_response(text("Blue it is."))
    job = services.jobs.submit(project.id, "pick a colour", permission_mode="bypassPermissions")
    approval = await _pending(services, job.id, "question")
    assert approval.input["questions"][0]["question"] == "Which colour?"
    services.jobs.approvals.answer(approval.id, "allow", answers={"Which colour?": "Blue"})
    await wait_status(services.jobs, job.id, "idle")
    results = scripted_model.tool_results(scripted_model.requests[1])
    assert any("Blue" in r.content for r in results), results
    assert "approval_resolved" in kinds(services.jobs.events(job.id))


async def test_denied_tool_is_reported_to_the_model(services, project, scripted_model):
    target = Path(project.path) / "nope.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "x"}))
    scripted_model.add_response(text("Understood."))
    job = services.jobs.submit(project.id, "write a file", permission_mode="default")
    approval = await _pending(services, job.id, "permission")
    assert approval.tool_name == "Write"
    services.jobs.approvals.answer(approval.id, "deny", message="not in this folder")
    await wait_status(services.jobs, job.id, "idle")
    assert not target.exists()
    results = scripted_model.tool_results(scripted_model.requests[1])
    assert any(r.is_error and "not in this folder" in r.content for r in results), results


async def test_allowed_tool_runs_and_always_allow_skips_the_next_prompt(services, project, scripted_model):
    first, second = Path(project.path) / "a.txt", Path(project.path) / "b.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(first), "content": "a"}))
    scripted_model.add_response(tool_use("Write", {"file_path": str(second), "content": "b"}))
    scripted_model.add_response(text("Both written."))
    job = services.jobs.submit(project.id, "write two files", permission_mode="default")
    approval = await _pending(services, job.id, "permission")
    services.jobs.approvals.answer(approval.id, "allow_always")
    await wait_status(services.jobs, job.id, "idle")
    assert first.read_text() == "a" and second.read_text() == "b"
    assert services.jobs.get(job.id).always_allow == ["Write"]
    prompts = [e for e in services.jobs.events(job.id) if e["kind"] == "approval"]
    assert len(prompts) == 1


async def test_plan_approved_then_work_continues(services, project, scripted_model):
    plan = "# Plan\n1. Create plan.txt"
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": plan}))
    scripted_model.add_response(text("Plan accepted, starting."))
    job = services.jobs.submit(project.id, "plan something", permission_mode="plan")
    approval = await _pending(services, job.id, "plan")
    assert approval.input["plan"] == plan
    services.jobs.approvals.answer(approval.id, "allow")
    await wait_status(services.jobs, job.id, "idle")
    results = scripted_model.tool_results(scripted_model.requests[1])
    assert results and not results[0].is_error, results


async def test_plan_rejected_with_reason_reaches_the_model(services, project, scripted_model):
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": "Delete everything"}))
    scripted_model.add_response(text("I will revise the plan."))
    job = services.jobs.submit(project.id, "plan something", permission_mode="plan")
    approval = await _pending(services, job.id, "plan")
    services.jobs.approvals.answer(approval.id, "deny", message="too risky, keep the files")
    await wait_status(services.jobs, job.id, "idle")
    results = scripted_model.tool_results(scripted_model.requests[1])
    assert any(r.is_error and "too risky" in r.content for r in results), results


async def test_unanswered_plan_is_approved_and_question_discarded_after_timeout(
        services_factory, project_factory, scripted_model):
    services = services_factory(plan_timeout_s=1.0, question_timeout_s=1.0)
    project = project_factory(services)
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": "Step one"}))
    scripted_model.add_response(tool_use("AskUserQuestion", QUESTION))
    scripted_model.add_response(text("Carrying on without an answer."))
    job = services.jobs.submit(project.id, "plan and ask", permission_mode="plan")
    await wait_status(services.jobs, job.id, "idle", timeout=40)
    plan_result = scripted_model.tool_results(scripted_model.requests[1])[0]
    assert not plan_result.is_error
    question_result = scripted_model.tool_results(scripted_model.requests[2])[-1]
    assert question_result.is_error and "did not answer" in question_result.content
    resolved = [e for e in services.jobs.events(job.id) if e["kind"] == "approval_resolved"]
    assert [e["timed_out"] for e in resolved] == [True, True]
