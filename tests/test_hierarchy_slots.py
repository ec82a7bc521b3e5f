"""Class hierarchies, metaclasses, ABCs, typing constructs and __slots__ across updates."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import typing

import pytest

import hotswap


# -- __slots__ ------------------------------------------------------------------------------


def test_slotted_class_method_change_on_old_instance(modules):
    src = """
        class Vec:
            __slots__ = ("x", "y")

            def __init__(self, x, y):
                self.x = x
                self.y = y

            def length2(self):
                return BODY
    """
    mf = modules(src.replace("BODY", "self.x * self.x + self.y * self.y"))
    Vec = mf.module.Vec
    old = Vec(3, 4)
    assert old.length2() == 25

    report = mf.update(src.replace("BODY", "(self.x * self.x + self.y * self.y) * 10"))

    assert mf.module.Vec is Vec
    assert report.replaced == []
    assert old.length2() == 250
    assert Vec(1, 0).length2() == 10
    assert not hasattr(old, "__dict__")
    assert f"{mf.name}.Vec.length2" in report.functions


def test_slot_added_replaces_class_and_old_instances_keep_working(modules):
    mf = modules("""
        class Vec:
            __slots__ = ("x", "y")

            def __init__(self, x, y):
                self.x = x
                self.y = y

            def total(self):
                return self.x + self.y
    """)
    OldVec = mf.module.Vec
    old = OldVec(1, 2)

    report = mf.update("""
        class Vec:
            __slots__ = ("x", "y", "z")

            def __init__(self, x, y, z=0):
                self.x = x
                self.y = y
                self.z = z

            def total(self):
                return self.x + self.y + self.z
    """)

    NewVec = mf.module.Vec
    assert NewVec is not OldVec
    assert f"{mf.name}.Vec" in report.replaced
    new = NewVec(1, 2, 3)
    assert new.z == 3
    assert new.total() == 6
    assert NewVec.__slots__ == ("x", "y", "z")
    # old instances keep the old class, which keeps working on its old methods
    assert type(old) is OldVec
    assert old.total() == 3
    old.x = 10
    assert old.total() == 12
    assert not hasattr(old, "z")
    skipped = dict(report.skipped)
    assert f"{mf.name}.Vec" in skipped
    assert "1 live instance" in skipped[f"{mf.name}.Vec"]


def test_a_private_slot_keeps_its_value_when_its_instance_moves(modules):
    # ``__slots__ = ("__secret",)`` makes a descriptor named ``_Box__secret``: a move that
    # copied slots by the name as written would find nothing and drop the value.
    mf = modules("""
        class Box:
            __slots__ = ("__secret",)

            def __init__(self, secret):
                self.__secret = secret

            def reveal(self):
                return self.__secret
    """)
    held = [mf.module.Box("kept")]

    report = mf.update("""
        class Box:
            __slots__ = ("__secret", "extra")

            def __init__(self, secret):
                self.__secret = secret

            def reveal(self):
                return "new " + self.__secret
    """)

    assert f"{mf.name}.Box (1 moved to the new layout)" in report.instances
    assert type(held[0]) is mf.module.Box
    assert held[0].reveal() == "new kept"


# -- bases, metaclasses, registries -----------------------------------------------------------


def test_bases_changed_isinstance_and_super_agree(modules):
    src = """
        class B:
            def who(self):
                return "B"

        class C:
            def who(self):
                return "C"

        class A(BASE):
            def who(self):
                return "A>" + super().who()
    """
    mf = modules(src.replace("BASE", "B"))
    A, B, C = mf.module.A, mf.module.B, mf.module.C
    old = A()
    assert old.who() == "A>B"

    report = mf.update(src.replace("BASE", "C"))

    assert mf.module.A is A
    assert mf.module.B is B and mf.module.C is C
    assert A.__bases__ == (C,)
    assert A.__mro__ == (A, C, object)
    for obj in (old, A()):
        assert isinstance(obj, C)
        assert not isinstance(obj, B)
        assert obj.who() == "A>C"
    assert issubclass(A, C) and not issubclass(A, B)
    assert f"{mf.name}.A" in report.rebuilt


TURNED = """
    import dataclasses

    @dataclasses.dataclass
    class Root:
        x: int = 0

        def who(self):
            return "Root"
    FIRST
    SECOND
