"""A hypothesis state machine edits a small package of modules that import each other and
updates it live; after every update the live program, seen through references taken at
every earlier step, behaves like a fresh import of the current sources.

The package (a new name per run, in a temporary folder on ``sys.path``) has three modules:

* ``base``: constants, decorators (``functools.wraps`` wrappers), functions (maybe
  decorated), closure factories (``mk(k)`` returns ``inner(x)``), a class ``C0`` and
  maybe a standalone class ``X0``;
* ``mid``: the same kinds, reading ``base`` both ways (``from .base import NAME`` and
  ``from . import base`` then ``base.NAME``), with a class ``C1(C0)`` whose methods may
  call ``super()``, and constants computed from names imported from ``base``;
* ``top``: the same over ``base`` and ``mid``, with ``C2(C1)``, also taking names of
  ``base`` from ``mid`` (``from .mid import NAME``: a re-export).

The program is data (`Program`) rendered to source, in one of two layouts: compact (an
edit moves the definitions below it, which hotswap re-lines) or fixed (every possible
definition has lines of its own, so nothing moves). Rules change it: the bodies of
functions, methods, closures and decorators; constant values (literals, or computed from
other constants, imported ones too); functions, methods, constants, decorators, closure
factories and a standalone class added and removed; decorators put on, swapped and taken
off functions. After an edit every reference to something gone is replaced by a literal,
so an importer loses its ``from .base import NAME`` in the same step. `apply` writes the
changed files and updates them with ``update_many`` (given in any order, maybe with the
unchanged modules too) or ``update``; `apply_one_by_one` calls ``update`` on each, imported
modules first; `take_refs` keeps functions, wrappers, undecorated functions, closures,
decorators, classes, instances, bound methods and method functions (they are also taken
after every update); `mutate` changes the state of a kept instance.

After each update the current sources are imported again under another package name and:

* every module's public names are the fresh module's; constants are equal; a name that
  is a function, class or module is the live counterpart of the fresh one (so ``mid.f``
  taken with ``from .base import f`` is ``base.f``, and follows when it is rebound);
* every kept reference to something that existed in every version since it was taken
  behaves like its fresh counterpart: a function like the fresh one; an undecorated
  function like the fresh undecorated function; a wrapper made by decorator ``D`` like the
  fresh ``D`` applied to the fresh undecorated function; a closure like the fresh
  factory's closure for the same ``k``; a decorator applied to a probe like the fresh
  decorator; an instance (its state, with the same mutations, and every method) like a
  fresh instance built with the same argument; a bound method or a method function like
  the fresh method on a fresh instance; and functions, wrappers, closures and methods
  start on the line the fresh ones do (what tracebacks show);
* identities are kept: classes, decorators, factories, method functions, undecorated
  functions (``inspect.unwrap(mod.f)``), and ``mod.f`` itself while its decoration is
  unchanged, unless a report named it ``redecorated``; old instances keep their class;
* each report says ``changed`` exactly when the code changed, names the module names and
  class members added and removed, and leaves nothing on its old version (``skipped``):
  the machine never makes the edits hotswap documents as not applicable in place (free
  variables, ``__init__`` and class headers stay fixed).

The counterexamples it found are kept below, reduced by hand, as plain tests.

``HOTSWAP_EXAMPLES`` sets the number of runs (default 20, of 8 steps each):
``HOTSWAP_EXAMPLES=500 python -m pytest tests/test_stateful_program.py``.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import inspect
import itertools
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

import hotswap

from helpers.outcomes import outcome
from helpers.strategies import code_changed, small_ints

sys.dont_write_bytecode = True  # (conftest sets it too) a rewritten file never meets a .pyc

EXAMPLES = int(os.environ.get("HOTSWAP_EXAMPLES", "20"))
MODS = ("base", "mid", "top")
METHODS = ("m0", "m1", "m2", "m3")
NCONST, NFUNC, NDECO, NFACT = 3, 4, 2, 2
MAX_PENDING = 2  # edits before an apply is due: keeps several updates in 8 steps
MAX_CALLS = 2  # calls per body

_ids = itertools.count()
Expr = tuple  # see render_expr
# (module index, name, style); style: "local", "attr" (``base.NAME``), "from" (bare, after
# ``from .base import NAME``) or "via" (bare in top after ``from .mid import NAME``, a name
# mid took with ``from .base import NAME``: a re-export)
NameRef = tuple
Draw = Callable[[st.SearchStrategy[Any]], Any]


# --------------------------------------------------------------------------- the model --


@dataclass
class Const:
    name: str
    value: Expr  # a literal, or computed from constants defined before it


@dataclass
class Func:
    name: str
    body: Expr  # over x
    deco: NameRef | None = None


@dataclass
class Deco:
    """``def deco(fn)`` returning a ``functools.wraps(fn)`` wrapper: ``r = fn(*args)``."""

    name: str
    body: Expr  # over r


@dataclass
class Factory:
    """``def mk(k)`` returning the closure ``inner(x)``; the body always reads ``k``."""

    name: str
    body: Expr  # over x and k


@dataclass
class Method:
    name: str
    body: Expr  # over x and self
    sup: bool = False  # the body calls super(): fixed for the method's lifetime


# A class's __init__ never changes (old instances keep their state, and it is compared
# with that of fresh instances): one of these, by kind.
INITS: dict[str, tuple[list[str], list[str]]] = {
    "root": (["self.a = a"], ["a"]),
    "sub": (["super().__init__(a)", "self.b = a + 3"], ["b"]),
    "inherit": ([], []),
    "extra": (["self.c = a - 1"], ["c"]),
}


@dataclass
class Klass:
    name: str
    base: NameRef | None  # fixed: a class header never changes
    init: str
    methods: dict[str, Method]
    uid: int  # a standalone class removed and added back is another class


@dataclass
class Module:
    consts: dict[str, Const] = field(default_factory=dict)
    decos: dict[str, Deco] = field(default_factory=dict)
    funcs: dict[str, Func] = field(default_factory=dict)
    factories: dict[str, Factory] = field(default_factory=dict)
    classes: dict[str, Klass] = field(default_factory=dict)


@dataclass
class Program:
    mods: list[Module]
    layout: str = "compact"  # or "fixed": see render_module
    uids: int = 0

    def klass(self, mod: int, name: str) -> Klass:
        return self.mods[mod].classes[name]

    def mro(self, mod: int, cname: str) -> list[tuple[int, Klass]]:
        out = [(mod, self.klass(mod, cname))]
        while out[-1][1].base is not None:
            bmod, bname, _ = out[-1][1].base
            out.append((bmod, self.klass(bmod, bname)))
        return out

    def methods_of(self, mod: int, cname: str) -> dict[str, tuple[int, Klass]]:
        """Method name -> (module, class) whose method an instance of `cname` runs."""
        out: dict[str, tuple[int, Klass]] = {}
        for m, k in reversed(self.mro(mod, cname)):
            out.update({name: (m, k) for name in k.methods})
        return out

    def attrs_of(self, mod: int, cname: str) -> list[str]:
        return [a for _, k in reversed(self.mro(mod, cname)) for a in INITS[k.init][1]]

    def keys(self) -> set[tuple[Any, ...]]:
        """What references are taken to, and what decorates each function."""
        out: set[tuple[Any, ...]] = set()
        for i, m in enumerate(self.mods):
            out |= {("f", i, n) for n in m.funcs}
            out |= {("deco_of", i, n, f.deco) for n, f in m.funcs.items()}
            out |= {("d", i, n) for n in m.decos}
            out |= {("k", i, n) for n in m.factories}
            for k in m.classes.values():
                out.add(("c", i, k.name, k.uid))
                out |= {("m", i, k.name, k.uid, n) for n in k.methods}
        return out


def index(name: str) -> int:
    return int(name.rsplit("_", 1)[1]) if "_" in name else int(name[1:])


# ------------------------------------------------------------------------- rendering --


def spell(ref: NameRef) -> str:
    mod, name, style = ref
    return f"{MODS[mod]}.{name}" if style == "attr" else name


def children(e: Expr) -> list[Expr]:
    kind = e[0]
    if kind == "call":
        return [e[2]]
    if kind == "make":
        return [e[2], e[3]]
    if kind in ("mcall", "super"):
        return [e[2]]
    if kind == "bin":
        return [e[2], e[3]]
    if kind in ("mul", "mod"):
        return [e[1]]
    return []


def walk(e: Expr) -> Iterator[Expr]:
    yield e
    for c in children(e):
        yield from walk(c)


def render_expr(e: Expr) -> str:
    kind = e[0]
    if kind == "lit":
        return str(e[1])
    if kind == "var":
        return e[1]
    if kind == "get":
        return spell(e[1])
    if kind == "call":
        return f"{spell(e[1])}({render_expr(e[2])})"
    if kind == "make":
        return f"{spell(e[1])}({render_expr(e[2])})({render_expr(e[3])})"
    if kind == "self":
        return f"self.{e[1]}"
    if kind == "mcall":
        return f"self.{e[1]}({render_expr(e[2])})"
    if kind == "super":
        return f"super().{e[1]}({render_expr(e[2])})"
    if kind == "bin":
        return f"({render_expr(e[2])} {e[1]} {render_expr(e[3])})"
    if kind == "mul":
        return f"({render_expr(e[1])} * {e[2]})"
    if kind == "mod":
        return f"({render_expr(e[1])} % {e[2]})"
    raise AssertionError(e)


def exprs_of(m: Module) -> Iterator[Expr]:
    yield from (c.value for c in m.consts.values())
    yield from (d.body for d in m.decos.values())
    yield from (f.body for f in m.funcs.values())
    yield from (f.body for f in m.factories.values())
    for k in m.classes.values():
        yield from (meth.body for meth in k.methods.values())


def refs_of(m: Module) -> Iterator[NameRef]:
    for e in exprs_of(m):
        yield from (node[1] for node in walk(e) if node[0] in ("get", "call", "make"))
    yield from (f.deco for f in m.funcs.values() if f.deco is not None)
    yield from (k.base for k in m.classes.values() if k.base is not None)


def render_module(prog: Program, i: int) -> str:
    """Module `i` as source. In the compact layout a definition moves when one above it
    comes, goes or grows (hotswap then re-lines it); in the fixed layout every possible
    definition has a place of its own, blank while it is absent, so nothing ever moves."""
    m, fixed = prog.mods[i], prog.layout == "fixed"

    def place(lines: list[str], size: int) -> list[str]:
        assert len(lines) <= size
        return lines + [""] * (size - len(lines)) if fixed else lines

    lines = [f"# {MODS[i]}: generated by tests/test_stateful_program.py", "import functools"]
    lines += [f"from . import {MODS[j]}" for j in range(i)]
    bare: dict[int, set[str]] = {}
    for mod, name, style in refs_of(m):
        if style in ("from", "via"):
            bare.setdefault(1 if style == "via" else mod, set()).add(name)
    if i == 1:  # what top takes from mid that comes from base
        bare.setdefault(0, set()).update(n for mod, n, style in refs_of(prog.mods[2])
                                         if style == "via")
        if not bare[0]:
            del bare[0]
    for j in range(i):
        lines += place([f"from .{MODS[j]} import {', '.join(sorted(bare[j]))}"]
                       if j in bare else [], 1)
    for n in range(NCONST):
        c = m.consts.get(f"K{i}_{n}")
        lines += place([] if c is None else [f"{c.name} = {render_expr(c.value)}"], 1)
    for n in range(NDECO):
        d = m.decos.get(f"deco{i}_{n}")
        lines += place([] if d is None else [
            "", "", f"def {d.name}(fn):", "    @functools.wraps(fn)", "    def wrapper(*args):",
            "        r = fn(*args)", f"        return {render_expr(d.body)}",
            "    return wrapper"], 8)
    for n in range(NFUNC):
        f = m.funcs.get(f"f{i}_{n}")
        if f is None:
            lines += place([], 5)
        else:
            head = [f"@{spell(f.deco)}"] if f.deco else [""] if fixed else []
            lines += ["", ""] + head + [f"def {f.name}(x):", f"    return {render_expr(f.body)}"]
    for n in range(NFACT):
        fac = m.factories.get(f"mk{i}_{n}")
        lines += place([] if fac is None else [
            "", "", f"def {fac.name}(k):", "    def inner(x):",
            f"        return {render_expr(fac.body)}", "    return inner"], 6)
    for cname, init in ((f"C{i}", ["root", "sub", "inherit"][i]), (f"X{i}", "extra")):
        k = m.classes.get(cname)
        size = 4 + len(INITS[init][0]) + bool(INITS[init][0]) + 2 * len(METHODS)
        if k is None:
            lines += place([], size)
            continue
        body = ["", "", f"class {k.name}({spell(k.base)}):" if k.base else f"class {k.name}:"]
        if INITS[k.init][0]:
            body += ["    def __init__(self, a):"] + [f"        {s}" for s in INITS[k.init][0]]
        body += ["    pass"] if not INITS[k.init][0] and not k.methods else [""] if fixed else []
        for name in METHODS:
            meth = k.methods.get(name)
            body += place([] if meth is None else [f"    def {name}(self, x):",
                                                   f"        return {render_expr(meth.body)}"],
                          2)
        lines += place(body, size)
    return "\n".join(lines) + "\n"


def render(prog: Program) -> list[str]:
    return [render_module(prog, i) for i in range(len(MODS))]


# ---------------------------------------------------------------- scopes and checks --


@dataclass
class Scope:
    """What a body may refer to (module-level names as (module, name))."""

    user: int
    vars: list[str]
    consts: list[tuple[int, str]]
    funcs: list[tuple[int, str]] = field(default_factory=list)
    factories: list[tuple[int, str]] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    supers: list[str] = field(default_factory=list)
    styles: tuple[str, ...] = ("from", "attr")  # how a name of another module is spelled


def _names(prog: Program, upto: int, kind: str) -> list[tuple[int, str]]:
    return [(j, n) for j in range(upto) for n in sorted(getattr(prog.mods[j], kind))]


def scope_of(prog: Program, i: int, what: str, name: str, cname: str | None = None) -> Scope:
    lower_consts, local_consts = _names(prog, i, "consts"), _names(prog, i + 1, "consts")
    lower_funcs = _names(prog, i, "funcs")
    local_funcs = [(i, n) for n in sorted(prog.mods[i].funcs)]
    lower_facts = _names(prog, i, "factories")
    if what == "const":
        # Only bare names: ``K = base.K0 + 1`` is a module attribute read, which hotswap
        # does not promise to follow; ``from .base import K0`` then ``K = K0 + 1`` reads a
        # name the update rebinds (and must then run again).
        return Scope(i, [], lower_consts + [(i, n) for n in sorted(prog.mods[i].consts)
                                           if index(n) < index(name)], styles=("from",))
    if what == "deco":
        return Scope(i, ["r"], local_consts)
    if what == "func":
        return Scope(i, ["x"], local_consts,
                     lower_funcs + [f for f in local_funcs if index(f[1]) < index(name)],
                     lower_facts)
    if what == "factory":
        return Scope(i, ["x", "k"], local_consts, lower_funcs + local_funcs, lower_facts)
    assert what == "method" and cname is not None
    k = prog.klass(i, cname)
    supers: list[str] = []
    if k.base is not None:
        supers = [m for m in prog.methods_of(k.base[0], k.base[1]) if index(m) <= index(name)]
    return Scope(i, ["x"], local_consts, lower_funcs + local_funcs,
                 _names(prog, i + 1, "factories"), attrs=prog.attrs_of(i, cname),
                 methods=[m for m in prog.methods_of(i, cname) if index(m) < index(name)],
                 supers=supers)


def scrub(e: Expr, scope: Scope) -> Expr:
    """`e` with every reference to what the scope lacks replaced by a literal."""
    kind = e[0]
    if kind == "var":
        return e if e[1] in scope.vars else ("lit", 1)
    if kind == "get":
        return e if e[1][:2] in scope.consts else ("lit", 2)
    if kind == "call":
        return ("call", e[1], scrub(e[2], scope)) if e[1][:2] in scope.funcs else ("lit", 3)
    if kind == "make":
        if e[1][:2] not in scope.factories:
            return ("lit", 4)
        return ("make", e[1], scrub(e[2], scope), scrub(e[3], scope))
    if kind == "self":
        return e if e[1] in scope.attrs else ("lit", 5)
    if kind in ("mcall", "super"):
        pool = scope.methods if kind == "mcall" else scope.supers
        return (kind, e[1], scrub(e[2], scope)) if e[1] in pool else ("lit", 6)
    if kind == "bin":
        return ("bin", e[1], scrub(e[2], scope), scrub(e[3], scope))
    if kind in ("mul", "mod"):
        return (kind, scrub(e[1], scope), e[2])
    return e


def uses(e: Expr, kind: str, value: Any = None) -> bool:
    return any(n[0] == kind and (value is None or n[1] == value) for n in walk(e))


def normalize(prog: Program) -> Program | None:
    """Replace references to what no longer exists by literals (an importer loses its
    import with them); None when that would change what a closure or a ``super()``
    method captures (a documented "left on its old version" case, not generated)."""
    for i, m in enumerate(prog.mods):
        for c in m.consts.values():
            c.value = scrub(c.value, scope_of(prog, i, "const", c.name))
        for d in m.decos.values():
            d.body = scrub(d.body, scope_of(prog, i, "deco", d.name))
        for f in m.funcs.values():
            f.body = scrub(f.body, scope_of(prog, i, "func", f.name))
            if f.deco is not None and f.deco[1] not in prog.mods[f.deco[0]].decos:
                f.deco = None
        for k in m.factories.values():
            k.body = scrub(k.body, scope_of(prog, i, "factory", k.name))
            if not uses(k.body, "var", "k"):
                return None
        for cls in m.classes.values():
            for meth in cls.methods.values():
                meth.body = scrub(meth.body, scope_of(prog, i, "method", meth.name, cls.name))
                if meth.sup != uses(meth.body, "super"):
                    return None
    return prog


# ------------------------------------------------------------------------ generation --


def gen_expr(draw: Draw, scope: Scope, depth: int, budget: list[int]) -> Expr:
    kinds = ["lit"] + ["var"] * bool(scope.vars) + ["get"] * bool(scope.consts) \
        + ["self"] * bool(scope.attrs)
    if depth > 0:
        kinds += ["bin", "bin", "mul", "mod"]
        if budget[0] > 0:
            kinds += ["call"] * bool(scope.funcs) + ["make"] * bool(scope.factories) \
                + ["mcall"] * bool(scope.methods) + ["super"] * bool(scope.supers)
    kind = draw(st.sampled_from(kinds))

    def ref(pool: list[tuple[int, str]]) -> NameRef:
        mod, name = draw(st.sampled_from(pool))
        if mod == scope.user:
            return (mod, name, "local")
        via = ("via",) if scope.user == 2 and mod == 0 and "from" in scope.styles else ()
        return (mod, name, draw(st.sampled_from(scope.styles + via)))

    def sub() -> Expr:
        return gen_expr(draw, scope, min(depth - 1, 1), budget)

    if kind == "lit":
        return ("lit", draw(small_ints))
    if kind == "var":
        return ("var", draw(st.sampled_from(scope.vars)))
    if kind == "get":
        return ("get", ref(scope.consts))
    if kind == "self":
        return ("self", draw(st.sampled_from(scope.attrs)))
    if kind == "bin":
        op = draw(st.sampled_from(["+", "-"]))
        return ("bin", op, gen_expr(draw, scope, depth - 1, budget),
                gen_expr(draw, scope, depth - 1, budget))
    if kind == "mul":
        return ("mul", gen_expr(draw, scope, depth - 1, budget), draw(st.integers(2, 3)))
    if kind == "mod":
        return ("mod", gen_expr(draw, scope, depth - 1, budget), draw(st.integers(2, 9)))
    budget[0] -= 1
    if kind == "call":
        return ("call", ref(scope.funcs), sub())
    if kind == "make":
        return ("make", ref(scope.factories), sub(), sub())
    pool = scope.methods if kind == "mcall" else scope.supers
    return (kind, draw(st.sampled_from(pool)), sub())


def gen_body(draw: Draw, scope: Scope, sup: bool = False, needs: str | None = None) -> Expr:
    """A body; with `sup` it calls ``super()``; with `needs` it reads that variable."""
    if not sup:
        scope = copy.copy(scope)
        scope.supers = []
    budget = [MAX_CALLS]
    e = gen_expr(draw, scope, 3, budget)
    if sup:
        call = ("super", draw(st.sampled_from(scope.supers)),
                gen_expr(draw, scope, 1, [0]))
        e = ("bin", draw(st.sampled_from(["+", "-"])), call, e)
    if needs is not None and not uses(e, "var", needs):
        e = ("bin", "+", e, ("var", needs))
    return e


def gen_const(draw: Draw, prog: Program, i: int, name: str) -> Expr:
    scope = scope_of(prog, i, "const", name)
    if scope.consts and draw(st.booleans()):
        return ("bin", draw(st.sampled_from(["+", "-"])), gen_expr(draw, scope, 0, [0]),
                gen_expr(draw, scope, 1, [0]))
    return ("lit", draw(small_ints))


def deco_choices(prog: Program, i: int) -> list[NameRef | None]:
    out: list[NameRef | None] = [None]
    for j in range(i + 1):
        for d in sorted(prog.mods[j].decos):
            out += [(j, d, "local")] if j == i else [(j, d, "from"), (j, d, "attr")]
            out += [(j, d, "via")] if (i, j) == (2, 0) else []
    return out


def gen_method(draw: Draw, prog: Program, i: int, cname: str, mname: str) -> Method:
    k = prog.klass(i, cname)
    k.methods[mname] = meth = Method(mname, ("lit", 0))
    scope = scope_of(prog, i, "method", mname, cname)
    meth.sup = bool(scope.supers) and draw(st.booleans())
    meth.body = gen_body(draw, scope, meth.sup)
    return meth


def gen_class(draw: Draw, prog: Program, i: int, name: str, base: NameRef | None,
              init: str, nmethods: tuple[int, int]) -> None:
    prog.mods[i].classes[name] = Klass(name, base, init, {}, prog.uids)
    prog.uids += 1
    for mname in draw(st.lists(st.sampled_from(METHODS), min_size=nmethods[0],
                               max_size=nmethods[1], unique=True)):
        gen_method(draw, prog, i, name, mname)


def free(names: dict[str, Any], prefix: str, n: int) -> list[str]:
    return [f"{prefix}_{j}" for j in range(n) if f"{prefix}_{j}" not in names]


def initial_program(draw: Draw) -> Program:
    prog = Program([Module() for _ in MODS], draw(st.sampled_from(["compact", "fixed"])))
    for i, m in enumerate(prog.mods):
        for name in draw(st.lists(st.sampled_from(free({}, f"K{i}", NCONST)),
                                  min_size=int(i == 0), max_size=2, unique=True)):
            m.consts[name] = Const(name, gen_const(draw, prog, i, name))
        for name in draw(st.lists(st.sampled_from(free({}, f"deco{i}", NDECO)),
                                  min_size=int(i == 0), max_size=1, unique=True)):
            m.decos[name] = Deco(name, gen_body(draw, scope_of(prog, i, "deco", name)))
        for name in draw(st.lists(st.sampled_from(free({}, f"f{i}", NFUNC)), min_size=1,
                                  max_size=3, unique=True)):
            m.funcs[name] = Func(name, ("lit", 0))
        for f in m.funcs.values():
            f.body = gen_body(draw, scope_of(prog, i, "func", f.name))
            f.deco = draw(st.sampled_from(deco_choices(prog, i)))
        for name in draw(st.lists(st.sampled_from(free({}, f"mk{i}", NFACT)), max_size=1,
                                  unique=True)):
            m.factories[name] = Factory(name, gen_body(
                draw, scope_of(prog, i, "factory", name), needs="k"))
        base = None if i == 0 else (i - 1, f"C{i - 1}", draw(st.sampled_from(["from", "attr"])))
        gen_class(draw, prog, i, f"C{i}", base, ["root", "sub", "inherit"][i],
                  (1, 2) if i < 2 else (0, 2))
        if draw(st.booleans()):
            gen_class(draw, prog, i, f"X{i}", None, "extra", (1, 2))
    result = normalize(prog)
    assert result is not None
    return result


# ----------------------------------------------------------------------------- edits --
# Each changes `prog` (a copy) in place and says what it did, or None if it does not apply.


def _pick(draw: Draw, options: list[Any]) -> Any:
    return draw(st.sampled_from(options)) if options else None


def edit_body(draw: Draw, prog: Program) -> str | None:
    targets: list[tuple[Any, ...]] = []
    for i, m in enumerate(prog.mods):
        targets += [("func", i, n) for n in sorted(m.funcs)]
        targets += [("deco", i, n) for n in sorted(m.decos)]
        targets += [("factory", i, n) for n in sorted(m.factories)]
        targets += [("method", i, k.name, n) for k in m.classes.values()
                    for n in sorted(k.methods)]
    what, i, *names = draw(st.sampled_from(targets))
    m = prog.mods[i]
    if what == "func":
        m.funcs[names[0]].body = gen_body(draw, scope_of(prog, i, "func", names[0]))
    elif what == "deco":
        m.decos[names[0]].body = gen_body(draw, scope_of(prog, i, "deco", names[0]))
    elif what == "factory":
        m.factories[names[0]].body = gen_body(draw, scope_of(prog, i, "factory", names[0]),
                                              needs="k")
    else:
        meth = m.classes[names[0]].methods[names[1]]
        meth.body = gen_body(draw, scope_of(prog, i, "method", names[1], names[0]), meth.sup)
    return f"body of {MODS[i]}.{'.'.join(names)}"


def change_const(draw: Draw, prog: Program) -> str | None:
    consts = [(i, n) for i, m in enumerate(prog.mods) for n in sorted(m.consts)]
    if not consts:
        return None
    i, name = draw(st.sampled_from(consts))
    c = prog.mods[i].consts[name]
    c.value = gen_const(draw, prog, i, name)
    return f"value of {MODS[i]}.{name}"


def add(draw: Draw, prog: Program, kind: str) -> str | None:
    i = draw(st.integers(0, len(MODS) - 1))
    m = prog.mods[i]
    if kind == "method":
        cname = draw(st.sampled_from(sorted(m.classes)))
        names = [n for n in METHODS if n not in m.classes[cname].methods]
        if not names:
            return None
        mname = draw(st.sampled_from(names))
        gen_method(draw, prog, i, cname, mname)
        return f"add {MODS[i]}.{cname}.{mname}"
    if kind == "class":
        if f"X{i}" in m.classes:
            return None
        gen_class(draw, prog, i, f"X{i}", None, "extra", (1, 2))
        return f"add class {MODS[i]}.X{i}"
    tables: dict[str, tuple[dict[str, Any], str, int]] = {
        "const": (m.consts, f"K{i}", NCONST), "func": (m.funcs, f"f{i}", NFUNC),
        "deco": (m.decos, f"deco{i}", NDECO), "factory": (m.factories, f"mk{i}", NFACT)}
    table, prefix, n = tables[kind]
    name = _pick(draw, free(table, prefix, n))
    if name is None:
        return None
    if kind == "const":
        m.consts[name] = Const(name, gen_const(draw, prog, i, name))
    elif kind == "func":
        m.funcs[name] = f = Func(name, gen_body(draw, scope_of(prog, i, "func", name)))
        f.deco = draw(st.sampled_from(deco_choices(prog, i)))
    elif kind == "deco":
        m.decos[name] = Deco(name, gen_body(draw, scope_of(prog, i, "deco", name)))
    else:
        m.factories[name] = Factory(name, gen_body(draw, scope_of(prog, i, "factory", name),
                                                   needs="k"))
    return f"add {MODS[i]}.{name}"


def remove(draw: Draw, prog: Program, kind: str) -> str | None:
    if kind == "method":
        pairs = [(i, k.name, n) for i, m in enumerate(prog.mods) for k in m.classes.values()
                 for n in sorted(k.methods)]
        if not pairs:
            return None
        i, cname, mname = draw(st.sampled_from(pairs))
        del prog.mods[i].classes[cname].methods[mname]
        return f"remove {MODS[i]}.{cname}.{mname}"
    attr = {"const": "consts", "func": "funcs", "deco": "decos", "factory": "factories",
            "class": "classes"}[kind]
    names = [(i, n) for i, m in enumerate(prog.mods) for n in sorted(getattr(m, attr))
             if kind != "class" or n.startswith("X")]
    if not names:
        return None
    i, name = draw(st.sampled_from(names))
    del getattr(prog.mods[i], attr)[name]
    return f"remove {MODS[i]}.{name}"


def redecorate(draw: Draw, prog: Program) -> str | None:
    funcs = [(i, n) for i, m in enumerate(prog.mods) for n in sorted(m.funcs)]
    i, name = draw(st.sampled_from(funcs))
    f = prog.mods[i].funcs[name]
    choices = [d for d in deco_choices(prog, i) if d != f.deco]
    if not choices:
        return None
    f.deco = draw(st.sampled_from(choices))
    return f"decorate {MODS[i]}.{name} with {spell(f.deco) if f.deco else 'nothing'}"


KINDS = ["const", "func", "method", "deco", "factory", "class"]


# ------------------------------------------------------------------------ comparison --


def probe(v: int) -> int:
    """What a kept decorator is applied to."""
    return 3 * v - 1


@dataclass
class Inst:
    """An instance kept since `step`, with the attribute changes made to it since."""

    step: int
    mod: int
    cname: str
    uid: int
    arg: int
    obj: Any
    sets: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Refs:
    step: int
    arg: int  # constructor argument and closure ``k``
    funcs: list[tuple[int, str, Any, FunctionType, NameRef | None]]  # (mod, name, obj, raw, deco)
    decos: list[tuple[int, str, FunctionType]]
    factories: list[tuple[int, str, FunctionType, FunctionType]]  # (mod, name, mk, mk(arg))
    classes: list[tuple[int, str, int, type]]
    insts: list[Inst]
    bound: list[tuple[Inst, str, int, str, int, Any]]  # (inst, m, owner mod, owner, uid, bm)
    raw_methods: list[tuple[Inst, str, FunctionType]]  # (inst, m, cls.__dict__[m])


def drop(pkg: str) -> None:
    for key in [k for k in sys.modules if k == pkg or k.startswith(pkg + ".")]:
        del sys.modules[key]


def public(obj: Any) -> set[str]:
    return {k for k in vars(obj) if not k.startswith("__")}


def bound_names(src: str) -> tuple[set[str], dict[str, set[str]]]:
    """Top-level names a source binds, and the members of each class it defines."""
    top: set[str] = set()
    members: dict[str, set[str]] = {}
    for node in ast.parse(src).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            top |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign):
            top |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            top.add(node.name)
            if isinstance(node, ast.ClassDef):
                members[node.name] = {s.name for s in node.body
                                      if isinstance(s, ast.FunctionDef)}
    return top, members


class StatefulProgram(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="hs_stateful_"))
        sys.path.insert(0, str(self.root))
        self.pkg = f"hs_prog_{next(_ids)}"
        self.fresh_count = itertools.count()
        self.applied: Program | None = None  # what the live program runs
        self.program: Program | None = None  # what the files will say at the next apply
        self.pending: list[str] = []
        self.keys: list[set[tuple[Any, ...]]] = []  # per applied step
        self.redecorated: list[set[tuple[int, str]]] = []  # per step: what reports named
        # per step: factories whose earlier closures a report said keep their old lines
        self.unlined: list[set[tuple[int, str]]] = []
        self.refs: list[Refs] = []
        self.insts: list[Inst] = []
        self.xs: list[int] = []
        self.healthy = True

    # ------------------------------------------------------------------ plumbing --

    @property
    def step(self) -> int:
        return len(self.keys) - 1

    def write(self, folder: Path, sources: list[str]) -> None:
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").touch()
        for name, src in zip(MODS, sources):
            path = folder / f"{name}.py"
            if not path.exists() or path.read_text() != src:
                path.write_text(src)

    def live(self, i: int) -> ModuleType:
        return sys.modules[f"{self.pkg}.{MODS[i]}"]

    def import_all(self, pkg: str) -> list[ModuleType]:
        importlib.invalidate_caches()
        return [importlib.import_module(f"{pkg}.{name}") for name in MODS]

    def fresh_import(self) -> tuple[str, list[ModuleType]]:
        """The current sources imported under a package name of their own."""
        assert self.applied is not None
        pkg = f"{self.pkg}_fresh{next(self.fresh_count)}"
        self.write(self.root / pkg, render(self.applied))
        return pkg, self.import_all(pkg)

    def draft(self) -> Program:
        """A copy of the program as the next apply will write it, to edit."""
        assert self.program is not None
        return copy.deepcopy(self.program)

    def edited(self, what: str | None, new: Program) -> None:
        if what is None:
            return
        result = normalize(new)
        if result is None:
            note(f"edit refused (it would change a closure or super() capture): {what}")
            return
        self.program = result
        self.pending.append(what)
        note(f"edit: {what}")

    # --------------------------------------------------------------------- rules --

    @initialize(data=st.data(), xs=st.lists(st.integers(-4, 9), min_size=2, max_size=2))
    def build(self, data: st.DataObject, xs: list[int]) -> None:
        self.xs = xs
        prog = initial_program(data.draw)
        self.applied, self.program = prog, copy.deepcopy(prog)
        sources = render(prog)
        note("initial sources:\n" + "\n".join(f"--- {n} ---\n{s}" for n, s in zip(MODS, sources)))
        self.write(self.root / self.pkg, sources)
        self.import_all(self.pkg)
        self.keys.append(prog.keys())
        self.redecorated.append(set())
        self.unlined.append(set())
        self.take(xs[0])
        self.compare()

    def can_edit(self) -> bool:
        return self.program is not None and len(self.pending) < MAX_PENDING

    @precondition(can_edit)
    @rule(data=st.data())
    def edit_a_body(self, data: st.DataObject) -> None:
        new = self.draft()
        self.edited(edit_body(data.draw, new), new)

    @precondition(can_edit)
    @rule(data=st.data())
    def change_a_constant(self, data: st.DataObject) -> None:
        new = self.draft()
        self.edited(change_const(data.draw, new), new)

    @precondition(can_edit)
    @rule(kind=st.sampled_from(KINDS), data=st.data())
    def add_one(self, kind: str, data: st.DataObject) -> None:
        new = self.draft()
        self.edited(add(data.draw, new, kind), new)

    @precondition(can_edit)
    @rule(kind=st.sampled_from(KINDS), data=st.data())
    def remove_one(self, kind: str, data: st.DataObject) -> None:
        new = self.draft()
        self.edited(remove(data.draw, new, kind), new)

    @precondition(can_edit)
    @rule(data=st.data())
    def decorate(self, data: st.DataObject) -> None:
        new = self.draft()
        self.edited(redecorate(data.draw, new), new)

    @precondition(lambda self: self.applied is not None)
    @rule(arg=st.integers(-3, 9))
    def take_refs(self, arg: int) -> None:
        self.take(arg)

    @precondition(lambda self: bool(self.insts))
    @rule(data=st.data(), value=st.integers(-9, 9))
    def mutate(self, data: st.DataObject, value: int) -> None:
        inst = data.draw(st.sampled_from(self.insts))
        attr = data.draw(st.sampled_from(sorted(vars(inst.obj))))
        setattr(inst.obj, attr, value)
        inst.sets.append((attr, value))

    @precondition(lambda self: self.applied is not None)
    @rule(data=st.data())
    def apply(self, data: st.DataObject) -> None:
        """Write the changed files and update them as one transaction."""
        self.update(data.draw, together=True)

    @precondition(lambda self: self.applied is not None)
    @rule()
    def apply_one_by_one(self) -> None:
        """Write the changed files and update each, imported modules first."""
        self.update(None, together=False)

    def teardown(self) -> None:
        try:
            if self.healthy and self.pending:
                self.update(None, together=True)
        finally:
            drop(self.pkg)
            for n in range(next(self.fresh_count)):
                drop(f"{self.pkg}_fresh{n}")
            if str(self.root) in sys.path:
                sys.path.remove(str(self.root))
            shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------- updates --

    def update(self, draw: Draw | None, together: bool) -> None:
        assert self.applied is not None and self.program is not None
        self.healthy = False
        old, new = render(self.applied), render(self.program)
        changed = [i for i in range(len(MODS)) if old[i] != new[i]]
        targets = list(changed)
        if together and draw is not None:
            if draw(st.booleans()):
                targets = list(range(len(MODS)))  # unchanged modules are no-ops
            targets = draw(st.permutations(targets))  # update_many finds the order
        note(f"apply {self.pending} as "
             + (f"update_many({[MODS[i] for i in targets]})" if together
                else f"update() of {[MODS[i] for i in targets]} in turn") + ":\n"
             + "\n".join(f"--- {MODS[i]} ---\n{new[i]}" for i in changed))
        self.write(self.root / self.pkg, new)
        reports: dict[int, hotswap.Report] = {}
        if together and len(targets) == 1 and draw is not None and draw(st.booleans()):
            reports[targets[0]] = hotswap.update(self.live(targets[0]))
        elif together:
            got = hotswap.update_many([self.live(i) for i in targets])
            assert [r.module for r in got] == [self.live(i).__name__ for i in targets]
            reports = dict(zip(targets, got))
        else:
            for i in targets:
                reports[i] = hotswap.update(self.live(i))
        for i, r in reports.items():
            note(str(r))
        self.check_reports(reports, old, new)
        self.applied, self.program = self.program, copy.deepcopy(self.program)
        self.pending = []
        self.keys.append(self.applied.keys())
        self.redecorated.append({(i, n.rsplit(".", 1)[1]) for i, r in reports.items()
                                 for n in r.redecorated})
        lead = "closures made earlier by "
        self.unlined.append({(MODS.index(q.split(".")[-2]), q.split(".")[-1])
                             for r in reports.values() for n in r.notes if n.startswith(lead)
                             for q in n[len(lead):].split(" and not held")[0].split(", ")})
        self.compare()
        self.take(self.xs[0])
        self.healthy = True

    def check_reports(self, reports: dict[int, Any], old: list[str], new: list[str]) -> None:
        assert self.applied is not None and self.program is not None
        for i, r in reports.items():
            name = f"{self.pkg}.{MODS[i]}"
            assert r.module == name
            if code_changed(old[i], new[i]) or not r.changed:
                assert r.changed == code_changed(old[i], new[i]), f"{name}: changed\n{r}"
            else:  # unchanged, in the batch: it ran again what reads a name it follows
                assert r.rerun or r.functions, f"{name}: changed, but ran nothing\n{r}"
            assert not r.skipped, f"{name}: left on an old version\n{r}"
            (old_top, old_members), (new_top, new_members) = bound_names(old[i]), \
                bound_names(new[i])
            # members of a class that went and came back (another uid) are not compared
            olds, news = self.applied.mods[i].classes, self.program.mods[i].classes
            kept = {c for c in olds if c in news and olds[c].uid == news[c].uid}

            def names(items: list[str], r: Any = r, name: str = name,
                      kept: set[str] = kept) -> set[str]:
                assert all(n.startswith(name + ".") for n in items), r
                short = {n[len(name) + 1:] for n in items}
                return {n for n in short if "." not in n or n.split(".")[0] in kept}

            def members(top: set[str], by_class: dict[str, set[str]],
                        kept: set[str] = kept) -> set[str]:
                return top | {f"{c}.{m}" for c in kept for m in by_class.get(c, ())}

            was, now = members(old_top, old_members), members(new_top, new_members)
            assert names(r.added) == now - was, f"{name}: added\n{r}"
            assert names(r.removed) == was - now, f"{name}: removed\n{r}"

    # ---------------------------------------------------------------- references --

    def take(self, arg: int) -> None:
        """Keep references to everything the live program has now."""
        prog = self.applied
        assert prog is not None
        refs = Refs(self.step, arg, [], [], [], [], [], [], [])
        for i, m in enumerate(prog.mods):
            mod = self.live(i)
            for f in m.funcs.values():
                obj = getattr(mod, f.name)
                refs.funcs.append((i, f.name, obj, inspect.unwrap(obj), f.deco))
            refs.decos += [(i, d, getattr(mod, d)) for d in m.decos]
            for name in m.factories:
                mk = getattr(mod, name)
                refs.factories.append((i, name, mk, mk(arg)))
            for k in m.classes.values():
                cls = getattr(mod, k.name)
                refs.classes.append((i, k.name, k.uid, cls))
                inst = Inst(self.step, i, k.name, k.uid, arg, cls(arg))
                refs.insts.append(inst)
                for mname, (omod, owner) in prog.methods_of(i, k.name).items():
                    refs.bound.append((inst, mname, omod, owner.name, owner.uid,
                                       getattr(inst.obj, mname)))
                refs.raw_methods += [(inst, mname, vars(cls)[mname]) for mname in k.methods]
        self.refs.append(refs)
        self.insts += refs.insts

    def alive(self, key: tuple[Any, ...], since: int) -> bool:
        """Whether `key` existed at every step from `since` to now."""
        return all(key in self.keys[s] for s in range(since, self.step + 1))

    def compare(self) -> None:
        fpkg, fresh = self.fresh_import()
        try:
            self.compare_with(fpkg, fresh)
        finally:
            drop(fpkg)

    def compare_with(self, fpkg: str, fresh: list[ModuleType]) -> None:
        prog = self.applied
        assert prog is not None
        live = [self.live(i) for i in range(len(MODS))]
        xs = self.xs

        def same(want_fn: Callable[..., Any], got_fn: Callable[..., Any], what: str,
                 args: list[tuple[Any, ...]]) -> None:
            for a in args:
                want = outcome(want_fn, *a)
                assert want[0] == "ok", f"generator bug: fresh {what}{a} -> {want}"
                got = outcome(got_fn, *a)
                if got[0] == "raised":
                    got = got[:2] + (got[2].replace(self.pkg, fpkg),)
                assert got == want, f"{what}{a}: live {got} != fresh {want}"

        calls = [(x,) for x in xs]

        def same_line(got_fn: Any, want_fn: Any, what: str) -> None:
            """The line tracebacks and ``inspect`` show is the fresh one."""
            got, want = got_fn.__code__.co_firstlineno, want_fn.__code__.co_firstlineno
            assert got == want, f"{what}: first line {got} != fresh {want}"

        # The namespaces: nothing removed lingers, nothing added is missing, constants
        # are equal and every other name is the live counterpart of the fresh object.
        fresh_short = {f"{fpkg}.{n}": i for i, n in enumerate(MODS)}
        for i, (lm, fm) in enumerate(zip(live, fresh)):
            assert public(lm) == public(fm), f"names of {MODS[i]}"
            for name in sorted(public(fm)):
                want, got = getattr(fm, name), getattr(lm, name)
                what = f"{MODS[i]}.{name}"
                if isinstance(want, int):
                    assert got == want, f"{what}: live {got} != fresh {want}"
                elif isinstance(want, ModuleType):
                    home = fresh_short.get(want.__name__)
                    assert got is (want if home is None else live[home]), what
                else:
                    home, hname = fresh_short[want.__module__], want.__name__
                    assert getattr(fresh[home], hname) is want, f"{what}: fresh home"
                    assert got is getattr(live[home], hname), \
                        f"{what} is not {MODS[home]}.{hname}"
        for i, m in enumerate(prog.mods):
            for k in m.classes.values():
                lc, fc = getattr(live[i], k.name), getattr(fresh[i], k.name)
                assert public(lc) == public(fc), f"members of {MODS[i]}.{k.name}"

        def fresh_instance(inst: Inst) -> Any:
            obj = getattr(fresh[inst.mod], inst.cname)(inst.arg)
            for attr, value in inst.sets:
                setattr(obj, attr, value)
            return obj

        for r in self.refs:
            tag = f"[ref from step {r.step}, arg {r.arg}] "
            for i, name, obj, raw, deco in r.funcs:
                if not self.alive(("f", i, name), r.step):
                    continue
                what = f"{tag}{MODS[i]}.{name}"
                fresh_raw = inspect.unwrap(getattr(fresh[i], name))
                assert inspect.unwrap(getattr(live[i], name)) is raw, \
                    f"{what}: the undecorated function is another object"
                same(fresh_raw, raw, what + " (undecorated)", calls)
                same_line(raw, fresh_raw, what)
                # A function whose decoration did not change is the same object, unless a
                # report said it was decorated again (its decorator's name was rebound).
                if self.alive(("deco_of", i, name, deco), r.step) and not any(
                        (i, name) in self.redecorated[s] for s in range(r.step + 1,
                                                                         self.step + 1)):
                    assert getattr(live[i], name) is obj, f"{what}: another object"
                if deco is not None and self.alive(("d", deco[0], deco[1]), r.step):
                    made = getattr(fresh[deco[0]], deco[1])(fresh_raw)
                    same(made, obj, f"{what} (as wrapped by {spell(deco)} then)", calls)
                    # a wrapper no module holds any more keeps its lines when its
                    # decorator moves, if the report said so (see `unlined`)
                    if getattr(live[i], name) is obj or not any(
                            (deco[0], deco[1]) in self.unlined[s]
                            for s in range(r.step + 1, self.step + 1)):
                        same_line(obj, made, f"{what} (its wrapper)")
            for i, name, obj in r.decos:
                if self.alive(("d", i, name), r.step):
                    what = f"{tag}{MODS[i]}.{name}"
                    assert getattr(live[i], name) is obj, f"{what}: another object"
                    same(getattr(fresh[i], name)(probe), obj(probe), what + "(probe)", calls)
            for i, name, mk, closure in r.factories:
                if self.alive(("k", i, name), r.step):
                    what = f"{tag}{MODS[i]}.{name}"
                    assert getattr(live[i], name) is mk, f"{what}: another object"
                    fmk = getattr(fresh[i], name)
                    same(fmk(r.arg), closure, f"{what}({r.arg}) (closure made then)", calls)
                    if not any((i, name) in self.unlined[s]
                               for s in range(r.step + 1, self.step + 1)):
                        same_line(closure, fmk(r.arg), f"{what}({r.arg}) (closure made then)")
                    same(fmk(r.arg), mk(r.arg), f"{what}({r.arg}) (closure made now)", calls)
            for i, cname, uid, cls in r.classes:
                if self.alive(("c", i, cname, uid), r.step):
                    assert getattr(live[i], cname) is cls, f"{tag}{MODS[i]}.{cname}"
            for inst in r.insts:
                if not self.alive(("c", inst.mod, inst.cname, inst.uid), r.step):
                    continue
                what = f"{tag}{MODS[inst.mod]}.{inst.cname}({inst.arg}) instance"
                assert type(inst.obj) is getattr(live[inst.mod], inst.cname), what
                finst = fresh_instance(inst)
                assert vars(inst.obj) == vars(finst), f"{what}: state"
                for mname in METHODS:
                    assert hasattr(inst.obj, mname) == hasattr(finst, mname), f"{what}.{mname}"
                for mname in prog.methods_of(inst.mod, inst.cname):
                    same(getattr(finst, mname), getattr(inst.obj, mname), f"{what}.{mname}",
                         calls)
            for inst, mname, omod, owner, ouid, bm in r.bound:
                if self.alive(("c", inst.mod, inst.cname, inst.uid), r.step) and \
                        self.alive(("m", omod, owner, ouid, mname), r.step):
                    ffn = vars(getattr(fresh[omod], owner))[mname]
                    same(functools.partial(ffn, fresh_instance(inst)), bm,
                         f"{tag}bound {inst.cname}({inst.arg}).{mname} (runs {owner}.{mname})",
                         calls)
            for inst, mname, fn in r.raw_methods:
                if self.alive(("m", inst.mod, inst.cname, inst.uid, mname), r.step):
                    what = f"{tag}{MODS[inst.mod]}.{inst.cname}.{mname}"
                    assert vars(getattr(live[inst.mod], inst.cname))[mname] is fn, what
                    ffn = vars(getattr(fresh[inst.mod], inst.cname))[mname]
                    same_line(fn, ffn, what)
                    same(functools.partial(ffn, fresh_instance(inst)),
                         functools.partial(fn, inst.obj), what + " (function, old instance)",
                         calls)


# One counterexample at a time: shrinking several distinct ones together took the full five
# minutes hypothesis allows (one takes seconds); each one found is also a test below.
# The default run (CI) takes the same examples every time, so that a green main stays
# green; ``HOTSWAP_EXAMPLES=N`` explores new ones on each run.
StatefulProgram.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=8, deadline=None, report_multiple_bugs=False,
    derandomize="HOTSWAP_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large])
TestStatefulProgram = StatefulProgram.TestCase


# ----------------------------------------------------------- counterexamples, minimal --
# What the machine found, reduced by hand to a few lines each so that every one is checked
# on its own, whatever the machine happens to hit first. Found against fb3de74; the ones
# marked "fixed in" passed by the time this file was written and stay as regressions.


@pytest.fixture
def package(modules: Any) -> Iterator[Callable[[str, str], Any]]:
    """`package(module, source)` writes and imports ``<fresh package>.<module>``."""
    name = f"hs_stateful_repro_{next(_ids)}"
    yield lambda mod, src: modules(src, name=f"{name}.{mod}")
    drop(name)


DECORATED = """
    import functools

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            return fn(*args) * {times}
        return wrapper

    {line}
    def f(x):
        return x + {add}
