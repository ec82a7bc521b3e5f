"""What ``isinstance`` and ABCs computed from a class's body, computed again after it changed.

An ABC's abstract method set, and the caches ``isinstance`` keeps for ABCs and protocols
(a protocol's member list is computed once, when its class is created, on 3.12+), are
derived from class bodies: after an update changed a class they would describe its old
body. Each is planned as a `Call` whose undo puts the old state back.
"""

from __future__ import annotations

import abc
import typing
from typing import Any

from .._ops import Call
from .._safe import is_a
from .instances import with_subclasses


def refresh_type_checks(live: dict[str, Any]) -> Call:
    """After classes changed, what ``isinstance`` remembered is stale: the caches of the
    module's ABCs and protocols are cleared, and a protocol's member list (computed when
    its class was created, on 3.12+) is computed again from its current body."""
    abcs = [v for v in list(live.values()) if is_a(v, abc.ABCMeta)
            and type.__getattribute__(v, "__module__") == live.get("__name__")]
    protocols = [c for c in abcs if c.__dict__.get("_is_protocol")
                 and "__protocol_attrs__" in c.__dict__]
    before = {id(c): {k: c.__dict__[k] for k in _PROTOCOL_CACHES if k in c.__dict__}
              for c in protocols}

    def clear() -> None:
        for c in abcs:
            c._abc_caches_clear()

    def do() -> None:
        for c in protocols:
            attrs = typing._get_protocol_attrs(c)  # type: ignore[attr-defined]  # private
            type.__setattr__(c, "__protocol_attrs__", attrs)
            if "__non_callable_proto_members__" in c.__dict__:  # 3.13
                type.__setattr__(c, "__non_callable_proto_members__", {
                    a for a in attrs if not callable(getattr(c, a, None))})
            if "__callable_proto_members_only__" in c.__dict__:  # 3.12
                type.__setattr__(c, "__callable_proto_members_only__", all(
                    callable(getattr(c, a, None)) for a in attrs))
        clear()

    def undo() -> None:
        for c in protocols:
            for key, value in before[id(c)].items():
                type.__setattr__(c, key, value)
        clear()
    return Call(do, undo, "refresh the isinstance caches of the module's ABCs and protocols")


_PROTOCOL_CACHES = ("__protocol_attrs__", "__non_callable_proto_members__",
                    "__callable_proto_members_only__")


def recompute_abstract(cls: type) -> Call:
    """After an ABC changed, its abstract method set (and its subclasses') is recomputed."""
    family = with_subclasses(cls)
    before = {id(c): c.__dict__.get("__abstractmethods__") for c in family}

    def do() -> None:
        for c in family:
            abc.update_abstractmethods(c)

    def undo() -> None:
        for c in family:
            if before[id(c)] is not None:
                type.__setattr__(c, "__abstractmethods__", before[id(c)])
    return Call(do, undo, f"recompute abstract methods of {cls.__qualname__}")
