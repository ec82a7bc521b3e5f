"""From what staging produced to the list of operations that will change the live program.

Planning reads live objects but changes none. It is also where the heap is walked, once
for everything an update needs from it (live closures of changed nested functions,
instances to migrate or to empty of a removed slot, references to a replaced class), and
once more only when instances must move to a layout with a slot their class never had
(their holders are known only after the first).
"""

from __future__ import annotations

import abc
import functools
import types
import typing
from typing import Any

from . import _derive
from ._readers import rerun
from ._diff import ModuleDiff, final_names
from ._heap import frozen_note, walk
from ._imports import importer_namespaces
from ._ops import (MISSING, Call, FillAttrs, InstanceHook, Plan, Retarget, SetCell, SetFunction,
                   TrySetBases, changes_nothing, function_fields)
from ._patch import dispatch
from ._patch.enums import migrate_members
from ._patch.functions import caches_in, incompatibility, nested_changes
from ._patch.handover import hand_over
from ._patch.lines import reline
from ._patch.newattrs import CONSTRUCTORS, Gain, gain, warning
from ._patch.instances import Move, compatible, move_all, retarget_holder, with_subclasses
from ._patch.rebind import Rebinder
from ._patch.slots import CountSlots, Reslot, SlotChange
from ._registries import plan_edits
from ._report import Report
from ._safe import class_has, functions_in, instance_dict, is_a
from ._stage import Staged


