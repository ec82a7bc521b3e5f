"""A slot removed from ``__slots__`` (or given back) in place: the live class keeps its
layout, instances keep their identity wherever they are held, the attribute goes."""

from __future__ import annotations

import copy
import os
import pickle
import textwrap
import types
import weakref

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hotswap

V2 = """
    class Point:
        __slots__ = SLOTS

        def __init__(self, x, y=0):
            self.x = x
            INIT

        def total(self):
            return BODY
"""


def source(slots: tuple[str, ...], init: str, body: str) -> str:
    return V2.replace("SLOTS", repr(slots)).replace("INIT", init).replace("BODY", body)


WITH_Y = source(("x", "y"), "self.y = y", "self.x + self.y")
WITHOUT_Y = source(("x",), "pass", "self.x * 10")


def test_a_removed_slot_leaves_every_instance_wherever_it_is_held(modules):
    mf = modules(WITH_Y)
    mod = mf.module
    Point = mod.Point
    held = (Point(1, 2),)  # a tuple cannot be rewritten: a move would leave it behind
    in_tuple = held[0]

    def running():
        me = Point(5, 6)
        yield me
        yield me.total()
    frame = running()  # a suspended frame holds its local: no move could reach it
    local = next(frame)

    report = mf.update(WITHOUT_Y)

    assert mod.Point is Point
    assert report.replaced == [] and report.instances == []
    assert report.heap_walks == 1
    assert f"{mf.name}.Point: slot(s) y removed in place" in " ".join(report.notes)
    assert held[0] is in_tuple and type(in_tuple) is Point
    assert in_tuple.total() == 10
    assert next(frame) == 50 and type(local) is Point
    assert Point.__slots__ == ("x",)
    with pytest.raises(AttributeError, match="'Point' object has no attribute 'y'"):
        in_tuple.y  # noqa: B018
    with pytest.raises(AttributeError, match="'Point' object has no attribute 'y'"):
        in_tuple.y = 1
    assert not hasattr(Point, "y")
    assert Point(3).total() == 30


def test_a_slot_given_back_starts_unset_on_old_instances(modules):
    mf = modules(WITH_Y)
    mod = mf.module
    old = mod.Point(1, 2)
    mf.update(WITHOUT_Y)

    report = mf.update(WITH_Y.replace("self.x + self.y", "self.x - self.y"))

    assert type(old) is mod.Point
    assert f"{mf.name}.Point: slot(s) y given back in place" in " ".join(report.notes)
    assert report.heap_walks == 1 and report.replaced == []
    assert not hasattr(old, "y")  # its value went with the slot, and does not come back
    old.y = 4
    assert old.total() == -3
    assert mod.Point(7, 2).total() == 5
    assert "__hotswap_hidden_slots__" not in vars(mod.Point)


def test_copy_and_pickle_count_a_hidden_slot(modules):
    # They check an instance's size against the slots they count: with the hidden slot
    # uncounted, both refuse ("cannot pickle 'Point' object").
    mf = modules(WITH_Y, name="hs_pickled_points")
    mod = mf.module
    sub = types.new_class("Sub", (mod.Point,), exec_body=lambda ns: ns.update(
        __slots__=("z",), __module__=mf.name))
    mod.Sub = sub  # where pickle finds it
    s = sub(1, 2)
    s.z = 3
    point = mod.Point(1, 2)
    pickle.dumps(s)  # copyreg caches the old count on the subclass: it must be recounted
    mf.update(WITHOUT_Y)
    mod.Sub = sub

    clone = copy.copy(point)
    back = pickle.loads(pickle.dumps(s))

    assert (type(clone), clone.x, hasattr(clone, "y")) == (mod.Point, 1, False)
    assert (type(back), back.x, back.z, hasattr(back, "y")) == (sub, 1, 3, False)


def test_a_subclass_elsewhere_keeps_its_own_slots_and_loses_the_base_one(modules):
    base = modules(WITH_Y)
    sub = modules(f"""
        from {base.name} import Point

        class Labelled(Point):
            __slots__ = ("label",)

        ONE = Labelled(1, 2)
        ONE.label = "one"
    """)
    one = sub.module.ONE
    Labelled = sub.module.Labelled

    base.update(WITHOUT_Y)

    assert sub.module.Labelled is Labelled and type(one) is Labelled
    assert one.label == "one" and one.total() == 10
    assert not hasattr(one, "y")


def test_a_subclass_added_with_the_removal_is_built_on_the_live_layout(modules):
    # Built on the staged class (one slot fewer), it could not take the live class as its
    # base: CPython refuses the layout.
    mf = modules(WITH_Y)
    Point = mf.module.Point

    mf.update(WITHOUT_Y + textwrap.dedent("""
        class Named(Point):
            __slots__ = ("name",)
    """).replace("\n", "\n    "))

    named = mf.module.Named(4)
    named.name = "four"
    assert mf.module.Named.__bases__ == (Point,) and named.total() == 40
    assert copy.copy(named).name == "four" and not hasattr(named, "y")


def test_a_subclass_a_later_update_makes_counts_the_hidden_slot(modules):
    mf = modules(WITH_Y, name="hs_later_subclass")
    mf.update(WITHOUT_Y)

    mf.update(WITHOUT_Y + textwrap.dedent("""
        class Named(Point):
            __slots__ = ("name",)
    """).replace("\n", "\n    "))

    named = mf.module.Named(4)
    named.name = "four"
    back = pickle.loads(pickle.dumps(named))
    assert (type(back), back.x, back.name) == (mf.module.Named, 4, "four")


