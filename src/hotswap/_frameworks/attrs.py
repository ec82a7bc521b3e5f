"""attrs: ``@define``/``@frozen`` generate ``__init__``, ``__repr__``, ``__eq__`` and the
field table (``__attrs_attrs__``) from the class body, and a slotted class (the default)
is a new class made by the decorator.

The engine already runs a decorated class statement again when its fields change, and
replaces a slotted class whose layout changed (its instances move to the new layout).
This adapter says which classes attrs generated, and how old instances get the default
of a field added since (a plain default or a factory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attr

from .._safe import is_a
from . import Adapter


def _maker(a: Any, obj_free: bool = True) -> Callable[[], Any] | None:
    default = a.default
    if default is attr.NOTHING:
        return None
    factory: Any = attr.Factory
    if is_a(default, factory):
        if default.takes_self:
            return None  # needs the instance: left to __hotswap_migrate__
        made: Callable[[], Any] = default.factory
        return made
    return lambda: default


class AttrsAdapter(Adapter):
    module = "attr"
    name = "attrs"

    def generated(self, cls: type) -> bool:
        return is_a(cls, type) and attr.has(cls)

    def fill(self, new: type, live: type) -> tuple[dict[str, Callable[[], Any]], list[str]]:
        if not (attr.has(new) and attr.has(live)):
            return {}, []
        old = {a.name for a in attr.fields(live)}
        now = {a.name for a in attr.fields(new)}
        out: dict[str, Callable[[], Any]] = {}
        for a in attr.fields(new):
            make = _maker(a) if a.name not in old else None
            if make is not None:
                out[a.name] = make
        return out, sorted(old - now)


ADAPTER = AttrsAdapter()