def build(module: types.ModuleType, diff: ModuleDiff, staged: Staged, report: Report,
          baseline_known: bool) -> Plan:
    live: dict[str, Any] = module.__dict__
    modname = module.__name__
    plan = Plan()
    rebind = Rebinder(staged.namespace, live, staged.canonical, plan,
                      frozenset(id(c) for c in staged.made))
    patched: set[int] = set()
    nested: list[tuple[types.CodeType, types.CodeType]] = []
    # hotswap._derive: registrations re-made by decorators run again take the old ones'
    # places; what frameworks derived from changed definitions is re-derived at the end
    derived = _derive.Update(module, report=report)
    _derive.plan_records(staged, live, plan, rebind, report, derived)

    relined = 0
    for p in staged.patches:
        fields = function_fields(p.new)
        if p.new.__defaults__:
            fields["__defaults__"] = rebind.fix(p.new.__defaults__)
        patched.add(id(p.live))
        if changes_nothing(p.live, fields):
            continue
        plan.add(SetFunction(p.live, fields))
        nested.extend(nested_changes(p.live.__code__, p.new.__code__))
        if p.layout:
            relined += 1
            continue
        for cache in caches_in(p.holder) if p.holder is not None else ():
            plan.add(Call(cache.cache_clear, label=f"clear the cache of {p.name}"))
        report.functions.append(f"{modname}.{p.name}")
    report.skipped.extend(staged.skipped)
    report.notes.extend(staged.notes)

    reslots: list[Reslot] = []  # their instances come from the heap walk
    for edit in staged.classes:
        if edit.slots is not None:  # first: the class's entries may take a hidden name
            reslots.append(Reslot(edit.cls, edit.slots, with_subclasses(edit.cls)))
            plan.add(reslots[-1])
            _report_slots(edit.name, edit.slots, report)
        for cell in edit.cells:
            plan.add(SetCell(cell, edit.cls))
        if edit.bases is not None:
            plan.set_attr(edit.cls, "__bases__", tuple(rebind.fix(b) for b in edit.bases))
        if edit.enum_source is not None:
            members = migrate_members(edit.enum_source, edit.cls, plan,
                                      report.skipped, edit.name)
            edit.set.update(members)
        for key, value in edit.set.items():
            adopted = dispatch.adopt(edit.cls.__dict__.get(key), value, rebind.fix)
            if adopted is not None:
                plan.ops.extend(adopted)
                continue
            value = rebind.fix(value)
            if _same_entry(edit.cls.__dict__.get(key, MISSING), value):
                continue
            plan.set_attr(edit.cls, key, value)
            if class_has(type(value), "__set_name__"):  # as class creation would (cached_property)
                plan.add(Call(functools.partial(type(value).__set_name__, value, edit.cls, key),
                              label=f"{edit.name}.{key}.__set_name__"))
            if not key.startswith("__") or key == "__init__":
                (report.rebound if key in edit.cls.__dict__ else report.added).append(
                    f"{edit.name}.{key}")
        for key in edit.delete:
            plan.set_attr(edit.cls, key)
            report.removed.append(f"{edit.name}.{key}")
        (report.rebuilt if edit.rebuilt else report.classes).append(edit.name)
        if is_a(edit.cls, abc.ABCMeta):
            plan.add(_recompute_abstract(edit.cls))

    made: dict[str, Any] = {}  # what this update binds: closures made now are relined too
    for name in dict.fromkeys(staged.bound):
        if name not in staged.namespace:
            continue
        value = made[name] = rebind.fix(staged.namespace[name])
        if name in live and live[name] is value:
            continue
        (report.rebound if name in live else report.added).append(f"{modname}.{name}")
        if name in live:
            plan.rebound[name] = (live[name], value)
        plan.set_item(live, name, value)

    versions = {id(r.new): r.live for r in staged.replacements}
    ops, notes = plan_edits(staged.registrations, rebind.fix, versions)
    for op in ops:
        plan.add(op)
    report.notes.extend(notes)
    for w in staged.withdrawals:
        plan.add(w)
        report.notes.append(f"{w.label}: {len(w.objects)} definition(s) removed from the "
                            "source withdrawn")
    # Dispatch caches map classes to overloads: stale once a registry or a class changed.
    clears = staged.clear_caches if staged.registrations or staged.withdrawals else []
    if staged.classes or staged.replacements:
        plan.add(_refresh_type_checks(live))
        clears = clears + dispatch.caches(live)
    if clears:
        clears = list({id(c): c for c in clears}.values())
        def clear_all() -> None:
            for c in clears:
                c()
        plan.add(Call(clear_all, clear_all, "clear singledispatch caches"))

    final = final_names(diff.new.stmts)
    if baseline_known:
        gone: set[str] = set().union(*(s.names for s in diff.removed),
                                     *(c.old.names for c in diff.changes if c.old is not None))
    else:
        gone = {k for k, v in live.items() if _defined_here(v, live)}
    for name in sorted(gone - final):
        if name in live:
            plan.set_item(live, name)
            report.removed.append(f"{modname}.{name}")

    moved, factories = reline(live, [(s.start + 1, s.end, delta) for s, delta in diff.shifted]
                              + staged.moved, patched, plan,
                              lambda: importer_namespaces(modname), made)
    relined += moved
    if relined:
        report.notes.append(f"line numbers moved for {relined} unchanged function(s)")
    if factories:
        report.notes.append(
            "closures made earlier by " + ", ".join(f"{modname}.{q}" for q in factories)
            + " and not held by a module keep their old line numbers in tracebacks until the "
            "nested function next changes (finding them would walk the heap)")

    for code, label, _name, temporary in staged.derived:
        classes: list[type] = []
        for key in sorted(code.co_names):
            value = live.get(key)
            if is_a(value, type) and type.__getattribute__(value, "__module__") == modname:
                classes.append(typing.cast(type, value))
        plan.add(rerun(code, live, classes, label, report.added, temporary))
        report.rerun.append(label)
    report.warnings.extend(staged.warnings)
    derived.walked = _heap_work(module, staged, nested, reslots, plan, report,
                                _gains(module, staged))
    report.redecorated.extend(staged.redecorated)
    if "__hotswap_migrate__" in final and not diff.empty:
        previous = dict(live)  # the globals as they are before this update

        def module_hook() -> None:
            live["__hotswap_migrate__"](previous)
        plan.add(Call(module_hook, label=f"{modname}.__hotswap_migrate__"))
    _derive.finish(staged, plan, derived)  # hotswap._derive: adapters, safety net
    return plan


