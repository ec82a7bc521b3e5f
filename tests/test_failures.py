"""Failures: a broken source raises UpdateError, names file and line, and changes nothing."""

from __future__ import annotations

import logging
import sys
import types

import pytest

import hotswap

V1 = """
    LIMIT = 10

    def f():
        return "v1"

    class C:
        KIND = "old"

        def m(self):
            return "m1"
"""


def test_syntax_error_raises_update_error_with_file_and_line(modules):
    mf = modules(V1)
    f = mf.module.f

    with pytest.raises(hotswap.UpdateError) as info:
        mf.update("""
            LIMIT = 10

            def f():
                return "v2"

            def broken(:
                pass
        """)

    err = info.value
    assert isinstance(err.__cause__, SyntaxError)
    assert str(mf.path) in str(err)
    assert f"{mf.path}:7" in str(err)
    assert f() == "v1"


def test_module_level_error_raises_update_error_with_cause_and_line(modules):
    mf = modules(V1)

    with pytest.raises(hotswap.UpdateError) as info:
        mf.update("""
            LIMIT = 10

            def f():
                return "v2"

            X = 1 / 0
        """)

    err = info.value
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert f"{mf.path}:7" in str(err)


def test_failed_update_changes_nothing(modules):
    mf = modules(V1)
    mod = mf.module
    f, C = mod.f, mod.C
    f_code = f.__code__
    m_code = C.m.__code__
    inst = C()
    mod.LIMIT = 55
    names_before = set(vars(mod))

    with pytest.raises(hotswap.UpdateError):
        mf.update("""
            LIMIT = 20
            ADDED = 1

            def f():
                return "v2"

            class C:
                KIND = "new"

                def m(self):
                    return "m2"

                def extra(self):
                    return 0

            raise RuntimeError("boom")
        """)

    assert mod.f is f and f.__code__ is f_code and f() == "v1"
    assert mod.C is C and C.m.__code__ is m_code and inst.m() == "m1"
    assert C.KIND == "old"
    assert not hasattr(C, "extra")
    assert mod.LIMIT == 55
    assert not hasattr(mod, "ADDED")
    assert set(vars(mod)) == names_before


def test_failed_update_in_a_function_statement_changes_nothing(modules):
    mf = modules("""
        def helper():
            return 1

        def f():
            return "v1"

        VALUE = helper()
    """)
    mod = mf.module
    f, helper = mod.f, mod.helper

    with pytest.raises(hotswap.UpdateError) as info:
        mf.update("""
            def helper():
                raise ValueError("bad helper")

            def f():
                return "v2"

            VALUE = helper() + 0
        """)

    assert isinstance(info.value.__cause__, ValueError)
    assert f"{mf.path}:3" in str(info.value)
    assert f() == "v1"
    assert helper() == 1
    assert mod.VALUE == 1


def test_later_good_update_applies_after_failure(modules):
    mf = modules(V1)
    f = mf.module.f

    with pytest.raises(hotswap.UpdateError):
        mf.update("def f(:\n    pass\n")

    report = mf.update("""
        LIMIT = 10

        def f():
            return "v3"

        class C:
            KIND = "old"

            def m(self):
                return "m1"
    """)

    assert f() == "v3"
    assert report.changed
    assert "f" in report.functions or f"{mf.name}.f" in report.functions


def test_unchanged_file_reports_unchanged(modules):
    mf = modules(V1)
    f = mf.module.f
    code = f.__code__

    report = mf.update()

    assert report.changed is False
    assert "unchanged" in str(report)
    assert f.__code__ is code
    assert not report.functions and not report.rebound and not report.rerun


def test_update_of_module_not_imported_raises(modules):
    name = "hs_never_imported_module_xyz"
    assert name not in sys.modules

    with pytest.raises(hotswap.UpdateError) as info:
        hotswap.update(name)

    assert name in str(info.value)


def test_update_of_module_without_file_raises():
    mod = types.ModuleType("hs_no_file_module")
    mod.X = 1
    sys.modules[mod.__name__] = mod
    try:
        with pytest.raises(hotswap.UpdateError):
            hotswap.update(mod)
        with pytest.raises(hotswap.UpdateError):
            hotswap.update(mod.__name__)
        assert mod.X == 1
    finally:
        del sys.modules[mod.__name__]


def test_update_of_builtin_module_raises():
    with pytest.raises(hotswap.UpdateError):
        hotswap.update(sys)


def test_report_duration_and_log_summary(modules, caplog):
    mf = modules(V1)

    with caplog.at_level(logging.INFO, logger="hotswap"):
        report = mf.update(V1.replace('"v1"', '"v2"'))

    assert report.duration > 0
    assert mf.module.f() == "v2"
    records = [r for r in caplog.records if r.name == "hotswap"]
    assert records
    assert records[-1].levelno == logging.INFO
    assert records[-1].getMessage() == str(report)
    assert mf.name in records[-1].getMessage()
