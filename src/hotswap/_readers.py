"""Unchanged module statements that derive something from a definition whose shape
changed (DESIGN.md §7): a loop publishing a class's methods as module functions, a table
built from its members, a call registering it.

Such a statement keeps its live result when only the changed statements run, so the
program would keep what the old definition derived. Each one is either run again in
staging, when that is *safe*, or named in the report with the reason it was not.

Safe means: running the statement again only recomputes module-level names from the
module's own definitions, as its first run did, and touches nothing its undo cannot put
back exactly (the module's names, and the entries of the module's own classes it names).
Read from its syntax: it calls only builtins that compute (``vars``, ``getattr``,
``sorted``, ...), ``setattr`` and ``delattr`` on a class the module defines, and methods
that read (``items``, ``startswith``, ...) or that add to ``globals()``; it assigns only
module names and ``globals()[...]``. Anything else may register twice, reset state or
reach outside: a call of the program's own code or a library's, an attribute or item set
on an object, ``setattr`` on another module's object, or a value an unchanged statement
bound changed in place (``__all__.append(...)``, ``__all__ += [...]``: running again
would add twice what its first run added). Not run again, and reported.

A definition's *shape* changes when a class gains or loses members (or its header
changes) or a function's signature or decorators change. A body edit changes no shape,
so it costs nothing here. A statement that only calls the changed definition
(``APP = App()``, ``X = f(1)``) keeps its live result, as every unchanged statement does
(DESIGN.md §3): the object it made follows its class in place.
"""

from __future__ import annotations

import ast
import os
import types
from typing import Any

from ._diff import Change, Kind, Stmt, dump
from ._names import bound_names, deleted_names
from ._ops import MISSING, Call, SetAttr

_COMPUTING = frozenset({
    "vars", "dir", "getattr", "hasattr", "isinstance", "issubclass",
    "len", "sorted", "list", "dict", "tuple", "set", "frozenset", "enumerate", "zip",
    "range", "str", "repr", "callable", "type", "iter", "next", "reversed", "min", "max",
    "any", "all", "filter", "map", "globals", "staticmethod", "classmethod", "property",
    "bool", "int", "float", "id", "hash", "format", "abs", "round", "sum"})
_READING = frozenset({
    "items", "keys", "values", "get", "startswith", "endswith", "removeprefix",
    "removesuffix", "split", "rsplit", "join", "lower", "upper", "strip", "lstrip",
    "rstrip", "replace", "format", "copy", "count", "index", "partition", "rpartition"})
_ADDING = frozenset({"update", "append", "extend", "setdefault", "pop", "add", "remove"})


def shaped(changes: list[Change]) -> dict[str, int]:
    """Names of definitions, kept live, whose shape this update changes (see the module
    docstring), with the index of the change among `changes`."""
    out: dict[str, int] = {}
    for i, c in enumerate(changes):
        definition = c.new.definition
        if definition is None or c.layout or c.refresh or c.old is None \
                or c.old.definition != definition:
            continue
        old, new = c.old.nodes[0], c.new.nodes[0]
        if isinstance(old, ast.ClassDef) and isinstance(new, ast.ClassDef):
            members = _members(old.body) != _members(new.body)
            header = dump(old.bases) != dump(new.bases) or \
                dump(old.decorator_list) != dump(new.decorator_list)
            if members or header:
                out[definition.name] = i
        elif isinstance(old, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                isinstance(new, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if dump(old.args) != dump(new.args) or dump(old.returns) != dump(new.returns) \
                    or dump(old.decorator_list) != dump(new.decorator_list):
                out[definition.name] = i
    return out


def _members(body: list[ast.stmt]) -> set[str]:
    """The names a class body leaves bound (cheaply: a def or class is just its name)."""
    out: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Delete):
            out -= deleted_names(node)
        else:
            out |= bound_names(node)
    return out


def derives(stmt: Stmt, names: set[str]) -> str | None:
    """The first of `names` `stmt` derives something from: reads other than calling it
    (None: none; an import is never a derivation)."""
    if stmt.definition is not None or not (stmt.reads & names) or any(
            isinstance(n, (ast.Import, ast.ImportFrom)) for n in stmt.nodes):
        return None
    callees = {id(n.func) for node in stmt.nodes for n in ast.walk(node)
               if isinstance(n, ast.Call)}
    for node in stmt.nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load) \
                    and id(n) not in callees:
                return n.id
    return None


def unsafe(stmt: Stmt, classes: frozenset[str] = frozenset()) -> str | None:
    """Why running `stmt` again may do more than recompute module names (None: safe).
    `classes`: the names of the classes the module's class statements define."""
    for node in stmt.nodes:
        for n in ast.walk(node):
            reason = _unsafe_node(n, classes)
            if reason is not None:
                return reason
    return None


