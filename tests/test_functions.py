"""Functions: every live reference to an old function runs the new body after an update."""

from __future__ import annotations

import asyncio
import functools

import hotswap


def named(items: list[str], module: str, name: str) -> bool:
    """Whether a report list names `name`, plainly or qualified by its module."""
    return name in items or f"{module}.{name}" in items


def test_from_import_reference_runs_new_body(modules):
    mf = modules("def f():\n    return 1\n")
    user = modules(f"from {mf.name} import f\n\ndef call():\n    return f()\n").module
    assert user.call() == 1

    report = mf.update("def f():\n    return 2\n")

    assert user.f() == 2
    assert user.call() == 2
    assert user.f is mf.module.f
    assert report.changed
    assert named(report.functions, mf.name, "f")


def test_identity_of_function_kept(modules):
    mf = modules("def f(x):\n    return x + 1\n")
    old_f = mf.module.f
    old_code = old_f.__code__

    report = mf.update("def f(x):\n    return x * 10\n")

    assert mf.module.f is old_f
    assert old_f.__code__ is not old_code
    assert old_f(3) == 30
    assert named(report.functions, mf.name, "f")
    assert not report.added and not report.removed


def test_function_in_callback_list_and_dict(modules):
    mf = modules("""
        def on_event(x):
            return ("v1", x)
    """)
    callbacks = [mf.module.on_event]
    table = {"event": mf.module.on_event}

    report = mf.update("""
        def on_event(x):
            return ("v2", x)
    """)

    assert callbacks[0](1) == ("v2", 1)
    assert table["event"](2) == ("v2", 2)
    assert named(report.functions, mf.name, "on_event")


def test_bound_method_kept_as_callback(modules):
    mf = modules("""
        class Handler:
            def __init__(self, tag):
                self.tag = tag

            def handle(self, x):
                return ("v1", self.tag, x)
    """)
    h = mf.module.Handler("a")
    callback = h.handle
    assert callback(1) == ("v1", "a", 1)

    report = mf.update("""
        class Handler:
            def __init__(self, tag):
                self.tag = tag

            def handle(self, x):
                return ("v2", self.tag, x)
    """)

    assert callback(1) == ("v2", "a", 1)
    assert h.handle(2) == ("v2", "a", 2)
    assert type(h) is mf.module.Handler
    assert report.changed
    assert named(report.functions, mf.name, "Handler.handle")


def test_runtime_closure_from_factory_runs_new_inner_body(modules):
    mf = modules("""
        def make_adder(n):
            def add(x):
                return x + n
            return add
    """)
    add5 = mf.module.make_adder(5)
    assert add5(1) == 6

    report = mf.update("""
        def make_adder(n):
            def add(x):
                return x + n * 100
            return add
    """)

    assert add5(1) == 501
    assert mf.module.make_adder(2)(1) == 201
    assert report.closures
    assert any("add" in name for name in report.closures)


def test_functools_wraps_wrapper_runs_new_inner_body(modules):
    mf = modules("""
        import functools

        def logged(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return ("logged", fn(*args))
            return wrapper

        @logged
        def compute(x):
            return x + 1
    """)
    wrapper = mf.module.compute
    assert wrapper(1) == ("logged", 2)

    report = mf.update("""
        import functools

        def logged(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return ("logged", fn(*args))
            return wrapper

        @logged
        def compute(x):
            return x * 100
    """)

    assert mf.module.compute is wrapper
    assert wrapper(1) == ("logged", 100)
    assert wrapper.__wrapped__(2) == 200
    assert named(report.functions, mf.name, "compute")


def test_new_defaults_apply_through_old_reference(modules):
    mf = modules("def f(x=1):\n    return x\n")
    old_f = mf.module.f

    report = mf.update("def f(x=2):\n    return x\n")

    assert old_f() == 2
    assert old_f.__defaults__ == (2,)
    assert named(report.functions, mf.name, "f")


def test_new_keyword_only_defaults_apply_through_old_reference(modules):
    mf = modules("def f(*, scale=1):\n    return 10 * scale\n")
    old_f = mf.module.f
    assert old_f() == 10

    report = mf.update("def f(*, scale=3):\n    return 10 * scale\n")

    assert old_f() == 30
    assert old_f.__kwdefaults__ == {"scale": 3}
    assert named(report.functions, mf.name, "f")


def test_new_parameter_accepted_through_old_reference(modules):
    mf = modules("def greet(name):\n    return 'hi ' + name\n")
    old = mf.module.greet

    report = mf.update("def greet(name, punct='!'):\n    return 'hi ' + name + punct\n")

    assert old("bob") == "hi bob!"
    assert old("bob", "?") == "hi bob?"
    assert named(report.functions, mf.name, "greet")


def test_function_attribute_survives(modules):
    mf = modules("def f():\n    return 1\n")
    f = mf.module.f
    f.calls = 3

    report = mf.update("def f():\n    return 2\n")

    assert mf.module.f is f
    assert f.calls == 3
    assert f() == 2
    assert named(report.functions, mf.name, "f")


def test_running_generator_finishes_on_old_code_new_generator_uses_new(modules):
    mf = modules("""
        def gen():
            yield "old-1"
            yield "old-2"
            yield "old-3"
    """)
    running = mf.module.gen()
    assert next(running) == "old-1"

    report = mf.update("""
        def gen():
            yield "new-1"
            yield "new-2"
    """)

    assert list(running) == ["old-2", "old-3"]
    assert list(mf.module.gen()) == ["new-1", "new-2"]
    assert named(report.functions, mf.name, "gen")


def test_running_coroutine_finishes_on_old_code_new_coroutine_uses_new(modules):
    mf = modules("""
        import types

        @types.coroutine
        def pause():
            return (yield "paused")

        async def job():
            got = await pause()
            return ("old", got)
    """)
    running = mf.module.job()
    assert running.send(None) == "paused"

    report = mf.update("""
        import types

        @types.coroutine
        def pause():
            return (yield "paused")

        async def job():
            got = await pause()
            return ("new", got)
    """)

    try:
        running.send("x")
    except StopIteration as stop:
        assert stop.value == ("old", "x")
    else:
        raise AssertionError("the running coroutine did not finish")

    fresh = mf.module.job()
    assert fresh.send(None) == "paused"
    try:
        fresh.send("y")
    except StopIteration as stop:
        assert stop.value == ("new", "y")
    else:
        raise AssertionError("the new coroutine did not finish")
    assert named(report.functions, mf.name, "job")


def test_async_def_body_change(modules):
    mf = modules("""
        async def fetch(x):
            return x + 1
    """)
    old = mf.module.fetch
    assert asyncio.run(old(1)) == 2

    report = mf.update("""
        async def fetch(x):
            return x * 100
    """)

    assert mf.module.fetch is old
    assert asyncio.run(old(1)) == 100
    assert named(report.functions, mf.name, "fetch")


def test_partial_of_old_function_runs_new_body(modules):
    mf = modules("def scale(k, x):\n    return k * x\n")
    triple = functools.partial(mf.module.scale, 3)
    assert triple(2) == 6

    report = mf.update("def scale(k, x):\n    return k * x + 1\n")

    assert triple(2) == 7
    assert named(report.functions, mf.name, "scale")
    assert isinstance(report, hotswap.Report)