"""
MID = """
    @dataclasses.dataclass
    class Mid(BASE):
        y: int = 1

        def who(self):
            return "Mid>" + super().who()
"""
LEAF = """
    @dataclasses.dataclass
    class Leaf(BASE):
        z: int = 2

        def who(self):
            return "Leaf>" + super().who()
"""


def _turned(first: str, first_base: str, second: str, second_base: str) -> str:
    return TURNED.replace("FIRST", first.replace("BASE", first_base)) \
        .replace("SECOND", second.replace("BASE", second_base))


def test_a_hierarchy_turned_around_keeps_both_classes_in_place(tree):
    """Root <- Mid <- Leaf becomes Root <- Leaf <- Mid in one update. Mid's new base
    (Leaf) is an inheritance cycle only while Leaf still derives from Mid; Leaf, staged
    first, is rebased first, so CPython accepts Mid's bases in place: both classes keep
    their identity (none is replaced) and answer as a fresh import of the new source."""
    tree.write(m=_turned(MID, "Root", LEAF, "Mid"))
    m = tree.load("m")
    Mid, Leaf = m.Mid, m.Leaf
    mid, leaf = Mid(5, 6), Leaf(5, 6, 7)
    assert leaf.who() == "Leaf>Mid>Root"

    tree.write(m=_turned(LEAF, "Root", MID, "Leaf"))
    report = hotswap.update(m)

    assert report.replaced == []
    assert m.Mid is Mid and m.Leaf is Leaf and type(mid) is Mid and type(leaf) is Leaf
    assert {f"{m.__name__}.Mid", f"{m.__name__}.Leaf"} <= set(report.rebuilt)

    def answers(module: str, mid: str, leaf: str) -> str:
        return (f"[[[c.__name__ for c in k.__mro__] for k in ({module}.Mid, {module}.Leaf)],"
                f" [[repr(o), dataclasses.asdict(o), o.who(),"
                f" o == type(o)(**dataclasses.asdict(o))] for o in ({mid}, {leaf})]]")
    live = eval(answers("m", "mid", "leaf"),
                {"m": m, "mid": mid, "leaf": leaf, "dataclasses": dataclasses})
    fresh = tree.fresh("(lambda dataclasses: "
                       + answers("pkg.m", "pkg.m.Mid(x=5, y=6)", "pkg.m.Leaf(x=5, z=7)")
                       + ")(importlib.import_module('dataclasses'))")
    assert json.loads(json.dumps(live)) == fresh
    assert fresh[1][1][:3] == ["Leaf(x=5, z=7)", {"x": 5, "z": 7}, "Leaf>Root"]
    assert fresh[0] == [["Mid", "Leaf", "Root", "object"], ["Leaf", "Root", "object"]]


def test_metaclass_registry_not_registered_twice_on_body_change(modules):
    src = """
        REGISTRY = []

        class Meta(type):
            def __init__(cls, name, bases, ns):
                super().__init__(name, bases, ns)
                REGISTRY.append(name)

        class Base(metaclass=Meta):
            pass

        class Plugin(Base):
            def run(self):
                return BODY
    """
    mf = modules(src.replace("BODY", '"v1"'))
    registry = mf.module.REGISTRY
    Plugin = mf.module.Plugin
    old = Plugin()
    assert registry == ["Base", "Plugin"]

    report = mf.update(src.replace("BODY", '"v2"'))

    assert mf.module.REGISTRY is registry
    assert registry == ["Base", "Plugin"]
    assert mf.module.Plugin is Plugin
    assert type(Plugin) is mf.module.Meta
    assert old.run() == "v2"
    assert f"{mf.name}.Plugin.run" in report.functions


def test_init_subclass_registry_not_registered_twice_on_body_change(modules):
    src = """
        class Handler:
            registry = {}

            def __init_subclass__(cls, key=None, **kw):
                super().__init_subclass__(**kw)
                Handler.registry[key or cls.__name__] = cls

        class Json(Handler, key="json"):
            def handle(self, data):
                return BODY

        class Xml(Handler):
            def handle(self, data):
                return "xml"
    """
    mf = modules(src.replace("BODY", '"json1"'))
    Handler, Json = mf.module.Handler, mf.module.Json
    registry = Handler.registry
    assert registry == {"json": Json, "Xml": mf.module.Xml}
    snapshot = dict(registry)

    report = mf.update(src.replace("BODY", '"json2:" + data'))

    assert Handler.registry is registry
    assert registry == snapshot
    assert registry["json"] is Json
    assert mf.module.Json is Json
    assert registry["json"]().handle("x") == "json2:x"
    assert f"{mf.name}.Json.handle" in report.functions
    assert report.rebuilt == []


def test_abc_abstract_method_set_recomputed(modules):
    mf = modules("""
        import abc

        class Shape(abc.ABC):
            @abc.abstractmethod
            def area(self):
                ...

        class Square(Shape):
            side = 2

        class Circle(Shape):
            def area(self):
                return 3
    """)
    Shape, Square, Circle = mf.module.Shape, mf.module.Square, mf.module.Circle
    old_circle = Circle()
    try:
        Square()
    except TypeError:
        pass
    else:
        raise AssertionError("Square without area() should be abstract")

    mf.update("""
        import abc

        class Shape(abc.ABC):
            @abc.abstractmethod
            def area(self):
                ...

            @abc.abstractmethod
            def perimeter(self):
                ...

        class Square(Shape):
            side = 2

            def area(self):
                return self.side ** 2

            def perimeter(self):
                return 4 * self.side

        class Circle(Shape):
            def area(self):
                return 3
    """)

    assert mf.module.Shape is Shape
    assert mf.module.Square is Square and mf.module.Circle is Circle
    assert Shape.__abstractmethods__ == frozenset({"area", "perimeter"})
    assert Square.__abstractmethods__ == frozenset()
    assert Circle.__abstractmethods__ == frozenset({"perimeter"})
    sq = Square()  # now concrete
    assert sq.area() == 4 and sq.perimeter() == 8
    try:
        Circle()
    except TypeError:
        pass
    else:
        raise AssertionError("Circle lacks perimeter() and should now be abstract")
    assert old_circle.area() == 3


def test_a_replaced_abc_keeps_its_abstract_methods_when_its_new_base_changes(modules):
    """The class replacing one gets functions of its own: they keep the mark
    ``abc.abstractmethod`` left, so recomputing its abstract set after its new base changed
    (here the base gained a method) still finds it."""
    mf = modules("""
        import abc

        class Base(abc.ABC):
            pass

        class Shape(abc.ABC):
            @abc.abstractmethod
            def area(self):
                ...
    """)
    Shape = mf.module.Shape

    report = mf.update("""
        import abc

        class Base(abc.ABC):
            def extra(self):
                return 1

        class Shape(Base):
            @abc.abstractmethod
            def area(self):
                ...
    """)

    assert f"{mf.name}.Shape" in report.replaced and mf.module.Shape is not Shape
    assert mf.module.Shape.__abstractmethods__ == frozenset({"area"})
    with pytest.raises(TypeError, match="abstract"):
        mf.module.Shape()


def test_nested_class_update(modules):
    mf = modules("""
        class Outer:
            class Inner:
                LIMIT = 1

                def get(self):
                    return "inner1"

            def make(self):
                return self.Inner()
    """)
    Outer = mf.module.Outer
    Inner = Outer.Inner
    old_inner = Outer().make()
    assert old_inner.get() == "inner1"

    report = mf.update("""
        class Outer:
            class Inner:
                LIMIT = 2

                def get(self):
                    return "inner2:" + str(self.LIMIT)

                def extra(self):
                    return self.get() + "!"

            def make(self):
                return self.Inner()
    """)

    assert mf.module.Outer is Outer
    assert Outer.Inner is Inner
    assert type(old_inner) is Inner
    assert Inner.LIMIT == 2
    assert old_inner.get() == "inner2:2"
    assert old_inner.extra() == "inner2:2!"
    assert Outer().make().get() == "inner2:2"
    assert f"{mf.name}.Outer.Inner.get" in report.functions
    assert not hasattr(mf.module, "extra")


# -- typing constructs ----------------------------------------------------------------------


def test_namedtuple_method_change(modules):
    src = """
        from typing import NamedTuple

        class Pt(NamedTuple):
            x: int
            y: int = 0

            def norm1(self):
                return BODY
    """
    mf = modules(src.replace("BODY", "abs(self.x) + abs(self.y)"))
    Pt = mf.module.Pt
    old = Pt(3, -4)
    assert old.norm1() == 7

    report = mf.update(src.replace("BODY", "(abs(self.x) + abs(self.y)) * 10"))

    assert mf.module.Pt is Pt
    assert old.norm1() == 70
    assert Pt(1).norm1() == 10
    assert old == (3, -4)
    assert f"{mf.name}.Pt.norm1" in report.functions


def test_namedtuple_field_added_with_default(modules):
    mf = modules("""
        from typing import NamedTuple

        class Pt(NamedTuple):
            x: int
            y: int = 0

            def total(self):
                return self.x + self.y
    """)
    old = mf.module.Pt(1, 2)

    mf.update("""
        from typing import NamedTuple

        class Pt(NamedTuple):
            x: int
            y: int = 0
            z: int = 7

            def total(self):
                return self.x + self.y + self.z
    """)

    Pt = mf.module.Pt
    assert Pt._fields == ("x", "y", "z")
    new = Pt(1, 2)
    assert new.z == 7
    assert tuple(new) == (1, 2, 7)
    assert Pt(1, 2, 3).total() == 6
    assert new.total() == 10
    assert repr(new) == "Pt(x=1, y=2, z=7)"
    # old instances are 2-tuples and keep working
    assert old.x == 1 and old.y == 2
    assert tuple(old) == (1, 2)
    assert old == (1, 2)
    assert old._asdict() == {"x": 1, "y": 2}
    assert repr(old) == "Pt(x=1, y=2)"


def test_generic_class_method_change(modules):
    src = """
        from typing import Generic, TypeVar

        T = TypeVar("T")

        class Box(Generic[T]):
            def __init__(self, item: T):
                self.item = item

            def get(self) -> T:
                return BODY
    """
    mf = modules(src.replace("BODY", "self.item"))
    Box = mf.module.Box
    old = Box(1)
    alias = Box[int]
    typed = alias(2)

    report = mf.update(src.replace("BODY", "[self.item]"))

    assert mf.module.Box is Box
    assert old.get() == [1]
    assert typed.get() == [2]
    assert alias(3).get() == [3]
    assert Box[str]("s").get() == ["s"]
    assert Box.__parameters__ == (mf.module.T,)
    assert f"{mf.name}.Box.get" in report.functions


GENERIC_PAIR = textwrap.dedent("""
    import typing

    T = typing.TypeVar("T")
    U = typing.TypeVar("U")

    class Box(typing.Generic[PARAMS]):
        pass
