"""Import sessions the Claude Code CLI kept on this machine as finished, resumable jobs (spec H3).

The CLI writes every session to `~/.claude/projects/<sanitized cwd>/<session id>.jsonl`
(or under `$CLAUDE_CONFIG_DIR`). The SDK's `sdk.list_sessions` / `sdk.get_session_info` /
`sdk.get_session_messages` read them from this process's own HOME, which is also
where the jobs this server runs keep theirs: those show up here as already
belonging to a job, so nothing is imported twice.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core import events, sdk
from core.claude_home import SESSION_ID, find_session_file
from core.errors import NotFound, UserError
from core.jobs.prompts import job_name
from core.models import Job, JobMode, JobStatus, Project, new_id
from core.projects import validate_external_path

log = logging.getLogger(__name__)

_NAME_JUNK = re.compile(r"[^A-Za-z0-9 _.\-]+")


@dataclass
class LocalSession:
    session_id: str
    cwd: str | None
    title: str
    first_prompt: str | None
    modified: float  # epoch seconds
    message_count: int
    imported_job_id: str | None  # the job that holds this session already (imported or run here)
    git_branch: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _count_messages(path: Path | None) -> int:
    """User and assistant entries of the main conversation, counted without parsing each line.

    Close to `len(sdk.get_session_messages(...))` at a fraction of its cost: discovery
    lists every session on the machine, and transcripts reach megabytes.
    """
    if path is None:
        return 0
    count = 0
    try:
        with open(path, "rb") as f:
            for line in f:
                if (b'"type":"user"' in line or b'"type":"assistant"' in line) and b'"uuid"' in line \
                        and b'"isSidechain":true' not in line and b'"isMeta":true' not in line:
                    count += 1
    except OSError:
        return 0
    return count


def _timestamps(path: Path | None) -> dict[str, float]:
    """uuid -> time of each transcript entry: sdk.SessionMessage does not carry it."""
    found: dict[str, float] = {}
    if path is None:
        return found
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    found[entry["uuid"]] = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
    except OSError:
        pass
    return found


def _images(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [{"name": "image", "media_type": (b.get("source") or {}).get("media_type"),
             "size": len((b.get("source") or {}).get("data") or "") * 3 // 4}
            for b in content if isinstance(b, dict) and b.get("type") == "image"]


def _message_events(message: sdk.SessionMessage) -> list[dict[str, Any]]:
    raw = {"type": message.type, "message": message.message, "uuid": message.uuid,
           "session_id": message.session_id, "parent_tool_use_id": None}
    # The SDK's own stream-json parser: imported turns become exactly what a live job records. A future SDK
    # may move it; the fallback below still imports the text.
    parser = sdk.private("_internal.message_parser")
    if parser is not None:
        try:
            parsed = parser.parse_message(raw)
        except Exception as exc:  # one unreadable entry must not cost the whole transcript
            log.warning("skipping transcript entry %s: %s", message.uuid, exc)
            return [events.make(events.WARNING, message="A message of the imported transcript could not be read.")]
        return events.from_sdk(parsed) if parsed is not None else []
    content = (message.message or {}).get("content")
    text = content if isinstance(content, str) else "\n".join(
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")
    kind = events.USER if message.type == "user" else events.ASSISTANT
    return [events.make(kind, text=text, uuid=message.uuid)] if kind == events.USER else \
        [events.make(kind, block={"type": "text", "text": text}, uuid=message.uuid)]


def transcript_events(messages: list[sdk.SessionMessage], session_id: str,
                      times: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """A session's messages as our job events, with a result closing each turn.

    The CLI's transcript has no result messages; forking and edit & resend cut a
    conversation at results, so each turn gets one.
    """
    times = times or {}
    out: list[dict[str, Any]] = []
    last_ts = 0.0
    turn_text: str | None = None  # the last assistant text of an open turn; None: no turn open

    def close_turn() -> None:
        if turn_text is not None:
            out.append(events.make(events.RESULT, subtype="success", is_error=False, total_cost_usd=None, usage=None,
                                   duration_ms=None, num_turns=None, result=turn_text, session_id=session_id,
                                   imported=True, ts=last_ts))

    for message in messages:
        last_ts = times.get(message.uuid, last_ts)
        converted = _message_events(message)
        if message.type == "user":
            prompts = [e for e in converted if e["kind"] == events.USER]
            images = _images(message.message)
            if images and not prompts:
                prompts = [events.make(events.USER, text="", uuid=message.uuid)]
                converted = prompts + converted
            if prompts:
                close_turn()
                turn_text = None
                for event in prompts:
                    event.pop("echoed", None)  # in a transcript, user text is what the person typed
                    event.update(images=[], imported=True)
                prompts[0]["images"] = images
        for event in converted:
            event["ts"] = last_ts
            if event["kind"] == events.ASSISTANT:
                block = event.get("block") or {}
                turn_text = block.get("text") or turn_text or ""
        out.extend(converted)
    close_turn()
    return out


class SessionImporter:
    def __init__(self, services) -> None:
        self._services = services
        self._counts: dict[tuple[str, int, int | None], int] = {}

    def _owners(self) -> dict[str, str]:
        owners = {}
        for job in list(self._services.jobs.jobs.values()):  # may run in a thread: a copy, taken at once
            for sid in (job.session_id, job.imported_from):
                if sid:
                    owners.setdefault(sid, job.id)
        return owners

    def discover(self, query: str | None = None, project_path: str | None = None) -> list[LocalSession]:
        """Sessions on this machine, newest first; `query` words must all occur in the title, prompt or folder."""
        infos = sdk.list_sessions(directory=project_path) if project_path else sdk.list_sessions()
        owners = self._owners()
        words = (query or "").lower().split()
        found = []
        for info in infos:
            title = info.custom_title or info.summary or info.first_prompt or info.session_id
            haystack = " ".join(filter(None, (title, info.first_prompt, info.cwd))).lower()
            if any(word not in haystack for word in words):
                continue
            found.append(LocalSession(
                session_id=info.session_id, cwd=info.cwd, title=title, first_prompt=info.first_prompt,
                modified=info.last_modified / 1000, message_count=self._message_count(info),
                imported_job_id=owners.get(info.session_id), git_branch=info.git_branch, size=info.file_size))
        return found

    def _message_count(self, info) -> int:
        key = (info.session_id, info.last_modified, info.file_size)
        if key not in self._counts:
            self._counts[key] = _count_messages(find_session_file(info.session_id))
        return self._counts[key]

    def import_sessions(self, session_ids: list[str]) -> list[Job]:
        """Import each session not yet held by a job; all are checked before any is imported."""
        return self.apply(self.plan(session_ids))

    def plan(self, session_ids: list[str]) -> list[tuple]:
        """Read and check the sessions to import (file reading: callers on an event loop run it in a thread)."""
        owners = self._owners()
        plans = []
        for session_id in dict.fromkeys(session_ids):
            if session_id in owners:
                continue
            info = sdk.get_session_info(session_id) if SESSION_ID.match(str(session_id)) else None
            if info is None:
                raise NotFound(f"No local Claude Code session with id {session_id!r}.")
            messages = sdk.get_session_messages(session_id, directory=info.cwd)
            if not messages:
                raise UserError(f"Session {session_id} has no messages to import.")
            plans.append((info, messages, self._project_for(info)))
        return plans

    def apply(self, plans: list[tuple]) -> list[Job]:
        """Record the planned imports as jobs (on the event loop: new jobs notify the pages)."""
        owners = self._owners()  # a session imported meanwhile (another window) is not imported twice
        return [self._import(info, messages, project) for info, messages, project in plans
                if info.session_id not in owners]

    def _project_for(self, info) -> Project | Path:
        """The project for the session's folder, or the folder to make one for (checked now, made later)."""
        if not info.cwd:
            raise UserError(f"Session {info.session_id} does not say which folder it ran in.")
        project = self._services.projects.find_by_path(Path(info.cwd))
        if project:
            return project
        try:
            return validate_external_path(info.cwd, self._services.settings.state_dir)
        except UserError as exc:
            raise UserError(f"Session {info.session_id} ran in {info.cwd}, which cannot be a project: {exc}") from None

    def _external_project(self, directory: Path) -> Project:
        existing = self._services.projects.find_by_path(directory)  # made for an earlier session of this call
        if existing:
            return existing
        base = _NAME_JUNK.sub("-", directory.name).lstrip(".- ")[:90] or "imported"
        name, n = base, 1
        while self._services.projects.find_by_name(name):
            n += 1
            name = f"{base}-{n}"
        return self._services.projects.create(name, path=str(directory))

    def _import(self, info, messages: list[sdk.SessionMessage], target: Project | Path) -> Job:
        project = target if isinstance(target, Project) else self._external_project(target)
        history = transcript_events(messages, info.session_id, _timestamps(find_session_file(info.session_id)))
        models = [e["model"] for e in history
                  if e["kind"] == events.ASSISTANT and e.get("model") not in (None, "<synthetic>")]
        modified = info.last_modified / 1000
        created = info.created_at / 1000 if info.created_at else modified
        title = info.custom_title or job_name(info.first_prompt or info.summary or "Imported session")
        job = Job(id=new_id(), project_id=project.id, name=title[:200], prompt=info.first_prompt or "",
                  status=JobStatus.COMPLETED, mode=JobMode.JOB, session_id=info.session_id,
                  model=models[-1] if models else None,
                  created_at=created, started_at=created, finished_at=modified,
                  turns=sum(1 for e in history if e["kind"] == events.RESULT), imported_from=info.session_id)
        return self._services.jobs.add_imported_job(job, history)
