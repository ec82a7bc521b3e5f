"""Plain data classes for the engine's own records, made without the `dataclasses` module.

The engine describes what it does in some fifty small record classes (a diff's changes,
a plan's operations, the report). Made with ``@dataclasses.dataclass`` they cost the
first update (or a warm-up) about 30 ms on 3.12: 8 ms importing `dataclasses` and the
`inspect` it needs, then half a millisecond per class, which compiles an ``__init__``,
``__repr__`` and ``__eq__`` from generated source. `dataclass` here makes the same
classes from generic methods that read the class's list of fields: nothing is compiled,
and a class costs a few microseconds. Constructing a record costs 0.5-1 us more (CPU,
3.12): the engine makes tens of them per update; the few made once per instance of the
program (`Retarget`, `FillAttrs`, `InstanceHook`, `TwinFill`, `TwinHook`) write their
``__init__`` out.

Only what the engine uses is supported: fields in annotation order (inherited fields
first), ``field(default=, default_factory=, init=, repr=, compare=)``, ``frozen=True``,
``__post_init__``, and `replace` and `asdict` on records. A record behaves as the data
class would: the same ``__init__`` signature (positional or by keyword), ``__repr__``,
``__eq__`` (same class, fields compared in order), unhashable unless frozen, and a frozen
one refuses assignment. Annotations are not evaluated (every module here uses
``from __future__ import annotations``); ``ClassVar`` fields are not supported.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself is not imported: see the module's docstring
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

_NOTHING: Any = object()  # a field without a default (None is a default like any other)
# What dataclasses.replace raises for a field not in __init__ (TypeError from 3.13).
_REPLACE_ERROR = TypeError if sys.version_info >= (3, 13) else ValueError


class Field:
    """What `field` says about one field; the field's name is set by `dataclass`."""

    __slots__ = ("name", "default", "default_factory", "init", "repr", "compare")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool,
                 compare: bool) -> None:
        self.name = ""
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.compare = init, repr, compare


def _field(*, default: Any = _NOTHING, default_factory: Callable[[], Any] | Any = _NOTHING,
          init: bool = True, repr: bool = True, compare: bool = True) -> Any:
    """A field's default, default factory, and whether ``__init__``, ``__repr__`` and
    ``__eq__`` include it (as `dataclasses.field`)."""
    if default is not _NOTHING and default_factory is not _NOTHING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, compare)


class FrozenInstanceError(AttributeError):
    """Raised when a field of a frozen record is assigned or deleted."""


def _dataclass(cls: type[T] | None = None, /, *,
              frozen: bool = False) -> Any:
    """Make `cls` a plain data class (see the module's docstring)."""
    def wrap(klass: type[T]) -> type[T]:
        return _make(klass, frozen)
    return wrap if cls is None else wrap(cls)


