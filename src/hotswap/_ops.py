"""Reversible operations: the only code that changes live objects.

Everything that can fail is decided before the first operation runs; the operations
themselves are plain assignments. Each returns its own undo, so a failure half-way, a
failing user check or a later rollback replays the log backwards and leaves every object
exactly as it was.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._plain import dataclass, field
from ._diff import mangle
from ._safe import class_has, instance_dict, same_value

Undo = Callable[[], None]
_MISSING: Any = object()

_FUNCTION_FIELDS = ("__code__", "__defaults__", "__kwdefaults__", "__annotations__", "__doc__")


class Op:
    def apply(self) -> Undo:
        raise NotImplementedError

    def stale(self) -> bool:
        """Whether what the heap became since planning spoils this op (most ops: never)."""
        return False

    def weight(self) -> int:
        """Roughly how many simple operations' time applying this takes (see _apply)."""
        return 1


@dataclass
class SetFunction(Op):
    """Give a live function a new body (and the defaults and annotations that go with it)."""

    fn: types.FunctionType
    fields: dict[str, Any]

    def apply(self) -> Undo:
        fn = self.fn
        before = {k: getattr(fn, k) for k in self.fields}
        # Code last: the whole op runs with thread switching held off (see _apply).
        for key in sorted(self.fields, key=lambda k: k == "__code__"):
            setattr(fn, key, self.fields[key])

        def undo() -> None:
            for key in sorted(before, key=lambda k: k != "__code__"):
                setattr(fn, key, before[key])
        return undo


def function_fields(new: types.FunctionType, code: types.CodeType | None = None) -> dict[str, Any]:
    """What moves from a freshly compiled function into the live one."""
    values = {k: getattr(new, k) for k in _FUNCTION_FIELDS}
    if code is not None:
        values["__code__"] = code
    return values


def changes_nothing(fn: types.FunctionType, fields: dict[str, Any]) -> bool:
    """Whether giving `fn` these `fields` would leave it as it is: the same code (compared
    by value: bytecode, constants, names, line table), defaults, annotations and docstring.
    A class statement run again for its header makes such twins of its unchanged methods;
    keeping the live one keeps what its defaults hold (a cache dict) and the report true.
    Values are compared without running the program's code (see `same_value`)."""
    def same(a: Any, b: Any) -> bool:
        if type(a) is tuple and type(b) is tuple:
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if type(a) is dict and type(b) is dict:
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return same_value(a, b)
    return all(same(getattr(fn, key), value) if key != "__code__" else fn.__code__ == value
               for key, value in fields.items())


@dataclass
class SetAttr(Op):
    """Set (or with ``value`` missing, delete) an attribute, bypassing metaclass hooks."""

    obj: Any
    name: str
    value: Any = _MISSING

    def apply(self) -> Undo:
        obj, name = self.obj, self.name
        is_class = issubclass(type(obj), type)
        setter = type.__setattr__ if is_class else object.__setattr__
        deleter = type.__delattr__ if is_class else object.__delattr__

        if is_class and _shadowed_by_metatype(type(obj), name):
            setter, deleter = _raw_set, _raw_delete

        def own() -> Any:
            return obj.__dict__ if is_class else (instance_dict(obj) or {})
        before = own().get(name, _MISSING)
        if self.value is _MISSING:
            deleter(obj, name)
        else:
            setter(obj, name, self.value)

        def undo() -> None:
            if before is _MISSING:
                if name in own():
                    deleter(obj, name)
            else:
                setter(obj, name, before)
        return undo


# Names whose setter on `type` stores the value in the class's own dict (as a class
# statement would), or must run (the bases, the abstract flag): set the ordinary way.
_STORED_BY_SETTER = frozenset({"__doc__", "__module__", "__annotations__", "__bases__",
                               "__abstractmethods__", "__type_params__"})


def _shadowed_by_metatype(meta: type, name: str) -> bool:
    """Whether `name` is a data descriptor of the metaclass (``type.__name__``, a
    metaclass's property): ``type.__setattr__`` would call its setter instead of storing a
    class entry, which a class body defining ``__name__ = property(...)`` needs."""
    if name in _STORED_BY_SETTER:
        return False
    for klass in meta.__mro__:
        if name in klass.__dict__:
            return class_has(type(klass.__dict__[name]), "__set__")
    return False


def _class_namespace(cls: type) -> dict[str, Any]:
    """The dict behind ``cls.__dict__`` (a read-only proxy of it)."""
    proxy = type.__dict__["__dict__"].__get__(cls)
    inner = [d for d in gc.get_referents(proxy) if type(d) is dict]
    if len(inner) != 1:
        raise TypeError(f"cannot reach the namespace of {cls.__qualname__}")
    return inner[0]


def _modified(cls: type) -> None:
    """Make CPython forget what it cached about `cls` and its subclasses' lookups (what
    setting any attribute through ``type.__setattr__`` does)."""
    type.__setattr__(cls, "__hotswap_modified__", None)
    type.__delattr__(cls, "__hotswap_modified__")


