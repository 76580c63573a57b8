"""Server settings from command-line flags, the environment and a `.env` file.

Precedence: flag > environment > `.env` > default. Secrets stay here and in the
environment handed to the CLI; nothing in this module is ever sent to a browser.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from core.security_passwords import BadHash, check_hash, hash_password

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Read once at start and then removed from the process environment, so that no Claude Code
# process, tool or terminal started by the server inherits them (see `scrub_environment`).
SERVER_SECRETS = ("AUTH_TOKEN", "CCS_PASSWORD", "CCS_PASSWORD_HASH", "STORAGE_SECRET")
MIN_TOKEN_CHARS = 16
MIN_PASSWORD_CHARS = 8


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
    # Authentication (spec J1): a token, a password (kept only as its hash), or both.
    auth_token: str | None = None
    password_hash: str | None = None
    require_auth: bool = False  # on loopback too; beyond loopback it is always required
    # Host and Origin checks (spec J2): names and origins allowed besides the defaults.
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    cookie_secure: bool | None = None  # None: Secure when the request came over https
    max_live_sessions: int = 16  # Claude Code processes kept at once (~220 MB each)
    max_terminals: int = 8
    # Behind a reverse proxy that serves the app under a path and strips it (`/claude`): links,
    # redirects, the websocket and the login cookie use it. Empty: served at the root.
    root_path: str = ""

    @property
    def state_dir(self) -> Path:
        """Server metadata lives beside the projects, in a name no project may take."""
        return self.projects_root / ".server"

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    @property
    def auth_configured(self) -> bool:
        return bool(self.auth_token or self.password_hash)

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
    "AUTH_TOKEN": ("auth_token", str),
    "CCS_PASSWORD_HASH": ("password_hash", str),
    "REQUIRE_AUTH": ("require_auth", bool),
    "ALLOWED_HOSTS": ("allowed_hosts", list),
    "ALLOWED_ORIGINS": ("allowed_origins", list),
    "COOKIE_SECURE": ("cookie_secure", bool),
    "MAX_LIVE_SESSIONS": ("max_live_sessions", int),
    "MAX_TERMINALS": ("max_terminals", int),
    "ROOT_PATH": ("root_path", str),
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def _convert(name: str, raw: str, kind: type):
    if kind is bool:
        if raw.strip().lower() in _TRUE | _FALSE | {"auto"}:
            return None if raw.strip().lower() == "auto" else raw.strip().lower() in _TRUE
        raise SettingsError(f"{name}={raw!r} is not true or false")
    if kind is list:  # comma- or space-separated
        return [item for item in raw.replace(",", " ").split() if item]
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
    parser.add_argument("--max-live-sessions", type=int)
    parser.add_argument("--root-path", help="the path prefix a reverse proxy serves the app under, e.g. /claude")
    parser.add_argument("--require-auth", action="store_true", default=None,
                        help="ask for the token or password on loopback too")
    args = parser.parse_args([] if argv is None else argv)
    for attr, value in vars(args).items():
        if value is not None:
            setattr(settings, attr, value)
    if settings.max_running_jobs < 1:
        raise SettingsError("MAX_RUNNING_JOBS must be at least 1")
    if settings.max_live_sessions < settings.max_running_jobs:
        raise SettingsError("MAX_LIVE_SESSIONS must be at least MAX_RUNNING_JOBS (every running job is live)")
    _auth_settings(settings, merged)
    settings.root_path = _root_path(settings.root_path)
    settings.projects_root = settings.projects_root.expanduser().resolve()
    # The rest of the process (and the CLI children) see what .env provided.
    for key in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_OAUTH_TOKEN"):
        if key in file_values and key not in environ and env is None:
            os.environ[key] = file_values[key]
    return settings


def _auth_settings(settings: Settings, merged: dict[str, str]) -> None:
    if settings.auth_token is not None and len(settings.auth_token) < MIN_TOKEN_CHARS:
        raise SettingsError(f"AUTH_TOKEN must be at least {MIN_TOKEN_CHARS} characters; make one with "
                            "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if settings.password_hash:
        try:
            check_hash(settings.password_hash)
        except BadHash as exc:
            raise SettingsError(f"CCS_PASSWORD_HASH: {exc}; make one with python -m core.security_passwords") from None
    plain = merged.get("CCS_PASSWORD")
    if plain:
        if settings.password_hash:
            raise SettingsError("Set CCS_PASSWORD or CCS_PASSWORD_HASH, not both.")
        if len(plain) < MIN_PASSWORD_CHARS:
            raise SettingsError(f"CCS_PASSWORD must be at least {MIN_PASSWORD_CHARS} characters.")
        settings.password_hash = hash_password(plain)  # the plain text is not kept
    for origin in settings.allowed_origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(f"ALLOWED_ORIGINS: {origin!r} is not an origin like https://example.com")


def _root_path(value: str) -> str:
    """`/claude` from `claude/`, `/claude/` or `/claude`; empty for the root."""
    path = "/" + value.strip().strip("/")
    if path == "/":
        return ""
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", path) or any(part in (".", "..") for part in path.split("/")):
        raise SettingsError(f"ROOT_PATH={value!r} is not a path prefix like /claude (letters, digits, . _ ~ -)")
    return path


def scrub_environment() -> None:
    """Remove the server's own secrets from the environment its children inherit."""
    for name in SERVER_SECRETS:
        os.environ.pop(name, None)
