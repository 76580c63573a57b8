"""Every CSS class the UI's Python code uses is defined somewhere (H1, H4).

NiceGUI's Tailwind runtime is off: the Tailwind utilities come prebuilt in pages/static/tailwind.css.
A class added to the code after the last build would silently do nothing, and so would a typo; this
test reads the classes from the code (the arguments of `.classes(...)`, `classes=` arguments and
`*classes` variables) and looks each up in Quasar's CSS, NiceGUI's, the prebuilt Tailwind file and the
app's own style sheets.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nicegui

from pages import TAILWIND_CSS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "main.py", *sorted((ROOT / "components").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]
STATIC = Path(nicegui.__file__).parent / "static"
LIBRARY_CSS = ["quasar.unimportant.prod.css", "quasar.important.prod.css", "nicegui.css"]
_SELECTOR_CLASS = re.compile(r"\.((?:\\.|[\w-])+)")


def _strings(node: ast.AST) -> list[str]:
    """The literal text in an expression: constants, f-string pieces, both sides of `if`/`+`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        # A piece glued to a formatted value ("ccs-{x}") is no whole class: keep the space-separated ones.
        found = []
        for index, value in enumerate(node.values):
            if not isinstance(value, ast.Constant):
                continue
            words = str(value.value).split(" ")
            if index > 0:  # glued to the formatted value before it
                words = words[1:]
            if index < len(node.values) - 1 and words:  # glued to the one after it
                words = words[:-1]
            found.append(" ".join(words))
        return found
    if isinstance(node, ast.BinOp | ast.IfExp | ast.BoolOp | ast.Tuple | ast.List):
        return [text for child in ast.iter_child_nodes(node) for text in _strings(child)]
    return []


def used_classes() -> dict[str, str]:
    """Class -> where it is first used."""
    used: dict[str, str] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            expressions: list[ast.AST] = []
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr == "classes":
                    expressions += node.args + [k.value for k in node.keywords]
                expressions += [k.value for k in node.keywords if k.arg == "classes"]
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id.endswith("classes") for t in targets) and node.value:
                    expressions.append(node.value)
            elif isinstance(node, ast.arguments):
                names = [a.arg for a in node.args + node.kwonlyargs]
                defaults = [None] * (len(node.args) - len(node.defaults)) + list(node.defaults) + node.kw_defaults
                expressions += [d for name, d in zip(names, defaults, strict=True) if name.endswith("classes") and d]
            for expression in expressions:
                for text in _strings(expression):
                    for word in text.split():
                        used.setdefault(word, f"{path.relative_to(ROOT)}:{getattr(expression, 'lineno', '?')}")
    return used


def defined_classes() -> set[str]:
    sheets = [(STATIC / name).read_text() for name in LIBRARY_CSS] + [TAILWIND_CSS.read_text()]
    # The app's own rules live in Python strings (CSS constants, add_css / add_head_html calls).
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
                sheets.append(node.value)
    return {re.sub(r"\\(.)", r"\1", name) for sheet in sheets for name in _SELECTOR_CLASS.findall(sheet)}


def test_every_class_the_ui_uses_is_defined():
    used = used_classes()
    assert len(used) > 80, f"the scan found too few classes to be looking at the right code: {sorted(used)}"
    assert {"w-full", "gap-2", "items-center", "ccs-panel"} <= used.keys()
    defined = defined_classes()
    missing = {name: where for name, where in used.items() if name not in defined}
    assert not missing, (
        "classes defined nowhere (a typo, or a Tailwind class added since pages/static/tailwind.css was "
        f"built: rebuild it as pages/static/tailwind.input.css says): {missing}")


def test_the_prebuilt_utilities_are_served_and_the_runtime_is_off():
    import main

    assert main._ui_options(main.Settings())["tailwind"] is False
    css = TAILWIND_CSS.read_text()
    assert css.startswith("/*! tailwindcss v4.")
    assert "@layer utilities" in css and ".w-full{" in css