"""


def test_a_function_whose_decorator_is_removed_keeps_its_identity(package):
    """Taking ``@deco`` off a function made ``mod.f`` a new function: the old one (what
    references and the old wrapper hold) ran the old body for good, and the report named
    nothing left behind. (Fixed in 1a11f52.)"""
    mf = package("base", DECORATED.format(line="@deco", add=1, times=2))
    wrapper = mf.module.f
    raw = inspect.unwrap(wrapper)
    mf.update(DECORATED.format(line="", add=1, times=2))
    report = mf.update(DECORATED.format(line="", add=10, times=2))
    assert not report.skipped
    assert mf.module.f(1) == 11
    assert raw(1) == 11, "the function taken before the decorator went runs old code"
    assert wrapper(1) == 22, "the old wrapper calls the old code"
    assert mf.module.f is raw


def test_an_importer_statement_reading_a_followed_name_runs_again(package):
    """``from .base import K`` follows ``base.K``, but ``DOUBLE = K * 2`` in the importer,
    which reads the rebound name, is not run again (and no report says so): a fresh
    import says 10. The same holds for a default ``def g(x, d=K)``."""
    base = package("base", "K = 1\n")
    mid = package("mid", "from .base import K\nDOUBLE = K * 2\n")
    base.update("K = 5\n")
    assert mid.module.K == 5
    assert mid.module.DOUBLE == 10


def test_an_importer_in_the_same_batch_runs_statements_reading_a_followed_name(package):
    """The same with the importer in the ``update_many`` batch: its source did not change,
    so it is "unchanged: nothing to do"."""
    base = package("base", "K = 1\n")
    mid = package("mid", "from .base import K\nDOUBLE = K * 2\n")
    base.write("K = 5\n")
    hotswap.update_many([base.module, mid.module])
    assert mid.module.DOUBLE == 10


def test_a_name_re_exported_by_another_module_follows(package):
    """``top`` takes ``K`` from ``mid``, which took it from ``base``: after ``base.K`` is
    rebound ``mid.K`` followed but ``top.K`` kept the old value. (Fixed in 0c2fb69.)"""
    base = package("base", "K = 1\n")
    mid = package("mid", "from .base import K\n")
    top = package("top", "from .mid import K\n")
    base.update("K = 2\n")
    assert (base.module.K, mid.module.K, top.module.K) == (2, 2, 2)


def test_a_re_exported_name_follows_into_a_module_importing_the_source_too(package):
    """As above, but ``top`` also imports a name straight from ``base``: it is visited as
    an importer of ``base`` first and then skipped as an importer of ``mid``, so the
    re-exported ``K`` stays old (found at 1a11f52)."""
    base = package("base", "J = 1\nK = 1\n")
    mid = package("mid", "from .base import K\n")
    top = package("top", "from .base import J\nfrom .mid import K\n")
    base.update("J = 2\nK = 2\n")
    assert (mid.module.K, top.module.J) == (2, 2)
    assert top.module.K == 2


FACTORY = """
    {above}
    def mk(k):
        def inner(x):
            return {body}
        return inner
