"""From what staging produced to the list of operations that will change the live program.

Planning reads live objects but changes none. It is also where the one heap walk happens,
when live closures of a changed nested function must be found.
"""

from __future__ import annotations

import types
from typing import Any

from ._diff import ModuleDiff, final_names
from ._heap import functions_using
from ._ops import Call, Plan, SetCell, SetFunction, function_fields
from ._patch.functions import find_raw, incompatibility, nested_changes, shift_code
from ._patch.rebind import Rebinder
from ._report import Report
from ._stage import Staged


def build(module: types.ModuleType, diff: ModuleDiff, staged: Staged, report: Report,
          baseline_known: bool) -> Plan:
    live: dict[str, Any] = module.__dict__
    modname = module.__name__
    plan = Plan()
    rebind = Rebinder(staged.namespace, live, staged.canonical, plan)
    patched: set[int] = set()
    nested: list[tuple[types.CodeType, types.CodeType]] = []

    for p in staged.patches:
        fields = function_fields(p.new)
        if p.new.__defaults__:
            fields["__defaults__"] = rebind.fix(p.new.__defaults__)
        plan.add(SetFunction(p.live, fields))
        patched.add(id(p.live))
        nested.extend(nested_changes(p.live.__code__, p.new.__code__))
        clear = getattr(p.holder, "cache_clear", None)
        if callable(clear):
            plan.add(Call(clear, label=f"clear the cache of {p.name}"))
        report.functions.append(f"{modname}.{p.name}")
    report.skipped.extend(staged.skipped)
    report.notes.extend(staged.notes)

    for edit in staged.classes:
        for cell in edit.cells:
            plan.add(SetCell(cell, edit.cls))
        if edit.bases is not None:
            plan.set_attr(edit.cls, "__bases__", tuple(rebind.fix(b) for b in edit.bases))
        for key, value in edit.set.items():
            plan.set_attr(edit.cls, key, rebind.fix(value))
        for key in edit.delete:
            plan.set_attr(edit.cls, key)
        (report.rebuilt if edit.rebuilt else report.classes).append(edit.name)

    for name in dict.fromkeys(staged.bound):
        if name not in staged.namespace:
            continue
        value = rebind.fix(staged.namespace[name])
        if name in live and live[name] is value:
            continue
        (report.rebound if name in live else report.added).append(name)
        plan.set_item(live, name, value)

    final = final_names(diff.new.stmts)
    if baseline_known:
        gone: set[str] = set().union(*(s.names for s in diff.removed),
                                     *(c.old.names for c in diff.changes if c.old is not None))
    else:
        gone = {k for k, v in live.items() if _defined_here(v, live)}
    for name in sorted(gone - final):
        if name in live:
            plan.set_item(live, name)
            report.removed.append(name)

    _shift_lines(diff, live, patched, plan)

    if nested:
        report.heap_walks += 1
        news = {id(old): new for old, new in nested}
        for fn in functions_using(old for old, _ in nested):
            new = news[id(fn.__code__)]
            label = f"{modname}.{fn.__qualname__}"
            reason = incompatibility(fn, new)
            if reason is None:
                plan.add(SetFunction(fn, {"__code__": new}))
                report.closures.append(label)
            else:
                report.skipped.append((label, f"live closure keeps its old body: {reason}"))
    report.redecorated.extend(staged.redecorated)
    return plan


def _defined_here(value: Any, live: dict[str, Any]) -> bool:
    """For a module whose old source is unknown: was `value` made by its source?"""
    if isinstance(value, types.FunctionType):
        return value.__globals__ is live
    if isinstance(value, type):
        return value.__module__ == live.get("__name__")
    return False


def _shift_lines(diff: ModuleDiff, live: dict[str, Any], patched: set[int], plan: Plan) -> None:
    """Unchanged definitions that moved get their line numbers moved, so tracebacks and
    ``inspect`` point at the right lines. A code swap each: no heap walk."""
    for stmt, delta in diff.shifted:
        kind = stmt.definition
        if kind is None:
            continue
        holder = live.get(kind[1])
        for fn in _functions_of(holder, kind[1], kind[0] == "class"):
            if id(fn) not in patched and fn.__globals__ is live:
                plan.add(SetFunction(fn, {"__code__": shift_code(fn.__code__, delta)}))
                patched.add(id(fn))


def _functions_of(holder: Any, qualname: str, is_class: bool) -> list[types.FunctionType]:
    if not is_class:
        fn = find_raw(holder, qualname) if holder is not None else None
        return [fn] if fn is not None else []
    if not isinstance(holder, type) or holder.__qualname__ != qualname:
        return []
    out: list[types.FunctionType] = []
    for key, value in holder.__dict__.items():
        if isinstance(value, type):
            out.extend(_functions_of(value, f"{qualname}.{key}", True))
            continue
        roles = ("fget", "fset", "fdel") if isinstance(value, property) else (None,)
        for role in roles:
            fn = find_raw(value, f"{qualname}.{key}", role)
            if fn is not None and fn not in out:
                out.append(fn)
    return out

