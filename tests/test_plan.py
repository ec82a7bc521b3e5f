"""``hotswap.plan``: a dry run that says what ``update`` would do and changes nothing."""

from __future__ import annotations

import dataclasses

import pytest

import hotswap

PLAN_V1 = """
    from dataclasses import dataclass

    LIMIT = 10
    DROPPED = "old name"
    HOOKED = []


    def helper():
        return "helper v1"


    def same():
        return "same"


    class Shop:
        RATE = 1

        def price(self):
            return "price v1"

        def legacy(self):
            return "legacy v1"


    @dataclass
    class Point:
        x: int
        y: int = 0
"""

PLAN_V2 = """
    from dataclasses import dataclass

    LIMIT = 20
    ADDED = "new name"
    HOOKED = []


    def helper():
        return "helper v2"


    def same():
        return "same"


    class Shop:
        RATE = 2

        def price(self):
            return "price v2"

        def fresh(self):
            return "fresh v2"

        def __hotswap_migrate__(self):
            HOOKED.append(self)


    @dataclass
    class Point:
        x: int
        y: int = 0
        z: int = 5


    def __hotswap_migrate__(old):
        HOOKED.append("module hook")
"""

# the lists a report fills with names; a plan must fill them as the update then does
_LISTS = ("functions", "classes", "rebuilt", "added", "removed", "rebound", "rerun",
          "instances", "replaced")


def test_plan_describes_the_update_and_changes_nothing(modules):
    mf = modules(PLAN_V1)
    mod = mf.module
    importer = modules(f"from {mf.name} import LIMIT, helper\nDOUBLE = LIMIT * 2\n")
    helper, same, Shop, Point = mod.helper, mod.same, mod.Shop, mod.Point
    codes = {fn: fn.__code__ for fn in (helper, same, Shop.price, Shop.legacy)}
    shop_dict = dict(Shop.__dict__)
    point_dict = dict(Point.__dict__)
    module_dict = dict(mod.__dict__)
    importer_dict = dict(importer.module.__dict__)
    shop, point = Shop(), Point(1, 2)
    mf.write(PLAN_V2)

    report = hotswap.plan(mod)

    assert report.dry_run is True
    assert report.error is None
    assert report.changed is True
    assert report.module == mf.name
    assert report.generation == 0
    name = mf.name
    assert report.functions == [f"{name}.helper", f"{name}.Shop.price"]
    assert report.classes == [f"{name}.Shop"]
    assert report.rebuilt == [f"{name}.Point"]
    assert set(report.added) >= {f"{name}.ADDED", f"{name}.Shop.fresh",
                                 f"{name}.__hotswap_migrate__"}
    assert set(report.removed) == {f"{name}.DROPPED", f"{name}.Shop.legacy"}
    assert f"{name}.LIMIT" in report.rebound
    assert f"{importer.name}.LIMIT" in report.rebound  # the importer would follow
    assert f"{importer.name}.helper" not in report.rebound  # a patched function is not rebound
    assert f"{importer.name} would then run again its statements reading LIMIT " \
        "(a dry run does not stage importers)" in report.notes
    assert any(entry.startswith(f"{name}.Shop") for entry in report.instances)
    assert any(entry.startswith(f"{name}.Point") for entry in report.instances)
    text = str(report)
    assert text.startswith(f"hotswap: would update {name} to generation 1 in ")
    assert f"{name}.helper" in text

    # nothing changed: code, classes, instances, globals, importers, hooks, generation
    assert all(fn.__code__ is code for fn, code in codes.items())
    assert helper() == "helper v1"
    assert dict(Shop.__dict__) == shop_dict
    assert shop.price() == "price v1" and not hasattr(shop, "fresh")
    assert dict(Point.__dict__) == point_dict
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y"]
    assert point.__dict__ == {"x": 1, "y": 2}
    assert mod.__dict__.keys() == module_dict.keys()
    assert all(mod.__dict__[k] is v for k, v in module_dict.items())
    assert importer.module.__dict__ == importer_dict
    assert mod.HOOKED == []
    assert hotswap.generation(mod) == 0
    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(mod)  # a plan is not history

    # planning again says the same; the update then does what the plan said
    again = hotswap.plan(mod)
    assert {k: getattr(again, k) for k in _LISTS} == {k: getattr(report, k) for k in _LISTS}
    done = hotswap.update(mod)
    assert not done.dry_run
    assert {k: getattr(done, k) for k in _LISTS} == {k: getattr(report, k) for k in _LISTS}
    assert done.generation == 1
    assert str(done).startswith(f"hotswap: updated {name} to generation 1")
    assert helper() == "helper v2"
    assert importer.module.LIMIT == 20
    assert point.z == 5
    assert shop in mod.HOOKED and "module hook" in mod.HOOKED


