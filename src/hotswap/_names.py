"""Which names a statement binds in its own scope, read from its syntax.

Removal needs this: a name leaves the module (or class) when the old source bound it and the
new source no longer does. Names set at run time from elsewhere never appear here, so they
are never removed.
"""

from __future__ import annotations

import ast


def _targets(node: ast.AST, out: set[str]) -> None:
    if isinstance(node, ast.Name):
        out.add(node.id)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            _targets(elt, out)
    elif isinstance(node, ast.Starred):
        _targets(node.value, out)


class _Binder(ast.NodeVisitor):
    """Collects bindings of one scope; does not enter nested function or class scopes."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.deleted: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.bound.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]  # same fields

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.bound.add(node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            _targets(t, self.bound)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            _targets(node.target, self.bound)
            self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        _targets(node.target, self.bound)
        self.visit(node.value)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        _targets(node.target, self.bound)
        self.visit(node.value)

    def visit_For(self, node: ast.For) -> None:
        _targets(node.target, self.bound)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]  # same fields

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            _targets(node.optional_vars, self.bound)
        self.visit(node.context_expr)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        # `except E as e` unbinds `e` at the end of the handler.
        for stmt in node.body:
            self.visit(stmt)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.bound.add(alias.asname or alias.name)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            _targets(t, self.deleted)

    def visit_ListComp(self, node: ast.AST) -> None:
        return  # comprehension variables live in their own scope

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp


def bound_names(stmt: ast.stmt) -> frozenset[str]:
    """Names `stmt` may leave bound in its scope (conservative: any branch counts)."""
    b = _Binder()
    b.visit(stmt)
    return frozenset(b.bound)


def deleted_names(stmt: ast.stmt) -> frozenset[str]:
    """Names a top-level ``del`` statement unbinds."""
    if not isinstance(stmt, ast.Delete):
        return frozenset()
    out: set[str] = set()
    for t in stmt.targets:
        _targets(t, out)
    return frozenset(out)



class _Reader(ast.NodeVisitor):
    """Names a statement reads while it runs, not when functions it defines are called:
    a def's decorators, defaults and annotations, a class's header and body, any other
    statement whole, but never the bodies of functions and lambdas."""

    def __init__(self) -> None:
        self.reads: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reads.add(node.id)

    def _signature(self, args: ast.arguments) -> None:
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        self._signature(node.args)
        if node.returns is not None:
            self.visit(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._signature(node.args)


def reads(stmt: ast.AST) -> frozenset[str]:
    r = _Reader()
    r.visit(stmt)
    return frozenset(r.reads)


def updated_in_place(stmt: ast.stmt) -> frozenset[str]:
    """Names an augmented assignment at the top of `stmt` reads back (``X += [2]``): the
    value it starts from is the one bound before it."""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        return frozenset({stmt.target.id})
    return frozenset()