def _raw_set(cls: Any, name: str, value: Any) -> None:
    _class_namespace(cls)[name] = value
    _modified(cls)


def _raw_delete(cls: Any, name: str) -> None:
    del _class_namespace(cls)[name]
    _modified(cls)


@dataclass
class SetItem(Op):
    """Set (or delete) a key of a dict or an index of a list."""

    container: Any
    key: Any
    value: Any = _MISSING

    def apply(self) -> Undo:
        c, key = self.container, self.key
        if isinstance(c, dict):
            before = c.get(key, _MISSING)
        else:
            before = c[key]
        if self.value is _MISSING:
            del c[key]
        else:
            c[key] = self.value

        def undo() -> None:
            if before is _MISSING:
                c.pop(key, None)
            else:
                c[key] = before
        return undo


@dataclass
class SetCell(Op):
    cell: types.CellType
    value: Any

    def apply(self) -> Undo:
        cell = self.cell
        try:
            before = cell.cell_contents
        except ValueError:
            before = _MISSING
        cell.cell_contents = self.value

        def undo() -> None:
            if before is _MISSING:
                del cell.cell_contents
            else:
                cell.cell_contents = before
        return undo


@dataclass
class Call(Op):
    """Run a step that has its own inverse (a migration hook, a cache clear)."""

    do: Callable[[], Any]
    undo: Undo = lambda: None
    label: str = ""

    def apply(self) -> Undo:
        self.do()
        return self.undo


@dataclass
class Plan:
    ops: list[Op] = field(default_factory=list)
    rebound: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # name: (old, new)
    # What the heap walk looked for (old classes, old nested code): a new reference to one
    # of them after the walk (an instance or closure another thread made meanwhile) means
    # the walk missed it, and the plan must be made again.
    guards: list[Any] = field(default_factory=list)
    _counts: list[int] = field(default_factory=list)

    def seal(self) -> None:
        """Planning is over: note how referenced each guarded object is now."""
        self._counts = _refcounts(self.guards)

    def stale(self) -> bool:
        counts = zip(_refcounts(self.guards), self._counts, strict=False)
        return any(now > then for now, then in counts) \
            or any(op.stale() for op in self.ops)

    def weight(self) -> int:
        return sum(op.weight() for op in self.ops)

    def add(self, op: Op) -> None:
        self.ops.append(op)

    def set_item(self, container: Any, key: Any, value: Any = _MISSING) -> None:
        self.ops.append(SetItem(container, key, value))

    def set_attr(self, obj: Any, name: str, value: Any = _MISSING) -> None:
        self.ops.append(SetAttr(obj, name, value))

    def __len__(self) -> int:
        return len(self.ops)


MISSING = _MISSING


def _refcounts(objects: list[Any]) -> list[int]:
    return [sys.getrefcount(o) for o in objects]


Swaps = dict[int, tuple[Any, Any]]  # id(old) -> (old, new); the old objects kept alive,
# so that no id is reused by another object before the swap applies


@dataclass
class Swap(Op):
    """Put new objects in the place of old ones in one container (a list, a dict's values
    and keys, a set, a cell), wherever they stand when this applies: another thread may
    have moved things in it since the plan was made. A dict keyed by an old object (a
    registry keyed by a replaced class, a table keyed by moved instances) or a set is
    rebuilt in its order. The undo swaps back the same way, keeping whatever else the
    program changed in the container meanwhile."""

    container: Any
    swaps: Swaps

    def weight(self) -> int:
        return swap_weight(self.container)

    def apply(self) -> Undo:
        back = {id(new): (new, old) for old, new in self.swaps.values()}
        swap_in(self.container, self.swaps)
        return lambda: swap_in(self.container, back)


def swap_weight(container: Any) -> int:
    """A `Swap`'s cost in simple operations: a look through the container, maybe a
    rebuild."""
    return 1 if type(container) is types.CellType else 1 + len(container) // 16


def swapped(swaps: Swaps, obj: Any) -> Any:
    pair = swaps.get(id(obj))
    return pair[1] if pair is not None and pair[0] is obj else obj


def swap_in(c: Any, swaps: Swaps) -> None:
    """`Swap`'s work on a list, dict, set or cell, by identity."""
    if type(c) is list:
        for i, v in enumerate(c):
            if (new := swapped(swaps, v)) is not v:
                c[i] = new
    elif type(c) is dict:
        if any(swapped(swaps, k) is not k for k in c):
            refill(c, lambda saved: ((swapped(swaps, k), swapped(swaps, v))
                                       for k, v in saved.items()))
        else:
            changed = [(k, new) for k, v in c.items() if (new := swapped(swaps, v)) is not v]
            if changed:
                with kept_whole(c):
                    for k, new in changed:
                        c[k] = new  # hashes the key: the program's __hash__ may raise
    elif type(c) is set:
        if any(swapped(swaps, m) is not m for m in c):
            refill(c, lambda saved: (swapped(swaps, m) for m in saved))
    elif type(c) is types.CellType:
        try:
            v = c.cell_contents
        except ValueError:
            return
        if (new := swapped(swaps, v)) is not v:
            c.cell_contents = new


