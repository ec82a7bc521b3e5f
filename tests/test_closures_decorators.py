"""Closures whose free variables change, and decorated functions of every common kind."""

from __future__ import annotations

import functools

import hotswap


def _skipped(report: hotswap.Report) -> dict[str, str]:
    return dict(report.skipped)


# -- closures -------------------------------------------------------------------------------


def test_inner_function_captures_one_more_variable(modules):
    mf = modules("""
        def make(n):
            def inner(x):
                return x + n
            return inner
    """)
    make = mf.module.make
    old_closure = make(1)
    assert old_closure(1) == 2

    report = mf.update("""
        def make(n):
            k = 10
            def inner(x):
                return x + n * k
            return inner
    """)

    # the factory itself took the new body, keeping its identity
    assert mf.module.make is make
    assert f"{mf.name}.make" in report.functions
    assert make(1)(1) == 11
    assert mf.module.make(2)(0) == 20
    # the closure made before cannot take code with other free variables: it keeps
    # working on its old body and the report says so by name
    skipped = _skipped(report)
    label = f"{mf.name}.make.<locals>.inner"
    assert label in skipped
    assert "free variables" in skipped[label]
    assert label not in report.closures
    assert old_closure(1) == 2
    assert old_closure(5) == 6


def test_method_newly_using_zero_arg_super_works_on_old_and_new_instances(modules):
    mf = modules("""
        class Base:
            def who(self):
                return "Base"

        class Kid(Base):
            def who(self):
                return "Kid"
    """)
    Kid = mf.module.Kid
    old = Kid()
    old_fn = Kid.__dict__["who"]
    assert old.who() == "Kid"

    report = mf.update("""
        class Base:
            def who(self):
                return "Base"

        class Kid(Base):
            def who(self):
                return "Kid>" + super().who()
    """)

    assert mf.module.Kid is Kid
    assert old.who() == "Kid>Base"
    assert Kid().who() == "Kid>Base"
    assert Kid.who(old) == "Kid>Base"
    # the old function object could not take code with a __class__ cell
    skipped = _skipped(report)
    assert f"{mf.name}.Kid.who" in skipped
    assert "free variables" in skipped[f"{mf.name}.Kid.who"]
    assert Kid.__dict__["who"] is not old_fn
    assert old_fn(old) == "Kid"


def test_lambda_in_module_table_held_elsewhere_runs_new_body(modules):
    mf = modules("""
        OPS = {
            "add": lambda a, b: a + b,
            "mul": lambda a, b: a * b,
        }
    """)
    add = mf.module.OPS["add"]
    mul = mf.module.OPS["mul"]
    assert add(1, 2) == 3

    report = mf.update("""
        OPS = {
            "add": lambda a, b: a + b + 100,
            "mul": lambda a, b: a * b,
        }
    """)

    assert add(1, 2) == 103
    assert mf.module.OPS["add"](1, 2) == 103
    assert mf.module.OPS["add"] is add
    assert mf.module.OPS["mul"] is mul
    assert mul(3, 4) == 12
    assert mf.module.OPS == {"add": add, "mul": mul}
    assert any(name.startswith(f"{mf.name}.OPS") for name in report.functions)


# -- functools decorators -------------------------------------------------------------------


def test_stack_of_two_wraps_decorators_runs_new_inner_body(modules):
    src = """
        import functools

        def outer(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return ("outer", fn(*args))
            return wrapper

        def inner(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return ("inner", fn(*args))
            return wrapper

        @outer
        @inner
        def compute(x):
            return BODY
    """
    mf = modules(src.replace("BODY", "x + 1"))
    held = mf.module.compute
    raw = held.__wrapped__.__wrapped__
    assert held(1) == ("outer", ("inner", 2))

    report = mf.update(src.replace("BODY", "x * 100"))

    assert mf.module.compute is held
    assert held.__wrapped__.__wrapped__ is raw
    assert held(2) == ("outer", ("inner", 200))
    assert held.__wrapped__(3) == ("inner", 300)
    assert raw(4) == 400
    assert f"{mf.name}.compute" in report.functions
    assert report.redecorated == []


