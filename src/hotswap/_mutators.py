"""Unchanged statements that change in place what a re-run statement changes in place.

A statement that runs again in staging (it changed, or it reads a rebound name) acts on
the live objects it reaches: ``for attr in MOVES: setattr(Items, attr.name, attr)`` or
``_importer._add_module(attr, "moves." + attr.name)`` set entries of a live class and of
a live importer's table. A fresh import runs the later statements after it, and they may
set some of the same entries (``_importer._add_module(Urllib(...), "moves.urllib")``
replaces what the loop put under ``moves.urllib``). Run alone, the re-run statement has
the last word, and the object ends in a state no fresh import produces (six's ``moves``
then recursed forever). So the later unchanged statements changing the same object run
again too, after it and in source order, as a fresh import runs them; like any statement
run again, they are named in the report.

Which object a statement changes in place is read from its syntax, by the expression
that reaches it (``_importer``, ``sys.meta_path``): the receiver of a method call that may
change it, the object of an attribute or item stored or deleted, the first argument of
``setattr`` or ``delattr``. Definitions are left out: a decorator's registration is
followed by `_registries`, a class body by its own staging.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ._diff import Change, Stmt, with_refreshes
from ._readers import _READING

_SETTERS = frozenset({"setattr", "delattr"})


def _path(node: ast.expr) -> str | None:
    """``a.b.c`` for an expression made of a name and attributes (None: another kind)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def changed(stmt: Stmt, module: Callable[[str], bool]) -> frozenset[str]:
    """The objects (by the expression reaching them) `stmt` may change in place. A call of
    a module's function (``re.compile(...)``, ``logging.getLogger(...)``) is not taken
    for a change of that module: `module` says which expressions reach a module."""
    if stmt.definition is not None:
        return frozenset()
    out: set[str | None] = set()
    for top in stmt.nodes:
        for n in ast.walk(top):
            if isinstance(n, (ast.Attribute, ast.Subscript)) and \
                    isinstance(n.ctx, (ast.Store, ast.Del)):
                out.add(_path(n.value))
            elif isinstance(n, ast.Call):
                func = n.func
                if isinstance(func, ast.Attribute) and func.attr not in _READING:
                    path = _path(func.value)
                    if path is not None and not module(path):
                        out.add(path)
                elif isinstance(func, ast.Name) and func.id in _SETTERS and n.args:
                    out.add(_path(n.args[0]))
    return frozenset(p for p in out if p is not None)


def _label(path: str, by: Stmt) -> str:
    return f" (it changes {path}, as line {by.lineno} run again does)"


def with_later_changers(stmts: list[Stmt], changes: list[Change],
                        module: Callable[[str], bool]) -> tuple[list[Change], dict[int, str]]:
    """`changes`, plus each unchanged statement below a running one that changes in place
    an object it changes in place (and so on, in source order); with, by statement id,
    why each added one runs again. `module`: see `changed`."""
    running = {id(c.new) for c in changes if not c.layout}
    touched: dict[str, Stmt] = {}  # object -> the first running statement changing it
    added: dict[int, Change] = {}
    why: dict[int, str] = {}
    for s in stmts:
        if id(s) in running:
            for path in changed(s, module):
                touched.setdefault(path, s)
            continue
        if not touched or s.definition is not None:
            continue
        mine = changed(s, module)
        shared = sorted(p for p in mine if p in touched)
        if not shared:
            continue
        added[id(s)] = Change(s, s, refresh=True)
        why[id(s)] = _label(shared[0], touched[shared[0]])
        for path in mine:
            touched.setdefault(path, s)
    if not added:
        return changes, why
    out = [added.pop(id(c.new), c) for c in changes]
    return sorted(out + list(added.values()), key=lambda c: c.new.start), why


def reaches_module(live: dict[str, Any], stmts: list[Stmt]) -> Callable[[str], bool]:
    """Whether an expression (``re``, ``os.path``) reaches a module: looked up in the live
    globals through modules' own dicts only (no attribute code runs), or named by an
    ``import`` statement of the source (one this update adds is not bound yet)."""
    imported: set[str] | None = None  # read once asked: a body edit never asks

    def module(path: str) -> bool:
        nonlocal imported
        root, *attrs = path.split(".")
        obj = live.get(root)
        for attr in attrs:
            if not isinstance(obj, ModuleType):
                return False
            obj = obj.__dict__.get(attr)
        if isinstance(obj, ModuleType):
            return True
        if imported is None:
            imported = {alias.asname or alias.name.partition(".")[0] for s in stmts
                        for node in s.nodes if isinstance(node, ast.Import)
                        for alias in node.names}
        return not attrs and root in imported
    return module


def follow(stmts: list[Stmt], changes: list[Change], live_defs: set[str],
           stale: frozenset[str], live: dict[str, Any]) -> tuple[list[Change], dict[int, str]]:
    """`with_later_changers` and `with_refreshes` in turn until neither adds a statement
    (a statement run again for what it changes may rebind a name later ones read)."""
    module = reaches_module(live, stmts)
    why: dict[int, str] = {}
    while True:
        changes, more = with_later_changers(stmts, changes, module)
        if not more:
            return changes, why
        why.update(more)
        changes = with_refreshes(stmts, changes, live_defs, stale)


