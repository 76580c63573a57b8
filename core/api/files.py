"""/api/projects/{id}/files: a project's tree, file previews, name and content search (spec G2, J3).

The same FileService as the Files tab. Paths are relative to the project; `..`,
absolute paths and symbolic links that lead outside are refused with a 403.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from core.api.project_scope import FilesDep, WorkspaceJSON, off_loop
from core.api.workspace_schemas import ContentMatchOut, DirectoryOut, FileEntryOut, FilePreviewOut, NameMatchOut

router = APIRouter(prefix="/projects/{project_id}/files", tags=["files"], default_response_class=WorkspaceJSON)

DirQuery = Query("", max_length=4096, description="Relative to the project; '' is its root.")
FileQuery = Query(max_length=4096, description="Relative to the project.")


@router.get("", response_model=DirectoryOut)
async def list_directory(service: FilesDep, path: str = DirQuery) -> DirectoryOut:
    """One level of the tree."""
    entries = await off_loop(service.list_dir, path)
    shown = "/".join(part for part in path.split("/") if part not in ("", "."))  # 'src/./' is 'src'
    return DirectoryOut(path=shown, entries=[FileEntryOut.of(e) for e in entries])


@router.get("/content", response_model=FilePreviewOut)
async def read_file(service: FilesDep, path: str = FileQuery) -> FilePreviewOut:
    """A file's text, as the preview shows it: a binary file has no text, a file over 1 MB only its start;
    `note` says which."""
    return FilePreviewOut.of(await off_loop(service.read, path))


@router.get("/search/names", response_model=list[NameMatchOut])
async def search_names(service: FilesDep, query: str = Query(max_length=1000),
                       limit: int = Query(50, ge=1, le=1000)) -> list[NameMatchOut]:
    """Fuzzy search on file paths ('mdl' finds models.py), best first."""
    return [NameMatchOut.of(m) for m in await off_loop(service.search_names, query, limit)]


@router.get("/search/content", response_model=list[ContentMatchOut])
async def search_content(service: FilesDep, query: str = Query(max_length=1000),
                         regex: bool = Query(False, description="A regular expression rather than plain text."),
                         case_sensitive: bool = False, limit: int = Query(200, ge=1, le=10_000),
                         context: int = Query(2, ge=0, le=20, description="Lines shown around each match."),
                         ) -> list[ContentMatchOut]:
    """Matching lines of the project's text files (ignored files and files over 1 MB are not searched),
    by path and line number."""
    found = await off_loop(service.search_content, query, regex=regex, case_sensitive=case_sensitive, limit=limit,
                           context=context)
    return [ContentMatchOut.of(m) for m in found]
