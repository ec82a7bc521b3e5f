"""Live instances: retargeted to a replacing class, moved to a new layout, given new
dataclass fields, offered ``__hotswap_migrate__``.

An instance keeps its identity whenever CPython lets ``obj.__class__`` be assigned (same
memory layout: ``compatible_for_assignment`` in Objects/typeobject.c); a slot removed
keeps the live layout (see .slots). When the layout gained a slot, an instance can only
be *moved*: a new object of the new class takes its state and every reference to it is
rewritten. That is done only when every reference is one we can see and rewrite (a
dict's value or key, a list, a set, a cell), proven by the reference count; otherwise
the instance stays, working, on the old class, and the report says so. Half-moved
objects, reachable under two identities, must never exist.
"""

from __future__ import annotations

import gc
import sys
import types
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from itertools import compress, repeat
from operator import is_not, ne, or_
from typing import Any
from weakref import getweakrefcount

from .._plain import dataclass, field, replace
from .. import _derive, _heap
from . import carry
from .._heap import Found, containers, held, referrers
from .._ops import (InstanceHook, Op, Plan, Swap, Swaps, Undo, kept_whole, refill,
                    slot_names, swap_weight)
from .._safe import class_has, instance_dict
from .._report import Report


def with_subclasses(cls: type) -> list[type]:
    out: list[type] = []
    seen: set[int] = set()  # by identity: a metaclass may define a hostile __eq__
    todo = [cls]
    while todo:
        c = todo.pop()
        if id(c) not in seen:
            seen.add(id(c))
            out.append(c)
            todo.extend(type.__subclasses__(c))
    return out


def compatible(new: type, live: type) -> bool:
    """Whether ``obj.__class__ = new`` is allowed for instances of `live`."""
    def layout(c: type) -> tuple[Any, ...]:
        return (c.__basicsize__, c.__itemsize__, c.__dictoffset__, c.__weakrefoffset__,
                tuple(slot_names(c)))
    return layout(new) == layout(live)


def retarget_holder(holder: Any, swaps: Swaps, plan: Plan) -> None:
    """Rewrite the references `holder` (a dict, list, set or cell) has to old objects, by
    identity when the update applies (see `Swap`)."""
    if any(id(v) in swaps for v in held(holder)):
        plan.add(Swap(holder, swaps))


def _holders(instances: list[Any], ours: list[list[Any]], candidates: list[Any] | None,
             swapper: Swapper) -> list[Any]:
    """The rewritable containers that hold one of `instances` (not counting `instances`
    and the lists in `ours`, which are hotswap's), found among `candidates` (the containers
    the update's walk found already) or else in a pass of their own. A function of its own,
    so that no loop variable of it (nor the candidates, among which may be an instance
    holding another) still holds an instance when the caller compares reference counts."""
    if candidates is None:
        candidates = containers(referrers(instances), {id(instances), *map(id, ours)})
    return swapper.holders(candidates)


class Move:
    """Instances of a replaced class to move to the new class's layout."""

    def __init__(self, instances: list[Any], new: type, live: type, name: str,
                 reason: str) -> None:
        self.instances, self.new, self.live = instances, new, live
        self.name, self.reason = name, reason


