"""Registrations: a class statement or a decorated def that runs again registers the live
object once, in place of its earlier registration; and only when the update applies."""

from __future__ import annotations

import textwrap

import pytest

import hotswap

METACLASS = """
    REGISTRY = []

    class Meta(type):
        def __init__(cls, name, bases, ns, **kw):
            super().__init__(name, bases, ns)
            REGISTRY.append(cls)

    class Base(metaclass=Meta):
        pass

    class Mixin:
        def extra(self):
            return "mixin"

    class Plugin(BASES):
        def run(self):
            return "run"

    class Last(Base):
        pass
"""


def test_metaclass_registry_holds_the_live_class_once_after_a_header_change(modules):
    mf = modules(METACLASS.replace("BASES", "Base"))
    registry, Plugin = mf.module.REGISTRY, mf.module.Plugin
    old = Plugin()
    assert registry == [mf.module.Base, Plugin, mf.module.Last]

    report = mf.update(METACLASS.replace("BASES", "Base, Mixin"))

    assert mf.module.Plugin is Plugin
    assert mf.module.REGISTRY is registry
    assert registry == [mf.module.Base, Plugin, mf.module.Last]  # same place, same object
    assert old.extra() == "mixin"
    assert f"{mf.name}.Plugin" in report.rebuilt
    assert any("REGISTRY" in n and "registered again" in n for n in report.notes)


INIT_SUBCLASS = """
    class Handler:
        registry = {}

        def __init_subclass__(cls, key=None, **kw):
            super().__init_subclass__(**kw)
            Handler.registry[key or cls.__name__] = cls

    class Json(Handler, key=KEY):
        def handle(self):
            return "json"

    class Xml(Handler):
        pass
"""


def test_init_subclass_registry_moves_the_live_class_to_its_new_key(modules):
    mf = modules(INIT_SUBCLASS.replace("KEY", '"json"'))
    Handler, Json, Xml = mf.module.Handler, mf.module.Json, mf.module.Xml
    registry = Handler.registry
    assert registry == {"json": Json, "Xml": Xml}

    mf.update(INIT_SUBCLASS.replace("KEY", '"js"'))

    assert mf.module.Json is Json and Handler.registry is registry
    fresh = modules.fresh(INIT_SUBCLASS.replace("KEY", '"js"'))
    assert sorted(registry) == sorted(fresh.Handler.registry) == ["Xml", "js"]
    assert registry["js"] is Json and registry["Xml"] is Xml


DECORATOR = """
    HANDLERS = {}

    def handles(code):
        def deco(fn):
            HANDLERS[code] = fn
            return fn
        return deco

    @handles(CODE)
    def handle():
        return BODY
"""


def test_changed_decorator_argument_withdraws_the_old_registration(modules):
    mf = modules(DECORATOR.replace("CODE", "1").replace("BODY", '"v1"'))
    handle, handlers = mf.module.handle, mf.module.HANDLERS
    assert handlers == {1: handle}

    report = mf.update(DECORATOR.replace("CODE", "2").replace("BODY", '"v2"'))

    assert mf.module.handle is handle
    assert handlers == {2: handle}
    assert handlers[2]() == "v2"
    assert f"{mf.name}.handle" in report.redecorated


def test_a_registry_in_another_module_is_handled_too(modules):
    lib = modules("""
        HANDLERS = {}

        def handles(code):
            def deco(fn):
                HANDLERS[code] = fn
                return fn
            return deco
    """)
    src = f"""
        from {lib.name} import handles

        @handles(CODE)
        def handle():
            return "h"
    """
    mf = modules(src.replace("CODE", '"a"'))
    handle = mf.module.handle
    assert lib.module.HANDLERS == {"a": handle}

    mf.update(src.replace("CODE", '"b"'))

    assert lib.module.HANDLERS == {"b": handle}


SINGLEDISPATCH = """
    import functools

    @functools.singledispatch
    def show(x):
        return "object"

    @show.register(TYPE)
    def show_number(x):
        return "number"
"""


def test_singledispatch_registration_type_changed(modules):
    mf = modules(SINGLEDISPATCH.replace("TYPE", "int"))
    show = mf.module.show
    assert (show(1), show(1.5)) == ("number", "object")  # both dispatches are now cached

    mf.update(SINGLEDISPATCH.replace("TYPE", "float"))

    assert mf.module.show is show
    assert (show(1), show(1.5)) == ("object", "number")
    assert set(show.registry) == {object, float}
    assert show.registry[float] is mf.module.show_number


