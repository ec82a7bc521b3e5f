"""Would a fresh import of the new source fail where staging just failed?

Staging runs the changed statements over a copy of the live globals. When one fails, the
whole-module fallback (`_engine._stage_or_whole`) runs every statement again in staging,
unchanged ones included, so their side effects (``CONN = connect()``) happen again. That
is worth it only when the failure may come from live state a fresh import does not have:
a value the program has since changed, or a name staging holds and a fresh import does
not hold yet (or the other way round). A plain typo fails the same way in a fresh import,
and must be refused without running anything more.

The rule, sound and cheap (it looks only at the failed statement, on the failure path):
collect every global name the failing statement's code can read (its compiled code and
its nested code, attribute names included: an over-approximation), following each name
that holds a plain function of the module into that function's code, and each name that a
statement run in this staging bound into that statement's code. The failure does not
depend on live state when every name is one of: unbound in staging and bound by no
statement above (a fresh import has it unbound too: the typo; a builtin shows through
both), a module as ``sys.modules`` holds it (a fresh ``import`` gives the same object),
or one of those two followings. Anything else (a live value of an unchanged statement: a
counter, a connection, a class whose attributes the program may have set) may differ
from a fresh import, and the fallback runs.
"""

from __future__ import annotations

import ast
import sys
import types
from typing import TYPE_CHECKING, Any

from ._diff import Stmt
from ._names import updated_in_place

if TYPE_CHECKING:
    from ._stage import Stage

# what the import system sets before the module runs: the same in a fresh import
_MODULE_ATTRS = frozenset({"__name__", "__file__", "__package__", "__spec__", "__loader__",
                           "__path__", "__cached__", "__builtins__", "__doc__"})
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None))


def code_names(code: types.CodeType) -> set[str]:
    """Every name `code` and the code nested in it load by name or attribute."""
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= code_names(const)
    return out


def _immutable(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return type(value) in _IMMUTABLE


def _plain(fn: types.FunctionType, st: Stage) -> bool:
    """A function of the module whose behaviour is its code and the globals it reads:
    no cells, no attributes, no mutable defaults (the program cannot have changed it)."""
    return (fn.__globals__ is st.live or fn.__globals__ is st.ns) and fn.__closure__ is None \
        and not fn.__dict__ and _immutable(fn.__defaults__ or ()) \
        and _immutable(tuple((fn.__kwdefaults__ or {}).values()))


def _star(stmt: Stmt) -> bool:
    return any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
               for n in stmt.nodes)


def _stmt_names(st: Stage, stmt: Stmt) -> set[str]:
    """The names `stmt` may read: those of its code, less those it only binds."""
    kept = stmt.reads.union(*(updated_in_place(n) for n in stmt.nodes))
    return code_names(st.compile(list(stmt.nodes))) - (stmt.names - kept)


def fails_fresh_too(st: Stage, stmts: list[Stmt]) -> bool:
    """True when the statement staging failed in (`st.current`) read nothing that may
    differ from what a fresh import gives it there: a fresh import fails the same way."""
    failed = st.current
    if failed is None or st.inputs is None:
        return False
    above = [s for s in stmts if s.start < failed.start]
    if any(_star(s) for s in above):
        return False  # names bound by a star import are not known from the source
    bound_above = set().union(*(s.names for s in above))
    last: dict[str, Stmt] = {n: s for s in stmts for n in s.names}
    source = st.inputs.source
    todo = _stmt_names(st, failed)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name in _MODULE_ATTRS or name.startswith("__hotswap_take_"):
            continue  # what the import system sets is a fresh import's too; our takers
        seen.add(name)
        if name not in st.ns:
            if name in bound_above:
                return False  # a fresh import holds it here; staging does not
            continue  # unbound in both (a builtin shows through both)
        value = st.ns[name]
        binder = source.get(name)
        if binder is not None:  # run in this staging, as a fresh import runs it
            todo |= _stmt_names(st, binder)
            if not isinstance(value, types.FunctionType):
                continue
        elif isinstance(value, types.ModuleType) and sys.modules.get(value.__name__) is value:
            continue
        elif last.get(name) is None or last[name].start >= failed.start \
                or name not in bound_above:
            return False  # a live value a fresh import does not have here
        if isinstance(value, types.FunctionType) and _plain(value, st):
            todo |= code_names(value.__code__)
            continue
        return False
    return True