"""


def test_a_closure_made_before_its_factory_moved_follows_later_edits(package):
    """Lines added above a factory re-line the factory but not the closures it made
    before (that would take a heap walk: the report says so); a later edit of the
    closure's body then missed them (they ran the old body, fixed in 52bf453). That edit,
    which walks the heap anyway, gives them the new lines too."""
    mf = package("base", FACTORY.format(above="", body="x + k"))
    old = mf.module.mk(6)
    moved = mf.update(FACTORY.format(above="Y = 1\n    Z = 2", body="x + k"))
    assert moved.heap_walks == 0
    assert any("closures made earlier by" in n and ".mk " in n for n in moved.notes), moved
    report = mf.update(FACTORY.format(above="Y = 1\n    Z = 2", body="1 + k"))
    assert not report.skipped
    assert mf.module.mk(6)(6) == 7
    assert old(6) == 7, "the closure made before the factory moved runs the old body"
    assert old.__code__.co_firstlineno == mf.module.mk(6).__code__.co_firstlineno


def test_a_decorated_function_follows_its_decorator_after_it_moved(package):
    """The same through a decorator: ``mod.f`` itself (a wrapper made at import) kept the
    decorator's old body once lines above had moved. (Fixed in 52bf453.)"""
    mf = package("base", DECORATED.format(line="@deco", add=0, times=2))
    moved = "Y = 1\nZ = 2\n" + textwrap.dedent(DECORATED)
    mf.update(moved.format(line="@deco", add=0, times=2))
    report = mf.update(moved.format(line="@deco", add=0, times=100))
    assert not report.skipped
    assert mf.module.f(1) == 100


