"""Undoing updates: a failing ``check`` undoes everything the update did, ``rollback``
undoes applied updates one at a time (bounded history), and ``generation`` counts them."""

from __future__ import annotations

import dataclasses

import pytest

import hotswap

# -- check=: an update that fails its check is undone ---------------------------------------

CHECKED_V1 = """
    from dataclasses import dataclass

    LIMIT = 10
    DROPPED = "still here"


    def helper():
        return "helper v1"


    class Shop:
        RATE = 1

        def price(self):
            return "price v1"

        def legacy(self):
            return "legacy v1"


    class Meta(type):
        pass


    class Tagged:
        def tag(self):
            return "tag v1"


    @dataclass
    class Point:
        x: int
        y: int = 0
"""

CHECKED_V2 = """
    from dataclasses import dataclass

    LIMIT = 20
    ADDED = "new name"


    def helper():
        return "helper v2"


    class Shop:
        RATE = 2

        def price(self):
            return "price v2"

        def fresh(self):
            return "fresh v2"


    class Meta(type):
        pass


    class Tagged(metaclass=Meta):
        def tag(self):
            return "tag v2"


    @dataclass
    class Point:
        x: int
        y: int = 0
        z: int = 5
"""


def _observe(mod, shop, tagged, point):
    """What the check sees: the program as the update left it."""
    return {
        "helper": mod.helper(),
        "limit": mod.LIMIT,
        "added": mod.__dict__.get("ADDED"),
        "dropped": "DROPPED" in mod.__dict__,
        "price": shop.price(),
        "fresh": hasattr(shop, "fresh"),
        "legacy": hasattr(shop, "legacy"),
        "rate": type(shop).RATE,
        "tagged": (type(tagged) is mod.Tagged, type(type(tagged)).__name__, tagged.tag()),
        "point": (point.__dict__.get("z"), repr(point)),
    }


def test_failing_check_undoes_every_kind_of_change(modules):
    mf = modules(CHECKED_V1)
    mod = mf.module
    helper, Shop, Tagged, Point = mod.helper, mod.Shop, mod.Tagged, mod.Point
    helper_code = helper.__code__
    price_code = Shop.__dict__["price"].__code__
    shop_dict = dict(Shop.__dict__)
    module_dict = dict(mod.__dict__)
    shop = Shop()
    tagged = Tagged()
    point = Point(1, 2)
    point_fields = dataclasses.fields(Point)

    seen = []
    problem = ValueError("the new prices look wrong")

    def check():
        seen.append(_observe(mod, shop, tagged, point))
        raise problem

    with pytest.raises(hotswap.UpdateError) as info:
        mf.update(CHECKED_V2, check=check)

    assert info.value.__cause__ is problem
    assert "check" in str(info.value) and "rolled back" in str(info.value)
    assert info.value.module == mf.name
    # the check ran once, on the fully applied update
    assert seen == [{
        "helper": "helper v2",
        "limit": 20,
        "added": "new name",
        "dropped": False,
        "price": "price v2",
        "fresh": True,
        "legacy": False,
        "rate": 2,
        "tagged": (True, "Meta", "tag v2"),  # retargeted to the replacing class
        "point": (5, "Point(x=1, y=2, z=5)"),  # new dataclass field filled in
    }]

    # functions
    assert mod.helper is helper
    assert helper.__code__ is helper_code
    assert helper() == "helper v1"
    # class dict: added method gone, removed method back, constant restored
    assert mod.Shop is Shop
    assert dict(Shop.__dict__) == shop_dict
    assert Shop.__dict__["price"].__code__ is price_code
    assert shop.price() == "price v1"
    assert shop.legacy() == "legacy v1"
    assert not hasattr(shop, "fresh")
    assert Shop.RATE == 1
    # the replaced class with a new metaclass: the retargeted instance is back
    assert mod.Tagged is Tagged
    assert type(tagged) is Tagged
    assert type(Tagged) is type
    assert tagged.tag() == "tag v1"
    # dataclass: fields, generated methods and the filled-in instance are as before
    assert mod.Point is Point
    assert dataclasses.fields(Point) == point_fields
    assert point.__dict__ == {"x": 1, "y": 2}
    assert repr(point) == "Point(x=1, y=2)"
    assert repr(Point(3)) == "Point(x=3, y=0)"
    # module globals: added names removed again, removed names back, constants restored
    assert mod.__dict__.keys() == module_dict.keys()
    assert all(mod.__dict__[k] is v for k, v in module_dict.items())
    assert mod.LIMIT == 10
    assert mod.DROPPED == "still here"
    assert not hasattr(mod, "ADDED")
    assert hotswap.generation(mod) == 0

    # nothing was committed: the same file, updated again without a check, applies
    report = mf.update()
    assert report.changed and report.generation == 1
    assert helper() == "helper v2"
    assert shop.fresh() == "fresh v2"
    assert tagged.tag() == "tag v2"
    assert hotswap.generation(mod) == 1


