"""A job's conversation as a file (spec N5): Markdown to read or paste, one self-contained HTML page to share,
and JSON that imports back as the same conversation.

The HTML page loads nothing: its style is inline, raw HTML in what the model wrote is shown as text, images
become links, and a Content-Security-Policy in the page itself forbids scripts and remote fetches, so opening
an exported conversation cannot reach out (spec J6's rule, for a file that leaves the server).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

from core import events
from core.errors import UserError
from core.models import Job, JobStatus, new_id

FORMAT = "claude-code-server-conversation"
VERSION = 1
KINDS_KEPT = (events.USER, events.ASSISTANT, events.TOOL_RESULT, events.RESULT, events.ERROR, events.WARNING)
MAX_IMPORT_EVENTS = 100_000
_NAME_JUNK = re.compile(r"[^A-Za-z0-9._-]+")
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_ATTR = re.compile(r'\b(src|alt)="([^"]*)"', re.I)
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body { font: 15px/1.55 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } .meta { color: #666; font-size: .85rem; }
.turn { border-left: 3px solid #ddd; padding: .25rem 0 .25rem 1rem; margin: 1.25rem 0; }
.user { border-color: #5b8def; } .assistant { border-color: #999; } .error { border-color: #d33; color: #a11; }
.who { font-weight: 600; font-size: .8rem; text-transform: uppercase; color: #666; }
pre { background: #f5f5f7; padding: .6rem; overflow-x: auto; border-radius: 6px; font-size: .85rem; }
code { font-family: ui-monospace, monospace; } details { margin: .5rem 0; } .footer { color: #666; font-size: .8rem; }
"""


@dataclass
class Exported:
    content: bytes
    media_type: str
    filename: str


def export(job: Job, history: list[dict[str, Any]], fmt: str) -> Exported:
    """The conversation as `markdown`, `html` or `json`; UserError for another format."""
    base = (_NAME_JUNK.sub("-", job.name).strip("-")[:60] or "conversation").lower()
    if fmt == "json":
        payload = {"format": FORMAT, "version": VERSION,
                   "job": {k: getattr(job, k) for k in ("name", "prompt", "model", "permission_mode", "created_at",
                                                        "session_id", "cost_usd", "input_tokens", "output_tokens",
                                                        "turns")},
                   "events": [e for e in history if e.get("kind") in KINDS_KEPT]}
        return Exported(json.dumps(payload, ensure_ascii=False, indent=1).encode(), "application/json",
                        f"{base}.json")
    if fmt == "markdown":
        return Exported(markdown(job, history).encode(), "text/markdown; charset=utf-8", f"{base}.md")
    if fmt == "html":
        return Exported(page(job, history).encode(), "text/html; charset=utf-8", f"{base}.html")
    raise UserError("format must be one of markdown, html, json.")


def _fence(text: str, info: str = "") -> str:
    """`text` in a code fence longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def _tool_result_text(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, indent=1)
    return text if len(text) <= 20_000 else text[:20_000] + f"\n… ({len(text) - 20_000:,} more characters)"


def _parts(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, markdown) for each part a reader sees, in order; role: user, assistant, thinking, tool, error,
    footer."""
    parts: list[tuple[str, str]] = []
    for event in history:
        kind = event.get("kind")
        if kind == events.USER and not event.get("echoed"):
            parts.append(("user", str(event.get("text") or "")))
        elif kind == events.ASSISTANT:
            block = event.get("block") or {}
            if block.get("type") == "text" and block.get("text"):
                parts.append(("assistant", block["text"]))
            elif block.get("type") == "thinking" and block.get("thinking"):
                parts.append(("thinking", block["thinking"]))
            elif block.get("type") in ("tool_use", "server_tool_use"):
                parts.append(("tool", f"**{block.get('name')}**\n\n"
                                      + _fence(json.dumps(block.get("input"), ensure_ascii=False, indent=1), "json")))
        elif kind == events.TOOL_RESULT:
            label = "Tool error" if event.get("is_error") else "Tool result"
            parts.append(("tool", f"{label}:\n\n" + _fence(_tool_result_text(event.get("content")))))
        elif kind == events.ERROR:
            parts.append(("error", str(event.get("message") or "")))
        elif kind == events.RESULT:
            cost = float(event.get("total_cost_usd") or 0)
            parts.append(("footer", f"Turn done · {event.get('num_turns') or 0} model calls · "
                                    f"{(event.get('duration_ms') or 0) / 1000:.1f} s · ${cost:.4f} so far"))
    return parts


