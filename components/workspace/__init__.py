"""The workspace panels of a job's detail view (spec G1-G5, L2, N4), by tab name.

Each panel is built as `Panel(services, project_id, job_id)` inside its tab.
"""

from __future__ import annotations

from components.workspace.changes_panel import ChangesPanel
from components.workspace.cron_panel import CronPanel
from components.workspace.files_panel import FilesPanel
from components.workspace.git_panel import GitPanel
from components.workspace.mcp_panel import McpPanel
from components.workspace.memories_panel import MemoriesPanel
from components.workspace.terminal_panel import TerminalPanel

PANELS: dict[str, type] = {
    "Changes": ChangesPanel,
    "Terminal": TerminalPanel,
    "Files": FilesPanel,
    "Git": GitPanel,
    "Memories": MemoriesPanel,
    "Cron": CronPanel,
    "MCP": McpPanel,
}