def _gains(module: types.ModuleType, staged: Staged) -> list[Gain]:
    """Classes whose changed constructor sets attributes the old one did not, unless the
    class migrates its instances itself (``__hotswap_migrate__``)."""
    edits = {id(e.cls): e for e in staged.classes}
    out: dict[tuple[int, str], Gain | None] = {}
    candidates: list[tuple[type, str, Any, Any]] = []
    for p in staged.patches:
        owner, _, ctor = p.live.__qualname__.rpartition(".")
        cls = _owner(module, owner) if ctor in CONSTRUCTORS and not p.layout else None
        if cls is not None:
            candidates.append((cls, ctor, p.live, p.new))
    for e in staged.classes:
        candidates.extend((e.cls, k, e.cls.__dict__.get(k), e.set[k])
                          for k in CONSTRUCTORS if k in e.set)
    for cls, ctor, old, new in candidates:
        edit = edits.get(id(cls))
        if (id(cls), ctor) in out or (class_has(cls, "__hotswap_migrate__") if edit is None
                                      else _hook_after(cls, edit)):
            continue
        given = set(edit.set) | set(edit.fill) if edit is not None else set()
        out[(id(cls), ctor)] = gain(cls, f"{module.__name__}.{cls.__qualname__}", ctor, old,
                                    new, given)
    return [g for g in out.values() if g is not None]


def _owner(module: types.ModuleType, qualname: str) -> type | None:
    """The module's class of that qualified name, through its globals (None: not one)."""
    value: Any = module
    for part in qualname.split("."):
        namespace = instance_dict(value)
        value = namespace.get(part) if namespace is not None else None
        if value is None:
            return None
    return value if is_a(value, type) else None