def refill(container: Any, contents: Callable[[Any], Iterable[Any]]) -> None:
    """Empty a dict or set and fill it, in order, with the `contents` of a copy of itself,
    which hashes its keys again (the program's ``__hash__``, which may raise)."""
    with kept_whole(container) as saved:
        container.clear()
        container.update(contents(saved))


@contextlib.contextmanager
def kept_whole(container: Any) -> Iterator[Any]:
    """Put a dict or set back as it was if the block raises. The copy (also given to the
    block) keeps the stored hashes, so putting it back hashes nothing."""
    saved = container.copy()
    try:
        yield saved
    except BaseException:
        container.clear()
        container.update(saved)
        raise


@dataclass
class Retarget(Op):
    """Make an existing object an instance of another (layout-compatible) class."""

    obj: Any
    cls: type

    def __init__(self, obj: Any, cls: type) -> None:
        # written out, not made by _plain: one is made for each old instance
        self.obj, self.cls = obj, cls

    def apply(self) -> Undo:
        obj, before = self.obj, type(self.obj)
        object.__setattr__(obj, "__class__", self.cls)

        def undo() -> None:
            object.__setattr__(obj, "__class__", before)
        return undo


@dataclass
class FillAttrs(Op):
    """Give an old instance attributes it lacks (a new dataclass field's default)."""

    obj: Any
    values: dict[str, Any]
    drop: list[str] = field(default_factory=list)  # removed fields (a framework's model)
    # what a framework keeps about the fields elsewhere (see hotswap._frameworks)
    also: Callable[[Any, list[str], list[str]], Undo] | None = None

    def __init__(self, obj: Any, values: dict[str, Any], drop: list[str] | None = None,
                 also: Callable[[Any, list[str], list[str]], Undo] | None = None) -> None:
        # written out, not made by _plain: one is made for each old instance
        self.obj, self.values, self.also = obj, values, also
        self.drop = [] if drop is None else drop

    def apply(self) -> Undo:
        state = instance_dict(self.obj)
        if state is None:
            return lambda: None
        added = [k for k in self.values if k not in state]
        for k in added:
            state[k] = self.values[k]
        dropped = {k: state.pop(k) for k in self.drop if k in state}
        more = self.also(self.obj, added, list(dropped)) if self.also is not None else None

        def undo() -> None:
            if more is not None:
                more()
            for k in added:
                state.pop(k, None)
            state.update(dropped)
        return undo


@dataclass
class InstanceHook(Op):
    """Run ``__hotswap_migrate__`` on one old instance; undo restores its state."""

    obj: Any

    def __init__(self, obj: Any) -> None:
        # written out, not made by _plain: one is made for each old instance
        self.obj = obj

    def apply(self) -> Undo:
        obj = self.obj
        kind = type(obj)
        if not class_has(kind, "__hotswap_migrate__"):  # the new version dropped it
            return lambda: None
        hook = kind.__hotswap_migrate__
        state = _snapshot(obj)
        try:
            hook(obj)
        except BaseException:
            _restore(obj, state)  # what the hook changed before it raised
            raise

        def undo() -> None:
            _restore(obj, state)
        return undo


def slot_names(cls: type) -> list[str]:
    """Every slot an instance of `cls` has, bases included, by the name its descriptor has:
    a private ``__x`` in ``class C`` is ``_C__x``, as attribute access spells it."""
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names.extend(mangle(klass.__name__, n) for n in ([slots] if isinstance(slots, str)
                                                         else slots))
    return [n for n in names if n not in ("__dict__", "__weakref__")]


def _snapshot(obj: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    d = instance_dict(obj)
    slots = {}
    for name in slot_names(type(obj)):
        try:
            slots[name] = object.__getattribute__(obj, name)
        except AttributeError:
            pass
    return (dict(d) if isinstance(d, dict) else None), slots


def _restore(obj: Any, state: tuple[dict[str, Any] | None, dict[str, Any]]) -> None:
    d, slots = state
    live = instance_dict(obj)
    if d is not None and live is not None:
        live.clear()
        live.update(d)
    for name in slot_names(type(obj)):
        if name in slots:
            object.__setattr__(obj, name, slots[name])
        else:
            try:
                object.__delattr__(obj, name)
            except AttributeError:
                pass


@dataclass
class TrySetBases(Op):
    """Point a subclass at a replaced base where CPython allows it; report it otherwise.

    The bases are read when it applies: the subclass's own edit (a header that changed in
    the same update) may have given it other bases already."""

    cls: type
    old: type
    new: type
    skipped: list[tuple[str, str]]
    label: str

    def apply(self) -> Undo:
        cls, before = self.cls, self.cls.__bases__
        bases = tuple(self.new if b is self.old else b for b in before)
        if bases == before:
            return lambda: None
        try:
            cls.__bases__ = bases
        except TypeError as exc:
            self.skipped.append((self.label, f"keeps its old base class: {exc}"))
            return lambda: None

        def undo() -> None:
            cls.__bases__ = before
        return undo
