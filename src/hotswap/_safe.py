"""Looking at arbitrary live objects without running their code.

The heap and a module's globals hold proxies, mocks and objects whose ``__class__``,
``__getattr__`` or ``__eq__`` raise or lie. ``isinstance`` consults ``__class__`` and a
plain ``obj.__dict__`` goes through ``__getattribute__``; these helpers look at the real
type and the real attribute dict only.
"""

from __future__ import annotations

import types
from typing import Any


def is_a(obj: Any, cls: type | tuple[type, ...]) -> bool:
    """``isinstance`` by the object's real type, never asking the object itself."""
    return issubclass(type(obj), cls)


def instance_dict(obj: Any) -> dict[str, Any] | None:
    """An object's own attribute dict, read through the standard slot only."""
    kind = type(obj)
    if not getattr(kind, "__dictoffset__", 0) and not issubclass(kind, types.ModuleType):
        return None
    for klass in kind.__mro__:
        descr = klass.__dict__.get("__dict__")
        if descr is not None:
            if type(descr) is not types.GetSetDescriptorType and klass is not types.ModuleType:
                return None
            break
    try:
        d = object.__getattribute__(obj, "__dict__")
    except Exception:  # noqa: BLE001 - such an object simply has no readable dict
        return None
    return d if type(d) is dict else None
