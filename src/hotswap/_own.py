"""Hotswap's own records in the heap: the objects only hotswap holds (the plan being
made, its operations, the undo logs of earlier updates), so that the safety net
(hotswap._stale) never takes one of them for a holder the program has.

They are found from hotswap's running frames and module globals, through hotswap's own
objects and functions, and each is proven by its reference count: a container (a dict,
list, set, tuple, deque or cell), or an object one of hotswap's holds directly, is
hotswap's only when every reference to it comes from a place already known to be
hotswap's, each counted once. Being reachable is not enough: hotswap's records also
refer to the program's own containers (the holders a move rewrote, the dict an item was
set in), which the program still holds and which may hold a changed definition; one
taken for hotswap's would hide that holder from the report. The proof also keeps the
search out of the program's containers, however many instances they hold.

A reference that is not counted only makes an object look like the program's: the
search then looks for its owner, which costs one more heap pass but never hides a
holder. Every count errs on that side (a frame's value stack, a cell whose defining
frame still runs, two containers only each other holds).
"""

from __future__ import annotations

import gc
import sys
import types
from collections import Counter, deque
from collections.abc import Collection
from itertools import compress
from typing import Any

from ._safe import _type_attr, instance_dict, is_a

# What the proof looks into, once proven hotswap's: their items are references.
_CONTAINERS: frozenset[type] = frozenset({dict, list, set, frozenset, tuple, deque,
                                         types.CellType})
# Before 3.13 a function's frame.f_locals is a dict the frame keeps, holding each local
# a second time (besides the frame's own slot, or the cell of a closure variable).
_LOCALS_DICT = sys.version_info < (3, 13)
_OPTIMIZED = 0x0001  # CO_OPTIMIZED: a function's frame, whose locals are slots


def ids(frame: types.FrameType | None, opaque: Collection[int],
        lists: Collection[list[Any]] = ()) -> set[int]:
    """Ids of the objects only hotswap holds, found from `frame` (hotswap's running frames
    from there outwards) and hotswap's module globals; never looking into `opaque`, nor
    into `lists` (hotswap's own, such as what a heap walk found), whose items count as
    held by hotswap once more each."""
    walk = _Walk(opaque)
    for items in lists:
        walk.done.add(id(items))
        walk.counted.update(map(id, items))
    walk.from_globals()
    while frame is not None:
        if _ours(frame.f_globals.get("__name__")):
            walk.from_frame(frame)
        frame = frame.f_back
    walk.settle()
    return walk.proven


def _ours(module: object) -> bool:
    return type(module) is str and (module == "hotswap" or module.startswith("hotswap."))