SLOTTED = """
    REGISTRY = []

    class Meta(type):
        def __init__(cls, name, bases, ns):
            super().__init__(name, bases, ns)
            REGISTRY.append(cls)

    class Point(metaclass=Meta):
        __slots__ = SLOTS

        def __init__(self):
            self.x = 1
"""


def test_a_replaced_class_takes_the_place_of_the_old_one_in_a_registry(modules):
    mf = modules(SLOTTED.replace("SLOTS", '("x",)'))
    registry, old = mf.module.REGISTRY, mf.module.Point
    assert registry == [old]

    report = mf.update(SLOTTED.replace("SLOTS", '("x", "y")'))

    new = mf.module.Point
    assert new is not old and f"{mf.name}.Point" in report.replaced
    assert registry == [new]


def test_a_failed_update_registers_nothing(modules):
    mf = modules(DECORATOR.replace("CODE", "1").replace("BODY", '"v1"'))
    handle, handlers = mf.module.handle, mf.module.HANDLERS
    broken = DECORATOR.replace("CODE", "2").replace("BODY", '"v2"') + "\n    raise RuntimeError('x')\n"

    with pytest.raises(hotswap.UpdateError, match="RuntimeError: x"):
        mf.update(broken)

    assert handlers == {1: handle}
    assert handle() == "v1"


def test_a_check_that_fails_takes_the_registration_back(modules):
    mf = modules(METACLASS.replace("BASES", "Base"))
    registry = mf.module.REGISTRY
    before = list(registry)

    def check() -> None:
        assert len(registry) == 3  # the update registered the class once, in place
        raise RuntimeError("the service is unhappy")

    with pytest.raises(hotswap.UpdateError):
        mf.update(METACLASS.replace("BASES", "Base, Mixin"), check=check)

    assert registry == before
    assert all(a is b for a, b in zip(registry, before))


def test_a_dry_run_registers_nothing_and_rollback_restores_the_registry(modules):
    mf = modules(INIT_SUBCLASS.replace("KEY", '"json"'))
    registry = mf.module.Handler.registry
    before = dict(registry)
    mf.write(INIT_SUBCLASS.replace("KEY", '"js"'))

    hotswap.plan(mf.module)
    assert registry == before

    hotswap.update(mf.module)
    assert set(registry) == {"js", "Xml"}
    hotswap.rollback(mf.module)
    assert registry == before
    assert all(registry[k] is v for k, v in before.items())


def test_runtime_registrations_of_other_objects_are_left_alone(modules):
    mf = modules(DECORATOR.replace("CODE", "1").replace("BODY", '"v1"'))
    handlers = mf.module.HANDLERS

    def elsewhere() -> str:
        return "registered at run time"
    handlers[99] = elsewhere

    mf.update(DECORATOR.replace("CODE", "2").replace("BODY", '"v2"'))

    assert handlers == {2: mf.module.handle, 99: elsewhere}


REBUILT_BASE = """
    class Mixin:
        pass

    def tag(cls):
        cls.tagged = True
        return cls

    HEADER
        registry = {}
        served = 0
        limit = LIMIT

        def __init_subclass__(cls, **kw):
            super().__init_subclass__(**kw)
            Handler.registry[cls.__name__] = cls

    class Json(Handler):
        pass

    class Xml(Handler):
        pass
"""


@pytest.mark.parametrize("header", ["class Handler(Mixin):",  # replaced: another layout
                                    "@tag\n    class Handler:"])  # rebuilt in place
def test_a_rebuilt_class_keeps_its_state_where_its_statement_did_not_change(modules, header):
    mf = modules(REBUILT_BASE.replace("HEADER", "class Handler:").replace("LIMIT", "10"))
    Json, Xml = mf.module.Json, mf.module.Xml
    mf.module.Handler.served = 5  # state of the running program

    report = mf.update(REBUILT_BASE.replace("HEADER", header).replace("LIMIT", "20"))

    Handler = mf.module.Handler
    assert report.rebuilt + report.replaced == [f"{mf.name}.Handler"]
    assert Handler.registry == {"Json": Json, "Xml": Xml}  # filled by the subclasses
    assert Handler.served == 5
    assert Handler.limit == 20  # its statement changed: the new value
    assert issubclass(Json, Handler) and issubclass(Xml, Handler)


