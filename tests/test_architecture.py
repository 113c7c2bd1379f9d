"""Layering of the engine, read from its sources (``ast``, nothing is imported).

The import graph holds every ``import`` in ``engine/**/*.py``, at module level and inside
functions. ``from package import name`` counts as importing ``package.name`` when that is a module,
and as importing the module a lazy ``_EXPORTS`` table of the package names for it (``engine``,
``engine.data``), else as importing the package. A package's ``__init__`` is not implied by
importing one of its modules.

Layers, bottom up (README, "Architecture"): foundation (errors, config, vocabulary, devices,
threads, resources, safe_io, parts) and networks; inference; training, data, synthesis and
evaluation; the command-line programs. The desktop app (``app/``) sits above the engine.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"

INFERENCE = (
    "engine.infer",
    "engine.images",
    "engine.crop",
    "engine.model_file",
    "engine.output",
    "engine.codes",
    "engine.networks",
)
FOUNDATION = (
    "engine.errors",
    "engine.config",
    "engine.vocabulary",
    "engine.devices",
    "engine.threads",
    "engine.resources",
    "engine.safe_io",
    "engine.parts",
    "engine.lazy",
)
TRAINING_AND_DATA = ("engine.train", "engine.data", "engine.synth", "engine.evaluate")
GUI = ("app", "PySide6", "shiboken6", "qimage2ndarray")


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for path in sorted(ENGINE.rglob("*.py")):
        found[_module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return found


def _lazy_exports(package: str) -> dict[str, str]:
    """A package's ``_EXPORTS = {name: module}`` table (names it loads on first use)."""
    entry = _sources().get(package)
    if entry is None or not entry[0].name == "__init__.py":
        return {}
    for node in entry[1].body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports (engine modules resolved as the docstring says)."""
    path, tree = _sources()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            exports = _lazy_exports(base)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in _sources():
                    out.add(full)
                elif alias.name in exports:
                    out.add(exports[alias.name])
                else:
                    out.add(base)
    out.discard(module)
    return out


def _graph() -> dict[str, set[str]]:
    """Edges between engine modules."""
    modules = _sources()
    return {m: {i for i in _imports(m) if i in modules} for m in modules}


def _reachable(start: str, graph: dict[str, set[str]]) -> dict[str, str]:
    """Every module ``start`` imports directly or indirectly -> the module that imports it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        current = todo.pop()
        for nxt in graph[current]:
            if nxt not in seen and nxt != start:
                seen[nxt] = current
                todo.append(nxt)
    return seen


def _chain(start: str, end: str, parents: dict[str, str]) -> str:
    chain = [end]
    while chain[-1] != start:
        chain.append(parents[chain[-1]])
    return " -> ".join(reversed(chain))


def test_the_graph_sees_the_engine():
    graph = _graph()
    assert {"engine.infer", "engine.train.loop", "engine.data.cub", "engine.cli.mix"} <= set(graph)
    assert "engine.networks.discriminators" in graph["engine.train.trainer"]
    assert "engine.evaluate.metrics" in graph["engine.evaluate.run"]  # from package import module
    assert "engine.infer" in graph["engine.cli.evaluate"]  # from engine import MixNMatch (lazy)
    assert "engine.synth" in graph["engine.train.loop"]  # an import inside a function


def test_no_import_cycle():
    graph = _graph()
    for module in graph:
        parents = _reachable(module, graph)
        for nxt in graph:
            if module in graph[nxt] and nxt in parents:
                pytest.fail(f"import cycle: {_chain(module, nxt, parents)} -> {module}")


@pytest.mark.parametrize("layer", INFERENCE)
def test_inference_never_reaches_training_or_data(layer):
    """Mixing needs a model file and images, never the training stack (not even indirectly)."""
    graph = _graph()
    for module in [m for m in graph if _in(m, (layer,))]:
        parents = _reachable(module, graph)
        for target in parents:
            assert not _in(target, TRAINING_AND_DATA + ("engine.cli",)), _chain(
                module, target, parents
            )


def test_training_does_not_import_inference():
    """Training builds and exports networks through engine.model_file; it never goes through the
    inference API (the quick evaluations reach it only through engine.evaluate)."""
    for module, imports in _graph().items():
        if _in(module, ("engine.train",)):
            assert "engine.infer" not in imports, module


def test_foundation_and_networks_import_only_themselves():
    for module, imports in _graph().items():
        if _in(module, FOUNDATION + ("engine.networks", "engine.codes")):
            for target in imports:
                assert _in(target, FOUNDATION + ("engine.networks",)), f"{module} -> {target}"


def test_only_the_cli_imports_the_cli():
    for module, imports in _graph().items():
        if not _in(module, ("engine.cli",)):
            assert not any(_in(t, ("engine.cli",)) for t in imports), module


def test_engine_never_imports_the_app_or_qt():
    for module in _sources():
        bad = [name for name in _imports(module) if _in(name, GUI)]
        assert not bad, f"{module} imports {bad}"
