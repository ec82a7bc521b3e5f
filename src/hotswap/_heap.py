"""The one heap walk an update may make.

Swapping a code object or a class entry needs no walk at all. Only objects that nothing in
the module points to need one: closures made at run time from a changed nested function
(found through the old nested code objects they hold), instances of a class that must
run a migration hook or be retargeted, references to a replaced class. All targets of one
update are gathered first and found with a single ``gc.get_referrers`` call.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._safe import instance_dict


@dataclass
class Found:
    functions: list[types.FunctionType] = field(default_factory=list)
    instances: dict[int, list[Any]] = field(default_factory=dict)  # id(class) -> instances
    holders: dict[int, list[Any]] = field(default_factory=dict)  # id(object) -> referrers


def walk(codes: Iterable[types.CodeType], classes: Iterable[type],
         referenced: Iterable[Any] = (), namespace: dict[str, Any] | None = None,
         qualnames: frozenset[str] = frozenset()) -> Found:
    """One pass: functions running `codes`, direct instances of `classes`, and the
    containers (dicts, lists, cells) that hold one of `referenced`. With a module's
    `namespace`, also the functions over it whose code has one of `qualnames`: closures
    made from an older copy of a nested function's code (one whose lines moved since)."""
    codes, classes, referenced = list(codes), list(classes), list(referenced)
    found = Found()
    targets = [*codes, *classes, *referenced]
    if namespace is not None and qualnames:
        targets.append(namespace)
    if not targets:
        return found
    code_ids = {id(c) for c in codes}
    class_ids = {id(c) for c in classes}
    ref_ids = {id(r) for r in referenced}
    found.instances = {i: [] for i in class_ids}
    found.holders = {i: [] for i in ref_ids}
    own = {id(targets), id(codes), id(classes), id(referenced)}
    seen_functions: set[int] = set()
    for ref in gc.get_referrers(*targets):
        if id(ref) in own:
            continue
        kind = type(ref)
        if kind is types.FunctionType and (
                id(ref.__code__) in code_ids
                or (ref.__globals__ is namespace and ref.__code__.co_qualname in qualnames)):
            if id(ref) not in seen_functions:
                seen_functions.add(id(ref))
                found.functions.append(ref)
        if id(kind) in class_ids:
            found.instances[id(kind)].append(ref)
        if ref_ids:
            box = as_container(ref)
            inside = held(box) if box is not None else []
            if type(box) is dict:
                inside.extend(box)  # its keys: a registry keyed by a replaced class
            if any(id(t) in ref_ids for t in inside):
                for target in inside:
                    if id(target) in ref_ids and not any(box is h for h in found.holders[id(target)]):
                        found.holders[id(target)].append(box)
    return found


def as_container(ref: Any) -> Any:
    """The rewritable container through which `ref` holds things: itself for a dict, list
    or cell; an instance's attribute dict (which CPython may keep inline until asked)."""
    kind = type(ref)
    if kind in (dict, list, types.CellType):
        return ref
    if issubclass(kind, type):
        return None
    return instance_dict(ref)


def held(container: Any) -> list[Any]:
    """What a dict (its values), list or cell holds."""
    if type(container) is dict:
        return list(container.values())
    if type(container) is list:
        return list(container)
    try:
        return [container.cell_contents]
    except ValueError:
        return []
