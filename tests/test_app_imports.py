"""The modules of app/ import each other without a cycle.

Imports at module level, inside functions and under ``if TYPE_CHECKING:`` all count.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"


def app_imports(path: Path, modules: set[str]) -> set[str]:
    """The app modules that the file at ``path`` imports (``__init__`` for the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "app":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] != "app":
                continue
            if node.level > 1:
                continue  # above the package
            parts = (node.module or "").split(".")
            if node.level == 0:
                parts = parts[1:]  # "app.x" -> ["x"]
            if parts and parts[0]:
                found.add(parts[0])
            else:  # from . import x / from app import x: modules, else names of __init__
                found |= {a.name if a.name in modules else "__init__" for a in node.names}
    return found & modules


def import_graph() -> dict[str, set[str]]:
    modules = {p.stem for p in APP.glob("*.py")}
    return {m: app_imports(APP / f"{m}.py", modules) - {m} for m in sorted(modules)}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as [a, b, ..., a], or [] when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_import_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "session" in graph["main_window"]  # module level
    assert "sheet_dialog" in graph["window_io"]  # inside a function
    assert "session" in graph["job_dialog"]  # under TYPE_CHECKING
    assert "__init__" in graph["main_window"]  # from . import APP_NAME


def test_app_modules_import_without_cycles():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle in app/: " + " -> ".join(cycle)