ANNOTATED = """
    import functools

    @functools.singledispatch
    def show(x):
        return "object"

    @show.register
    def show_number(x: TYPE):
        return "number"
"""


def test_an_overload_registered_by_annotation_follows_its_new_annotation(modules):
    mf = modules(ANNOTATED.replace("TYPE", "int"))
    show, number = mf.module.show, mf.module.show_number
    assert (show(1), show(1.5)) == ("number", "object")

    with pytest.raises(hotswap.UpdateError):
        mf.update(ANNOTATED.replace("TYPE", "float"), check=lambda: 1 / 0)
    assert (show(1), show(1.5)) == ("number", "object")  # taken back whole
    assert number.__annotations__ == {"x": int}

    mf.update(ANNOTATED.replace("TYPE", "float"))
    assert (show(1), show(1.5)) == ("object", "number")
    assert set(show.registry) == {object, float} and show.registry[float] is number
    assert number.__annotations__ == {"x": float}


REMOVABLE = """
    import functools

    REGISTRY = []

    class Meta(type):
        def __init__(cls, name, bases, ns, **kw):
            super().__init__(name, bases, ns)
            REGISTRY.append(cls)

    class Keyed:
        registry = {}

        def __init_subclass__(cls, **kw):
            super().__init_subclass__(**kw)
            Keyed.registry[cls.__name__] = cls

    class Base(metaclass=Meta):
        pass

    class Gone(Base):
        def where(self):
            return "still here"

    class Json(Keyed):
        pass

    class Xml(Keyed):
        pass

    @functools.singledispatch
    def show(x):
        return "object"

    @show.register(int)
    def show_int(x):
        return "int"

    @show.register(list)
    def _(x):
        return "list"

    @show.register(dict)
    def _(x):
        return "dict"

    class Shape:
        @functools.singledispatchmethod
        def fit(self, x):
            return "any"

        @fit.register(int)
        def fit_int(self, x):
            return "int"

        @fit.register(str)
        def fit_str(self, x):
            return "str"
"""


def _without(source: str, *blocks: str) -> str:
    """`source` (dedented) without `blocks`, each written as it stands there."""
    source = textwrap.dedent(source)
    for block in blocks:
        assert block in source
        source = source.replace(block, "")
    return source


GONE = """
class Gone(Base):
    def where(self):
        return "still here"
"""
XML = """
class Xml(Keyed):
    pass
"""
SHOW_INT = """
@show.register(int)
def show_int(x):
    return "int"
"""
SHOW_LIST = """
@show.register(list)
def _(x):
    return "list"
"""
FIT_INT = """
    @fit.register(int)
    def fit_int(self, x):
        return "int"
"""


def test_a_class_removed_from_the_source_leaves_the_registries_it_was_put_in(modules):
    mf = modules(REMOVABLE)
    m = mf.module
    Gone, Xml, registry, keyed = m.Gone, m.Xml, m.REGISTRY, m.Keyed.registry
    survivor = Gone()
    assert Gone in registry and keyed["Xml"] is Xml

    report = mf.update(_without(REMOVABLE, GONE, XML))

    fresh = modules.fresh(_without(REMOVABLE, GONE, XML))
    assert [c.__name__ for c in registry] == [c.__name__ for c in fresh.REGISTRY] == ["Base"]
    assert sorted(keyed) == sorted(fresh.Keyed.registry) == ["Json"]
    assert not hasattr(m, "Gone") and survivor.where() == "still here"
    assert any("REGISTRY: 1 definition(s) removed" in n for n in report.notes)
    assert any("Keyed.registry: 1 definition(s) removed" in n for n in report.notes)

    hotswap.rollback(m)
    assert registry[-1] is Gone and keyed["Xml"] is Xml and list(keyed) == ["Json", "Xml"]


def test_an_overload_removed_from_the_source_no_longer_dispatches(modules):
    mf = modules(REMOVABLE)
    show = mf.module.show
    assert (show(1), show([]), show({})) == ("int", "list", "dict")  # cached dispatch too

    report = mf.update(_without(REMOVABLE, SHOW_INT, SHOW_LIST))

    assert not any("dispatch_cache" in n for n in report.notes)  # cleared, not edited
    assert mf.module.show is show
    assert (show(1), show([]), show({})) == ("object", "object", "dict")
    assert set(show.registry) == {object, dict}


