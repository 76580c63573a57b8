"""Request and response bodies of the workspace routes: files, git and memory (spec G2-G4).

The response models mirror the services' dataclasses field for field; `of`
builds one from its dataclass, so the API shows exactly what the UI panels show.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from core.api.schemas import _Body
from core.workspace.files.service import ContentMatch, Entry, FilePreview, Match
from core.workspace.git.status import GitStatus, LogEntry
from core.workspace.memory import MAX_MEMORY_BYTES, MemoryFile

# ----------------------------------------------------------------------------------- files


class FileEntryOut(BaseModel):
    name: str
    path: str = Field(description="Relative to the project, with '/' separators.")
    is_dir: bool
    size: int = Field(description="Bytes; 0 for a directory.")
    mtime: float

    @classmethod
    def of(cls, entry: Entry) -> FileEntryOut:
        return cls(**asdict(entry))


class DirectoryOut(BaseModel):
    path: str = Field(description="The directory listed, relative to the project ('' is its root).")
    entries: list[FileEntryOut] = Field(description="Directories first, then files, by name; hidden and "
                                                    "ignored entries (.git, node_modules, .gitignore'd) left out.")


class FilePreviewOut(BaseModel):
    path: str
    size: int
    mtime: float
    language: str = Field(description="A highlight.js language name; 'text' when unknown.")
    text: str | None = Field(description="The file's text; null for a binary file; only its start when too_large.")
    is_binary: bool
    too_large: bool
    note: str | None = Field(description="Why the text is missing or cut short, for people.")

    @classmethod
    def of(cls, preview: FilePreview) -> FilePreviewOut:
        note = None
        if preview.is_binary:
            note = f"A binary file of {preview.size:,} bytes: there is no text to show."
        elif preview.too_large:
            note = f"A large file ({preview.size:,} bytes): only its first {len(preview.text or ''):,} characters."
        return cls(**asdict(preview), note=note)


class NameMatchOut(BaseModel):
    path: str
    score: float = Field(description="0-100, best first.")

    @classmethod
    def of(cls, match: Match) -> NameMatchOut:
        return cls(**asdict(match))


class ContentMatchOut(BaseModel):
    path: str
    line_number: int
    line: str
    before: list[str] = Field(description="Context lines above the match.")
    after: list[str] = Field(description="Context lines below the match.")

    @classmethod
    def of(cls, match: ContentMatch) -> ContentMatchOut:
        return cls(**asdict(match))


# ------------------------------------------------------------------------------------- git


class GitChangeOut(BaseModel):
    path: str
    change: str = Field(description="modified, added, deleted, renamed, copied, typechange, untracked or conflicted.")
    orig_path: str | None = Field(description="The old path of a rename or copy.")


class GitStatusOut(BaseModel):
    is_repo: bool = Field(description="The project folder is a repository's top level; `init` makes it one.")
    branch: str | None = Field(description="null when HEAD is detached.")
    detached: bool
    head: str | None = Field(description="The current commit's short sha; null before the first commit.")
    upstream: str | None
    ahead: int
    behind: int
    staged: list[GitChangeOut]
    modified: list[GitChangeOut] = Field(description="Changes not staged yet.")
    untracked: list[GitChangeOut]
    conflicted: list[GitChangeOut]
    truncated: bool = Field(description="A group was cut at 5,000 entries.")

    @classmethod
    def of(cls, status: GitStatus) -> GitStatusOut:
        fields = asdict(status)
        fields.pop("root")  # the project's path, already in the project record
        return cls(**fields)


class GitDiffOut(BaseModel):
    path: str
    staged: bool
    diff: str = Field(description="A unified diff; an untracked file shows as entirely added; '' when unchanged.")


class GitLogEntryOut(BaseModel):
    sha: str
    short_sha: str
    author: str
    email: str
    date: str = Field(description="ISO 8601, with the author's offset.")
    subject: str

    @classmethod
    def of(cls, entry: LogEntry) -> GitLogEntryOut:
        return cls(**asdict(entry))


ProjectPath = Annotated[str, Field(max_length=4096)]


class GitPaths(_Body):
    paths: list[ProjectPath] = Field(min_length=1, max_length=10_000,
                                     description="Files or folders, relative to the project.")


class GitCommit(_Body):
    message: str = Field(max_length=100_000)


class GitInit(_Body):
    first_commit: bool = Field(False, description="Also commit what is there (but what .gitignore leaves out): "
                                                  "isolated jobs need a commit to branch from.")


class GitCommitOut(BaseModel):
    sha: str = Field(description="The new commit.")
    status: GitStatusOut


class GitOutputOut(BaseModel):
    output: str = Field(description="What git printed.")
    status: GitStatusOut


# ---------------------------------------------------------------------------------- memory


class MemoryFileOut(BaseModel):
    id: str = Field(description="How routes name the file: 'project', 'local', 'project-rule:style.md', ...")
    level: Literal["user", "project", "local", "parent", "auto"]
    label: str
    path: str = Field(description="Where the file lives (or will, once written).")
    exists: bool
    editable: bool = Field(description="false for auto-memory and files of folders above the project.")
    size: int | None
    description: str

    @classmethod
    def of(cls, file: MemoryFile) -> MemoryFileOut:
        return cls(**file.to_dict())


class MemoryFileText(MemoryFileOut):
    text: str = Field(description="The file's text; '' for a file not created yet.")


class MemoryWrite(_Body):
    text: str = Field(max_length=MAX_MEMORY_BYTES,
                      description="The whole new content (at most 1 MiB); the file is created if missing.")

    @field_validator("text")
    @classmethod
    def _encodable(cls, value: str) -> str:
        # JSON can carry a lone surrogate ("\ud800"), which no file can hold as UTF-8.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be Unicode text without lone surrogates") from None
        return value


class RuleCreate(_Body):
    level: Literal["user", "project"] = Field(description="user: ~/.claude/rules; project: .claude/rules.")
    name: str = Field(max_length=200, examples=["style.md"],
                      description="A file name without folders; '.md' is added when missing.")
