"""Attributes a changed constructor sets that objects built before the update lack.

The new ``__init__`` runs only for objects made from now on; those made by the old one
(often at import time, in other modules too) keep their state, so a method reading an
attribute only the new constructor sets raises AttributeError on them. Which attributes:
read from the bytecode (``self.x = ...`` stores on the first argument, or for ``__new__``
on any local but the class), which needs no source and no parse. How many objects: counted
in the update's one heap pass, which is made for this only when a constructor gained an
attribute (so a plain body edit still walks no heap).
"""

from __future__ import annotations

import types
from typing import Any

from .._plain import dataclass

CONSTRUCTORS = ("__init__", "__post_init__", "__new__")
_LOADS = ("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR")


@dataclass
class Gain:
    """A class whose constructor now sets attributes its old one did not."""

    # No instance dict: the safety net (hotswap._stale) would take that dict, which holds
    # the class, for a container of the program's and spend a heap pass on its owner.
    __slots__ = ("cls", "label", "constructor", "names")

    cls: type
    label: str  # "module.Class"
    constructor: str
    names: list[str]


def stored(code: types.CodeType, constructor: str) -> set[str]:
    """Attribute names `code` stores on the object being built: ``self.x = ...`` on its
    first argument (for ``__new__``, on any local variable but its first, the class)."""
    if code.co_argcount == 0:
        return set()
    import dis  # only for a constructor that changed

    first = code.co_varnames[0]
    out: set[str] = set()
    previous: Any = None
    for ins in dis.get_instructions(code):
        if ins.opname == "STORE_ATTR" and previous is not None:
            target = previous.argval[-1] if previous.opname == "LOAD_FAST_LOAD_FAST" \
                else previous.argval if previous.opname in _LOADS else None
            if target is not None and ((target == first) != (constructor == "__new__")):
                out.add(ins.argval)
        previous = ins
    return out


def _code(fn: Any) -> types.CodeType | None:
    fn = getattr(fn, "__func__", fn)  # a staticmethod __new__
    code = getattr(fn, "__code__", None)
    return code if isinstance(code, types.CodeType) else None


def gain(cls: type, label: str, constructor: str, old: Any, new: Any,
         given: set[str]) -> Gain | None:
    """What the constructor `new` sets that `old` did not (None: nothing), leaving out what
    the class provides anyway (a class attribute, a property or slot) and `given` (what the
    update fills in itself: new dataclass fields' defaults)."""
    new_code = _code(new)
    if new_code is None:
        return None
    old_code = _code(old)
    names = stored(new_code, constructor) - (stored(old_code, constructor) if old_code else set())
    names -= given
    names = {n for n in names if not any(n in k.__dict__ for k in cls.__mro__)}
    return Gain(cls, label, constructor, sorted(names)) if names else None


def warning(g: Gain, count: int) -> str:
    return (f"{g.label}: {count} instance(s) made before this update lack "
            f"{', '.join(g.names)}, which the new {g.constructor} sets; define "
            f"__hotswap_migrate__(self) in the class to fill them (it runs once on each "
            "old instance)")
