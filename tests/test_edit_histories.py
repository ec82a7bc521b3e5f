"""Shapes met replaying real libraries' edit histories (issue 19): each update must leave
the live program answering as a fresh process of the new sources does."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hotswap
from fresh_tree import Tree

sys.dont_write_bytecode = True


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Tree]:
    sys.path.insert(0, str(tmp_path))
    t = Tree(tmp_path)
    try:
        yield t
    finally:
        sys.path.remove(str(tmp_path))
        t.unload()


def same_as_fresh(tree: Tree, probe: str) -> None:
    assert tree.live(probe) == tree.fresh(probe)


# -- case 4: a no-op `from __future__` import ------------------------------------------------

@pytest.mark.parametrize("feature", ["absolute_import", "generator_stop", "division",
                                     "print_function", "with_statement", "unicode_literals",
                                     "nested_scopes", "generators"])
def test_a_mandatory_future_import_removed_or_added_is_an_edit(tree: Tree, feature: str) -> None:
    tree.write(m=f'''
        from __future__ import {feature}
        def f():
            return 1
    ''')
    m = tree.load("m")
    f = m.f
    tree.write(m="def f():\n    return 2\n")
    hotswap.update(m)
    assert f is m.f and f() == 2
    probe = f"[pkg.m.f(), hasattr(pkg.m, {feature!r})]"
    same_as_fresh(tree, probe)
    tree.write(m=f"from __future__ import {feature}\ndef f():\n    return 3\n")
    hotswap.update(m)
    same_as_fresh(tree, probe)


def test_a_future_import_that_changes_compilation_is_still_refused(tree: Tree) -> None:
    tree.write(m="def f(x: int) -> int:\n    return x\n")
    m = tree.load("m")
    tree.write(m="from __future__ import annotations\ndef f(x: int) -> int:\n    return 2\n")
    with pytest.raises(hotswap.UpdateError, match="__future__"):
        hotswap.update(m)
    assert m.f(1) == 1


# -- case 3: a rebuilt class whose body defines a data descriptor of `type` ------------------

RENAMED = '''
class Named{header}:
    """{doc}"""
    @property
    def __name__(self):
        return "instance name {version}"
    @property
    def __doc__(self):
        return "instance doc {version}"
    def f(self):
        return {version}
OBJ = Named()
'''


def test_a_rebuilt_class_takes_properties_named_like_type_attributes(tree: Tree) -> None:
    tree.write(m=RENAMED.format(header="(object)", doc="one", version=1))
    m = tree.load("m")
    cls, obj = m.Named, m.OBJ
    before = dict(cls.__dict__)
    tree.write(m=RENAMED.format(header="", doc="two", version=2))
    report = hotswap.update(m)
    assert "Named" in str(report.rebuilt) and m.Named is cls
    probe = "[pkg.m.OBJ.__name__, pkg.m.OBJ.__doc__, pkg.m.Named.__name__, pkg.m.OBJ.f()]"
    same_as_fresh(tree, probe)
    assert [obj.__name__, obj.__doc__, obj.f()] == ["instance name 2", "instance doc 2", 2]
    assert type(cls.__dict__["__name__"]) is property
    hotswap.rollback(m)
    assert dict(cls.__dict__).keys() == before.keys()
    assert all(cls.__dict__[k] is v for k, v in before.items() if k != "f")
    assert obj.__name__ == "instance name 1" and cls.__name__ == "Named" and obj.f() == 1


def test_a_property_named_like_a_type_attribute_removed_from_a_rebuilt_class(
        tree: Tree) -> None:
    tree.write(m=RENAMED.format(header="(object)", doc="one", version=1))
    m = tree.load("m")
    tree.write(m="class Named:\n    def f(self):\n        return 2\nOBJ = Named()\n")
    hotswap.update(m)
    assert "__name__" not in m.Named.__dict__ and m.Named.__name__ == "Named"
    same_as_fresh(tree, "[type(pkg.m.OBJ).__name__, hasattr(pkg.m.OBJ, '__name__'), "
                        "pkg.m.OBJ.f()]")


def test_a_class_entry_named_like_a_metaclass_property_is_stored_as_an_entry(
        tree: Tree) -> None:
    source = '''
        class Meta(type):
            @property
            def label(cls):
                return "meta"
        class K(metaclass=Meta):
            label = {value!r}
            def get(self):
                return self.label
    '''
    tree.write(m=source.format(value="one"))
    m = tree.load("m")
    k = m.K()
    tree.write(m=source.format(value="two"))
    hotswap.update(m)
    assert k.get() == "two"
    same_as_fresh(tree, "[pkg.m.K().get(), pkg.m.K.label]")


# -- case 2: a changed statement reading a temporary an unchanged `del` removed --------------

TEMPORARY = '''
import operator
COUNT = [0]
NAMES = sorted(k for k in vars(operator) if k.startswith({prefix!r}))
del operator
'''


def test_a_changed_statement_reads_a_deleted_temporary(tree: Tree) -> None:
    tree.write(m=TEMPORARY.format(prefix="a"))
    m = tree.load("m")
    m.COUNT[0] = 5  # state an unchanged statement holds
    count = m.COUNT
    tree.write(m=TEMPORARY.format(prefix="i"))
    hotswap.update(m)
    assert m.COUNT is count and "operator" not in vars(m)
    same_as_fresh(tree, "[pkg.m.NAMES, hasattr(pkg.m, 'operator')]")


CLASS_TEMPORARY = '''
class Table:
    import operator
    NAMES = sorted(k for k in vars(operator) if k.startswith({prefix!r}))
    del operator
    def names(self):
        return self.NAMES
'''


def test_a_changed_class_statement_reads_a_deleted_class_temporary(tree: Tree) -> None:
    tree.write(m=CLASS_TEMPORARY.format(prefix="a"))
    m = tree.load("m")
    table = m.Table()
    tree.write(m=CLASS_TEMPORARY.format(prefix="i"))
    hotswap.update(m)
    assert table.names() == tree.fresh("pkg.m.Table().names()")
    same_as_fresh(tree, "[pkg.m.Table().names(), hasattr(pkg.m.Table, 'operator')]")


def test_a_changed_del_of_a_temporary(tree: Tree) -> None:
    tree.write(m="import operator\nX = operator.add(1, 2)\ndel operator\n")
    m = tree.load("m")
    tree.write(m="import operator\nX = operator.add(1, 2)\nY = 4\ndel operator, \\\n    Y\n")
    hotswap.update(m)
    same_as_fresh(tree, "[pkg.m.X, hasattr(pkg.m, 'Y'), hasattr(pkg.m, 'operator')]")
