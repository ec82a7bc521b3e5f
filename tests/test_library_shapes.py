"""Shapes the replay of real libraries' releases found silent (issue 19, benchmarks/replay):
each is a minimal example of the library's shape, and each update must leave the live
program answering as a fresh process importing the new source does."""

from __future__ import annotations

import sys

import hotswap
from fresh_tree import Tree

sys.dont_write_bytecode = True


def same_as_fresh(tree: Tree, probe: str) -> None:
    assert tree.live(probe) == tree.fresh(probe)


# -- (A) toolz `excepts`: a class body binding `__doc__` again below its docstring ---------

INSTANCEPROPERTY = '''
class instanceproperty(property):
    def __init__(self, fget=None, classval=None):
        super().__init__(fget)
        self.classval = classval

    def __get__(self, obj, owner=None):
        return self.classval if obj is None else self.fget(obj)

    @classmethod
    def make(cls, classval):
        return lambda fget: cls(fget, classval)
'''

EXCEPTS = INSTANCEPROPERTY + '''
class Excepts:
    """{doc}"""
    def __init__(self, name):
        self.name = name

    @instanceproperty.make(classval=__doc__)
    def __doc__(self):
        return "wraps " + self.name

class Plain:
    """{doc}"""
    __doc__ = property(lambda self: "a plain instance")
'''

DOC_PROBE = ("[pkg.m.Excepts.__doc__, pkg.m.Excepts('f').__doc__, "
             "type(vars(pkg.m.Excepts)['__doc__']).__name__, pkg.m.Plain().__doc__]")


def test_a_changed_docstring_leaves_the_descriptor_the_body_binds_last(tree: Tree) -> None:
    tree.write(m=EXCEPTS.format(doc="Catch exceptions."))
    m = tree.load("m")
    excepts, plain = m.Excepts, m.Plain
    tree.write(m=EXCEPTS.format(doc="Catch exceptions\n\n    and handle them."))
    hotswap.update(m)
    assert m.Excepts is excepts and m.Plain is plain
    assert m.Excepts("g").__doc__ == "wraps g"  # the instance property, not the string
    # its class value is the new docstring, as the re-run decorator read it
    assert m.Excepts.__doc__ == "Catch exceptions\n\n    and handle them."
    same_as_fresh(tree, DOC_PROBE)


def test_a_doc_binder_removed_leaves_the_docstring(tree: Tree) -> None:
    tree.write(m=EXCEPTS.format(doc="first"))
    m = tree.load("m")
    tree.write(m=INSTANCEPROPERTY + 'class Plain:\n    """second"""\n'
                                    'class Excepts:\n    """third"""\n')
    hotswap.update(m)  # not refused: a fresh import of it works
    same_as_fresh(tree, "[pkg.m.Plain.__doc__, pkg.m.Plain().__doc__, pkg.m.Excepts.__doc__]")


def test_a_doc_binder_reading_the_docstring_follows_it(tree: Tree) -> None:
    source = 'class C:\n    """{doc}"""\n    __doc__ = __doc__.upper()\n    LOUD = __doc__\n'
    tree.write(m=source.format(doc="quiet"))
    m = tree.load("m")
    tree.write(m=source.format(doc="quieter"))
    hotswap.update(m)
    same_as_fresh(tree, "[pkg.m.C.__doc__, pkg.m.C.LOUD]")
