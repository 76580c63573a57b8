"""A user message on its way to the CLI: text, images and the uuid that ties it to its result."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from core import events
from core.errors import UserError
from core.jobs.images import Image, validate

MAX_PROMPT_CHARS = 500_000


def job_name(text: str) -> str:
    """A job's default name: the first line of its prompt, cut to fit a list row."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "") or "Image prompt"
    return first if len(first) <= 60 else first[:57].rstrip() + "..."


@dataclass
class Prompt:
    text: str
    images: list[Image] = field(default_factory=list)
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    queued: bool = False  # accepted during a turn; shown in the transcript when it is sent

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise UserError("The prompt must be text.")
        if "\x00" in self.text:
            raise UserError("The prompt contains a NUL character.")
        if len(self.text) > MAX_PROMPT_CHARS:
            raise UserError(f"The prompt is {len(self.text):,} characters; the limit is {MAX_PROMPT_CHARS:,}.")
        if not self.text.strip() and not self.images:
            raise UserError("The prompt is empty.")
        validate(self.images)

    def message(self) -> dict[str, Any]:
        """The stream-json user message; the top-level uuid comes back on the turn's result."""
        if self.images:
            content: Any = [image.content_block() for image in self.images]
            if self.text.strip():
                content.append({"type": "text", "text": self.text})
        else:
            content = self.text
        return {"type": "user", "message": {"role": "user", "content": content},
                "parent_tool_use_id": None, "session_id": "default", "uuid": self.uuid}

    def event(self, **extra: Any) -> dict[str, Any]:
        return events.make(events.USER, text=self.text, uuid=self.uuid,
                           images=[image.summary() for image in self.images], **extra)
