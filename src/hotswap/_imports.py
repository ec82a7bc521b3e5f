"""Who imports whom: the order of a multi-module update, and the names other modules took
with ``from a import X`` that must follow ``a.X`` when it is rebound."""

from __future__ import annotations

import ast
import re
import sys
from types import ModuleType
from collections.abc import Iterator
from typing import Any

from ._ops import Plan
from ._safe import instance_dict, is_a
from ._sources import REGISTRY

_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]*(\([^)]*\)|[^\n#;]*)"
                     r"|import[ \t]+([\w., \t]+))", re.M)


def resolve(name: str, level: int, package: str | None) -> str | None:
    """The absolute name of ``from <level dots><name> import``, as the import system does."""
    if level == 0:
        return name
    if not package:
        return None
    parts = package.split(".")
    if level > len(parts):
        return None
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{name}" if name else base


def imported(text: str, package: str | None) -> set[str]:
    """Modules a source imports (cheaply, by pattern: this only orders updates)."""
    out: set[str] = set()
    for m in _IMPORT.finditer(text):
        if m.group(1):
            spec = m.group(1)
            level = len(spec) - len(spec.lstrip("."))
            target = resolve(spec.lstrip("."), level, package)
            if target:
                out.add(target)
                # `from pkg import sub` may import the submodule pkg.sub
                for part in m.group(2).strip("() \t").split(","):
                    words = part.split()
                    if words and words[0] != "*":
                        out.add(f"{target}.{words[0]}")
        else:
            for part in m.group(3).split(","):
                words = part.split()
                if words:
                    out.add(words[0])
    return out


def dependency_order(items: list[tuple[str, str, str | None]]) -> list[str]:
    """Module names (name, text, package) sorted so a module comes before its importers.

    A cycle keeps the given order among its members.
    """
    names = [n for n, _, _ in items]
    inside = set(names)
    deps = {}
    for name, text, package in items:
        found = imported(text, package)
        # importing pkg.sub.x imports pkg.sub first
        deps[name] = {d for d in inside if d != name and (
            d in found or any(f.startswith(d + ".") for f in found))}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(n: str) -> None:
        if n in ordered or n in visiting:
            return
        visiting.add(n)
        for d in names:
            if d in deps[n]:
                visit(d)
        visiting.discard(n)
        ordered.append(n)

    for n in names:
        visit(n)
    return ordered


_PARSED: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}  # name: (text, imports)


def _from_imports(module: Any) -> list[tuple[str, str, str]]:
    """(source module, name, alias) of every ``from m import name as alias`` in a module.

    Only modules whose source is already in memory are read (user code: library modules
    do not import from the program), and each text is parsed once.
    """
    text = REGISTRY.known_text(module.__name__)
    if text is None:
        return []
    cached = _PARSED.get(module.__name__)
    if cached is not None and cached[0] is text:
        return cached[1]
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    package = getattr(module, "__package__", None)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = resolve(node.module or "", node.level, package)
            if source:
                for alias in node.names:
                    out.append((source, alias.name, alias.asname or alias.name))
    _PARSED[module.__name__] = (text, out)
    return out


def rebind_importers(modname: str, changed: dict[str, tuple[Any, Any]], plan: Plan
                     ) -> dict[str, set[str]]:
    """Plan rebinding of names other modules imported from `modname` whose value changed.

    A module is touched only if its own source says ``from modname import name`` and its
    global still holds the old object: a value it rebound itself is its own. Returns, for
    each module touched, the names rebound in it: its statements reading them are stale.
    """
    done: dict[str, set[str]] = {}
    todo = [(modname, changed)]
    while todo:  # a module that re-exports the name passes it on to its own importers
        source, values = todo.pop()
        for other_name, rebound in _importers_of(source, values, modname, plan):
            names = done.setdefault(other_name, set())
            fresh = {alias: v for alias, v in rebound.items() if alias not in names}
            names.update(rebound)
            if fresh:  # each name passes through a module once, however it got there
                todo.append((other_name, fresh))
    return done


def _importers_of(modname: str, changed: dict[str, tuple[Any, Any]], origin: str,
                  plan: Plan) -> list[tuple[str, dict[str, tuple[Any, Any]]]]:
    if not changed:
        return []
    olds = {id(old) for old, _ in changed.values()}
    out = []
    for other_name, other, d in _readable_modules({modname, origin}):
        if not any(id(v) in olds for v in list(d.values())):
            continue
        rebound: dict[str, tuple[Any, Any]] = {}
        for source, name, alias in _from_imports(other):
            if source == modname and name in changed and d.get(alias) is changed[name][0]:
                plan.set_item(d, alias, changed[name][1])
                rebound[alias] = changed[name]
        if rebound:
            out.append((other_name, rebound))
    return out


def importer_namespaces(modname: str) -> list[dict[str, Any]]:
    """The globals of the modules whose source imports from `modname` (``from modname
    import X``, or the module itself with ``from pkg import mod``): where functions made
    by its decorators are held. Only sources already in memory are read."""
    return [d for _, other, d in _readable_modules({modname})
            if any(source == modname or f"{source}.{name}" == modname
                   for source, name, _ in _from_imports(other))]


def _readable_modules(skip: set[str]) -> Iterator[tuple[str, ModuleType, dict[str, Any]]]:
    """Loaded modules (name, module, globals) whose source is at hand: only those can say
    what they imported."""
    for name, module in list(sys.modules.items()):
        if name in skip or not is_a(module, ModuleType) or REGISTRY.known_text(name) is None:
            continue
        d = instance_dict(module)
        if d is not None:
            yield name, module, d
