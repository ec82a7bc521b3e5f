"""A refusal does not stall other modules (issue 19): a watcher retries a refused module
with every later save while the modules that do not import it keep updating; each time,
the report and the log say which module is held back and why."""

from __future__ import annotations

import logging
import sys

import pytest

import hotswap
from fresh_tree import Tree

sys.dont_write_bytecode = True


def x_source(v: int) -> str:
    return f"def value():\n    return {v}\n"


# valid for a fresh process; refused live: the new __future__ flag changes compilation
REFUSED = "from __future__ import barry_as_FLUFL\ndef value() -> int:\n    return 2\n"


def test_a_refused_module_is_retried_while_the_others_keep_updating(
        tree: Tree, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotswap")
    tree.write(x=x_source(1), y="def value() -> int:\n    return 1\n",
               z="from .y import value as y_value\ndef value():\n    return y_value() + 10\n")
    x, y, z = tree.load("x"), tree.load("y"), tree.load("z")
    w = hotswap.Watcher(tree.package)
    tree.write(y=REFUSED, z="from .y import value as y_value\n"
                            "def value():\n    return y_value() + 20\n")
    assert w.poll() == [] and y.value() == 1 and z.value() == 11
    for v in (2, 3):
        caplog.clear()
        tree.write(x=x_source(v))
        reports = w.poll()
        assert [r.module for r in reports] == [x.__name__] and x.value() == v
        held = [n for n in reports[0].notes if n.startswith("held back")]
        assert len(held) == 2 and "__future__" in held[0] and y.__name__ in held[0]
        assert f"{z.__name__} keeps its old code (it is linked by imports to {y.__name__}" \
            in held[1]
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert y.__name__ in logged and "__future__" in logged and z.__name__ in logged
        assert y.value() == 1 and z.value() == 11
        assert tree.live("pkg.x.value()") == tree.fresh("pkg.x.value()")
    tree.write(y="def value() -> int:\n    return 3\n")  # back to a source it can apply
    reports = w.poll()
    assert sorted(r.module for r in reports) == sorted([y.__name__, z.__name__])
    assert tree.live("[pkg.x.value(), pkg.y.value(), pkg.z.value()]") == \
        tree.fresh("[pkg.x.value(), pkg.y.value(), pkg.z.value()]")


def test_a_failed_check_still_holds_back_the_whole_edit(tree: Tree) -> None:
    tree.write(x=x_source(1), y=x_source(1))
    x, y = tree.load("x"), tree.load("y")
    w = hotswap.Watcher(tree.package, check=lambda: 1 / (y.value() - 2))
    tree.write(x=x_source(5), y=x_source(2))
    assert w.poll() == []
    assert (x.value(), y.value()) == (1, 1) and len(w.errors) == 1


def test_a_module_the_refused_one_imports_is_held_back_too(tree: Tree) -> None:
    # one edit renames b.helper to b.assist and makes a call it, but a's source is refused
    tree.write(b="def helper():\n    return 'old helper'\n",
               a="from . import b\ndef run():\n    return b.helper()\n",
               c="def value():\n    return 1\n")
    a, b, c = tree.load("a"), tree.load("b"), tree.load("c")
    w = hotswap.Watcher(tree.package)
    tree.write(b="def assist():\n    return 'new assist'\n",
               a="from . import b\ndef run():\n    return b.assist()\n" + REFUSED,
               c="def value():\n    return 2\n")
    reports = w.poll()
    # b is held with a: applying it alone would leave the old a.run calling a removed name
    assert [r.module for r in reports] == [c.__name__] and c.value() == 2
    held = [n for n in reports[0].notes if n.startswith("held back")]
    assert any(f"{b.__name__} keeps its old code (it is linked by imports to {a.__name__}"
               in n for n in held)
    assert a.run() == "old helper" and hasattr(b, "helper") and not hasattr(b, "assist")
    tree.write(a="from . import b\ndef run():\n    return b.assist()\n")  # fixed
    reports = w.poll()
    assert sorted(r.module for r in reports) == sorted([a.__name__, b.__name__])
    assert tree.live("pkg.a.run()") == tree.fresh("pkg.a.run()") == "new assist"