SLOTS_V1 = """
    class Vec:
        __slots__ = ("x", "y")

        def __init__(self, x, y):
            self.x = x
            self.y = y

        def total(self):
            return self.x + self.y


    VECS = [Vec(1, 2), Vec(3, 4)]
"""

SLOTS_V2 = """
    class Vec:
        __slots__ = ("x", "y", "z")

        def __init__(self, x, y, z=0):
            self.x = x
            self.y = y
            self.z = z

        def total(self):
            return self.x + self.y + self.z

        def __hotswap_migrate__(self):  # moved instances have no z yet
            self.z = 0


    VECS = [Vec(1, 2), Vec(3, 4)]
"""


def test_failing_check_puts_moved_slotted_instances_back(modules):
    mf = modules(SLOTS_V1)
    mod = mf.module
    Vec = mod.Vec
    vecs = mod.VECS  # the list is the only holder of the two instances: they can be moved
    ids = [id(v) for v in vecs]  # (ids only: holding the objects would pin them)
    seen = []

    def check():
        seen.append([(type(v) is mod.Vec, id(v) in ids, v.total()) for v in vecs])
        raise LookupError("totals changed")

    with pytest.raises(hotswap.UpdateError) as info:
        mf.update(SLOTS_V2, check=check)

    assert isinstance(info.value.__cause__, LookupError)
    # while the check ran, both instances had moved to new objects of the new class
    assert seen == [[(True, False, 3), (True, False, 7)]]
    # and now the original objects are back where they were, on the original class
    assert mod.Vec is Vec
    assert mod.VECS is vecs
    assert [id(v) for v in vecs] == ids
    assert all(type(v) is Vec for v in vecs)
    assert [(v.x, v.y, v.total()) for v in vecs] == [(1, 2, 3), (3, 4, 7)]
    assert not any(hasattr(v, "z") for v in vecs)
    assert hotswap.generation(mod) == 0


def test_failing_check_keeps_generation_and_history(modules):
    src = """
        def f():
            return VALUE
    """
    mf = modules(src.replace("VALUE", "1"))
    mf.update(src.replace("VALUE", "2"))
    assert hotswap.generation(mf.module) == 1

    def check():
        assert mf.module.f() == 4, "f() is not 4"

    with pytest.raises(hotswap.UpdateError) as info:
        mf.update(src.replace("VALUE", "3"), check=check)

    assert isinstance(info.value.__cause__, AssertionError)
    assert "f() is not 4" in str(info.value.__cause__)
    assert mf.module.f() == 2
    assert hotswap.generation(mf.module) == 1
    # the history holds the update that was kept, not the one that failed its check
    report = hotswap.rollback(mf.module)
    assert report.generation == 0
    assert mf.module.f() == 1
    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(mf.module)


def test_passing_check_keeps_the_update(modules):
    src = """
        RATE = OLD_RATE


        def price(net):
            return net * RATE


        class Cart:
            def __init__(self):
                self.items = [10, 20]

            def total(self):
                return sum(price(n) for n in self.items)
    """
    mf = modules(src.replace("OLD_RATE", "2"))
    price, Cart = mf.module.price, mf.module.Cart
    cart = Cart()
    seen = []

    def check():
        seen.append((price(1), cart.total(), hotswap.generation(mf.module)))
        return "ignored"

    report = mf.update(src.replace("OLD_RATE", "3").replace("[10, 20]", "[1]"), check=check)

    # the check ran after the update was applied, before it was committed
    assert seen == [(3, 90, 0)]
    assert report.changed and report.generation == 1
    assert hotswap.generation(mf.module) == 1
    assert mf.module.price is price and mf.module.Cart is Cart
    assert price(1) == 3
    assert cart.total() == 90
    assert Cart().items == [1]
    # the kept update is in the history like any other
    hotswap.rollback(mf.module)
    assert price(1) == 2
    assert Cart().items == [10, 20]