def markdown(job: Job, history: list[dict[str, Any]]) -> str:
    out = [f"# {job.name}", "", f"_Exported from Claude Code Server · model {job.model or 'default'} · "
           f"{job.turns} turns · ${job.cost_usd:.4f}_", ""]
    for role, text in _parts(history):
        if role == "user":
            out += ["## You", "", text, ""]
        elif role == "assistant":
            out += ["## Claude", "", text, ""]
        elif role == "thinking":
            out += ["<details><summary>Thinking</summary>", "", text, "", "</details>", ""]
        elif role == "error":
            out += [f"> **Error:** {text}", ""]
        else:
            out += [f"_{text}_" if role == "footer" else text, ""]
    return "\n".join(out).rstrip() + "\n"


def page(job: Job, history: list[dict[str, Any]]) -> str:
    """One self-contained HTML page that loads nothing and runs nothing."""
    import markdown2  # NiceGUI's converter; imported here, when someone exports

    def convert(text: str) -> str:
        converted = markdown2.markdown(text, safe_mode="escape", extras=["fenced-code-blocks", "tables"])
        return _IMG.sub(_image_link, str(converted))

    body = []
    for role, text in _parts(history):
        if role == "thinking":
            body.append(f"<details><summary>Thinking</summary>{convert(text)}</details>")
        elif role == "footer":
            body.append(f'<p class="footer">{html.escape(text)}</p>')
        else:
            who = {"user": "You", "assistant": "Claude", "tool": "Tool", "error": "Error"}[role]
            body.append(f'<section class="turn {role}"><div class="who">{who}</div>{convert(text)}</section>')
    title = html.escape(job.name)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{HTML_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f"<style>{_CSS}</style></head><body><h1>{title}</h1>"
            f'<p class="meta">Exported from Claude Code Server · model {html.escape(job.model or "default")} · '
            f"{job.turns} turns · ${job.cost_usd:.4f}</p>{''.join(body)}</body></html>\n")


def _image_link(match: re.Match[str]) -> str:
    """An image in the model's words becomes a link: the page never fetches it."""
    attributes = dict((k.lower(), v) for k, v in _ATTR.findall(match.group(0)))
    src, alt = attributes.get("src", ""), attributes.get("alt", "") or "image"
    if not src.startswith(("http://", "https://")):
        return f"[image: {alt}]"
    return f'<a href="{src}" rel="noopener noreferrer">[image: {alt}]</a>'


def imported(project_id: str, data: Any) -> tuple[Job, list[dict[str, Any]]]:
    """A job and its transcript from a JSON export; UserError saying what is wrong with anything else."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError("This is not a conversation exported from Claude Code Server (JSON).")
    if data.get("version") != VERSION:
        raise UserError(f"This export is version {data.get('version')!r}; this server reads version {VERSION}.")
    meta, history = data.get("job"), data.get("events")
    if not isinstance(meta, dict) or not isinstance(history, list) or not history:
        raise UserError("The export has no job or no events.")
    if len(history) > MAX_IMPORT_EVENTS:
        raise UserError(f"The export has more than {MAX_IMPORT_EVENTS:,} events.")
    kept = []
    for event in history:
        if not isinstance(event, dict) or event.get("kind") not in KINDS_KEPT:
            raise UserError("The export has an event this server does not know.")
        kept.append({k: v for k, v in event.items() if k != "seq"})
    name = str(meta.get("name") or "Imported conversation").strip()[:200] or "Imported conversation"
    # The CLI's conversation stays the original job's: the import is its transcript, and a follow-up starts a
    # new conversation (two jobs resuming one CLI session would write into each other's history).
    origin = meta.get("session_id") if isinstance(meta.get("session_id"), str) else None
    job = Job(id=new_id(), project_id=project_id, name=name, prompt=str(meta.get("prompt") or "")[:100_000],
              status=JobStatus.COMPLETED, model=meta.get("model") if isinstance(meta.get("model"), str) else None,
              imported_from=origin, turns=sum(1 for e in kept if e["kind"] == events.RESULT))
    return job, kept
