"""The palette's search finds jobs by name, prompt, project and conversation (spec H2)."""

from __future__ import annotations

from core import events
from core.models import Job, JobStatus, new_id


def _add(services, project, name, prompt, lines=()):
    job = Job(id=new_id(), project_id=project.id, name=name, prompt=prompt, status=JobStatus.COMPLETED)
    history = [events.make(events.USER, text=prompt)]
    history += [events.make(events.ASSISTANT, block={"type": "text", "text": line}) for line in lines]
    return services.jobs.add_imported_job(job, history)


async def test_finds_jobs_by_name_prompt_project_and_content(services, project_factory):
    alpha, beta = project_factory(services, "alpha"), project_factory(services, "billing-service")
    refactor = _add(services, alpha, "Refactor the parser", "split parse() into tokens and tree")
    invoices = _add(services, beta, "Fix rounding", "round invoice totals to cents")
    deep = _add(services, alpha, "Chat about things", "hello", ["We discussed the flamingo migration plan."])
    services.search.build()
    assert services.search.search("refactr parser")[0].job_id == refactor.id
    assert services.search.search("invoice totals")[0].job_id == invoices.id
    assert invoices.id in [h.job_id for h in services.search.search("billing-service")]
    hits = services.search.search("flamingo migration")
    assert hits and hits[0].job_id == deep.id and hits[0].field == "content"
    assert services.search.search("flamngo")[0].job_id == deep.id, "typos in content words still match"
    assert services.search.search("zzzz-nothing") == []


async def test_new_transcript_text_is_searchable_at_once(services, project):
    job = _add(services, project, "Empty", "hi")
    services.search.build()
    services.jobs.emit(services.jobs.get(job.id),
                        events.make(events.ASSISTANT, block={"type": "text", "text": "pelican"}))
    assert services.search.search("pelican")[0].job_id == job.id


async def test_recent_jobs_when_the_query_is_empty(services, project):
    first = _add(services, project, "First", "one")
    second = _add(services, project, "Second", "two")
    assert services.search.recent(2) == [second.id, first.id]
    archived = services.jobs.get(first.id)
    await services.jobs.archive(archived.id)
    assert first.id not in services.search.recent(5)
