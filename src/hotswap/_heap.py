"""The one heap walk an update may make.

Swapping a code object or a class entry needs no walk at all. Only objects that nothing in
the module points to need one: closures made at run time from a changed nested function
(found through the old nested code objects they hold), instances of a class that must
run a migration hook or be retargeted, references to a replaced class. All targets of one
update are gathered first and found in a single pass (`referrers`).
"""

from __future__ import annotations

import gc
import os
import types
from itertools import compress
from collections.abc import Collection, Iterable
from typing import Any

from . import _frozen
from ._plain import dataclass, field
from ._safe import instance_dict

_accel: Any = None  # the pass in C (_scan.c), built where the install found a compiler
if not os.environ.get("HOTSWAP_PURE_PYTHON"):  # a way around it, should it ever misbehave
    try:
        from . import _scan as _accel
    except ImportError:  # pragma: no cover - depends on the build
        pass

# How many targets make one pass that asks sets cheaper than ``gc.get_referrers``, whose
# visitor compares every reference it visits with each target in turn (``referrersvisit``
# in Modules/gcmodule.c; Python/gc.c from 3.13), so its cost grows with the number of
# targets while the passes here cost the same for any number. The thresholds are where
# the measured costs cross (benchmarks/README.md, "Other measurements").
BY_TYPE_FROM, BY_ID_FROM = 100, 250
# From how many targets the pass in C beats ``gc.get_referrers`` (measured likewise). It
# walks the collector's lists itself on every Python (3.11 too: see _scan.c), never
# listing the heap first.
ACCEL_FROM = 24
_OUTER, _INNER = 4096, 64  # objects asked at once; a chunk that holds a target is split
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement or type()
_FUNCTION = id(types.FunctionType)
_BOXES = (dict, list, set, types.CellType)


@dataclass
class Found:
    functions: list[types.FunctionType] = field(default_factory=list)
    instances: dict[int, list[Any]] = field(default_factory=dict)  # id(class) -> instances
    holders: dict[int, list[Any]] = field(default_factory=dict)  # id(object) -> referrers
    # With `holders_of`: the containers (see `containers`) of everything the pass found,
    # among which the holders of those classes' instances (taken once by the move that
    # needs them: see `take_candidates`).
    candidates: list[Any] | None = None

    def take_candidates(self) -> list[Any] | None:
        """The candidates, once: whoever takes them drops them before counting references
        (an instance holding another is among them)."""
        taken, self.candidates = self.candidates, None
        return taken


def one_pass() -> bool:
    """Whether the holders of instances can be found in the same pass as the instances
    (the pass in C asks what type each reference has); in Python they take a second."""
    return _accel is not None


def walk(codes: Iterable[types.CodeType], classes: Iterable[type],
         referenced: Iterable[Any] = (), namespace: dict[str, Any] | None = None,
         qualnames: frozenset[str] = frozenset(), holders_of: Iterable[type] = ()) -> Found:
    """One pass: functions running `codes`, direct instances of `classes`, and the
    containers (dicts, lists, cells) that hold one of `referenced`. With a module's
    `namespace`, also the functions over it whose code has one of `qualnames`: closures
    made from an older copy of a nested function's code (one whose lines moved since).
    Where `one_pass`, also the `candidates`: what the pass found, the holders of direct
    instances of `holders_of` (classes whose instances must move) among them."""
    codes, classes, referenced = list(codes), list(classes), list(referenced)
    wanted = tuple(holders_of) if one_pass() else ()
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
    refs = referrers(targets, wanted)
    if _accel is not None:  # sorted in one loop in C
        kinds = tuple({id(c): c for c in classes}.values())
        functions, instances, boxes = _accel.sort(refs, kinds)
        for kind, these in zip(kinds, instances, strict=True):
            found.instances[id(kind)] = these
    else:  # sorted by ``map`` and ``compress``, in C too, type by type
        ids = list(map(id, map(type, refs)))
        functions = list(compress(refs, map(_FUNCTION.__eq__, ids)))
        _instances(refs, ids, found.instances)
        boxes = refs
    for ref in functions:
        if id(ref) not in own and (id(ref.__code__) in code_ids or (
                ref.__globals__ is namespace and ref.__code__.co_qualname in qualnames)):
            found.functions.append(ref)  # each at most once: `refs` lists it once
    boxes = containers(boxes, own) if ref_ids or wanted else []
    if ref_ids:  # (in C, only the boxes that hold one are looked into)
        holding = boxes if _accel is None else \
            _accel.Index(referenced, referenced).holders(boxes)
        _holders_of(holding, ref_ids, found.holders)
    if wanted:
        found.candidates = boxes
    return found


def _instances(refs: list[Any], kinds: list[int], instances: dict[int, list[Any]]) -> None:
    """Add to `instances` (class id -> its direct instances) those among `refs`, whose
    types' ids are `kinds`: sorted by ``compress`` in C, class by class when they are few."""
    if not instances:
        return
    wanted = list(map(instances.__contains__, kinds))
    hits, hit_kinds = list(compress(refs, wanted)), list(compress(kinds, wanted))
    if len(instances) <= 16:
        for cid, into in instances.items():
            into.extend(compress(hits, map(cid.__eq__, hit_kinds)))
    else:
        for ref, cid in zip(hits, hit_kinds, strict=True):
            instances[cid].append(ref)


def _holders_of(boxes: Iterable[Any], ref_ids: set[int], holders: dict[int, list[Any]]) -> None:
    """Add to `holders` (target's id -> containers) each of `boxes` that holds a target."""
    for box in boxes:
        inside = held(box)
        if not ref_ids.isdisjoint(map(id, inside)):
            for i in dict.fromkeys(i for i in map(id, inside) if i in ref_ids):
                holders[i].append(box)


