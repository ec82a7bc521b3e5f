"""Live instances: retargeted to a replacing class, moved to a new layout, given new
dataclass fields, offered ``__hotswap_migrate__``.

An instance keeps its identity whenever CPython lets ``obj.__class__`` be assigned (same
memory layout). When the layout changed (``__slots__``), an instance can only be *moved*:
a new object of the new class takes its state and every reference to it is rewritten.
That is done only when every reference is one we can see and rewrite (a dict, a list, a
cell), proven by the reference count; otherwise the instance stays, working, on the old
class, and the report says so. Half-moved objects, reachable under two identities, must
never exist.
"""

from __future__ import annotations

import gc
import sys
import types
from typing import Any

from .._heap import as_container, held
from .._ops import InstanceHook, Plan, SetCell, slot_names
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


def retarget_holder(holder: Any, old: Any, new: Any, plan: Plan) -> None:
    """Rewrite the references `holder` (a dict, list or cell) has to `old`."""
    if type(holder) is dict:
        for key, value in list(holder.items()):
            if value is old:
                plan.set_item(holder, key, new)
    elif type(holder) is list:
        for i, value in enumerate(holder):
            if value is old:
                plan.set_item(holder, i, new)
    elif type(holder) is types.CellType:
        plan.add(SetCell(holder, new))


def _holders(instances: list[Any]) -> tuple[dict[int, int], list[Any]]:
    """How many references to each instance sit in rewritable containers, and those
    containers. A function of its own, so that no loop variable of it still holds an
    instance when the caller compares reference counts."""
    counts = {id(o): 0 for o in instances}
    holders: list[Any] = []
    for ref in gc.get_referrers(*instances):
        box = None if ref is instances else as_container(ref)
        if box is None or any(box is h for h in holders):
            continue
        hits = 0
        for value in held(box):
            if id(value) in counts:
                counts[id(value)] += 1
                hits += 1
        if hits:
            holders.append(box)
    return counts, holders


def move(instances: list[Any], new: type, live: type, plan: Plan, report: Report,
         name: str, reason: str) -> None:
    """Move instances of `live` into new objects of `new` (another layout), where safe."""
    if new.__new__ is not object.__new__:
        report.skip(name, f"{len(instances)} live instance(s) keep the old class, which "
                    f"keeps working: {reason}; the new class has its own __new__")
        return
    report.heap_walks += 1
    ids, holders = _holders(instances)
    probe = [object()]
    base = [sys.getrefcount(p) for p in probe][0]
    movable = [o for o in instances if sys.getrefcount(o) == base + ids[id(o)]]
    stay = len(instances) - len(movable)
    moved: dict[int, Any] = {}
    shared = [s for s in slot_names(live) if s in set(slot_names(new))]
    for obj in movable:
        twin = object.__new__(new)  # not live until a holder points at it
        for slot in shared:
            try:
                object.__setattr__(twin, slot, object.__getattribute__(obj, slot))
            except AttributeError:
                pass
        state = instance_dict(obj)
        if state is not None and instance_dict(twin) is not None:
            twin.__dict__.update(state)
        moved[id(obj)] = twin
    for holder in holders:
        for obj in held(holder):
            if id(obj) in moved:
                retarget_holder(holder, obj, moved[id(obj)], plan)
    if class_has(new, "__hotswap_migrate__"):
        for twin in moved.values():
            plan.add(InstanceHook(twin))
    if moved:
        report.instances.append(f"{name} ({len(moved)} moved to the new layout)")
    if stay:
        report.skip(name, f"{stay} live instance(s) keep the old class, which keeps working: "
                    f"{reason}; they are referenced from places that cannot be rewritten "
                    "(a tuple, a running frame, a slot)")
