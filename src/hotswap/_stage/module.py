"""Staging a module body: every changed statement, in source order, in the namespace copy.

`stage` is the one entry point: it checks the ``from __future__`` imports, works out which
unchanged statements run again (they read a rebound name, or bind a name last now that the
one that did is gone), runs each statement in staging (definitions through `Stage`, class
bodies through `classes`), and notes the registering definitions gone from the source.
A failure puts back every registry staging touched and leaves the program as it was.
"""

from __future__ import annotations

import __future__
import ast
import sys
import types

from .. import _frameworks
from .._diff import Change, ModuleDiff, Stmt, dirty_names, final_names, with_refreshes
from .._fresh import fails_fresh_too
from .._inputs import Inputs
from .._patch.lines import at_current_lines
from .._readers import readers
from . import classes
from .core import (Stage, Staged, code_named, is_docstring, last_binders, shared_def_names,
                   with_new_last_defs)


def future_flags(stmts: list[Stmt]) -> int:
    """Compiler flags of the module's ``from __future__`` imports (they lead the file)."""
    flags = 0
    for s in stmts:
        if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__" or is_docstring(n)
                   for n in s.nodes):
            break
        for node in s.nodes:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                for alias in node.names:
                    feature = getattr(__future__, alias.name, None)
                    if feature is not None:
                        flags |= feature.compiler_flag
    return flags


def significant(flags: int) -> int:
    """Of a module's ``__future__`` flags, those that change how it compiles here: a feature
    mandatory in the running Python (``absolute_import``, ``generator_stop``...) compiles
    the same with or without its import, so adding or removing one is a plain edit."""
    for name in __future__.all_feature_names:
        feature = getattr(__future__, name)
        mandatory = feature.getMandatoryRelease()
        if mandatory is not None and mandatory <= sys.version_info:
            flags &= ~feature.compiler_flag
    return flags


# what the import system sets before the module runs
_MODULE_ATTRS = frozenset({"__name__", "__file__", "__package__", "__spec__", "__loader__",
                           "__path__", "__cached__", "__builtins__"})


def _bind_live(st: Stage, name: str) -> None:
    """A definition staged in place (its live object keeps its identity, and staging may
    not have bound it) stands in the staging namespace for the statements below it."""
    if name not in st.ns and name in st.live:
        st.ns[name] = st.live[name]


