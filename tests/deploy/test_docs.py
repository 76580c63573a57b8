"""The map stays true (spec K1): every feature id the repository cites is in docs/features.md, every place
that page names exists, and every setting of core/settings.py is in the README's configuration table.

Citation forms, as the code writes them: ``spec C12`` (``Spec C12``), lists ``spec J1, J2`` and
``spec D1/D3``, ranges ``spec C2-C12``, whole groups ``spec G`` or ``(spec C, E)``; in parentheses without
"spec": ``(H1, B1, B2)``, ``(E1-E3)``, ``(B2, C11, D2's data)``; and comment section headers
``# -- D2: tool renderers``. Bare letters and digits elsewhere (``E2E``, an SVG path's ``M3.5``) are not
citations.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import core.settings

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "docs" / "features.md"
README = ROOT / "README.md"
SCANNED_SUFFIXES = (".py", ".md", ".js")

ID = r"[A-O]\d{1,2}"
ITEM = rf"{ID}(?:-{ID})?"  # one id, or a range of them
# After "spec" any letter counts (a group P the page lacks is an error, not prose), and a whole group may be named.
_SPEC_ID = r"[A-Z]\d{1,2}"
_AFTER_SPEC = rf"(?:{_SPEC_ID}(?:-{_SPEC_ID})?|[A-O])(?![\w-])"
SPEC_LIST = re.compile(rf"\b[Ss]pec\s+({_AFTER_SPEC}(?:\s*[,/]\s*{_AFTER_SPEC})*)")
PARENS = re.compile(r"\(([^()]{1,400})\)")
PAREN_ITEM = re.compile(rf"(?:[Ss]pec\s+)?({ITEM}(?:/{ID})*)(?=$|\s|'s\b|:)")
SECTION = re.compile(rf"^[ \t]*#[ \t]*--+[ \t]*({ITEM}(?:[ \t]*[,/][ \t]*{ITEM})*)[ \t]*:", re.MULTILINE)
TOKEN = re.compile(rf"{_SPEC_ID}(?:-{_SPEC_ID})?|[A-O]\b")

FEATURE_ENTRY = re.compile(r"^- \*\*([A-O])(\d{1,2})\*\* ", re.MULTILINE)
GROUP_HEADING = re.compile(r"^## ([A-O])\. \S", re.MULTILINE)


@dataclass(frozen=True)
class Citation:
    path: str
    line: int
    token: str  # "C12", "C2-C12" or "G"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.token}"


def repository_files() -> list[str]:
    """Tracked files and new ones not yet added (nothing here is committed by the people editing it)."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: nothing says which files belong to the repository")
    return sorted(p for p in set(listed) if p.endswith(SCANNED_SUFFIXES) and (ROOT / p).is_file())


def citations_in(path: str, text: str) -> list[Citation]:
    found: set[tuple[int, str]] = set()

    def add(offset: int, fragment: str) -> None:
        line = text.count("\n", 0, offset) + 1
        found.update((line, token) for token in TOKEN.findall(fragment))

    for match in SPEC_LIST.finditer(text):
        add(match.start(1), match.group(1))
    for match in SECTION.finditer(text):
        add(match.start(1), match.group(1))
    for match in PARENS.finditer(text):
        offset = match.start(1)
        for part in match.group(1).split(","):
            item = PAREN_ITEM.match(part.strip())
            if item:
                add(offset + part.find(item.group(1)), item.group(1))
            offset += len(part) + 1
    return [Citation(path, line, token) for line, token in sorted(found)]


def all_citations() -> list[Citation]:
    return [c for path in repository_files()
            for c in citations_in(path, (ROOT / path).read_text(encoding="utf-8", errors="replace"))]


def documented_features() -> tuple[set[str], set[str]]:
    """The feature ids and the group letters of docs/features.md."""
    text = FEATURES.read_text(encoding="utf-8")
    return {g + n for g, n in FEATURE_ENTRY.findall(text)}, set(GROUP_HEADING.findall(text))


def expand(token: str) -> list[str] | None:
    """The ids a citation names; None for a range that is not one (other letters, or backwards)."""
    if "-" not in token:
        return [token]
    start, end = token.split("-")
    if start[0] != end[0] or int(start[1:]) >= int(end[1:]):
        return None
    return [f"{start[0]}{n}" for n in range(int(start[1:]), int(end[1:]) + 1)]


# -- feature ids ------------------------------------------------------------------------------------------


def test_the_citation_forms_in_use_are_recognised():
    text = '''"""Jobs (spec C2-C12) and the card (E1-E3); see spec J1, J2 and (spec A, C1), (spec C, E).
    Also (B2, C11, D2's data, G5's promotion rule), (spec G2 name search, F3 `@` completion), as C9 says.
    """
    # -- D1/D3: messages
    # -- terminal (G1) ----
    svg = "url(data:image/svg+xml,%3Cpath d='M3.5 11.5l3.2-4.2'/%3E)"  # no citation, nor is E2E; this is (H2)
    '''
    tokens = {c.token for c in citations_in("example.py", text)}
    assert tokens == {"C2-C12", "E1-E3", "J1", "J2", "A", "C1", "C", "E", "B2", "C11", "D2", "G5", "G2", "F3",
                      "D1", "D3", "G1", "H2"}, tokens