def _first_lines(live: Any, fresh: Any, names: list[str]) -> None:
    for name in names:
        obj, want = live, fresh
        for part in name.split("."):
            obj, want = getattr(obj, part), getattr(want, part)
        got = inspect.unwrap(obj).__code__.co_firstlineno
        expected = inspect.unwrap(want).__code__.co_firstlineno
        assert got == expected, f"{name} starts on line {got}, not {expected}"


def test_methods_of_a_class_run_again_are_re_lined_once(package):
    """A class that reads a name a re-run import rebinds (its base) and moved up a line:
    its second method said it starts two lines below where it does (the first is right)."""
    src = "from json import {names}\n{above}\n\nclass B(JSONEncoder):\n" \
          "    def m(self):\n        return 1\n    def n(self):\n        return 2\n"
    mf = package("base", src.format(names="JSONEncoder", above="X = 1\nY = 2"))
    mf.update(src.format(names="JSONEncoder, JSONDecoder", above="X = 1"))
    fresh = package("fresh", src.format(names="JSONEncoder, JSONDecoder", above="X = 1"))
    _first_lines(mf.module, fresh.module, ["B.m", "B.n"])


def test_a_function_decorated_again_is_re_lined(package):
    """A function decorated again because a re-run import rebound its decorator's name,
    and moved down a line: it kept its old first line (found at 1a11f52)."""
    src = "from functools import {names}\n{above}\n\n@cache\ndef f(x):\n    return x\n"
    mf = package("base", src.format(names="cache", above="X = 1"))
    mf.update(src.format(names="cache, partial", above="X = 1\nY = 2"))
    fresh = package("fresh", src.format(names="cache, partial", above="X = 1\nY = 2"))
    _first_lines(mf.module, fresh.module, ["f"])