""")


def test_a_new_subclass_subscripts_its_rebuilt_generic_base_as_the_source_has_it(modules):
    """``class Pair(Box[int])`` is new while Box loses a type parameter: it is built
    against Box's new parameters, then based on the live Box."""
    mf = modules(GENERIC_PAIR.replace("PARAMS", "T, U"))
    Box = mf.module.Box
    old = Box()

    mf.update(GENERIC_PAIR.replace("PARAMS", "T") + "\nclass Pair(Box[int]):\n    pass\n")

    m = mf.module
    assert m.Box is Box and Box.__parameters__ == (m.T,)
    assert m.Pair.__bases__ == (Box,) and issubclass(m.Pair, Box) and isinstance(old, Box)
    assert typing.get_origin(m.Pair.__orig_bases__[0]) is Box
    assert typing.get_args(m.Pair.__orig_bases__[0]) == (int,)
    assert m.Pair in Box.__subclasses__()


def test_a_generic_rebuilt_with_its_subclass_leaves_the_subclass_naming_the_live_base(modules):
    source = GENERIC_PAIR + "\nclass Pair(Box[ARGS]):\n    pass\n"
    mf = modules(source.replace("PARAMS", "T").replace("ARGS", "int"))
    Box, Pair = mf.module.Box, mf.module.Pair
    old = Pair()

    report = mf.update(source.replace("PARAMS", "T, U").replace("ARGS", "int, str"))

    assert {f"{mf.name}.Box", f"{mf.name}.Pair"} <= set(report.rebuilt)
    assert mf.module.Pair is Pair and Pair.__bases__ == (Box,)
    assert typing.get_origin(Pair.__orig_bases__[0]) is Box
    assert typing.get_args(Pair.__orig_bases__[0]) == (int, str)
    assert Box.__parameters__ == (mf.module.T, mf.module.U) and isinstance(old, Box)


