"""Derived state: what frameworks build from a definition follows the definition.

A framework derives objects from a def when its decorator runs (a route with the
parsed signature, a command with its options) and from a class when it is created (a
validator from the fields). Patching a body in place refreshes none of that. So:

- a decorated def whose *shape* changed (signature, defaults, annotations, decorator
  arguments, async-ness, docstring) runs its decorators again, on the live function
  (`shape_changed`, asked by staging); a body-only edit never does;
- the registration those decorators make replaces, in place, the one made with the
  old shape (`hotswap._records`): either the old registration object becomes the new one
  (an adapter's ``rebuild``: whoever holds it sees the new shape), or the new object
  takes the old one's position in the lists that hold it;
- a class generated from its body (an adapter's ``generated``) is rebuilt when its
  fields change, like a dataclass (`generated`);
- adapters then re-derive what embeds the changed definitions and clear caches
  (`after`), and the safety net (`hotswap._stale`) names every object outside the
  module that still holds a function whose signature changed, or a class rebuilt from
  its body, and was not re-derived.

The framework-specific parts live in `hotswap._frameworks`.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._plain import dataclass, field
from . import _frameworks, _stale
from ._diff import dump
from ._ops import Op
from ._records import plan_records as plan_records  # the planner's entry point

if TYPE_CHECKING:
    from ._report import Report
    from ._stage import Staged

FunctionType = types.FunctionType
_DEF = (ast.FunctionDef, ast.AsyncFunctionDef)


def _docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    return ast.get_docstring(node, clean=False)


def shape_changed(old: ast.stmt | None, new: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether decorators reading the def would derive something else from `new` than
    from `old`: its signature, defaults, annotations, kind (async or not) or docstring
    changed. (Changed decorator expressions are staging's own test.)"""
    if not isinstance(old, _DEF):
        return False
    return (type(old) is not type(new) or dump(old.args) != dump(new.args)
            or dump(old.returns) != dump(new.returns)
            or _docstring(old) != _docstring(new))


_WRAPPER_MODULES = frozenset({"builtins", "functools", "abc", "typing", "contextlib"})


def derives(holder: Any, raw: FunctionType | None) -> bool:
    """Whether a decorated def's decorators derived something from its shape, as far as
    what they returned (`holder`) tells: a registering decorator returns the function
    itself (and kept what it derived elsewhere), a framework returns an object made from
    it (a command). A wrapper function, or one of the standard library's (a cache, a
    property, a static method), reads the function only when called: patched in place,
    it follows the new shape. A decorator returning the function itself may have
    registered it anywhere (``atexit.register``): it runs again only while a framework
    adapter is active, whose registrations can be recognised and replaced."""
    if holder is None or raw is None:
        return False
    if holder is raw:
        return bool(_frameworks.active())
    if type(holder) is FunctionType:
        return False
    return type(holder).__module__ not in _WRAPPER_MODULES


def generated(cls: type) -> bool:
    """Whether an active adapter says `cls` is generated from its body (fields)."""
    return any(a.generated(cls) for a in _frameworks.active())


def refusal(cls: type) -> tuple[str, str] | None:
    """(framework, reason) when an adapter cannot rebuild `cls` live."""
    for adapter in _frameworks.active():
        if adapter.generated(cls):
            why = adapter.refuse(cls)
            if why is not None:
                return adapter.name, why
    return None


def fill(new: type, live: type) -> tuple[dict[str, Callable[[], Any]], list[str]]:
    """New fields' defaults for old instances, and removed fields, per the adapters."""
    for adapter in _frameworks.active():
        if adapter.generated(live):
            return adapter.fill(new, live)
    return {}, []


@dataclass
class Rederived:
    """A def whose decorators ran again: its live function, what the name was bound to
    before, and what the decorators returned (both maybe registration objects)."""

    fn: FunctionType | None
    name: str
    old: Any
    new: Any = None


@dataclass
class Update:
    """What one update changed that adapters re-derive from, handed to ``after``."""

    module: types.ModuleType
    functions: list[FunctionType] = field(default_factory=list)  # patched or re-derived
    classes: list[type] = field(default_factory=list)  # rebuilt from their body
    records: list[tuple[Any, Any]] = field(default_factory=list)  # (old, new) registrations
    reshaped: list[FunctionType] = field(default_factory=list)  # signature changed
    containers: list[Any] = field(default_factory=list)  # registries the update edits
    report: Report | None = None
    # what adapters re-derive in ``after`` (a route rebuilt from its own arguments): the
    # safety net does not name it
    rederived: list[Any] = field(default_factory=list)
    # the referrers of `watched` found by the update's heap walk (None: it made none)
    walked: list[Any] | None = None
    # hotswap's own records (see _stale.stale_holders), asked only if the net searches
    ours: Callable[[], list[Any]] = list


def after(update: Update) -> list[Op]:
    """The adapters' re-derivations and cache clears, applied last."""
    ops: list[Op] = []
    for adapter in _frameworks.active():
        ops.extend(adapter.after(update))
    return ops


