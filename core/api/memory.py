"""/api/projects/{id}/memory: the CLAUDE.md hierarchy of a project, to read and edit (spec G4, J3).

The same MemoryService as the Memories tab. Files are named by the ids the list
gives ('project', 'local', 'project-rule:style.md', 'auto:MEMORY.md', ...), never by
path: an id that is not in the list is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from core.api.project_scope import MemoryDep, WorkspaceJSON, off_loop
from core.api.workspace_schemas import MemoryFileOut, MemoryFileText, MemoryWrite, RuleCreate

router = APIRouter(prefix="/projects/{project_id}/memory", tags=["memory"], default_response_class=WorkspaceJSON)

FileId = Path(max_length=1000, description="An id from the list; rule ids may hold '/' (a rule in a subfolder).")


@router.get("", response_model=list[MemoryFileOut])
async def list_memory(memory: MemoryDep) -> list[MemoryFileOut]:
    """Every file the CLI loads for the project, created or not: user, project, local, rules, parent folders',
    auto-memory."""
    return [MemoryFileOut.of(f) for f in await off_loop(memory.list)]


@router.post("/rules", status_code=status.HTTP_201_CREATED, response_model=MemoryFileOut)
async def create_rule(memory: MemoryDep, body: RuleCreate) -> MemoryFileOut:
    """A new, empty rules file (409 if it exists); write its text with PUT."""
    return MemoryFileOut.of(await off_loop(memory.create_rule, body.level, body.name))


@router.get("/{file_id:path}", response_model=MemoryFileText)
async def read_memory(memory: MemoryDep, file_id: str = FileId) -> MemoryFileText:
    file = await off_loop(memory.get, file_id)
    text = await off_loop(memory.read, file_id)
    return MemoryFileText(**MemoryFileOut.of(file).model_dump(), text=text)


@router.put("/{file_id:path}", response_model=MemoryFileOut)
async def write_memory(memory: MemoryDep, body: MemoryWrite,
                       file_id: str = FileId) -> MemoryFileOut:
    """Replace the file's text, creating it (and its folder) if needed. Sessions started afterwards load it."""
    return MemoryFileOut.of(await off_loop(memory.write, file_id, body.text))