def _check_future(diff: ModuleDiff, filename: str, flags: int) -> None:
    """``from __future__`` imports must lead the file, and changing them changes how every
    statement compiles: that cannot be applied live."""
    leading = True
    for i, s in enumerate(diff.new.stmts):
        for node in s.nodes:
            is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            if is_future and not leading:
                raise SyntaxError("from __future__ imports must occur at the beginning of the "
                                  "file", (filename, node.lineno, node.col_offset + 1, None))
            if not is_future and not (i == 0 and is_docstring(node)):
                leading = False
    if diff.old is not None and significant(future_flags(diff.old.stmts)) != significant(flags):
        raise SyntaxError("the module's __future__ imports changed: every statement would "
                          "compile differently, so this cannot be applied live (restart)",
                          (filename, diff.new.stmts[0].lineno if diff.new.stmts else 1, 1, None))


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
    st = Stage(module, filename, flags)
    final = final_names(diff.new.stmts)
    last = last_binders(diff.new.stmts)
    shared = shared_def_names(diff.old.stmts) if diff.old is not None else set()
    shared_now = shared_def_names(diff.new.stmts)
    first = diff.new.stmts[0] if diff.new.stmts else None
    # A def or class already live keeps its identity, so it rebinds nothing; except a
    # class whose statement runs again as a whole: code generated from it (a dataclass
    # subclass's fields) must be generated again.
    live_defs = set(st.live) - classes.rebuilding(st, diff.new.stmts, diff.changes, stale)
    changes = diff.changes if whole else with_refreshes(diff.new.stmts, diff.changes,
                                                         live_defs, stale)
    # Run whole, the module still binds live only what the fast path would: the changed
    # statements and those reading what they rebind; the others keep their live values.
    binding = touched({id(c.new) for c in with_refreshes(
        diff.new.stmts, [c for c in changes if not c.refresh], live_defs, stale)},
        diff.new.stmts) if whole else None
    if diff.old is not None:
        changes = with_new_last_defs(diff.old.stmts, diff.removed, changes, last)
    # A def run again unchanged (it reads a rebound name) comes with itself as its old
    # version; its live function stands where the old one stood, which a def sharing its
    # name is recognised by: give it the old statement it was shifted from.
    old_at = {s.start + d: s for s, d in diff.shifted}
    changes = [Change(c.new, old_at.get(c.new.start, c.old), c.layout, c.refresh)
               if c.refresh and c.old is c.new and c.new.definition is not None
               and c.new.definition[0] == "def" else c
               for c in changes]
    st.dirty = dirty_names(changes, live_defs) | stale
    st.out.refreshed = sum(c.refresh for c in changes)
    inputs = Inputs(st, diff.new.stmts, last)
    if whole:  # as in a fresh import, a name the source binds is unbound until it does
        for name in set().union(*(s.names for s in diff.new.stmts)) - _MODULE_ATTRS:
            st.ns.pop(name, None)
    safe, st.out.warnings = readers(diff.new.stmts, changes, filename)
    for s, name in safe:
        text = ast.unparse(s.nodes[0]).splitlines()[0][:60]
        st.out.derived.append((st.compile([at_current_lines(n, s) for n in s.nodes]),
                               f"line {s.lineno}: {text} (it reads {name}, which changed)",
                               name, frozenset(s.names - final)))
    late_setup = _frameworks.late_setup()  # decorators may run again on a started app
    late_setup.__enter__()
    try:
        for change in changes:
            stmt = change.new
            kind = stmt.definition
            if not whole:
                inputs.before(change)
                st.inputs, st.current = inputs, stmt
            if kind is not None and kind[0] == "def":
                node = stmt.nodes[0]
                assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                body: list[ast.stmt] = []
                line = change.old.start + 1 if change.old and node.name in shared else None
                # A def added beside others of its name (``@f.register def _``) is a new
                # function: the live one bound to the name is another def's.
                holder = None if change.old is None and node.name in shared_now \
                    else st.live.get(node.name)
                st.function(change, node, holder, node.name, body,
                            # called before the loop moves on, so `node` is this one (B023);
                            # mypy does not carry the isinstance above into a lambda
                            lambda probe: code_named(st.compile([probe]),
                                                     node.name),  # type: ignore[attr-defined]  # noqa: B023
                            line)
                try:
                    st.run(body)
                finally:
                    st.give_back()
                if whole:
                    _bind_live(st, node.name)
            elif kind is not None and kind[0] == "class":
                node = stmt.nodes[0]
                assert isinstance(node, ast.ClassDef)
                try:
                    classes.stage_class(st, change, node)
                finally:
                    st.give_back()
                if whole:
                    _bind_live(st, node.name)
            elif stmt is first and len(stmt.nodes) == 1 and is_docstring(stmt.nodes[0]) \
                    and not change.refresh:
                st.ns["__doc__"] = stmt.nodes[0].value.value  # type: ignore[attr-defined]  # an Expr
                st.out.bound.append("__doc__")
                continue
            else:
                st.run([at_current_lines(n, stmt) for n in stmt.nodes])
                if change.old is not None:
                    st.pair_lambdas(change)
                text = ast.unparse(stmt.nodes[0]).splitlines()[0]
                st.out.rerun.append(f"line {stmt.lineno}: {text[:60]}")
            inputs.ran(stmt)
            if binding is not None and change.refresh and id(stmt) not in binding:
                if kind is None or getattr(stmt.nodes[0], "decorator_list", None):
                    st.out.again.append(st.out.rerun.pop() if kind is None else
                                        f"line {stmt.lineno}: @... {kind[0]} {kind[1]}")
                if kind is None:
                    continue  # its names keep their live values
            st.out.bound.extend(n for n in sorted(stmt.names) if n in final and last[n] is stmt)
        st.note_removed(diff.removed, diff.changes, final, shared, st.live.get)
        st.out.withdrawals = st.watch.withdrawals(st.removed)
    except BaseException:
        late_setup.__exit__(None, None, None)
        if verdict is not None:
            try:
                verdict.append(fails_fresh_too(st, diff.new.stmts))
            except Exception:  # noqa: BLE001  # undecided: the fallback decides
                verdict.append(False)
        st.watch.revert()
        st.out.settle()
        st.out.restore()
        raise
    late_setup.__exit__(None, None, None)
    st.out.registrations = st.watch.take()
    st.out.clear_caches = st.watch.clear_caches
    st.out.settle()
    return st.out
