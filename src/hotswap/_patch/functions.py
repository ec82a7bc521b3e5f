"""Functions: finding the plain function inside a decorated object, and whether a live
function can take a new body in place.

A function keeps its identity across an update by receiving the new ``__code__``,
defaults, keyword defaults, annotations and docstring. Everything holding it (``from m
import f``, a callback table, a bound method, a ``functools.wraps`` wrapper) then runs the
new body. CPython accepts a new code object only when it has as many free variables
(``func_set_code`` in Objects/funcobject.c); the cells are matched by position, so we
also require the same names.
"""

from __future__ import annotations

import functools
import types
from collections import deque
from collections.abc import Iterator
from typing import Any

from .._safe import instance_dict, is_a

FunctionType = types.FunctionType
CodeType = types.CodeType

_TRANSIENT = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})


def _inner(obj: Any) -> Iterator[Any]:
    """Objects a decorator result may hold its wrapped function in."""
    if type(obj) is FunctionType:
        wrapped = obj.__dict__.get("__wrapped__")
        if wrapped is not None:
            yield wrapped
        for cell in obj.__closure__ or ():
            try:
                yield cell.cell_contents
            except ValueError:
                pass
        return
    if is_a(obj, (classmethod, staticmethod, types.MethodType)):
        yield obj.__func__
    if is_a(obj, property):
        yield from (f for f in (obj.fget, obj.fset, obj.fdel) if f is not None)
    if is_a(obj, (functools.partial, functools.partialmethod, functools.cached_property,
                  functools.singledispatchmethod)):
        yield obj.func
    attrs = instance_dict(obj) or {}
    wrapped = attrs.get("__wrapped__")
    if wrapped is not None:
        yield wrapped
    # an object a decorator made from the function keeps it as an attribute (a command's
    # callback, a route's endpoint): a body edit patches it there, in place
    yield from (v for v in list(attrs.values()) if type(v) is FunctionType and v is not wrapped)


_ROLE = {"setter": "fset", "deleter": "fdel", "getter": "fget"}


def find_raw(obj: Any, qualname: str, role: str | None = None,
             max_depth: int = 6) -> FunctionType | None:
    """The plain function compiled from the definition `qualname` inside `obj`.

    `obj` is what the definition's name is bound to: the function itself, or whatever its
    decorators returned. A property's getter and setter share a qualified name; `role`
    ("fget", "fset", "fdel") picks one.
    """
    if role is not None and is_a(obj, property):
        fn = getattr(obj, role)
        return fn if type(fn) is FunctionType and fn.__code__.co_qualname == qualname else None
    seen: set[int] = set()
    queue: deque[tuple[Any, int]] = deque([(obj, 0)])
    while queue:
        cur, depth = queue.popleft()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if type(cur) is FunctionType and cur.__code__.co_qualname == qualname:
            return cur
        if depth < max_depth and not is_a(cur, (type, types.ModuleType)):
            queue.extend((nxt, depth + 1) for nxt in _inner(cur))
    return None


_LRU_WRAPPER = type(functools.lru_cache(maxsize=1)(lambda: None))


def caches_in(holder: Any, max_depth: int = 6) -> list[Any]:
    """The ``functools.lru_cache``/``cache`` wrappers inside a decorated object (under a
    staticmethod, a property, another decorator...): results of the old body they hold
    must not be served after the body changed."""
    found: list[Any] = []
    seen: set[int] = set()
    queue: deque[tuple[Any, int]] = deque([(holder, 0)])
    while queue:
        cur, depth = queue.popleft()
        if id(cur) in seen or depth > max_depth or is_a(cur, (type, types.ModuleType)):
            continue
        seen.add(id(cur))
        if is_a(cur, _LRU_WRAPPER):
            found.append(cur)
        queue.extend((nxt, depth + 1) for nxt in _inner(cur))
    return found


def role_of(decorators: list[Any]) -> str | None:
    """For ``@x.setter``-style decorators, which accessor of the property the def is."""
    import ast

    for deco in decorators:
        if isinstance(deco, ast.Attribute) and deco.attr in _ROLE:
            return _ROLE[deco.attr]
        if isinstance(deco, ast.Name) and deco.id == "property":
            return "fget"
    return None


def incompatibility(live: FunctionType, code: CodeType) -> str | None:
    """Why `code` cannot become `live.__code__`, or None when it can."""
    old = live.__code__.co_freevars
    if old != code.co_freevars:
        return (f"free variables changed ({', '.join(old) or 'none'} -> "
                f"{', '.join(code.co_freevars) or 'none'})")
    return None


def _nested(code: CodeType) -> Iterator[CodeType]:
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield const
            yield from _nested(const)


def nested_changes(old: CodeType, new: CodeType) -> list[tuple[CodeType, CodeType]]:
    """Pairs (old, new) of nested function code that changed, matched by qualified name.

    Live closures made at run time from a nested function hold the old nested code; they
    are found through these old code objects in one heap walk. Comprehension code never
    outlives its call, so it is not followed.
    """
    def index(code: CodeType) -> dict[tuple[str, int], CodeType]:
        seen: dict[str, int] = {}
        out: dict[tuple[str, int], CodeType] = {}
        for c in _nested(code):
            if c.co_name in _TRANSIENT:
                continue
            n = seen.get(c.co_qualname, 0)
            seen[c.co_qualname] = n + 1
            out[(c.co_qualname, n)] = c
        return out

    olds, news = index(old), index(new)
    return [(o, news[k]) for k, o in olds.items() if k in news and news[k] != o]


def shift_code(code: CodeType, delta: int) -> CodeType:
    """`code` as if written `delta` lines lower (nested code objects included)."""
    consts = tuple(shift_code(c, delta) if isinstance(c, CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + delta, co_consts=consts)


def clone(fn: FunctionType, globals_: dict[str, Any]) -> FunctionType:
    """A copy of `fn` that reads `globals_`: staged functions move into the live module."""
    new = FunctionType(fn.__code__, globals_, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__annotations__ = fn.__annotations__
    new.__qualname__ = fn.__qualname__
    new.__doc__ = fn.__doc__
    new.__module__ = fn.__module__
    if hasattr(fn, "__type_params__"):
        new.__type_params__ = fn.__type_params__  # type: ignore[attr-defined]  # 3.12+
    new.__dict__.update(fn.__dict__)
    return new


def lambdas_in(value: Any, globals_: dict[str, Any], depth: int = 3) -> list[FunctionType]:
    """Lambdas over `globals_` found in a value built by one statement, in a stable order.

    A table of lambdas rebuilt by a changed statement is paired with the live one entry by
    entry, so references to the old lambdas taken elsewhere run the new bodies.
    """
    out: list[FunctionType] = []
    if type(value) is FunctionType:
        if value.__globals__ is globals_ and value.__code__.co_name == "<lambda>":
            out.append(value)
    elif depth > 0 and type(value) in (dict, list, tuple):
        items = value.values() if type(value) is dict else value
        for item in items:
            out.extend(lambdas_in(item, globals_, depth - 1))
    return out