def _heap_work(module: types.ModuleType, staged: Staged,
               nested: list[tuple[types.CodeType, types.CodeType]], reslots: list[Reslot],
               plan: Plan, report: Report, gains: list[Gain]) -> list[Any] | None:
    """Everything that needs the heap, found in one walk: live closures of changed nested
    functions, old instances (for dataclass defaults and migration hooks, to count those
    lacking what a new constructor sets, and those whose class hid or gave back a slot),
    and the references to classes that had to be replaced. Returns every referrer it
    found (of the safety net's targets too: see hotswap._stale), when it walked."""
    needing_instances = [e for e in staged.classes
                         if e.fill or e.drop or "__hotswap_migrate__" in e.set
                         or class_has(e.cls, "__hotswap_migrate__")]
    family: dict[int, tuple[type, Any]] = {}
    for edit in needing_instances:
        for cls in with_subclasses(edit.cls):
            family.setdefault(id(cls), (cls, edit))
    replaced = staged.replacements
    slotted = {id(c): c for op in reslots for c in op.family}
    # Copy and pickle must count hidden slots: in the classes that hide one, and in those
    # this update makes on such a class. Counted as they apply, after the slots hidden.
    counted = [*slotted.values(), *(c for c in staged.made if is_a(c, type))]
    if counted:
        plan.add(CountSlots(counted))
    gained = {id(c): (c, g) for g in gains for c in with_subclasses(g.cls)}
    if not (nested or family or replaced or slotted or gained):
        return None
    report.heap_walks += 1
    unseen = frozen_note()
    if unseen is not None:
        report.notes.append(unseen)
    classes = list({**slotted, **{i: c for i, (c, _) in family.items()},
                    **{i: c for i, (c, _) in gained.items()},
                    **{id(r.live): r.live for r in replaced}}.values())
    plan.guards.extend([old for old, _ in nested] + classes)
    # Closures hold the nested code they were made from; if the enclosing function's lines
    # moved since, that is an older copy than the one the function holds now: they are
    # also found by their qualified name, when it names one nested function only.
    names = [old.co_qualname for old, _ in nested]
    unique = {old.co_qualname: new for old, new in nested if names.count(old.co_qualname) == 1}
    # Classes whose instances will move to a new layout: where the walk can, it finds
    # their holders too (else the move takes a pass of its own).
    moving = [r.live for r in replaced if r.movable and not compatible(r.new, r.live)]
    found = walk((old for old, _ in nested), classes, [r.live for r in replaced],
                 module.__dict__, frozenset(unique), holders_of=moving,
                 also=_derive.watched(staged))
    for op in reslots:
        op.instances = [obj for c in op.family for obj in found.instances[id(c)]]

    news = {id(old): new for old, new in nested}
    for fn in found.functions:
        new = news.get(id(fn.__code__)) or unique[fn.__code__.co_qualname]
        if fn.__code__ is new:
            continue
        label = f"{module.__name__}.{fn.__qualname__}"
        reason = incompatibility(fn, new)
        if reason is None:
            plan.add(SetFunction(fn, {"__code__": new}))
            report.closures.append(label)
        else:
            report.skipped.append((label, f"live closure keeps its old body: {reason}"))

    moves: list[Move] = []
    for r in replaced:
        report.replaced.append(r.name)
        report.notes.append(f"{r.name} was replaced by a new class: {r.reason}")
        instances = found.instances[id(r.live)]
        if instances and not r.movable:
            report.skip(r.name, f"{len(instances)} live instance(s) keep the old class, "
                        f"which keeps working: {r.reason}")
        elif compatible(r.new, r.live):
            for obj in instances:
                plan.add(Retarget(obj, r.new))
            if instances:
                report.instances.append(f"{r.name} ({len(instances)} retargeted)")
        elif instances:
            moves.append(Move(instances, r.new, r.live, r.name, r.reason))
        if r.movable and (not instances or compatible(r.new, r.live)):
            hand_over(r.live, r.new, plan)
        # The old class's own methods keep their __class__ cell: instances left on the old
        # class still call them, and their super() must keep meaning the old class.
        own_cells = {id(c) for v in r.live.__dict__.values() for f in functions_in(v)
                     for c in f.__closure__ or ()}
        registries = {id(d.container) for d in staged.registrations}  # already planned
        for holder in found.holders[id(r.live)]:
            if holder is module.__dict__ or holder is staged.namespace or \
                    id(holder) in own_cells or id(holder) in registries:
                continue
            retarget_holder(holder, {id(r.live): (r.live, r.new)}, plan)
        sub: type
        for sub in r.live.__subclasses__():
            plan.add(TrySetBases(sub, r.live, r.new, report.skipped,
                                 f"{sub.__module__}.{sub.__qualname__}"))
            if is_a(sub, abc.ABCMeta):  # it inherits the new base's abstract methods
                plan.add(_recompute_abstract(sub))
    move_all(moves, plan, report, found)  # holders of the instances to move
    del moves

    hooks: list[Any] = []  # run after every other change, on the finished classes
    filled: dict[str, int] = {}
    offered: dict[str, int] = {}
    for cls, edit in family.values():
        label = f"{cls.__module__}.{cls.__qualname__}"
        for obj in found.instances.get(id(cls), ()):
            state = instance_dict(obj)
            if (edit.fill or edit.drop) and state is not None:
                plan.add(FillAttrs(obj, {k: make() for k, make in edit.fill.items()
                                         if k not in state}, edit.drop,
                                     _derive.instances(edit.cls)))
                filled[label] = filled.get(label, 0) + 1
            if _hook_after(cls, edit):
                hooks.append(InstanceHook(obj))
                offered[label] = offered.get(label, 0) + 1
    _count_lacking(gains, gained, found.instances, report)
    report.instances.extend(f"{n} ({k} given new field defaults)" for n, k in filled.items())
    report.instances.extend(f"{n} ({k} offered __hotswap_migrate__)" for n, k in offered.items())
    for op in hooks:
        plan.add(op)
    return found.refs


