"""Projects: named working directories (spec B1, B2)."""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import Conflict, NotFound, UserError
from core.hub import Hub
from core.jobs.budgets import checked_budget
from core.models import Project, new_id
from core.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9 _.\-]{0,99}$")
# Directories a project must never be: the agent runs tools with full access there.
_SYSTEM_DIRS = {"/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run",
                "/sbin", "/sys", "/usr", "/var", "/tmp", "/home", "/opt", "/srv", "/mnt", "/media"}
# ...and nothing inside these: the operating system's own files (/usr/bin, /etc/ssh, /proc/self...) and the
# system's variable data (logs, package databases, mail, spools), which are not anyone's project either.
_SYSTEM_TREES = tuple(Path(p) for p in (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
    "/sys", "/usr", "/var/backups", "/var/cache", "/var/db", "/var/empty", "/var/lib", "/var/local", "/var/lock",
    "/var/log", "/var/mail", "/var/run", "/var/spool"))


def validate_name(name: str) -> str:
    name = (name or "").strip() if isinstance(name, str | None) else ""  # a UI event may send anything
    if not name:
        raise UserError("A project needs a name.")
    if "/" in name or "\\" in name or "\x00" in name:
        raise UserError("A project name cannot contain path separators.")
    if ".." in name:
        raise UserError("A project name cannot contain '..'.")
    if not _NAME.match(name):
        raise UserError("A project name may use letters, digits, spaces, '.', '-' and '_', "
                        "must not start with '.', '-' or a space, and is at most 100 characters.")
    return name


def validate_external_path(raw: str, state_dir: Path) -> Path:
    if not isinstance(raw, str) or "\x00" in raw or len(raw) > 4096:
        raise UserError("The directory path is not valid.")
    if not raw.startswith("/"):
        raise UserError("An existing directory must be given as an absolute path.")
    resolved = _resolve(Path(raw), raw)
    refuse_unsafe_directory(resolved, state_dir)
    if not resolved.is_dir():
        raise UserError(f"{resolved} does not exist or is not a directory.")
    return resolved


def _resolve(path: Path, shown: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, say
        raise UserError(f"{shown!r} cannot be used: {exc}") from exc


def refuse_unsafe_directory(resolved: Path, state_dir: Path) -> None:
    """A project's directory, symlinks followed, must not be a system or home directory, nor hold or lie inside
    the server's own state (its cookie key and credentials would show in Files)."""
    if str(resolved) in _SYSTEM_DIRS or resolved == Path.home().resolve() or \
            any(resolved.is_relative_to(tree) for tree in _SYSTEM_TREES):
        raise UserError(f"{resolved} is a system or home directory; choose a project directory inside it.")
    state = state_dir.resolve()
    if resolved.is_relative_to(state) or state.is_relative_to(resolved):
        raise UserError(f"{resolved} holds the server's own state; choose another directory.")


class ProjectService:
    def __init__(self, settings: Settings, store, hub: Hub) -> None:
        self._settings = settings
        self._store = store
        self._hub = hub
        self._projects = {p["id"]: Project.from_dict(p) for p in store.projects()}

    def list(self, include_archived: bool = False) -> list[Project]:
        projects = sorted(self._projects.values(), key=lambda p: p.name.lower())
        return [p for p in projects if include_archived or not p.archived]

    def get(self, project_id: str) -> Project:
        try:
            return self._projects[project_id]
        except KeyError:
            raise NotFound(f"No project with id {project_id!r}.") from None

    def find_by_name(self, name: str) -> Project | None:
        lowered = name.strip().lower()
        return next((p for p in self._projects.values() if p.name.lower() == lowered), None)

    def find_by_path(self, path: Path) -> Project | None:
        target = str(path.resolve())
        return next((p for p in self._projects.values() if p.path == target), None)

    def create(self, name: str, path: str | None = None) -> Project:
        name = validate_name(name)
        if self.find_by_name(name):
            raise Conflict(f"A project named {name!r} already exists.")
        if path:
            directory = validate_external_path(path, self._settings.state_dir)
            external = True
        else:
            # An entry of that name may already be there, and be a symlink to anywhere: check where it leads.
            directory = _resolve(self._settings.projects_root / name, name)
            refuse_unsafe_directory(directory, self._settings.state_dir)
            external = False
        owner = self.find_by_path(directory)
        if owner:
            raise Conflict(f"{directory} already belongs to project {owner.name!r}.")
        directory.mkdir(parents=True, exist_ok=True)
        project = Project(id=new_id(), name=name, path=str(directory), external=external)
        self._save(project)
        return project

    def rename(self, project_id: str, name: str) -> Project:
        """Only the display name changes: the CLI keys sessions by directory, so it stays put."""
        project = self.get(project_id)
        name = validate_name(name)
        other = self.find_by_name(name)
        if other and other.id != project_id:
            raise Conflict(f"A project named {name!r} already exists.")
        project.name = name
        self._save(project)
        return project

    def set_isolate_jobs(self, project_id: str, isolate: bool) -> Project:
        """Whether new jobs of the project get a worktree and branch of their own by default (spec L1)."""
        project = self.get(project_id)
        project.isolate_jobs = bool(isolate)
        self._save(project)
        return project

    def set_monthly_budget(self, project_id: str, budget_usd: float | None) -> Project:
        """What the project's jobs may spend in a calendar month (spec N3); None: no budget."""
        project = self.get(project_id)
        project.monthly_budget_usd = checked_budget(budget_usd, "A project's monthly budget")
        self._save(project)
        return project

    def set_archived(self, project_id: str, archived: bool) -> Project:
        project = self.get(project_id)
        project.archived = archived
        self._save(project)
        return project

    def directory(self, project_id: str) -> Path:
        return Path(self.get(project_id).path)

    def _save(self, project: Project) -> None:
        self._store.save_project(project.to_dict())
        self._projects[project.id] = project
        self._hub.publish_global({"kind": "project", "project": project.to_dict()})
