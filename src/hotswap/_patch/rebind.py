"""Moving staged values into the live module.

Staged statements run against a copy of the module's globals, so functions they create
(lambdas in a table, methods of a new class, a decorator's product) read that copy. And a
value built from a changed definition holds the staged function rather than the live one
that is about to receive its code. Before anything is bound, each new value is walked:
staged functions that have a live counterpart are replaced by it (one canonical object),
and the others are re-created over the live globals. The walk stays inside objects the
update created (containers, descriptors, closures, new classes): it never crawls the heap.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

from .._ops import Plan, SetCell
from .._safe import functions_in, instance_dict, is_a
from .functions import clone

_MAX_DEPTH = 8


class Rebinder:
    def __init__(self, staging: dict[str, Any], live: dict[str, Any],
                 canonical: dict[int, Any], plan: Plan,
                 made: frozenset[int] = frozenset()) -> None:
        self.staging = staging
        self.live = live
        self.canonical = canonical  # id(staged object) -> live object
        self.plan = plan
        self.made = made  # ids of the classes staging created (new ones, not rebuilt)
        self._memo: dict[int, Any] = {}
        self._keep: list[Any] = []  # keeps ids in _memo valid

    def fix(self, value: Any, depth: int = 0) -> Any:
        """`value` with every staged function replaced; records in-place edits in the plan."""
        key = id(value)
        if key in self.canonical:
            return self.canonical[key]
        if key in self._memo:
            return self._memo[key]
        if depth > _MAX_DEPTH:
            return value
        self._memo[key] = value
        self._keep.append(value)
        result = self._fix(value, depth + 1)
        self._memo[key] = result
        return result

    def _fix(self, v: Any, d: int) -> Any:
        if type(v) is types.FunctionType:
            return self._function(v, d)
        if is_a(v, (classmethod, staticmethod)):
            inner = self.fix(v.__func__, d)
            return v if inner is v.__func__ else type(v)(inner)
        if type(v) is property:
            parts = [self.fix(f, d) if f is not None else None for f in (v.fget, v.fset, v.fdel)]
            if all(a is b for a, b in zip(parts, (v.fget, v.fset, v.fdel), strict=True)):
                return v
            return property(parts[0], parts[1], parts[2], v.__doc__)
        if is_a(v, functools.cached_property):
            inner = self.fix(v.func, d)
            if inner is not v.func:
                self.plan.set_attr(v, "func", inner)
            return v
        if type(v) is functools.singledispatchmethod:
            inner = self.fix(v.func, d)
            if inner is not v.func:
                self.plan.set_attr(v, "func", inner)
            self.fix(v.dispatcher, d)  # its registry, in the closures of the dispatcher
            return v
        if type(v) is functools.partial:
            inner = self.fix(v.func, d)
            return v if inner is v.func else functools.partial(inner, *v.args, **v.keywords)
        if type(v) is dict:
            for k, item in list(v.items()):
                new = self.fix(item, d)
                if new is not item:
                    self.plan.set_item(v, k, new)
            return v
        if type(v) is list:
            for i, item in enumerate(list(v)):
                new = self.fix(item, d)
                if new is not item:
                    self.plan.set_item(v, i, new)
            return v
        if type(v) in (tuple, set, frozenset):
            items = [self.fix(item, d) for item in v]
            return v if all(a is b for a, b in zip(items, v, strict=True)) else type(v)(items)
        if is_a(v, type) and self._is_staged_class(v):
            for k, item in list(v.__dict__.items()):
                new = self.fix(item, d)
                if new is not item:
                    self.plan.set_attr(v, k, new)
            bases = tuple(self.fix(b, d) for b in v.__bases__)
            if any(a is not b for a, b in zip(bases, v.__bases__, strict=True)):
                self.plan.set_attr(v, "__bases__", bases)  # a new subclass of a rebuilt class
            return v
        if type(v) is typing._GenericAlias:  # type: ignore[attr-defined]  # private to typing
            return self._alias(v, d)
        if type(v) is functools._lru_cache_wrapper:
            return self._lru_cache(v, d)
        wrapped = (instance_dict(v) or {}).get("__wrapped__")
        if wrapped is not None:  # a callable object made by a decorator
            new = self.fix(wrapped, d)
            if new is not wrapped:
                self.plan.set_attr(v, "__wrapped__", new)
        return v

    def _lru_cache(self, v: Any, d: int) -> Any:
        """An lru_cache wrapper calls the function it was made around, whatever its
        ``__wrapped__`` says: one whose function must change is made again around the new
        one (with an empty cache, which the old function's results had no place in)."""
        wrapped = v.__dict__.get("__wrapped__")
        new = self.fix(wrapped, d) if wrapped is not None else None
        if new is None or new is wrapped:
            return v
        params = v.cache_parameters()
        fresh = functools.lru_cache(maxsize=params["maxsize"], typed=params["typed"])(new)
        fresh.__dict__.update((k, item) for k, item in v.__dict__.items()
                              if k != "__wrapped__")
        return fresh

    def _alias(self, v: Any, d: int) -> Any:
        """A subscripted generic class (``Base[int]`` in a class's ``__orig_bases__``) that
        staging made from a class rebuilt in this update names the live class instead.
        Such an alias is staging's own (typing caches it per staged class): it is edited,
        not made again, as the live class takes its new type parameters only when the
        update applies."""
        origin = self.fix(v.__origin__, d)
        args = tuple(self.fix(a, d) for a in v.__args__)
        if origin is not v.__origin__:
            self.plan.set_attr(v, "__origin__", origin)
        if any(a is not b for a, b in zip(args, v.__args__, strict=True)):
            self.plan.set_attr(v, "__args__", args)
        return v

    def _is_staged_class(self, cls: type) -> bool:
        return id(cls) in self.made or any(
            fn.__globals__ is self.staging
            for item in cls.__dict__.values() for fn in functions_in(item))

    def _function(self, fn: types.FunctionType, d: int) -> Any:
        target = fn
        if fn.__globals__ is self.staging:
            target = clone(fn, self.live)
            self._memo[id(fn)] = target
        for cell in target.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:
                continue
            new = self.fix(content, d)
            if new is not content:
                self.plan.add(SetCell(cell, new))
        wrapped = target.__dict__.get("__wrapped__")
        if wrapped is not None:
            new = self.fix(wrapped, d)
            if new is not wrapped:
                if target is fn:
                    self.plan.set_attr(target, "__wrapped__", new)
                else:
                    # functools.wraps sets __wrapped__ on a function; typeshed does not declare it
                    target.__wrapped__ = new  # type: ignore[attr-defined]
        return target
