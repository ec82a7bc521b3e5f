"""Line numbers of code that did not change but moved.

Tracebacks, debuggers and ``inspect`` read a function's line numbers from its code object.
When lines are inserted above a definition, its code is unchanged but sits lower: the live
functions get a copy of their code shifted by the same amount (nested code included).
They are found without a heap walk: in the module's globals and its classes, through
decorators, descriptors and singledispatch registries (an overload named ``_`` is held
by its registry only), and matched by the line they start on, which also catches
functions made at import time by a helper (``__add__, __radd__ = _fallbacks(...)``).

A statement below an edit is not parsed again: its line range shifts, its syntax keeps the
lines it was parsed at. When such a statement must run again (it reads a name the update
rebinds), it is first moved to where it stands now, so the code it compiles does not claim
its old lines.
"""

from __future__ import annotations

import ast
import bisect
import copy
import functools
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .._diff import Stmt
from .._ops import Plan, SetFunction
from .._safe import functions_in, instance_dict, is_a
from .dispatch import is_dispatcher
from .functions import shift_code

Shift = tuple[int, int, int]  # first line, last line (of the live code), delta
Node = TypeVar("Node", bound=ast.stmt)


def first_line(node: ast.stmt) -> int:
    """Where a statement starts in the file: its first decorator, if it has any."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def at_current_lines(node: Node, stmt: Stmt) -> Node:
    """`node` (the first of `stmt`'s nodes) as written where `stmt` starts now.

    A shifted `stmt` keeps the syntax of the version it was parsed from, whose lines may be
    several updates old; compiled as is, a statement run again unchanged would give its
    functions those old first lines, and nothing would re-line them afterwards (they are
    patched, not moved). Only such a statement is copied; the others are returned as is.
    """
    delta = stmt.start + 1 - first_line(stmt.nodes[0])
    if delta == 0:
        return node
    moved = copy.deepcopy(node)
    ast.increment_lineno(moved, delta)
    return moved


def _functions(live: dict[str, Any], held: dict[str, Any] | None = None
               ) -> Iterator[types.FunctionType]:
    """Functions over the globals `live` found in the namespace `held` (by default `live`
    itself) and its classes, through decorators and descriptors."""
    held = live if held is None else held
    modname = held.get("__name__")
    seen: set[int] = set()
    todo: list[tuple[Any, int]] = [(v, 0) for v in list(held.values())]
    while todo:
        value, depth = todo.pop()
        if id(value) in seen or depth > 6:
            continue
        seen.add(id(value))
        if type(value) is types.FunctionType:
            if value.__globals__ is live:
                yield value
            attrs = instance_dict(value) or {}
            wrapped = attrs.get("__wrapped__")
            if wrapped is not None:
                todo.append((wrapped, depth + 1))
            if is_dispatcher(value):  # its overloads (one named ``_`` is held only there)
                todo.extend((f, depth + 1) for f in list(attrs["registry"].values()))
        elif is_a(value, type):
            if value.__module__ == modname:
                todo.extend((v, depth + 1) for v in list(value.__dict__.values()))
        else:
            todo.extend((f, depth + 1) for f in functions_in(value))
            if is_a(value, functools.singledispatchmethod):
                todo.append((value.dispatcher, depth + 1))
            wrapped = (instance_dict(value) or {}).get("__wrapped__")
            if wrapped is not None:
                todo.append((wrapped, depth + 1))


def reline(live: dict[str, Any], shifts: list[Shift], patched: set[int], plan: Plan,
           importers: Callable[[], list[dict[str, Any]]] = list,
           made: dict[str, Any] | None = None) -> tuple[int, list[str]]:
    """Plan the line moves of every live function starting inside a shifted range.

    Returns how many moved, and the qualified names of those that make closures. Closures
    made earlier hold the old nested code: those the module or the modules importing from
    it hold (a decorator's wrappers, found through `importers`, asked only then) are
    re-lined too, and so are those this update made with the old code and binds (`made`:
    a def decorated anew by a decorator that itself moved). Others would take a heap
    walk, which an edit of bodies never costs.
    """
    if not shifts:
        return 0, []
    shifts = sorted(shifts)
    starts = [lo for lo, _, _ in shifts]

    def move(fn: types.FunctionType) -> bool:
        if id(fn) in patched:
            return False
        line = fn.__code__.co_firstlineno
        i = bisect.bisect_right(starts, line) - 1
        if not (i >= 0 and shifts[i][0] <= line <= shifts[i][1]):
            return False
        plan.add(SetFunction(fn, {"__code__": shift_code(fn.__code__, shifts[i][2])}))
        patched.add(id(fn))
        return True

    count = 0
    factories: list[str] = []
    old_nested: set[int] = set()  # what closures made from the moved factories run
    for fn in _functions(live):
        code = fn.__code__
        if move(fn):
            count += 1
            if _makes_closures(code):
                factories.append(fn.__qualname__)
                old_nested.update(_nested(code))
    if factories:
        count += sum(move(fn) for held in importers() for fn in list(_functions(live, held)))
        # of what this update binds, only closures made from the old nested code move (new
        # code was compiled where it stands)
        count += sum(move(fn) for fn in list(_functions(live, made or {}))
                     if id(fn.__code__) in old_nested)
    return count, factories


def _nested(code: types.CodeType) -> Iterator[int]:
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield id(c)
            yield from _nested(c)


def _makes_closures(code: types.CodeType) -> bool:
    return any(isinstance(c, types.CodeType) and (c.co_freevars or _makes_closures(c))
               for c in code.co_consts)
