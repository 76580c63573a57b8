"""Shared pytest fixtures.

The real Claude Code CLI runs against ``ScriptedModel`` (tests/scripted_model.py), a local
server that speaks the Anthropic Messages API; only the model's answers are scripted.

Fixtures here must not import the application (core/, storage/, main.py): add fixtures
that need it in a section of their own below, importing lazily inside the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scripted_model import ScriptedModel

# --------------------------------------------------------------------------- scripted model


@pytest.fixture
def scripted_model() -> Iterator[ScriptedModel]:
    """A started ScriptedModel on 127.0.0.1:<free port>, stopped after the test."""
    with ScriptedModel() as model:
        yield model


# ------------------------------------------------------------------- CLI environment

# Variables that would make the CLI talk to something other than the scripted model,
# or read a real user's configuration.
_LEAKY_ENV = (
    "CLAUDE_CONFIG_DIR",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@dataclass
class ClaudeEnv:
    home: Path  # isolated HOME: the CLI keeps ~/.claude (sessions, settings) here
    projects_root: Path  # PROJECTS_ROOT, created empty
    base_url: str  # the scripted model's URL (ANTHROPIC_BASE_URL)
    env: dict[str, str]  # every variable the fixture set
    model: ScriptedModel

    @property
    def claude_dir(self) -> Path:
        return self.home / ".claude"


@pytest.fixture
def claude_env(scripted_model: ScriptedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ClaudeEnv:
    """Environment in which the real CLI (a child of this process) talks only to the scripted model.

    ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` stops the CLI's side traffic: the
    ``HEAD /api/hello`` preflight, the session-title request and the telemetry/DNS lookups
    of api.anthropic.com. A test about titles can ``monkeypatch.delenv`` it: the scripted
    model answers title requests (see ``ScriptedModel.side_text``).
    """
    home = tmp_path / "home"
    home.mkdir()
    projects_root = tmp_path / "projects"
    projects_root.mkdir()
    cli_tmp = tmp_path / "cli-tmp"
    cli_tmp.mkdir()
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": scripted_model.base_url,
        "ANTHROPIC_API_KEY": "test-key",
        # API errors fail at once instead of being retried for minutes.
        "CLAUDE_CODE_MAX_RETRIES": "0",
        # As root the CLI refuses bypassPermissions outside a sandbox.
        "IS_SANDBOX": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # The CLI's scratch files (Bash cwd tracking, fswatch probes), else left in /tmp/claude-<uid>.
        "CLAUDE_CODE_TMPDIR": str(cli_tmp),
        "PROJECTS_ROOT": str(projects_root),
    }
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ClaudeEnv(
        home=home,
        projects_root=projects_root,
        base_url=scripted_model.base_url,
        env=env,
        model=scripted_model,
    )


# ------------------------------------------------------------------- application services


@pytest.fixture
async def services_factory(claude_env: ClaudeEnv):
    """Build the app's services on the test's own PROJECTS_ROOT; each is shut down after the test."""
    from core.services import Services
    from core.settings import Settings

    made = []

    def make(**overrides):
        values = {"projects_root": claude_env.projects_root, "anthropic_api_key": "test-key",
                  "anthropic_base_url": claude_env.base_url, **overrides}
        settings = Settings(**values)
        services = Services.create(settings)
        services.start()
        made.append(services)
        return services

    yield make
    for services in made:
        await services.shutdown()


@pytest.fixture
async def services(services_factory):
    return services_factory()


@pytest.fixture
def project_factory():
    counter = iter(range(1000))
    return lambda services, name=None: services.projects.create(name or f"project-{next(counter)}")


@pytest.fixture
def project(services, project_factory):
    return project_factory(services)
