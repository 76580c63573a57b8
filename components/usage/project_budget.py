"""A project's monthly budget and what it has spent this month (spec N3), on the project's page."""

from __future__ import annotations

import time

from nicegui import ui

from components.common.format import cost
from components.common.notify import toast
from core.errors import UserError
from core.services import Services


class ProjectBudget:
    def __init__(self, services: Services, project_id: str) -> None:
        self.services = services
        self.project_id = project_id
        project = services.projects.get(project_id)
        with ui.row().classes("items-center gap-3 wrap").props("data-testid=project-budget"):
            self.spent = ui.label().classes("text-caption ccs-muted").props("data-testid=project-month-spent")
            self.budget = ui.number("Monthly budget, USD (empty: none)", value=project.monthly_budget_usd, min=0,
                                    step=10, format="%.2f").props("dense data-testid=project-budget-input").classes(
                "w-56")
            ui.button("Save", on_click=self.save).props("flat dense no-caps data-testid=project-budget-save")
        self.show_spent()

    def show_spent(self) -> None:
        spent = self.services.jobs.budgets.month_spent(self.project_id)
        self.spent.text = f"Spent in {time.strftime('%B')}: {cost(spent)}"

    def save(self) -> None:
        value = self.budget.value
        try:
            self.services.projects.set_monthly_budget(
                self.project_id, value if isinstance(value, int | float) and value > 0 else None)
        except UserError as exc:
            toast(str(exc), type="negative")
            return
        toast("Monthly budget saved." if self.budget.value else "The project has no monthly budget now.")
