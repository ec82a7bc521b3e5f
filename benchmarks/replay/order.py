"""Dependency order of changed modules, for the tools that update one module at a time.

``importlib.reload`` of a package's ``__init__`` before the submodule it re-exports from
would bind the old objects again; a user reloading by hand goes leaves first. The order
comes from the import statements of the new sources (relative ones resolved); cycles are
broken by name order.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path


def imports_of(name: str, path: Path, is_package: bool) -> set[str]:
    """The absolute names of the modules `path` (module `name`) imports, as far as its
    source says (``from . import x`` counts both the package and ``package.x``)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, OSError, UnicodeDecodeError):
        return set()
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, package)
            if base:
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _resolve(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    if level - 1 > len(parts):
        return ""
    head = ".".join(parts[:len(parts) - (level - 1)])
    return f"{head}.{module}" if module else head


def dependency_order(names: Iterable[str]) -> list[str]:
    """`names` (loaded modules) with every module after the ones of the set it imports."""
    names = sorted(set(names))
    deps: dict[str, set[str]] = {}
    for name in names:
        module = sys.modules[name]
        path = Path(getattr(module, "__file__", "") or "")
        is_package = hasattr(module, "__path__")
        deps[name] = (imports_of(name, path, is_package) & set(names)) - {name}
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in visiting:
            return
        visiting.add(name)
        for dep in sorted(deps[name]):
            visit(dep)
        visiting.discard(name)
        done.append(name)

    for name in names:
        visit(name)
    return done