def test_protocol_method_change(modules):
    src = """
        from typing import Protocol, runtime_checkable

        @runtime_checkable
        class Greeter(Protocol):
            def greet(self) -> str:
                return BODY

        class English(Greeter):
            pass

        class Duck:
            def greet(self) -> str:
                return "quack"
    """
    mf = modules(src.replace("BODY", '"hello"'))
    Greeter, English = mf.module.Greeter, mf.module.English
    old = English()
    assert old.greet() == "hello"

    report = mf.update(src.replace("BODY", '"hello v2"'))

    assert mf.module.Greeter is Greeter and mf.module.English is English
    assert old.greet() == "hello v2"
    assert English().greet() == "hello v2"
    assert isinstance(mf.module.Duck(), Greeter)
    assert isinstance(old, Greeter)
    assert not isinstance(object(), Greeter)
    assert f"{mf.name}.Greeter.greet" in report.functions


def test_class_removed_from_source_leaves_module_instances_keep_working(modules):
    mf = modules("""
        class Keep:
            pass

        class Gone:
            def __init__(self, n):
                self.n = n

            def double(self):
                return self.n * 2
    """)
    Gone = mf.module.Gone
    inst = Gone(21)

    report = mf.update("""
        class Keep:
            pass
    """)

    assert not hasattr(mf.module, "Gone")
    assert f"{mf.name}.Gone" in report.removed
    assert inst.double() == 42
    assert type(inst) is Gone
    assert isinstance(inst, Gone)
    assert Gone(1).double() == 2
    assert hasattr(mf.module, "Keep")


