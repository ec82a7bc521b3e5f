"""A heap frozen by ``gc.freeze()`` (a server that forks its workers from a warmed-up
process): the objects in it are out of any heap walk's sight, and an update that walks
says so rather than leave them on the old version silently."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import hotswap

NESTED = """
def make(n):
    def add(x):
        return x + n{extra}
    return add
"""


@pytest.fixture
def freeze() -> Iterator[None]:
    """Freeze the test process's heap for the test, as a preforking server does."""
    # 3.12 freezes a few hundred constant tuples of its own as the interpreter starts; the
    # first test here unfreezes them, which the collector takes in its stride.
    assert gc.get_freeze_count() in (0, hotswap._FROZEN_AT_IMPORT), "the heap is frozen"
    try:
        yield
    finally:
        gc.unfreeze()


def test_a_walk_over_a_frozen_heap_says_what_it_cannot_see(modules, freeze):
    mf = modules(NESTED.format(extra=""))
    frozen_closure = mf.module.make(1)
    gc.freeze()
    made_after = mf.module.make(1)
    mf.write(NESTED.format(extra=" + 100"))
    planned = hotswap.plan(mf.module)
    report = mf.update()
    label = f"{mf.name}.make.<locals>.add"
    for r in (planned, report):
        assert r.heap_walks == 1
        assert any("frozen by gc.freeze()" in n and "gc.unfreeze()" in n for n in r.notes), \
            r.notes
    # What the note says: the walk reached the closure made since, not the frozen one.
    assert made_after(1) == 102
    assert frozen_closure(1) == 2
    assert report.closures == [label]


def test_an_unfrozen_heap_is_walked_whole_and_nothing_is_said(modules, freeze):
    mf = modules(NESTED.format(extra=""))
    closure = mf.module.make(1)
    gc.freeze()
    gc.unfreeze()  # the remedy the note offers
    report = mf.update(NESTED.format(extra=" + 100"))
    assert report.heap_walks == 1
    assert closure(1) == 102
    assert not any("gc.freeze()" in n for n in report.notes), report.notes


def test_an_edit_that_walks_nothing_needs_nothing_frozen(modules, freeze):
    mf = modules("def f():\n    return 1\n")
    f = mf.module.f
    gc.freeze()
    report = mf.update("def f():\n    return 2\n")
    assert f() == 2 and report.heap_walks == 0
    assert not any("gc.freeze()" in n for n in report.notes), report.notes


def test_a_heap_frozen_before_the_first_update_is_said_too(tmp_path: Path) -> None:
    """What counts is what was frozen when hotswap was imported, not when its engine was
    first loaded (by the first update, after a server froze its heap)."""
    (tmp_path / "rules.py").write_text(NESTED.format(extra=""))
    script = textwrap.dedent(f"""
        import gc, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import hotswap, rules
        adder = rules.make(1)
        assert "hotswap._heap" not in sys.modules  # loaded by the first update
        gc.freeze()
        with open(rules.__file__, "w") as f:
            f.write({NESTED.format(extra=" + 100")!r})
        report = hotswap.update(rules)
        assert report.heap_walks == 1, report
        assert any("frozen by gc.freeze()" in n for n in report.notes), report.notes
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
