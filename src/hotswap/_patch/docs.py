"""A class docstring that changed, in a body that binds ``__doc__`` again below it.

A class statement binds ``__doc__`` to its docstring first; a later statement of the body
may read it and bind ``__doc__`` anew (``@instanceproperty(classval=__doc__) def
__doc__(self)``, ``__doc__ = property(...)``), and a fresh class statement keeps what the
body binds last. So when only the docstring changed, the live class must keep the entry
the later binder made (a descriptor), not take the plain string; and the statements that
read ``__doc__`` while the docstring is still its value run again, as a fresh class
statement runs them with the new text.
"""

from __future__ import annotations

import ast

from .._diff import Change, Stmt


def _is_docstring(s: Stmt) -> bool:
    node = s.nodes[0] if len(s.nodes) == 1 else None
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


def rebinder(stmts: list[Stmt]) -> Stmt | None:
    """The first statement of a class body, past its docstring, binding ``__doc__``
    (None: the docstring is what the class's ``__doc__`` ends as)."""
    return next((s for s in stmts if "__doc__" in s.names and not _is_docstring(s)), None)


def readers(stmts: list[Stmt]) -> list[Stmt]:
    """The statements reading ``__doc__`` while the docstring is still its value: up to
    (and with) the first that binds it again, whose header reads it before binding."""
    first = rebinder(stmts)
    return [s for s in stmts if "__doc__" in s.reads and not _is_docstring(s)
            and (first is None or s.start <= first.start)]


def with_readers(changes: list[Change], stmts: list[Stmt]) -> list[Change]:
    """`changes`, plus the unchanged statements reading the changed docstring (run again,
    in source order)."""
    wanted = {id(s): s for s in readers(stmts)}
    if not wanted:
        return changes
    # a reader merely moved (same code, other lines) must run again all the same
    out = [Change(c.new, c.new, refresh=True) if c.layout and id(c.new) in wanted else c
           for c in changes]
    running = {id(c.new) for c in out}
    out += [Change(s, s, refresh=True) for i, s in wanted.items() if i not in running]
    return sorted(out, key=lambda c: c.new.start)


def compiled(doc: str | None) -> str | None:
    """`doc` as the compiler stores a docstring in this Python (3.13 strips the common
    indentation of its lines): asked of the compiler itself."""
    if doc is None:
        return None
    tree = ast.Module(body=[ast.Expr(ast.Constant(doc))], type_ignores=[])
    ns: dict[str, object] = {}
    exec(compile(ast.fix_missing_locations(tree), "<docstring>", "exec"), ns)
    value = ns.get("__doc__")
    return value if isinstance(value, str) else doc
