"""Live instances: retargeted to a replacing class, moved to a new layout, given new
dataclass fields, offered ``__hotswap_migrate__``.

An instance keeps its identity whenever CPython lets ``obj.__class__`` be assigned (same
memory layout); a slot removed keeps the live layout (see .slots). When the layout gained
a slot, an instance can only be *moved*: a new object of the new class takes its state
and every reference to it is rewritten. That is done only when every reference is one we
can see and rewrite (a dict's value or key, a list, a set, a cell), proven by the
reference count; otherwise the instance stays, working, on the old class, and the report
says so. Half-moved objects, reachable under two identities, must never exist.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from .. import _derive
from .._heap import Found, as_container, held, referrers
from .._ops import (InstanceHook, Op, Plan, Swap, Swaps, Undo, slot_names, swap_in,
                    swap_weight)
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


def _holders(instances: list[Any], ours: list[list[Any]],
             candidates: list[Any] | None) -> tuple[dict[int, int], list[Any]]:
    """How many references to each instance sit in rewritable containers, and those
    containers (not counting `instances` and the lists in `ours`, which are hotswap's),
    found among `candidates` (what the update's walk found already) or else in a pass of
    their own. Counted by `_inside`, as the move counts them again when it applies. A
    function of its own, so that no loop variable of it (nor the candidates, among which
    may be an instance holding another) still holds an instance when the caller compares
    reference counts."""
    ids = {id(o) for o in instances}
    skip = {id(instances), *(id(x) for x in ours)}
    holders: list[Any] = []
    seen: set[int] = set()  # by identity: thousands of holders are no quadratic search
    for ref in referrers(instances) if candidates is None else candidates:
        box = None if id(ref) in skip else as_container(ref)
        if box is None or id(box) in seen:
            continue
        seen.add(id(box))
        if any(id(value) in ids for value in held(box)):
            holders.append(box)
    return _inside(holders, ids), holders


class Move:
    """Instances of a replaced class to move to the new class's layout."""

    def __init__(self, instances: list[Any], new: type, live: type, name: str,
                 reason: str) -> None:
        self.instances, self.new, self.live = instances, new, live
        self.name, self.reason = name, reason


def move_all(moves: list[Move], plan: Plan, report: Report, found: Found) -> None:
    """Move instances of replaced classes into new objects of their new classes, where
    safe. The holders of every instance of every class are among what the update's walk
    `found` (its candidates, where `_heap.one_pass`), or else found in one more pass."""
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
    everyone = [o for m in todo for o in m.instances]
    ids, holders = _holders(everyone, [m.instances for m in todo], candidates)
    del candidates
    # Each instance is held by its class's list of instances and by `everyone`; the probe
    # is held the same way, so equal counts mean no reference we cannot see.
    probe = [object()]
    probes = list(probe)
    base = [sys.getrefcount(p) for p in probes][0]
    movable = {id(o) for o in everyone if sys.getrefcount(o) == base + ids[id(o)]}
    del everyone
    move = MoveInstances(holders, report)
    hooks: list[Op] = []
    for m in todo:
        count = move.add(m, movable, hooks)
        if count:
            report.instances.append(_moved(m.name, count))
        if len(m.instances) > count:
            report.skip(m.name, f"{len(m.instances) - count} live instance(s) keep the old "
                        f"class, which keeps working: {m.reason}; they are referenced from "
                        "places that cannot be rewritten (a tuple, a running frame, a slot)")
    plan.add(move)
    plan.ops.extend(hooks)


@dataclass
class MoveInstances(Op):
    """Put twins of the new layout in the place of instances, decided when the update
    applies: another thread may have taken a reference to one, or moved one within its
    holders, since the plan was made. An instance moves only if every reference to it
    sits in the holders found (by identity, counted then): otherwise it would live on under
    two identities. It takes its state at that moment too. The plan is stale while one
    cannot move (planning again may take it along); applied anyway, it leaves those on the
    old class, working, and corrects the report."""

    holders: list[Any]
    report: Report
    # The only references hotswap keeps to an instance: its pair's, id(instance) -> pair.
    pairs: Swaps = field(default_factory=dict)
    slots: dict[int, list[str]] = field(default_factory=dict)  # id(instance) -> its slots
    names: dict[int, str] = field(default_factory=dict)  # id(instance) -> its class's name
    installed: set[int] = field(default_factory=set)  # ids of the twins put in place

    def add(self, m: Move, movable: set[int], hooks: list[Op]) -> int:
        """Twins (empty until applied) for the movable instances of `m`; their hooks."""
        shared = [s for s in slot_names(m.live) if s in set(slot_names(m.new))]
        hook = class_has(m.new, "__hotswap_migrate__")
        fill = _derive.fill(m.new, m.live)[0]  # a framework's new fields (hotswap._derive)
        count = 0
        for obj in m.instances:
            if id(obj) in movable:
                twin = object.__new__(m.new)  # not live until a holder points at it
                self.pairs[id(obj)] = (obj, twin)
                self.slots[id(obj)], self.names[id(obj)] = shared, m.name
                if fill:
                    hooks.append(_derive.TwinFill(twin, self, fill))
                if hook:
                    hooks.append(TwinHook(twin, self))
                count += 1
        return count

    def stale(self) -> bool:
        return bool(_stuck(self.holders, self.pairs))

    def weight(self) -> int:
        return 2 * len(self.pairs) + sum(swap_weight(h) for h in self.holders)

    def apply(self) -> Undo:
        stuck = _stuck(self.holders, self.pairs)
        safe = {i: pair for i, pair in self.pairs.items() if i not in stuck}
        olds, twins = [p[0] for p in safe.values()], [p[1] for p in safe.values()]
        for i, (obj, twin) in safe.items():
            _copy_state(obj, twin, self.slots[i])
        done: list[Any] = []  # the holders swapped so far

        def undo() -> None:
            # The old objects come back as they were when they moved: what the program
            # changed on the twins since is in the new version's terms (a migration hook
            # may have converted it), and there is no migration back.
            back = {id(twin): (twin, obj) for obj, twin in zip(olds, twins)}
            for holder in reversed(done):
                swap_in(holder, back)
            self.installed = set()

        try:
            for holder in self.holders:
                swap_in(holder, safe)
                done.append(holder)
        except BaseException:
            undo()
            raise
        self.installed = {id(twin) for twin in twins}
        self._correct_report(stuck)
        # From here on only lists hold the twins (a tuple would pin them): the next update
        # that changes the layout again finds those lists among their holders, and moves
        # them as it moves the rest.
        self.pairs = {}
        del safe
        return undo

    def _correct_report(self, stuck: set[int]) -> None:
        late: dict[str, int] = {}
        for i in stuck:
            late[self.names[i]] = late.get(self.names[i], 0) + 1
        for name, count in late.items():
            planned = sum(1 for n in self.names.values() if n == name)
            entry = _moved(name, planned)
            self.report.instances = [_moved(name, planned - count) if e == entry else e
                                     for e in self.report.instances
                                     if not (e == entry and planned == count)]
            self.report.skip(name, f"{count} live instance(s) keep the old class, which "
                             "keeps working: another thread took a reference to them "
                             "while the update was planned")


def _moved(name: str, count: int) -> str:
    """The report's entry for the instances of class `name` moved to its new layout."""
    return f"{name} ({count} moved to the new layout)"


@dataclass
class TwinHook(Op):
    """``__hotswap_migrate__`` on a twin, if the move put it in place."""

    twin: Any
    move: MoveInstances

    def apply(self) -> Undo:
        if id(self.twin) not in self.move.installed:
            return lambda: None
        return InstanceHook(self.twin).apply()


def _stuck(holders: list[Any], pairs: Swaps) -> set[int]:
    """The instances some reference outside `holders` holds (besides their pair): those
    a move would leave under their old identity beside their twin."""
    inside = _inside(holders, pairs)
    probe = (object(), None)  # held as each instance is by its pair
    base = sys.getrefcount(probe[0])
    return {i for i, pair in pairs.items() if sys.getrefcount(pair[0]) != base + inside[i]}


def _inside(holders: list[Any], ids: Collection[int]) -> dict[int, int]:
    """How many references to each instance (by id: all of them alive, held by hotswap)
    `holders` have now. A function of its own, so that no loop variable of it still holds
    an instance when reference counts are read."""
    inside = dict.fromkeys(ids, 0)
    for holder in holders:
        for value in held(holder):
            if id(value) in inside:
                inside[id(value)] += 1
    return inside


def _copy_state(source: Any, twin: Any, slots: list[str]) -> None:
    """Give a twin the state of the instance it replaces: the `slots` both layouts have,
    the attribute dict."""
    for slot in slots:
        try:
            object.__setattr__(twin, slot, object.__getattribute__(source, slot))
        except AttributeError:
            pass
    state, into = instance_dict(source), instance_dict(twin)
    if state is not None and into is not None:
        into.update(state)
