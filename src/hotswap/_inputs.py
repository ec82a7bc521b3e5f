"""What a statement run in staging reads must be what a fresh import reads at that point.

Staging runs the changed statements (and the unchanged ones reading a rebound name) over
a copy of the live globals. A live global holds the value its *last* binder gave it (or
what the program has made of it since), while a fresh import gives a statement the value
of the last binder *above* it. They differ when a name is bound again below
(``LIMIT = 10`` / changed ``DOUBLE = LIMIT * 3`` / ``LIMIT = "ten"``), when a statement
reads what it binds (``NAMES = NAMES + [...]``), when a statement run in staging bound it
from above but an unchanged binder stands in between, or when the module deleted the
name (``import operator`` ... ``del operator``). In each case the binder above runs again
in staging first, as a fresh import runs it (its own inputs made right the same way);
its names stay in staging only. A name no statement above binds is unbound for the
statement, as in a fresh import (a builtin shows through: ``len = wrap(len)``).

The common edit, a body, reads nothing here: a definition whose header did not change is
not evaluated again, so nothing is looked at.
"""

from __future__ import annotations

import ast
import builtins
from typing import TYPE_CHECKING

from ._diff import Change, Stmt, dump
from ._names import reads, updated_in_place
from ._patch.lines import at_current_lines

if TYPE_CHECKING:
    from ._stage import Stage


class Inputs:
    """Keeps, through one staging, which statement each staged name's value comes from."""

    def __init__(self, st: Stage, stmts: list[Stmt], last: dict[str, Stmt]) -> None:
        self.st = st
        self.stmts = stmts
        self.last = last  # name -> the statement binding it last in the new source
        self.source: dict[str, Stmt | None] = {}  # staged name -> its binder (None: unbound)
        self._binders: dict[str, list[Stmt]] | None = None

    def before(self, c: Change) -> None:
        """Make what the statement of `c` reads right, before it runs."""
        stmt = c.new
        missing = {n for n in stmt.reads | stmt.deleted if not self._have(n)}
        self._ensure(stmt, first_reads(c) | missing, set())

    def for_class_body(self, stmt: Stmt, body: list[Stmt], own: set[str]) -> None:
        """Before the `body` statements of the class `stmt` (module level) run in staging:
        the module names they read, less those the class namespace has (`own`)."""
        names = set().union(*(_reads(s) for s in body)) - own
        if names:
            self._ensure(stmt, names, set())

    def ran(self, stmt: Stmt) -> None:
        for name in stmt.names | stmt.deleted:
            self.source[name] = stmt

    def _have(self, name: str) -> bool:
        return name in self.st.ns or hasattr(builtins, name)

    def _ensure(self, stmt: Stmt, names: frozenset[str] | set[str], seen: set[int]) -> None:
        for name in sorted(names):
            last = self.last.get(name)
            if name not in self.source and name in self.st.ns and (
                    last is None or last.start < stmt.start):
                continue  # the live value is the last binder's, and it stands above
            above = self._binder_above(name, stmt)
            if name in self.source:
                if self.source[name] is above:
                    continue
            elif above is last and (above is None or name in self.st.ns):
                continue  # the live value is that of the binder above: none is below
            if above is None:
                self.st.ns.pop(name, None)
                self.source[name] = None
                continue
            if id(above) in seen:
                continue
            seen.add(id(above))
            self._ensure(above, _reads(above), seen)
            self.st.run([at_current_lines(n, above) for n in above.nodes])
            text = ast.unparse(above.nodes[0]).splitlines()[0][:60]
            self.st.out.for_report.rerun.append(
                f"line {above.lineno}: {text} (what line {stmt.lineno} reads at that point)")
            self.ran(above)

    def _binder_above(self, name: str, stmt: Stmt) -> Stmt | None:
        if self._binders is None:
            self._binders = {}
            for s in self.stmts:
                for n in s.names:
                    self._binders.setdefault(n, []).append(s)
        above = None
        for s in self._binders.get(name, ()):
            if s.start >= stmt.start:
                break
            above = s
        return above


def first_reads(c: Change) -> frozenset[str]:
    """The module names the statement of `c` reads as it runs in staging, before it binds
    anything. Of a definition, only its header (decorators, defaults; bases, keywords),
    and only when that changed (else it is not evaluated again): the rest reads the name it
    defines (a method annotated with its class) or is not evaluated (annotations under
    ``from __future__ import annotations``); a class body reading a module name rebound
    below it is left to the whole-module fallback."""
    stmt = c.new
    if stmt.definition is None:
        return _reads(stmt)
    header = _header(stmt.nodes[0])
    if c.old is not None and not c.refresh and c.old.definition == stmt.definition and \
            dump(header) == dump(_header(c.old.nodes[0])):
        return frozenset()
    return frozenset().union(*(reads(ast.Expr(p)) for p in header))


def _reads(stmt: Stmt) -> frozenset[str]:
    if stmt.definition is not None:
        return frozenset().union(*(reads(ast.Expr(p)) for p in _header(stmt.nodes[0])))
    return stmt.reads | frozenset().union(*(updated_in_place(n) for n in stmt.nodes))


def _header(node: ast.stmt) -> list[ast.expr]:
    """What a definition evaluates when it runs, besides its body and annotations."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [*node.decorator_list, *node.args.defaults,
                *(d for d in node.args.kw_defaults if d is not None)]
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    return []
