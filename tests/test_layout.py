"""The package's tree is its architecture: stages import only earlier stages, and never in a circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "pipeline"
# Lower rank = earlier in the data's path. A module may import its own rank or lower ones.
RANKS = {
    "pipeline.errors": 0, "pipeline.model": 0, "pipeline.selection": 0, "pipeline.locales": 0,
    "pipeline.parallel": 0, "pipeline.fileread": 0,
    "pipeline.sources": 1, "pipeline.importer": 1, "pipeline.calendar": 2, "pipeline.newsletter": 3,
    "pipeline.web": 3.5,  # event pages: read calendar links and newsletter Markdown
    "pipeline.publish": 4, "pipeline.cache": 4, "pipeline.send": 5, "pipeline.rebuild": 5.5,
    "pipeline.build": 6, "pipeline.init": 6, "pipeline.cli": 7, "pipeline.schema": 7, "pipeline.__main__": 8,
    "pipeline": 0,
}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rank(module: str) -> int:
    for prefix in sorted(RANKS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return RANKS[prefix]
    raise AssertionError(f"{module} has no rank in tests/test_layout.py: give its stage one")


def imports_of(path: Path) -> set[str]:
    """Every pipeline module a file imports, at the top or lazily inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pipeline")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                found.add(candidate if is_module else node.module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_no_stage_imports_a_later_stage_or_the_command_line() -> None:
    upward = [f"{m} imports {i}" for m, imported in graph().items() for i in imported
              if rank(i) > rank(m)]
    assert not upward, upward


def test_only_the_entry_point_imports_the_command_line() -> None:
    assert [m for m, imported in graph().items() if "pipeline.cli" in imported] == ["pipeline.__main__"]


def test_there_is_no_import_circle() -> None:
    edges = {m: {i for i in imported if i != m and i != "pipeline"} for m, imported in graph().items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, set())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join([*stack, node, nxt]))
            if nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])


def test_no_module_is_past_the_size_a_reader_takes_in_at_once() -> None:
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_each_stage_says_what_it_takes_in_and_gives_out() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "take" in doc.lower() and "give" in doc.lower(), init


def test_the_readme_tour_names_every_module() -> None:
    tour = (ROOT / "README.md").read_text().split("## A tour", 1)[1].split("```")[1]
    named = set(re.findall(r"[A-Za-z_]\w*\.py|[a-z_]+/", tour))
    on_disk = {p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    on_disk |= {p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert on_disk <= named, sorted(on_disk - named)
