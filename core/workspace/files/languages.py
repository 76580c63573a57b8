"""A highlighting language for a file name (names both Pygments and highlight.js accept)."""

from __future__ import annotations

_BY_NAME = {
    "dockerfile": "dockerfile", "makefile": "makefile", "gnumakefile": "makefile", "cmakelists.txt": "cmake",
    ".bashrc": "bash", ".zshrc": "bash", ".profile": "bash", ".gitignore": "text", ".env": "bash",
    "cargo.lock": "toml", "pipfile": "toml", "gemfile": "ruby", "rakefile": "ruby", "vagrantfile": "ruby",
}

_BY_EXTENSION = {
    "py": "python", "pyi": "python", "pyw": "python", "ipynb": "json",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "jsx",
    "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "json": "json", "jsonc": "json", "json5": "json", "jsonl": "json", "geojson": "json",
    "yaml": "yaml", "yml": "yaml", "toml": "toml", "ini": "ini", "cfg": "ini", "conf": "ini",
    "md": "markdown", "markdown": "markdown", "mdx": "markdown", "rst": "rst", "txt": "text",
    "html": "html", "htm": "html", "xhtml": "html", "xml": "xml", "svg": "xml", "vue": "html",
    "css": "css", "scss": "scss", "sass": "sass", "less": "less",
    "sh": "bash", "bash": "bash", "zsh": "bash", "fish": "fish", "ps1": "powershell", "bat": "batch",
    "c": "c", "h": "c", "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp",
    "cs": "csharp", "java": "java", "kt": "kotlin", "kts": "kotlin", "scala": "scala", "groovy": "groovy",
    "go": "go", "rs": "rust", "swift": "swift", "m": "objectivec", "mm": "objectivec",
    "rb": "ruby", "php": "php", "pl": "perl", "pm": "perl", "lua": "lua", "r": "r", "jl": "julia",
    "ex": "elixir", "exs": "elixir", "erl": "erlang", "hs": "haskell", "ml": "ocaml", "clj": "clojure",
    "dart": "dart", "zig": "zig", "nim": "nim", "sql": "sql", "graphql": "graphql", "gql": "graphql",
    "proto": "protobuf", "tf": "hcl", "hcl": "hcl", "dockerfile": "dockerfile", "mk": "makefile",
    "diff": "diff", "patch": "diff", "csv": "text", "log": "text", "tex": "latex", "svelte": "html",
}


def guess_language(name: str) -> str:
    lowered = name.lower()
    if lowered in _BY_NAME:
        return _BY_NAME[lowered]
    if lowered.startswith("dockerfile"):
        return "dockerfile"
    _, dot, extension = lowered.rpartition(".")
    return _BY_EXTENSION.get(extension, "text") if dot else "text"
