"""Server settings from command-line flags, the environment and a `.env` file.

Precedence: flag > environment > `.env` > default. Secrets stay here and in the
environment handed to the CLI; nothing in this module is ever sent to a browser.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from core.security.handoff import SERVER_SECRETS, handed_over
from core.security.passwords import BadHash, check_hash

MIN_TOKEN_CHARS = 16
RUNNERS = ("local", "ray")
MIN_PASSWORD_CHARS = 8


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 3001
    projects_root: Path = field(default_factory=lambda: Path("projects"))
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str | None = None
    claude_code_oauth_token: str | None = field(default=None, repr=False)
    anthropic_auth_token: str | None = field(default=None, repr=False)  # a gateway's bearer token
    grace_period_s: float = 300.0
    max_running_jobs: int = 4
    question_timeout_s: float = 600.0
    plan_timeout_s: float = 300.0
    permission_timeout_s: float = 600.0
    hibernate_after_s: float = 1800.0
    default_model: str | None = None
    default_permission_mode: str = "default"
    storage_secret: str | None = field(default=None, repr=False)
    # Authentication (spec J1), on every bind: a token (AUTH_TOKEN, else the server's own, kept in the
    # state folder), or a password given plain or as a hash. `no_auth` is the opt-out, loopback only.
    auth_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    no_auth: bool = False
    new_token: bool = False  # make the server's own token anew (every session it opened ends)
    # Proxies whose X-Forwarded-For / -Proto are believed (addresses or networks); empty: nobody's.
    forwarded_allow_ips: list[str] = field(default_factory=list)
    # Host and Origin checks (spec J2): names and origins allowed besides the defaults.
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    cookie_secure: bool | None = None  # None: Secure when the request came over https
    max_live_sessions: int = 16  # Claude Code processes kept at once (~220 MB each)
    max_terminals: int = 8
    # Spec O1: started CLIs kept ready for the projects in use, so a new job skips the CLI's start (0: off).
    # They count against max_live_sessions.
    warm_pool_size: int = 2
    warm_pool_ttl_s: float = 600.0
    # Spec O2: where live sessions' CLIs run: "local" (this machine) or "ray" (actors on a Ray cluster at
    # ray_address, each asking for ray_agent_cpus CPUs and ray_agent_memory_mb of memory; `pip install
    # 'claude-code-web-server[ray]'`). With "ray" every new job works on its own branch, in a clone on a node.
    runner: str = "local"
    ray_address: str | None = None  # None: RAY_ADDRESS's usual meaning to Ray ("auto": a cluster on this machine)
    ray_agent_cpus: float = 1.0
    ray_agent_memory_mb: int = 1024
    # Behind a reverse proxy that serves the app under a path and strips it (`/claude`): links,
    # redirects, the websocket and the login cookie use it. Empty: served at the root.
    root_path: str = ""
    # Spec M2: the VAPID `sub` claim, the contact push services see in every push (a mailto: or https URL).
    push_contact: str = "mailto:push@claude-code-server.invalid"

    @property
    def state_dir(self) -> Path:
        """Server metadata lives beside the projects, in a name no project may take."""
        return self.projects_root / ".server"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def has_password(self) -> bool:
        return bool(self.password or self.password_hash)

    @property
    def has_credentials(self) -> bool:
        return bool(self.anthropic_api_key or self.claude_code_oauth_token or self.anthropic_auth_token)

    def secrets(self) -> list[str]:
        """Every secret value the settings hold: what the redactor masks."""
        return [s for s in (self.anthropic_api_key, self.claude_code_oauth_token, self.anthropic_auth_token,
                            self.storage_secret, self.auth_token, self.password, self.password_hash) if s]

    def cli_env(self) -> dict[str, str]:
        """Environment additions for each Claude Code process: the Anthropic credentials and nothing of the
        server's own (the server's environment holds no secret to inherit, see core/security/handoff.py)."""
        env: dict[str, str] = {}
        if self.anthropic_api_key:
            env["ANTHROPIC_API_KEY"] = self.anthropic_api_key
        if self.anthropic_auth_token:
            env["ANTHROPIC_AUTH_TOKEN"] = self.anthropic_auth_token
        if self.anthropic_base_url:
            env["ANTHROPIC_BASE_URL"] = self.anthropic_base_url
        if self.claude_code_oauth_token:
            env["CLAUDE_CODE_OAUTH_TOKEN"] = self.claude_code_oauth_token
        return env


def is_loopback_host(host: str) -> bool:
    """Whether every address `host` stands for is a loopback address. A name is resolved: `127.evil.example`
    is whatever DNS says it is, and a name that does not resolve is not loopback."""
    name = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if not name:
        return False  # every interface
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(ipaddress.ip_address(entry[4][0].split("%")[0]).is_loopback for entry in found)


_ENV_FIELDS: dict[str, tuple[str, type]] = {
    "HOST": ("host", str),
    "PORT": ("port", int),
    "PROJECTS_ROOT": ("projects_root", Path),
    "ANTHROPIC_API_KEY": ("anthropic_api_key", str),
    "ANTHROPIC_BASE_URL": ("anthropic_base_url", str),
    "CLAUDE_CODE_OAUTH_TOKEN": ("claude_code_oauth_token", str),
    "ANTHROPIC_AUTH_TOKEN": ("anthropic_auth_token", str),
    "GRACE_PERIOD_SECONDS": ("grace_period_s", float),
    "MAX_RUNNING_JOBS": ("max_running_jobs", int),
    "QUESTION_TIMEOUT_SECONDS": ("question_timeout_s", float),
    "PLAN_TIMEOUT_SECONDS": ("plan_timeout_s", float),
    "PERMISSION_TIMEOUT_SECONDS": ("permission_timeout_s", float),
    "HIBERNATE_AFTER_SECONDS": ("hibernate_after_s", float),
    "DEFAULT_MODEL": ("default_model", str),
    "STORAGE_SECRET": ("storage_secret", str),
    "AUTH_TOKEN": ("auth_token", str),
    "CCS_PASSWORD": ("password", str),
    "CCS_PASSWORD_HASH": ("password_hash", str),
    "NO_AUTH": ("no_auth", bool),
    "FORWARDED_ALLOW_IPS": ("forwarded_allow_ips", list),
    "ALLOWED_HOSTS": ("allowed_hosts", list),
    "ALLOWED_ORIGINS": ("allowed_origins", list),
    "COOKIE_SECURE": ("cookie_secure", bool),
    "MAX_LIVE_SESSIONS": ("max_live_sessions", int),
    "MAX_TERMINALS": ("max_terminals", int),
    "WARM_POOL_SIZE": ("warm_pool_size", int),
    "WARM_POOL_TTL_SECONDS": ("warm_pool_ttl_s", float),
    "RUNNER": ("runner", str),
    "RAY_ADDRESS": ("ray_address", str),
    "RAY_AGENT_CPUS": ("ray_agent_cpus", float),
    "RAY_AGENT_MEMORY_MB": ("ray_agent_memory_mb", int),
    "ROOT_PATH": ("root_path", str),
    "PUSH_CONTACT": ("push_contact", str),
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
# What push services accept as the VAPID `sub` (py_vapid checks the same before it signs).
_PUSH_CONTACT = re.compile(r"^(mailto:[^\s@]+@(localhost|[\w%-]+(\.[\w%-]+)+)|https://[\w.-]+\.[\w.-]+(:\d+)?(/\S*)?)$",
                           re.IGNORECASE)


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
    """Build settings; `argv` and `env` default to the process's own (with the secrets handed over at start)."""
    environ = {**os.environ, **handed_over()} if env is None else dict(env)
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
    parser.add_argument("--warm-pool-size", type=int, help="started CLIs kept ready for new jobs (0: none)")
    parser.add_argument("--warm-pool-ttl", type=float, dest="warm_pool_ttl_s",
                        help="seconds an unused started CLI is kept")
    parser.add_argument("--runner", choices=RUNNERS, help="where sessions' CLIs run: here, or on a Ray cluster")
    parser.add_argument("--ray-address", help="the Ray cluster to run agents on (RUNNER=ray), e.g. 10.0.0.5:6379")
    parser.add_argument("--root-path", help="the path prefix a reverse proxy serves the app under, e.g. /claude")
    parser.add_argument("--no-auth", action="store_true", default=None,
                        help="no login at all (loopback only): anyone with an account on this machine can use it")
    parser.add_argument("--new-token", action="store_true", default=None,
                        help="replace the server's login token with a new one; sessions it opened end")
    parser.add_argument("--proxy", action="append", dest="forwarded_allow_ips", metavar="ADDRESS",
                        help="a reverse proxy whose X-Forwarded-For/-Proto headers are believed (repeatable)")
    args = parser.parse_args([] if argv is None else argv)
    for attr, value in vars(args).items():
        if value is not None:
            setattr(settings, attr, value)
    if settings.max_running_jobs < 1:
        raise SettingsError("MAX_RUNNING_JOBS must be at least 1")
    if settings.max_live_sessions < settings.max_running_jobs:
        raise SettingsError("MAX_LIVE_SESSIONS must be at least MAX_RUNNING_JOBS (every running job is live)")
    if settings.warm_pool_size < 0 or settings.warm_pool_ttl_s < 0:
        raise SettingsError("WARM_POOL_SIZE and WARM_POOL_TTL_SECONDS must not be negative")
    check_runner_settings(settings)
    check_auth_settings(settings)
    settings.root_path = _root_path(settings.root_path)
    if not _PUSH_CONTACT.match(settings.push_contact):
        raise SettingsError(f"PUSH_CONTACT={settings.push_contact!r} is not a mailto: or https: URL "
                            "(e.g. mailto:you@example.com)")
    settings.projects_root = settings.projects_root.expanduser().resolve()
    return settings


