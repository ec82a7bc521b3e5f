"""Live instances: retargeted to a replacing class, moved to a new layout, given new
dataclass fields, offered ``__hotswap_migrate__``.

An instance keeps its identity whenever CPython lets ``obj.__class__`` be assigned (same
memory layout). When the layout changed (``__slots__``), an instance can only be *moved*:
a new object of the new class takes its state and every reference to it is rewritten.
That is done only when every reference is one we can see and rewrite (a dict's value or
key, a list, a set, a cell), proven by the reference count; otherwise the instance stays,
working, on the old class, and the report says so. Half-moved objects, reachable under
two identities, must never exist.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .._heap import as_container, held, referrers
from .._ops import (MISSING, InstanceHook, Plan, ReplaceKey, ReplaceMembers, SetCell,
                    slot_names)
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


def retarget_holder(holder: Any, swaps: dict[int, tuple[Any, Any]], plan: Plan) -> None:
    """Rewrite the references `holder` (a dict, list, set or cell) has to old objects: `swaps`
    maps ``id(old)`` to ``(old, new)``. One look through the holder for all of them: a
    list holding thousands of moved instances is read once, not once per instance."""
    def swapped(value: Any) -> Any:
        pair = swaps.get(id(value))
        return pair[1] if pair is not None and pair[0] is value else MISSING

    if type(holder) is dict:
        for key, value in list(holder.items()):
            if (new := swapped(value)) is not MISSING:
                plan.set_item(holder, key, new)
        if any(swapped(key) is not MISSING for key in holder):
            plan.add(ReplaceKey(holder, swaps))
    elif type(holder) is list:
        for i, value in enumerate(holder):
            if (new := swapped(value)) is not MISSING:
                plan.set_item(holder, i, new)
    elif type(holder) is set:
        if any(swapped(m) is not MISSING for m in holder):
            plan.add(ReplaceMembers(holder, swaps))
    elif type(holder) is types.CellType:
        try:
            new = swapped(holder.cell_contents)
        except ValueError:
            return
        if new is not MISSING:
            plan.add(SetCell(holder, new))


def _holders(instances: list[Any], ours: list[list[Any]]) -> tuple[dict[int, int], list[Any]]:
    """How many references to each instance sit in rewritable containers, and those
    containers (not counting `instances` and the lists in `ours`, which are hotswap's).
    A function of its own, so that no loop variable of it still holds an instance when
    the caller compares reference counts."""
    counts = {id(o): 0 for o in instances}
    skip = {id(instances), *(id(x) for x in ours)}
    holders: list[Any] = []
    seen: set[int] = set()  # by identity: thousands of holders are no quadratic search
    for ref in referrers(instances):
        box = None if id(ref) in skip else as_container(ref)
        if box is None or id(box) in seen:
            continue
        seen.add(id(box))
        hits = 0
        for value in held(box):
            if id(value) in counts:
                counts[id(value)] += 1
                hits += 1
        if hits:
            holders.append(box)
    return counts, holders


class Move:
    """Instances of a replaced class to move to the new class's layout."""

    def __init__(self, instances: list[Any], new: type, live: type, name: str,
                 reason: str) -> None:
        self.instances, self.new, self.live = instances, new, live
        self.name, self.reason = name, reason


def move_all(moves: list[Move], plan: Plan, report: Report) -> None:
    """Move instances of replaced classes into new objects of their new classes, where
    safe. The holders of every instance of every class are found in one more pass."""
    todo = []
    for m in moves:
        if m.new.__new__ is object.__new__:
            todo.append(m)
        else:
            report.skip(m.name, f"{len(m.instances)} live instance(s) keep the old class, "
                        f"which keeps working: {m.reason}; the new class has its own __new__")
    if not todo:
        return
    report.heap_walks += 1
    everyone = [o for m in todo for o in m.instances]
    ids, holders = _holders(everyone, [m.instances for m in todo])
    # Each instance is held by its class's list of instances and by `everyone`; the probe
    # is held the same way, so equal counts mean no reference we cannot see.
    probe = [object()]
    probes = list(probe)
    base = [sys.getrefcount(p) for p in probes][0]
    movable = {id(o) for o in everyone if sys.getrefcount(o) == base + ids[id(o)]}
    del everyone
    moved: dict[int, tuple[Any, Any]] = {}  # id(instance) -> (instance, its twin)
    for m in todo:
        count = _twins(m, movable, moved, plan)
        if count:
            report.instances.append(f"{m.name} ({count} moved to the new layout)")
        if len(m.instances) > count:
            report.skip(m.name, f"{len(m.instances) - count} live instance(s) keep the old "
                        f"class, which keeps working: {m.reason}; they are referenced from "
                        "places that cannot be rewritten (a tuple, a running frame, a slot)")
    for holder in holders:
        retarget_holder(holder, moved, plan)
    # A reference another thread takes to one of them before the update applies would keep
    # it under its old identity beside its twin: such a plan is stale, and made again.
    plan.guards.extend(obj for obj, _ in moved.values())


def _twins(m: Move, movable: set[int], moved: dict[int, tuple[Any, Any]],
           plan: Plan) -> int:
    """New objects of the new class carrying the state of the movable instances."""
    shared = [s for s in slot_names(m.live) if s in set(slot_names(m.new))]
    hook = class_has(m.new, "__hotswap_migrate__")
    count = 0
    for obj in m.instances:
        if id(obj) not in movable:
            continue
        twin = object.__new__(m.new)  # not live until a holder points at it
        for slot in shared:
            try:
                object.__setattr__(twin, slot, object.__getattribute__(obj, slot))
            except AttributeError:
                pass
        state = instance_dict(obj)
        if state is not None and instance_dict(twin) is not None:
            twin.__dict__.update(state)
        moved[id(obj)] = (obj, twin)
        if hook:
            plan.add(InstanceHook(twin))
        count += 1
    return count
