"""Shared pytest fixtures.

The real Claude Code CLI runs against ``ScriptedModel`` (tests/support/scripted_model.py), a local
server that speaks the Anthropic Messages API; only the model's answers are scripted.

Fixtures here must not import the application (core/, storage/, main.py): add fixtures
that need it in a section of their own below, importing lazily inside the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ray_cluster import RayCluster
from tests.support.scripted_model import LEAKY_ENV, ScriptedModel, offline_cli_env

# --------------------------------------------------------------------------- scripted model


@pytest.fixture
def scripted_model() -> Iterator[ScriptedModel]:
    """A started ScriptedModel on 127.0.0.1:<free port>, stopped after the test."""
    with ScriptedModel() as model:
        yield model


# ------------------------------------------------------------------- CLI environment


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
    env = {**offline_cli_env(home, scripted_model.base_url, cli_tmp), "PROJECTS_ROOT": str(projects_root)}
    for name in LEAKY_ENV:
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


@pytest.fixture
def ray_cluster(claude_env: ClaudeEnv) -> Iterator[RayCluster]:
    """A real Ray cluster's head on this machine (1 CPU; `add_node()` adds workers, `head_held()` fills the
    head), every node with its own HOME and folders; their CLIs talk to the scripted model (spec O2)."""
    cluster = RayCluster(env=claude_env.env)
    try:
        cluster.start_head()
        yield cluster
    finally:
        cluster.stop()


# ------------------------------------------------------------------- application services


@pytest.fixture
async def services_factory(claude_env: ClaudeEnv, request: pytest.FixtureRequest):
    """Build the app's services on the test's own PROJECTS_ROOT; each is shut down after the test.

    The warm pool (spec O1) is off unless the test is marked `warm_pool`: a pool starts a second CLI
    a second after each job starts, which on a 2-core CI machine would slow every test. The flows it
    changes (jobs, approvals, the pool itself) run with it on, at its default size."""
    from core.services import Services
    from core.settings import Settings

    made = []
    pool = {} if request.node.get_closest_marker("warm_pool") else {"warm_pool_size": 0}

    def make(**overrides):
        values = {"projects_root": claude_env.projects_root, "anthropic_api_key": "test-key",
                  "anthropic_base_url": claude_env.base_url, **pool, **overrides}
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