def move_all(moves: list[Move], plan: Plan, report: Report, found: Found) -> None:
    """Move instances of replaced classes into new objects of their new classes, where
    safe. The holders of every instance of every class are among what the update's walk
    `found` (its candidates, where `_heap.one_pass`), or else found in one more pass. The
    collector waits meanwhile: making a twin for each of many instances would otherwise
    start collections, each a pass over the whole heap."""
    todo = []
    for m in moves:
        if m.new.__new__ is object.__new__:
            todo.append(m)
        else:
            report.skip(m.name, f"{len(m.instances)} live instance(s) keep the old class, "
                        f"which keeps working: {m.reason}; the new class has its own __new__")
    candidates = found.take_candidates()
    if not todo:
        return
    if candidates is None:
        report.heap_walks += 1
    with collector_paused():
        everyone: list[Any] = []
        twins: list[Any] = []  # not live until a holder points at them
        for m in todo:
            everyone += m.instances
            twins += map(object.__new__, repeat(m.new, len(m.instances)))
        # One index of where each instance goes serves the plan and, when every instance
        # can move, the move itself: at a million instances, building it costs about a
        # fifth of the move (benchmarks/README.md).
        swapper = Swapper(everyone, twins)
        holders = _holders(everyone, [m.instances for m in todo], candidates, swapper)
        del candidates
        # Each instance is held by its class's list of instances and by `everyone`.
        stuck = {id(everyone[i]) for i in swapper.stuck(holders)}
        move = MoveInstances(holders, report, swapper=None if stuck else swapper)
        del everyone, swapper
        hooks: list[Op] = []
        start = 0
        for m in todo:
            mine = twins[start:start + len(m.instances)]
            start += len(m.instances)
            count = move.add(m, mine, stuck, hooks)
            if count:
                report.instances.append(_moved(m.name, count))
            if len(m.instances) > count:
                report.skip(m.name, f"{len(m.instances) - count} live instance(s) keep the "
                            f"old class, which keeps working: {m.reason}; they are referenced "
                            "from places that cannot be rewritten (a tuple, a running frame, "
                            "a slot, a weak reference)")
    plan.add(move)
    plan.ops.extend(hooks)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block, if it was on (no garbage is lost: it
    collects at its next turn)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Group:
    """The instances of one class that move, their twins, and how state goes across: the
    descriptors of the slots both layouts have (old class's, new class's), and the new
    class's ``__dict__`` descriptor when both have an attribute dict: through it each twin
    is given the old instance's dict itself, which the move's holders include whenever it
    holds an instance that moves (so ``self.me`` follows; a copy would keep the old one)."""

    name: str
    olds: list[Any]
    twins: list[Any]
    slots: list[str]
    getters: tuple[Any, ...] | None  # None: the state is copied by name, in Python
    setters: tuple[Any, ...]
    dict_setter: Any  # None: no attribute dict goes across
    carry: carry.Carry | None = None  # state that changes its home (dict <-> slot)


