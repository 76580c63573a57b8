"""The usage dashboard (spec N1): cost and tokens per day, project and model, the most expensive jobs, for a
period and optionally one project; the same figures as `GET /api/usage`, and its CSV."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from nicegui import ui

from components.common.format import cost
from core.services import Services
from core.usage import UsageReport

PERIODS = {7: "7 days", 30: "30 days", 90: "90 days", 365: "Year"}
DEFAULT_DAYS = 30
TOKEN_SERIES = (("input_tokens", "Input"), ("output_tokens", "Output"), ("cache_read_tokens", "Cache read"),
                ("cache_write_tokens", "Cache write"))
ALL = ""


def tokens(count: float) -> str:
    count = int(count)
    for size, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if count >= size:
            return f"{count / size:.1f}{unit}".replace(".0", "")
    return str(count)


MUTED, LINES = "#9e9e9e", "rgba(127, 127, 127, 0.25)"  # readable on the dark and the light theme


def _period(days: int) -> tuple[date, date]:
    """The last `days` days, today included."""
    end = date.today()
    return end - timedelta(days=days - 1), end


def _chart(title: str, options: dict[str, Any], testid: str) -> ui.echart:
    axis = {"axisLabel": {"color": MUTED}, "splitLine": {"lineStyle": {"color": LINES}},
            "axisLine": {"lineStyle": {"color": LINES}}}
    base: dict[str, Any] = {
        "animation": False,  # a bar growing from zero reads as zero in a glance (and in a screenshot)
        "backgroundColor": "transparent", "textStyle": {"color": MUTED},
        "title": {"text": title, "left": 0, "textStyle": {"fontSize": 13, "fontWeight": "normal", "color": MUTED}},
        "tooltip": {"trigger": "axis"}, "grid": {"left": 64, "right": 12, "top": 40, "bottom": 56},
        "legend": {"bottom": 0, "textStyle": {"color": MUTED}}}
    if "xAxis" in options:
        options = {**options, "xAxis": {**axis, **options["xAxis"]}, "yAxis": {**axis, **options["yAxis"]}}
    return ui.echart({**base, **options}).classes("w-full h-64").props(f"data-testid={testid}")


class UsageDashboard:
    def __init__(self, services: Services, report: UsageReport) -> None:
        """`report`: the default period's, computed before the page is built (`first_report`), so the page
        arrives with its figures rather than fetching them once it is open."""
        self.services = services
        self.report = report
        projects = {ALL: "All projects"} | {p.id: p.name for p in services.projects.list(include_archived=True)}
        with ui.row().classes("w-full items-center gap-3 wrap"):
            self.period = ui.toggle(PERIODS, value=DEFAULT_DAYS, on_change=self.refresh).props("dense no-caps") \
                .props("data-testid=usage-period")
            self.project = ui.select(projects, value=ALL, on_change=self.refresh, label="Project").props(
                "dense outlined options-dense data-testid=usage-project").classes("min-w-[12rem]")
            ui.space()
            ui.button("CSV", icon="download", on_click=self.download).props(
                "flat no-caps data-testid=usage-csv").tooltip("Download the period's usage as CSV")
        self.summary = ui.row().classes("w-full gap-3 wrap").props("data-testid=usage-totals")
        self.empty = ui.label("No usage in this period.").classes("ccs-muted").props("data-testid=usage-empty")
        # The charts' code (ECharts, some 400 KB) loads after the figures are on screen: the page does not wait.
        self.charts = ui.column().classes("w-full gap-2")
        self._charts_built = False
        ui.label("Most expensive jobs").classes("text-subtitle1 q-mt-md")
        self.jobs = ui.column().classes("w-full gap-0").props("data-testid=usage-jobs")
        self._show(report)
        ui.timer(0, self._build_charts, once=True)  # runs once the page is open

    def _build_charts(self) -> None:
        if self.charts.is_deleted or self._charts_built:
            return
        self._charts_built = True
        with self.charts:
            self.cost_chart = _chart("Cost per day (USD)", {
                "xAxis": {"type": "category", "data": []}, "yAxis": {"type": "value"}, "legend": {"show": False},
                "grid": {"left": 64, "right": 12, "top": 40, "bottom": 28},
                "series": [{"type": "bar", "name": "Cost", "data": []}]}, "usage-cost-chart")
            self.token_chart = _chart("Tokens per day", {
                "xAxis": {"type": "category", "data": []}, "yAxis": {"type": "value"},
                "series": [{"type": "bar", "stack": "tokens", "name": label, "data": []}
                           for _, label in TOKEN_SERIES]}, "usage-token-chart")
            with ui.row().classes("w-full gap-3 no-wrap max-md:flex-col"):
                self.project_chart, self.model_chart = (
                    _chart(title, {"tooltip": {"trigger": "item"}, "legend": {"show": False},
                                   "series": [{"type": "pie", "radius": ["35%", "62%"], "top": 24, "data": [],
                                               "label": {"color": MUTED}}]}, testid)
                    for title, testid in (("Cost per project", "usage-project-chart"),
                                          ("Cost per model", "usage-model-chart")))
        if self.report is not None:
            self._fill_charts(self.report)

    @staticmethod
    async def first_report(services: Services) -> UsageReport:
        start, end = _period(DEFAULT_DAYS)
        return await asyncio.to_thread(services.jobs.usage.report, start, end, None)

    def _period(self) -> tuple[date, date]:
        return _period(int(self.period.value or DEFAULT_DAYS))

    async def refresh(self) -> None:
        start, end = self._period()
        project_id = self.project.value or None
        self.report = await asyncio.to_thread(self.services.jobs.usage.report, start, end, project_id)
        self._show(self.report)

    def _show(self, report: UsageReport) -> None:
        totals = report.totals
        self.summary.clear()
        with self.summary:
            for label, value, testid in (("Cost", cost(totals["cost_usd"]), "usage-total-cost"),
                                         ("Turns", f"{totals['turns']:,}", "usage-total-turns"),
                                         *((name, tokens(totals[key]), f"usage-total-{key}")
                                           for key, name in TOKEN_SERIES)):
                with ui.card().classes("px-4 py-2 gap-0 min-w-[7rem]").props("flat bordered"):
                    ui.label(label).classes("text-caption ccs-muted")
                    ui.label(value).classes("text-h6").props(f"data-testid={testid}")
        has_data = totals["turns"] > 0 or totals["cost_usd"] > 0
        self.empty.set_visibility(not has_data)
        self.charts.set_visibility(has_data)
        self._show_jobs(report)
        if self._charts_built:
            self._fill_charts(report)

    def _fill_charts(self, report: UsageReport) -> None:
        days = [row["day"][5:] for row in report.by_day]  # MM-DD: the year is in the period
        self.cost_chart.options["xAxis"]["data"] = days
        self.cost_chart.options["series"][0]["data"] = [round(row["cost_usd"], 4) for row in report.by_day]
        self.token_chart.options["xAxis"]["data"] = days
        for series, (key, _) in zip(self.token_chart.options["series"], TOKEN_SERIES, strict=True):
            series["data"] = [row[key] for row in report.by_day]
        self.project_chart.options["series"][0]["data"] = [
            {"name": row["project_name"], "value": round(row["cost_usd"], 4)} for row in report.by_project]
        self.model_chart.options["series"][0]["data"] = [
            {"name": row["model"], "value": round(row["cost_usd"], 4)} for row in report.by_model]
        for chart in (self.cost_chart, self.token_chart, self.project_chart, self.model_chart):
            chart.update()

    def _show_jobs(self, report: UsageReport) -> None:
        self.jobs.clear()
        with self.jobs:
            if not report.top_jobs:
                ui.label("No jobs used anything in this period.").classes("ccs-muted")
            for row in report.top_jobs:
                with ui.row().classes("w-full items-center gap-3 no-wrap py-1").props("data-testid=usage-job"):
                    ui.link(row["job_name"], f"/job/{row['job_id']}").classes("grow truncate min-w-0")
                    ui.label(f"{row['turns']:,} turns").classes("ccs-muted text-xs whitespace-nowrap max-sm:hidden")
                    ui.label(f"{tokens(row['input_tokens'] + row['output_tokens'])} tokens").classes(
                        "ccs-muted text-xs whitespace-nowrap")
                    ui.label(cost(row["cost_usd"])).classes("whitespace-nowrap").props("data-testid=usage-job-cost")

    async def download(self) -> None:
        start, end = self._period()
        text = await asyncio.to_thread(self.services.jobs.usage.csv, start, end, self.project.value or None)
        ui.download(text.encode(), f"usage-{start.isoformat()}-{end.isoformat()}.csv", "text/csv")
