"""A replaced class hands its functions over to the class replacing it.

Staging gives a replacing class functions of its own, so that instances which cannot move
to it keep running the old class's methods untouched. When no instance stays behind, the
old functions are what references taken earlier call (a bound method, a function pulled
off the class, a registry entry), and what the next update would have to reach: so they
take the new code and the new class holds them instead of its own copies. One function
object per method again, as if the class had been changed in place.

Not functions using zero-argument ``super()``: their ``__class__`` cell names the old
class, which the instances have left; the new class keeps its own of those.

`plan_replacement` plans the rest of a replacement once the heap walk has found the old
class's instances and holders: instances retargeted or moved, holders and subclasses
pointed at the new class.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

from .._ops import Plan, Retarget, SetFunction, TrySetBases, function_fields
from .._report import Report
from .._safe import functions_in, is_a
from . import dispatch
from .abstract import recompute_abstract
from .functions import incompatibility
from .instances import Move, compatible, retarget_holder
from .rebind import Rebinder

if TYPE_CHECKING:
    from .._stage import Replacement


def hand_over(old: type, new: type, plan: Plan) -> None:
    mine = type.__getattribute__(old, "__dict__")
    theirs = type.__getattribute__(new, "__dict__")
    canonical: dict[int, Any] = {}
    for key, value in mine.items():
        olds, news = functions_in(value), functions_in(theirs.get(key))
        if len(olds) != len(news):
            continue
        for fn, repl in zip(olds, news, strict=True):
            if fn is repl or "__class__" in fn.__code__.co_freevars or \
                    "__class__" in repl.__code__.co_freevars:
                continue
            if incompatibility(fn, repl.__code__) is None:
                plan.add(SetFunction(fn, function_fields(repl)))
                canonical[id(repl)] = fn
    taken: set[str] = set()
    for key, value in mine.items():
        adopted = dispatch.adopt(value, theirs.get(key),
                                 lambda x: canonical.get(id(x), x))
        if adopted is not None:  # methods bound earlier dispatch as the new class does
            plan.ops.extend(adopted)
            plan.set_attr(new, key, value)
            taken.add(key)
    rebind = Rebinder({}, {}, canonical, plan)
    for key, value in list(theirs.items()):
        if key in taken:
            continue
        fixed = rebind.fix(value)
        if fixed is not value:
            plan.set_attr(new, key, fixed)


def plan_replacement(r: Replacement, instances: list[Any], holders: list[Any],
                     skip_holders: set[int], plan: Plan, report: Report) -> Move | None:
    """Plan what a class replaced by a new one needs beyond staging (see `Replacement`):
    its `instances` retargeted (same layout), or returned as a `Move` (another layout),
    or left on the old class when they cannot leave it; its functions handed over when
    no instance stays behind; its `holders` (found by the update's heap walk, less those
    whose ids are in `skip_holders`) and subclasses pointed at the new class."""
    report.replaced.append(r.name)
    report.notes.append(f"{r.name} was replaced by a new class: {r.reason}")
    move = None
    if instances and not r.movable:
        report.skip(r.name, f"{len(instances)} live instance(s) keep the old class, "
                    f"which keeps working: {r.reason}")
    elif compatible(r.new, r.live):
        for obj in instances:
            plan.add(Retarget(obj, r.new))
        if instances:
            report.instances.append(f"{r.name} ({len(instances)} retargeted)")
    elif instances:
        move = Move(instances, r.new, r.live, r.name, r.reason)
    if r.movable and (not instances or compatible(r.new, r.live)):
        hand_over(r.live, r.new, plan)
    # The old class's own methods keep their __class__ cell: instances left on the old
    # class still call them, and their super() must keep meaning the old class.
    own_cells = {id(c) for v in r.live.__dict__.values() for f in functions_in(v)
                 for c in f.__closure__ or ()}
    for holder in holders:
        if id(holder) not in own_cells and id(holder) not in skip_holders:
            retarget_holder(holder, {id(r.live): (r.live, r.new)}, plan)
    sub: type
    for sub in r.live.__subclasses__():
        plan.add(TrySetBases(sub, r.live, r.new, report.skipped,
                             f"{sub.__module__}.{sub.__qualname__}"))
        if is_a(sub, abc.ABCMeta):  # it inherits the new base's abstract methods
            plan.add(recompute_abstract(sub))
    return move
