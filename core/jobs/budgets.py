"""Budgets (spec N3): a cost cap per job and a monthly budget per project.

Before a turn starts, a job whose cap is reached, or whose project has used its month's budget, is refused
with a message that says which budget and by how much (409), unless the person continues deliberately. While a
turn runs, the CLI itself stops at what is left of the tighter of the two (its `max_budget_usd`, given when a
session's CLI starts), so a runaway turn ends at the budget rather than after it; such a turn ends with the
same kind of message and the job idle. A session that continues deliberately past a budget runs without a cap
until it ends. A month is the calendar month of the server's clock; its spending comes from the usage ledger.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from core.errors import Conflict, UserError
from core.models import Job, Project

if TYPE_CHECKING:
    from core.jobs.manager import JobManager

MAX_BUDGET_USD = 1_000_000.0


class BudgetReached(Conflict):
    """A turn refused because a budget is used up; `over_budget` (API) or "Continue anyway" (UI) overrides it."""


def checked_budget(value: object, what: str) -> float | None:
    """A budget as given by a person: None (no budget) or dollars above zero; UserError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN is not a budget
        raise UserError(f"{what} must be a number of dollars.")
    if not 0 < value <= MAX_BUDGET_USD:
        raise UserError(f"{what} must be more than $0 and at most ${MAX_BUDGET_USD:,.0f}.")
    return round(float(value), 4)


def _usd(value: float) -> str:
    """Cents, or four decimals for less than a cent (a budget of $0.005 is not '$0.00')."""
    return f"${value:,.2f}" if abs(value) >= 0.01 or value == 0 else f"${value:,.4f}"


class Budgets:
    def __init__(self, manager: JobManager) -> None:
        self.manager = manager

    def month_spent(self, project_id: str) -> float:
        return self.manager.usage.month_spent(project_id, time.strftime("%Y-%m"))

    def refusal(self, job: Job, project: Project) -> str | None:
        """Why a turn of `job` may not start now, or None."""
        if job.budget_usd is not None and job.cost_usd >= job.budget_usd:
            return (f"This job has reached its budget: {_usd(job.cost_usd)} spent of {_usd(job.budget_usd)} "
                    f"({_usd(job.cost_usd - job.budget_usd)} over). Raise the job's budget in its settings, "
                    "or continue anyway.")
        if project.monthly_budget_usd is not None:
            spent = self.month_spent(project.id)
            if spent >= project.monthly_budget_usd:
                return (f"Project {project.name!r} has used its budget for {time.strftime('%B')}: {_usd(spent)} "
                        f"spent of {_usd(project.monthly_budget_usd)} ({_usd(spent - project.monthly_budget_usd)} "
                        "over). Raise the project's budget, or continue anyway.")
        return None

    def guard(self, job: Job, deliberately: bool = False) -> None:
        if deliberately:
            return
        reason = self.refusal(job, self.manager.projects.get(job.project_id))
        if reason:
            raise BudgetReached(reason)

    def cli_cap(self, job: Job) -> float | None:
        """What the CLI may spend before it stops: the least left of the job's and the project's budgets; None
        when neither is set, or when one is already used up (the person continued deliberately)."""
        project = self.manager.projects.get(job.project_id)
        left = []
        if job.budget_usd is not None:
            left.append(job.budget_usd - job.cost_usd)
        if project.monthly_budget_usd is not None:
            left.append(project.monthly_budget_usd - self.month_spent(project.id))
        if not left or min(left) <= 0:
            return None
        return round(min(left), 4)

    def stopped(self, job: Job) -> str:
        """What a turn the CLI stopped at its budget says."""
        project = self.manager.projects.get(job.project_id)
        return self.refusal(job, project) or (
            "This turn stopped at the budget it started with (the job's or the project's); send a follow-up to "
            "go on.")