def _make(cls: type[T], frozen: bool) -> type[T]:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__plain_fields__", ()):
            fields[f.name] = f
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, _NOTHING)
        f = value if isinstance(value, Field) else Field(value, _NOTHING, True, True, True)
        f.name = name
        if isinstance(value, Field):  # as dataclasses: the class keeps a plain default
            if f.default is _NOTHING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        fields[name] = f
    order = tuple(fields.values())
    seen_default = False
    for f in order:
        if not f.init:
            continue
        if f.default is not _NOTHING or f.default_factory is not _NOTHING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    cls.__plain_fields__ = order  # type: ignore[attr-defined]
    cls.__plain_post__ = hasattr(cls, "__post_init__")  # type: ignore[attr-defined]
    # A record made with a value for each field, positionally, takes them in one C call
    # (as fast as the data class's compiled __init__; the engine makes some records once
    # per instance of the program): when every field is in __init__ and the instances
    # keep their attributes in a __dict__.
    simple = all(f.init for f in order) and all("__slots__" not in vars(k)
                                                for k in cls.__mro__[:-1])
    cls.__plain_names__ = tuple(f.name for f in order) if simple else None  # type: ignore[attr-defined]
    for name, method in (("__init__", _init), ("__repr__", _repr), ("__eq__", _eq)):
        if name not in cls.__dict__:
            setattr(cls, name, method)
    if frozen:
        cls.__plain_frozen__ = True  # type: ignore[attr-defined]
        cls.__setattr__ = _frozen_setattr  # type: ignore[method-assign]
        cls.__delattr__ = _frozen_delattr  # type: ignore[method-assign]
        if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            cls.__hash__ = _hash  # type: ignore[method-assign]
    elif "__hash__" not in cls.__dict__:
        cls.__hash__ = None  # type: ignore[assignment]  # as a data class with __eq__
    return cls


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    kind = type(self)
    names = kind.__plain_names__
    if names is not None and not kwargs and len(args) == len(names):
        self.__dict__.update(zip(names, args, strict=True))
        if kind.__plain_post__:
            self.__post_init__()
        return
    fields = kind.__plain_fields__
    given = iter(args)
    count = 0
    for f in fields:
        if not f.init:  # a plain default is read from the class
            if f.default_factory is not _NOTHING:
                object.__setattr__(self, f.name, f.default_factory())
            continue
        value = next(given, _NOTHING)
        if value is _NOTHING:
            value = kwargs.pop(f.name, _NOTHING)
            if value is _NOTHING:
                if f.default_factory is not _NOTHING:
                    value = f.default_factory()
                elif f.default is not _NOTHING:
                    value = f.default
                else:
                    raise TypeError(f"{type(self).__qualname__}.__init__() missing "
                                    f"argument: {f.name!r}")
        elif f.name in kwargs:
            raise TypeError(f"{type(self).__qualname__}.__init__() got multiple values "
                            f"for argument {f.name!r}")
        else:
            count += 1
        object.__setattr__(self, f.name, value)
    if count < len(args):
        raise TypeError(f"{type(self).__qualname__}.__init__() takes {count + 1} "
                        f"positional arguments but {len(args) + 1} were given")
    if kwargs:
        raise TypeError(f"{type(self).__qualname__}.__init__() got an unexpected keyword "
                        f"argument {next(iter(kwargs))!r}")
    if type(self).__plain_post__:
        self.__post_init__()


_running: set[tuple[int, int]] = set()  # the records whose repr is being made, by thread


def _repr(self: Any) -> str:
    from _thread import get_ident

    key = (id(self), get_ident())
    if key in _running:  # a record that holds itself (as dataclasses' recursive_repr)
        return "..."
    _running.add(key)
    try:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                          for f in type(self).__plain_fields__ if f.repr)
    finally:
        _running.discard(key)
    return f"{type(self).__qualname__}({inner})"


def _compared(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in type(self).__plain_fields__ if f.compare)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: Any) -> int:
    return hash(_compared(self))


def _frozen(self: Any, name: str) -> bool:
    """Whether `name` is closed on `self`: any name on a frozen record's own class, its
    fields on a subclass not made frozen itself (as dataclasses decide)."""
    kind = type(self)
    return "__plain_frozen__" in kind.__dict__ or any(f.name == name
                                                       for f in kind.__plain_fields__)


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    if _frozen(self, name):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    if _frozen(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


def _replace(obj: T, /, **changes: Any) -> T:
    """A new record of `obj`'s class with its fields, less `changes` (as
    `dataclasses.replace`)."""
    fields = type(obj).__plain_fields__  # type: ignore[attr-defined]
    for f in fields:
        if not f.init and f.name in changes:
            raise _REPLACE_ERROR(f"field {f.name} is declared with init=False, it cannot "
                                 "be specified with replace()")
        if f.init and f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


def _asdict(obj: Any) -> dict[str, Any]:
    """The fields of record `obj` as a dict, records, lists, tuples and dicts in them
    copied (as `dataclasses.asdict`, for the values records hold)."""
    return {f.name: _copied(getattr(obj, f.name)) for f in type(obj).__plain_fields__}


def _copied(value: Any) -> Any:
    if hasattr(type(value), "__plain_fields__"):
        return _asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*map(_copied, value))
    if isinstance(value, (list, tuple)):
        return type(value)(map(_copied, value))
    if isinstance(value, dict):
        return type(value)((_copied(k), _copied(v)) for k, v in value.items())
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return value
    import copy

    return copy.deepcopy(value)


# Type checkers see the data classes these make (the same fields, __init__ and methods).
if TYPE_CHECKING:
    from dataclasses import asdict, dataclass, field, replace
else:
    asdict, dataclass, field, replace = _asdict, _dataclass, _field, _replace