# -- rollback ---------------------------------------------------------------------------------

ROLL_V1 = """
    LIMIT = 10


    def f():
        return "f v1"


    class C:
        def m(self):
            return "m v1"
"""

ROLL_V2 = """
    LIMIT = 20


    def f():
        return "f v2"


    def added():
        return "added v2"


    class C:
        def m(self):
            return "m v2"

        def extra(self):
            return "extra v2"
"""


def test_rollback_restores_old_behaviour_through_old_and_new_references(modules):
    mf = modules(ROLL_V1)
    mod = mf.module
    f_before, C = mod.f, mod.C
    table_before = {"f": mod.f}
    c_before = C()
    m_before = c_before.m

    report = mf.update(ROLL_V2)
    assert report.generation == 1
    assert f_before() == "f v2" and m_before() == "m v2"

    # references and objects taken or created after the update
    f_after = mod.f
    table_after = {"f": mod.f}
    c_after = mod.C()
    m_after = c_after.m
    assert c_after.extra() == "extra v2"
    assert mod.added() == "added v2"

    back = hotswap.rollback(mod)

    assert back.changed
    assert back.generation == 0
    assert not back.dry_run
    assert any("rolled back to generation 0" in n for n in back.notes)
    assert hotswap.generation(mod) == 0
    assert mod.f is f_before and f_after is f_before
    for fn in (f_before, f_after, table_before["f"], table_after["f"], mod.f):
        assert fn() == "f v1"
    assert mod.C is C
    for m in (m_before, m_after, c_before.m, c_after.m):
        assert m() == "m v1"
    assert not hasattr(c_after, "extra") and not hasattr(C, "extra")
    assert mod.LIMIT == 10
    assert "added" not in mod.__dict__


def test_rollback_twice_goes_back_two_versions(modules):
    src = """
        VERSION = {n}


        def f():
            return "f v{n}"


        class K:
            def m(self):
                return "m v{n}"
    """
    mf = modules(src.format(n=1))
    mod = mf.module
    f, k = mod.f, mod.K()
    assert [mf.update(src.format(n=n)).generation for n in ("2", "3")] == [1, 2]
    assert (mod.VERSION, f(), k.m()) == (3, "f v3", "m v3")

    first = hotswap.rollback(mod)
    assert first.generation == 1 == hotswap.generation(mod)
    assert (mod.VERSION, f(), k.m()) == (2, "f v2", "m v2")

    second = hotswap.rollback(mf.name)  # by dotted name, too
    assert second.generation == 0 == hotswap.generation(mod)
    assert (mod.VERSION, f(), k.m()) == (1, "f v1", "m v1")
    assert mod.f is f and type(k) is mod.K

    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(mod)
    assert (mod.VERSION, f(), k.m()) == (1, "f v1", "m v1")
    assert hotswap.generation(mod) == 0


def test_rollback_without_history_raises_and_changes_nothing(modules):
    mf = modules(ROLL_V1)
    mod = mf.module
    f_code = mod.f.__code__
    module_dict = dict(mod.__dict__)

    with pytest.raises(hotswap.UpdateError) as info:
        hotswap.rollback(mod)

    assert info.value.module == mf.name
    assert mf.name in str(info.value)
    assert mod.f.__code__ is f_code
    assert dict(mod.__dict__) == module_dict
    assert hotswap.generation(mod) == 0
    # an update whose source did not change is not history either
    report = mf.update()
    assert not report.changed and report.generation == 0
    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(mod)


def test_history_limit_bounds_how_far_rollback_goes(modules):
    src = """
        def f():
            return N
    """
    mf = modules(src.replace("N", "1"))
    mod = mf.module
    try:
        hotswap.set_history_limit(1)
        mf.update(src.replace("N", "2"))
        mf.update(src.replace("N", "3"))
        assert hotswap.generation(mod) == 2

        assert hotswap.rollback(mod).generation == 1
        assert mod.f() == 2
        with pytest.raises(hotswap.UpdateError) as info:
            hotswap.rollback(mod)
        assert "1" in str(info.value)  # names the limit
        assert mod.f() == 2
        assert hotswap.generation(mod) == 1

        with pytest.raises(ValueError):
            hotswap.set_history_limit(-1)
    finally:
        hotswap.set_history_limit(8)
    # the default limit is back: eight updates can be undone again
    for n in range(4, 13):
        mf.update(src.replace("N", str(n)))
    assert hotswap.generation(mod) == 10
    for expected in range(11, 3, -1):
        hotswap.rollback(mod)
        assert mod.f() == expected
    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(mod)
    assert hotswap.generation(mod) == 2
    assert mod.f() == 4