def test_plan_of_a_syntax_error_reports_file_and_line(modules):
    mf = modules("""
        def f():
            return 1
    """)
    mod = mf.module
    f, code = mod.f, mod.f.__code__
    module_dict = dict(mod.__dict__)
    broken = "def f():\n    return 2\n\n\ndef g(:\n    return 3\n"
    mf.write(broken)

    report = hotswap.plan(mod)  # does not raise

    assert report.dry_run is True
    assert report.error is not None
    assert f"{mf.path}:5" in report.error
    assert "SyntaxError" in report.error
    assert report.module == mf.name
    assert str(report).startswith(f"hotswap: would refuse to update {mf.name}:")
    assert f"{mf.path}:5" in str(report)
    assert f.__code__ is code and f() == 1
    assert dict(mod.__dict__) == module_dict
    assert hotswap.generation(mod) == 0
    # the refusal is the very error the update raises
    with pytest.raises(hotswap.UpdateError) as info:
        hotswap.update(mod)
    assert str(info.value) == report.error
    assert info.value.lineno == 5


def test_plan_of_a_source_that_raises_reports_file_and_line(modules):
    mf = modules("""
        LIMIT = 1


        def f():
            return LIMIT
    """)
    mod = mf.module
    mf.write("LIMIT = 2\n\n\ndef f():\n    return LIMIT\n\n\nRATIO = LIMIT / 0\n")

    report = hotswap.plan(mod)

    assert report.dry_run is True
    assert f"{mf.path}:8" in report.error
    assert "ZeroDivisionError" in report.error
    assert "would refuse" in str(report)
    assert mod.LIMIT == 1 and mod.f() == 1 and not hasattr(mod, "RATIO")
    assert hotswap.generation(mod) == 0


def test_plan_of_an_unchanged_source_would_do_nothing(modules):
    mf = modules("""
        def f():
            return 1
    """)
    report = hotswap.plan(mf.module)

    assert report.dry_run is True
    assert report.error is None
    assert not report.changed
    assert report.functions == [] and report.rebound == []
    assert "unchanged" in str(report)
    assert hotswap.plan(mf.name).dry_run  # by dotted name, too


def test_plan_names_what_the_update_would_leave_on_the_old_version(modules):
    """A dry run reports refusals that are not errors too: here an instance held in a
    tuple (which cannot be rewritten) could not move to a new ``__slots__`` layout."""
    src = """\
        class V:
            __slots__ = ({slots})
            def __init__(self, x):
                self.x = x
    """
    mf = modules(src.format(slots='"x",'))
    V = mf.module.V
    pinned = (V(1),)
    mf.write(src.format(slots='"x", "y"'))
    report = hotswap.plan(mf.module)
    assert report.dry_run and report.error is None
    assert any(name.endswith("V") and "instance" in why for name, why in report.skipped), report
    assert mf.module.V is V and type(pinned[0]) is V  # the plan changed nothing
    assert hotswap.generation(mf.module) == 0
    assert hotswap.update(mf.module).skipped == report.skipped
