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
from collections.abc import Callable, Iterable
from typing import Any

from . import _derive, _report
from ._diff import ModuleDiff, Stmt, final_names
from ._heap import frozen_note, walk
from ._imports import importer_namespaces
from ._ops import (MISSING, Call, FillAttrs, InstanceHook, Plan, SetCell, SetFunction,
                   changes_nothing, function_fields)
from ._patch import dispatch, metaattrs
from ._patch.abstract import recompute_abstract, refresh_type_checks
from ._patch.enums import migrate_members
from ._patch.functions import caches_in, incompatibility, nested_changes
from ._patch.handover import plan_replacement
from ._patch.instances import compatible, move_all, with_subclasses
from ._patch.lines import reline
from ._patch.newattrs import CONSTRUCTORS, Gain, gain, warning
from ._patch.rebind import Rebinder
from ._patch.slots import CountSlots, Reslot, SlotChange
from ._readers import rerun
from ._registries import plan_edits
from ._report import Report
from ._safe import class_has, instance_dict, is_a
from ._stage import ClassEdit, Staged
from ._stage.core import records
from ._stage.body import gone_names, made_by_module


def build(module: types.ModuleType, diff: ModuleDiff, staged: Staged, report: Report,
          baseline_known: bool, kept: Callable[[], Iterable[int]] = tuple) -> Plan:
    """The plan of one module's update (see `Planner`); `kept` gives the ids of the
    containers hotswap's records of earlier updates keep (never holders to rewrite), asked
    only when a class is replaced."""
    return Planner(module, diff, staged, report, baseline_known, kept).build()


