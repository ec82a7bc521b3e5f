"""The Report an update returns: data for programs, one summary for people."""

from __future__ import annotations

import logging

import hotswap

V1 = """
class C:
    def m(self):
        return 1

def f():
    return 1
"""

V2 = """
class C:
    def m(self):
        return 2

def f():
    return 2
"""


def test_update_returns_report_with_changed_set(modules):
    mf = modules(V1)
    report = mf.update(V2)
    assert isinstance(report, hotswap.Report)
    assert report.module == mf.name
    assert report.changed is True
    assert report.dry_run is False


def test_lists_hold_qualified_names(modules):
    mf = modules(V1)
    report = mf.update(V2)
    assert f"{mf.name}.C.m" in report.functions
    assert f"{mf.name}.f" in report.functions
    assert f"{mf.name}.C" in report.classes
    assert report.rebuilt == []


def test_added_and_removed_names_are_qualified(modules):
    mf = modules("""
        def old_one():
            return 1
    """)
    report = mf.update("""
        def new_one():
            return 2
    """)
    assert not hasattr(mf.module, "old_one")
    assert mf.module.new_one() == 2
    assert report.added == [f"{mf.name}.new_one"]
    assert report.removed == [f"{mf.name}.old_one"]


def test_str_mentions_module_and_patched_names(modules):
    mf = modules(V1)
    report = mf.update(V2)
    text = str(report)
    assert mf.name in text
    assert f"{mf.name}.C.m" in text
    assert f"{mf.name}.f" in text
    assert f"{mf.name}.C" in text
    assert "unchanged" not in text


def test_unchanged_update_says_unchanged(modules):
    mf = modules(V1)
    report = mf.update()  # file untouched
    assert report.changed is False
    assert report.functions == [] and report.classes == []
    assert "unchanged" in str(report)
    assert mf.name in str(report)


def test_duration_is_positive(modules):
    mf = modules(V1)
    report = mf.update(V2)
    assert report.duration > 0
    assert report.duration < 60


def test_generation_increments_per_applied_update(modules):
    mf = modules(V1)
    assert hotswap.generation(mf.module) == 0
    r1 = mf.update(V2)
    assert r1.generation == 1
    r2 = mf.update(V1)
    assert r2.generation == 2
    r3 = mf.update()  # nothing to apply
    assert r3.generation == 2
    assert hotswap.generation(mf.name) == 2
    assert "generation 2" in str(r2)


def test_logs_summary_to_hotswap_logger_at_info(modules, caplog):
    mf = modules(V1)
    with caplog.at_level(logging.INFO, logger="hotswap"):
        report = mf.update(V2)
    records = [r for r in caplog.records if r.name == "hotswap"]
    assert records, "no record on the 'hotswap' logger"
    assert all(r.levelno == logging.INFO for r in records)
    assert any(r.getMessage() == str(report) for r in records)


def test_comment_only_edit_is_not_a_change(modules):
    mf = modules(V1)
    C = mf.module.C
    m_code = C.m.__code__
    report = mf.update("""
# a new comment at the top
class C:
    def m(self):  # explained
        return 1

def f():
    # still one
    return 1
""")
    assert report.changed is False
    assert report.functions == [] and report.classes == []
    assert mf.module.C is C
    assert C().m() == 1
    assert C.m.__code__.co_code == m_code.co_code
    assert hotswap.generation(mf.module) == 0


HEADER = """
class A:
    pass


class B:
    pass


class C({base}):
    def same(self, x=1000, *, y=(1, "two")) -> int:
        return x + y[0]

    def edited(self, x={default}):
        return {value} + x
"""


def test_a_header_change_lists_only_the_methods_whose_code_or_defaults_changed(modules):
    mf = modules(HEADER.format(base="A", default=0, value=1))
    C = mf.module.C
    same, defaults = C.same, C.same.__defaults__
    report = mf.update(HEADER.format(base="B", default=0, value=2))
    assert report.rebuilt == [f"{mf.name}.C"]
    assert report.functions == [f"{mf.name}.C.edited"]
    assert C.same is same and C.same.__defaults__ is defaults  # the live one, untouched
    assert C().edited() == 2 and C().same() == 1001 and mf.module.B in C.__mro__
    # a default is part of the function even when its body is the same
    report = mf.update(HEADER.format(base="A", default=5, value=2))
    assert report.functions == [f"{mf.name}.C.edited"]
    assert C().edited() == 7


def test_defaults_are_compared_without_running_their_eq(modules):
    # a default made anew (it reads a name that changed) is compared with the live one by
    # identity only, its __eq__ never asked: the rebuilt class's method takes the new one
    src = """
class Loud:
    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        raise AssertionError("__eq__ ran")
    __hash__ = object.__hash__


N = {n}


class A:
    pass


class B:
    pass


class C({base}):
    def f(self, d=Loud(N)):
        return d
"""
    mf = modules(src.format(n=1, base="A"))
    before = mf.module.C().f()
    report = mf.update(src.format(n=2, base="B"))
    assert report.functions == [f"{mf.name}.C.f"]
    assert mf.module.C().f() is not before and mf.module.C().f().n == 2


KEPT = """
class A:
    pass


class B:
    pass


class C({base}):
    def remember(self, x, seen=[]):
        seen.append(x)
        return seen

    def __init__(self, *, log={{}}):
        self.log = log

    @staticmethod
    def made(box=object()):
        return box

    def {edited}(self, cache={{}}):
        return cache
"""


def test_a_header_change_keeps_the_live_defaults_of_unchanged_methods(modules):
    # as a module global whose line did not change keeps its value: a def that did not
    # change is not run again, its defaults hold what the program put there
    mf = modules(KEPT.format(base="A", edited="edited"))
    C = mf.module.C
    seen = C().remember(1)
    log, box, cache = C().log, C.made(), C().edited()
    report = mf.update(KEPT.format(base="B", edited="renamed"))
    assert report.rebuilt == [f"{mf.name}.C"] and mf.module.B in C.__mro__
    assert C().remember(2) is seen and seen == [1, 2]
    assert C().log is log and C.made() is box
    assert C().renamed() is not cache  # a new def: its own default
    assert report.functions == []


UNTOUCHED = """
    LIMIT = 10

    def f():
        return "v1"
"""


def test_an_untouched_file_changes_no_code(modules):
    mf = modules(UNTOUCHED)
    f = mf.module.f
    code = f.__code__

    report = mf.update()

    assert report.changed is False
    assert "unchanged" in str(report)
    assert f.__code__ is code
    assert not report.functions and not report.rebound and not report.rerun


def test_the_last_record_logged_is_the_summary(modules, caplog):
    mf = modules(UNTOUCHED)

    with caplog.at_level(logging.INFO, logger="hotswap"):
        report = mf.update(UNTOUCHED.replace('"v1"', '"v2"'))

    assert report.duration > 0
    assert mf.module.f() == "v2"
    records = [r for r in caplog.records if r.name == "hotswap"]
    assert records
    assert records[-1].levelno == logging.INFO
    assert records[-1].getMessage() == str(report)
    assert mf.name in records[-1].getMessage()
