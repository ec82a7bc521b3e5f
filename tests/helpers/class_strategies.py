"""Random modules of classes with mixed features, as data that renders to source, and
random edits of them (for tests/test_random_classes.py).

A `Model` is two module-level decorators made with ``functools.wraps`` and 1-5 classes
``K0``..``K4``. Each class is of one *family*:

* ``plain``: ``__init__(self, p0, p1)`` sets ``x`` and ``y`` (a subclass inherits it); a
  base-less plain class may also set attributes ``z<c><j>`` that either come with a
  class-level default of the same value or are filled by ``__hotswap_migrate__``;
* ``data`` / ``frozen``: ``@dataclasses.dataclass`` (maybe ``frozen=True``) with fields
  ``x: int = 0``, ``y: int = 0`` (in the base-less class) and ``d<c><j>: int = <lit>``;
* ``slots``: ``__slots__`` ``("x", "y", "q<c><j>"...)`` (a subclass adds its own ``q``
  slots), an ``__init__`` that fills them (a subclass calls ``super().__init__``), maybe a
  ``__hotswap_migrate__`` that fills the class's own ``q`` slots;
* ``enum`` / ``intenum``: ``enum.Enum`` or ``enum.IntEnum`` with members ``M<j>``.

Every non-enum class is built as ``K(p0, p1)``. Members have fixed names whose kind the
name says (`KIND`): plain methods ``m*``, properties ``p*`` (maybe with a setter assigning
``self.x``), a classmethod ``c0``, staticmethods ``s0`` and ``lc0`` (the latter under
``functools.lru_cache``), methods ``w*`` decorated with a module decorator, a private
method ``__pm`` and a nested class ``Inner`` with a constant and a method; classes also
get constants ``A*``.

Every body returns an int and is total: a body only uses what its class (through its
bases) has, and calls only members earlier in `RANK` (or ``super()`` of the same name or
earlier), so calls are acyclic. After every edit `normalize` replaces references to what
no longer exists by literals.

What is held fixed so that a fresh import of the new source is an exact oracle for old
instances: every value in a class body is a literal; an attribute's, field's or slot's
value never changes; an attribute added to a plain class's ``__init__`` always comes with
a class default or the hook (and a class only moves under a base whose hook-filled
attributes its old instances already have); ``lru_cache`` bodies depend on their argument
only (a cache is only cleared when its own function changes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers.edit_steps import draw_edits, versions_text
from hypothesis import strategies as st

Expr = tuple
Draw = Callable[[st.SearchStrategy[Any]], Any]

RANK = ["s0", "lc0", "c0", "__pm", "p0", "m0", "w0", "Inner", "p1", "m1", "w1", "p2", "m2",
        "m3"]
KIND = {"s0": "static", "lc0": "lru", "c0": "cls", "__pm": "private", "Inner": "inner",
        **{n: "prop" for n in ("p0", "p1", "p2")},
        **{n: "method" for n in ("m0", "m1", "m2", "m3")},
        **{n: "deco" for n in ("w0", "w1")}}
CONST_NAMES = ["A0", "A1", "A2"]
FAMILIES = ["plain", "data", "frozen", "slots", "enum", "intenum"]
ENUMS = ("enum", "intenum")
MAX_CALLS = 2
small = st.integers(0, 9)


def rank(name: str) -> int:
    return RANK.index(name)


# --------------------------------------------------------------------------- the model --


@dataclass
class Member:
    name: str
    body: Expr  # what it returns (for ``Inner``: what ``Inner.get`` returns)
    setter: int | None = None  # a property's setter: ``self.x = v + setter``
    deco: int = 0  # a ``w*`` method: which module decorator
    n: int = 0  # ``Inner.N``


@dataclass
class Klass:
    name: str
    family: str
    base: str | None
    consts: dict[str, int] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    # plain (base-less): attributes __init__ sets that the hook fills on old instances;
    # data: fields; slots: the class's own slots
    extras: dict[str, int] = field(default_factory=dict)
    defaults: dict[str, int] = field(default_factory=dict)  # plain: attributes with a class default
    hook: bool = False  # plain (base-less) and slots: ``__hotswap_migrate__``
    enum_members: dict[str, int] = field(default_factory=dict)
    serial: int = 0  # the next extra's number

    @property
    def is_enum(self) -> bool:
        return self.family in ENUMS

    def new_extra(self, prefix: str) -> str:
        name = f"{prefix}{self.name[1:]}{self.serial}"
        self.serial += 1
        return name


@dataclass
class Model:
    classes: list[Klass]
    decos: list[tuple[str, int]]  # deco<i>: the wrapper returns fn(...) <op> <lit>
    serial: int = 20  # the next fresh enum value

    def __post_init__(self) -> None:
        self.classes = order(self.classes)

    def get(self, name: str) -> Klass:
        return next(k for k in self.classes if k.name == name)

    def has(self, name: str) -> bool:
        return any(k.name == name for k in self.classes)

    def mro(self, name: str) -> list[Klass]:
        out = []
        cur: str | None = name
        while cur is not None:
            k = self.get(cur)
            out.append(k)
            cur = k.base
        return out

    def root(self, name: str) -> Klass:
        return self.mro(name)[-1]

    def members_of(self, name: str) -> dict[str, Klass]:
        """Member name -> the class whose definition an instance of `name` runs.

        ``__pm`` only when `name` itself defines it (its name mangles per class)."""
        out: dict[str, Klass] = {}
        for i, k in enumerate(self.mro(name)):
            for m in k.members:
                if m == "__pm" and i > 0:
                    continue
                out.setdefault(m, k)
        return out

    def privates_of(self, name: str) -> list[Klass]:
        return [k for k in self.mro(name) if "__pm" in k.members]

    def consts_of(self, name: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.mro(name):
            for c, v in k.consts.items():
                out.setdefault(c, v)
        return out

    def state_of(self, name: str) -> list[str]:
        k = self.get(name)
        if k.is_enum:
            return ["value"]
        out = ["x", "y"]
        for c in reversed(self.mro(name)):
            out += list(c.extras) + list(c.defaults)
        return out

    def slots_of(self, name: str) -> list[str]:
        out = ["x", "y"]
        for c in reversed(self.mro(name)):
            out += list(c.extras)
        return out

    def hook_sets(self, name: str) -> set[str]:
        """The attributes (slots) the ``__hotswap_migrate__`` an instance of `name` runs
        fills."""
        for k in self.mro(name):
            if k.hook:
                return set(k.extras)
        return set()

    def has_hook(self, name: str) -> bool:
        return any(k.hook for k in self.mro(name))

    def subclasses(self, name: str) -> list[str]:
        return [k.name for k in self.classes if k.base == name]


def order(classes: list[Klass]) -> list[Klass]:
    """Bases before their subclasses, otherwise by name."""
    byname = {k.name: k for k in classes}

    def depth(k: Klass) -> int:
        return 0 if k.base is None else 1 + depth(byname[k.base])
    return sorted(classes, key=lambda k: (depth(k), k.name))


def compatible(base: str, sub: str) -> bool:
    return base == sub and base not in ENUMS


# ------------------------------------------------------------------------- rendering --


def ctx_of(name: str) -> str:
    kind = KIND[name]
    return {"static": "static", "lru": "lru", "cls": "cls", "inner": "inner"}.get(kind, "inst")


def rexpr(e: Expr, ctx: str) -> str:
    k = e[0]
    if k == "lit":
        return str(e[1])
    if k == "arg":
        return "a"
    if k == "st":
        return f"self.{e[1]}"
    if k == "ename":
        return "len(self.name)"
    if k == "len":
        return "len(cls)" if ctx == "cls" else "len(type(self))"
    if k == "const":
        return f"{'cls' if ctx == 'cls' else 'self'}.{e[1]}"
    if k == "tconst":
        return f"type(self).{e[1]}"
    if k == "xconst":
        return f"{e[1]}.{e[2]}"
    if k == "n":
        return "self.N"
    if k == "call":
        name = e[1]
        if KIND[name] == "prop":
            return f"self.{name}"
        who = "cls" if ctx == "cls" else "self"
        if KIND[name] in ("static", "lru", "cls") and ctx == "inst" and e[3]:
            who = "type(self)"
        return f"{who}.{name}({rexpr(e[2], ctx)})"
    if k == "inner":
        return f"self.Inner().get({rexpr(e[1], ctx)})"
    if k == "super":
        return f"super().{e[1]}({rexpr(e[2], ctx)})"
    if k == "bin":
        return f"({rexpr(e[2], ctx)} {e[1]} {rexpr(e[3], ctx)})"
    raise AssertionError(e)


def render_member(m: Member, family: str) -> list[str]:
    kind = KIND[m.name]
    ctx = ctx_of(m.name)
    ret = f"        return {rexpr(m.body, ctx)}"
    if kind == "inner":
        return ["    class Inner:", f"        N = {m.n}", "", "        def get(self, a):",
                f"            return {rexpr(m.body, ctx)}"]
    if kind == "prop":
        lines = ["    @property", f"    def {m.name}(self):", ret]
        if m.setter is not None:
            lines += ["", f"    @{m.name}.setter", f"    def {m.name}(self, v):",
                      f"        self.x = v + {m.setter}"]
        return lines
    if kind == "cls":
        return ["    @classmethod", f"    def {m.name}(cls, a):", ret]
    if kind == "static":
        return ["    @staticmethod", f"    def {m.name}(a):", ret]
    if kind == "lru":
        return ["    @staticmethod", "    @functools.lru_cache(maxsize=None)",
                f"    def {m.name}(a):", ret]
    if kind == "deco":
        return [f"    @deco{m.deco}", f"    def {m.name}(self, a):", ret]
    return [f"    def {m.name}(self, a):", ret]


def render_class(k: Klass) -> list[str]:
    head = f"class {k.name}({k.base}):" if k.base else f"class {k.name}:"
    lines: list[str] = []
    body: list[list[str]] = []
    if k.family in ("data", "frozen"):
        lines.append("@dataclasses.dataclass" + ("(frozen=True)" if k.family == "frozen" else ""))
        fields = [] if k.base else ["    x: int = 0", "    y: int = 0"]
        fields += [f"    {f}: int = {v}" for f, v in k.extras.items()]
        if fields:
            body.append(fields)
    elif k.is_enum:
        head = f"class {k.name}(enum.{'IntEnum' if k.family == 'intenum' else 'Enum'}):"
        body.append([f"    {n} = {v}" for n, v in k.enum_members.items()])
    elif k.family == "slots":
        names = ([] if k.base else ["x", "y"]) + list(k.extras)
        body.append([f"    __slots__ = ({''.join(repr(n) + ', ' for n in names).rstrip()})"])
    if k.consts:
        body.append([f"    {c} = {v}" for c, v in k.consts.items()])
    if k.family == "plain" and k.defaults:
        body.append([f"    {a} = {v}" for a, v in k.defaults.items()])
    if k.family in ("plain", "slots"):
        sets = [] if k.base else ["        self.x = p0", "        self.y = p1"]
        sets += [f"        self.{a} = {v}" for a, v in {**k.extras, **k.defaults}.items()]
        if k.base is None or sets:
            sup = ["        super().__init__(p0, p1)"] if k.base else []
            body.append(["    def __init__(self, p0, p1):"] + sup + sets)
        if k.hook:
            fills = [f"        self.{a} = {v}" for a, v in k.extras.items()]
            body.append(["    def __hotswap_migrate__(self):"] + (fills or ["        pass"]))
    for name in sorted(k.members, key=rank):
        body.append(render_member(k.members[name], k.family))
    lines.append(head)
    if not body:
        body.append(["    pass"])
    for i, chunk in enumerate(body):
        if i:
            lines.append("")
        lines += chunk
    return lines


def render_deco(i: int, op: str, lit: int) -> list[str]:
    return [f"def deco{i}(fn):",
            "    @functools.wraps(fn)",
            "    def wrapper(*args, **kwargs):",
            f"        return fn(*args, **kwargs) {op} {lit}",
            "    return wrapper"]


def render(model: Model) -> str:
    lines = ["# generated by tests/helpers/class_strategies.py", "import dataclasses",
             "import enum", "import functools"]
    for i, (op, lit) in enumerate(model.decos):
        lines += ["", ""] + render_deco(i, op, lit)
    for k in model.classes:
        lines += ["", ""] + render_class(k)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------- scopes and normalization --


@dataclass
class Scope:
    ctx: str
    arg: bool
    state: list[str]
    enum: bool
    consts: list[str]
    xconsts: list[tuple[str, str]]
    calls: list[str]
    inner: bool
    supers: list[str]


def scope_of(model: Model, k: Klass, name: str) -> Scope:
    kind = KIND[name]
    ctx = ctx_of(name)
    inst = ctx == "inst"
    consts = sorted(model.consts_of(k.name)) if ctx in ("inst", "cls") and not k.is_enum else []
    xconsts = [(o.name, c) for o in model.classes if o.name != k.name and not o.is_enum
               for c in o.consts] if ctx in ("inst", "cls", "static") else []
    calls: list[str] = []
    defined = model.members_of(k.name)
    for n in defined:
        if n == "Inner" or rank(n) >= rank(name):
            continue
        if inst or (ctx in ("cls", "static") and KIND[n] in ("static", "lru")):
            calls.append(n)
    supers: list[str] = []
    if inst and kind == "method" and k.base is not None:
        supers = [n for n in model.members_of(k.base)
                  if KIND[n] == "method" and rank(n) <= rank(name)]
    return Scope(ctx, kind != "prop", model.state_of(k.name) if inst else [], k.is_enum,
                 consts, xconsts if ctx != "lru" else [], sorted(calls, key=rank),
                 inst and "Inner" in defined and rank("Inner") < rank(name), supers)


def scrub(e: Expr, sc: Scope) -> Expr:
    k = e[0]
    if k == "lit":
        return e
    if k == "arg":
        return e if sc.arg else ("lit", 1)
    if k == "st":
        return e if e[1] in sc.state else ("lit", 2)
    if k == "ename":
        return e if sc.enum and sc.ctx == "inst" else ("lit", 3)
    if k == "len":
        return e if sc.enum and sc.ctx in ("inst", "cls") else ("lit", 4)
    if k == "const":
        return e if e[1] in sc.consts else ("lit", 5)
    if k == "tconst":
        return e if e[1] in sc.consts and sc.ctx == "inst" else ("lit", 5)
    if k == "xconst":
        return e if (e[1], e[2]) in sc.xconsts else ("lit", 6)
    if k == "n":
        return e if sc.ctx == "inner" else ("lit", 7)
    if k == "call":
        if e[1] not in sc.calls:
            return ("lit", 8)
        return ("call", e[1], scrub(e[2], sc), e[3])
    if k == "inner":
        return ("inner", scrub(e[1], sc)) if sc.inner else ("lit", 8)
    if k == "super":
        return ("super", e[1], scrub(e[2], sc)) if e[1] in sc.supers else ("lit", 9)
    if k == "bin":
        return ("bin", e[1], scrub(e[2], sc), scrub(e[3], sc))
    raise AssertionError(e)


def normalize(model: Model) -> Model:
    model.classes = order(model.classes)
    for k in model.classes:
        for name, m in k.members.items():
            m.body = scrub(m.body, scope_of(model, k, name))
    return model


def repair(old: Model, new: Model) -> None:
    """Keep the invariant that an old instance of a plain class has every attribute its
    new class's ``__init__`` sets, or a class default stands in for it.

    An attribute added to a base-less plain class's ``__init__`` is filled by its hook (so
    the class gets one), unless an old instance of some class now under it was not under
    it before (it moved to another base): the hook only runs on instances of the classes
    that had it (or were under the edited class) before the update, so such attributes get
    a class default instead.
    """
    for k in new.classes:
        if k.family != "plain":
            continue
        if not old.has(k.name):
            continue
        new_root, old_root = new.root(k.name), old.root(k.name)
        if new_root.name == old_root.name:
            continue
        for a in list(new_root.extras):
            new_root.defaults[a] = new_root.extras.pop(a)
    for k in new.classes:
        if k.family == "plain" and k.base is None and old.has(k.name):
            before = old.get(k.name).extras
            if any(a not in before for a in k.extras):
                k.hook = True


# ------------------------------------------------------------------------ generation --


def gen_expr(draw: Draw, sc: Scope, depth: int, budget: list[int]) -> Expr:
    kinds = ["lit"]
    if sc.arg:
        kinds += ["arg", "arg"]
    if sc.state:
        kinds += ["st", "st"]
    if sc.consts:
        kinds.append("const")
        if sc.ctx == "inst":
            kinds.append("tconst")
    if sc.xconsts:
        kinds.append("xconst")
    if sc.enum and sc.ctx in ("inst", "cls"):
        kinds.append("len")
    if sc.enum and sc.ctx == "inst":
        kinds.append("ename")
    if sc.ctx == "inner":
        kinds.append("n")
    if depth > 0:
        kinds += ["bin", "bin"]
        if budget[0] > 0:
            kinds += ["call"] * 2 * bool(sc.calls) + ["inner"] * sc.inner + \
                ["super"] * 2 * bool(sc.supers)
    kind = draw(st.sampled_from(kinds))
    if kind == "lit":
        return ("lit", draw(small))
    if kind == "arg":
        return ("arg",)
    if kind == "st":
        return ("st", draw(st.sampled_from(sc.state)))
    if kind in ("ename", "len", "n"):
        return (kind,)
    if kind in ("const", "tconst"):
        return (kind, draw(st.sampled_from(sc.consts)))
    if kind == "xconst":
        return ("xconst",) + draw(st.sampled_from(sc.xconsts))
    if kind == "bin":
        op = draw(st.sampled_from(["+", "-", "*"]))
        return ("bin", op, gen_expr(draw, sc, depth - 1, budget),
                gen_expr(draw, sc, depth - 1, budget))
    budget[0] -= 1
    arg = gen_expr(draw, sc, 0, budget)
    if kind == "inner":
        return ("inner", arg)
    if kind == "super":
        return ("super", draw(st.sampled_from(sc.supers)), arg)
    name = draw(st.sampled_from(sc.calls))
    return ("call", name, arg, draw(st.booleans()) if KIND[name] in ("static", "lru", "cls")
            else False)


def gen_body(draw: Draw, model: Model, k: Klass, name: str) -> Expr:
    sc = scope_of(model, k, name)
    if sc.ctx == "lru":
        sc = Scope("lru", True, [], False, [], [], [], False, [])
    return gen_expr(draw, sc, 2, [MAX_CALLS])


def allowed_members(k: Klass) -> list[str]:
    return [n for n in RANK if not (k.is_enum and n == "Inner")]


def new_member(draw: Draw, model: Model, k: Klass, name: str) -> None:
    """Add member `name` to `k` (its body drawn once it is in the model)."""
    m = Member(name, ("lit", 0))
    k.members[name] = m
    if KIND[name] == "prop" and k.family not in ("frozen", *ENUMS) and draw(st.booleans()):
        m.setter = draw(small)
    if KIND[name] == "deco":
        m.deco = draw(st.integers(0, 1))
    if KIND[name] == "inner":
        m.n = draw(small)
    m.body = gen_body(draw, model, k, name)


@st.composite
def models(draw: Draw) -> Model:
    classes: list[Klass] = []
    serial = 1
    for i in range(draw(st.integers(1, 5))):
        bases = [c for c in classes if compatible(c.family, c.family)]
        if bases and draw(st.booleans()):
            b = draw(st.sampled_from(bases))
            family, base = b.family, b.name
        else:
            family, base = draw(st.sampled_from(FAMILIES)), None
        k = Klass(f"K{i}", family, base)
        if k.is_enum:
            for j in range(draw(st.integers(1, 3))):
                k.enum_members[f"M{j}"] = serial
                serial += draw(st.integers(1, 3))
        else:
            for c in draw(st.lists(st.sampled_from(CONST_NAMES), max_size=2, unique=True)):
                k.consts[c] = draw(small)
            prefix = {"plain": "z", "data": "d", "frozen": "d", "slots": "q"}[family]
            if family != "plain" or base is None:
                for _ in range(draw(st.integers(0, 1))):
                    k.extras[k.new_extra(prefix)] = draw(small)
            if family == "slots" or (family == "plain" and base is None):
                k.hook = draw(st.booleans())
        classes.append(k)
    model = Model(classes, [(draw(st.sampled_from("+-*")), draw(st.integers(1, 9)))
                         for _ in range(2)],
                  serial=serial + 10)
    for k in model.classes:
        names = draw(st.lists(st.sampled_from(allowed_members(k)), min_size=1, max_size=5,
                              unique=True))
        for name in names:
            k.members[name] = Member(name, ("lit", 0))
    for k in model.classes:
        for name in list(k.members):
            new_member(draw, model, k, name)
    return normalize(model)


# ----------------------------------------------------------------------------- edits --


def _pick(draw: Draw, items: list[Any]) -> Any:
    return draw(st.sampled_from(items)) if items else None


def edit_body(draw: Draw, model: Model) -> str | None:
    pairs = [(k, n) for k in model.classes for n in k.members]
    if not pairs:
        return None
    k, n = draw(st.sampled_from(pairs))
    m = k.members[n]
    what = draw(st.sampled_from(["body", "body", "extra"]))
    if what == "extra" and KIND[n] == "inner":
        m.n = draw(small)
        return f"{k.name}.Inner.N = {m.n}"
    if what == "extra" and KIND[n] == "deco":
        m.deco = 1 - m.deco
        return f"{k.name}.{n} decorated by deco{m.deco}"
    if what == "extra" and KIND[n] == "prop" and k.family not in ("frozen", *ENUMS):
        m.setter = draw(st.none() | small)
        return f"{k.name}.{n} setter {m.setter}"
    m.body = gen_body(draw, model, k, n)
    return f"body of {k.name}.{n}"


def edit_const(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes if not k.is_enum])
    if k is None:
        return None
    c = draw(st.sampled_from(CONST_NAMES))
    if c in k.consts and draw(st.booleans()):
        del k.consts[c]
        return f"remove {k.name}.{c}"
    k.consts[c] = draw(small)
    return f"{k.name}.{c} = {k.consts[c]}"


def add_member(draw: Draw, model: Model) -> str | None:
    k = draw(st.sampled_from(model.classes))
    names = [n for n in allowed_members(k) if n not in k.members]
    if not names:
        return None
    name = draw(st.sampled_from(names))
    new_member(draw, model, k, name)
    return f"add {k.name}.{name}"


def remove_member(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes if k.members])
    if k is None:
        return None
    name = draw(st.sampled_from(sorted(k.members, key=rank)))
    del k.members[name]
    return f"remove {k.name}.{name}"


def add_field(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes if k.family in ("data", "frozen")])
    if k is None:
        return None
    name = k.new_extra("d")
    k.extras[name] = draw(small)
    return f"add field {k.name}.{name}"


def add_attr(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes if k.family == "plain" and k.base is None])
    if k is None:
        return None
    name = k.new_extra("z")
    if draw(st.booleans()):
        k.extras[name] = draw(small)
        k.hook = True
        return f"add attribute {k.name}.{name} (hook)"
    k.defaults[name] = draw(small)
    return f"add attribute {k.name}.{name} (class default)"


def toggle_hook(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes
                     if k.family == "slots" or (k.family == "plain" and k.base is None)])
    if k is None:
        return None
    k.hook = not k.hook
    return f"{'add' if k.hook else 'remove'} {k.name}.__hotswap_migrate__"


def add_slot(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes if k.family == "slots"])
    if k is None:
        return None
    name = k.new_extra("q")
    k.extras[name] = draw(small)
    return f"add slot {k.name}.{name}"


def add_enum_member(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes if k.is_enum and len(k.enum_members) < 6])
    if k is None:
        return None
    name = next(f"M{j}" for j in range(10) if f"M{j}" not in k.enum_members)
    k.enum_members[name] = model.serial
    model.serial += 1
    return f"add member {k.name}.{name}"


def enum_value(draw: Draw, model: Model) -> str | None:
    k = _pick(draw, [k for k in model.classes if k.is_enum])
    if k is None:
        return None
    name = draw(st.sampled_from(sorted(k.enum_members)))
    k.enum_members[name] = model.serial
    model.serial += 1
    return f"{k.name}.{name} = {k.enum_members[name]}"


def rebase(draw: Draw, model: Model) -> str | None:
    options = []
    for k in model.classes:
        if k.base is None:
            continue
        below = {k.name}
        todo = [k.name]
        while todo:
            for s in model.subclasses(todo.pop()):
                below.add(s)
                todo.append(s)
        for other in model.classes:
            if other.name not in below and other.name != k.base and \
                    compatible(other.family, k.family):
                options.append((k, other.name))
    if not options:
        return None
    k, base = draw(st.sampled_from(options))
    k.base = base
    model.classes = order(model.classes)
    return f"class {k.name}({base})"


def edit_deco(draw: Draw, model: Model) -> str | None:
    i = draw(st.integers(0, 1))
    model.decos[i] = (draw(st.sampled_from("+-*")), draw(st.integers(1, 9)))
    return f"deco{i}: {model.decos[i][0]} {model.decos[i][1]}"


EDITS = [edit_body, edit_body, edit_const, add_member, remove_member, add_field, add_attr,
         toggle_hook, add_slot, add_enum_member, enum_value, rebase, edit_deco]


@st.composite
def updates(draw: Draw, model: Model, max_edits: int = 3) -> tuple[Model, list[str]]:
    new, labels = draw_edits(draw, model, EDITS, normalize, max_edits, tries=3)
    repair(model, new)
    return normalize(new), labels


@dataclass
class History:
    versions: list[Model]
    labels: list[list[str]]
    args: tuple[int, int] = (3, 5)
    calls: tuple[int, ...] = (2, 7)

    @property
    def sources(self) -> list[str]:
        return [render(m) for m in self.versions]

    def __repr__(self) -> str:
        return f"History(args={self.args}, calls={self.calls})\n" + versions_text(self.sources, self.labels)


@st.composite
def histories(draw: Draw, min_updates: int = 1, max_updates: int = 3,
              max_edits: int = 3) -> History:
    versions = [draw(models())]
    labels = []
    for _ in range(draw(st.integers(min_updates, max_updates))):
        new, done = draw(updates(versions[-1], max_edits))
        versions.append(new)
        labels.append(done)
    args = (draw(st.integers(-3, 9)), draw(st.integers(-3, 9)))
    calls = tuple(draw(st.lists(st.integers(-2, 9), min_size=1, max_size=2)))
    return History(versions, labels, args, calls)