class Planner:
    """From `Staged` to a `Plan`, in phases that each add their operations in turn.

    The order of the phases is the order the operations apply in: registrations re-made
    by re-run decorators take the old ones' places first, then functions take their new
    code, classes their new entries, the module its new names; registries and caches
    follow, then names removed, line numbers, statements run again, everything the heap
    walk finds, and the module's own migration hook last.
    """

    def __init__(self, module: types.ModuleType, diff: ModuleDiff, staged: Staged,
                 report: Report, baseline_known: bool,
                 kept: Callable[[], Iterable[int]] = tuple) -> None:
        self.module, self.diff, self.staged, self.report = module, diff, staged, report
        self.baseline_known = baseline_known
        self.kept = kept
        self.live: dict[str, Any] = module.__dict__
        self.modname = module.__name__
        self.plan = Plan()
        self.rebind = Rebinder(staged.namespace, self.live, staged.canonical, self.plan,
                               frozenset(id(c) for c in staged.made))
        self.patched: set[int] = set()  # ids of the live functions patched
        # nested functions whose code changed inside a patched one: (old code, new code)
        self.nested: list[tuple[types.CodeType, types.CodeType]] = []
        self.relined = 0  # functions whose code only moved
        self.reslots: list[Reslot] = []  # their instances come from the heap walk
        self.made: dict[str, Any] = {}  # what this update binds: closures made now too
        # hotswap._derive: registrations re-made by decorators run again take the old
        # ones' places; what frameworks derived from changed definitions is re-derived at
        # the end
        self.derived = _derive.Update(module, report=report)

    def build(self) -> Plan:
        """Every phase, in order (see the class docstring)."""
        _derive.plan_records(self.staged, self.live, self.plan, self.rebind, self.report,
                             self.derived)
        self.functions()
        for edit in self.staged.classes:
            self.class_edit(edit)
        self.bind()
        self.registries()
        self.remove_names()
        self.reline()
        self.rerun_derived()
        self.derived.walked = heap_work(
            self.module, self.staged, self.nested, self.reslots, self.plan, self.report,
            _gains(self.module, self.staged), self.diff.new.stmts, self.kept)
        metaattrs.fill_subclasses(self.module, self.staged.patches, self.diff.new.stmts,
                                  self.staged.namespace, self.plan, self.report)
        self.report.redecorated.extend(self.staged.for_report.redecorated)
        self.module_hook()
        self.derived.ours = records
        _derive.finish(self.staged, self.plan, self.derived)  # adapters, safety net
        return self.plan

    def functions(self) -> None:
        """Live functions take the code, defaults and attributes of their new versions."""
        plan, report = self.plan, self.report
        for p in self.staged.patches:
            fields = function_fields(p.new)
            if p.new.__defaults__:
                fields["__defaults__"] = self.rebind.fix(p.new.__defaults__)
            self.patched.add(id(p.live))
            if changes_nothing(p.live, fields):
                continue
            plan.add(SetFunction(p.live, fields))
            self.nested.extend(nested_changes(p.live.__code__, p.new.__code__))
            if p.layout:
                self.relined += 1
                continue
            for cache in caches_in(p.holder) if p.holder is not None else ():
                plan.add(Call(cache.cache_clear, label=f"clear the cache of {p.name}"))
            report.functions.append(f"{self.modname}.{p.name}")
        report.skipped.extend(self.staged.for_report.skipped)
        report.notes.extend(self.staged.for_report.notes)

    def class_edit(self, edit: ClassEdit) -> None:
        """A live class takes its new entries (slots first: an entry may take a hidden
        slot's name), bases, enum members and ``__class__`` cells."""
        plan, report, rebind = self.plan, self.report, self.rebind
        if edit.slots is not None:
            self.reslots.append(Reslot(edit.cls, edit.slots, with_subclasses(edit.cls)))
            plan.add(self.reslots[-1])
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
            self.class_entry(edit, key, value)
        for key in edit.delete:
            plan.set_attr(edit.cls, key)
            report.removed.append(f"{edit.name}.{key}")
        (report.rebuilt if edit.rebuilt else report.classes).append(edit.name)
        if is_a(edit.cls, abc.ABCMeta):
            plan.add(recompute_abstract(edit.cls))

    def class_entry(self, edit: ClassEdit, key: str, value: Any) -> None:
        cls, plan = edit.cls, self.plan
        adopted = dispatch.adopt(cls.__dict__.get(key), value, self.rebind.fix)
        if adopted is not None:
            plan.ops.extend(adopted)
            return
        value = self.rebind.fix(value)
        if _same_entry(cls.__dict__.get(key, MISSING), value):
            return
        plan.set_attr(cls, key, value)
        if class_has(type(value), "__set_name__"):  # as class creation would (cached_property)
            plan.add(Call(functools.partial(type(value).__set_name__, value, cls, key),
                          label=f"{edit.name}.{key}.__set_name__"))
        if not key.startswith("__") or key == "__init__":
            (self.report.rebound if key in cls.__dict__ else self.report.added).append(
                f"{edit.name}.{key}")

    def bind(self) -> None:
        """The module's names take what staging bound, made to name live objects."""
        live, report = self.live, self.report
        for name in dict.fromkeys(self.staged.bound):
            if name not in self.staged.namespace:
                continue
            value = self.made[name] = self.rebind.fix(self.staged.namespace[name])
            if name in live and live[name] is value:
                continue
            (report.rebound if name in live else report.added).append(f"{self.modname}.{name}")
            if name in live:
                self.plan.rebound[name] = (live[name], value)
            self.plan.set_item(live, name, value)

    def registries(self) -> None:
        """Registrations moved, removed definitions withdrawn, dispatch caches cleared."""
        staged, plan, report = self.staged, self.plan, self.report
        versions = {id(r.new): r.live for r in staged.replacements}
        ops, notes = plan_edits(staged.registrations, self.rebind.fix, versions)
        for op in ops:
            plan.add(op)
        report.notes.extend(notes)
        for w in staged.withdrawals:
            plan.add(w)
            report.notes.append(_report.withdrawn(w.label, len(w.objects)))
        # Dispatch caches map classes to overloads: stale once a registry or a class changed.
        clears = staged.clear_caches if staged.registrations or staged.withdrawals else []
        if staged.classes or staged.replacements:
            plan.add(refresh_type_checks(self.live))
            clears = clears + dispatch.caches(self.live)
        if clears:
            clears = list({id(c): c for c in clears}.values())

            def clear_all() -> None:
                for c in clears:
                    c()
            plan.add(Call(clear_all, clear_all, "clear singledispatch caches"))

    def remove_names(self) -> None:
        """Names the new source no longer binds leave the module."""
        live = self.live
        for name in gone_names(self.diff.removed, self.diff.changes,
                               final_names(self.diff.new.stmts),
                               None if self.baseline_known else live,
                               lambda value: made_by_module(value, live)):
            if name in live:
                self.plan.set_item(live, name)
                self.report.removed.append(f"{self.modname}.{name}")

    def reline(self) -> None:
        """Code that did not change but moved learns its new line numbers."""
        modname, report = self.modname, self.report
        moved, factories = reline(
            self.live, [(s.start + 1, s.end, delta) for s, delta in self.diff.shifted]
            + self.staged.moved, self.patched, self.plan,
            lambda: importer_namespaces(modname), self.made)
        self.relined += moved
        report.notes.extend(_report.relined(modname, self.relined, factories))

    def rerun_derived(self) -> None:
        """Unchanged statements deriving from a changed definition run again (see
        `_readers`); the others are warned about."""
        live, modname = self.live, self.modname
        for code, label, _name, temporary in self.staged.derived:
            classes: list[type] = []
            for key in sorted(code.co_names):
                value = live.get(key)
                if is_a(value, type) and type.__getattribute__(value, "__module__") == modname:
                    classes.append(typing.cast(type, value))
            self.plan.add(rerun(code, live, classes, label, self.report.added, temporary))
            self.report.rerun.append(label)
        self.report.warnings.extend(self.staged.for_report.warnings)

    def module_hook(self) -> None:
        """The module's ``__hotswap_migrate__(old)`` runs last, given the old globals."""
        if "__hotswap_migrate__" not in final_names(self.diff.new.stmts) or self.diff.empty:
            return
        live = self.live
        previous = dict(live)  # the globals as they are before this update

        def module_hook() -> None:
            live["__hotswap_migrate__"](previous)
        self.plan.add(Call(module_hook, label=f"{self.modname}.__hotswap_migrate__"))


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


