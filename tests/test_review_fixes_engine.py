"""Fixes of the engine review: each update leaves the program as a fresh process of the
new source would be (state kept), or refuses it changing nothing, running nothing more."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hotswap
from fresh_tree import Tree

sys.dont_write_bytecode = True


def fresh_import_fails(tree: Tree, name: str) -> str:
    """The error a fresh interpreter gives importing module `name` of the tree ('' if none)."""
    out = subprocess.run([sys.executable, "-c", f"import {tree.dotted(name)}"],
                         cwd=tree.root, capture_output=True, text=True)
    return out.stderr.strip().splitlines()[-1] if out.returncode else ""


# -- 1. the whole-module fallback ------------------------------------------------------------

SIDE_EFFECTS = '''
from . import log
def connect():
    log.CALLS.append("connect")
    return object()
CONN = connect()
counter = 0
def f():
    return 1
'''


@pytest.mark.parametrize("typo", ["VALUE = f() + undefined_name\n",
                                  "def g(x=undefined_name):\n    return x\n",
                                  "VALUE = (lambda: undefined_name)()\n"])
def test_a_typo_is_refused_without_running_unchanged_statements_again(
        tree: Tree, typo: str) -> None:
    tree.write(log="CALLS = []\n", m=SIDE_EFFECTS + "VALUE = f()\n")
    m = tree.load("m")
    log = tree.load("log")
    conn = m.CONN
    m.counter = 5
    tree.write(m=SIDE_EFFECTS + typo)
    assert "NameError" in fresh_import_fails(tree, "m")
    with pytest.raises(hotswap.UpdateError, match="undefined_name"):
        hotswap.update(m)
    assert log.CALLS == ["connect"] and m.CONN is conn and m.counter == 5


def test_a_failure_reading_changed_live_state_still_falls_back(tree: Tree) -> None:
    tree.write(log="CALLS = []\n", m=SIDE_EFFECTS + "VALUE = f()\n")
    m = tree.load("m")
    log = tree.load("log")
    conn, f = m.CONN, m.f
    m.counter = 5
    # fails on the live counter only: a fresh import computes LIMIT from counter = 0
    tree.write(m=SIDE_EFFECTS + "VALUE = f()\nLIMIT = counter + 1\nassert LIMIT == 1\n")
    assert fresh_import_fails(tree, "m") == ""
    report = hotswap.update(m)
    # unchanged statements keep their live values; only the new one is bound
    assert m.counter == 5 and m.CONN is conn and m.f is f and m.LIMIT == 1
    assert m.LIMIT == tree.fresh("pkg.m.LIMIT")
    assert report.added == [f"{m.__name__}.LIMIT"] and not report.rebound
    warning, = report.warnings
    assert "AssertionError" in warning and "line 6: CONN = connect()" in warning \
        and "line 7: counter = 0" in warning and "keeping their live values" in warning
    # staging ran connect() again (said above), but nothing of it was bound
    assert log.CALLS == ["connect", "connect"]


def test_the_fallback_binds_what_reads_a_changed_name(tree: Tree) -> None:
    source = '''
        counter = 0
        LIMIT = counter + {add}
        DOUBLE = LIMIT * 2
        assert LIMIT == {add}
    '''
    tree.write(m=source.format(add=1))
    m = tree.load("m")
    m.counter = 5
    tree.write(m=source.format(add=2))
    report = hotswap.update(m)
    assert report.warnings and m.counter == 5
    assert [m.LIMIT, m.DOUBLE] == tree.fresh("[pkg.m.LIMIT, pkg.m.DOUBLE]") == [2, 4]


# -- 3. derived statements run again ---------------------------------------------------------

STATS = '''
from . import {other}
__all__ = ["Stats"]
class Stats:
    def _calc_mean(self, xs):
        return sum(xs) / len(xs)
{extra}
for _name in list(vars(Stats)):
    if _name.startswith("_calc_"):
{publish}
del _name
'''
MAX = "    def _calc_max(self, xs):\n        return max(xs)\n"
PUBLISH = "        globals()[_name[6:]] = getattr(Stats, _name)\n"


def stats(extra: str, publish: str) -> str:
    return STATS.format(other="registry", extra=extra, publish=publish)


def test_a_derived_statement_deleting_its_temporary_leaves_it_deleted(tree: Tree) -> None:
    tree.write(registry="", m=stats("", PUBLISH))
    m = tree.load("m")
    tree.write(m=stats(MAX, PUBLISH))
    report = hotswap.update(m)
    assert any("it reads Stats" in r for r in report.rerun)
    assert f"{m.__name__}._name" not in report.added and f"{m.__name__}.max" in report.added
    probe = "[sorted(k for k in vars(pkg.m) if not k.startswith('__')), pkg.m.max.__name__]"
    assert tree.live(probe) == tree.fresh(probe)


@pytest.mark.parametrize("publish", [
    PUBLISH + "        __all__.append(_name[6:])\n",
    PUBLISH + "        __all__.extend([_name[6:]])\n",
    PUBLISH + "        __all__ += [_name[6:]]\n",
    "        setattr(registry, _name[6:], getattr(Stats, _name))\n",
])
def test_a_derived_statement_changing_what_it_cannot_undo_is_reported_not_run(
        tree: Tree, publish: str) -> None:
    tree.write(registry="", m=stats("", publish))
    m = tree.load("m")
    registry = tree.load("registry")
    exported, published = list(m.__all__), sorted(vars(registry))
    tree.write(m=stats(MAX, publish))
    report = hotswap.update(m)
    warning, = report.warnings
    assert "reads `Stats`" in warning and "not re-run" in warning
    assert not any("it reads Stats" in r for r in report.rerun)
    # nothing added twice, nothing set outside the module
    assert m.__all__ == exported and sorted(vars(registry)) == published
    hotswap.rollback(m)
    assert m.__all__ == exported and sorted(vars(registry)) == published
    assert not hasattr(m.Stats, "_calc_max")


def test_a_derived_setattr_on_the_modules_own_class_runs_again_and_undoes(tree: Tree) -> None:
    publish = "        setattr(Stats, _name[6:], getattr(Stats, _name))\n"
    tree.write(registry="", m=stats("", publish))
    m = tree.load("m")
    tree.write(m=stats(MAX, publish))
    report = hotswap.update(m)
    assert any("it reads Stats" in r for r in report.rerun) and not report.warnings
    probe = "sorted(k for k in vars(pkg.m.Stats) if not k.startswith('__'))"
    assert tree.live(probe) == tree.fresh(probe) == ["_calc_max", "_calc_mean", "max", "mean"]
    hotswap.rollback(m)
    assert sorted(k for k in vars(m.Stats) if not k.startswith("__")) == ["_calc_mean", "mean"]


# -- 4. a class-body temporary named like a module global ------------------------------------

@pytest.mark.parametrize("shadowed", ["factor", "len"])  # a module global; a builtin
def test_a_changed_class_statement_reads_its_deleted_temporary_not_the_global(
        tree: Tree, shadowed: str) -> None:
    source = (f"{shadowed} = 100\nclass C:\n    {shadowed} = 2\n"
              f"    double = {shadowed} * {{n}}\n    del {shadowed}\n")
    tree.write(m=source.format(n=3))
    m = tree.load("m")
    cls = m.C
    tree.write(m=source.format(n=4))
    hotswap.update(m)
    assert m.C is cls and not hasattr(cls, shadowed)
    probe = f"[pkg.m.C.double, pkg.m.{shadowed}]"
    assert tree.live(probe) == tree.fresh(probe) == [8, 100]


def test_the_fallback_binds_what_a_changed_statement_changes_in_place(tree: Tree) -> None:
    source = '''
        counter = 0
        REG = {{}}
        TOTAL = 0
        REG["x"] = counter + {add}
        assert REG["x"] == {add}
    '''
    tree.write(m=source.format(add=1))
    m = tree.load("m")
    m.counter = 5
    tree.write(m=source.format(add=2))
    report = hotswap.update(m)
    # REG takes the staged dict the changed statement filled; counter keeps its value
    assert report.warnings and m.counter == 5 and m.TOTAL == 0
    assert m.REG == tree.fresh("pkg.m.REG") == {"x": 2}
    assert "counter = 0" in report.warnings[0] and "REG = {}" not in report.warnings[0]


@pytest.mark.parametrize("added", [
    "if counter > 3:\n    undefined_name\n",  # a typo only a changed counter reaches
    "def limit():\n    return counter + 1\nassert limit() + 0 * VALUE == 1\n",  # read in a call
])
def test_a_failure_a_fresh_import_does_not_have_is_not_refused(tree: Tree, added: str) -> None:
    tree.write(log="CALLS = []\n", m=SIDE_EFFECTS + "VALUE = f()\n")
    m = tree.load("m")
    m.counter = 5
    tree.write(m=SIDE_EFFECTS + "VALUE = f()\n" + added)
    assert fresh_import_fails(tree, "m") == ""
    report = hotswap.update(m)
    assert "whole module ran again" in report.warnings[0] and m.counter == 5
