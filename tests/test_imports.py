"""The package's modules import one way: the graph of their imports of each other (function-level
imports included) has no cycle, and no module reaches back to the package face."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "randcnn_fast"
NATIVE = {"_core"}


def imports_within_the_package() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                found |= {name.split(".")[0] for name in names}
        graph[path.stem] = found - NATIVE
    return graph


def test_modules_import_only_modules():
    graph = imports_within_the_package()
    for module, imported in graph.items():
        unknown = imported - set(graph)
        assert not unknown, f"{module} imports {sorted(unknown)} from the package face"


def test_the_imports_have_no_cycle():
    graph = imports_within_the_package()
    done, path = set(), []

    def visit(module: str) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)
