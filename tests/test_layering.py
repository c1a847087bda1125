"""The package's imports go one way: no two modules of ``air`` import each other (at module level or inside a
function), e.g. the catalog of built-in AIRs is data that the registry reads."""

from __future__ import annotations

import ast
from pathlib import Path

import air

ROOT = Path(air.__file__).resolve().parent


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for f in ROOT.rglob("*.py"):
        parts = f.relative_to(ROOT.parent).with_suffix("").parts
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        deps: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("air"):
                deps.add(node.module or "")
                deps |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("air")}
        graph[mod] = deps - {mod}
    return graph


def test_no_two_modules_import_each_other() -> None:
    graph = _imports()
    assert "air.catalog" in graph and "air.registry" in graph
    mutual = sorted((a, b) for a in graph for b in graph[a] if b in graph and a < b and a in graph[b])
    assert mutual == []


def test_catalog_is_data() -> None:
    assert not any(d.startswith("air") for d in _imports()["air.catalog"])