def test_docs_features_lists_every_group_once_with_ids_numbered_from_one():
    text = FEATURES.read_text(encoding="utf-8")
    ids = [g + n for g, n in FEATURE_ENTRY.findall(text)]
    assert len(ids) == len(set(ids)), f"listed twice: {sorted({i for i in ids if ids.count(i) > 1})}"
    features, groups = documented_features()
    assert groups == set("ABCDEFGHIJKLMNO")
    for group in sorted(groups):
        numbers = sorted(int(i[1:]) for i in features if i[0] == group)
        assert numbers and numbers == list(range(1, len(numbers) + 1)), f"group {group}: {numbers}"


def test_every_cited_feature_id_is_in_docs_features():
    citations = all_citations()
    assert len(citations) > 100, "the scan found almost nothing: has a citation form changed?"
    features, groups = documented_features()
    wrong = []
    for citation in citations:
        if len(citation.token) == 1:
            if citation.token not in groups:
                wrong.append(f"{citation} (no group {citation.token} in docs/features.md)")
            continue
        ids = expand(citation.token)
        if ids is None:
            wrong.append(f"{citation} (not a range)")
            continue
        wrong += [f"{citation} ({i} is not in docs/features.md)" for i in ids if i not in features]
    assert not wrong, "cited ids docs/features.md does not have:\n" + "\n".join(wrong)


def test_every_place_docs_features_names_exists():
    text = FEATURES.read_text(encoding="utf-8")
    where = " ".join(re.findall(r"\*Where:\*(.*?)(?=\n- \*\*|\n#|\Z)", text, re.DOTALL))
    paths = [p for p in re.findall(r"`([^`\s]+)`", where)
             if "(" not in p and ("/" in p or p.endswith((".py", ".md", ".toml", ".js")))]
    assert len(paths) > 50
    missing = sorted({p for p in paths if not (ROOT / p.rstrip("/")).exists()})
    assert not missing, f"docs/features.md names places that do not exist: {missing}"


def test_every_place_the_architecture_map_names_exists():
    """docs/architecture.md is the map a newcomer reads first: it must stay true when the tree moves."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = set(re.findall(r"`([A-Za-z_./]+(?:/|\.py))`", text))
    assert len(names) > 30
    # Short names in the tables are relative to the folder the row is about.
    bases = [ROOT, *(ROOT / folder for folder in ("core", "core/jobs", "core/security", "core/workspace", "storage",
                                                   "components"))]
    missing = sorted(name for name in names if not any((base / name.rstrip("/")).exists() for base in bases))
    assert not missing, f"docs/architecture.md names places that do not exist: {missing}"


# -- settings -------------------------------------------------------------------------------------------


def setting_flags() -> dict[str, str]:
    """Every `--flag` load_settings defines, with the Settings attribute it sets."""
    tree = ast.parse(inspect.getsource(core.settings.load_settings))
    flags = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("--")]
            dest = next((k.value.value for k in node.keywords if k.arg == "dest"), None)
            for name in names:
                flags[name] = dest or names[0][2:].replace("-", "_")
    return flags


def configuration_table() -> list[tuple[set[str], set[str]]]:
    """(variables, flags) of each row of the README's configuration table."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 4 and not all(re.fullmatch(r":?-+:?", c) for c in cells):
            rows.append((set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])),
                         set(re.findall(r"`(--[a-z0-9-]+)`", cells[1]))))
    return rows[1:]  # the header row


def test_every_setting_is_in_the_readme_configuration_table():
    env_names = set(core.settings._ENV_FIELDS)
    flags = setting_flags()
    assert len(env_names) > 20 and len(flags) > 8, "settings not found: has core/settings.py changed shape?"
    rows = configuration_table()
    variables = set().union(*(v for v, _ in rows))
    documented_flags = set().union(*(f for _, f in rows))
    undocumented = sorted(env_names - variables) + sorted(set(flags) - documented_flags)
    assert not undocumented, f"settings missing from README.md's configuration table: {undocumented}"
    stale = sorted(variables - env_names) + sorted(documented_flags - set(flags))
    assert not stale, f"README.md's configuration table lists settings core/settings.py does not have: {stale}"


def test_each_readme_row_pairs_a_variable_with_the_flag_that_sets_the_same_setting():
    flags = setting_flags()
    attribute_of = {name: attr for name, (attr, _) in core.settings._ENV_FIELDS.items()}
    flag_of = {attr: flag for flag, attr in flags.items()}
    wrong = []
    for variables, row_flags in configuration_table():
        attributes = {attribute_of.get(v) for v in variables} | {flags.get(f) for f in row_flags}
        if len(attributes) > 1:
            wrong.append(f"{sorted(variables)} and {sorted(row_flags)} set different settings")
        wrong += [f"{v} has the flag {flag_of[attribute_of[v]]}, which its row does not give"
                  for v in variables if attribute_of.get(v) in flag_of and flag_of[attribute_of[v]] not in row_flags]
    assert not wrong, "\n".join(wrong)
