"""Looking at arbitrary live objects without running their code.

The heap and a module's globals hold proxies, mocks and objects whose ``__class__``,
``__getattr__`` or ``__eq__`` raise or lie. ``isinstance`` consults ``__class__`` and a
plain ``obj.__dict__`` goes through ``__getattribute__``; these helpers look at the real
type and the real attribute dict only.
"""

from __future__ import annotations

import types
from typing import Any


def _type_attr(cls: type, name: str) -> Any:
    """A type's own slot (``__mro__``, ``__dict__``...), past any metaclass hook."""
    return type.__getattribute__(cls, name)


def is_a(obj: Any, cls: type | tuple[type, ...]) -> bool:
    """``isinstance`` by the object's real type, never asking the object itself."""
    return issubclass(type(obj), cls)


def instance_dict(obj: Any) -> dict[str, Any] | None:
    """An object's own attribute dict, read through the standard slot only."""
    kind = type(obj)
    if not _type_attr(kind, "__dictoffset__") and not issubclass(kind, types.ModuleType):
        return None
    for klass in _type_attr(kind, "__mro__"):
        descr = _type_attr(klass, "__dict__").get("__dict__")
        if descr is not None:
            if type(descr) is not types.GetSetDescriptorType and klass is not types.ModuleType:
                return None
            break
    try:
        d = object.__getattribute__(obj, "__dict__")
    except Exception:  # noqa: BLE001 - such an object simply has no readable dict
        return None
    return d if type(d) is dict else None


def functions_in(value: Any) -> list[types.FunctionType]:
    """The plain functions a class-dict entry holds directly: itself, a classmethod's or
    staticmethod's function, a property's accessors."""
    if type(value) is types.FunctionType:
        return [value]
    if is_a(value, (classmethod, staticmethod)):
        inner = value.__func__
        return [inner] if type(inner) is types.FunctionType else []
    if is_a(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if type(f) is types.FunctionType]
    return []


def class_has(cls: type, name: str) -> bool:
    """Whether `cls` or a base defines `name`, without asking a metaclass's __getattr__."""
    return any(name in _type_attr(klass, "__dict__") for klass in _type_attr(cls, "__mro__"))


_PLAIN = (int, float, complex, str, bytes, bool, tuple, frozenset, type(None))


def same_value(a: Any, b: Any) -> bool:
    """Equal without calling user code: identity, or == between plain built-in values of one
    type (a tuple's == may still reach its items; tuples of plain values are the case)."""
    if a is b:
        return True
    if type(a) is not type(b) or type(a) not in _PLAIN:
        return False
    if type(a) in (tuple, frozenset) and not all(type(x) in _PLAIN for x in a):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an __eq__ that raises: not the same
        return False
