"""The layering of docs/architecture.md, checked on every import (top-level or inside a function).

storage/ <- core/ (the domain) <- core/security/ and core/api/ (the HTTP edge) <- components/ <- pages/
(core/security/ also holds what settings need of it: the secret hand-over, password hashes.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ("fastapi", "starlette")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports() -> dict[str, set[str]]:
    """Every module of the app (main.py and its packages) and what it imports, by full dotted name."""
    found: dict[str, set[str]] = {}
    for top in ("core", "storage", "components", "pages"):
        for path in (ROOT / top).rglob("*.py"):
            module = _module(path)
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:  # relative: resolve against the package
                        parts = package.split(".")
                        base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                    names.add(base)
                    names |= {f"{base}.{alias.name}" for alias in node.names}  # `from core import events`
            found[module] = names
    return found


def _under(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


RULES = [
    ("nothing in core/ but core/api/ and core/security/ imports FastAPI or Starlette",
     lambda m: _under(m, "core") and not _under(m, "core.api", "core.security"), lambda n: _under(n, *WEB)),
    ("nothing in core/ imports NiceGUI", lambda m: _under(m, "core"), lambda n: _under(n, "nicegui")),
    ("nothing in core/ imports the UI", lambda m: _under(m, "core"), lambda n: _under(n, "components", "pages")),
    ("the security layer does not import the API it protects", lambda m: _under(m, "core.security"),
     lambda n: _under(n, "core.api")),
    ("nothing in core/ but the composition (core/services.py) imports the API",
     lambda m: _under(m, "core") and not _under(m, "core.api", "core.services"), lambda n: _under(n, "core.api")),
    ("storage/ imports nothing from core/ or the UI", lambda m: _under(m, "storage"),
     lambda n: _under(n, "core", "components", "pages", "nicegui", *WEB)),
    ("components/ never import core/api/ or pages/", lambda m: _under(m, "components"),
     lambda n: _under(n, "core.api", "pages")),
]


@pytest.mark.parametrize("rule, importer, imported", RULES, ids=[rule[0] for rule in RULES])
def test_the_layers_hold(rule, importer, imported):
    found = imports()
    assert len(found) > 80, "the walk found the app's modules"
    broken = sorted(f"{module} imports {name}" for module, names in found.items() if importer(module)
                    for name in names if imported(name))
    assert not broken, f"{rule}:\n" + "\n".join(broken)
