"""The steps every body takes when it is staged, a module's or a class's, written once.

A body is a list of statements, old and new. Staging one: find which unchanged statements
must run again too (`BodyStager.to_run`: they read a name a change rebinds, or a def now
binds a name last because the one that did is gone), run each statement by its kind
(`Kind`: a def, a class, a lone string, anything else; `BodyStager.run`), stage a def
against the live function its name finds (`BodyStager.stage_def`), and note what left the
body: its registering definitions (withdrawn from their registries) and the names it no
longer binds (`gone_names`). `module.ModuleStager` and `classes.ClassBodyStager` say what
each kind of statement becomes in their body.
"""

from __future__ import annotations

import ast
import copy
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._diff import Change, Kind, Stmt, final_names, with_refreshes
from .._safe import functions_in, is_a
from .core import Def, Stage, last_binders, shared_def_names, with_new_last_defs


class BodyStager:
    """One body being staged; subclasses give each kind of statement its handler."""

    def __init__(self, st: Stage, old: list[Stmt] | None, new: list[Stmt]) -> None:
        self.st = st
        self.old = old if old is not None else []
        self.new = new
        # names defined by several defs (``@f.register(int) def _``), in the old body and
        # in the new: such a def is told apart by its line, or is a new function
        self.shared = shared_def_names(self.old)
        self.shared_now = shared_def_names(new)
        self.last = last_binders(new)  # the statement each name's final value comes from
        self.final = final_names(new)  # the names the body leaves bound

    def to_run(self, changes: list[Change], removed: list[Stmt], live_defs: set[str],
               dirty: set[str] | frozenset[str], refresh: bool = True,
               old_version: Callable[[Stmt], Stmt | None] = lambda s: None,
               grow: Callable[[list[Change]], list[Change]] | None = None) -> list[Change]:
        """`changes`, plus the unchanged statements that must run again (when `refresh`):
        those reading a name rebound (`dirty`, or by a change; `live_defs` keep their
        identity and rebind nothing), those `grow` adds to them, and a def binding a name
        last now that the one that did is gone. A definition run again unchanged gets
        `old_version` of it (None: itself) as its old version: the one whose lines the
        live code was compiled at."""
        if refresh:
            changes = with_refreshes(self.new, changes, live_defs, dirty)
            if grow is not None:
                changes = grow(changes)
        changes = with_new_last_defs(self.old, removed, changes, self.last)
        return [Change(c.new, old_version(c.new) or c.old, c.layout, c.refresh)
                if c.refresh and c.old is c.new else c for c in changes]

    def run(self, changes: Iterable[Change]) -> None:
        """Stage each change in source order, by the kind of its statement."""
        for change in changes:
            self.before(change)
            kind = change.new.kind
            if kind is Kind.DEF:
                node = change.new.nodes[0]
                assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                self.on_def(change, node)
            elif kind is Kind.CLASS:
                cls_node = change.new.nodes[0]
                assert isinstance(cls_node, ast.ClassDef)
                self.on_class(change, cls_node)
            elif kind is Kind.TEXT:
                self.on_text(change)
            else:
                self.on_other(change)

    def before(self, change: Change) -> None:
        """Called before each change is staged."""

    def on_def(self, change: Change, node: Def) -> None:
        raise NotImplementedError

    def on_class(self, change: Change, node: ast.ClassDef) -> None:
        raise NotImplementedError

    def on_text(self, change: Change) -> None:
        self.on_other(change)

    def on_other(self, change: Change) -> None:
        raise NotImplementedError

    def stage_def(self, change: Change, node: Def, qualname: str,
                  holder_of: Callable[[str], Any], body: list[ast.stmt],
                  code_of: Callable[[ast.stmt], types.CodeType | None],
                  offset: int = 0) -> None:
        """Stage a def against the live function its name finds (`holder_of`), appending
        to `body` what to run. Among defs sharing a name, the live one is known by the line
        its old version started at (live code stands `offset` lines from the old source);
        a def added beside others of its name is a new function."""
        name = node.name
        line = change.old.start + 1 + offset if change.old is not None \
            and name in self.shared else None
        holder = None if change.old is None and name in self.shared_now else holder_of(name)
        self.st.function(change, node, holder, qualname, body, code_of, line)

    def note_removed(self, removed: list[Stmt], changes: list[Change],
                     bound: Callable[[str], Any], prefix: str = "", offset: int = 0) -> None:
        """The registering definitions gone from the body (see `Stage.note_removed`)."""
        self.st.note_removed(removed, changes, self.final, self.shared, bound, prefix, offset)


def annotation_only(change: Change) -> list[ast.stmt]:
    """What runs for `change`: its statement, or, when only its annotations compile anew
    (`Change.annotations`), its annotated assignments without their values, so that the
    names they bind keep their live values (a cache dict stays the one the program holds)
    while the annotations are stored again."""
    if not change.annotations:
        return list(change.new.nodes)
    out: list[ast.stmt] = []
    for node in change.new.nodes:
        assert isinstance(node, ast.AnnAssign)
        bare = copy.copy(node)
        bare.value = None
        out.append(bare)
    return out


def gone_names(removed: list[Stmt], changes: list[Change], final: set[str],
               live: Mapping[str, Any] | None, made_here: Callable[[Any], bool]
               ) -> list[str]:
    """The names a body no longer binds, in order: bound by a statement removed or
    changed, and not by the new body (`final`). When the old body is unknown, `live` is
    its namespace: every name bound to something it made (`made_here`) is a candidate."""
    if live is None:
        gone: set[str] = set().union(*(s.names for s in removed),
                                     *(c.old.names for c in changes if c.old is not None))
    else:
        gone = {k for k, v in live.items() if made_here(v)}
    return sorted(gone - final)


def made_by_module(value: Any, live: Mapping[str, Any]) -> bool:
    """Whether `value` was made by the module whose globals are `live`."""
    if type(value) is types.FunctionType:
        return value.__globals__ is live
    if is_a(value, type):
        return value.__module__ == live.get("__name__")
    return False


def made_by_class(value: Any, qualname: str) -> bool:
    """Whether `value` holds a function defined in the class of that qualified name."""
    return any(fn.__qualname__.startswith(qualname + ".") for fn in functions_in(value))