def test_an_overload_removed_from_a_class_body_no_longer_dispatches(modules):
    mf = modules(REMOVABLE)
    shape = mf.module.Shape()
    fit = shape.fit  # bound before the update
    assert (fit(1), fit("a")) == ("int", "str")

    mf.update(_without(REMOVABLE, FIT_INT))

    assert (fit(1), fit("a"), shape.fit(1)) == ("any", "str", "any")
    assert not hasattr(mf.module.Shape, "fit_int")


def test_a_failed_update_withdraws_nothing(modules):
    mf = modules(REMOVABLE)
    m = mf.module
    registry, show = list(m.REGISTRY), m.show
    seen = []

    def check() -> None:
        seen.append((show(1), len(m.REGISTRY)))  # while applied: withdrawn
        raise RuntimeError("the service is unhappy")

    with pytest.raises(hotswap.UpdateError):
        mf.update(_without(REMOVABLE, GONE, SHOW_INT), check=check)

    assert seen == [("object", len(registry) - 1)]
    assert m.REGISTRY == registry and show(1) == "int"


def test_an_overload_sharing_its_name_registers_for_its_new_type_only(modules):
    """``@show.register(list) def _`` -> ``register(tuple)`` while the name ``_`` binds a
    later overload: the old function is found where it was registered, and withdrawn."""
    mf = modules(REMOVABLE)
    show = mf.module.show
    assert (show([]), show(()), show({})) == ("list", "object", "dict")

    mf.update(textwrap.dedent(REMOVABLE).replace("register(list)", "register(tuple)"))

    assert (show([]), show(()), show({})) == ("object", "list", "dict")
    assert set(show.registry) == {object, int, tuple, dict}


def test_an_overload_in_a_class_renamed_to_share_a_name_keeps_each_body_on_its_type(modules):
    """``def fit_int`` becomes ``def _`` above ``@fit.register(str) def _``... here the
    later ``_`` is unchanged and keeps its function; the renamed one is a new function."""
    source = textwrap.dedent(REMOVABLE).replace("def fit_str", "def _")
    mf = modules(source)
    shape = mf.module.Shape()
    fit = shape.fit
    assert (fit(1), fit("a"), fit(1.5)) == ("int", "str", "any")

    mf.update(source.replace("def fit_int", "def _"))

    assert (fit(1), fit("a"), fit(1.5)) == ("int", "str", "any")
    assert (shape.fit(1), shape.fit("a")) == ("int", "str")
    assert not hasattr(mf.module.Shape, "fit_int")


def test_a_replaced_class_takes_the_place_of_the_old_one_as_a_registry_key(modules):
    """``@show.register(Point)``: the registry is keyed by the class. Point replaced (its
    layout changed) while the overload's body changes (patched, not registered again):
    the key is rewritten in place, as the heap walk finds the registry holding it."""
    source = """
        import functools

        class Point:
            __slots__ = SLOTS

        @functools.singledispatch
        def show(x):
            return "object"

        @show.register(Point)
        def show_point(x):
            return BODY

        @show.register(int)
        def _(x):
            return "int"
    """
    mf = modules(source.replace("SLOTS", "()").replace("BODY", '"point"'))
    show, old = mf.module.show, mf.module.Point()
    assert show(old) == "point"

    report = mf.update(source.replace("SLOTS", '("x",)').replace("BODY", '"new point"'))

    new = mf.module.Point
    assert f"{mf.name}.Point" in report.replaced
    assert (show(new()), show(1)) == ("new point", "int")
    assert list(show.registry) == [object, new, int]

    hotswap.rollback(mf.module)
    assert list(show.registry)[1] is type(old) and show(old) == "point"


