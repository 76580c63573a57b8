"""The MCP tab (spec N4): the MCP servers a job's CLI sees, with their status and tools, each of the project's
on or off for this job; and the project's own servers (its `.mcp.json`) added, changed and removed, with what is
wrong with the file said plainly."""

from __future__ import annotations

import shlex

from nicegui import ui

from components.common.notify import toast
from core.errors import UserError
from core.services import Services
from core.workspace.mcp_config import McpConfig

REFRESH_S = 3.0
STATUS_COLORS = {"connected": "positive", "failed": "negative", "pending": "grey-6", "disabled": "grey-7",
                 "needs-auth": "warning"}


class McpPanel:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None) -> None:
        self.services = services
        self.project_id = project_id
        self.job_id = job_id
        with ui.column().classes("w-full gap-2 q-pa-sm").props("data-testid=mcp-panel"):
            with ui.row().classes("w-full items-center"):
                ui.label("MCP servers").classes("text-subtitle1")
                ui.space()
                ui.button("Refresh", icon="refresh", on_click=self.refresh).props("flat dense no-caps")
                ui.button("Add server", icon="add", on_click=lambda: self.edit()).props(
                    "flat dense no-caps data-testid=mcp-add")
            self.problems = ui.column().classes("w-full gap-1").props("data-testid=mcp-problems")
            self.rows = ui.column().classes("w-full gap-1").props("data-testid=mcp-servers")
        self._shown: object = None
        ui.timer(0, self.refresh, once=True)
        # A CLI starts, connects its servers, loses one: the tab follows (a local question to the CLI, redrawn
        # only when the answer changed).
        ui.timer(REFRESH_S, self.refresh)

    @property
    def config(self) -> McpConfig:
        return McpConfig(self.services.projects.directory(self.project_id))

    async def refresh(self) -> None:
        found = self.config.read()
        servers = await self.services.jobs.inspect.mcp(self.job_id) if self.job_id else [
            {"name": name, "project": True, "enabled": True, "status": "not running", "error": None, "tools": [],
             "config": config} for name, config in sorted(found.servers.items())]
        if self.rows.is_deleted or (found.problems, servers) == self._shown:
            return
        self._shown = (found.problems, servers)
        self.problems.clear()
        with self.problems:
            for problem in found.problems:
                ui.label(problem).classes("text-warning text-caption").props("data-testid=mcp-problem")
        self.rows.clear()
        with self.rows:
            if not servers:
                ui.label("No MCP servers. Add one: Claude gets its tools in this project's jobs.").classes(
                    "ccs-muted")
            for server in servers:
                self._row(server)

    def _row(self, server: dict) -> None:
        with ui.card().classes("w-full q-pa-sm").props(f"flat bordered data-testid=mcp-server-{server['name']}"):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.label(server["name"]).classes("text-weight-medium ellipsis")
                ui.badge(server["status"], color=STATUS_COLORS.get(server["status"], "grey")).props(
                    "data-testid=mcp-status")
                if not server["project"]:
                    ui.label("from your own settings").classes("ccs-muted text-caption")
                ui.space()
                if server["project"] and self.job_id:
                    ui.switch("On for this job", value=server["enabled"],
                              on_change=lambda e, name=server["name"]: self.toggle(name, e.value)).props(
                        "dense data-testid=mcp-enabled")
                if server["project"]:
                    ui.button(icon="edit", on_click=lambda s=server: self.edit(s["name"], s["config"])).props(
                        "flat round dense size=sm aria-label=Edit data-testid=mcp-edit")
                    ui.button(icon="delete", on_click=lambda s=server: self.remove(s["name"])).props(
                        "flat round dense size=sm aria-label=Remove data-testid=mcp-remove")
            if server.get("error"):
                ui.label(server["error"]).classes("text-negative text-caption").props("data-testid=mcp-error")
            if server["tools"]:
                ui.label("Tools: " + ", ".join(server["tools"])).classes("text-caption ccs-muted").props(
                    "data-testid=mcp-tools")
            config = server.get("config") or {}
            if config:
                where = config.get("url") or " ".join([config.get("command", ""), *config.get("args", [])])
                ui.label(where).classes("text-caption ccs-muted ellipsis w-full").tooltip(where)

    async def toggle(self, name: str, enabled: bool) -> None:
        try:
            await self.services.jobs.inspect.set_mcp_enabled(self.job_id, name, enabled)
        except UserError as exc:
            toast(str(exc), type="negative")
        await self.refresh()

    def remove(self, name: str) -> None:
        try:
            self.config.remove(name)
        except UserError as exc:
            toast(str(exc), type="negative")
            return
        toast(f"Removed {name}: jobs started from now on do not run it.")
        ui.timer(0, self.refresh, once=True)

    def edit(self, name: str = "", config: dict | None = None) -> None:
        config = config or {"type": "stdio", "command": "", "args": []}
        with ui.dialog() as dialog, ui.card().classes("w-[32rem] max-w-full").props("data-testid=mcp-dialog"):
            ui.label("MCP server" if name else "Add an MCP server").classes("text-h6")
            name_field = ui.input("Name", value=name).props("dense data-testid=mcp-name").classes("w-full")
            kind = ui.toggle({"stdio": "Program", "http": "HTTP", "sse": "SSE"}, value=config.get("type", "stdio"))
            command = ui.input("Command and arguments", value=shlex.join(
                [config.get("command", ""), *config.get("args", [])]).strip("'")).props(
                "dense data-testid=mcp-command").classes("w-full")
            url = ui.input("URL", value=config.get("url", "")).props("dense data-testid=mcp-url").classes("w-full")
            env = ui.textarea("Environment (NAME=value, one per line)", value="\n".join(
                f"{k}={v}" for k, v in (config.get("env") or {}).items())).props("dense autogrow").classes("w-full")
            command.bind_visibility_from(kind, "value", value="stdio")
            env.bind_visibility_from(kind, "value", value="stdio")
            url.bind_visibility_from(kind, "value", backward=lambda v: v != "stdio")

            def save() -> None:
                if kind.value == "stdio":
                    try:
                        words = shlex.split(command.value or "")
                    except ValueError as exc:
                        toast(f"The command line cannot be read: {exc}.", type="negative")
                        return
                    pairs = [line.partition("=") for line in (env.value or "").splitlines() if line.strip()]
                    new = {"type": "stdio", "command": words[0] if words else "", "args": words[1:],
                           "env": {k.strip(): v for k, _, v in pairs}}
                else:
                    new = {"type": kind.value, "url": (url.value or "").strip()}
                try:
                    if name and name_field.value != name:
                        self.config.put(name_field.value, new)
                        self.config.remove(name)
                    else:
                        self.config.put(name_field.value or "", new)
                except UserError as exc:
                    toast(str(exc), type="negative")
                    return
                dialog.close()
                toast("Saved: jobs started from now on run it.")
                ui.timer(0, self.refresh, once=True)

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Save", on_click=save).props("data-testid=mcp-save")
        dialog.open()
