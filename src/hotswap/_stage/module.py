"""Staging a module body: every changed statement, in source order, in the namespace copy.

`stage` is the one entry point: it checks the ``from __future__`` imports, works out which
unchanged statements run again (they read a rebound name, or bind a name last now that the
one that did is gone), runs each statement in staging (definitions through `Stage`, class
bodies through `classes`), and notes the registering definitions gone from the source.
A failure puts back every registry staging touched and leaves the program as it was.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Sequence

from .. import _frameworks, _mutators, _report
from .._diff import (ANNOTATIONS, Change, Kind, ModuleDiff, Stmt, dirty_names, dump, future_flags,
                     with_refreshes)
from .._fresh import fails_fresh_too
from .._inputs import Inputs
from .._patch.docs import compiled
from .._patch.lines import at_current_lines
from .._readers import readers
from . import classes
from .body import BodyStager, Def, annotation_only
from .core import Stage, Staged, code_named, is_docstring


# what the import system sets before the module runs
_MODULE_ATTRS = frozenset({"__name__", "__file__", "__package__", "__spec__", "__loader__",
                           "__path__", "__cached__", "__builtins__"})


def _bind_live(st: Stage, name: str) -> None:
    """A definition staged in place (its live object keeps its identity, and staging may
    not have bound it) stands in the staging namespace for the statements below it."""
    if name not in st.ns and name in st.live:
        st.ns[name] = st.live[name]


def _check_future(diff: ModuleDiff, filename: str, flags: int) -> None:
    """``from __future__`` imports must lead the file. Of the features that change how a
    module compiles, only ``annotations`` changes so little (how annotations compile, see
    `_diff.annotated`) that the statements it touches can be staged anew; another one
    (``barry_as_FLUFL``) changes every statement: that cannot be applied live."""
    leading = True
    first: int | None = None  # the line of the first future import
    for i, s in enumerate(diff.new.stmts):
        for node in s.nodes:
            is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            if is_future and not leading:
                raise SyntaxError("from __future__ imports must occur at the beginning of the "
                                  "file", (filename, node.lineno, node.col_offset + 1, None))
            if is_future and first is None:
                first = node.lineno
            if not is_future and not (i == 0 and is_docstring(node)):
                leading = False
    if diff.old is not None and (future_flags(diff.old.stmts) ^ flags) & ~ANNOTATIONS:
        line = first or (diff.new.stmts[0].lineno if diff.new.stmts else 1)
        raise SyntaxError("the module's __future__ imports changed: every statement would "
                          "compile differently, so this cannot be applied live (restart)",
                          (filename, line, 1, None))


def touched(binding: set[int], stmts: list[Stmt]) -> set[int]:
    """`binding` (ids of the statements whose names the whole-module fallback binds live),
    plus the unchanged statements above one of them binding what it may change in place
    (``REG["x"] = 1``, ``REG.update(...)``, ``register(REG)``): the staged object it
    changed is the one to bind, or the change would be lost."""
    out = set(binding)
    for i, s in enumerate(stmts):
        if id(s) not in binding or s.definition is not None:
            continue
        for name in set().union(*(_changed_in_place(node) for node in s.nodes)):
            binder = next((b for b in reversed(stmts[:i]) if name in b.names), None)
            if binder is not None and binder.definition is None:
                out.add(id(binder))
    return out


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _changed_in_place(node: ast.stmt) -> set[str]:
    """Names whose values `node` may change in place: set items or attributes of, call
    methods of, pass to calls, update with ``+=``."""
    found: list[ast.expr] = []
    for n in ast.walk(node):
        if isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, ast.Store
                                                                            | ast.Del):
            found.append(n)
        elif isinstance(n, ast.AugAssign):
            found.append(n.target)
        elif isinstance(n, ast.Call):
            found.extend([n.func] if isinstance(n.func, ast.Attribute) else [])
            found.extend([*n.args, *(k.value for k in n.keywords)])
    return {r for r in map(_root, found) if r is not None}


def stage(module: types.ModuleType, filename: str, diff: ModuleDiff,
          stale: frozenset[str] = frozenset(), whole: bool = False,
          verdict: list[bool] | None = None) -> Staged:
    """Run every changed and added statement of `diff`, in source order, in staging.

    `stale` are globals already rebound from outside (``from a import X`` following
    ``a.X``): the unchanged statements reading them run again too, as a fresh import
    would compute them from the new values. `whole`: every statement of the new source
    runs (see `_diff.whole`). What each statement reads is what a fresh import reads at
    that point (see `_inputs`). `verdict`, when staging fails: gets whether a fresh
    import fails the same way (see `_fresh`)."""
    flags = future_flags(diff.new.stmts)
    _check_future(diff, filename, flags)
    return ModuleStager(Stage(module, filename, flags, diff.reannotated), diff, stale,
                        whole).stage(verdict)


class ModuleStager(BodyStager):
    """A module body staged: its changes, and the unchanged statements that run again."""

    def __init__(self, st: Stage, diff: ModuleDiff, stale: frozenset[str],
                 whole: bool) -> None:
        super().__init__(st, diff.old.stmts if diff.old is not None else None, diff.new.stmts)
        self.diff = diff
        self.whole = whole
        self.first = diff.new.stmts[0] if diff.new.stmts else None
        # A def or class already live keeps its identity, so it rebinds nothing; except a
        # class whose statement runs again as a whole: code generated from it (a dataclass
        # subclass's fields) must be generated again.
        live_defs = set(st.live) - classes.rebuilding(st, diff.new.stmts, diff.changes, stale)
        # A def run again unchanged (it reads a rebound name) comes with itself as its old
        # version; its live function stands where the old one stood, which a def sharing
        # its name is recognised by: give it the old statement it was shifted from.
        old_at = {s.start + d: s for s, d in diff.shifted}
        # unchanged statements run again for what they change in place (see `_mutators`)
        self.why: dict[int, str] = {}

        def with_changers(changes: list[Change]) -> list[Change]:
            changes, self.why = _mutators.follow(diff.new.stmts, changes, live_defs, stale,
                                                 st.live)
            return changes
        self.changes = self.to_run(
            diff.changes, diff.removed, live_defs, stale, refresh=not whole,
            old_version=lambda s: old_at.get(s.start) if s.kind is Kind.DEF else None,
            grow=with_changers)
        self.keeper = _mutators.Keeper(st.ns, diff.new.stmts, self.why,
                                       _mutators.reaches_module(st.live, diff.new.stmts))
        # Run whole, the module still binds live only what the fast path would: the
        # changed statements and those reading what they rebind; the others keep their
        # live values.
        self.binding = touched({id(c.new) for c in with_refreshes(
            diff.new.stmts, [c for c in self.changes if not c.refresh], live_defs, stale)},
            diff.new.stmts) if whole else None
        st.dirty = dirty_names(self.changes, live_defs) | stale
        st.out.for_report.refreshed = sum(c.refresh for c in self.changes)
        self.inputs = Inputs(st, diff.new.stmts, self.last)

    def stage(self, verdict: list[bool] | None) -> Staged:
        """Stage every change; on failure, put back what staging touched and re-raise."""
        st, diff = self.st, self.diff
        if self.whole:  # as in a fresh import, a name the source binds is unbound until it does
            for name in set().union(*(s.names for s in diff.new.stmts)) - _MODULE_ATTRS:
                st.ns.pop(name, None)
        self.note_derived()
        late_setup = _frameworks.late_setup()  # decorators may run again on a started app
        late_setup.__enter__()
        try:
            self.run(self.changes)
            self.note_removed(diff.removed, diff.changes, st.live.get)
            for gone in diff.removed:
                _warn_old_effects(st, gone, diff.new.stmts)
            st.out.withdrawals = st.watch.withdrawals(st.removed)
        except BaseException:
            late_setup.__exit__(None, None, None)
            if verdict is not None:
                try:
                    verdict.append(fails_fresh_too(st, diff.new.stmts))
                except Exception:  # noqa: BLE001  # undecided: the fallback decides
                    verdict.append(False)
            st.watch.revert()
            st.out.handed.settle()
            st.out.restore()
            raise
        late_setup.__exit__(None, None, None)
        st.out.registrations = st.watch.take()
        st.out.clear_caches = st.watch.clear_caches
        st.out.handed.settle()
        return st.out

    def note_derived(self) -> None:
        """The unchanged statements deriving from a definition whose shape changed: those
        safe to run again are compiled for the plan, the others become warnings."""
        st = self.st
        safe, st.out.for_report.warnings = readers(self.new, self.changes, st.filename)
        for s, name in safe:
            text = ast.unparse(s.nodes[0]).splitlines()[0][:60]
            st.out.derived.append((st.compile([at_current_lines(n, s) for n in s.nodes]),
                                   f"line {s.lineno}: {text} (it reads {name}, which changed)",
                                   name, frozenset(s.names - self.final)))

    # -- each statement -----------------------------------------------------------------

    def before(self, change: Change) -> None:
        if not self.whole:
            self.inputs.before(change)
            self.st.inputs, self.st.current = self.inputs, change.new

    def on_def(self, change: Change, node: Def) -> None:
        st = self.st
        body: list[ast.stmt] = []

        def code_of(probe: ast.stmt) -> types.CodeType | None:
            return code_named(st.compile([probe]), node.name)

        self.stage_def(change, node, node.name, st.live.get, body, code_of)
        try:
            st.run(body)
        finally:
            st.give_back()
        self.ran(change, node)

    def on_class(self, change: Change, node: ast.ClassDef) -> None:
        try:
            classes.stage_class(self.st, change, node)
        finally:
            self.st.give_back()
        self.ran(change, node)

    def on_text(self, change: Change) -> None:
        stmt = change.new
        if stmt is not self.first or change.refresh:
            self.on_other(change)  # a string statement, not the docstring
            return
        self.st.ns["__doc__"] = compiled(stmt.nodes[0].value.value)  # type: ignore[attr-defined]  # an Expr
        self.st.out.bound.append("__doc__")

    def on_other(self, change: Change) -> None:
        st, stmt = self.st, change.new
        if self.keeper.run(stmt, st.run,
                           [at_current_lines(n, stmt) for n in annotation_only(change)]):
            if any(isinstance(n, ast.AnnAssign) and n.simple for n in stmt.nodes) \
                    and "__annotations__" not in st.out.bound:
                st.out.bound.append("__annotations__")  # it stored an annotation anew
            if change.old is not None:
                st.pair_lambdas(change)
            text = ast.unparse(stmt.nodes[0]).splitlines()[0]
            st.out.for_report.rerun.append(
                f"line {stmt.lineno}: {text[:60]}{self.why.get(id(stmt), '')}")
            if change.old is not None:
                _warn_old_effects(st, change.old, self.diff.new.stmts)
        self.ran(change, None)

    def ran(self, change: Change, node: Def | ast.ClassDef | None) -> None:
        """After a statement ran: note the names whose final value it bound, except, run
        whole, those of an unchanged statement that only computed the others."""
        st, stmt = self.st, change.new
        if self.whole and node is not None:
            _bind_live(st, node.name)
        self.inputs.done(stmt)
        if self.binding is not None and change.refresh and id(stmt) not in self.binding:
            if node is None:
                st.out.for_report.again.append(st.out.for_report.rerun.pop())
                return  # its names keep their live values
            if node.decorator_list:
                st.out.for_report.again.append(
                    f"line {stmt.lineno}: @... {stmt.kind.value} {node.name}")
        st.out.bound.extend(n for n in sorted(stmt.names)
                            if n in self.final and self.last[n] is stmt)


def _warn_old_effects(st: Stage, old: Stmt, new: list[Stmt]) -> None:
    """Warn of an old statement (gone, or changed) whose effect on module objects stays:
    unless it only set items or attributes that a statement of the `new` source sets
    again (``TABLE["a"] = f`` become ``TABLE["a"] = g``)."""
    changed = changed_in_place(old.nodes) if old.definition is None else []
    if not changed:
        return
    set_again = {dump(t) for s in new for n in s.nodes if isinstance(n, ast.Assign)
                 for t in n.targets}
    if all(isinstance(n, ast.Assign) and all(dump(t) in set_again for t in n.targets)
           for n in old.nodes):
        return
    text = ast.unparse(old.nodes[0]).splitlines()[0][:60]
    st.out.for_report.warnings.append(_report.old_effects_stay(old.lineno, text, changed))


def changed_in_place(nodes: Sequence[ast.stmt]) -> list[str]:
    """The module names whose objects the statements change in place when they run: the
    object a method is called on (``HANDLERS.append(h)``), an item or attribute set or
    deleted (``TABLE[k] = v``, ``del app.x``). A name bound anew is not among them: its
    old object is dropped, not changed."""
    out: list[str] = []
    for node in nodes:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            targets = [node.value.func] if isinstance(node.value.func, ast.Attribute) else []
        elif isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute | ast.Subscript):
                root: ast.expr = target.value
                while isinstance(root, ast.Attribute | ast.Subscript | ast.Call):
                    root = root.func if isinstance(root, ast.Call) else root.value
                if isinstance(root, ast.Name) and root.id not in out:
                    out.append(root.id)
    return out
