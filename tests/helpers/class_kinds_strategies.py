"""Random modules of the class kinds whose machinery lives outside the class body, as data
that renders to source, and random edits of them (for tests/test_random_class_kinds.py).

A `Model` is a fixed preamble (``T``, ``U``, a metaclass ``Meta`` that registers every class
it makes in the module-level ``REGISTRY`` list and ``BY_NAME`` dict, a base ``Keyed`` whose
``__init_subclass__(cls, key=None)`` registers into the class-level ``Keyed.registry``, and a
``Mixin``), then classes ``K<n>`` and ``functools.singledispatch`` functions ``sd<n>``.

Each class is of one *family*, fixed for its life (moving a class to another registry or
metaclass is a documented limit, not what this generator tests):

* object families, built as ``K(x)`` (a root class has ``__init__`` setting ``self.x``;
  a subclass has a base of its own family and inherits it): ``plain``; ``abc`` (the root
  derives from ``abc.ABC``; methods may be ``@abc.abstractmethod``, with a body);
  ``meta`` (``metaclass=Meta``); ``keyed`` (``Keyed`` with a ``key=`` class keyword or
  none: then it registers by name); ``generic`` (the root derives from
  ``typing.Generic[T]`` or ``[T, U]``, a subclass from ``Base[args]`` or plain ``Base``).
  Any may also derive from ``Mixin``. Their members: constants ``A*``, properties ``p*``,
  ``functools.cached_property`` ``c*``, methods ``m*`` and a ``functools.singledispatchmethod``
  ``h0`` with overloads;
* ``nt``: a ``typing.NamedTuple`` with ``int`` fields that all have defaults (``a`` always),
  constants, properties and methods;
* ``flag``: an ``enum.Flag`` of single-bit members (a name keeps its value for ever) and
  named combinations (``RW = R | W``), with properties and methods;
* ``proto``: a ``typing.Protocol`` (maybe ``@typing.runtime_checkable``) naming some of the
  members above and maybe a data member ``x: int``.

A dispatch function has a fallback body and overloads registered on builtin types or on
object classes of the module, as ``@sd.register(int)`` or ``@sd.register`` with an
annotation, named ``_`` or by a name of their own.

Every body returns an int and is total: it only reads members its class has (through its
bases, ``Mixin`` included) that come earlier in `NAMES`, so calls are acyclic; an overload
reads its argument as its registered type allows (``int(x)``, ``len(x)``, ``x.x``). After
every edit `normalize` puts back what the edit broke (an expression reading a member that is
gone becomes a literal, an overload on a class that is gone goes, subclasses follow their
base's type parameters).

The edits (`EDITS`, 1-4 per update): bodies of members, overloads and dispatch functions;
constants; members added and removed; a method made abstract or concrete; an overload's
registered type, its form (``register(T)`` or annotated) or name changed, overloads added
and removed; a named tuple field added, removed or given another default; flag members and
named combinations added and removed; ``Mixin`` added to or taken from the bases, another
base of the same family (or none), another ``key=``, other type parameters; a protocol's
members, data member and ``@runtime_checkable`` changed; classes and dispatch functions
added and removed. The names of classes, dispatch functions, keys and named overloads are
never used again once gone; members, fields and flag members come back under their names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers.edit_steps import draw_edits, versions_text
from hypothesis import strategies as st

Expr = tuple
Draw = Callable[[st.SearchStrategy[Any]], Any]

NAMES = ["A0", "A1", "p0", "c0", "m0", "h0", "m1", "p1", "c1", "m2"]
KIND = {"A0": "const", "A1": "const", "p0": "prop", "p1": "prop", "c0": "cached",
        "c1": "cached", "m0": "method", "m1": "method", "m2": "method", "h0": "sdm"}
CACHED = [n for n in NAMES if KIND[n] == "cached"]
OBJECT_FAMILIES = ("plain", "abc", "meta", "keyed", "generic")
FAMILIES = (*OBJECT_FAMILIES, "nt", "flag", "proto")
ALLOWED = {**{f: NAMES for f in OBJECT_FAMILIES},
           "nt": [n for n in NAMES if KIND[n] in ("const", "prop", "method")],
           "flag": [n for n in NAMES if KIND[n] in ("prop", "method")],
           "proto": []}
PROTO_NAMES = ["m0", "m1", "m2", "h0", "p0"]
BUILTINS = ["int", "float", "str", "bytes", "list", "tuple", "bool"]
NUMERIC = ("int", "float", "bool")
NT_FIELDS = ["a", "b", "c", "d"]
BITS = {"R": 1, "W": 2, "X": 4, "Y": 8}
TARGS = ["int", "str", "T", "U"]
MAX_CLASSES = 6
MAX_DISPATCH = 2
small = st.integers(0, 9)

PREAMBLE = '''\
import abc
import enum
import functools
import typing

T = typing.TypeVar("T")
U = typing.TypeVar("U")
REGISTRY = []
BY_NAME = {}


class Meta(type):
    def __init__(cls, name, bases, ns, **kw):
        super().__init__(name, bases, ns, **kw)
        REGISTRY.append(cls)
        BY_NAME[name] = cls


class Keyed:
    registry = {}

    def __init_subclass__(cls, key=None, **kw):
        super().__init_subclass__(**kw)
        Keyed.registry[key or cls.__name__] = cls


class Mixin:
    def mix(self):
        return 7
'''


def rank(name: str) -> int:
    return NAMES.index(name)


# --------------------------------------------------------------------------- the model --


@dataclass
class Overload:
    """``@<owner>.register(<type>)`` over ``def <name>(x)`` (or the annotated form)."""

    type: str  # a builtin's name or an object class's
    body: Expr
    name: str = "_"
    annotated: bool = False


@dataclass
class Member:
    name: str
    body: Expr  # a constant's value is ("lit", n)
    abstract: bool = False  # a method of an ``abc`` family class
    overloads: list[Overload] = field(default_factory=list)  # ``h0``


@dataclass
class Klass:
    name: str
    family: str
    base: str | None = None  # a class of the same object family
    mixin: bool = False
    key: str | None = None  # keyed: the ``key=`` class keyword
    arity: int = 1  # generic root: ``Generic[T]`` or ``Generic[T, U]``
    targs: tuple[str, ...] = ()  # generic subclass: ``Base[targs]`` (empty: plain ``Base``)
    members: dict[str, Member] = field(default_factory=dict)
    fields: dict[str, int] = field(default_factory=dict)  # nt: field -> default
    bits: list[str] = field(default_factory=list)  # flag: single-bit members
    combos: list[tuple[str, ...]] = field(default_factory=list)  # flag: named unions
    proto: list[str] = field(default_factory=list)  # proto: the members it names
    data: bool = False  # proto: ``x: int``
    checkable: bool = True  # proto: ``@typing.runtime_checkable``

    @property
    def is_object(self) -> bool:
        return self.family in OBJECT_FAMILIES


@dataclass
class Dispatch:
    name: str
    body: Expr
    overloads: list[Overload] = field(default_factory=list)


@dataclass
class Model:
    classes: list[Klass]
    dispatch: list[Dispatch] = field(default_factory=list)
    serial: int = 0  # the next number for a new class, dispatch function, key or overload

    def get(self, name: str) -> Klass:
        return next(k for k in self.classes if k.name == name)

    def has(self, name: str) -> bool:
        return any(k.name == name for k in self.classes)

    def fresh_name(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def mro(self, name: str) -> list[Klass]:
        out = [self.get(name)]
        while out[-1].base is not None:
            out.append(self.get(out[-1].base))
        return out

    def members_of(self, name: str) -> dict[str, str]:
        """Member name -> the class whose definition an instance of `name` finds."""
        out: dict[str, str] = {}
        for k in self.mro(name):
            for m in k.members:
                out.setdefault(m, k.name)
        return out

    def member(self, cname: str, name: str) -> Member | None:
        owner = self.members_of(cname).get(name)
        return None if owner is None else self.get(owner).members[name]

    def has_mixin(self, name: str) -> bool:
        return any(k.mixin for k in self.mro(name))

    def params(self, name: str) -> list[str]:
        """The type variables of a generic family class (``__parameters__``)."""
        k = self.get(name)
        if k.base is None:
            return ["T", "U"][:k.arity]
        out: list[str] = []
        for a in k.targs:
            if a in ("T", "U") and a not in out:
                out.append(a)
        return out

    def subclasses(self, name: str) -> list[Klass]:
        return [k for k in self.classes if k.base == name]

    def descends(self, name: str, ancestor: str) -> bool:
        return any(k.name == ancestor for k in self.mro(name))


# ------------------------------------------------------------------------- rendering --


@dataclass
class Ctx:
    """Where an expression is rendered: which argument it has."""

    family: str | None  # None: a module-level dispatch function
    arg: bool  # ``k`` is in scope (a method)
    xtype: str | None = None  # an overload: the registered type of ``x``


def rexpr(e: Expr, c: Ctx) -> str:
    tag = e[0]
    if tag == "lit":
        return str(e[1])
    if tag == "arg":
        return "k"
    if tag == "self":
        return {"nt": "self.a", "flag": "self.value"}.get(c.family or "", "self.x")
    if tag == "field":
        return f"self.{e[1]}"
    if tag == "mix":
        return "self.mix()"
    if tag == "x":
        if c.xtype in NUMERIC:
            return "int(x)"
        if c.xtype in BUILTINS:
            return "len(x)"
        return "x.x"
    if tag == "get":
        name, kind = e[1], KIND[e[1]]
        if kind in ("method", "sdm"):
            return f"self.{name}({'k' if c.arg else '1'})"
        return f"self.{name}"
    if tag == "add":
        return f"({rexpr(e[1], c)} + {rexpr(e[2], c)})"
    if tag == "mul":
        return f"{rexpr(e[1], c)} * {e[2]}"
    raise AssertionError(e)


def render_overload(owner: str, o: Overload, c: Ctx, method: bool) -> list[str]:
    this = "self, " if method else ""
    if o.annotated:
        head = [f"@{owner}.register", f"def {o.name}({this}x: {o.type}):"]
    else:
        head = [f"@{owner}.register({o.type})", f"def {o.name}({this}x):"]
    return head + [f"    return {rexpr(o.body, Ctx(c.family, False, o.type))}"]


def render_member(m: Member, family: str) -> list[str]:
    kind = KIND[m.name]
    if kind == "const":
        return [f"{m.name} = {m.body[1]}"]
    if kind == "prop":
        return ["@property", f"def {m.name}(self):",
                f"    return {rexpr(m.body, Ctx(family, False))}"]
    if kind == "cached":
        return ["@functools.cached_property", f"def {m.name}(self):",
                f"    return {rexpr(m.body, Ctx(family, False))}"]
    if kind == "method":
        return ((["@abc.abstractmethod"] if m.abstract else [])
                + [f"def {m.name}(self, k):", f"    return {rexpr(m.body, Ctx(family, True))}"])
    out = ["@functools.singledispatchmethod", f"def {m.name}(self, x):",
           f"    return {rexpr(m.body, Ctx(family, False))}"]
    for o in m.overloads:
        out += [""] + render_overload(m.name, o, Ctx(family, False), True)
    return out


def header(k: Klass, model: Model) -> str:
    bases: list[str] = []
    if k.base is not None:
        args = ", ".join(k.targs)
        bases.append(f"{k.base}[{args}]" if args else k.base)
    else:
        root = {"abc": "abc.ABC", "keyed": "Keyed", "nt": "typing.NamedTuple",
                "flag": "enum.Flag", "proto": "typing.Protocol",
                "generic": f"typing.Generic[{', '.join(model.params(k.name))}]"}
        if k.family in root:
            bases.append(root[k.family])
    if k.mixin:
        bases.append("Mixin")
    if k.family == "meta" and k.base is None:
        bases.append("metaclass=Meta")
    if k.family == "keyed" and k.key is not None:
        bases.append(f'key="{k.key}"')
    return f"class {k.name}({', '.join(bases)}):" if bases else f"class {k.name}:"


def render_class(k: Klass, model: Model) -> list[str]:
    body: list[list[str]] = []
    if k.family == "nt":
        body.append([f"{f}: int = {d}" for f, d in k.fields.items()])
    if k.family == "flag":
        body.append([f"{b} = {BITS[b]}" for b in k.bits]
                    + [f"{''.join(c)} = {' | '.join(c)}" for c in k.combos])
    if k.family == "proto":
        if k.data:
            body.append(["x: int"])
        for n in PROTO_NAMES:
            if n in k.proto:
                deco = ["@property"] if KIND[n] == "prop" else []
                body.append(deco + [f"def {n}(self{'' if deco else ', k'}):", "    return 0"])
    if k.is_object and k.base is None:
        body.append(["def __init__(self, x):", "    self.x = x"])
    for n in NAMES:
        if n in k.members:
            body.append(render_member(k.members[n], k.family))
    lines = [header(k, model)]
    if k.family == "proto" and k.checkable:
        lines.insert(0, "@typing.runtime_checkable")
    if not body:
        return lines + ["    pass"]
    for i, chunk in enumerate(body):
        if i and (len(chunk) > 1 or len(body[i - 1]) > 1):
            lines.append("")
        lines += [f"    {line}" if line else "" for line in chunk]
    return lines


def render_dispatch(d: Dispatch) -> list[str]:
    out = ["@functools.singledispatch", f"def {d.name}(x):",
           f"    return {rexpr(d.body, Ctx(None, False))}"]
    for o in d.overloads:
        out += ["", ""] + render_overload(d.name, o, Ctx(None, False), False)
    return out


def render(model: Model) -> str:
    out = [PREAMBLE.rstrip("\n")]
    for k in model.classes:
        out += ["", ""] + render_class(k, model)
    for d in model.dispatch:
        out += ["", ""] + render_dispatch(d)
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------- normalizing --


def order(model: Model) -> None:
    """Bases before their subclasses; otherwise the order stays."""
    done: list[Klass] = []
    todo = list(model.classes)
    while todo:
        k = next(k for k in todo if k.base is None or any(d.name == k.base for d in done))
        todo.remove(k)
        done.append(k)
    model.classes = done


def scrub(e: Expr, model: Model, k: Klass | None, limit: int) -> Expr:
    """`e` with every read of something `k` does not have (or that comes at or after
    `limit` in `NAMES`) replaced by a literal."""
    tag = e[0]
    if tag in ("add", "mul"):
        parts = [scrub(p, model, k, limit) if isinstance(p, tuple) else p for p in e[1:]]
        return (tag, *parts)
    if tag == "get":
        ok = k is not None and e[1] in model.members_of(k.name) and rank(e[1]) < limit
        return e if ok else ("lit", 1)
    if tag == "mix":
        return e if k is not None and model.has_mixin(k.name) else ("lit", 7)
    if tag == "field":
        return e if k is not None and e[1] in k.fields else ("lit", 2)
    return e


def fix_overloads(overloads: list[Overload], model: Model, classes_ok: bool) -> None:
    seen: set[str] = set()
    for o in list(overloads):
        bad = o.type not in BUILTINS and not (
            classes_ok and model.has(o.type) and model.get(o.type).is_object)
        if bad or o.type in seen:
            overloads.remove(o)
        else:
            seen.add(o.type)


def normalize(model: Model) -> Model:
    order(model)
    for k in model.classes:
        if k.base is not None and k.family == "generic":
            want = len(model.params(k.base))
            if len(k.targs) != want:
                k.targs = (k.targs + ("int",) * want)[:want] if k.targs else ()
        for m in k.members.values():
            if KIND[m.name] != "const":
                m.body = scrub(m.body, model, k, rank(m.name))
            if k.family != "abc" and not any(b.family == "abc" for b in model.mro(k.name)):
                m.abstract = False
            for o in m.overloads:
                o.body = scrub(o.body, model, k, rank(m.name))
            fix_overloads(m.overloads, model, False)
        k.combos = [c for c in k.combos if all(b in k.bits for b in c)]
    for d in model.dispatch:
        d.body = scrub(d.body, model, None, 0)
        for o in d.overloads:
            o.body = scrub(o.body, model, None, 0)
        fix_overloads(d.overloads, model, True)
    return model


# ---------------------------------------------------------------------- generating --


def gen_expr(draw: Draw, model: Model, k: Klass | None, limit: int, arg: bool,
             xarg: bool, depth: int = 0) -> Expr:
    leaves: list[Expr] = [("lit", draw(small))]
    if arg:
        leaves.append(("arg",))
    if xarg:
        leaves += [("x",), ("x",)]
    if k is not None:
        leaves.append(("self",))
        leaves += [("get", n) for n in model.members_of(k.name) if rank(n) < limit]
        leaves += [("field", f) for f in k.fields]
        if model.has_mixin(k.name):
            leaves.append(("mix",))
    choice = draw(st.integers(0, len(leaves) + (1 if depth < 2 else -1)))
    if choice < len(leaves):
        return leaves[choice]
    if choice == len(leaves):
        return ("add", gen_expr(draw, model, k, limit, arg, xarg, depth + 1),
                gen_expr(draw, model, k, limit, arg, xarg, depth + 1))
    return ("mul", gen_expr(draw, model, k, limit, arg, xarg, depth + 1),
            draw(st.integers(2, 3)))


def _pick(draw: Draw, items: list[Any]) -> Any:
    return items[draw(st.integers(0, len(items) - 1))]


def gen_overload(draw: Draw, model: Model, k: Klass | None, limit: int,
                 taken: list[Overload], classes_ok: bool, owner: str) -> Overload | None:
    types = [t for t in BUILTINS if not any(o.type == t for o in taken)]
    if classes_ok:
        types += [c.name for c in model.classes
                  if c.is_object and not any(o.type == c.name for o in taken)]
    if not types:
        return None
    name = "_" if draw(st.booleans()) else model.fresh_name(f"{owner}_")
    return Overload(_pick(draw, types), gen_expr(draw, model, k, limit, False, True), name,
                    draw(st.booleans()))


def new_member(draw: Draw, model: Model, k: Klass, name: str) -> Member:
    if KIND[name] == "const":
        return Member(name, ("lit", draw(small)))
    m = Member(name, gen_expr(draw, model, k, rank(name), KIND[name] == "method", False))
    if KIND[name] == "method" and any(b.family == "abc" for b in model.mro(k.name)):
        m.abstract = draw(st.integers(0, 2)) == 2
    if KIND[name] == "sdm":
        for _ in range(draw(st.integers(1, 2))):
            o = gen_overload(draw, model, k, rank(name), m.overloads, False, name)
            if o is not None:
                m.overloads.append(o)
    return m


def new_class(draw: Draw, model: Model, family: str) -> Klass:
    k = Klass(model.fresh_name("K"), family)
    if k.is_object:
        bases = [c.name for c in model.classes if c.family == family]
        if bases and draw(st.booleans()):
            k.base = _pick(draw, bases)
        k.mixin = draw(st.integers(0, 3)) == 3
        if family == "keyed" and draw(st.booleans()):
            k.key = model.fresh_name("k")
        if family == "generic":
            if k.base is None:
                k.arity = draw(st.integers(1, 2))
            elif model.params(k.base) and draw(st.integers(0, 3)):
                k.targs = tuple(_pick(draw, TARGS) for _ in model.params(k.base))
    if family == "nt":
        k.fields = {"a": draw(small)}
        for f in NT_FIELDS[1:draw(st.integers(1, 3))]:
            k.fields[f] = draw(small)
    if family == "flag":
        k.bits = list(BITS)[:draw(st.integers(2, 3))]
        if draw(st.booleans()):
            k.combos = [tuple(k.bits[:2])]
    if family == "proto":
        k.proto = sorted(draw(st.sets(st.sampled_from(PROTO_NAMES), min_size=0, max_size=2)),
                         key=rank)
        k.data = draw(st.integers(0, 3)) == 3
        k.checkable = draw(st.integers(0, 4)) < 4
    model.classes.append(k)  # before its members: their bodies may read what it inherits
    if ALLOWED[family]:
        # sorted: a set of strings iterates in an order PYTHONHASHSEED decides, and the
        # default examples must be the same in every run
        for name in sorted(draw(st.sets(st.sampled_from(ALLOWED[family]), max_size=3)),
                           key=rank):
            k.members[name] = new_member(draw, model, k, name)
    return k


def new_dispatch(draw: Draw, model: Model) -> Dispatch:
    d = Dispatch(model.fresh_name("sd"), ("lit", draw(small)))
    for _ in range(draw(st.integers(1, 3))):
        o = gen_overload(draw, model, None, 0, d.overloads, True, d.name)
        if o is not None:
            d.overloads.append(o)
    return d


@st.composite
def models(draw: Draw, families: tuple[str, ...] = (*FAMILIES, "dispatch")) -> Model:
    model = Model([])
    for _ in range(draw(st.integers(2, 5))):
        family = draw(st.sampled_from(families))
        if family == "dispatch":
            model.dispatch.append(new_dispatch(draw, model))
        else:
            new_class(draw, model, family)
    return normalize(model)


# --------------------------------------------------------------------------- edits --
# Each edit changes `model` in place and says what it did, or returns None when it does
# not apply to this model.


def _bodies(model: Model) -> list[tuple[Any, Klass | None, int, bool, bool]]:
    """(holder, class, rank limit, k in scope, x in scope) of every edited body."""
    out: list[tuple[Any, Klass | None, int, bool, bool]] = []
    for k in model.classes:
        for m in k.members.values():
            if KIND[m.name] != "const":
                out.append((m, k, rank(m.name), KIND[m.name] == "method", False))
            out += [(o, k, rank(m.name), False, True) for o in m.overloads]
    for d in model.dispatch:
        out.append((d, None, 0, False, False))
        out += [(o, None, 0, False, True) for o in d.overloads]
    return out


def edit_body(draw: Draw, model: Model) -> str | None:
    targets = _bodies(model)
    if not targets:
        return None
    holder, k, limit, arg, xarg = _pick(draw, targets)
    new = gen_expr(draw, model, k, limit, arg, xarg)
    if new == holder.body:
        return None
    holder.body = new
    what = getattr(holder, "name", "?")
    return f"body of {k.name + '.' if k else ''}{what}" + (
        f" (overload on {holder.type})" if isinstance(holder, Overload) else "")


def edit_const(draw: Draw, model: Model) -> str | None:
    consts = [(k, m) for k in model.classes for m in k.members.values()
              if KIND[m.name] == "const"]
    if not consts:
        return None
    k, m = _pick(draw, consts)
    value = draw(small)
    if ("lit", value) == m.body:
        return None
    m.body = ("lit", value)
    return f"{k.name}.{m.name} = {value}"


def add_member(draw: Draw, model: Model) -> str | None:
    spots = [(k, n) for k in model.classes for n in ALLOWED[k.family] if n not in k.members]
    if not spots:
        return None
    k, name = _pick(draw, spots)
    k.members[name] = new_member(draw, model, k, name)
    return f"add {k.name}.{name}"


def remove_member(draw: Draw, model: Model) -> str | None:
    spots = [(k, n) for k in model.classes for n in k.members]
    if not spots:
        return None
    k, name = _pick(draw, spots)
    del k.members[name]
    return f"remove {k.name}.{name}"


def toggle_abstract(draw: Draw, model: Model) -> str | None:
    spots = [(k, m) for k in model.classes for m in k.members.values()
             if KIND[m.name] == "method" and any(b.family == "abc" for b in model.mro(k.name))]
    if not spots:
        return None
    k, m = _pick(draw, spots)
    m.abstract = not m.abstract
    return f"{k.name}.{m.name} {'abstract' if m.abstract else 'concrete'}"


def _overload_spots(model: Model) -> list[tuple[list[Overload], Klass | None, str, int]]:
    out: list[tuple[list[Overload], Klass | None, str, int]] = []
    for k in model.classes:
        for m in k.members.values():
            if KIND[m.name] == "sdm":
                out.append((m.overloads, k, m.name, rank(m.name)))
    out += [(d.overloads, None, d.name, 0) for d in model.dispatch]
    return out


def retype_overload(draw: Draw, model: Model) -> str | None:
    spots = [(s, o) for s in _overload_spots(model) for o in s[0]]
    if not spots:
        return None
    (overloads, k, owner, _), o = _pick(draw, spots)
    types = [t for t in BUILTINS if not any(p.type == t for p in overloads)]
    if k is None:
        types += [c.name for c in model.classes
                  if c.is_object and not any(p.type == c.name for p in overloads)]
    if not types:
        return None
    old, o.type = o.type, _pick(draw, types)
    return f"{owner}.register({old}) -> register({o.type})"


def restyle_overload(draw: Draw, model: Model) -> str | None:
    spots = [(s, o) for s in _overload_spots(model) for o in s[0]]
    if not spots:
        return None
    (_, _, owner, _), o = _pick(draw, spots)
    if draw(st.booleans()):
        o.annotated = not o.annotated
        return f"{owner} overload on {o.type}: {'annotated' if o.annotated else 'register(T)'}"
    o.name = model.fresh_name(f"{owner}_") if o.name == "_" else "_"
    return f"{owner} overload on {o.type} named {o.name}"


def add_overload(draw: Draw, model: Model) -> str | None:
    spots = _overload_spots(model)
    if not spots:
        return None
    overloads, k, owner, limit = _pick(draw, spots)
    o = gen_overload(draw, model, k, limit, overloads, k is None, owner)
    if o is None:
        return None
    overloads.insert(draw(st.integers(0, len(overloads))), o)
    return f"add {owner}.register({o.type})"


def remove_overload(draw: Draw, model: Model) -> str | None:
    spots = [(s, o) for s in _overload_spots(model) for o in s[0]]
    if not spots:
        return None
    (overloads, _, owner, _), o = _pick(draw, spots)
    overloads.remove(o)
    return f"remove {owner}.register({o.type})"


def edit_fields(draw: Draw, model: Model) -> str | None:
    nts = [k for k in model.classes if k.family == "nt"]
    if not nts:
        return None
    k = _pick(draw, nts)
    what = draw(st.integers(0, 2))
    if what == 0:
        f = _pick(draw, list(k.fields))
        k.fields[f] = (k.fields[f] + 1 + draw(small)) % 10
        return f"{k.name}.{f} default {k.fields[f]}"
    if what == 1 and len(k.fields) < len(NT_FIELDS):
        f = next(f for f in NT_FIELDS if f not in k.fields)
        k.fields[f] = draw(small)
        k.fields = {g: k.fields[g] for g in NT_FIELDS if g in k.fields}
        return f"add field {k.name}.{f}"
    if len(k.fields) > 1:
        f = _pick(draw, list(k.fields)[1:])
        del k.fields[f]
        return f"remove field {k.name}.{f}"
    return None


def edit_flag(draw: Draw, model: Model) -> str | None:
    flags = [k for k in model.classes if k.family == "flag"]
    if not flags:
        return None
    k = _pick(draw, flags)
    what = draw(st.integers(0, 3))
    if what == 0 and len(k.bits) < len(BITS):
        b = next(b for b in BITS if b not in k.bits)
        k.bits = [c for c in BITS if c in k.bits or c == b]
        return f"add member {k.name}.{b}"
    if what == 1 and len(k.bits) > 1:
        b = _pick(draw, k.bits)
        k.bits.remove(b)
        return f"remove member {k.name}.{b}"
    if what == 2 and len(k.bits) > 1:
        parts = tuple(b for b in k.bits if draw(st.booleans()))
        if len(parts) < 2 or parts in k.combos:
            return None
        k.combos.append(parts)
        return f"add member {k.name}.{''.join(parts)} = {' | '.join(parts)}"
    if what == 3 and k.combos:
        c = _pick(draw, k.combos)
        k.combos.remove(c)
        return f"remove member {k.name}.{''.join(c)}"
    return None


def toggle_mixin(draw: Draw, model: Model) -> str | None:
    objs = [k for k in model.classes if k.is_object]
    if not objs:
        return None
    k = _pick(draw, objs)
    k.mixin = not k.mixin
    return f"{'add' if k.mixin else 'remove'} base Mixin of {k.name}"


def rekey(draw: Draw, model: Model) -> str | None:
    keyed = [k for k in model.classes if k.family == "keyed"]
    if not keyed:
        return None
    k = _pick(draw, keyed)
    k.key = model.fresh_name("k") if k.key is None or draw(st.booleans()) else None
    return f"{k.name} key={k.key!r}"


def rebase(draw: Draw, model: Model) -> str | None:
    objs = [k for k in model.classes if k.is_object]
    if not objs:
        return None
    k = _pick(draw, objs)
    options: list[str | None] = [c.name for c in model.classes
                                 if c.family == k.family and c.name != k.base
                                 and not model.descends(c.name, k.name)]
    if k.base is not None:
        options.append(None)
    if not options:
        return None
    k.base = _pick(draw, options)
    if k.family == "generic":
        if k.base is None:
            k.arity = draw(st.integers(1, 2))
        else:
            k.targs = tuple(_pick(draw, TARGS) for _ in model.params(k.base))
    return f"class {k.name}({k.base or 'root'})"


def edit_generic(draw: Draw, model: Model) -> str | None:
    gens = [k for k in model.classes if k.family == "generic"]
    if not gens:
        return None
    k = _pick(draw, gens)
    if k.base is None:
        k.arity = 3 - k.arity
        return f"{k.name}: Generic of {k.arity} parameter(s)"
    n = len(model.params(k.base))
    new = tuple(_pick(draw, TARGS) for _ in range(n)) if n and draw(st.integers(0, 3)) else ()
    if new == k.targs:
        return None
    k.targs = new
    return f"class {k.name}({k.base}[{', '.join(new)}])"


def edit_proto(draw: Draw, model: Model) -> str | None:
    protos = [k for k in model.classes if k.family == "proto"]
    if not protos:
        return None
    k = _pick(draw, protos)
    what = draw(st.integers(0, 3))
    if what == 0:
        k.checkable = not k.checkable
        return f"{k.name} {'' if k.checkable else 'not '}runtime_checkable"
    if what == 1:
        k.data = not k.data
        return f"{k.name} {'gains' if k.data else 'loses'} x: int"
    name = _pick(draw, PROTO_NAMES)
    if name in k.proto:
        k.proto.remove(name)
        return f"{k.name} no longer names {name}"
    k.proto = sorted([*k.proto, name], key=rank)
    return f"{k.name} names {name}"


def add_class(draw: Draw, model: Model) -> str | None:
    if len(model.classes) >= MAX_CLASSES:
        return None
    k = new_class(draw, model, draw(st.sampled_from(FAMILIES)))
    return f"add {k.family} class {k.name}"


def remove_class(draw: Draw, model: Model) -> str | None:
    leaves = [k for k in model.classes if not model.subclasses(k.name)]
    if len(model.classes) < 2 or not leaves:
        return None
    k = _pick(draw, leaves)
    model.classes.remove(k)
    return f"remove class {k.name}"


def add_dispatch(draw: Draw, model: Model) -> str | None:
    if len(model.dispatch) >= MAX_DISPATCH:
        return None
    model.dispatch.append(new_dispatch(draw, model))
    return f"add dispatch function {model.dispatch[-1].name}"


def remove_dispatch(draw: Draw, model: Model) -> str | None:
    if not model.dispatch:
        return None
    d = _pick(draw, model.dispatch)
    model.dispatch.remove(d)
    return f"remove dispatch function {d.name}"


EDITS = [edit_body, edit_body, edit_body, edit_const, add_member, remove_member,
         toggle_abstract, toggle_abstract, retype_overload, retype_overload, restyle_overload,
         add_overload, remove_overload, edit_fields, edit_fields, edit_flag, edit_flag,
         toggle_mixin, rekey, rebase, edit_generic, edit_proto, edit_proto, add_class,
         remove_class, add_dispatch, remove_dispatch]


@st.composite
def updates(draw: Draw, model: Model, max_edits: int = 4) -> tuple[Model, list[str]]:
    return draw_edits(draw, model, EDITS, normalize, max_edits, tries=8)


@dataclass
class History:
    versions: list[Model]
    labels: list[list[str]]
    x: int = 3  # every object class is built as ``K(x)``
    calls: tuple[int, ...] = (1, 4)  # the methods' argument ``k``

    @property
    def sources(self) -> list[str]:
        return [render(m) for m in self.versions]

    def __repr__(self) -> str:
        return f"History(x={self.x}, calls={self.calls})\n" + versions_text(self.sources, self.labels)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a falsifying example with this: the sources, not the data."""
        printer.text(repr(self))


@st.composite
def histories(draw: Draw, families: tuple[str, ...] = (*FAMILIES, "dispatch"),
              max_updates: int = 3, max_edits: int = 4) -> History:
    versions = [draw(models(families))]
    labels = []
    for _ in range(draw(st.integers(1, max_updates))):
        new, done = draw(updates(versions[-1], max_edits))
        versions.append(new)
        labels.append(done)
    calls = tuple(draw(st.lists(st.integers(-2, 9), min_size=1, max_size=2)))
    return History(versions, labels, draw(st.integers(-2, 9)), calls)