def test_a_method_bound_before_its_class_was_replaced_dispatches_as_the_new_class(modules):
    """The class is replaced (CPython refuses its new bases in place) and its instances
    retargeted: a singledispatchmethod bound earlier takes the new registry too."""
    source = """
        import functools

        class Mixin:
            def mix(self):
                return 7

        class Shape(BASES):
            @functools.singledispatchmethod
            def fit(self, x):
                return "any"

            @fit.register(TYPE)
            def _(self, x):
                return "number"
    """
    mf = modules(source.replace("BASES", "").replace("TYPE", "int"))
    Shape = mf.module.Shape
    shape = Shape()
    fit = shape.fit
    assert (fit(1), fit(1.5)) == ("number", "any")

    report = mf.update(source.replace("BASES", "Mixin").replace("TYPE", "float"))

    assert f"{mf.name}.Shape" in report.replaced and isinstance(shape, mf.module.Shape)
    assert (fit(1), fit(1.5)) == ("any", "number")
    assert (shape.fit(1), shape.fit(1.5), shape.mix()) == ("any", "number", 7)


def test_methods_bound_before_a_class_was_replaced_follow_later_edits(modules):
    """All instances left the replaced class: the replacing class holds the old function
    objects (given the new code), so an edit after the replacement reaches a method bound,
    or a function taken off the class, before it."""
    source = """
        class Mixin:
            def mix(self):
                return 7

        class Shape(BASES):
            def area(self):
                return BODY

            @property
            def size(self):
                return BODY
    """
    mf = modules(source.replace("BASES", "").replace("BODY", "1"))
    shape = mf.module.Shape()
    area, function = shape.area, mf.module.Shape.area

    report = mf.update(source.replace("BASES", "Mixin").replace("BODY", "2"))
    assert f"{mf.name}.Shape" in report.replaced
    assert mf.module.Shape.__dict__["area"] is function
    assert (area(), function(shape), shape.size, shape.mix()) == (2, 2, 2, 7)

    mf.update(source.replace("BASES", "Mixin").replace("BODY", "3"))
    assert (area(), function(shape), shape.area(), shape.size) == (3, 3, 3, 3)
    assert mf.module.Shape().area() == 3

    hotswap.rollback(mf.module)
    hotswap.rollback(mf.module)
    assert (area(), shape.size) == (1, 1) and mf.module.Shape.__dict__["area"] is function


