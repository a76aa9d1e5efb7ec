"""The layering of DESIGN.md, read from the source: only the composition root (``app/``)
imports adapters; the engine imports neither the composition root, nor adapters, nor the
Lightning side; the domain imports nothing of ours but the domain; no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "tradeloop"
LIGHTNING_SIDE = ("lightning", "torch", "mlflow", "tradeloop.ml.training",
                  "tradeloop.ml.training_job", "tradeloop.ml.promotion", "tradeloop.ml.nets")


def _module(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, *, top_level_only: bool) -> list[str]:
    """Modules imported by ``path`` (``top_level_only``: not inside functions and not under
    ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    found: list[str] = []

    def visit(nodes: list[ast.stmt], nested: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append(node.module)
                found.extend(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If):
                checking = isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                if not (checking and top_level_only):
                    visit(node.body, nested)
                visit(node.orelse, nested)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if not top_level_only:
                    visit(node.body, True)
            elif isinstance(node, ast.Try | ast.With):
                visit(node.body, nested)

    visit(tree.body, False)
    return found


def _sources() -> dict[str, Path]:
    return {_module(p): p for p in SRC.rglob("*.py")}


def test_only_the_composition_root_imports_adapters() -> None:
    offenders = []
    for name, path in _sources().items():
        if name.startswith(("tradeloop.adapters", "tradeloop.app")):
            continue
        bad = sorted({m for m in _imports(path, top_level_only=False)
                      if m.startswith("tradeloop.adapters")})
        if bad:
            offenders.append(f"{name}: {', '.join(bad)}")
    assert offenders == []


def test_nothing_below_the_entry_points_imports_the_composition_root() -> None:
    offenders = []
    for name, path in _sources().items():
        if name.startswith(("tradeloop.app", "tradeloop.cli")) or name == "tradeloop.__main__":
            continue
        bad = sorted({m for m in _imports(path, top_level_only=False)
                      if m == "tradeloop.app" or m.startswith("tradeloop.app.")})
        if bad:
            offenders.append(f"{name}: {', '.join(bad)}")
    assert offenders == []


def test_the_engine_and_the_domain_stay_inward() -> None:
    offenders = []
    for name, path in _sources().items():
        imported = set(_imports(path, top_level_only=False))
        if name.startswith("tradeloop.engine"):
            bad = {m for m in imported if m.startswith(("tradeloop.app", "tradeloop.adapters",
                                                        "tradeloop.deploy"))
                   or m.startswith(LIGHTNING_SIDE)}
        elif name.startswith("tradeloop.domain"):
            bad = {m for m in imported if m.startswith("tradeloop.")
                   and not m.startswith("tradeloop.domain")}
        else:
            continue
        if bad:
            offenders.append(f"{name}: {', '.join(sorted(bad))}")
    assert offenders == []


def test_no_import_cycles() -> None:
    sources = _sources()
    graph = {name: {m for m in _imports(path, top_level_only=True) if m in sources
                    and m != name and not name.startswith(m + ".")}
             for name, path in sources.items()}
    cycles: list[str] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert cycles == []


def test_the_checker_sees_an_adapter_import(tmp_path: Path) -> None:
    """The rule above can fail: a lazy import inside a function is found too."""
    sample = tmp_path / "mod.py"
    sample.write_text("def f():\n    from tradeloop.adapters.clock import WallClock\n")
    assert "tradeloop.adapters.clock" in _imports(sample, top_level_only=False)
    assert _imports(sample, top_level_only=True) == []
