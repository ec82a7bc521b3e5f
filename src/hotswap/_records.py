"""Registrations made again: when decorators run again on a def whose shape changed,
the registration they make (a route in a list, a command in a group) takes the place of
the one made with the old shape, instead of being added beside it.

Either the old registration object becomes the new one (an adapter's ``rebuild``: every
holder sees the new shape) or the new object takes the old one's position in each list
holding it. Records are recognised by the function they were made from: an adapter's
``refers``, or generically an attribute holding the re-derived function.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._plain import dataclass
from . import _frameworks
from ._ops import Call, Op

if TYPE_CHECKING:
    from ._derive import Rederived, Update
    from ._patch.rebind import Rebinder
    from ._registries import Delta
    from ._report import Report
    from ._stage import Staged

FunctionType = types.FunctionType


def refers(record: Any, fns: dict[int, Any],
           adapters: list[_frameworks.Adapter]) -> tuple[Any, _frameworks.Adapter | None]:
    """The re-derived function (one of `fns`) `record` was made from, and the adapter
    that knows the record (None: found generically, as one of its attributes)."""
    if type(record) is FunctionType or isinstance(record, type):
        return None, None
    known = _frameworks.refers(record, adapters)
    if known is not None:
        fn, adapter = known
        return (fn, adapter) if id(fn) in fns else (None, None)
    attrs = getattr(record, "__dict__", None)
    if type(attrs) is dict:
        for value in attrs.values():
            if type(value) is FunctionType and id(value) in fns:
                return value, None
    return None, None


class _Records:
    """Matching each new registration with the one it replaces."""

    def __init__(self, fns: dict[int, Any], plan: Any, update: Update) -> None:
        self.fns = fns
        self.plan = plan
        self.update = update
        self.adapters = _frameworks.active()
        self.claimed: set[int] = set()
        self.rebuilt: dict[int, Any] = {}  # id(new record) -> the old one it is made into

    def pair(self, new: Any, olds: Iterable[Any]) -> tuple[Any, Any] | None:
        fn, adapter = refers(new, self.fns, self.adapters)
        if fn is None:
            return None
        for old in olds:
            if type(old) is type(new) and old is not new and id(old) not in self.claimed \
                    and refers(old, self.fns, self.adapters)[0] is fn:
                self.claimed.add(id(old))
                return old, adapter
        return None

    def rebuild(self, old: Any, new: Any, adapter: Any) -> bool:
        """Plan `old` to become `new` in place, if its adapter can; True if planned."""
        if adapter is None or type(adapter).rebuild is _frameworks.Adapter.rebuild:
            return False
        undo: list[Callable[[], None] | None] = []

        def do() -> None:
            undo.append(adapter.rebuild(old, new))

        def back() -> None:
            if undo and undo[0] is not None:
                undo[0]()
        self.plan.add(Call(do, back, f"re-derive {type(old).__qualname__} in place"))
        self.update.records.append((old, new))
        self.rebuilt[id(new)] = old
        return True


def plan_records(staged: Staged, live: dict[str, Any], plan: Any, rebind: Rebinder,
                 report: Report, update: Update) -> None:
    """Registrations made again by re-run decorators take the place of the ones made
    with the old shape: the old object becomes the new one (adapters that can), or the
    new object takes the old one's position in each list holding it. Edits
    `staged.registrations` so the generic registry edits do not append them again."""
    redone: list[Rederived] = staged.rederived
    fns = {id(r.fn): r.fn for r in redone if r.fn is not None}
    records = _Records(fns, plan, update)
    for r in redone:
        r.new = staged.namespace.get(r.name)
        if r.old is None or r.new is None or r.old is r.new:
            continue
        found = records.pair(r.new, [r.old])
        if found is not None and records.rebuild(found[0], r.new, found[1]):
            rebind.canonical[id(r.new)] = found[0]
            staged.keep.append(r.new)
    for delta in staged.registrations:
        if type(delta.container) is list:
            _list_records(delta, records, rebind, staged)
    update.functions.extend(fns.values())


def _list_records(delta: Delta, records: _Records, rebind: Rebinder, staged: Staged) -> None:
    before_ids = {id(x) for x in delta.before}
    after = list(delta.after)
    records.claimed = set()  # each list holds a registration once
    for new in [x for x in delta.after if id(x) not in before_ids]:
        mapped = records.rebuilt.get(id(new))
        if mapped is not None and id(mapped) in before_ids:  # made into the old one already
            after = _in_place_of(after, new, mapped, delta.before)
            continue
        found = records.pair(new, delta.before)
        if found is None:
            continue
        old, adapter = found
        after = _in_place_of(after, new, old, delta.before)
        if not records.rebuild(old, new, adapter):
            records.plan.add(ReplaceEntry(delta.container, old, new))
            records.update.records.append((old, new))
        else:
            rebind.canonical[id(new)] = old
            staged.keep.append(new)
    delta.after = after
    _keep_order(delta, records, rebind)


def _keep_order(delta: Delta, records: _Records, rebind: Rebinder) -> None:
    """Registration records staging inserted before existing entries (Starlette puts a
    new middleware first) keep that place: the generic registry edit would append them,
    and the order of such a list is what the framework runs."""
    before_ids = {id(x) for x in delta.before}
    after = delta.after
    added = [i for i, x in enumerate(after) if id(x) not in before_ids]
    if not added or added == list(range(len(after) - len(added), len(after))) or any(
            type(after[i]) is FunctionType or isinstance(after[i], type) for i in added):
        return
    records.plan.add(SetList(delta.container, [rebind.fix(x) for x in after]))
    delta.after = list(delta.before)  # planned here: nothing left for the generic edit


@dataclass
class SetList(Op):
    """Give a list the contents staging left in it, in staging's order."""

    container: list[Any]
    contents: list[Any]

    def apply(self) -> Callable[[], None]:
        lst = self.container
        before = list(lst)
        lst[:] = self.contents

        def undo() -> None:
            lst[:] = before
        return undo


def _in_place_of(after: list[Any], new: Any, old: Any, before: list[Any]) -> list[Any]:
    """`after` without `new`, and with `old` where it stood (staging may have withdrawn
    it): the generic registry edit then leaves this entry alone."""
    out = [x for x in after if x is not new]
    if not any(x is old for x in out):
        out.insert(min(_index(before, old), len(out)), old)
    return out


def _index(lst: list[Any], obj: Any) -> int:
    for i, x in enumerate(lst):
        if x is obj:
            return i
    return len(lst)


@dataclass
class ReplaceEntry(Op):
    """Put `new` in `old`'s position in a list (a registration made again)."""

    container: list[Any]
    old: Any
    new: Any

    def apply(self) -> Callable[[], None]:
        lst = self.container
        at = [i for i, x in enumerate(lst) if x is self.old]
        for i in at:
            lst[i] = self.new

        def undo() -> None:
            for i in at:
                if i < len(lst) and lst[i] is self.new:
                    lst[i] = self.old
        return undo
