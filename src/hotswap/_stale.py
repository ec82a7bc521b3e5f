"""The safety net of re-derivation: objects outside a module that still hold a function
whose signature an update changed, and that no adapter re-derived. Whatever they derived
from the old signature (a parameter list, an arity) may be old: the report names them.

Independent of any framework adapter. It costs nothing for a body edit (the signature is
compared cheaply first) and one pass over the referrers of the changed functions
otherwise.
"""

from __future__ import annotations

import gc
import sys
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._report import Report

FunctionType = types.FunctionType


def signature_of(fn: FunctionType) -> tuple[Any, ...]:
    """What callers and frameworks read from a function: its parameters, defaults,
    annotations and kind (a key to compare, cheap to build)."""
    code = fn.__code__
    n = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + \
        bool(code.co_flags & 0x08)
    return (code.co_varnames[:n], code.co_posonlyargcount, code.co_kwonlyargcount,
            code.co_flags & 0x2AC, _safe_repr(fn.__defaults__), _safe_repr(fn.__kwdefaults__),
            _safe_repr(fn.__annotations__))


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a hostile repr: compare by identity instead
        return f"<{id(value)}>"


def reshaped(patches: Iterable[Any]) -> list[FunctionType]:
    """Live functions that an update gives another signature (plain patches)."""
    return [p.live for p in patches if not p.layout and not _same_parts(p.live, p.new)
            and signature_of(p.live) != signature_of(p.new)]


def _same_parts(a: FunctionType, b: FunctionType) -> bool:
    """The cheap common case of a body edit: the new function was made with the live
    one's defaults and annotations, and takes the same arguments."""
    ca, cb = a.__code__, b.__code__
    return (a.__defaults__ is b.__defaults__ and a.__kwdefaults__ is b.__kwdefaults__
            and a.__annotations__ is b.__annotations__ and ca.co_argcount == cb.co_argcount
            and ca.co_kwonlyargcount == cb.co_kwonlyargcount
            and ca.co_posonlyargcount == cb.co_posonlyargcount
            and (ca.co_flags ^ cb.co_flags) & 0x2AC == 0
            and ca.co_varnames[:ca.co_argcount + ca.co_kwonlyargcount + 2]
            == cb.co_varnames[:cb.co_argcount + cb.co_kwonlyargcount + 2])


def stale_holders(fns: list[FunctionType], exempt: list[Any], module: types.ModuleType,
                  report: Report) -> None:
    """The safety net: objects outside the module (not registrations re-derived by this
    update, not wrappers of the function) that hold a function whose signature changed.
    Whatever they derived from it (a parsed signature, a parameter list) may be old: the
    report names them. One pass over the referrers of all of them."""
    if not fns:
        return
    near = _reachable(exempt)
    modules = {id(m.__dict__) for m in list(sys.modules.values())
               if isinstance(m, types.ModuleType)}
    wanted = {id(f): f for f in fns}
    found = gc.get_referrers(*fns)
    # an instance refers to its attributes itself (3.12+: values kept inline) or through
    # its __dict__ (found by the dict's own referrers)
    dicts = [r for r in found if type(r) is dict and id(r) not in modules]
    owners = [o for o in found if type(o) is not dict and _plain(o)]
    if dicts:
        owners.extend(o for o in gc.get_referrers(*dicts) if _plain(o))
    seen: set[int] = set()
    for owner in owners:
        attrs = owner.__dict__
        if id(owner) in near or id(owner) in seen or \
                type(owner).__module__.startswith("hotswap"):
            continue
        for key, value in list(attrs.items()):
            if id(value) in wanted and type(value) is FunctionType:
                seen.add(id(owner))
                fn = wanted[id(value)]
                report.skip(f"{type(owner).__module__}.{type(owner).__qualname__}.{key}",
                            f"holds {module.__name__}.{fn.__qualname__}, whose signature "
                            "changed, and was not re-derived: what it derived from the "
                            "old signature stays old (restart, or re-create it)")


def _plain(obj: Any) -> bool:
    """An object keeping attributes in a ``__dict__`` (not a class, function, module or
    frame, whose references to a function are their own business)."""
    if isinstance(obj, (type, types.FunctionType, types.ModuleType, types.FrameType,
                        types.MethodType, types.CellType)):
        return False
    try:
        return type(object.__getattribute__(obj, "__dict__")) is dict
    except AttributeError:
        return False


def _reachable(roots: list[Any], depth: int = 3) -> set[int]:
    """Ids of objects reachable from `roots` through instance attributes, lists, tuples
    and dict values, `depth` steps at most: the parts of a re-derived registration."""
    out: set[int] = set()
    frontier = list(roots)
    for _ in range(depth + 1):
        nxt: list[Any] = []
        for obj in frontier:
            if id(obj) in out or isinstance(obj, (type, types.ModuleType, FunctionType)):
                continue
            out.add(id(obj))
            if isinstance(obj, dict):
                nxt.extend(obj.values())
            elif isinstance(obj, (list, tuple, set, frozenset)):
                nxt.extend(obj)
            else:
                attrs = getattr(obj, "__dict__", None)
                if type(attrs) is dict:
                    nxt.extend(attrs.values())
        frontier = nxt
    return out