def test_single_wraps_decorator_runs_new_inner_body(modules):
    src = """
        import functools

        def traced(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return ["traced", fn(*args, **kwargs)]
            return wrapper

        @traced
        def greet(name, punct="!"):
            return BODY
    """
    mf = modules(src.replace("BODY", '"hi " + name + punct'))
    held = mf.module.greet
    assert held("a") == ["traced", "hi a!"]

    report = mf.update(src.replace("BODY", '"hello " + name.upper() + punct'))

    assert mf.module.greet is held
    assert held("a") == ["traced", "hello A!"]
    assert held("b", punct="?") == ["traced", "hello B?"]
    assert f"{mf.name}.greet" in report.functions


def test_lru_cache_results_of_old_body_are_dropped(modules):
    src = """
        import functools

        CALLS = []

        @functools.lru_cache(maxsize=None)
        def square(x):
            CALLS.append(x)
            return BODY
    """
    mf = modules(src.replace("BODY", "x * x"))
    held = mf.module.square
    assert held(3) == 9
    assert held(3) == 9
    assert mf.module.CALLS == [3]
    assert held.cache_info().currsize == 1

    report = mf.update(src.replace("BODY", "x * x + 1"))

    assert mf.module.square is held
    assert held(3) == 10
    assert mf.module.square(3) == 10
    assert held.__wrapped__(4) == 17
    assert f"{mf.name}.square" in report.functions


def test_functools_cache_results_of_old_body_are_dropped(modules):
    src = """
        import functools

        @functools.cache
        def label(x):
            return BODY
    """
    mf = modules(src.replace("BODY", 'f"v1-{x}"'))
    held = mf.module.label
    assert held(1) == "v1-1"
    assert held(2) == "v1-2"

    mf.update(src.replace("BODY", 'f"v2-{x}"'))

    assert mf.module.label is held
    assert held(1) == "v2-1"
    assert held(2) == "v2-2"
    assert held(3) == "v2-3"


def test_partial_objects_follow_new_code(modules):
    src = """
        import functools

        def scale(factor, x):
            return BODY

        DOUBLE = functools.partial(scale, 2)
    """
    mf = modules(src.replace("BODY", "factor * x"))
    module_partial = mf.module.DOUBLE
    mine = functools.partial(mf.module.scale, 3)
    assert module_partial(5) == 10
    assert mine(5) == 15

    report = mf.update(src.replace("BODY", "factor * x + 1000"))

    assert mf.module.DOUBLE is module_partial  # an unchanged statement is not re-run
    assert module_partial(5) == 1010
    assert mine(5) == 1015
    assert f"{mf.name}.scale" in report.functions
    assert report.rerun == []


def test_singledispatch_overload_body_change_registers_nothing_twice(modules):
    src = """
        import functools

        @functools.singledispatch
        def show(x):
            return "object"

        @show.register
        def show_int(x: int):
            return INT_BODY

        @show.register(str)
        def show_str(x):
            return "str:" + x
    """
    mf = modules(src.replace("INT_BODY", '"int1:" + str(x)'))
    show = mf.module.show
    registry_before = dict(show.registry)
    assert len(show.registry) == 3
    assert show(5) == "int1:5"

    report = mf.update(src.replace("INT_BODY", '"int2:" + str(x * 2)'))

    assert mf.module.show is show
    assert show(5) == "int2:10"
    assert show("a") == "str:a"
    assert show(1.5) == "object"
    assert len(show.registry) == 3
    assert show.registry[int] is registry_before[int]
    assert show.registry[int] is mf.module.show_int
    assert f"{mf.name}.show_int" in report.functions


def test_singledispatch_underscore_overloads_update_the_right_one(modules):
    src = """
        import functools

        @functools.singledispatch
        def show(x):
            return "object"

        @show.register
        def _(x: int):
            return INT_BODY

        @show.register
        def _(x: str):
            return "str:" + x
    """
    mf = modules(src.replace("INT_BODY", '"int1"'))
    show = mf.module.show
    assert (show(1), show("a")) == ("int1", "str:a")

    mf.update(src.replace("INT_BODY", '"int2"'))

    assert show(1) == "int2"
    assert show("a") == "str:a"
    assert len(show.registry) == 3


