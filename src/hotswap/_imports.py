"""Who imports whom: the order of a multi-module update, and the names other modules took
with ``from a import X`` that must follow ``a.X`` when it is rebound."""

from __future__ import annotations

import ast
import re
import sys
from types import ModuleType
from collections.abc import Iterator
from typing import Any

from ._diff import parse
from ._names import bound_names
from ._ops import MISSING, Plan, SetItem
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
        deps[name] = {dep for dep in inside if dep != name and (
            dep in found or any(f.startswith(dep + ".") for f in found))}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(n: str) -> None:
        if n in ordered or n in visiting:
            return
        visiting.add(n)
        for dep in names:
            if dep in deps[n]:
                visit(dep)
        visiting.discard(n)
        ordered.append(n)

    for n in names:
        visit(n)
    return ordered


_Layout = list[tuple[str | None, frozenset[str]]]
# module name: (text, its ``from m import name as alias``, its layout (see `_layout`))
_PARSED: dict[str, tuple[str, list[tuple[str, str, str]], _Layout]] = {}


def _parsed(module: Any) -> tuple[list[tuple[str, str, str]], _Layout]:
    """A module's imports and layout, read from its source once per version of the text.

    Only modules whose source is already in memory are read (user code: library modules
    do not import from the program).
    """
    text = REGISTRY.known_text(module.__name__)
    if text is None:
        return [], []
    cached = _PARSED.get(module.__name__)
    if cached is not None and cached[0] is text:
        return cached[1], cached[2]
    try:
        tree = parse(text)
    except SyntaxError:
        return [], []
    imports, layout = _read(tree.body, getattr(module, "__package__", None))
    _PARSED[module.__name__] = (text, imports, layout)
    return imports, layout


def _read(body: list[ast.stmt], package: str | None
          ) -> tuple[list[tuple[str, str, str]], _Layout]:
    imports = []
    layout: _Layout = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.ImportFrom):
                source = resolve(node.module or "", node.level, package)
                if source:
                    for alias in node.names:
                        imports.append((source, alias.name, alias.asname or alias.name))
                if any(a.name == "*" for a in node.names):
                    layout.append((source, frozenset()))
        layout.append((None, bound_names(stmt)))
    return imports, layout


def layout_of(module: Any, body: list[ast.stmt]) -> _Layout:
    """The layout (see `_layout`) of a module's new source, while it is being applied: the
    one the registry knows is the source it was built from."""
    return _read(body, getattr(module, "__package__", None))[1]


def _from_imports(module: Any) -> list[tuple[str, str, str]]:
    """(source module, name, alias) of every ``from m import name as alias`` in a module."""
    return _parsed(module)[0]


def _layout(module: Any) -> _Layout:
    """A module's top-level statements in order, as (the source of a star import, else
    None) and the names the statement binds itself: enough to tell, for a name, which
    statement has the last word on it."""
    return _parsed(module)[1]


def rebind_importers(modname: str, changed: dict[str, tuple[Any, Any]], plan: Plan,
                     live: dict[str, Any] | None = None) -> dict[str, set[str]]:
    """Plan rebinding of names other modules imported from `modname` whose value changed.

    A module is touched only if its own source says ``from modname import name`` and its
    global still holds the old object: a value it rebound itself is its own. Returns, for
    each module touched, the names rebound in it: its statements reading them are stale.
    With `live` (the module's globals, which `plan` may bind and remove names in), the
    modules that ``from modname import *`` follow what it exports, names added and
    removed included (see `_star_importers_of`).
    """
    done: dict[str, set[str]] = {}
    todo = [(modname, changed)]
    exported = _exports_delta(live, plan) if live is not None else None
    while todo:  # a module that re-exports the name passes it on to its own importers
        source, values = todo.pop()
        found = _importers_of(source, values, modname, plan)
        if exported:
            found += _star_importers_of(source, exported if source == modname else
                                        _still_exported(source, values))
        for other_name, rebound in found:
            names = done.setdefault(other_name, set())
            fresh = {alias: v for alias, v in rebound.items() if alias not in names}
            names.update(rebound)
            if fresh:  # each name passes through a module once, however it got there
                todo.append((other_name, fresh))
    return done


def _importers_of(modname: str, changed: dict[str, tuple[Any, Any]], origin: str,
                  plan: Plan) -> list[tuple[str, dict[str, tuple[Any, Any]]]]:
    changed = {k: v for k, v in changed.items() if v[0] is not MISSING and v[1] is not MISSING}
    if not changed:
        return []
    olds = {id(old) for old, _ in changed.values()}
    out = []
    for other_name, other, namespace in _readable_modules({modname, origin}):
        if not any(id(v) in olds for v in list(namespace.values())):
            continue
        rebound: dict[str, tuple[Any, Any]] = {}
        for source, name, alias in _from_imports(other):
            if source == modname and name in changed and namespace.get(alias) is changed[name][0]:
                plan.set_item(namespace, alias, changed[name][1])
                rebound[alias] = changed[name]
        if rebound:
            out.append((other_name, rebound))
    return out


