"""Every module's public API (its ``__all__``) is documented in numpydoc form, and every docstring
example in the package runs: each name in ``__all__`` has Parameters (when it takes arguments),
Returns or Yields (when it returns something) and Examples sections, and the standard library's
doctest runs each module's examples in a temporary working directory."""
from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "randcnn_fast"
# The examples of a module (or of one docstring, by its qualified name) need these optional
# packages; without them they are skipped, with the reason.
NEEDS = {
    "randcnn_fast.backends.onnx_runtime": ("onnxruntime", "onnx"),
    "randcnn_fast.extraction": ("pyarrow", "pandas"),
    "randcnn_fast.load_embeddings": ("pyarrow", "pandas"),
}
# Modules (and those split from them, by name prefix) whose docstrings are being rewritten
# together with a split of the module: their examples run, their ``__all__`` and sections are
# checked once the split lands (remove them from here then).
SECTIONS_PENDING = ()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(("randcnn_fast",) + parts))
    return names


MODULES = module_names()


def missing_dependency(module_name: str) -> str | None:
    for prefix, packages in NEEDS.items():
        if module_name == prefix or module_name.startswith(prefix + "."):
            for package in packages:
                if importlib.util.find_spec(package) is None:
                    return f"{module_name}'s examples need {package}, which is not installed"
    return None


def import_or_skip(module_name: str):
    reason = missing_dependency(module_name)
    if reason is not None:
        pytest.skip(reason)
    return importlib.import_module(module_name)


def sections(doc: str) -> set[str]:
    """The numpydoc section titles in ``doc``: a line followed by a line of dashes as long."""
    lines = inspect.cleandoc(doc).splitlines()
    return {line.strip() for line, rule in zip(lines, lines[1:])
            if line.strip() and re.fullmatch(r"-{3,}", rule.strip())
            and len(rule.strip()) == len(line.strip())}


def takes_arguments(obj) -> bool:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return any(name not in ("self", "cls") for name in parameters)


def returns_something(function) -> bool:
    """False only when the source says it returns nothing: ``-> None`` or no ``return value``."""
    annotation = inspect.signature(function).return_annotation
    if annotation in (None, "None"):
        return False
    if annotation is not inspect.Signature.empty:
        return True
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return True
    return bool(re.search(r"^\s*(return|yield)\s+\S", source, re.MULTILINE))


def problems(name: str, obj) -> list[str]:
    """What the docstring of ``obj`` (listed as ``name`` in an ``__all__``) lacks."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return []  # a constant: documented by a comment next to it
    doc = inspect.getdoc(obj)
    if not doc:
        return [f"{name}: no docstring"]
    found = sections(doc)
    lacking = []
    if "Examples" not in found:
        lacking.append("Examples")
    is_error = inspect.isclass(obj) and issubclass(obj, BaseException)
    if takes_arguments(obj) and not is_error and "Parameters" not in found:
        lacking.append("Parameters")
    if inspect.isclass(obj):
        if not is_error and not found & {"Attributes", "Methods"}:
            lacking.append("Attributes")
    elif returns_something(obj) and not found & {"Returns", "Yields"}:
        lacking.append("Returns")
    out = [f"{name}: no {section} section" for section in lacking]
    if inspect.isclass(obj):
        for attr, member in vars(obj).items():
            if attr.startswith("_") or not (inspect.isfunction(member)
                                            or isinstance(member, (classmethod, staticmethod))):
                continue
            out += problems(f"{name}.{attr}", getattr(obj, attr))
    return out


def public_api(module) -> list[tuple[str, object]]:
    own = [name for name in getattr(module, "__all__", ())]
    return [(name, getattr(module, name)) for name in own
            if getattr(getattr(module, name), "__module__", module.__name__) == module.__name__]


def test_every_module_with_public_functions_has_all():
    lacking = []
    for module_name in MODULES:
        if (module_name.endswith("_version") or missing_dependency(module_name)
                or module_name.startswith(SECTIONS_PENDING)):
            continue
        module = importlib.import_module(module_name)
        public = [name for name, obj in vars(module).items() if not name.startswith("_")
                  and (inspect.isfunction(obj) or inspect.isclass(obj))
                  and obj.__module__ == module_name]
        if public and not hasattr(module, "__all__"):
            lacking.append(module_name)
    assert not lacking, f"modules without __all__: {lacking}"


@pytest.mark.parametrize("module_name",
                         [m for m in MODULES if not m.startswith(SECTIONS_PENDING)])
def test_public_api_has_numpydoc_sections(module_name):
    module = import_or_skip(module_name)
    found = [problem for name, obj in public_api(module) for problem in problems(name, obj)]
    assert not found, f"{module_name}:\n" + "\n".join(found)


def run_examples(module, tmp_path, monkeypatch, skipped=None) -> list[str]:
    """Run every docstring's examples in ``module``, each in a new folder under ``tmp_path``
    (examples write files); the failures as text. Docstrings whose optional dependency is
    missing are left out, their reasons appended to ``skipped``."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    failures = []
    for number, test in enumerate(finder.find(module, module.__name__)):
        if not test.examples:
            continue
        reason = missing_dependency(test.name)
        if reason is not None:
            if skipped is not None:
                skipped.append(reason)
            continue
        folder = tmp_path / str(number)
        folder.mkdir()
        monkeypatch.chdir(folder)
        out = []
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        result = runner.run(test, out=out.append, clear_globs=True)
        if result.failed:
            failures.append("".join(out))
    return failures


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name, tmp_path, monkeypatch):
    module = import_or_skip(module_name)
    skipped = []
    failures = run_examples(module, tmp_path, monkeypatch, skipped)
    assert not failures, "\n".join(failures)
    if skipped:
        pytest.skip("; ".join(skipped))


BROKEN = '''
__all__ = ["double"]


def double(x):
    """Twice ``x``.

    Parameters
    ----------
    x : int
        A number.

    Examples
    --------
    >>> double(2)
    5
    """
    return 2 * x
'''


def test_the_checks_catch_a_broken_example_and_a_missing_section(tmp_path, monkeypatch):
    import types

    broken = types.ModuleType("broken_docs")
    exec(BROKEN, broken.__dict__)
    assert [problem for name, obj in public_api(broken) for problem in problems(name, obj)] \
        == ["double: no Returns section"]
    assert run_examples(broken, tmp_path, monkeypatch), "a wrong expected output passed"
    assert sections("Summary.\n\nExamples\n--------\n>>> 1\n1") == {"Examples"}
    assert problems("f", lambda: None) == ["f: no docstring"]
