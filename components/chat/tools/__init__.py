"""One renderer per tool, looked up by the tool's name; unknown tools (MCP, new ones) get the fallback."""

from __future__ import annotations

from components.chat.tools.ask import ASK, PLAN
from components.chat.tools.base import ToolRenderer
from components.chat.tools.bash import BASH
from components.chat.tools.edit import EDIT
from components.chat.tools.files import READ, WRITE
from components.chat.tools.search import GLOB, GREP
from components.chat.tools.task import TASK
from components.chat.tools.todo import TODO
from components.chat.tools.web import WEB_FETCH, WEB_SEARCH

FALLBACK = ToolRenderer(icon="build")

RENDERERS: dict[str, ToolRenderer] = {
    "Bash": BASH,
    "Edit": EDIT,
    "MultiEdit": EDIT,
    "Write": WRITE,
    "Read": READ,
    "Grep": GREP,
    "Glob": GLOB,
    "TodoWrite": TODO,
    "WebSearch": WEB_SEARCH,
    "WebFetch": WEB_FETCH,
    "Task": TASK,
    "Agent": TASK,
    "AskUserQuestion": ASK,
    "ExitPlanMode": PLAN,
}


def renderer_for(name: str) -> ToolRenderer:
    return RENDERERS.get(name, FALLBACK)


__all__ = ["FALLBACK", "RENDERERS", "ToolRenderer", "renderer_for"]
