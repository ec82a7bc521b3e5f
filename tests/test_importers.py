"""Importers follow: when ``a.K`` is rebound, a module that took it with ``from a import K``
holds the new value, and its own statements that read ``K`` (``DOUBLE = K * 2``, a default
``def g(x, d=K)``) run again, as a fresh import of the whole program would compute them.
The importer's refresh is part of the update that caused it: undone with it when the
update fails, and by ``rollback`` of that module."""

from __future__ import annotations

import itertools

import pytest

import hotswap

_ids = itertools.count()


@pytest.fixture
def pkg(modules):
    """`pkg(module, source)` writes and imports ``<fresh package>.<module>``."""
    name = f"hs_importers_{next(_ids)}"
    return lambda mod, src: modules(src, name=f"{name}.{mod}")


MID = """\
from .base import K
DOUBLE = K * 2

def g(x, d=K):
    return x + d
"""


def test_an_importer_outside_the_update_runs_its_statements_reading_the_name(pkg):
    base = pkg("base", "K = 1\n")
    mid = pkg("mid", MID)
    report = base.update("K = 5\n")
    assert (mid.module.K, mid.module.DOUBLE, mid.module.g(0)) == (5, 10, 5)
    assert any("mid ran again" in n and "(K)" in n for n in report.notes), report.notes
    assert hotswap.generation(mid.module) == 0  # mid's own source did not change


def test_an_importer_in_the_same_batch_runs_its_statements_reading_the_name(pkg):
    base = pkg("base", "K = 1\n")
    mid = pkg("mid", MID)
    base.write("K = 5\n")
    _, mid_report = hotswap.update_many([mid.module, base.module])
    assert (mid.module.DOUBLE, mid.module.g(0)) == (10, 5)
    assert mid_report.changed


def test_a_re_exported_name_refreshes_every_module_along_the_way(pkg):
    base = pkg("base", "J = 1\nK = 1\n")
    pkg("mid", "from .base import K\nTRIPLE = K * 3\n")
    top = pkg("top", "from .base import J\nfrom .mid import K, TRIPLE\nSUM = J + K + TRIPLE\n")
    base.update("J = 2\nK = 2\n")
    assert (top.module.J, top.module.K, top.module.TRIPLE, top.module.SUM) == (2, 2, 6, 10)


def test_rollback_of_the_cause_undoes_the_importers_refresh(pkg):
    base = pkg("base", "K = 1\n")
    mid = pkg("mid", MID)
    base.update("K = 5\n")
    hotswap.rollback(base.module)
    assert (base.module.K, mid.module.K, mid.module.DOUBLE, mid.module.g(0)) == (1, 1, 2, 1)


def test_an_importer_statement_that_fails_with_the_new_value_changes_nothing(pkg):
    base = pkg("base", "K = 1\n")
    mid = pkg("mid", "from .base import K\nINVERSE = 1 / K\n")
    with pytest.raises(hotswap.UpdateError) as info:
        base.update("K = 0\n")
    assert "mid.py" in str(info.value)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert (base.module.K, mid.module.K, mid.module.INVERSE) == (1, 1, 1.0)


def test_an_importer_runs_from_the_source_it_was_built_from_not_a_newer_file(pkg):
    base = pkg("base", "K = 1\n")
    mid = pkg("mid", MID)
    mid.write(MID + "EXTRA = 1\n")  # saved, but not asked to be updated
    base.update("K = 5\n")
    assert mid.module.DOUBLE == 10
    assert not hasattr(mid.module, "EXTRA")
    assert hotswap.update(mid.module).changed  # its own edit is still to apply
    assert mid.module.EXTRA == 1


def test_a_batch_module_reads_an_importer_outside_the_batch_after_its_refresh(pkg):
    """``update_many([base, top])``: `mid`, outside the batch, follows ``base.K`` and runs
    again; `top`, later in the batch, newly imports from `mid`. It must read `mid` after
    that refresh, as a fresh import of the program would (found by the stateful test)."""
    base = pkg("base", "K = 5\nJ = 1\n")
    pkg("mid", "from .base import K\nDOUBLE = K * 2\n")
    top = pkg("top", "from .base import J\n")
    base.write("K = 0\nJ = 1\n")
    top.write("from .base import J\nfrom .mid import DOUBLE\nTOTAL = DOUBLE + J\n")
    hotswap.update_many([base.module, top.module])
    assert (top.module.DOUBLE, top.module.TOTAL) == (0, 1)
