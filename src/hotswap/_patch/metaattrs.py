"""Classes made by a metaclass whose new ``__init__`` (or ``__new__``) sets more on each
class than the old one did (issue 19, case 6 for classes).

Live classes were made by the old code, so they lack what the new code sets
(python-dateutil's ``tzoffset`` lacked the ``_cache_lock`` its metaclass's new
``__init__`` makes, and every ``tzoffset(...)`` raised AttributeError). Running the
metaclass's ``__init__`` again on a live class would reset what it set before (caches,
registries) and repeat its side effects, so it is not done. What is computed instead is
each missing attribute the new code assigns at the top of its body from an expression
reading no local (``cls._lock = threading.Lock()``, ``cls._size = 8``): evaluated once per
class lacking it, against the module's new globals, as a fresh import evaluates it once
per class. Any other missing attribute (one computed from the class or the arguments, or
assigned under a condition) is named in the report's warnings, with the classes and the
hook that fills it (``__hotswap_migrate__`` in the metaclass, called on each live class).
"""

from __future__ import annotations

import ast
import types
from collections.abc import Iterable
from typing import Any

from .._diff import Stmt, mangle
from .._names import reads
from .._ops import Plan, SetAttr
from .._report import Report
from .._safe import is_a
from .instances import with_subclasses
from .newattrs import Gain, gain


def is_meta(g: Gain) -> bool:
    return issubclass(g.cls, type)


def constructor_node(stmts: list[Stmt], qualname: str,
                     constructor: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The def of `constructor` in the class of `qualname`, in the new source."""
    *path, = qualname.split(".")
    body: list[ast.stmt] = [n for s in stmts for n in s.nodes]
    for part in path:
        cls = next((n for n in reversed(body) if isinstance(n, ast.ClassDef)
                    and n.name == part), None)
        if cls is None:
            return None
        body = cls.body
    return next((n for n in reversed(body) if isinstance(n, (ast.FunctionDef,
                                                             ast.AsyncFunctionDef))
                 and n.name == constructor), None)


def computable(node: ast.FunctionDef | ast.AsyncFunctionDef, private: str,
               constructor: str) -> dict[str, ast.expr]:
    """Attribute name (mangled as in the class) -> the expression assigning it, for each
    ``target.NAME = expr`` at the top of the body (``target`` the class being made: the
    first argument of ``__init__``, a local of ``__new__``) whose expression reads no
    argument or local: what can be evaluated for a live class without running the
    rest."""
    args = node.args
    params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    local = set(params)
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            local.add(n.id)
    first = params[0] if params else None
    out: dict[str, ast.expr] = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            continue
        target = stmt.targets[0]
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
            continue
        if (target.value.id == first) == (constructor == "__new__"):
            continue
        names = reads(ast.Expr(stmt.value))
        if names & local or any(_private(n) for n in names):
            continue  # (a private name would need the class's mangling)
        out.setdefault(mangle(private, target.attr), stmt.value)
    return out


def _private(name: str) -> bool:
    return name.startswith("__") and not name.endswith("__")


def lacking(g: Gain, gained: dict[int, tuple[type, Gain]],
            instances: dict[int, list[Any]]) -> list[tuple[type, list[str]]]:
    """The live classes (instances of `g`'s metaclass and its subclasses) lacking some of
    the attributes its new constructor sets, with those attributes."""
    out: list[tuple[type, list[str]]] = []
    for key, (_meta, owner) in gained.items():
        if owner is not g:
            continue
        for obj in instances.get(key, ()):
            if not is_a(obj, type):
                continue
            own = type.__getattribute__(obj, "__dict__")
            missing = [n for n in g.names if n not in own]
            if missing:
                out.append((obj, missing))
    return out


def fill(gains: Iterable[Gain], gained: dict[int, tuple[type, Gain]],
         instances: dict[int, list[Any]], stmts: list[Stmt], namespace: dict[str, Any],
         filename: str, plan: Plan, report: Report) -> None:
    """Plan the computable missing attributes of the live classes of each metaclass gain
    (found by the update's heap walk); warn about the others. `namespace` is the module's
    new globals (staging's)."""
    for g in gains:
        if is_meta(g):
            _fill(g, lacking(g, gained, instances), stmts, namespace, filename, plan, report)


def fill_subclasses(module: types.ModuleType, patches: Iterable[Any], stmts: list[Stmt],
                    namespace: dict[str, Any], plan: Plan, report: Report) -> None:
    """The same for a class whose ``__init_subclass__`` now sets more on each subclass:
    its live subclasses (no heap walk: a class knows its subclasses) lacking some of it."""
    for p in patches:
        owner, _, name = p.live.__qualname__.rpartition(".")
        if name != "__init_subclass__" or p.layout:
            continue
        cls = _owner(module, owner)
        if cls is None:
            continue
        g = gain(cls, f"{module.__name__}.{owner}", name, p.live, p.new, set())
        if g is None:
            continue
        subclasses = [c for c in with_subclasses(cls) if c is not cls]
        found = [(c, [n for n in g.names if n not in type.__getattribute__(c, "__dict__")])
                 for c in subclasses]
        _fill(g, [(c, m) for c, m in found if m], stmts, namespace,
              getattr(module, "__file__", None) or module.__name__, plan, report)


def _owner(module: types.ModuleType, qualname: str) -> type | None:
    value: Any = module.__dict__
    for part in qualname.split("."):
        value = value.get(part) if isinstance(value, dict) else \
            type.__getattribute__(value, "__dict__").get(part) if is_a(value, type) else None
    return value if is_a(value, type) else None


def _fill(g: Gain, classes: list[tuple[type, list[str]]], stmts: list[Stmt],
          namespace: dict[str, Any], filename: str, plan: Plan, report: Report) -> None:
    if not classes:
        return
    node = constructor_node(stmts, g.cls.__qualname__, g.constructor)
    exprs = computable(node, g.cls.__name__, g.constructor) if node is not None else {}
    given: dict[str, list[str]] = {}
    left: dict[str, list[str]] = {}
    for cls, missing in classes:
        label = f"{cls.__module__}.{cls.__qualname__}"
        for name in missing:
            expr = exprs.get(name)
            value, error = _evaluate(expr, namespace, filename) if expr is not None \
                else (None, "not assigned at the top of the body from globals")
            if error is None:
                plan.add(SetAttr(cls, name, value))
                given.setdefault(name, []).append(label)
            else:
                left.setdefault(name, []).append(label)
    for name, labels in given.items():
        report.notes.append(
            f"{g.label}: {name} computed for {len(labels)} class(es) made before this "
            f"update ({', '.join(labels)}), as its new {g.constructor} sets it on each class")
    if left:
        names = sorted(left)
        labels = sorted({lab for n in names for lab in left[n]})
        hook = ("define __hotswap_migrate__(cls) in the metaclass to fill them (it runs once "
                "on each of those classes)" if is_meta(g) else "set them in the module's "
                "__hotswap_migrate__(old)")
        report.warnings.append(
            f"{g.label}: {len(labels)} class(es) made before this update ({', '.join(labels)}) "
            f"lack {', '.join(names)}, which its new {g.constructor} sets on each class (not "
            f"run again on them: it may reset what it set before); {hook}")


def _evaluate(expr: ast.expr, namespace: dict[str, Any],
              filename: str) -> tuple[Any, str | None]:
    tree = ast.Expression(body=expr)
    ast.fix_missing_locations(tree)
    try:
        return eval(compile(tree, filename, "eval"), namespace), None
    except Exception as exc:  # noqa: BLE001  # then named in the warning instead
        return None, f"{type(exc).__name__}: {exc}"