def _count_lacking(gains: list[Gain], gained: dict[int, tuple[type, Gain]],
                   instances: Any, report: Report) -> None:
    """Warn, per class, how many old instances (its subclasses' included) lack an attribute
    its new constructor sets."""
    counts = {id(g): 0 for g in gains}
    for key, (_cls, g) in gained.items():
        for obj in instances.get(key, ()):
            state = instance_dict(obj)
            if state is not None and any(n not in state for n in g.names):
                counts[id(g)] += 1
    report.warnings.extend(warning(g, counts[id(g)]) for g in gains if counts[id(g)])


def _report_slots(name: str, change: SlotChange, report: Report) -> None:
    for names, verb in ((change.hide, "removed"), (change.show, "given back")):
        if names:
            report.notes.append(f"{name}: slot(s) {', '.join(names)} {verb} in place "
                                "(the class keeps its layout; instances keep their identity)")


def _refresh_type_checks(live: dict[str, Any]) -> Call:
    """After classes changed, what ``isinstance`` remembered is stale: the caches of the
    module's ABCs and protocols are cleared, and a protocol's member list (computed when
    its class was created, on 3.12+) is computed again from its current body."""
    abcs = [v for v in list(live.values()) if is_a(v, abc.ABCMeta)
            and type.__getattribute__(v, "__module__") == live.get("__name__")]
    protocols = [c for c in abcs if c.__dict__.get("_is_protocol")
                 and "__protocol_attrs__" in c.__dict__]
    before = {id(c): {k: c.__dict__[k] for k in _PROTOCOL_CACHES if k in c.__dict__}
              for c in protocols}

    def clear() -> None:
        for c in abcs:
            c._abc_caches_clear()

    def do() -> None:
        for c in protocols:
            attrs = typing._get_protocol_attrs(c)  # type: ignore[attr-defined]  # private
            type.__setattr__(c, "__protocol_attrs__", attrs)
            if "__non_callable_proto_members__" in c.__dict__:  # 3.13
                type.__setattr__(c, "__non_callable_proto_members__", {
                    a for a in attrs if not callable(getattr(c, a, None))})
            if "__callable_proto_members_only__" in c.__dict__:  # 3.12
                type.__setattr__(c, "__callable_proto_members_only__", all(
                    callable(getattr(c, a, None)) for a in attrs))
        clear()

    def undo() -> None:
        for c in protocols:
            for key, value in before[id(c)].items():
                type.__setattr__(c, key, value)
        clear()
    return Call(do, undo, "refresh the isinstance caches of the module's ABCs and protocols")


_PROTOCOL_CACHES = ("__protocol_attrs__", "__non_callable_proto_members__",
                    "__callable_proto_members_only__")


def _same_entry(current: Any, value: Any) -> bool:
    """Whether a class entry would not change: the same object, or a new staticmethod or
    classmethod around the same function (3.13 gives each enum its own wrapper of
    ``Flag._generate_next_value_``)."""
    if current is value:
        return True
    return is_a(value, (staticmethod, classmethod)) and type(current) is type(value) \
        and current.__func__ is value.__func__


def _hook_after(cls: type, edit: Any) -> bool:
    """Whether instances of `cls` will have a ``__hotswap_migrate__`` once `edit` applies."""
    if "__hotswap_migrate__" in edit.set:
        return True
    return class_has(cls, "__hotswap_migrate__") and "__hotswap_migrate__" not in edit.delete


def _recompute_abstract(cls: type) -> Call:
    """After an ABC changed, its abstract method set (and its subclasses') is recomputed."""
    family = with_subclasses(cls)
    before = {id(c): c.__dict__.get("__abstractmethods__") for c in family}

    def do() -> None:
        for c in family:
            abc.update_abstractmethods(c)

    def undo() -> None:
        for c in family:
            if before[id(c)] is not None:
                type.__setattr__(c, "__abstractmethods__", before[id(c)])
    return Call(do, undo, f"recompute abstract methods of {cls.__qualname__}")


def _defined_here(value: Any, live: dict[str, Any]) -> bool:
    """For a module whose old source is unknown: was `value` made by its source?"""
    if type(value) is types.FunctionType:
        return value.__globals__ is live
    if is_a(value, type):
        return value.__module__ == live.get("__name__")
    return False
