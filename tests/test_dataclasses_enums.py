"""Dataclasses regenerate their methods when fields change; enum members keep identity."""

from __future__ import annotations

import dataclasses
import inspect


# -- dataclasses ----------------------------------------------------------------------------


def test_dataclass_field_added_with_default(modules):
    mf = modules("""
        from dataclasses import dataclass

        @dataclass
        class Point:
            x: int
            y: int = 0

            def total(self):
                return self.x + self.y
    """)
    Point = mf.module.Point
    init_before = Point.__init__
    old = Point(1, 2)
    assert repr(old) == "Point(x=1, y=2)"

    v2 = """
        from dataclasses import dataclass

        @dataclass
        class Point:
            x: int
            y: int = 0
            z: int = 5

            def total(self):
                return self.x + self.y + self.z
    """
    report = mf.update(v2)
    oracle = modules.fresh(v2).Point

    assert mf.module.Point is Point
    assert f"{mf.name}.Point" in report.rebuilt
    # generated methods regenerated
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "z"]
    assert str(inspect.signature(Point.__init__)) == str(inspect.signature(oracle.__init__))
    assert Point.__init__ is not init_before
    new = Point(1, 2)
    assert new.z == 5
    assert repr(new) == "Point(x=1, y=2, z=5)"
    assert Point(1, 2, 3).z == 3
    # the old instance got the default, in its own __dict__
    assert old.__dict__ == {"x": 1, "y": 2, "z": 5}
    assert old.z == 5
    assert old.total() == 8
    assert repr(old) == "Point(x=1, y=2, z=5)"
    assert dataclasses.asdict(old) == {"x": 1, "y": 2, "z": 5}
    assert old == new
    assert old != Point(1, 2, 6)
    assert type(old) is Point
    assert any(f"{mf.name}.Point" in entry for entry in report.instances)


def test_dataclass_default_factory_field_added(modules):
    mf = modules("""
        from dataclasses import dataclass, field

        @dataclass
        class Bag:
            name: str
    """)
    Bag = mf.module.Bag
    a, b = Bag("a"), Bag("b")

    report = mf.update("""
        from dataclasses import dataclass, field

        @dataclass
        class Bag:
            name: str
            items: list = field(default_factory=list)
            meta: dict = field(default_factory=dict)

            def add(self, thing):
                self.items.append(thing)
                return len(self.items)
    """)

    assert mf.module.Bag is Bag
    assert a.items == [] and b.items == []
    assert a.items is not b.items  # one fresh list per instance, as the factory promises
    assert a.meta == {} and a.meta is not b.meta
    assert a.add("x") == 1
    assert b.items == []
    assert "items" in a.__dict__ and "meta" in b.__dict__
    assert repr(a) == "Bag(name='a', items=['x'], meta={})"
    assert dataclasses.asdict(b) == {"name": "b", "items": [], "meta": {}}
    new = Bag("a")
    assert new.items == [] and new.items is not a.items
    assert Bag("b") == b
    assert f"{mf.name}.Bag" in report.rebuilt


def test_frozen_dataclass_field_added(modules):
    mf = modules("""
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Key:
            a: int
            b: str = "b"
    """)
    Key = mf.module.Key
    old = Key(1)
    assert hash(old) == hash(Key(1))

    report = mf.update("""
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Key:
            a: int
            b: str = "b"
            c: tuple = (1, 2)

            def parts(self):
                return (self.a, self.b, self.c)
    """)

    assert mf.module.Key is Key
    assert [f.name for f in dataclasses.fields(Key)] == ["a", "b", "c"]
    assert old.c == (1, 2)
    assert old.__dict__["c"] == (1, 2)
    assert old.parts() == (1, "b", (1, 2))
    new = Key(1)
    assert new.c == (1, 2)
    assert old == new
    assert hash(old) == hash(new)
    assert {old: "x"}[new] == "x"
    assert repr(old) == "Key(a=1, b='b', c=(1, 2))"
    assert dataclasses.asdict(old) == {"a": 1, "b": "b", "c": (1, 2)}
    try:
        old.c = (3,)
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("frozen dataclass instance became mutable")
    try:
        new.c = (3,)
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("frozen dataclass instance became mutable")
    assert f"{mf.name}.Key" in report.rebuilt


# -- enums ----------------------------------------------------------------------------------


def test_enum_member_added_existing_members_keep_identity(modules):
    mf = modules("""
        import enum

        class Color(enum.Enum):
            RED = 1
            GREEN = 2
    """)
    Color = mf.module.Color
    red, green = Color.RED, Color.GREEN

    report = mf.update("""
        import enum

        class Color(enum.Enum):
            RED = 1
            GREEN = 2
            BLUE = 3
    """)

    assert mf.module.Color is Color
    assert red is mf.module.Color.RED
    assert Color(1) is red
    assert Color["GREEN"] is green
    blue = Color.BLUE
    assert isinstance(blue, Color)
    assert type(blue) is Color
    assert blue.value == 3 and blue.name == "BLUE"
    assert Color(3) is blue
    assert Color["BLUE"] is blue
    assert list(Color) == [red, green, blue]
    assert len(Color) == 3
    assert f"{mf.name}.Color" in report.rebuilt