def test_a_private_slot_is_hidden_by_its_stored_name(modules):
    mf = modules("""
        class Box:
            __slots__ = ("__secret", "shown")

            def __init__(self):
                self.__secret = 1
                self.shown = 2
    """)
    box = mf.module.Box()

    mf.update("""
        class Box:
            __slots__ = ("shown",)

            def __init__(self):
                self.shown = 2
    """)

    assert type(box) is mf.module.Box
    assert not hasattr(box, "_Box__secret") and box.shown == 2


def test_a_removed_slot_name_can_become_a_property(modules):
    mf = modules(WITH_Y)
    mod = mf.module
    old = mod.Point(1, 2)

    mf.update(source(("x",), "pass", "self.x + self.y").replace(
        "        def total",
        "        y = property(lambda self: self.x + 100)\n\n        def total"))

    assert old.y == 101 and old.total() == 102
    report = mf.update(WITH_Y)  # the slot comes back in the property's place
    assert type(mod.Point.__dict__["y"]) is types.MemberDescriptorType
    assert not hasattr(old, "y")
    old.y = 5
    assert old.total() == 6
    assert report.replaced == []


def test_rollback_brings_the_slot_and_its_values_back(modules):
    mf = modules(WITH_Y)
    mod = mf.module
    old = mod.Point(1, 2)
    mf.update(WITHOUT_Y)

    hotswap.rollback(mod)

    assert old.y == 2 and old.total() == 3
    assert "__hotswap_hidden_slots__" not in vars(mod.Point)


def test_a_failing_check_leaves_the_slot_and_its_values(modules):
    mf = modules(WITH_Y)
    mod = mf.module
    old = mod.Point(1, 2)
    seen = []

    def check():
        seen.append(hasattr(old, "y"))
        raise LookupError("no")

    with pytest.raises(hotswap.UpdateError):
        mf.update(WITHOUT_Y, check=check)

    assert seen == [False]
    assert old.y == 2 and old.total() == 3
    assert "y" in vars(mod.Point) and "__hotswap_hidden_slots__" not in vars(mod.Point)
    assert hotswap.generation(mod) == 0


@pytest.mark.parametrize("special", ["__weakref__", "__dict__"])
def test_losing_weakref_or_dict_support_still_replaces_the_class(modules, special):
    # A live class cannot give up what its instances' layout offers for those: the new
    # class replaces it, as for a slot added.
    with_special = source(("x", "y", special), "self.y = y", "self.x + self.y")
    mf = modules(with_special)
    Point = mf.module.Point

    report = mf.update(source(("x", "y"), "self.y = y", "self.x * self.y"))

    assert mf.module.Point is not Point
    assert f"{mf.name}.Point" in report.replaced
    probe = mf.module.Point(2, 3)
    assert probe.total() == 6
    assert not hasattr(probe, "__dict__")
    with pytest.raises(TypeError):
        weakref.ref(probe)


UNIVERSE = ("a", "b", "c", "__p")  # __p is stored as _Cell__p
layouts = st.lists(st.lists(st.sampled_from(UNIVERSE), unique=True, max_size=4),
                   min_size=1, max_size=5)


def _stored(name: str) -> str:
    return "_Cell" + name if name.startswith("__") else name


def _state(obj: object) -> dict[str, object]:
    return {n: getattr(obj, _stored(n)) for n in UNIVERSE if hasattr(obj, _stored(n))}


@settings(max_examples=int(os.environ.get("HOTSWAP_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=layouts, fill=st.randoms(use_true_random=False))
def test_every_instance_holds_what_the_last_source_declares_and_kept(modules, steps, fill):
    """Whatever the sequence of ``__slots__`` edits, each instance that follows the class
    has exactly the slots the current source declares, each holding the value it had
    if the slot was already there, unset if it is new. A slot removed (or given back)
    keeps the class and every instance where it is, even one a tuple holds; a slot the
    layout never had replaces the class, and the tuple's instance stays behind."""
    src = "class Cell:\n    __slots__ = SLOTS\n\n    def names(self):\n        return SLOTS\n"
    mf = modules(src.replace("SLOTS", repr(UNIVERSE[:2])))
    layout = set(UNIVERSE[:2])
    listed = [mf.module.Cell() for _ in range(3)]
    pinned = (mf.module.Cell(),)
    follows = True  # whether the tuple's instance still has the current class
    expected: list[dict[str, object]] = [{} for _ in range(4)]  # listed[0..2], pinned[0]
    declared = UNIVERSE[:2]

    def instances() -> list[object]:  # a moved instance is another object, in its place
        return [*listed, pinned[0]]
    for slots in steps:
        for i, obj in enumerate(instances()[:4 if follows else 3]):  # the program fills
            for name in declared:
                if fill.random() < 0.6:
                    setattr(obj, _stored(name), fill.randrange(100))
                    expected[i][name] = getattr(obj, _stored(name))
        del obj  # a local holding an instance would pin it: it could not move
        in_place = set(slots) <= layout

        report = mf.update(src.replace("SLOTS", repr(tuple(slots))))

        Cell = mf.module.Cell
        assert (report.replaced == []) == in_place, report
        if not in_place:
            layout, follows = set(slots), False
        declared = tuple(slots)
        for i, obj in enumerate(instances()[:4 if follows else 3]):
            want = {n: v for n, v in expected[i].items() if n in slots}
            assert type(obj) is Cell and obj.names() == declared
            assert _state(obj) == want
            assert _state(copy.copy(obj)) == want
            expected[i] = want
        del obj
        if not follows:
            assert type(pinned[0]) is not Cell
        fresh = Cell()
        for name in UNIVERSE:
            try:
                setattr(fresh, _stored(name), 1)
                accepted = True
            except AttributeError:
                accepted = False
            assert accepted == (name in slots), name
        del fresh
        assert Cell.__slots__ == declared