def heap_work(module: types.ModuleType, staged: Staged,
              nested: list[tuple[types.CodeType, types.CodeType]], reslots: list[Reslot],
              plan: Plan, report: Report, gains: list[Gain],
              stmts: list[Stmt] | None = None,
              kept: Callable[[], Iterable[int]] = tuple) -> list[Any] | None:
    """Everything that needs the heap, found in one walk: live closures of changed nested
    functions, old instances (for dataclass defaults and migration hooks, to count those
    lacking what a new constructor sets, and those whose class hid or gave back a slot),
    and the references to classes that had to be replaced. Returns what it found (for
    the safety net too, hotswap._stale) when it walked."""
    # each class (by id) whose instances get new fields or a hook, with its edit
    needing: dict[int, tuple[type, ClassEdit]] = {}
    for edit in staged.classes:
        if edit.fill or edit.drop or "__hotswap_migrate__" in edit.set \
                or class_has(edit.cls, "__hotswap_migrate__"):
            for cls in with_subclasses(edit.cls):
                needing.setdefault(id(cls), (cls, edit))
    replaced = staged.replacements
    slotted = {id(c): c for op in reslots for c in op.family}
    # Copy and pickle must count hidden slots: in the classes that hide one, and in those
    # this update makes on such a class. Counted as they apply, after the slots hidden.
    counted = [*slotted.values(), *(c for c in staged.made if is_a(c, type))]
    if counted:
        plan.add(CountSlots(counted))
    gained = {id(c): (c, g) for g in gains for c in with_subclasses(g.cls)}
    if not (nested or needing or replaced or slotted or gained):
        return None
    report.heap_walks += 1
    unseen = frozen_note()
    if unseen is not None:
        report.notes.append(unseen)
    classes = list({**slotted, **{i: c for i, (c, _) in needing.items()},
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
    referenced = [r.live for r in replaced]
    found = walk((old for old, _ in nested), classes, referenced, module.__dict__,
                 frozenset(unique), holders_of=moving, also=_derive.watched(staged))
    for op in reslots:
        op.instances = [obj for c in op.family for obj in found.instances[id(c)]]
    _closures(module, nested, unique, found.functions, plan, report)
    skip = _not_holders(module, staged, plan, kept, [classes, moving, referenced, counted])
    moves = [m for r in replaced
             if (m := plan_replacement(r, found.instances[id(r.live)],
                                       found.holders[id(r.live)], skip, plan, report)) is not None]
    move_all(moves, plan, report, found)  # holders of the instances to move
    del moves
    _fill_and_offer(needing, found.instances, plan, report)
    metaattrs.fill(gains, gained, found.instances, stmts or [], staged.namespace,
                   getattr(module, "__file__", None) or module.__name__, plan, report)
    _count_lacking(gains, gained, found.instances, report)
    return found.refs


def _closures(module: types.ModuleType, nested: list[tuple[types.CodeType, types.CodeType]],
              unique: dict[str, types.CodeType], functions: list[types.FunctionType],
              plan: Plan, report: Report) -> None:
    """Live closures of changed nested functions (found by the walk) take the new code."""
    news = {id(old): new for old, new in nested}
    for fn in functions:
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


def _not_holders(module: types.ModuleType, staged: Staged, plan: Plan,
                 kept: Callable[[], Iterable[int]], lists: list[list[Any]]) -> set[int]:
    """The ids of what holds a replaced class but is no holder to rewrite: planned already
    (the module, staging's namespace, the registries), or hotswap's own records: stagings
    not yet freed (`_stage.core.records`), the plan's guards, the cells of earlier undo
    logs (`kept`), the `lists` the heap walk was given."""
    return {id(module.__dict__), id(staged.namespace),
            *(id(delta.container) for delta in staged.registrations),
            *map(id, [*records(), plan.guards, *lists]), *(kept() if staged.replacements else ())}


def _fill_and_offer(needing: dict[int, tuple[type, ClassEdit]], instances: Any, plan: Plan,
                    report: Report) -> None:
    """Old instances get the new fields' defaults, then (after every other change, on the
    finished classes) are offered ``__hotswap_migrate__``."""
    hooks: list[Any] = []
    filled: dict[str, int] = {}
    offered: dict[str, int] = {}
    for cls, edit in needing.values():
        label = f"{cls.__module__}.{cls.__qualname__}"
        for obj in instances.get(id(cls), ()):
            state = instance_dict(obj)
            if (edit.fill or edit.drop) and state is not None:
                plan.add(FillAttrs(obj, {k: make() for k, make in edit.fill.items()
                                         if k not in state}, edit.drop,
                                     _derive.instances(edit.cls)))
                filled[label] = filled.get(label, 0) + 1
            if _hook_after(cls, edit):
                hooks.append(InstanceHook(obj))
                offered[label] = offered.get(label, 0) + 1
    report.instances.extend(f"{n} ({k} given new field defaults)" for n, k in filled.items())
    report.instances.extend(f"{n} ({k} offered __hotswap_migrate__)" for n, k in offered.items())
    for op in hooks:
        plan.add(op)


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