def containers(pool: list[Any], skip: Collection[int] = ()) -> list[Any]:
    """The rewritable containers (see `as_container`) of the objects in `pool` not in
    `skip` (ids), each once. Whether an object can be one is its type's question, asked
    once per type: a heap of instances with no attribute dict costs a ``map`` in C."""
    kinds = list(map(type, pool))
    distinct = dict(zip(map(id, kinds), kinds, strict=True))
    able = {i for i, kind in distinct.items() if _may_hold(kind)}
    out: list[Any] = []
    seen: set[int] = set()
    for ref in compress(pool, map(able.__contains__, map(id, kinds))):
        box = None if id(ref) in skip else as_container(ref)
        if box is not None and id(box) not in seen:
            seen.add(id(box))
            out.append(box)
    return out


def _may_hold(kind: type) -> bool:
    """Whether `as_container` can find a container in an object of type `kind`."""
    if kind in _BOXES:
        return True
    if issubclass(kind, type):
        return False
    return bool(type.__getattribute__(kind, "__dictoffset__")) or \
        issubclass(kind, types.ModuleType)


def referrers(targets: list[Any], types: tuple[type, ...] = ()) -> list[Any]:
    """The GC-tracked objects holding a direct reference to one of `targets` (what
    ``gc.get_referrers(*targets)`` answers, less its own argument tuple, which 3.13 lists),
    or to an object whose type is one of `types` (only where `one_pass`), in one pass over
    the heap: ``gc.get_referrers`` itself for a few targets; for many (a slot change on a
    class with thousands of instances), whose cost would otherwise grow with each one, the
    pass in C or else a `scan`."""
    if _accel is not None and (types or len(targets) >= ACCEL_FROM):
        return _accel.referrers(tuple(targets), types)
    if types:
        raise ValueError("only the pass in C (hotswap._scan) asks the types of what is held")
    if len(targets) >= min(BY_TYPE_FROM, BY_ID_FROM):
        by_type = all(type(t).__flags__ & _HEAPTYPE for t in targets) and _identity_hashing()
        if len(targets) >= (BY_TYPE_FROM if by_type else BY_ID_FROM):
            return scan(targets, by_type)
    args = tuple(targets)
    return [r for r in gc.get_referrers(*args) if r is not args]


def scan(targets: list[Any], by_type: bool) -> list[Any]:
    """`referrers` by listing the heap once and asking it in chunks, all in C
    (``gc.get_referents`` over a chunk, ``map``, ``set.isdisjoint``), whether what a chunk
    refers to has a target's type (`by_type`, which hashes classes: see
    `_identity_hashing`), or else a target's id; only a chunk that does is looked into.
    The listing holds a reference to everything until this returns: callers that compare
    reference counts do so after."""
    missed = set(map(id, targets)).isdisjoint
    unseen = set(map(type, targets)).isdisjoint if by_type else None
    refs = gc.get_referents
    everything = gc.get_objects()
    found: list[Any] = []  # made after the listing, which must not include it
    for start in range(0, len(everything), _OUTER):
        chunk = everything[start:start + _OUTER]
        if unseen(map(type, refs(*chunk))) if unseen else missed(map(id, refs(*chunk))):
            continue
        for at in range(0, len(chunk), _INNER):
            part = chunk[at:at + _INNER]
            if not missed(map(id, refs(*part))):
                found.extend(o for o in part if not missed(map(id, refs(o))))
    return found


def frozen_note() -> str | None:
    """What the walk cannot see, when something is out of its sight. ``gc.freeze()`` (a
    server that forks its workers from a warmed-up process) moves every tracked object to
    a generation that neither ``gc.get_referrers`` nor ``gc.get_objects`` lists. Unfreezing
    them for the walk could not be undone exactly (freezing again takes along every object
    made since), so the walk looks only at the rest, and the report says so."""
    count = gc.get_freeze_count()
    if count <= _frozen.AT_IMPORT:  # CPython's own, and whatever was frozen before us
        return None
    return (f"{count} object(s) frozen by gc.freeze() are out of the heap walk's sight: "
            "closures, instances and references among them that this update changes keep "
            "the old version (gc.unfreeze() before the update lets the walk reach them)")


def _identity_hashing() -> bool:
    """Whether every class alive hashes by identity: no metaclass defines ``__hash__``
    (or ``__eq__`` alone, which unsets it). Then a set of classes can be asked about the
    type of every object in the heap without running any of the program's code."""
    todo: list[type] = [type]
    seen: set[int] = set()
    while todo:
        meta = todo.pop()
        if id(meta) in seen:
            continue
        seen.add(id(meta))
        if type.__getattribute__(meta, "__hash__") is not object.__hash__:
            return False
        todo.extend(type.__subclasses__(meta))
    return True


def as_container(ref: Any) -> Any:
    """The rewritable container through which `ref` holds things: itself for a dict, list,
    set or cell; an instance's attribute dict (which CPython may keep inline until asked)."""
    kind = type(ref)
    if kind in _BOXES:
        return ref
    if issubclass(kind, type):
        return None
    return instance_dict(ref)


def held(container: Any) -> list[Any]:
    """What a dict (its values and its keys: a registry keyed by a class, a table keyed by
    instances), list, set or cell holds."""
    if type(container) is dict:
        return [*container.values(), *container]
    if type(container) in (list, set):
        return list(container)
    try:
        return [container.cell_contents]
    except ValueError:
        return []
