"""``hotswap.update_many``: several modules as one transaction, in dependency order, all of
them or none; importers of rebound names follow; packages and relative imports."""

from __future__ import annotations

import itertools
import sys
import textwrap

import pytest

import hotswap

_ids = itertools.count()


@pytest.fixture
def package(modules):
    """A fresh package: `package(init_source)` writes its ``__init__`` and returns its name;
    its modules are then created with ``modules(src, name=f"{name}.a")``."""
    made: list[str] = []

    def make(init: str = "") -> str:
        name = f"hs_txpkg_{next(_ids)}"
        folder = modules.root / name
        folder.mkdir()
        (folder / "__init__.py").write_text(textwrap.dedent(init))
        made.append(name)
        return name

    yield make
    for name in made:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


LOG = """
    EVENTS = []
"""

A = """
    from .log import EVENTS

    X = {x}
    Y = 1
    EVENTS.append(("a", {v}))


    def fa():
        return "a{v}"
"""

B = """
    from .log import EVENTS
    from .a import X

    Y = 1
    EVENTS.append(("b", {v}))


    def fb():
        return ("b{v}", X)
"""

C = """
    from .log import EVENTS
    from .b import fb

    EVENTS.append(("c", {v}))


    def fc():
        return ("c{v}", fb())
"""


def _tree(modules, package, x1: int = 1):
    """log, a, b (imports a), c (imports b) in a fresh package; returns their files."""
    pkg = package()
    log = modules(LOG, name=f"{pkg}.log")
    a = modules(A.format(x=x1, v=1), name=f"{pkg}.a")
    b = modules(B.format(v=1), name=f"{pkg}.b")
    c = modules(C.format(v=1), name=f"{pkg}.c")
    return pkg, log, a, b, c


def test_update_many_applies_all_in_dependency_order(modules, package):
    pkg, log, a, b, c = _tree(modules, package)
    events = log.module.EVENTS
    assert events == [("a", 1), ("b", 1), ("c", 1)]
    fa, fb, fc = a.module.fa, b.module.fb, c.module.fc
    a.write(A.format(x=1, v=2))
    b.write(B.format(v=2))
    c.write(C.format(v=2))

    reports = hotswap.update_many([c.module, b.module, a.module])  # importers first

    # each module's changed statements ran (in staging) after those of the modules it imports
    assert events == [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2)]
    # one report per module, in the order given
    assert [r.module for r in reports] == [c.name, b.name, a.name]
    assert all(r.changed and not r.dry_run and r.generation == 1 for r in reports)
    assert [r.functions for r in reports] == [[f"{c.name}.fc"], [f"{b.name}.fb"],
                                             [f"{a.name}.fa"]]
    assert (a.module.fa, b.module.fb, c.module.fc) == (fa, fb, fc)
    assert fa() == "a2"
    assert fb() == ("b2", 1)
    assert fc() == ("c2", ("b2", 1))
    assert c.module.fb is fb  # a function keeps its identity: nothing to rebind
    assert all(hotswap.generation(m.module) == 1 for m in (a, b, c))
    assert log.module.EVENTS is events


def test_update_many_with_one_broken_module_applies_none(modules, package):
    pkg, log, a, b, c = _tree(modules, package)
    mods = [a.module, b.module, c.module]
    codes = {fn: fn.__code__ for fn in (a.module.fa, b.module.fb, c.module.fc)}
    dicts = [dict(m.__dict__) for m in mods]
    a.write(A.format(x=2, v=2))
    b.write(B.format(v=2))
    c.write(C.format(v=2).replace("def fc():", "def fc(:"))  # c comes last: a and b applied

    with pytest.raises(hotswap.UpdateError) as info:
        hotswap.update_many(mods)

    assert info.value.filename == str(c.path)
    assert info.value.lineno == 8
    assert f"{c.path}:8" in str(info.value)
    assert isinstance(info.value.__cause__, SyntaxError)
    assert all(fn.__code__ is code for fn, code in codes.items())
    assert a.module.fa() == "a1"
    assert b.module.fb() == ("b1", 1)
    assert c.module.fc() == ("c1", ("b1", 1))
    assert a.module.X == 1 and b.module.X == 1
    for m, before in zip(mods, dicts):
        assert m.__dict__.keys() == before.keys()
        assert all(m.__dict__[k] is v for k, v in before.items())
    assert [hotswap.generation(m) for m in mods] == [0, 0, 0]
    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(a.module)

    # once c is fixed the same edits apply, all of them
    c.write(C.format(v=2))
    reports = hotswap.update_many(mods)
    assert [r.generation for r in reports] == [1, 1, 1]
    assert a.module.X == 2
    assert (a.module.fa(), b.module.fb()[0], c.module.fc()[0]) == ("a2", "b2", "c2")