@dataclass
class MoveInstances(Op):
    """Put twins of the new layout in the place of instances, decided when the update
    applies: another thread may have taken a reference to one, or moved one within its
    holders, since the plan was made. An instance moves only if every reference to it
    sits in the holders found (by identity, counted then): otherwise it would live on under
    two identities. It takes its state at that moment too. The plan is stale while one
    cannot move (planning again may take it along); applied anyway, it leaves those on the
    old class, working, and corrects the report.

    The work per instance is done by C loops: ``map`` and ``dict.get`` over the holders,
    and the pass in C's ``copy_state`` for the slots (in Python without it)."""

    holders: list[Any]
    report: Report
    # The plan's index of every group's olds and twins, in order, while every instance
    # planned can move (else None: the move makes its own).
    swapper: Swapper | None = None
    # The only references hotswap keeps to an instance: its group's `olds` (and `swapper`).
    groups: list[Group] = field(default_factory=list)
    installed: set[int] = field(default_factory=set)  # ids of the twins put in place
    hooked: bool = False  # whether a twin has a `TwinHook` (which asks `installed`)

    def add(self, m: Move, twins: list[Any], stuck: set[int], hooks: list[Op]) -> int:
        """The instances of `m` not `stuck` (ids), and their `twins` (empty until applied,
        one for each instance of `m`, in order); their hooks."""
        olds = list(m.instances)
        if stuck:
            keep = [id(o) not in stuck for o in olds]
            olds, twins = list(compress(olds, keep)), list(compress(twins, keep))
        if not olds:
            return 0
        shared = [s for s in slot_names(m.live) if s in set(slot_names(m.new))]
        getters = _descriptors(m.live, shared)
        setters = _descriptors(m.new, shared)
        fast = getters is not None and setters is not None and _heap._accel is not None
        old_dict = _dict_descriptor(m.live) is not None
        dict_setter = _dict_descriptor(m.new) if old_dict else None
        self.groups.append(Group(m.name, olds, twins, shared, getters if fast else None,
                                 setters or (), dict_setter,
                                 carry.plan(m.live, m.new, old_dict,
                                            _dict_descriptor(m.new) is not None)))
        fill = _derive.fill(m.new, m.live)[0]  # a framework's new fields (hotswap._derive)
        if fill:
            self.hooked = True
            hooks.extend(_derive.TwinFill(twin, self, fill) for twin in twins)
        if class_has(m.new, "__hotswap_migrate__"):
            self.hooked = True
            hooks.extend(TwinHook(twin, self) for twin in twins)
        return len(olds)

    def stale(self) -> bool:
        if self.swapper is None:
            return bool(_stuck(self.holders, self.groups))
        return bool(self.swapper.stuck(self.holders))

    def weight(self) -> int:
        return 2 * sum(len(g.olds) for g in self.groups) + \
            sum(swap_weight(h) for h in self.holders)

    def apply(self) -> Undo:
        table, self.swapper = self.swapper, None
        if table is not None:  # every group's, in order: each old one held by it, and g.olds
            olds, twins = table.olds, table.news
        else:
            olds, twins = [], []  # each old one held by its group's list, and here
            for g in self.groups:
                olds += g.olds
                twins += g.twins
            table = Swapper(olds, twins)
        stuck = {id(olds[i]) for i in table.stuck(self.holders)}
        moving = self.groups
        if stuck:
            moving = [_without(g, stuck) for g in self.groups]
            olds = [o for g in moving for o in g.olds]
            twins = [t for g in moving for t in g.twins]
            table = Swapper(olds, twins)
        for g in moving:
            _copy_group(g)
        carried: carry.Log = []  # what carrying changed in the dicts the twins share
        done: list[Any] = []  # the holders swapped so far

        def undo() -> None:
            # The old objects come back with their slots as they were when they moved:
            # what the program changed on the twins since is in the new version's terms
            # (a migration hook may have converted it), and there is no migration back.
            # Their attribute dict, which the twin shared, is theirs as it is now (as every
            # instance kept in place keeps its state), holding them again, not the twins.
            back = Swapper(twins, olds)
            for holder in reversed(done):
                back.swap(holder)
            carry.undo(carried)
            self.installed = set()

        try:
            self._carry(moving, olds, twins, carried)
            with collector_paused():
                for holder in self.holders:
                    table.swap(holder)
                    done.append(holder)
        except BaseException:
            undo()
            raise
        if self.hooked:  # what the hooks need to know, only then
            self.installed = set(map(id, twins))
        self._correct_report(stuck)
        # From here on only lists hold the twins (a tuple would pin them): the next update
        # that changes the layout again finds those lists among their holders, and moves
        # them as it moves the rest.
        self.groups = []
        del moving, table
        return undo

    def _carry(self, moving: list[Group], olds: list[Any], twins: list[Any],
               log: carry.Log) -> None:
        """Carry the state that changes its home (see .carry) into the twins of `moving`;
        report what the new layout has no place for."""
        if not any(g.carry is not None for g in moving):
            return
        moved = dict(zip(map(id, olds), twins, strict=True))
        for g in moving:
            if g.carry is not None:
                lost = g.carry.apply(g.olds, g.twins, moved, log)
                if lost:
                    self.report.skip(g.name, carry.lost_reason(lost, len(g.olds)))

    def _correct_report(self, stuck: set[int]) -> None:
        for g in self.groups:
            count = sum(1 for o in g.olds if id(o) in stuck) if stuck else 0
            if not count:
                continue
            planned = len(g.olds)
            entry = _moved(g.name, planned)
            self.report.instances = [_moved(g.name, planned - count) if e == entry else e
                                     for e in self.report.instances
                                     if not (e == entry and planned == count)]
            self.report.skip(g.name, f"{count} live instance(s) keep the old class, which "
                             "keeps working: another thread took a reference to them "
                             "while the update was planned")


