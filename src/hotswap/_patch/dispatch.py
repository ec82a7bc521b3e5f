"""singledispatch: a live dispatcher keeps its identity and takes the new registry.

A ``functools.singledispatchmethod`` whose class statement ran again whole is a new
object with a registry of its own; setting it in the live class would leave every method
bound before the update (``handler = obj.on``) dispatching with the old registry, since the
bound method holds the old singledispatchmethod (3.11, 3.12) or its dispatcher's
``dispatch`` (3.13, which also caches the bound method per instance: gh-85160, revisited
in gh-127750); see ``singledispatchmethod.__get__`` in Lib/functools.py. So the live
singledispatchmethod stays, and its registry, a dict that only the closures of
``functools.singledispatch`` can reach, receives the new entries instead.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from .._ops import MISSING, Op, SetAttr, SetCell, SetItem
from .._safe import is_a


def _cell(fn: Any, name: str) -> types.CellType | None:
    if type(fn) is not types.FunctionType:
        return None
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
        if var == name:
            return cell
    return None


def _state(dispatcher: Any) -> tuple[dict[Any, Any], types.CellType | None] | None:
    """The registry dict of a ``functools.singledispatch`` function, and the cell of its
    ABC cache token (None: not the shape CPython's functools builds)."""
    dispatch = getattr(dispatcher, "dispatch", None)
    cell = _cell(dispatch, "registry")
    if cell is None:
        return None
    try:
        registry = cell.cell_contents
    except ValueError:
        return None
    if type(registry) is not dict:
        return None
    return registry, _cell(dispatch, "cache_token")


def adopt(live: Any, new: Any, fix: Callable[[Any], Any]) -> list[Op] | None:
    """The operations that give the live singledispatchmethod `live` the registry (and
    fallback) of `new`, staged in its place; None when either is not one, or not of the
    shape this knows, and `new` must simply take its place."""
    if not (type(live) is type(new) is functools.singledispatchmethod):
        return None
    mine, theirs = _state(live.dispatcher), _state(new.dispatcher)
    if mine is None or theirs is None:
        return None
    registry, token = mine
    staged, staged_token = theirs
    wanted = {fix(k): fix(v) for k, v in staged.items()}
    ops: list[Op] = [SetItem(registry, k) for k in registry if k not in wanted]
    ops += [SetItem(registry, k, v) for k, v in wanted.items()
            if registry.get(k, MISSING) is not v]
    func = fix(new.func)
    if func is not live.func:
        ops.append(SetAttr(live, "func", func))
    if token is not None and staged_token is not None:
        try:
            if staged_token.cell_contents is not None:
                ops.append(SetCell(token, staged_token.cell_contents))
        except ValueError:
            pass
    return ops


def is_dispatcher(fn: Any) -> bool:
    """Whether `fn` is a ``functools.singledispatch`` function (its ``registry`` is a
    read-only view of the dict `_state` finds; ``_clear_cache`` empties its cache)."""
    attrs = fn.__dict__ if type(fn) is types.FunctionType else {}
    return callable(attrs.get("_clear_cache")) and "registry" in attrs


def caches(live: dict[str, Any]) -> list[Callable[[], None]]:
    """The dispatch-cache clearers of a module's singledispatch functions and methods:
    they map classes to overloads, stale once a registry or a class changed."""
    out: list[Callable[[], None]] = []
    for value in list(live.values()):
        holders = [value]
        if is_a(value, type) and type.__getattribute__(value, "__module__") == live.get(
                "__name__"):
            holders = [getattr(v, "dispatcher", None) for v in
                       type.__getattribute__(value, "__dict__").values()
                       if is_a(v, functools.singledispatchmethod)]
        out.extend(fn._clear_cache for fn in holders if is_dispatcher(fn))
    return out
