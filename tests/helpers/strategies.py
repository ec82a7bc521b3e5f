"""Random small modules, as data that renders to source, and random edits of them.

A generated module is a `Model`: module constants, module functions and classes, each a
small spec. `render` turns a model into source text; the edits below change a copy of a
model (a function body, a constant, an added or removed function, method, constant or
class, a default parameter, the order of definitions, blank lines and comments) so that
one live module can be updated through a sequence of versions.

Every generated program is valid and total: each function and method, called with the
arguments the tests pass (ints), returns an int. Calls are acyclic (``f<i>`` only calls
``f<j>`` with ``j < i``; ``m<i>`` only calls ``self.m<j>`` with ``j < i`` and
``super().m<j>`` with ``j <= i``), and after every edit references to things that no
longer exist are replaced by literals (`normalize`).

What is deliberately held fixed, because hotswap documents it as *not* re-run or not
patchable in place, so that a fresh import of the new source is an exact oracle:

* constants, class constants and parameter defaults are literals (an unchanged statement
  keeps its live value; with literals, live == fresh);
* a class's ``__init__`` and its header (bases) never change (old instances keep their
  state: an edited ``__init__`` would legitimately differ from fresh instances), except
  through `redefine_class` (only with ``histories(redefine=True)``), which makes a new
  class under the old name: it gets a new ``uid`` and references to the old one are not
  compared with the new one;
* whether a method uses zero-argument ``super()`` is fixed for its lifetime (adding or
  dropping the ``__class__`` free variable is a documented "left on old version" case).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from hypothesis import strategies as st

FUNC_NAMES = [f"f{i}" for i in range(5)]
CONST_NAMES = [f"A{i}" for i in range(4)]
CLASS_NAMES = ["C0", "C1", "C2"]
METHOD_NAMES = [f"m{i}" for i in range(4)]
KCONST_NAMES = [f"K{i}" for i in range(3)]
NOTES = ["note", "TODO: tidy", "-- section --", "keep in sync"]
MAX_DEFAULTS = 2
MAX_CALLS = 2  # call nodes per body: keeps the number of calls a top-level call makes small

Expr = tuple  # ("lit", 3), ("bin", "+", l, r), ... see render_expr


def index(name: str) -> int:
    return int(name[1:])


def arity(name: str) -> int:
    """Required positional parameters of function `f<i>` / method `m<i>` (self excluded)."""
    return index(name) % 3


# --------------------------------------------------------------------------- the model --


@dataclass
class Const:
    name: str
    value: int
    gap: int = 0  # blank lines before it
    note: str | None = None  # a comment line before it


@dataclass
class Func:
    """A module function or a method (`sup`: its body calls ``super()``; methods only)."""

    name: str
    body: list[tuple]  # [("assign", "t0", expr), ..., ("return", expr)]
    defaults: list[int] = field(default_factory=list)  # values of d0, d1, ...
    sup: bool = False
    pad: int = 0  # comment lines at the top of the body
    gap: int = 0
    note: str | None = None

    @property
    def params(self) -> list[str]:
        return [f"p{k}" for k in range(arity(self.name))] + \
            [f"d{k}" for k in range(len(self.defaults))]


@dataclass
class Init:
    """``__init__(self, p0, ...)``: attributes from parameters and literals only.

    In a subclass it first calls ``super().__init__`` with the same parameters.
    """

    nparams: int
    sets: list[tuple[str, Expr]]
    sup: bool
    gap: int = 0
    note: str | None = None


Member = Union[Const, Func, Init]


@dataclass
class Klass:
    name: str
    base: str | None
    members: list[Member]
    gap: int = 0
    note: str | None = None
    uid: int = 0  # a class defined anew under an old name (`redefine_class`) is another class

    @property
    def init(self) -> Init | None:
        return next((m for m in self.members if isinstance(m, Init)), None)

    @property
    def methods(self) -> dict[str, Func]:
        return {m.name: m for m in self.members if isinstance(m, Func)}

    @property
    def consts(self) -> dict[str, Const]:
        return {m.name: m for m in self.members if isinstance(m, Const)}


Item = Union[Const, Func, Klass]


@dataclass
class Model:
    items: list[Item]
    uids: int = 0  # classes made so far: the next one's uid

    def of(self, kind: type) -> dict[str, Any]:
        return {i.name: i for i in self.items if isinstance(i, kind)}

    @property
    def consts(self) -> dict[str, Const]:
        return self.of(Const)

    @property
    def funcs(self) -> dict[str, Func]:
        return self.of(Func)

    @property
    def classes(self) -> dict[str, Klass]:
        return self.of(Klass)

    def mro(self, cname: str) -> list[Klass]:
        out: list[Klass] = []
        classes = self.classes
        cur: str | None = cname
        while cur is not None:
            out.append(classes[cur])
            cur = classes[cur].base
        return out

    def owner(self, cname: str, mname: str) -> Klass | None:
        """The class whose `mname` an instance of `cname` runs (None: not available)."""
        return next((k for k in self.mro(cname) if mname in k.methods), None)

    def methods_of(self, cname: str) -> list[str]:
        return sorted({m for k in self.mro(cname) for m in k.methods})

    def kconsts_of(self, cname: str) -> list[str]:
        return sorted({c for k in self.mro(cname) for c in k.consts})

    def kconst_value(self, cname: str, kname: str) -> int:
        return next(k.consts[kname].value for k in self.mro(cname) if kname in k.consts)

    def attrs_of(self, cname: str) -> list[str]:
        out: list[str] = []
        for k in reversed(self.mro(cname)):
            init = k.init
            if init is not None:
                out.extend(a for a, _ in init.sets)
        return out

    def ctor_arity(self, cname: str) -> int:
        return next(k.init.nparams for k in self.mro(cname) if k.init is not None)

    def subclasses(self, cname: str) -> list[str]:
        return [k.name for k in self.classes.values() if k.base == cname]

    def keys(self) -> set[tuple[Any, ...]]:
        """What a reference can be taken to: functions, classes, methods.

        Functions and methods are known by name (hotswap matches definitions by name, so a
        def removed and added back in one update is the same function); a class also by
        its uid, because one defined anew (another header, another ``__init__``) makes its
        old instances legitimately differ from new ones.
        """
        out: set[tuple[Any, ...]] = {("f", n) for n in self.funcs}
        for k in self.classes.values():
            out.add(("c", k.name, k.uid))
            out.update(("m", k.name, k.uid, m) for m in k.methods)
        return out

    def top_names(self) -> set[str]:
        return {i.name for i in self.items}


# ------------------------------------------------------------------------- rendering --


def render_expr(e: Expr) -> str:
    kind = e[0]
    if kind == "lit":
        return str(e[1])
    if kind in ("var", "const"):
        return e[1]
    if kind == "attr":
        return f"self.{e[1]}"
    if kind == "kconst":
        return f"{e[1] or 'self'}.{e[2]}"
    if kind == "call":
        return f"{e[1]}({', '.join(render_expr(a) for a in e[2])})"
    if kind == "mcall":
        return f"self.{e[1]}({', '.join(render_expr(a) for a in e[2])})"
    if kind == "super":
        return f"super().{e[1]}({', '.join(render_expr(a) for a in e[2])})"
    if kind == "bin":
        return f"({render_expr(e[2])} {e[1]} {render_expr(e[3])})"
    if kind == "mod":
        return f"({render_expr(e[1])} % {e[2]})"
    if kind == "cond":
        _, a, b, left, right = e
        return (f"({render_expr(a)} if {render_expr(left)} < {render_expr(right)} "
                f"else {render_expr(b)})")
    raise AssertionError(e)


def _lead(spec: Any, indent: str) -> list[str]:
    lines = [""] * spec.gap
    if spec.note is not None:
        lines.append(f"{indent}# {spec.note}")
    return lines


def render_func(f: Func, indent: str, method: bool) -> list[str]:
    params = [f"p{k}" for k in range(arity(f.name))]
    params += [f"d{k}={v}" for k, v in enumerate(f.defaults)]
    if method:
        params.insert(0, "self")
    inner = indent + "    "
    lines = _lead(f, indent) + [f"{indent}def {f.name}({', '.join(params)}):"]
    lines += [f"{inner}# step {k}" for k in range(f.pad)]
    for stmt in f.body:
        if stmt[0] == "assign":
            lines.append(f"{inner}{stmt[1]} = {render_expr(stmt[2])}")
        else:
            lines.append(f"{inner}return {render_expr(stmt[1])}")
    return lines


def render_init(init: Init, indent: str) -> list[str]:
    params = ["self"] + [f"p{k}" for k in range(init.nparams)]
    inner = indent + "    "
    lines = _lead(init, indent) + [f"{indent}def __init__({', '.join(params)}):"]
    if init.sup:
        lines.append(f"{inner}super().__init__({', '.join(params[1:])})")
    lines += [f"{inner}self.{a} = {render_expr(e)}" for a, e in init.sets]
    if not init.sup and not init.sets:
        lines.append(f"{inner}pass")
    return lines


def render_class(k: Klass) -> list[str]:
    head = f"class {k.name}({k.base}):" if k.base else f"class {k.name}:"
    lines = _lead(k, "") + [head]
    for m in k.members:
        if isinstance(m, Const):
            lines += _lead(m, "    ") + [f"    {m.name} = {m.value}"]
        elif isinstance(m, Init):
            lines += render_init(m, "    ")
        else:
            lines += render_func(m, "    ", method=True)
    if not k.members:
        lines.append("    pass")
    return lines


def render(model: Model) -> str:
    lines: list[str] = ["# generated by tests/helpers/strategies.py"]
    for item in model.items:
        if isinstance(item, Const):
            lines += _lead(item, "") + [f"{item.name} = {item.value}"]
        elif isinstance(item, Func):
            lines += render_func(item, "", method=False)
        else:
            lines += render_class(item)
    return "\n".join(lines) + "\n"


def code_changed(old_src: str, new_src: str) -> bool:
    """Whether two sources differ in code, not just in layout, comments or the order of
    top-level statements (which hotswap matches by name and by code)."""
    def stmts(src: str) -> Counter[str]:
        return Counter(ast.dump(s) for s in ast.parse(src).body)
    return stmts(old_src) != stmts(new_src)


# ---------------------------------------------------------- scopes and normalization --


@dataclass
class Scope:
    """What a body may refer to."""

    params: list[str]
    consts: list[str]
    funcs: list[str]
    attrs: list[str] = field(default_factory=list)
    kconsts: list[tuple[str | None, str]] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    supers: list[str] = field(default_factory=list)


def func_scope(model: Model, f: Func) -> Scope:
    return Scope(f.params, sorted(model.consts),
                 sorted(n for n in model.funcs if index(n) < index(f.name)))


def method_scope(model: Model, cname: str, f: Func) -> Scope:
    k = model.classes[cname]
    kconsts: list[tuple[str | None, str]] = [(None, c) for c in model.kconsts_of(cname)]
    for other in sorted(model.classes):
        kconsts += [(other, c) for c in model.kconsts_of(other)]
    return Scope(
        f.params, sorted(model.consts), sorted(model.funcs),
        attrs=model.attrs_of(cname), kconsts=kconsts,
        methods=[m for m in model.methods_of(cname) if index(m) < index(f.name)],
        supers=([m for m in model.methods_of(k.base) if index(m) <= index(f.name)]
                if k.base else []))


def _scrub(e: Expr, scope: Scope, local: list[str]) -> Expr:
    kind = e[0]
    if kind == "lit":
        return e
    if kind == "var":
        return e if e[1] in scope.params or e[1] in local else ("lit", 1)
    if kind == "const":
        return e if e[1] in scope.consts else ("lit", 2)
    if kind == "attr":
        return e if e[1] in scope.attrs else ("lit", 3)
    if kind == "kconst":
        return e if (e[1], e[2]) in scope.kconsts else ("lit", 4)
    if kind in ("call", "mcall", "super"):
        pool = {"call": scope.funcs, "mcall": scope.methods, "super": scope.supers}[kind]
        if e[1] not in pool:
            return ("lit", 5)
        return (kind, e[1], tuple(_scrub(a, scope, local) for a in e[2]))
    if kind == "bin":
        return ("bin", e[1], _scrub(e[2], scope, local), _scrub(e[3], scope, local))
    if kind == "mod":
        return ("mod", _scrub(e[1], scope, local), e[2])
    if kind == "cond":
        return ("cond",) + tuple(_scrub(x, scope, local) for x in e[1:])
    raise AssertionError(e)


def _walk(e: Expr):
    yield e
    for x in e[1:]:
        if isinstance(x, tuple):
            if x and isinstance(x[0], str):
                yield from _walk(x)
            else:  # a call's arguments
                for a in x:
                    yield from _walk(a)


def _has_super(e: Expr) -> bool:
    return any(node[0] == "super" for node in _walk(e))


def scrub_body(body: list[tuple], scope: Scope) -> list[tuple]:
    local: list[str] = []
    out: list[tuple] = []
    for stmt in body:
        if stmt[0] == "assign":
            out.append(("assign", stmt[1], _scrub(stmt[2], scope, local)))
            local.append(stmt[1])
        else:
            out.append(("return", _scrub(stmt[1], scope, local)))
    return out


def fix_order(items: list[Item]) -> list[Item]:
    """Keep the positions classes occupy but put every base class before its subclasses."""
    classes = [i for i in items if isinstance(i, Klass)]
    byname = {k.name: k for k in classes}

    def depth(k: Klass) -> int:
        return 0 if k.base is None else 1 + depth(byname[k.base])
    ordered = iter(sorted(classes, key=depth))  # stable: keeps the drawn order per depth
    return [next(ordered) if isinstance(i, Klass) else i for i in items]


def normalize(model: Model) -> Model | None:
    """Replace references to what no longer exists by literals; None if the model breaks
    an invariant that scrubbing cannot restore (a ``super()`` method lost its target)."""
    model.items = fix_order(model.items)
    for item in model.items:
        if isinstance(item, Func):
            item.body = scrub_body(item.body, func_scope(model, item))
        elif isinstance(item, Klass):
            if item.base is not None and item.base not in model.classes:
                return None
            for m in item.methods.values():
                m.body = scrub_body(m.body, method_scope(model, item.name, m))
                if m.sup != any(_has_super(s[-1]) for s in m.body):
                    return None
    return model


# ------------------------------------------------------------------------ generation --

Draw = Callable[[st.SearchStrategy[Any]], Any]
small_ints = st.integers(0, 9)


def gen_expr(draw: Draw, scope: Scope, local: list[str], depth: int,
             budget: list[int]) -> Expr:
    kinds = ["lit"]
    if scope.params or local:
        kinds.append("var")
    if scope.consts:
        kinds.append("const")
    if scope.attrs:
        kinds.append("attr")
    if scope.kconsts:
        kinds.append("kconst")
    if depth > 0:
        kinds += ["bin", "bin", "mod", "cond"]
        if budget[0] > 0:
            kinds += ["call"] * bool(scope.funcs) + ["mcall"] * bool(scope.methods) + \
                ["super"] * bool(scope.supers)
    kind = draw(st.sampled_from(kinds))
    if kind == "lit":
        return ("lit", draw(small_ints))
    if kind == "var":
        return ("var", draw(st.sampled_from(scope.params + local)))
    if kind == "const":
        return ("const", draw(st.sampled_from(scope.consts)))
    if kind == "attr":
        return ("attr", draw(st.sampled_from(scope.attrs)))
    if kind == "kconst":
        return ("kconst",) + draw(st.sampled_from(scope.kconsts))
    if kind == "bin":
        op = draw(st.sampled_from(["+", "-", "*"]))
        return ("bin", op, gen_expr(draw, scope, local, depth - 1, budget),
                gen_expr(draw, scope, local, depth - 1, budget))
    if kind == "mod":
        return ("mod", gen_expr(draw, scope, local, depth - 1, budget), draw(st.integers(2, 9)))
    if kind == "cond":
        return ("cond",) + tuple(gen_expr(draw, scope, local, depth - 1, budget)
                                 for _ in range(4))
    return gen_call(draw, kind, scope, local, depth, budget)


def gen_call(draw: Draw, kind: str, scope: Scope, local: list[str], depth: int,
             budget: list[int]) -> Expr:
    pool = {"call": scope.funcs, "mcall": scope.methods, "super": scope.supers}[kind]
    name = draw(st.sampled_from(pool))
    budget[0] -= 1
    args = tuple(gen_expr(draw, scope, local, min(depth - 1, 1), budget)
                 for _ in range(arity(name)))
    return (kind, name, args)


def gen_body(draw: Draw, scope: Scope, sup: bool) -> list[tuple]:
    if not sup:
        scope = dataclasses.replace(scope, supers=[])
    budget = [MAX_CALLS]
    body: list[tuple] = []
    local: list[str] = []
    for k in range(draw(st.integers(0, 2))):
        body.append(("assign", f"t{k}", gen_expr(draw, scope, local, 2, budget)))
        local.append(f"t{k}")
    ret = gen_expr(draw, scope, local, 3, budget)
    if sup:
        budget[0] = max(budget[0], 1)
        ret = ("bin", draw(st.sampled_from(["+", "-", "*"])),
               gen_call(draw, "super", scope, local, 2, budget), ret)
    body.append(("return", ret))
    return body


def gen_layout(draw: Draw, spec: Any) -> None:
    spec.gap = draw(st.integers(0, 2))
    spec.note = draw(st.none() | st.sampled_from(NOTES))


def new_method(draw: Draw, model: Model, cname: str, mname: str) -> Func:
    """A method spec for `mname` in class `cname` (which already lists it by name)."""
    f = Func(mname, [])
    scope = method_scope(model, cname, f)
    f.sup = bool(scope.supers) and draw(st.booleans())
    f.body = gen_body(draw, scope, f.sup)
    gen_layout(draw, f)
    f.pad = draw(st.integers(0, 1))
    return f


def new_class_skeleton(draw: Draw, model: Model, cname: str, base: str | None) -> Klass:
    """A class with its __init__ and constants; methods are added by the caller."""
    tag = cname[1:]
    members: list[Member] = []
    if base is None or draw(st.booleans()):
        nparams = draw(st.integers(1, 2)) if base is None else model.ctor_arity(base)
        scope = Scope([f"p{k}" for k in range(nparams)], [], [])
        sets = [(f"x{tag}{j}", gen_expr(draw, scope, [], 1, [0]))
                for j in range(draw(st.integers(1, 2)))]
        init = Init(nparams, sets, sup=base is not None)
        gen_layout(draw, init)
        members.append(init)
    for kname in draw(st.lists(st.sampled_from(KCONST_NAMES), max_size=2, unique=True)):
        c = Const(kname, draw(small_ints))
        gen_layout(draw, c)
        members.append(c)
    k = Klass(cname, base, members, uid=model.uids)
    model.uids += 1
    gen_layout(draw, k)
    return k


def add_methods(draw: Draw, model: Model, k: Klass, names: list[str]) -> None:
    for mname in names:
        k.members.insert(draw(st.integers(0, len(k.members))), Func(mname, [], sup=False))
    for mname in names:
        placeholder = k.methods[mname]
        real = new_method(draw, model, k.name, mname)
        k.members[k.members.index(placeholder)] = real


@st.composite
def models(draw: Draw) -> Model:
    """An initial module: 1-3 constants, 1-4 functions, 1-3 classes (maybe subclasses)."""
    model = Model([])
    for name in draw(st.lists(st.sampled_from(CONST_NAMES), min_size=1, max_size=3,
                              unique=True)):
        c = Const(name, draw(small_ints))
        gen_layout(draw, c)
        model.items.append(c)
    fnames = draw(st.lists(st.sampled_from(FUNC_NAMES), min_size=1, max_size=4, unique=True))
    for name in fnames:
        model.items.append(Func(name, [("return", ("lit", 0))]))
    for name in fnames:  # bodies once every name is known
        f = model.funcs[name]
        f.defaults = draw(st.lists(small_ints, max_size=1))
        f.body = gen_body(draw, func_scope(model, f), False)
        f.pad = draw(st.integers(0, 1))
        gen_layout(draw, f)
    nclasses = draw(st.integers(1, 3))
    for cname in CLASS_NAMES[:nclasses]:
        bases = [None] + sorted(model.classes)
        base = draw(st.sampled_from(bases))
        k = new_class_skeleton(draw, model, cname, base)
        model.items.append(k)
        names = draw(st.lists(st.sampled_from(METHOD_NAMES), min_size=1, max_size=3,
                              unique=True))
        add_methods(draw, model, k, names)
    model.items = fix_order(draw(st.permutations(model.items)))
    result = normalize(model)
    assert result is not None
    return result


# ----------------------------------------------------------------------------- edits --
# Each edit changes `model` in place and returns a short description, or None when it
# does not apply. `edit` then normalizes, and falls back to the unedited model when the
# result breaks an invariant.


def _functions(model: Model) -> list[tuple[str | None, Func]]:
    out: list[tuple[str | None, Func]] = [(None, f) for f in model.funcs.values()]
    for k in model.classes.values():
        out += [(k.name, m) for m in k.methods.values()]
    return out


def _scope_of(model: Model, owner: str | None, f: Func) -> Scope:
    return func_scope(model, f) if owner is None else method_scope(model, owner, f)


def edit_body(draw: Draw, model: Model) -> str | None:
    functions = _functions(model)
    if not functions:
        return None
    owner, f = draw(st.sampled_from(functions))
    f.body = gen_body(draw, _scope_of(model, owner, f), f.sup)
    return f"body of {owner + '.' if owner else ''}{f.name}"


def edit_const_value(draw: Draw, model: Model) -> str | None:
    consts: list[tuple[str | None, Const]] = [(None, c) for c in model.consts.values()]
    for k in model.classes.values():
        consts += [(k.name, c) for c in k.consts.values()]
    if not consts:
        return None
    owner, c = draw(st.sampled_from(consts))
    c.value = draw(small_ints.filter(lambda v: v != c.value))
    return f"value of {owner + '.' if owner else ''}{c.name}"


def add_func(draw: Draw, model: Model) -> str | None:
    free = [n for n in FUNC_NAMES if n not in model.funcs]
    if not free:
        return None
    f = Func(draw(st.sampled_from(free)), [])
    f.defaults = draw(st.lists(small_ints, max_size=1))
    f.body = gen_body(draw, func_scope(model, f), False)
    gen_layout(draw, f)
    model.items.insert(draw(st.integers(0, len(model.items))), f)
    return f"add {f.name}"


def remove_func(draw: Draw, model: Model) -> str | None:
    if not model.funcs:
        return None
    f = draw(st.sampled_from(sorted(model.funcs.values(), key=lambda f: f.name)))
    model.items.remove(f)
    return f"remove {f.name}"


def add_const(draw: Draw, model: Model) -> str | None:
    targets: list[Any] = [None] + sorted(model.classes)
    owner = draw(st.sampled_from(targets))
    if owner is None:
        free = [n for n in CONST_NAMES if n not in model.consts]
        where = model.items
    else:
        free = [n for n in KCONST_NAMES if n not in model.classes[owner].consts]
        where = model.classes[owner].members
    if not free:
        return None
    c = Const(draw(st.sampled_from(free)), draw(small_ints))
    gen_layout(draw, c)
    where.insert(draw(st.integers(0, len(where))), c)
    return f"add {owner + '.' if owner else ''}{c.name}"


def remove_const(draw: Draw, model: Model) -> str | None:
    consts: list[tuple[list[Any], Const]] = [(model.items, c) for c in model.consts.values()]
    for k in model.classes.values():
        consts += [(k.members, c) for c in k.consts.values()]
    if not consts:
        return None
    where, c = draw(st.sampled_from(consts))
    where.remove(c)
    return f"remove {c.name}"


def add_method(draw: Draw, model: Model) -> str | None:
    k = model.classes[draw(st.sampled_from(sorted(model.classes)))]
    free = [m for m in METHOD_NAMES if m not in k.methods]
    if not free:
        return None
    mname = draw(st.sampled_from(free))
    add_methods(draw, model, k, [mname])
    return f"add {k.name}.{mname}"


def remove_method(draw: Draw, model: Model) -> str | None:
    pairs = [(k, m) for k in model.classes.values() for m in k.methods.values()]
    if not pairs:
        return None
    k, m = draw(st.sampled_from(pairs))
    k.members.remove(m)
    return f"remove {k.name}.{m.name}"


def add_default(draw: Draw, model: Model) -> str | None:
    cands = [(o, f) for o, f in _functions(model) if len(f.defaults) < MAX_DEFAULTS]
    if not cands:
        return None
    owner, f = draw(st.sampled_from(cands))
    f.defaults.append(draw(small_ints))
    if draw(st.booleans()):  # and use it
        f.body = gen_body(draw, _scope_of(model, owner, f), f.sup)
    return f"add default d{len(f.defaults) - 1} to {owner + '.' if owner else ''}{f.name}"


def change_default(draw: Draw, model: Model) -> str | None:
    cands = [(o, f) for o, f in _functions(model) if f.defaults]
    if not cands:
        return None
    owner, f = draw(st.sampled_from(cands))
    k = draw(st.integers(0, len(f.defaults) - 1))
    f.defaults[k] = draw(small_ints)
    return f"default d{k} of {owner + '.' if owner else ''}{f.name}"


def reorder(draw: Draw, model: Model) -> str | None:
    if draw(st.booleans()) or not model.classes:
        model.items = fix_order(draw(st.permutations(model.items)))
        return "reorder module"
    k = model.classes[draw(st.sampled_from(sorted(model.classes)))]
    k.members = draw(st.permutations(k.members))
    return f"reorder {k.name}"


def relayout(draw: Draw, model: Model) -> str | None:
    specs: list[Any] = list(model.items)
    for k in model.classes.values():
        specs += k.members
    spec = draw(st.sampled_from(specs))
    gen_layout(draw, spec)
    if isinstance(spec, Func) and draw(st.booleans()):
        spec.pad = draw(st.integers(0, 2))
    return f"layout around {spec.name if hasattr(spec, 'name') else '__init__'}"


def _new_class(draw: Draw, model: Model, cname: str, at: int) -> str:
    base = draw(st.sampled_from([None] + sorted(model.classes)))
    k = new_class_skeleton(draw, model, cname, base)
    model.items.insert(at, k)
    add_methods(draw, model, k, draw(st.lists(st.sampled_from(METHOD_NAMES), min_size=1,
                                              max_size=2, unique=True)))
    return f"class {cname}({base or ''})"


def add_class(draw: Draw, model: Model, start: Model) -> str | None:
    # A class removed earlier in the same update is not added back here: that would be a
    # class statement with another header and __init__, which is `redefine_class`.
    free = [c for c in CLASS_NAMES if c not in model.classes and c not in start.classes]
    if not free:
        return None
    cname = draw(st.sampled_from(free))
    return "add " + _new_class(draw, model, cname, draw(st.integers(0, len(model.items))))


def redefine_class(draw: Draw, model: Model) -> str | None:
    """Replace a class (without subclasses) by a new definition under the same name: maybe
    another base, another ``__init__``, other members. Changes the class header."""
    leaves = sorted(k.name for k in model.classes.values() if not model.subclasses(k.name))
    if not leaves:
        return None
    k = model.classes[draw(st.sampled_from(leaves))]
    at = model.items.index(k)
    model.items.remove(k)
    return "redefine " + _new_class(draw, model, k.name, at)


def remove_class(draw: Draw, model: Model) -> str | None:
    leaves = sorted(k.name for k in model.classes.values() if not model.subclasses(k.name))
    if len(model.classes) < 2 or not leaves:
        return None
    k = model.classes[draw(st.sampled_from(leaves))]
    model.items.remove(k)
    return f"remove class {k.name}"


EDITS: dict[str, Callable[[Draw, Model], str | None]] = {
    "body": edit_body, "const": edit_const_value, "add_func": add_func,
    "remove_func": remove_func, "add_const": add_const, "remove_const": remove_const,
    "add_method": add_method, "remove_method": remove_method, "add_default": add_default,
    "change_default": change_default, "reorder": reorder, "layout": relayout,
    "remove_class": remove_class,
}


def edit(draw: Draw, model: Model, start: Model, kind: str | None = None
         ) -> tuple[Model, str]:
    """One random edit of a copy of `model` (the model itself when the edit is refused).

    `start` is the version the current update starts from; `kind` forces the edit.
    """
    if kind is None:
        kind = draw(st.sampled_from(sorted([*EDITS, "add_class"])))
    new = copy.deepcopy(model)
    if kind == "add_class":
        what = add_class(draw, new, start)
    elif kind == "redefine_class":
        what = redefine_class(draw, new)
    else:
        what = EDITS[kind](draw, new)
    if what is None:
        return model, f"({kind}: not applicable)"
    result = normalize(new)
    if result is None:
        return model, f"({what}: refused, breaks a super() target)"
    return result, what


@dataclass
class History:
    """Versions of one module; `edits[i]` describes how versions[i + 1] was made."""

    versions: list[Model]
    edits: list[list[str]]
    args: list[int]

    @property
    def sources(self) -> list[str]:
        return [render(v) for v in self.versions]

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # how hypothesis prints it
        p.text(repr(self))

    def __repr__(self) -> str:
        parts = [f"args={self.args}", "--- v0 ---", render(self.versions[0])]
        for i, (v, e) in enumerate(zip(self.versions[1:], self.edits), 1):
            parts += [f"--- v{i} ({'; '.join(e)}) ---", render(v)]
        return "\n".join(parts)


@st.composite
def histories(draw: Draw, min_updates: int = 1, max_updates: int = 1,
              max_edits: int = 3, redefine: bool = False) -> History:
    """An initial model and 1+ later versions, each 1..`max_edits` edits from the last.

    With `redefine`, every update starts by redefining a class (a header change).
    """
    versions = [draw(models())]
    edits: list[list[str]] = []
    for _ in range(draw(st.integers(min_updates, max_updates))):
        start = versions[-1]
        model, done = start, []
        if redefine:
            model, what = edit(draw, model, start, "redefine_class")
            done.append(what)
        for _ in range(draw(st.integers(1, max_edits))):
            model, what = edit(draw, model, start)
            done.append(what)
        versions.append(model)
        edits.append(done)
    args = draw(st.lists(st.integers(-5, 9), min_size=4, max_size=4))
    return History(versions, edits, args)