def _without(group: Group, stuck: set[int]) -> Group:
    """`group` less the instances that cannot move."""
    keep = [id(o) not in stuck for o in group.olds]
    return replace(group, olds=list(compress(group.olds, keep)),
                   twins=list(compress(group.twins, keep)))


def _copy_group(g: Group) -> None:
    """Give each twin of `g` the state of the instance it replaces."""
    accel = _heap._accel
    if g.getters is not None and accel is not None:
        accel.copy_state(g.olds, g.twins, g.getters, g.setters, g.dict_setter)
        return
    for source, twin in zip(g.olds, g.twins, strict=True):
        _copy_state(source, twin, g.slots, g.dict_setter)


def _descriptors(cls: type, names: list[str]) -> tuple[Any, ...] | None:
    """The member descriptors through which `names` are read on instances of `cls` (what
    ``object.__getattribute__`` would find first along the MRO); None when one is
    something else (then the state is copied by name)."""
    found = []
    mro = type.__getattribute__(cls, "__mro__")
    for name in names:
        descr = next((d[name] for k in mro
                      if name in (d := type.__getattribute__(k, "__dict__"))), None)
        if type(descr) is not types.MemberDescriptorType:
            return None
        found.append(descr)
    return tuple(found)


def _dict_descriptor(cls: type) -> Any:
    """The ``__dict__`` descriptor of `cls` when its instances have an attribute dict read
    and set through the standard slot (what `instance_dict` reads); None otherwise."""
    if not type.__getattribute__(cls, "__dictoffset__"):
        return None
    for klass in type.__getattribute__(cls, "__mro__"):
        descr = type.__getattribute__(klass, "__dict__").get("__dict__")
        if descr is not None:
            return descr if type(descr) is types.GetSetDescriptorType else None
    return None


def swap_into(c: Any, table: dict[int, Any]) -> None:
    """Put ``table[id(x)]`` in the place of every `x` a list, dict (keys and values), set
    or cell holds whose id is in `table`, with the loops in C. Every object whose id is a
    key is alive (held by the caller), so an id names it alone."""
    get = table.get
    keys = table.keys()
    if type(c) is list:
        if not keys.isdisjoint(map(id, c)):
            c[:] = list(map(get, map(id, c), c))
    elif type(c) is dict:
        if not keys.isdisjoint(map(id, c)):
            refill(c, lambda saved: zip(map(get, map(id, saved), saved),
                                         map(get, map(id, saved.values()), saved.values()),
                                         strict=True))
            return
        values = list(c.values())
        new = list(map(get, map(id, values), values))
        changed = list(compress(zip(list(c), new, strict=True), map(is_not, values, new)))
        if changed:
            with kept_whole(c):
                c.update(changed)  # hashes the keys: the program's __hash__ may raise
    elif type(c) is set:
        if not keys.isdisjoint(map(id, c)):
            refill(c, lambda saved: map(get, map(id, saved), saved))
    elif type(c) is types.CellType:
        try:
            v = c.cell_contents
        except ValueError:
            return
        if id(v) in table:
            c.cell_contents = table[id(v)]


def _moved(name: str, count: int) -> str:
    """The report's entry for the instances of class `name` moved to its new layout."""
    return f"{name} ({count} moved to the new layout)"


@dataclass
class TwinHook(Op):
    """``__hotswap_migrate__`` on a twin, if the move put it in place."""

    twin: Any
    move: MoveInstances

    def __init__(self, twin: Any, move: MoveInstances) -> None:
        # written out, not made by _plain: one is made for each old instance
        self.twin, self.move = twin, move

    def apply(self) -> Undo:
        if id(self.twin) not in self.move.installed:
            return lambda: None
        return InstanceHook(self.twin).apply()


