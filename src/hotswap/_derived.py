"""Unchanged module statements that derive something from a definition whose shape
changed (DESIGN.md §7): a loop publishing a class's methods as module functions, a table
built from its members, a call registering it.

Such a statement keeps its live result when only the changed statements run, so the
program would keep what the old definition derived. Each one is either run again in
staging, when that is *safe*, or named in the report with the reason it was not.

Safe means: running the statement again only recomputes module-level names from the
module's own definitions, as its first run did, and touches nothing outside the module.
Read from its syntax: it calls only builtins that compute (``vars``, ``getattr``,
``sorted``, ``setattr`` and ``delattr``, ...) and methods that read (``items``,
``startswith``, ...), or that add to ``globals()`` and ``__all__``; it assigns only
module names and ``globals()[...]``. Anything else (a call of the program's own code or
a library's, an attribute or item set on an object) may register twice, reset state or
reach outside: not run again, and reported.

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

from ._diff import Change, Stmt, dump
from ._names import bound_names, deleted_names
from ._ops import MISSING, Call, SetAttr

_COMPUTING = frozenset({
    "vars", "dir", "getattr", "hasattr", "setattr", "delattr", "isinstance", "issubclass",
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
        kind = c.new.definition
        if kind is None or c.layout or c.refresh or c.old is None or c.old.definition != kind:
            continue
        old, new = c.old.nodes[0], c.new.nodes[0]
        if isinstance(old, ast.ClassDef) and isinstance(new, ast.ClassDef):
            members = _members(old.body) != _members(new.body)
            header = dump(old.bases) != dump(new.bases) or \
                dump(old.decorator_list) != dump(new.decorator_list)
            if members or header:
                out[kind[1]] = i
        elif isinstance(old, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                isinstance(new, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if dump(old.args) != dump(new.args) or dump(old.returns) != dump(new.returns) \
                    or dump(old.decorator_list) != dump(new.decorator_list):
                out[kind[1]] = i
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


def unsafe(stmt: Stmt) -> str | None:
    """Why running `stmt` again may do more than recompute module names (None: safe)."""
    for node in stmt.nodes:
        for n in ast.walk(node):
            reason = _unsafe_node(n)
            if reason is not None:
                return reason
    return None


def _unsafe_node(n: ast.AST) -> str | None:
    if isinstance(n, ast.Call):
        func = n.func
        if isinstance(func, ast.Name) and func.id in _COMPUTING:
            return None
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
    """``globals()`` or ``__all__``: the module's own namespace and export list."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "globals" and not node.args
    return isinstance(node, ast.Name) and node.id == "__all__"


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
    starts = {name: changes[i].new.start for name, i in names.items()}
    safe: list[tuple[Stmt, str]] = []
    warnings: list[str] = []
    for s in stmts:
        if id(s) in running:
            continue
        name = derives(s, {n for n, start in starts.items() if start < s.start})
        if name is None:
            continue
        reason = unsafe(s)
        if reason is None:
            safe.append((s, name))
        else:
            warnings.append(not_rerun(s, name, reason, filename))
    return safe, warnings


def rerun(code: types.CodeType, live: dict[str, Any], classes: list[type], label: str,
          added: list[str]) -> Call:
    """Run a derived statement again in the live module, once the definitions it reads
    are up to date (it applies after them); undo puts back the module's names and the
    entries of the module's `classes` it read, as they were."""
    before: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []

    def do() -> None:
        before.update(live)
        entries[:] = [dict(c.__dict__) for c in classes]
        exec(code, live)
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
