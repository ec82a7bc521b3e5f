"""The hostile zoo of test_hostile.py: objects whose ``__eq__``, ``__hash__``,
``__bool__``, ``__getattr__``, ``__getattribute__``, ``__class__`` or ``__dict__`` raise or
lie, metaclasses that count or refuse, and phoenixes whose ``__del__`` resurrects them.

The modules under test import them as ``hs_zoo`` (test_hostile's `zoo_module` fixture
puts this module in sys.modules under that name). Every hostile hook counts its calls in
``CALLS``: an update must call none of them."""

from __future__ import annotations

import collections
import gc
import itertools
from typing import Any

CALLS: collections.Counter[str] = collections.Counter()
GRAVE: list[Any] = []  # what __del__ methods resurrect or create
UNRAISABLE: list[str] = []


def hit(what: str) -> None:
    CALLS[what] += 1


class HostileError(RuntimeError):
    pass


class Ambiguous:
    """What a numpy array's ``==`` returns: its truth value raises."""

    def __bool__(self) -> bool:
        hit("Ambiguous.__bool__")
        raise ValueError("The truth value of an array with more than one element is ambiguous")


class ArrayLike:
    """numpy-like: unhashable, comparisons return `Ambiguous`, no truth value."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, *items: Any) -> None:
        self.items = list(items)

    def _cmp(self, other: Any) -> Ambiguous:
        hit("ArrayLike comparison")
        return Ambiguous()

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _cmp  # type: ignore[assignment]

    def __bool__(self) -> bool:
        hit("ArrayLike.__bool__")
        raise ValueError("ambiguous")

    def __len__(self) -> int:
        hit("ArrayLike.__len__")
        return len(self.items)

    def __iter__(self) -> Any:
        hit("ArrayLike.__iter__")
        return iter(self.items)

    def __getattr__(self, name: str) -> Any:
        hit(f"ArrayLike.__getattr__({name})")
        raise AttributeError(name)


class Raiser:
    """Every hook raises: attribute access (so ``__class__`` and ``__dict__`` too), setting,
    comparison, hashing, truth, length, iteration, calls."""

    def __init__(self, **refs: Any) -> None:
        for k, v in refs.items():
            object.__setattr__(self, k, v)

    def __getattribute__(self, name: str) -> Any:
        hit(f"Raiser.__getattribute__({name})")
        raise HostileError(f"hostile __getattribute__({name})")

    def __setattr__(self, name: str, value: Any) -> None:
        hit(f"Raiser.__setattr__({name})")
        raise HostileError("hostile __setattr__")

    def __delattr__(self, name: str) -> None:
        hit(f"Raiser.__delattr__({name})")
        raise HostileError("hostile __delattr__")

    def _raise(self, *args: Any, **kwargs: Any) -> Any:
        hit("Raiser operator")
        raise HostileError("hostile operator")

    __eq__ = __ne__ = __lt__ = __hash__ = __bool__ = __len__ = __iter__ = __call__ = _raise  # type: ignore[assignment]


class ShyRaiser(Raiser):
    """A Raiser that still answers ``__class__`` (so ``isinstance`` works on it, as
    dataclasses need for a class attribute)."""

    def __getattribute__(self, name: str) -> Any:
        if name == "__class__":
            return type(self)
        return Raiser.__getattribute__(self, name)


class ClassLiar:
    """Claims (through ``__class__``) to be an instance of `claims`: ``isinstance`` agrees."""

    def __init__(self, claims: type, **refs: Any) -> None:
        object.__setattr__(self, "_claims", claims)
        for k, v in refs.items():
            object.__setattr__(self, k, v)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        hit("ClassLiar.__class__")
        return object.__getattribute__(self, "_claims")


class ClassRaiser:
    def __init__(self, **refs: Any) -> None:
        for k, v in refs.items():
            object.__setattr__(self, k, v)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        hit("ClassRaiser.__class__")
        raise HostileError("hostile __class__")


class DictLiar:
    """``__dict__`` is a property showing a made-up namespace (with a migration hook and a
    ``__wrapped__``); the real attributes are elsewhere."""

    def __init__(self, **refs: Any) -> None:
        for k, v in refs.items():
            object.__setattr__(self, k, v)

    @property  # type: ignore[misc]
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        hit("DictLiar.__dict__")
        return {"__hotswap_migrate__": lambda: hit("fake hook"), "__wrapped__": print}


class DictRaiser:
    def __init__(self, **refs: Any) -> None:
        for k, v in refs.items():
            object.__setattr__(self, k, v)

    @property  # type: ignore[misc]
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        hit("DictRaiser.__dict__")
        raise HostileError("hostile __dict__")


class GetattrLiar:
    """Has every attribute: ``__getattr__`` makes up a callable for any missing name
    (``__hotswap_migrate__``, ``__wrapped__``, ``__func__``, ``cache_clear``...)."""

    def __init__(self, **refs: Any) -> None:
        self.__dict__.update(refs)

    def __getattr__(self, name: str) -> Any:
        hit(f"GetattrLiar.__getattr__({name})")
        return lambda *a, **k: hit(f"GetattrLiar.{name}()")


class ReadMeta(type):
    """A metaclass whose ``__getattribute__`` counts reads of the type attributes that
    describe its instances' layout (what code must read to find an attribute dict)."""

    def __getattribute__(cls, name: str) -> Any:
        if name in ("__dictoffset__", "__mro__", "__dict__"):
            hit(f"ReadMeta.__getattribute__({name})")
        return type.__getattribute__(cls, name)


class EqMeta(type):
    """Classes that cannot be compared: ``==`` between them raises."""

    def __eq__(cls, other: Any) -> bool:
        hit("EqMeta.__eq__")
        raise HostileError("hostile metaclass __eq__")

    __hash__ = type.__hash__


class MetaHeld(metaclass=ReadMeta):
    def __init__(self, **refs: Any) -> None:
        for k, v in refs.items():
            object.__setattr__(self, k, v)


class Phoenix:
    """In a reference cycle; its ``__del__`` resurrects it, makes a new instance of a
    class being updated, and (every other one) raises."""

    serial = itertools.count()

    def __init__(self, make: Any, **refs: Any) -> None:
        self.make = make
        self.refs = refs
        self.me = self
        self.n = next(Phoenix.serial)

    def __del__(self) -> None:
        GRAVE.append(self)
        GRAVE.append(self.make())
        if self.n % 2:
            raise HostileError("hostile __del__")


def start_collecting() -> str:
    """Called by the changed module-level table while the update is staged: from then on
    every allocation runs a young-generation collection, so the phoenixes die mid-update."""
    gc.set_threshold(1, 10**6, 10**6)
    gc.enable()
    return "collecting"


HOSTILE_KINDS = (ArrayLike, Raiser, ClassLiar, ClassRaiser, DictLiar, DictRaiser, GetattrLiar)