def test_cached_property_body_change_applies_to_uncached_instances(modules):
    src = """
        import functools

        class Item:
            def __init__(self, n):
                self.n = n

            @functools.cached_property
            def value(self):
                return BODY
    """
    mf = modules(src.replace("BODY", "self.n + 1"))
    Item = mf.module.Item
    cached = Item(1)
    assert cached.value == 2
    fresh = Item(1)

    report = mf.update(src.replace("BODY", "self.n * 100"))

    assert mf.module.Item is Item
    assert fresh.value == 100
    assert Item(3).value == 300
    assert cached.value == 2  # computed before the update: stays cached
    del cached.value
    assert cached.value == 100
    assert f"{mf.name}.Item.value" in report.functions


def test_property_setter_and_deleter_changed(modules):
    src = """
        class Box:
            def __init__(self):
                self._v = 0
                self.log = []

            @property
            def v(self):
                return self._v

            @v.setter
            def v(self, value):
                self._v = SET_BODY

            @v.deleter
            def v(self):
                self.log.append(DEL_BODY)
                self._v = None
    """
    v1 = src.replace("SET_BODY", "value").replace("DEL_BODY", '"del1"')
    v2 = src.replace("SET_BODY", "value * 3").replace("DEL_BODY", '"del2"')
    mf = modules(v1)
    Box = mf.module.Box
    old = Box()
    old.v = 2
    assert old.v == 2
    prop = Box.__dict__["v"]

    report = mf.update(v2)

    old.v = 2
    assert old.v == 6
    del old.v
    assert old.log == ["del2"]
    assert old.v is None
    new = Box()
    new.v = 5
    assert new.v == 15
    del new.v
    assert new.log == ["del2"]
    assert isinstance(Box.__dict__["v"], property)
    assert Box.__dict__["v"].fset is prop.fset
    assert Box.__dict__["v"].fdel is prop.fdel
    assert report.changed


def test_classmethod_and_staticmethod_references_run_new_bodies(modules):
    src = """
        class Factory:
            kind = "f"

            @classmethod
            def build(cls, n):
                return CM_BODY

            @staticmethod
            def twice(n):
                return SM_BODY
    """
    v1 = src.replace("CM_BODY", "(cls.kind, n)").replace("SM_BODY", "n * 2")
    v2 = src.replace("CM_BODY", '(cls.kind, n, "v2")').replace("SM_BODY", "n * 2 + 1")
    mf = modules(v1)
    Factory = mf.module.Factory
    build = Factory.build
    twice = Factory.twice
    inst = Factory()
    cm = Factory.__dict__["build"]
    sm = Factory.__dict__["twice"]

    report = mf.update(v2)

    assert build(1) == ("f", 1, "v2")
    assert inst.build(2) == ("f", 2, "v2")
    assert twice(3) == 7
    assert inst.twice(4) == 9
    assert Factory.__dict__["build"].__func__ is cm.__func__
    assert Factory.__dict__["twice"].__func__ is sm.__func__
    assert f"{mf.name}.Factory.build" in report.functions
    assert f"{mf.name}.Factory.twice" in report.functions


def test_changed_decorator_line_redecorates_without_duplicating(modules):
    src = """
        REG_A = []
        REG_B = []

        def deco_a(fn):
            REG_A.append(fn.__name__)
            return fn

        def deco_b(fn):
            REG_B.append(fn.__name__)
            return fn

        @DECO
        def first():
            return "first1"

        @deco_a
        def second():
            return SECOND
    """
    mf = modules(src.replace("DECO", "deco_a").replace("SECOND", '"second1"'))
    reg_a, reg_b = mf.module.REG_A, mf.module.REG_B
    first, second = mf.module.first, mf.module.second
    assert reg_a == ["first", "second"]
    assert reg_b == []

    report = mf.update(src.replace("DECO", "deco_b").replace("SECOND", '"second2"'))

    assert mf.module.REG_A is reg_a
    assert mf.module.REG_B is reg_b
    assert reg_b == ["first"]  # the new decorator ran once
    assert reg_a == ["first", "second"]  # nothing registered again into the old one
    assert f"{mf.name}.first" in report.redecorated
    assert f"{mf.name}.second" not in report.redecorated
    assert mf.module.second is second
    assert second() == "second2"
    assert mf.module.first is first
    assert first() == "first1"
