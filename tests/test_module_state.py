"""Module state: live values kept, unchanged statements not re-run, changed ones applied."""

from __future__ import annotations

import itertools
import sys

import hotswap

_unique = itertools.count()


def named(items: list[str], module: str, name: str) -> bool:
    """Whether a report list names `name`, plainly or qualified by its module."""
    return name in items or f"{module}.{name}" in items


def test_runtime_changed_value_kept_when_statement_unchanged(modules):
    mf = modules("""
        COUNTER = 0
        SETTINGS = {"debug": False}

        def f():
            return 1
    """)
    mod = mf.module
    mod.COUNTER = 41
    mod.SETTINGS["debug"] = True
    settings = mod.SETTINGS

    report = mf.update("""
        COUNTER = 0
        SETTINGS = {"debug": False}

        def f():
            return 2
    """)

    assert mod.f() == 2
    assert mod.COUNTER == 41
    assert mod.SETTINGS is settings
    assert mod.SETTINGS == {"debug": True}
    assert not named(report.rebound, mf.name, "COUNTER")
    assert not named(report.rebound, mf.name, "SETTINGS")


def test_changed_statement_takes_new_value(modules):
    mf = modules("""
        LIMIT = 10
        OTHER = 1
    """)
    mod = mf.module
    mod.LIMIT = 99
    mod.OTHER = 7

    report = mf.update("""
        LIMIT = 20
        OTHER = 1
    """)

    assert mod.LIMIT == 20
    assert mod.OTHER == 7
    assert named(report.rebound, mf.name, "LIMIT")
    assert report.changed


def test_changed_value_seen_by_old_function(modules):
    mf = modules("""
        GREETING = "hello"

        def greet():
            return GREETING
    """)
    greet = mf.module.greet

    mf.update("""
        GREETING = "bonjour"

        def greet():
            return GREETING
    """)

    assert greet() == "bonjour"


def test_removed_names_leave_the_module(modules):
    mf = modules("""
        KEEP = 1
        GONE_CONST = 2

        def gone_func():
            return 3

        class GoneClass:
            pass

        def kept():
            return KEEP
    """)
    mod = mf.module
    assert hasattr(mod, "gone_func")

    report = mf.update("""
        KEEP = 1

        def kept():
            return KEEP
    """)

    for name in ("GONE_CONST", "gone_func", "GoneClass"):
        assert not hasattr(mod, name), name
        assert named(report.removed, mf.name, name), name
    assert mod.kept() == 1
    assert not named(report.removed, mf.name, "KEEP")


def test_unchanged_statement_with_side_effect_not_rerun(modules):
    log = modules("CALLS = []\n")
    mf = modules(f"""
        from {log.name} import CALLS

        def connect():
            CALLS.append("connect")
            return object()

        CONN = connect()

        def query():
            return 1
    """)
    mod = mf.module
    conn = mod.CONN
    assert log.module.CALLS == ["connect"]

    report = mf.update(f"""
        from {log.name} import CALLS

        def connect():
            CALLS.append("connect")
            return object()

        CONN = connect()

        def query():
            return 2
    """)

    assert mod.query() == 2
    assert log.module.CALLS == ["connect"]
    assert mod.CONN is conn
    assert not any("CONN" in s for s in report.rerun)


def test_changed_statement_with_side_effect_runs_once(modules):
    log = modules("CALLS = []\n")
    mf = modules(f"""
        from {log.name} import CALLS

        CALLS.append("v1")
    """)
    assert log.module.CALLS == ["v1"]

    report = mf.update(f"""
        from {log.name} import CALLS

        CALLS.append("v2")
    """)

    assert log.module.CALLS == ["v1", "v2"]
    assert report.changed


def test_registering_decorator_does_not_register_twice(modules):
    reg = modules("""
        HANDLERS = []

        def register(fn):
            HANDLERS.append(fn)
            return fn
    """)
    mf = modules(f"""
        from {reg.name} import register

        @register
        def handler():
            return "v1"
    """)
    handlers = reg.module.HANDLERS
    assert len(handlers) == 1

    report = mf.update(f"""
        from {reg.name} import register

        @register
        def handler():
            return "v2"
    """)

    assert len(handlers) == 1
    assert handlers[0] is mf.module.handler
    assert handlers[0]() == "v2"
    assert named(report.functions, mf.name, "handler")


def test_dotted_name_update_for_module_in_package(modules):
    name = f"hs_pkg_{next(_unique)}.sub"
    mf = modules("def f():\n    return 1\n", name=name)
    f = mf.module.f
    assert sys.modules[name].f() == 1

    mf.write("def f():\n    return 2\n")
    report = hotswap.update(name)

    assert f() == 2
    assert report.module == name
    assert report.changed
    assert named(report.functions, name, "f")


def test_module_docstring_change(modules):
    mf = modules('''
        """Old docstring."""

        X = 1
    ''')
    mod = mf.module
    assert mod.__doc__ == "Old docstring."

    report = mf.update('''
        """New docstring."""

        X = 1
    ''')

    assert mod.__doc__ == "New docstring."
    assert mod.X == 1
    assert report.changed


def test_added_names_appear(modules):
    mf = modules("""
        def f():
            return 1
    """)
    mod = mf.module

    report = mf.update("""
        NEW_CONST = 5

        def f():
            return 1

        def g():
            return NEW_CONST * 2

        class Fresh:
            value = 3
    """)

    assert mod.NEW_CONST == 5
    assert mod.g() == 10
    assert mod.Fresh.value == 3
    assert mod.Fresh.__module__ == mf.name
    for name in ("NEW_CONST", "g", "Fresh"):
        assert named(report.added, mf.name, name), name


def test_dunder_all_changes(modules):
    mf = modules("""
        __all__ = ["a"]

        def a():
            return 1

        def b():
            return 2
    """)
    mod = mf.module
    assert mod.__all__ == ["a"]

    report = mf.update("""
        __all__ = ["a", "b"]

        def a():
            return 1

        def b():
            return 2
    """)

    assert mod.__all__ == ["a", "b"]
    ns: dict[str, object] = {}
    exec(f"from {mf.name} import *", ns)
    assert "b" in ns and "a" in ns
    assert named(report.rebound, mf.name, "__all__")