def test_a_singledispatchmethod_edited_as_its_class_is_replaced_runs_its_new_bodies(modules):
    """The replacing class's singledispatchmethod holds functions of its own, fallback and
    overloads, with the new bodies (not the old class's functions, with the old ones)."""
    source = """
        class Mixin:
            def mix(self):
                return 7

        class Shape(BASES):
            @functools.singledispatchmethod
            def fit(self, x):
                return BODY

            @fit.register(int)
            def fit_int(self, x):
                return BODY + 1
    """
    source = "import functools\n" + textwrap.dedent(source)
    mf = modules(source.replace("BASES", "").replace("BODY", "10"))
    shape = mf.module.Shape()
    fit = shape.fit

    report = mf.update(source.replace("BASES", "Mixin").replace("BODY", "20"))

    assert f"{mf.name}.Shape" in report.replaced
    assert (fit("a"), fit(1), shape.fit("a"), shape.fit(1)) == (20, 21, 20, 21)
    assert (mf.module.Shape().fit("a"), mf.module.Shape().fit(1)) == (20, 21)


@pytest.mark.parametrize("header", ["(Mixin)", "(Base)"])
def test_overloads_sharing_a_name_keep_their_bodies_when_the_class_runs_again(modules, header):
    """Two ``def _`` overloads in a class whose header changed (replaced for its bases,
    or rebuilt in place): each keeps its own body on its own type."""
    source = """
        import functools

        class Mixin:
            def mix(self):
                return 7

        class Base:
            pass

        class Shape HEADER:
            @functools.singledispatchmethod
            def fit(self, x):
                return "any"

            @fit.register(int)
            def _(self, x):
                return "int"

            @fit.register(str)
            def _(self, x):
                return "str"
    """
    mf = modules(source.replace("HEADER", ""))
    shape = mf.module.Shape()
    fit = shape.fit

    mf.update(source.replace("HEADER", header))

    assert (fit(1), fit("a"), fit(1.5)) == ("int", "str", "any")
    assert (shape.fit(1), shape.fit("a"), mf.module.Shape().fit(1)) == ("int", "str", "int")


ABC_PAIR = """
    import abc

    class Mixin:
        def mix(self):
            return 7

    class Base(BASE_HEADER):
        def __init__(self, x):
            self.x = x

    class Leaf(LEAF_HEADER):
        pass
"""


def test_a_subclass_replaced_while_its_base_is_rebuilt_is_based_on_the_live_base(modules):
    """Base is rebuilt in place (it gains a mixin) and Leaf, now derived from it, must be
    replaced (CPython refuses its new bases in place): the replacing Leaf was built against
    the staged Base, and is based on the live one."""
    mf = modules(ABC_PAIR.replace("BASE_HEADER", "abc.ABC").replace("LEAF_HEADER", "abc.ABC"))
    Base = mf.module.Base

    report = mf.update(ABC_PAIR.replace("BASE_HEADER", "abc.ABC, Mixin")
                       .replace("LEAF_HEADER", "Base"))

    Leaf = mf.module.Leaf
    assert f"{mf.name}.Leaf" in report.replaced and mf.module.Base is Base
    assert Leaf.__bases__ == (Base,) and issubclass(Leaf, Base) and Leaf in Base.__subclasses__()
    assert Leaf(1).mix() == 7 and isinstance(Leaf(1), Base)