def test_an_overload_moved_to_another_dispatcher_leaves_the_first(modules):
    """``@show.register(float) def _`` becomes ``@other.register(str) def _`` (one def of
    that name: taken as the same def, decorated anew): ``show`` no longer has the float
    overload, ``other`` has the str one; a list that holds the function stays as it is."""
    source = """
        import functools

        @functools.singledispatch
        def show(x):
            return "object"

        @functools.singledispatch
        def other(x):
            return "other"

        @TARGET
        def _(x):
            return BODY

        KEPT = [_]
    """
    mf = modules(source.replace("TARGET", "show.register(float)").replace("BODY", '"float"'))
    m = mf.module
    fn = m._
    assert (m.show(1.5), m.other("a")) == ("float", "other")

    mf.update(source.replace("TARGET", "other.register(str)").replace("BODY", '"str"'))

    assert (m.show(1.5), m.other("a")) == ("object", "str")
    assert set(m.show.registry) == {object} and m.other.registry[str] is fn
    assert m.KEPT == [fn]


def test_an_overload_on_a_replaced_class_registers_once_after_lines_moved(modules):
    """``@show.register(Point) def _`` runs again (Point is replaced) from where it stands
    now, five lines up; the old function, known by the lines it stood on, is withdrawn."""
    source = """
        import functools
        ABOVE
        class Point:
            __slots__ = SLOTS

        @functools.singledispatch
        def show(x):
            return "object"

        @show.register(Point)
        def _(x):
            return "point"

        @show.register(int)
        def _(x):
            return "int"
    """
    above = "\n        ".join(f"A{i} = {i}" for i in range(5))
    mf = modules(source.replace("ABOVE", above).replace("SLOTS", "()"))
    show = mf.module.show

    mf.update(source.replace("ABOVE", "").replace("SLOTS", '("x",)'))

    new = mf.module.Point
    assert set(show.registry) == {object, new, int}
    assert (show(new()), show(1)) == ("point", "int")


def test_an_overload_registered_by_annotation_follows_its_replaced_class(modules):
    """``@show.register def _(x: Point)``: Point is replaced; the overload registers again
    under the new class, read from its annotation, in place of the old one."""
    source = """
        import functools

        class Point:
            __slots__ = SLOTS

        @functools.singledispatch
        def show(x):
            return "object"

        @show.register
        def show_point(x: Point):
            return "point"

        @show.register(str)
        def show_str(x):
            return "str"
    """
    mf = modules(source.replace("SLOTS", "()"))
    show = mf.module.show

    mf.update(textwrap.dedent(source).replace("SLOTS", '("x",)')
              + "\n@show.register(int)\ndef show_int(x):\n    return 'int'\n")

    new = mf.module.Point
    assert set(show.registry) == {object, new, str, int}
    assert (show(new()), show("a"), show(1)) == ("point", "str", "int")


def test_the_name_of_removed_overload_binds_the_one_now_last(modules):
    """``@show.register(str) def _`` removed below ``@show.register(float) def _``: the
    name ``_`` binds the float overload, as in a fresh import, and an edit of that
    overload's body then reaches the function the registry calls."""
    source = """
        import functools

        @functools.singledispatch
        def show(x):
            return "object"

        @show.register(float)
        def _(x):
            return BODY
    """
    text = textwrap.dedent(source)
    mf = modules(text.replace("BODY", '"float"')
                 + "\n@show.register(str)\ndef _(x):\n    return 'str'\n")
    show = mf.module.show

    mf.update(text.replace("BODY", '"float"'))
    assert mf.module._ is show.registry[float] and (show(1.5), show("a")) == ("float", "object")

    mf.update(text.replace("BODY", '"new float"'))
    assert show(1.5) == "new float" and mf.module._ is show.registry[float]


def test_the_name_of_removed_overload_binds_the_one_now_last_in_a_class(modules):
    source = """
        import functools

        class Shape:
            @functools.singledispatchmethod
            def fit(self, x):
                return "any"

            @fit.register(int)
            def _(self, x):
                return BODY
    """
    text = textwrap.dedent(source)
    mf = modules(text.replace("BODY", '"int"')
                 + "\n    @fit.register(str)\n    def _(self, x):\n        return 'str'\n")
    shape = mf.module.Shape()
    fit = shape.fit

    mf.update(text.replace("BODY", '"int"'))
    registry = mf.module.Shape.__dict__["fit"].dispatcher.registry
    assert mf.module.Shape.__dict__["_"] is registry[int] and (fit(1), fit("a")) == ("int", "any")

    mf.update(text.replace("BODY", '"new int"'))
    assert (fit(1), shape.fit(1)) == ("new int", "new int")
