"""WebSearch and WebFetch: the query or URL and what came back."""

from __future__ import annotations

from nicegui import ui

from components.chat import fmt
from components.chat.output import full_view_button, preview
from components.chat.tools.base import Input, ToolRenderer
from components.common.markdown import Markdown


def _search_body(tool_input: Input) -> None:
    domains = tool_input.get("allowed_domains") or tool_input.get("blocked_domains")
    if domains:
        ui.label(("only " if tool_input.get("allowed_domains") else "not ") + ", ".join(map(str, domains))) \
            .classes("ccs-muted")


def _fetch_body(tool_input: Input) -> None:
    url = str(tool_input.get("url", ""))
    if url.startswith(("http://", "https://")):
        ui.link(url, url, new_tab=True).classes("text-xs break-all")
    if tool_input.get("prompt"):
        ui.label(fmt.one_line(tool_input["prompt"], 300)).classes("ccs-muted")


def _markdown_result(_input: Input, text: str) -> None:
    """Fetched pages come back as the model's markdown summary."""
    head, cut = preview(text, 30)
    Markdown(head).classes("ccs-md w-full")
    if cut:
        full_view_button(text, "Fetched page", "")


WEB_SEARCH = ToolRenderer(icon="travel_explore", summary=lambda i: fmt.one_line(i.get("query")), body=_search_body)
WEB_FETCH = ToolRenderer(icon="public", summary=lambda i: str(i.get("url", "")), body=_fetch_body,
                         result=_markdown_result)