def _stuck(holders: list[Any], groups: list[Group]) -> set[int]:
    """The instances some reference outside `holders` holds (besides their group's list):
    those a move would leave under their old identity beside their twin."""
    olds: list[Any] = []  # each held by its group's list, and here
    for g in groups:
        olds += g.olds
    return {id(olds[i]) for i in Swapper(olds, olds).stuck(holders)}


class Swapper:
    """Puts `news[i]` in the place of `olds[i]` in containers, and finds which of them hold
    one and which of `olds` something else holds: with the loops in C (the pass in C's
    `Index`, for lists, cells and dicts with plain keys), else with ``map`` and C
    containers (`swap_into`)."""

    def __init__(self, olds: list[Any], news: list[Any]) -> None:
        accel = _heap._accel
        self.index = accel.Index(olds, news) if accel is not None else None
        self.olds, self.news = olds, news
        self.table: dict[int, Any] | None = None

    def holders(self, boxes: list[Any]) -> list[Any]:
        """The lists, dicts, sets and cells among `boxes` that hold one of olds."""
        if self.index is not None:
            return self.index.holders(boxes)
        ids = set(map(id, self.olds))
        return [box for box in boxes if not ids.isdisjoint(map(id, held(box)))]

    def stuck(self, holders: list[Any]) -> list[int]:
        """The positions in olds of the instances something holds besides `holders`
        (their references counted now), this, and two lists of hotswap's: olds, and one
        other, the caller's. Before any `swap`."""
        probe = [object()]
        kept = [*probe]  # the probe is held as each old one is: by two lists
        accel = _heap._accel
        if self.index is not None and accel is not None:
            mirror = accel.Index(probe, probe if self.news is self.olds else [None])
            base = sys.getrefcount(kept[0]) - 1  # less the argument's own reference
            stuck = self.index.stuck(holders, base)
            del mirror
            return stuck
        inside = _inside(holders, set(map(id, self.olds)))
        base = [*map(sys.getrefcount, kept)][0]
        counts = list(map(sys.getrefcount, self.olds))
        want = [base + inside[i] for i in map(id, self.olds)]
        # A weak reference is no reference counted, nor one that can be rewritten: an
        # instance one refers to stays (as the pass in C decides too).
        weak = map(getweakrefcount, self.olds)
        return list(compress(range(len(self.olds)), map(or_, map(ne, counts, want), weak)))

    def swap(self, holder: Any) -> None:
        if self.index is not None and self.index.swap(holder):
            return
        if self.table is None:
            self.table = dict(zip(map(id, self.olds), self.news, strict=True))
        swap_into(holder, self.table)


def _inside(holders: list[Any], ids: Collection[int]) -> dict[int, int]:
    """How many references to each instance (by id: all of them alive, held by hotswap)
    `holders` have now, counted in C (``Counter`` over the ids they hold). A function of
    its own, so that no loop variable of it still holds an instance when reference counts
    are read."""
    inside = dict.fromkeys(ids, 0)
    hits: Counter[int] = Counter()
    for holder in holders:
        hits.update(filter(inside.__contains__, map(id, held(holder))))
    inside.update(hits)
    return inside


def _copy_state(source: Any, twin: Any, slots: list[str], dict_setter: Any) -> None:
    """Give a twin the state of the instance it replaces: the `slots` both layouts have,
    the attribute dict itself (set with `dict_setter`, unless None: see `Group`)."""
    for slot in slots:
        try:
            object.__setattr__(twin, slot, object.__getattribute__(source, slot))
        except AttributeError:
            pass
    state = instance_dict(source) if dict_setter is not None else None
    if state is not None:
        dict_setter.__set__(twin, state)