def test_a_rebuilt_abc_keeps_its_virtual_subclasses(modules):
    mf = modules(ABC_PAIR.replace("BASE_HEADER", "abc.ABC").replace("LEAF_HEADER", "Base"))
    Base = mf.module.Base

    class Virtual:
        pass
    Base.register(Virtual)

    report = mf.update(ABC_PAIR.replace("BASE_HEADER", "abc.ABC, Mixin")
                       .replace("LEAF_HEADER", "Base"))

    assert f"{mf.name}.Base" in report.rebuilt and mf.module.Base is Base
    assert issubclass(Virtual, Base) and isinstance(Virtual(), Base)
    assert not [n for n in report.rebound if "_abc_impl" in n]


def test_a_subclass_whose_header_changed_keeps_its_new_bases_when_its_base_is_replaced(modules):
    """Base is replaced (CPython refuses its new bases in place) while Leaf, its subclass,
    gains a mixin in the same update: Leaf's edit sets both bases, and pointing Leaf at the
    replacing Base does not undo it."""
    source = """
        class Mixin:
            def mix(self):
                return 7

        class Root:
            pass

        class Base(BASE_HEADER):
            pass

        class Leaf(LEAF_HEADER):
            pass
    """
    mf = modules(source.replace("BASE_HEADER", "Root").replace("LEAF_HEADER", "Base"))
    Leaf = mf.module.Leaf

    report = mf.update(source.replace("BASE_HEADER", "").replace("LEAF_HEADER", "Base, Mixin"))

    assert f"{mf.name}.Base" in report.replaced and mf.module.Leaf is Leaf
    assert Leaf.__bases__ == (mf.module.Base, mf.module.Mixin) and Leaf().mix() == 7


def test_a_protocol_gaining_a_data_member_refuses_issubclass_as_a_fresh_one_does(modules):
    """``x: int`` added to a protocol changed in place: the member lists CPython computed
    when the class was made (3.12: ``__callable_proto_members_only__``; 3.13:
    ``__non_callable_proto_members__``) are computed again, so ``issubclass`` refuses it
    for the reason a fresh import gives."""
    source = """
        import typing

        class Sized(typing.Protocol):
            def size(self):
                return 0
            MEMBER

        class Box:
            x = 1

            def size(self):
                return 1
    """
    mf = modules(source.replace("MEMBER", ""))

    report = mf.update(source.replace("MEMBER", "x: int"))

    assert f"{mf.name}.Sized" in report.classes  # changed in place, not rebuilt
    fresh = modules.fresh(source.replace("MEMBER", "x: int"))
    errors = []
    for module in (mf.module, fresh):
        with pytest.raises(TypeError) as info:
            issubclass(module.Box, module.Sized)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_a_subclass_of_a_replaced_abc_inherits_its_new_abstract_methods(modules):
    """Base is replaced (now derived from Shape, it inherits an abstract method); Leaf,
    pointed at the replacing Base, has its abstract set computed again: abstract too."""
    source = """
        import abc

        class Shape(abc.ABC):
            @abc.abstractmethod
            def area(self):
                ...

        class Base(BASE):
            pass

        class Leaf(Base):
            pass
    """
    mf = modules(source.replace("BASE", "abc.ABC"))
    Leaf = mf.module.Leaf
    Leaf()

    report = mf.update(source.replace("BASE", "Shape"))

    assert f"{mf.name}.Base" in report.replaced and mf.module.Leaf is Leaf
    assert Leaf.__abstractmethods__ == frozenset({"area"})
    with pytest.raises(TypeError, match="abstract"):
        Leaf()