def check_runner_settings(settings: Settings) -> None:
    settings.runner = (settings.runner or "local").strip().lower()
    if settings.runner not in RUNNERS:
        raise SettingsError(f"RUNNER={settings.runner!r} is not one of {', '.join(RUNNERS)}")
    if settings.ray_agent_cpus <= 0 or settings.ray_agent_memory_mb < 256:
        raise SettingsError("RAY_AGENT_CPUS must be above 0 and RAY_AGENT_MEMORY_MB at least 256 "
                            "(a Claude Code process alone takes about 200 MB)")
    if settings.runner == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise SettingsError("RUNNER=ray needs Ray: pip install 'claude-code-web-server[ray]'")


def check_auth_settings(settings: Settings) -> None:
    """Refuse combinations that would leave the server open or its login unusable."""
    if settings.auth_token is not None and len(settings.auth_token) < MIN_TOKEN_CHARS:
        raise SettingsError(f"AUTH_TOKEN must be at least {MIN_TOKEN_CHARS} characters; make one with "
                            "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if settings.password_hash:
        try:
            check_hash(settings.password_hash)
        except BadHash as exc:
            raise SettingsError(f"CCS_PASSWORD_HASH: {exc}; make one with python -m core.security.passwords") from None
    if settings.password:
        if settings.password_hash:
            raise SettingsError("Set CCS_PASSWORD or CCS_PASSWORD_HASH, not both.")
        if len(settings.password) < MIN_PASSWORD_CHARS:
            raise SettingsError(f"CCS_PASSWORD must be at least {MIN_PASSWORD_CHARS} characters.")
    if settings.no_auth:
        if not settings.is_loopback:
            raise SettingsError(f"--no-auth (NO_AUTH) is refused on {settings.host!r}: beyond loopback a login is "
                                "always required. Listen on 127.0.0.1, or drop --no-auth and log in.")
        if settings.auth_token or settings.has_password:
            raise SettingsError("--no-auth (NO_AUTH) and a token or password contradict each other; choose one.")
    if settings.new_token and settings.auth_token:
        raise SettingsError("--new-token replaces the server's own token, but AUTH_TOKEN is set: change it there.")
    for proxy in settings.forwarded_allow_ips:
        if proxy != "*":
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(f"FORWARDED_ALLOW_IPS / --proxy: {proxy!r} is not an IP address or "
                                    "network") from None
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
    """Remove the server's own secrets from the environment children inherit. `python main.py` has none left
    (`exec_without_secrets`); an embedding host app keeps them in its start environment, and its Anthropic
    credentials, which may be its own too, where they are."""
    for name in SERVER_SECRETS:
        os.environ.pop(name, None)
