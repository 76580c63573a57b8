"""A project's own MCP servers, kept in its `.mcp.json` as the CLI writes it (spec N4).

The server reads the file, checks every server in it, and hands the servers to each job's CLI itself
(`mcp_servers`), so what a job runs is what was checked. A file that cannot be read as JSON, or a server in
it that is not valid, is reported with the line and the reason; changes are refused until the file is fixed
by hand, so nothing a person wrote is ever overwritten. Changes keep every other key of the file.

    {"mcpServers": {"name": {"type": "stdio", "command": "...", "args": [...], "env": {...}},
                    "web": {"type": "http", "url": "https://...", "headers": {...}}}}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import Conflict, NotFound, UserError
from storage.atomic_json import write_atomic

FILE = ".mcp.json"
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
TYPES = ("stdio", "http", "sse")
MAX_FILE_BYTES = 1_000_000


@dataclass
class McpFile:
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)  # the valid ones
    problems: list[str] = field(default_factory=list)  # what is wrong, with the line where it can be told
    exists: bool = False
    malformed: bool = False  # not JSON (or not an object): nothing can be changed until it is fixed


def check_server(name: str, config: Any) -> dict[str, Any]:
    """One server's configuration, normalized; UserError saying what is wrong."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UserError("A server name is 1 to 64 letters, digits, '-' or '_'.")
    if not isinstance(config, dict):
        raise UserError(f"Server {name!r}: its configuration must be an object.")
    kind = config.get("type", "stdio")
    if kind not in TYPES:
        raise UserError(f"Server {name!r}: type must be one of {', '.join(TYPES)}.")
    if kind == "stdio":
        command, args, env = config.get("command"), config.get("args", []), config.get("env", {})
        if not isinstance(command, str) or not command.strip():
            raise UserError(f"Server {name!r}: 'command' must be the program to start.")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise UserError(f"Server {name!r}: 'args' must be a list of strings.")
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise UserError(f"Server {name!r}: 'env' must map names to strings.")
        normalized: dict[str, Any] = {"type": "stdio", "command": command, "args": list(args)}
        if env:
            normalized["env"] = dict(env)
        return normalized
    url, headers = config.get("url"), config.get("headers", {})
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UserError(f"Server {name!r}: 'url' must be an http:// or https:// address.")
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in headers.items()):
        raise UserError(f"Server {name!r}: 'headers' must map names to strings.")
    return {"type": kind, "url": url, **({"headers": dict(headers)} if headers else {})}


class McpConfig:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE

    def read(self) -> McpFile:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return McpFile()
        except OSError as exc:
            return McpFile(exists=True, malformed=True, problems=[f"{FILE} cannot be read: {exc.strerror}."])
        if len(raw) > MAX_FILE_BYTES:
            return McpFile(exists=True, malformed=True, problems=[f"{FILE} is larger than 1 MB."])
        text = raw.decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return McpFile(exists=True, malformed=True,
                           problems=[f"{FILE}, line {exc.lineno}, column {exc.colno}: {exc.msg}."])
        servers = data.get("mcpServers", {}) if isinstance(data, dict) else None
        if not isinstance(servers, dict):
            return McpFile(exists=True, malformed=True, problems=[f"{FILE}: 'mcpServers' must be an object."])
        found = McpFile(exists=True)
        for name, config in servers.items():
            try:
                found.servers[name] = check_server(name, config)
            except UserError as exc:
                found.problems.append(f"{FILE}, line {_line_of(text, name)}: {exc}")
        return found

    def put(self, name: str, config: Any) -> dict[str, Any]:
        """Add or replace one server; the rest of the file is kept as it is."""
        checked = check_server(name, config)
        data = self._editable()
        data.setdefault("mcpServers", {})[name] = checked
        self._write(data)
        return checked

    def remove(self, name: str) -> None:
        data = self._editable()
        if name not in data.get("mcpServers", {}):
            raise NotFound(f"The project has no MCP server named {name!r}.")
        del data["mcpServers"][name]
        self._write(data)

    def _editable(self) -> dict[str, Any]:
        current = self.read()
        if current.malformed:
            raise Conflict(f"{current.problems[0]} Fix the file first; nothing was changed.")
        if not current.exists:
            return {"mcpServers": {}}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def _write(self, data: dict[str, Any]) -> None:
        write_atomic(self.path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode(), mode=0o644)


def _line_of(text: str, name: str) -> int:
    """The line on which a server's entry starts (1 when it cannot be told)."""
    at = text.find(json.dumps(name) + ":")
    if at < 0:
        at = text.find(json.dumps(name))
    return text.count("\n", 0, at) + 1 if at >= 0 else 1