def importer_namespaces(modname: str) -> list[dict[str, Any]]:
    """The globals of the modules whose source imports from `modname` (``from modname
    import X``, or the module itself with ``from pkg import mod``): where functions made
    by its decorators are held. Only sources already in memory are read."""
    return [namespace for _, other, namespace in _readable_modules({modname})
            if any(source == modname or f"{source}.{name}" == modname
                   for source, name, _ in _from_imports(other))]


def _readable_modules(skip: set[str]) -> Iterator[tuple[str, ModuleType, dict[str, Any]]]:
    """Loaded modules (name, module, globals) whose source is at hand: only those can say
    what they imported."""
    for name, module in list(sys.modules.items()):
        if name in skip or not is_a(module, ModuleType) or REGISTRY.known_text(name) is None:
            continue
        namespace = instance_dict(module)
        if namespace is not None:
            yield name, module, namespace


# -- ``from m import *`` ----------------------------------------------------------------------

def exports(namespace: dict[str, Any]) -> dict[str, Any]:
    """What ``from m import *`` takes from globals `namespace`: the names of ``__all__`` (those
    bound), or every name not starting with an underscore."""
    names = namespace.get("__all__")
    if isinstance(names, (list, tuple)) and all(type(n) is str for n in names):
        return {n: namespace[n] for n in names if n in namespace}
    return {k: v for k, v in namespace.items() if type(k) is str and not k.startswith("_")}


def _planned(live: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """The globals as they will be once `plan` binds and removes its names."""
    after = dict(live)
    for op in plan.ops:
        if type(op) is SetItem and op.container is live:
            if op.value is MISSING:
                after.pop(op.key, None)
            else:
                after[op.key] = op.value
    return after


def _exports_delta(live: dict[str, Any], plan: Plan) -> dict[str, tuple[Any, Any]]:
    """Exported names whose value the plan changes, adds or removes: name -> (old, new),
    MISSING for a side that has none. Empty (and cheap) when the plan binds no global."""
    if not any(type(op) is SetItem and op.container is live for op in plan.ops):
        return {}
    before, after = exports(live), exports(_planned(live, plan))
    return {n: (before.get(n, MISSING), after.get(n, MISSING)) for n in {*before, *after}
            if before.get(n, MISSING) is not after.get(n, MISSING)}


def _still_exported(modname: str, values: dict[str, tuple[Any, Any]]
                    ) -> dict[str, tuple[Any, Any]]:
    """Of names rebound in a module that re-exports, those its own star export passes on."""
    module = sys.modules.get(modname)
    namespace = instance_dict(module) if module is not None else None
    if namespace is None:
        return {}
    names = namespace.get("__all__")
    if isinstance(names, (list, tuple)):
        return {k: v for k, v in values.items() if k in names}
    return {k: v for k, v in values.items() if not k.startswith("_")}


def _star_importers_of(modname: str, delta: dict[str, tuple[Any, Any]]
                       ) -> list[tuple[str, dict[str, tuple[Any, Any]]]]:
    """The modules whose source does ``from modname import *``, each with the names of
    `delta` (what modname exports that changed, was added or removed): they follow it
    when their own turn comes in the transaction (see `follow_stars`), once every module
    they star-import from is up to date."""
    if not delta:
        return []
    return [(other_name, dict(delta)) for other_name, other, _ in _readable_modules({modname})
            if any(source == modname for source, _ in _layout(other))]


def follow_stars(module: Any, names: frozenset[str], plan: Plan,
                 layout: _Layout | None = None) -> dict[str, tuple[Any, Any]]:
    """Plan the globals among `names` that a module's star imports give: each takes what a
    fresh import binds, the value exported by the last star import exporting it (or
    leaves, when none does any more), unless a statement of the module's own binds it
    after them. Returns name -> (old, new), MISSING for a side that has none. `layout`:
    the module's, when its own source is changing (see `layout_of`)."""
    layout = _layout(module) if layout is None else layout
    if not any(source is not None for source, _ in layout):
        return {}
    namespace = module.__dict__
    views = _Views(plan)
    planned = _planned(namespace, plan)  # the plan may remove a name its source binds no more
    out: dict[str, tuple[Any, Any]] = {}
    for name in sorted(names):
        value = _star_value(layout, name, views)
        current = namespace.get(name, MISSING)
        if value is _OWN or value is planned.get(name, MISSING):
            continue
        plan.set_item(namespace, name, value)
        out[name] = (current, value)
    return out


_OWN: Any = object()  # the module binds the name itself, after every star import


class _Views(dict[str, dict[str, Any]]):
    """What each module exports once `plan` (as planned so far) applies, computed once."""

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def __missing__(self, source: str) -> dict[str, Any]:
        module = sys.modules.get(source)
        namespace = instance_dict(module) if module is not None else None
        self[source] = exports(_planned(namespace, self.plan)) if namespace is not None else {}
        return self[source]


def _exported_by(source: str | None, views: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {} if source is None else views[source]


def _star_value(layout: list[tuple[str | None, frozenset[str]]], name: str,
                views: dict[str, dict[str, Any]]) -> Any:
    """What a fresh import binds `name` to: from the last statement binding it."""
    for source, names in reversed(layout):
        if source is None:
            if name in names:
                return _OWN
            continue
        found = _exported_by(source, views)
        if name in found:
            return found[name]
    return MISSING
