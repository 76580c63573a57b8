"""Server settings from command-line flags, the environment and a `.env` file.

Precedence: flag > environment > `.env` > default. Secrets stay here and in the
environment handed to the CLI; nothing in this module is ever sent to a browser.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 3001
    projects_root: Path = field(default_factory=lambda: Path("projects"))
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    claude_code_oauth_token: str | None = None
    grace_period_s: float = 300.0
    max_running_jobs: int = 4
    question_timeout_s: float = 600.0
    plan_timeout_s: float = 300.0
    permission_timeout_s: float = 600.0
    hibernate_after_s: float = 1800.0
    default_model: str | None = None
    default_permission_mode: str = "default"
    storage_secret: str | None = None

    @property
    def state_dir(self) -> Path:
        """Server metadata lives beside the projects, in a name no project may take."""
        return self.projects_root / ".server"

    @property
    def has_credentials(self) -> bool:
        return bool(self.anthropic_api_key or self.claude_code_oauth_token)

    def cli_env(self) -> dict[str, str]:
        """Environment additions for each Claude Code process."""
        env: dict[str, str] = {}
        if self.anthropic_api_key:
            env["ANTHROPIC_API_KEY"] = self.anthropic_api_key
        if self.anthropic_base_url:
            env["ANTHROPIC_BASE_URL"] = self.anthropic_base_url
        if self.claude_code_oauth_token:
            env["CLAUDE_CODE_OAUTH_TOKEN"] = self.claude_code_oauth_token
        return env


_ENV_FIELDS: dict[str, tuple[str, type]] = {
    "HOST": ("host", str),
    "PORT": ("port", int),
    "PROJECTS_ROOT": ("projects_root", Path),
    "ANTHROPIC_API_KEY": ("anthropic_api_key", str),
    "ANTHROPIC_BASE_URL": ("anthropic_base_url", str),
    "CLAUDE_CODE_OAUTH_TOKEN": ("claude_code_oauth_token", str),
    "GRACE_PERIOD_SECONDS": ("grace_period_s", float),
    "MAX_RUNNING_JOBS": ("max_running_jobs", int),
    "QUESTION_TIMEOUT_SECONDS": ("question_timeout_s", float),
    "PLAN_TIMEOUT_SECONDS": ("plan_timeout_s", float),
    "PERMISSION_TIMEOUT_SECONDS": ("permission_timeout_s", float),
    "HIBERNATE_AFTER_SECONDS": ("hibernate_after_s", float),
    "DEFAULT_MODEL": ("default_model", str),
    "STORAGE_SECRET": ("storage_secret", str),
}


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def _convert(name: str, raw: str, kind: type):
    try:
        value = kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from exc
    if kind in (int, float) and value < 0:
        raise SettingsError(f"{name} must not be negative (got {raw})")
    return value


def load_settings(argv: list[str] | None = None, env: dict[str, str] | None = None,
                  dotenv_path: str | Path | None = ".env") -> Settings:
    """Build settings; `argv` and `env` default to the process's own."""
    environ = dict(os.environ if env is None else env)
    file_values = {}
    if dotenv_path and Path(dotenv_path).is_file():
        file_values = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    merged = {**file_values, **{k: v for k, v in environ.items() if v != ""}}

    settings = Settings()
    for name, (attr, kind) in _ENV_FIELDS.items():
        if name in merged:
            setattr(settings, attr, _convert(name, merged[name], kind))

    parser = argparse.ArgumentParser(description="Claude Code Server")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--projects-root", type=Path)
    parser.add_argument("--grace-period", type=float, dest="grace_period_s")
    parser.add_argument("--max-running-jobs", type=int)
    args = parser.parse_args([] if argv is None else argv)
    for attr, value in vars(args).items():
        if value is not None:
            setattr(settings, attr, value)
    if settings.max_running_jobs < 1:
        raise SettingsError("MAX_RUNNING_JOBS must be at least 1")
    settings.projects_root = settings.projects_root.expanduser().resolve()
    # The rest of the process (and the CLI children) see what .env provided.
    for key in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_OAUTH_TOKEN"):
        if key in file_values and key not in environ and env is None:
            os.environ[key] = file_values[key]
    return settings
