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


# -- (C) six: a re-run statement changes an object later unchanged statements changed too --

MOVES = '''
class Importer:
    def __init__(self):
        self.known = {{}}

    def add(self, obj, *names):
        for name in names:
            self.known["six.moves." + name] = obj

_importer = Importer()

class Lazy:
    def __init__(self, name, target):
        self.name, self.target = name, target

class Items:
    pass

class Urllib:
    pass

MOVED = [Lazy("queue", "{queue}"), Lazy("urllib", "six.moves.urllib")]
for attr in MOVED:
    setattr(Items, attr.name, attr)
    _importer.add(attr, attr.name)
del attr

URLLIB = Urllib()
_importer.add(URLLIB, "urllib")
_importer.add(Urllib(), "urllib_parse", "urllib.parse")
Items.urllib = URLLIB
'''

MOVES_PROBE = ("[sorted((k, type(v).__name__) for k, v in pkg.m._importer.known.items()), "
               "pkg.m._importer.known['six.moves.urllib'] is pkg.m.URLLIB, "
               "pkg.m._importer.known['six.moves.urllib.parse'] is "
               "pkg.m._importer.known['six.moves.urllib_parse'], "
               "type(pkg.m.Items.urllib).__name__, pkg.m.Items.queue.target]")


def test_later_statements_changing_what_a_rerun_statement_changes_run_after_it(
        tree: Tree) -> None:
    tree.write(m=MOVES.format(queue="Queue"))
    m = tree.load("m")
    importer, urllib = m._importer, m.URLLIB
    parse = m._importer.known["six.moves.urllib_parse"]
    tree.write(m=MOVES.format(queue="queue"))
    report = hotswap.update(m)
    # the loop ran again (it reads MOVED) and put a Lazy under "urllib"; the later
    # statements put the Urllib back, as in a fresh import, and are named as re-run
    assert m._importer is importer and m._importer.known["six.moves.urllib"] is urllib
    assert any("_importer.add(URLLIB" in r and "it changes _importer" in r
               for r in report.rerun)
    assert any("Items.urllib = URLLIB" in r for r in report.rerun)
    # made again, an object the unchanged statement made at import is that same object
    assert m._importer.known["six.moves.urllib_parse"] is parse
    assert m._importer.known["six.moves.urllib.parse"] is parse
    same_as_fresh(tree, MOVES_PROBE)


def test_a_call_of_a_module_function_is_not_a_change_of_that_module(tree: Tree) -> None:
    source = 'import re\nA = re.compile("{a}")\nB = re.compile("b")\nCOUNT = [0]\n'
    tree.write(m=source.format(a="a"))
    m = tree.load("m")
    b = m.B
    tree.write(m=source.format(a="aa"))
    report = hotswap.update(m)
    assert m.B is b and len(report.rerun) == 1
    same_as_fresh(tree, "[pkg.m.A.pattern, pkg.m.B.pattern]")


def test_a_rerun_statement_only_adding_entries_runs_no_later_one(tree: Tree) -> None:
    source = ('class App:\n    def __init__(self):\n        self.routes = {{}}\n'
              '    def add(self, path, view):\n        self.routes[path] = view\n'
              'APP = App()\nAPP.add("/", "index")\n{new}APP.add("/about", "about")\n')
    tree.write(m=source.format(new=""))
    m = tree.load("m")
    tree.write(m=source.format(new='APP.add("/new", "new")\n'))
    report = hotswap.update(m)
    assert report.rerun == ["line 8: APP.add('/new', 'new')"]
    same_as_fresh(tree, "sorted(pkg.m.APP.routes.items())")
