"""The package's imports run one way, along the flow of the data: input -> front-end -> network
-> backends -> features -> classifiers and datasets -> evaluation and extraction -> the command
line, the HEAR API and the package face. A module imports from its own folder or from a folder
earlier in that flow (function-level imports included); the folders' own ``__init__`` files
import nothing, and no module reaches back to the package face."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "randcnn_fast"
# Each top-level module or folder with its place in the flow; equal places may not import each
# other.
FLOW = {
    "_version": 0, "atomic": 0, "_core": 0,
    "input": 1,
    "frontend": 2,
    "network": 3,
    "backends": 4,
    "features": 5,
    "classifiers": 6, "datasets": 6,
    "evaluation": 7, "extraction": 7,
    "cli": 8, "hear": 8, "__init__": 9,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def imports_within_the_package() -> dict[str, set[str]]:
    """Every package module with the package modules it imports, as dotted names."""
    graph = {}
    names = {module_name(path) for path in PACKAGE.rglob("*.py")} | {"_core"}  # _core is native
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
        if name == "__init__":
            package = []
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                base = package[: len(package) - (node.level - 1)]
                stem = base + (node.module.split(".") if node.module else [])
                # `from ..datasets import demo` imports the module datasets.demo.
                modules = {".".join(stem + [alias.name]) for alias in node.names}
                found |= (modules & names) or {".".join(stem)}
        graph[name] = found
    return graph


def place(module: str) -> tuple[str, int]:
    top = module.split(".")[0]
    assert top in FLOW, f"{module} is not placed in the flow (tests/test_imports.py FLOW)"
    return top, FLOW[top]


def test_every_import_runs_along_the_flow():
    for module, imported in imports_within_the_package().items():
        if module == "__init__":
            continue
        folder, rank = place(module)
        for other in imported:
            assert other not in ("", "__init__"), f"{module} imports from the package face"
            other_folder, other_rank = place(other)
            assert other_folder == folder or other_rank < rank, (
                f"{module} imports {other}: {other_folder} does not come before {folder}")


def test_folders_init_files_import_nothing():
    for path in PACKAGE.glob("*/__init__.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))], path


def test_the_imports_have_no_cycle():
    graph = imports_within_the_package()
    done, path = set(), []

    def visit(module: str) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done or module not in graph:
            return
        path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)


def test_the_walk_sees_relative_imports_of_every_depth():
    graph = imports_within_the_package()
    assert "network.layers" in graph["backends.native"]
    assert "_core" in graph["backends.native"]
    assert "features.embedder" in graph["__init__"]
    assert "datasets.demo" in graph["evaluation.evaluate"]