def test_update_many_check_failure_undoes_every_module(modules, package):
    pkg, log, a, b, c = _tree(modules, package)
    a.write(A.format(x=1, v=2))
    b.write(B.format(v=2))
    seen = []

    def check():
        seen.append((a.module.fa(), b.module.fb()))
        raise RuntimeError("no")

    with pytest.raises(hotswap.UpdateError) as info:
        hotswap.update_many([a.module, b.module], check=check)

    assert isinstance(info.value.__cause__, RuntimeError)
    assert seen == [("a2", ("b2", 1))]
    assert (a.module.fa(), b.module.fb()) == ("a1", ("b1", 1))
    assert hotswap.generation(a.module) == hotswap.generation(b.module) == 0


def test_from_import_is_rebound_in_an_importer_updated_in_the_same_transaction(
        modules, package):
    pkg, log, a, b, c = _tree(modules, package, x1=1000)
    assert b.module.X == 1000
    assert b.module.Y is a.module.Y  # the same object, but b's own global
    a.write(A.format(x=2000, v=2).replace("Y = 1", "Y = 2"))
    b.write(B.format(v=2))
    c.write(C.format(v=2))

    reports = hotswap.update_many([a.module, b.module, c.module])

    assert a.module.X == 2000 and a.module.Y == 2
    assert b.module.X == 2000  # `from .a import X` follows a.X
    assert b.module.fb() == ("b2", 2000)
    assert c.module.fc() == ("c2", ("b2", 2000))
    assert b.module.Y == 1  # not imported from a: b's own, left alone
    assert f"{b.name}.Y" not in [n for r in reports for n in r.rebound]
    assert f"{a.name}.X" in reports[0].rebound


def test_from_import_is_rebound_in_an_importer_not_updated(modules, package):
    pkg, log, a, b, c = _tree(modules, package, x1=1000)
    fb = b.module.fb
    a.write(A.format(x=2000, v=1).replace("Y = 1", "Y = 2"))

    report = hotswap.update(a.module)

    assert a.module.X == 2000 and a.module.Y == 2
    assert b.module.X == 2000
    assert f"{b.name}.X" in report.rebound
    assert fb() == ("b1", 2000)
    assert b.module.Y == 1
    assert f"{b.name}.Y" not in report.rebound
    assert hotswap.generation(b.module) == 0  # b itself was not updated


def test_importer_that_rebinds_the_name_itself_keeps_its_value(modules, package):
    pkg = package()
    a = modules("X = 'a1'\n", name=f"{pkg}.a")
    b = modules("from .a import X\nX = 'b own'\n", name=f"{pkg}.b")
    a.write("X = 'a2'\n")

    report = hotswap.update(a.module)

    assert a.module.X == "a2"
    assert b.module.X == "b own"
    assert report.rebound == [f"{a.name}.X"]


def test_relative_import_forms_in_a_transaction(modules, package):
    pkg = package()
    a = modules("""
        RATE = 2


        def scale(n):
            return n * RATE
    """, name=f"{pkg}.a")
    b = modules("""
        from . import a
        from .a import scale

        DOUBLED = a.RATE * 2


        def compute(n):
            return (scale(n), a.RATE, DOUBLED)
    """, name=f"{pkg}.b")
    scale = a.module.scale
    assert b.module.compute(5) == (10, 2, 4)
    a.write("""
        RATE = 3


        def scale(n):
            return n * RATE + 1
    """)
    b.write("""
        from . import a
        from .a import scale

        DOUBLED = a.RATE * 10


        def compute(n):
            return (scale(n), a.RATE, DOUBLED, "b2")
    """)

    reports = hotswap.update_many([b.module, a.module])

    assert b.module.scale is scale
    # b's changed DOUBLED line ran after a was applied, so it saw the new a.RATE
    assert b.module.compute(5) == (16, 3, 30, "b2")
    assert [r.module for r in reports] == [b.name, a.name]


def test_changed_package_init_is_applied(modules, package):
    pkg = package("""
        from .core import base

        NAME = "pkg v1"


        def describe():
            return f"{NAME}: {base()}"
    """)
    core = modules("""
        def base():
            return "core v1"
    """, name=f"{pkg}.core")
    init = sys.modules[pkg]
    describe = init.describe
    assert describe() == "pkg v1: core v1"
    (modules.root / pkg / "__init__.py").write_text(textwrap.dedent("""
        from .core import base

        NAME = "pkg v2"
        EXTRA = "added"


        def describe():
            return f"{NAME} / {base()}"
    """))
    core.write("""
        def base():
            return "core v2"
    """)

    reports = hotswap.update_many([pkg, core.name])  # by dotted names

    assert [r.module for r in reports] == [pkg, core.name]
    assert all(r.changed and r.generation == 1 for r in reports)
    assert f"{pkg}.describe" in reports[0].functions
    assert sys.modules[pkg] is init
    assert init.describe is describe
    assert describe() == "pkg v2 / core v2"
    assert init.EXTRA == "added"
    assert hotswap.generation(pkg) == 1
    # the package alone, too
    (modules.root / pkg / "__init__.py").write_text(
        (modules.root / pkg / "__init__.py").read_text().replace("pkg v2", "pkg v3"))
    assert hotswap.update(init).generation == 2
    assert describe() == "pkg v3 / core v2"