def test_int_enum_member_added(modules):
    mf = modules("""
        import enum

        class Level(enum.IntEnum):
            LOW = 1
            HIGH = 10
    """)
    Level = mf.module.Level
    low = Level.LOW

    mf.update("""
        import enum

        class Level(enum.IntEnum):
            LOW = 1
            MID = 5
            HIGH = 10
    """)

    assert mf.module.Level is Level
    assert Level.LOW is low
    assert Level(1) is low
    mid = Level.MID
    assert isinstance(mid, Level)
    assert mid == 5 and mid < Level.HIGH
    assert Level(5) is mid
    assert list(Level) == [low, mid, Level.HIGH]
    assert low + mid == 6


def test_flag_member_added_and_combined(modules):
    mf = modules("""
        import enum

        class Perm(enum.Flag):
            R = 1
            W = 2
    """)
    Perm = mf.module.Perm
    r, w = Perm.R, Perm.W
    rw = r | w
    assert rw.value == 3

    mf.update("""
        import enum

        class Perm(enum.Flag):
            R = 1
            W = 2
            X = 4
    """)

    assert mf.module.Perm is Perm
    assert Perm.R is r and Perm(1) is r
    x = Perm.X
    assert isinstance(x, Perm)
    assert x.value == 4
    combo = r | x
    assert isinstance(combo, Perm)
    assert combo.value == 5
    assert r in combo and x in combo and w not in combo
    assert Perm(5) == combo
    everything = r | w | x
    assert everything.value == 7
    assert Perm(7) == everything
    assert (rw | x).value == 7


def test_a_flag_combination_made_at_run_time_takes_the_name_the_new_source_gives_it(modules):
    """``Perm.R | Perm.W`` made before the update is the member the new ``RW = R | W``
    names: held references, ``Perm(3)`` and ``Perm.RW`` are one object, shown by name."""
    source = """
        import enum

        class Perm(enum.Flag):
            R = 1
            W = 2
    """
    mf = modules(source)
    Perm = mf.module.Perm
    rw = Perm.R | Perm.W

    report = mf.update(source + "        RW = R | W\n")

    assert Perm.RW is rw and Perm(3) is rw and Perm["RW"] is rw
    # the same internals (3.13 wraps Flag._generate_next_value_ anew for every class)
    assert not [n for n in report.rebound if "_generate_next_value_" in n]
    fresh = modules.fresh(source + "        RW = R | W\n")
    assert repr(rw) == repr(fresh.Perm.RW) == "<Perm.RW: 3>"
    assert list(Perm) == [Perm.R, Perm.W]


def test_a_flag_combination_whose_name_is_removed_stays_the_member_of_its_value(modules):
    """``RW = R | W`` removed: the held ``Perm.RW`` is still ``Perm(3)`` (and ``R | W``),
    now shown as a fresh import shows that value."""
    source = """
        import enum

        class Perm(enum.Flag):
            R = 1
            W = 2
    """
    mf = modules(source + "        RW = R | W\n")
    Perm = mf.module.Perm
    rw = Perm.RW

    mf.update(source)

    assert Perm(3) is rw and (Perm.R | Perm.W) is rw and "RW" not in Perm.__members__
    assert repr(rw) == repr(modules.fresh(source).Perm(3)) == "<Perm.R|W: 3>"


def test_enum_method_change(modules):
    src = """
        import enum

        class Color(enum.Enum):
            RED = 1
            GREEN = 2

            def describe(self):
                return BODY
    """
    mf = modules(src.replace("BODY", 'f"{self.name}"'))
    Color = mf.module.Color
    red = Color.RED
    method = Color.__dict__["describe"]

    report = mf.update(src.replace("BODY", 'f"{self.name.lower()}={self.value}"'))

    assert mf.module.Color is Color
    assert red is Color.RED
    assert red.describe() == "red=1"
    assert Color.GREEN.describe() == "green=2"
    assert Color.__dict__["describe"] is method
    assert f"{mf.name}.Color.describe" in report.functions
    assert list(Color) == [red, Color.GREEN]


def test_enum_member_removed(modules):
    mf = modules("""
        import enum

        class Color(enum.Enum):
            RED = 1
            GREEN = 2
            BLUE = 3
    """)
    Color = mf.module.Color
    red, blue = Color.RED, Color.BLUE

    mf.update("""
        import enum

        class Color(enum.Enum):
            RED = 1
            BLUE = 3
    """)

    assert mf.module.Color is Color
    assert Color.RED is red and Color.BLUE is blue
    assert Color(3) is blue
    assert list(Color) == [red, blue]
    assert len(Color) == 2
    assert "GREEN" not in Color.__members__
    try:
        Color(2)
    except ValueError:
        pass
    else:
        raise AssertionError("removed member still reachable by value")
    try:
        Color["GREEN"]
    except KeyError:
        pass
    else:
        raise AssertionError("removed member still reachable by name")
    assert not hasattr(Color, "GREEN")