def _unsafe_node(n: ast.AST, classes: frozenset[str]) -> str | None:
    if isinstance(n, ast.Call):
        func = n.func
        if isinstance(func, ast.Name) and func.id in _COMPUTING:
            return None
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and n.args \
                and isinstance(n.args[0], ast.Name) and n.args[0].id in classes:
            return None  # an entry of the module's own class: undone exactly
        if isinstance(func, ast.Attribute) and (func.attr in _READING or (
                func.attr in _ADDING and _own(func.value))):
            return None
        return f"it calls {ast.unparse(func)}"
    if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = n.targets if isinstance(n, (ast.Assign, ast.Delete)) else [n.target]
        for t in targets:
            reason = _unsafe_target(t)
            if reason is not None:
                return reason
    if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
        return f"it updates {n.target.id} in place"  # a list's += mutates what was bound
    if isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
        return f"it uses {type(n).__name__.lower()}"
    return None


def _unsafe_target(t: ast.expr) -> str | None:
    """Why binding (or deleting) `t` reaches outside the module's names (None: it does
    not: a name, ``globals()[...]``, ``__all__[...]``, or a tuple of them)."""
    if isinstance(t, (ast.Tuple, ast.List)):
        return next((r for r in map(_unsafe_target, t.elts) if r is not None), None)
    if isinstance(t, ast.Starred):
        return _unsafe_target(t.value)
    if isinstance(t, ast.Attribute):
        return f"it sets {ast.unparse(t)}"
    if isinstance(t, ast.Subscript) and not _own(t.value):
        return f"it sets an item of {ast.unparse(t.value)}"
    return None


def _own(node: ast.expr) -> bool:
    """``globals()``: the module's own namespace, which the undo puts back name by name
    (not ``__all__``, a list changed in place: its undo would need a copy of it)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id == "globals" and not node.args


def not_rerun(stmt: Stmt, name: str, reason: str, filename: str) -> str:
    return (f"line {stmt.lineno} of {os.path.basename(filename)} reads `{name}`, which "
            f"changed; not re-run ({reason}): it keeps what the old `{name}` gave it")


def readers(stmts: list[Stmt], changes: list[Change], filename: str
            ) -> tuple[list[tuple[Stmt, str]], list[str]]:
    """The unchanged statements below a definition whose shape changed that derive from
    it: those safe to run again (with the name), and a warning for each of the others."""
    names = shaped(changes)
    if not names:
        return [], []
    running = {id(c.new) for c in changes}
    classes = frozenset(s.definition.name for s in stmts
                        if s.definition is not None and s.definition.kind is Kind.CLASS)
    starts = {name: changes[i].new.start for name, i in names.items()}
    safe: list[tuple[Stmt, str]] = []
    warnings: list[str] = []
    for s in stmts:
        if id(s) in running:
            continue
        name = derives(s, {n for n, start in starts.items() if start < s.start})
        if name is None:
            continue
        reason = unsafe(s, classes)
        if reason is None:
            safe.append((s, name))
        else:
            warnings.append(not_rerun(s, name, reason, filename))
    return safe, warnings


def rerun(code: types.CodeType, live: dict[str, Any], classes: list[type], label: str,
          added: list[str], temporary: frozenset[str] = frozenset()) -> Call:
    """Run a derived statement again in the live module, once the definitions it reads
    are up to date (it applies after them); undo puts back the module's names and the
    entries of the module's `classes` it read, as they were. `temporary`: names it binds
    that a later statement (not run again) deletes, so a fresh import has none of them:
    dropped once it ran."""
    before: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []

    def do() -> None:
        before.update(live)
        entries[:] = [dict(c.__dict__) for c in classes]
        exec(code, live)
        for key in temporary:
            if live.get(key, MISSING) is not before.get(key, MISSING):
                if key in before:
                    live[key] = before[key]
                else:
                    live.pop(key, None)
        added.extend(f"{live.get('__name__')}.{k}" for k in live if k not in before)

    def undo() -> None:
        for key in [k for k in live if k not in before]:
            del live[key]
        for key, value in before.items():
            if live.get(key, MISSING) is not value:
                live[key] = value
        for cls, saved in zip(classes, entries, strict=True):
            for key in {*cls.__dict__, *saved} - _KEPT:
                if cls.__dict__.get(key, MISSING) is not saved.get(key, MISSING):
                    SetAttr(cls, key, saved.get(key, MISSING)).apply()
    return Call(do, undo, label)


_KEPT = frozenset({"__dict__", "__weakref__"})
