"""The project's static import graph: which of its files a command runs or loads.

`closure(entries)` follows every ``import`` in the given files, transitively, including imports
inside functions (a stage script imports mlflow code lazily, but still runs it), and adds what
the code loads by path: a string literal naming a ``.py`` file beside the module (the MLflow
pyfunc "model from code" file) and the data folders beside an imported module (package data
such as the synthetic vocabulary). Only the project's own files are followed (``src/multitask``,
``harness``); third-party imports are ignored.

Used by the tests that keep dvc.yaml's deps true, enforce the import-direction rules and check
what the bento packs, and by `python -m harness.imports <file>...` to print a closure.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGES = {"multitask": SRC, "harness": ROOT}  # top-level name -> the folder holding it


def module_file(name: str) -> Path | None:
    """The project file of module `name` (a package's __init__.py), or None if not ours."""
    top = name.split(".")[0]
    if top not in PACKAGES:
        return None
    base = PACKAGES[top].joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    """`src/multitask/model/network.py` -> `multitask.model.network`."""
    path = path.resolve()
    base = SRC if path.is_relative_to(SRC) else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _parents(name: str) -> list[str]:
    """`a.b.c` -> [`a`, `a.b`]: importing a module runs its packages' __init__ first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def imported_names(path: Path) -> frozenset[str]:
    """Every module name `path` imports, anywhere in the file (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path) if path.is_relative_to(SRC) or path.is_relative_to(ROOT) else ""
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            # `from pkg import mod` imports the submodule pkg.mod when there is one.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(names)


def _loaded_by_path(path: Path) -> set[Path]:
    """Files `path` loads by name: `.py` string literals that exist beside it, and data folders
    (no Python inside) beside it."""
    found: set[Path] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        literal = node.value if isinstance(node, ast.Constant) else None
        if isinstance(literal, str) and literal.endswith(".py") and "/" not in literal:
            candidate = path.with_name(literal)
            if candidate.is_file():
                found.add(candidate)
    for sub in path.parent.iterdir():
        if sub.is_dir() and sub.name != "__pycache__" and not any(sub.rglob("*.py")):
            found.update(p for p in sub.rglob("*") if p.is_file())
    return found


def closure(entries: Iterable[Path]) -> set[Path]:
    """The project files that running `entries` imports or loads, `entries` included."""
    todo = [Path(e).resolve() for e in entries]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path.suffix != ".py":
            continue
        for name in imported_names(path):
            for mod in (*_parents(name), name):
                target = module_file(mod)
                if target is not None and target.resolve() not in seen:
                    todo.append(target.resolve())
        todo.extend(p.resolve() for p in _loaded_by_path(path) if p.resolve() not in seen)
    return seen


def main(argv: list[str]) -> int:
    for path in sorted(closure(Path(a) for a in argv)):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