class Keeper:
    """Runs the statements `with_later_changers` added only when needed, and keeps the
    objects they made the first time.

    Needed: a statement that ran before it in staging overwrote (or removed) an entry
    of an object they change (``known["six.moves.urllib"]``): the entry existed, so a
    later statement's word on it may be lost. A re-run statement that only adds entries
    loses nothing, and the later statements stay as they are (a framework's setup calls
    are not repeated for nothing).

    Kept: such a statement reads nothing that changed, so what it makes again
    (``_importer._add_module(Urllib(...), "moves.urllib")``) is the object it made at
    import, made twice: an entry it sets anew to an object of the same type as the entry's
    value before staging gets that value back. One canonical object (DESIGN.md §1): a
    fresh import has one ``Urllib`` instance, held by the table and by ``sys.modules``
    alike, and six's lazy attributes, which delete themselves from the class on first use,
    count on it. The entries are those of the objects they change (their ``__dict__``, or
    the object itself when a dict) and of the dicts those hold (an importer's table).
    """

    def __init__(self, ns: dict[str, Any], stmts: list[Stmt], why: dict[int, str],
                 module: Callable[[str], bool]) -> None:
        self.ns = ns
        self.module = module
        self.targets = {id(s): s for s in stmts if id(s) in why} if why else {}
        self.watched: set[str] = set()
        self.overwritten: set[str] = set()  # objects a statement run here overwrote in
        self.original: dict[int, dict[Any, Any]] = {}
        for s in self.targets.values():
            self.watched |= changed(s, module)
            for _path, _owner, entries in self._containers(s):
                self.original.setdefault(id(entries), dict(entries))

    def _containers(self, s: Stmt) -> list[tuple[str, Any, Any]]:
        """(path, owner, its entries) for each watched object `s` changes: a class's
        entries are set through the class (its ``__dict__`` is read-only)."""
        out: list[tuple[str, Any, Any]] = []
        for path in sorted(changed(s, self.module) & self.watched):
            root, *attrs = path.split(".")
            obj = self.ns.get(root, _NONE)
            try:
                for attr in attrs:
                    obj = getattr(obj, attr)
            except Exception:  # noqa: BLE001  # not reachable now: nothing to keep
                continue
            if obj is _NONE:
                continue
            entries = obj if type(obj) is dict else getattr(obj, "__dict__", None)
            if entries is None or isinstance(obj, ModuleType):
                continue
            out.append((path, obj, entries))
            out.extend((path, v, v) for v in list(entries.values()) if type(v) is dict)
        return out

    def run(self, stmt: Stmt, run: Callable[[list[ast.stmt]], None],
            nodes: list[ast.stmt]) -> bool:
        """Run `stmt` (its `nodes`, by `run`) unless it was added and is not needed; then
        give back what it made again. Whether it ran."""
        target = id(stmt) in self.targets
        if target and not changed(stmt, self.module) & self.overwritten:
            return False
        containers = self._containers(stmt) if self.watched else []
        if not containers:
            run(nodes)
            return True
        before = [dict(entries) for _, _, entries in containers]
        run(nodes)
        for (path, owner, entries), was in zip(containers, before, strict=True):
            if any(entries.get(k, _NONE) is not v for k, v in was.items()):
                self.overwritten.add(path)
            if target and self._independent(stmt):
                self._keep(owner, entries, was)
        return True

    def _independent(self, stmt: Stmt) -> bool:
        """Whether what `stmt` stores is computed without reading the objects overwritten
        here (it names them only as what it changes): else what it makes now may rightly
        differ from what it made at import (``S["level"] = "x" if S["debug"] else "y"``)."""
        roots = {p.partition(".")[0] for p in self.overwritten}
        bases = _bases(stmt)
        return all(id(n) in bases for top in stmt.nodes for n in ast.walk(top)
                   if isinstance(n, ast.Name) and n.id in roots)

    def _keep(self, owner: Any, entries: Any, was: dict[Any, Any]) -> None:
        original = self.original.get(id(entries), {})
        for key, value in list(entries.items()):
            old = original.get(key, _NONE)
            if value is was.get(key, _NONE) or old is _NONE or old is value \
                    or type(old) is not type(value) or type(value) in _PLAIN:
                continue  # (a plain value has no identity to keep: the new one is right)
            if entries is owner:
                entries[key] = old
            else:
                setattr(owner, key, old)


_NONE: Any = object()
_PLAIN = (str, bytes, int, float, complex, bool, tuple, frozenset, type(None))


def _bases(stmt: Stmt) -> set[int]:
    """Ids of the names at the root of the expressions reaching what `stmt` changes in
    place (as `changed` reads them)."""
    out: set[int] = set()
    for top in stmt.nodes:
        for n in ast.walk(top):
            target: ast.expr | None = None
            if isinstance(n, (ast.Attribute, ast.Subscript)) and \
                    isinstance(n.ctx, (ast.Store, ast.Del)):
                target = n.value
            elif isinstance(n, ast.Call):
                if isinstance(n.func, ast.Attribute):
                    target = n.func.value
                elif isinstance(n.func, ast.Name) and n.func.id in _SETTERS and n.args:
                    target = n.args[0]
            while isinstance(target, ast.Attribute):
                target = target.value
            if isinstance(target, ast.Name):
                out.add(id(target))
    return out