class _Walk:
    """One search: the references counted from hotswap's side so far, the objects that
    wait for their proof, and those proven (or hotswap's own by their type)."""

    def __init__(self, opaque: Collection[int]) -> None:
        self.counted: Counter[int] = Counter()  # id -> references from hotswap's side
        self.waiting: dict[int, Any] = {}  # found, not (yet) proven hotswap's
        self.done: set[int] = set(opaque)  # looked into already, or never to be
        self.proven: set[int] = set()
        self.todo: list[Any] = []  # hotswap's own objects, to look into
        self.worth: dict[type, bool] = {}  # whether objects of a kind are worth a look

    def from_globals(self) -> None:
        for name, mod in list(sys.modules.items()):
            attrs = instance_dict(mod) if _ours(name) and is_a(mod, types.ModuleType) else None
            if attrs is not None:
                self.done.add(id(attrs))
                self.found(list(attrs.values()), direct=True)

    def from_frame(self, frame: types.FrameType) -> None:
        """A frame of hotswap's: each of its locals is one reference (two before 3.13,
        with the dict its f_locals is then), a closure variable's one fewer (its cell
        holds it, counted only where a closure of hotswap's is found)."""
        code = frame.f_code
        if not code.co_flags & _OPTIMIZED:
            return  # (a module or class body: its locals are a namespace of the program)
        local = frame.f_locals
        if _LOCALS_DICT:
            self.done.add(id(local))
            self.proven.add(id(local))
        cells = {*code.co_cellvars, *code.co_freevars}
        slots = {*code.co_varnames}
        in_dict = 1 if _LOCALS_DICT else 0
        for name, value in list(local.items()):
            if name in cells:
                weight = in_dict
            elif name in slots:
                weight = 1 + in_dict
            else:  # a name set through f_locals: kept in a dict of the frame's alone
                weight = 1
            self.found([value], direct=True, weight=weight)
        self.drain()

    def found(self, values: list[Any], direct: bool, weight: int = 1) -> None:
        """References from a place known to be hotswap's to each of `values`. `direct`:
        the place is one of hotswap's objects, a cell or a frame (then an object that is
        no container waits for its proof too: a record an undo log keeps), not a
        container (through which only containers are followed)."""
        for v in values if direct else self._worth_a_look(values):
            i = id(v)
            if i in self.done or not gc.is_tracked(v):  # (untracked: holds no container)
                continue
            if self._own_kind(v):
                self.done.add(i)
                self.proven.add(i)
                self.todo.append(v)
            else:
                self.counted[i] += weight
                self.waiting[i] = v

    def _worth_a_look(self, values: list[Any]) -> list[Any]:
        """The containers and hotswap's objects among `values`, chosen by type with the
        loops in C: a list of a million instances costs no loop in Python."""
        kinds = set(map(type, values))
        wanted = {k for k in kinds if self._kind_worth(k)}
        if not wanted:
            return []
        if wanted == kinds:
            return values
        return list(compress(values, map(wanted.__contains__, map(type, values))))

    def _kind_worth(self, kind: type) -> bool:
        worth = self.worth.get(kind)
        if worth is None:
            worth = self.worth[kind] = kind in _CONTAINERS or \
                kind in (types.FunctionType, types.MethodType) or _instances_ours(kind)
        return worth

    def _own_kind(self, obj: Any) -> bool:
        """Hotswap's by what it is: one of hotswap's objects, functions (an undo), or a
        method bound to one of its objects."""
        kind = type(obj)
        if kind is types.FunctionType:
            return _ours(getattr(obj, "__module__", None))
        if kind is types.MethodType:
            return self._own_kind(obj.__self__)
        return _instances_ours(kind)

    def drain(self) -> None:
        """Look into hotswap's objects found: each reference they hold counts."""
        while self.todo:
            obj = self.todo.pop()
            # Its attributes count as held by the object itself, whether its referents
            # are its attribute dict or (3.13, values kept in the object, which a dict
            # made for them shares) the values.
            attrs = instance_dict(obj) if type(obj) is not types.FunctionType else None
            inner = gc.get_referents(obj)
            if attrs is not None:
                self.done.add(id(attrs))
                self.proven.add(id(attrs))
                if any(x is attrs for x in inner):
                    inner = [x for x in inner if x is not attrs] + list(attrs.values())
            self.found(inner, direct=True)

    def settle(self) -> None:
        """Prove what waits, round after round: a container proven is looked into, which
        counts more references to what still waits."""
        self.drain()
        while self.waiting:
            proven = self._all_counted()
            if not proven:
                return
            for i in proven:
                obj = self.waiting.pop(i)
                self.done.add(i)
                self.proven.add(i)
                if type(obj) in _CONTAINERS:
                    self.found(gc.get_referents(obj), direct=type(obj) is types.CellType)
            self.drain()

    def _all_counted(self) -> list[int]:
        """The waiting objects whose every reference is counted: a probe held by
        `waiting` alone, read alike, tells what the reading itself adds."""
        self.waiting[0] = object()  # (no object's id is 0)
        now = {i: sys.getrefcount(obj) for i, obj in self.waiting.items()}
        base = now.pop(0)
        del self.waiting[0]
        return [i for i, n in now.items() if n - base == self.counted[i]]


def _instances_ours(kind: type) -> bool:
    """Whether objects of `kind` are hotswap's own (never a class: hotswap's classes
    live in its module globals, like any module's)."""
    return not issubclass(kind, type) and _ours(_module_of(kind))


def _module_of(kind: type) -> object:
    try:
        return _type_attr(kind, "__dict__").get("__module__")
    except AttributeError:
        return None
