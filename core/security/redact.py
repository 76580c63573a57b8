"""Keeps credentials out of log lines, HTTP bodies and websocket frames (spec J1).

The server never puts a key or token into what it sends, but text from the CLI
and from tools does pass through (a Bash `env` in a transcript, a traceback in
a log), so every outgoing body and frame and every log record is masked as a
last line of defence. A mask has the secret's length: a Content-Length already
sent stays right. A secret split across two frames is not caught.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_SECRET_CHARS = 8  # shorter values would mask ordinary words
# The login URL carries the token: whatever logs a request line must not keep it.
_TOKEN_PARAM = re.compile(r"([?&]token=)[^&\s\"']+")


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        found = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS} | set(self._secrets)
        # A password with a quote or a backslash looks different inside JSON (a body, a frame, a log line).
        found |= {json.dumps(s, ensure_ascii=False)[1:-1] for s in found}
        self._secrets = sorted(found, key=len, reverse=True)  # a secret containing another is masked whole
        self._bytes = [s.encode("utf-8", "surrogatepass") for s in self._secrets]

    @property
    def secrets(self) -> list[str]:
        return list(self._secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, "*" * len(secret))
        return value

    def log_text(self, value: str) -> str:
        """As `text`, and any `token=` query parameter too (a mistyped token is still someone's guess)."""
        value = self.text(value)
        return _TOKEN_PARAM.sub(r"\1***", value) if "token=" in value else value

    def data(self, value: bytes) -> bytes:
        for secret in self._bytes:
            if secret in value:
                value = value.replace(secret, b"*" * len(secret))
        return value


_installed: Redactor | None = None


def install_log_redaction(redactor: Redactor) -> None:
    """Mask every log record of the process, whichever logger and handler it goes through.

    A record factory rather than a handler filter: uvicorn and NiceGUI bring their own
    handlers, and a factory sees each record once, before any of them formats it.
    """
    global _installed
    if _installed is not None:
        _installed.add(*redactor.secrets)
        return
    _installed = redactor
    make_record = logging.getLogRecordFactory()

    def masked_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        # Masked piece by piece: some formatters (uvicorn's access log) unpack record.args themselves.
        if isinstance(record.msg, str):
            record.msg = _installed.log_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = _installed.log_text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = _installed.log_text(record.stack_info)
        return record

    logging.setLogRecordFactory(masked_record)


def _masked_arg(value):
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, bytes):
        return _installed.data(value)
    text = value if isinstance(value, str) else str(value)
    masked = _installed.log_text(text)
    return value if masked == text else masked


class RedactMiddleware:
    """Masks secrets in HTTP response bodies and in outgoing websocket frames (NiceGUI's socket)."""

    def __init__(self, app: ASGIApp, redactor: Redactor) -> None:
        self.app = app
        self.redactor = redactor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.redactor:
            await self.app(scope, receive, send)
            return

        async def masked_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.body" and message.get("body"):
                message = {**message, "body": self.redactor.data(message["body"])}
            elif kind == "websocket.send":
                if message.get("text"):
                    message = {**message, "text": self.redactor.text(message["text"])}
                elif message.get("bytes"):
                    message = {**message, "bytes": self.redactor.data(message["bytes"])}
            await send(message)

        await self.app(scope, receive, masked_send)