def test_generation_counts_applied_updates_up_and_down(modules):
    src = """
        def f():
            return N
    """
    mf = modules(src.replace("N", "0"))
    mod = mf.module
    assert hotswap.generation(mod) == 0
    assert hotswap.generation(mf.name) == 0

    gens = []
    for n in (1, 2, 3):
        gens.append((mf.update(src.replace("N", str(n))).generation, hotswap.generation(mod)))
    assert gens == [(1, 1), (2, 2), (3, 3)]
    # an update with nothing to do and a refused update leave it alone
    assert mf.update().generation == 3
    with pytest.raises(hotswap.UpdateError):
        mf.update("def f(:\n    pass\n")
    assert hotswap.generation(mod) == 3
    mf.write(src.replace("N", "3"))

    downs = [hotswap.rollback(mod).generation for _ in range(2)]
    assert downs == [2, 1]
    assert hotswap.generation(mod) == 1
    assert mod.f() == 1
    assert mf.update(src.replace("N", "9")).generation == 2
    assert mod.f() == 9


def test_update_after_rollback_reapplies_the_file(modules):
    mf = modules(ROLL_V1)
    mod = mf.module
    f, c = mod.f, mod.C()
    mf.update(ROLL_V2)
    hotswap.rollback(mod)
    assert f() == "f v1" and not hasattr(c, "extra") and mod.LIMIT == 10

    # the file still holds the newest source: updating again brings it back
    plan = hotswap.plan(mod)
    assert plan.changed and f"{mf.name}.f" in plan.functions
    report = mf.update()

    assert report.changed
    assert report.generation == 1 == hotswap.generation(mod)
    assert f"{mf.name}.f" in report.functions
    assert f"{mf.name}.C.m" in report.functions
    assert f"{mf.name}.added" in report.added
    assert mod.f is f
    assert f() == "f v2"
    assert c.m() == "m v2" and c.extra() == "extra v2"
    assert mod.LIMIT == 20
    assert mod.added() == "added v2"
    # and that update can itself be rolled back
    hotswap.rollback(mod)
    assert f() == "f v1" and "added" not in mod.__dict__


SLOTS_V3 = SLOTS_V2.replace('("x", "y", "z")', '("x", "y", "z", "w")').replace(
    "self.z = 0\n", "self.z = 0\n            self.w = 0\n")


def test_rollback_of_two_layout_changes_brings_the_original_objects_back(modules):
    """Two layout changes moved the instances twice (the second time out of the first
    one's rollback history too); rolling both back puts the original objects back into
    every holder, with the state they had when they moved."""
    mf = modules(SLOTS_V1)
    mod = mf.module
    Vec = mod.Vec
    vecs = mod.VECS
    ids = [id(v) for v in vecs]  # (ids only: holding the objects would pin them)
    by_name = {"first": vecs[0]}
    del mod  # a local name would pin them too

    mf.update(SLOTS_V2)
    first_twins = [id(v) for v in vecs]
    mf.update(SLOTS_V3)
    assert [type(v) for v in vecs] == [mf.module.Vec] * 2 and vecs[0].w == 0
    assert by_name["first"] is vecs[0] and id(vecs[0]) not in ids + first_twins
    vecs[0].x = 10  # on a twin: the new version's state, which does not travel back

    hotswap.rollback(mf.module)
    assert [id(v) for v in vecs] == first_twins and by_name["first"] is vecs[0]
    assert [type(v).__slots__ for v in vecs] == [("x", "y", "z")] * 2
    hotswap.rollback(mf.module)

    assert [id(v) for v in vecs] == ids and all(type(v) is Vec for v in vecs)
    assert by_name["first"] is vecs[0]
    assert [(v.x, v.y, v.total()) for v in vecs] == [(1, 2, 3), (3, 4, 7)]
    assert mf.module.VECS is vecs and mf.module.Vec is Vec