def lend_shape(live: FunctionType, new: FunctionType) -> Callable[[], None]:
    """Let decorators run again on the live function read the new definition's shape:
    its signature (``inspect.signature`` reads ``__signature__``) and docstring, while
    its code and defaults stay the old ones until the update applies (other threads may
    call it meanwhile). Returns what gives the function its own shape back."""
    import inspect

    doc = live.__doc__
    had = "__signature__" in live.__dict__
    before = live.__dict__.get("__signature__")
    try:
        signature = inspect.signature(new)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        live.__dict__["__signature__"] = signature
    live.__doc__ = new.__doc__

    def give_back() -> None:
        live.__doc__ = doc
        if had:
            live.__dict__["__signature__"] = before
        else:
            live.__dict__.pop("__signature__", None)
    return give_back


def watched(staged: Staged) -> list[Any]:
    """What the safety net looks for (see `finish`): functions whose signature changed,
    classes rebuilt from their body and what the rebuild replaces in them. The update's
    heap walk, when it makes one, looks for them too (one pass, not two)."""
    classes, parts = _stale.rebuilt_parts(staged.classes)
    return [*_stale.reshaped(staged.patches), *classes, *(obj for obj, _ in parts.values())]


def finish(staged: Staged, plan: Any, update: Update) -> None:
    """The end of planning: the adapters' re-derivations, applied after every other
    change, and the safety net's report of stale holders."""
    update.classes.extend(e.cls for e in staged.classes if e.rebuilt)
    update.functions.extend(p.live for p in staged.patches if not p.layout)
    _report_frames(staged, update)
    changed = update.reshaped = _stale.reshaped(staged.patches)
    update.containers = [delta.container for delta in staged.registrations]
    for op in after(update):  # each adapter tells whether the update concerns it
        plan.add(op)
    classes, parts = _stale.rebuilt_parts(staged.classes)
    if (changed or classes) and update.report is not None:
        exempt: list[Any] = [x for pair in update.records for x in pair]
        exempt.extend(r.old for r in staged.rederived)
        exempt.extend(update.rederived)
        _stale.stale_holders(changed, exempt, update.module, update.report, classes, parts,
                             walked=update.walked, ours=set(map(id, update.ours())))
    update.walked = None


def refuse_rebuild(st: Any, live: Any, node: ast.ClassDef) -> None:
    """Refuse (UpdateError, nothing changed) to rebuild a class its framework's adapter
    says cannot be rebuilt live, naming the class, the framework and the reason."""
    found = refusal(live)
    if found is None:
        return
    from ._errors import UpdateError

    framework, why = found
    raise UpdateError(f"{st.filename}:{node.lineno}: cannot update {st.modname}."
                      f"{live.__qualname__} live ({framework}): {why}; nothing was changed "
                      "(restart the program to apply this edit)",
                      module=st.modname, filename=st.filename, lineno=node.lineno,
                      restart=True)


def instances(cls: type) -> Callable[[Any, list[str], list[str]], Callable[[], None]] | None:
    """The adapter's fix-up of an old instance of a rebuilt class, given the fields it
    was given and the ones taken from it (None: nothing beyond its ``__dict__``)."""
    for adapter in _frameworks.active():
        if adapter.generated(cls):
            return adapter.instance
    return None


@dataclass
class TwinFill(Op):
    """Give an instance moved to a replacing class's layout the default of each field
    the class gained (an attrs field added to a slotted class), if the move put it in
    place and the field is unset."""

    twin: Any
    move: Any  # the MoveInstances op that puts twins in place
    values: dict[str, Callable[[], Any]]

    def __init__(self, twin: Any, move: Any, values: dict[str, Callable[[], Any]]) -> None:
        # written out, not made by _plain: one is made for each old instance
        self.twin, self.move, self.values = twin, move, values

    def apply(self) -> Callable[[], None]:
        twin = self.twin
        if id(twin) not in self.move.installed:
            return lambda: None
        done = []
        for name, make in self.values.items():
            try:
                object.__getattribute__(twin, name)
                continue
            except AttributeError:
                pass
            object.__setattr__(twin, name, make())
            done.append(name)

        def undo() -> None:
            for name in done:
                try:
                    object.__delattr__(twin, name)
                except AttributeError:
                    pass
        return undo


def _report_frames(staged: Staged, update: Update) -> None:
    """Name the changed functions that running frames still execute the old code of."""
    from ._frames import describe, old_frames

    name = update.module.__name__
    olds = [(f"{name}.{p.name}", p.live.__code__) for p in staged.patches
            if not p.layout and p.live.__code__ is not p.new.__code__]
    if update.report is None or not olds:
        return
    for label, counts in old_frames(olds).items():
        update.report.skip(label, describe(counts))


def check_kind(old: ast.stmt, new: ast.FunctionDef | ast.AsyncFunctionDef, filename: str,
               name: str) -> None:
    """A def whose decorators derive from it and that turned from ``def`` into ``async
    def`` (or back) is refused: they would read the old kind of the live function while
    running again (its code changes only when the update applies), and a framework would
    call it the old way."""
    if type(old) is type(new):
        return
    from ._errors import UpdateError

    kinds = {ast.FunctionDef: "def", ast.AsyncFunctionDef: "async def"}
    raise UpdateError(f"{filename}:{new.lineno}: cannot update {name} live: it turned from "
                      f"{kinds[type(old)]} into {kinds[type(new)]}, and what its decorators "
                      "derived from it (how a framework calls it) cannot be re-derived while "
                      "it runs the old code; nothing was changed (restart the program to "
                      "apply this edit)", module=name.rsplit(".", 1)[0], filename=filename,
                      lineno=new.lineno, restart=True)
