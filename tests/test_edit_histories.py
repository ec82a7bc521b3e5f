"""Module bodies edited as real libraries' histories edit them (issue 19, and the engine
review after it): which changed statements run again, the temporaries they read, the
statements derived from a changed definition, and the whole-module fallback. Each update
leaves the live program answering as a fresh process of the new sources does (state
kept), or refuses it changing nothing, running nothing more."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hotswap

from helpers.fresh_tree import Tree

sys.dont_write_bytecode = True


def same_as_fresh(tree: Tree, probe: str) -> None:
    assert tree.live(probe) == tree.fresh(probe)


def fresh_import_fails(tree: Tree, name: str) -> str:
    """The error a fresh interpreter gives importing module `name` of the tree ('' if none)."""
    out = subprocess.run([sys.executable, "-c", f"import {tree.dotted(name)}"],
                         cwd=tree.root, capture_output=True, text=True)
    return out.stderr.strip().splitlines()[-1] if out.returncode else ""


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


# (``annotations`` added or removed applies, and another significant feature is refused:
# tests/test_future_edits.py)


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


# -- a source a fresh process imports is never refused for a reason of hotswap's own -------

LATER = '''
LIMIT = 10
DOUBLE = LIMIT * {factor}
LIMIT = "ten"
def double():
    return DOUBLE
class Box:
    def size(self):
        return {factor}
'''


def test_a_changed_statement_reads_a_name_rebound_below_at_its_import_time_value(
        tree: Tree) -> None:
    tree.write(m=LATER.format(factor=2))
    m = tree.load("m")
    double, box_class, box = m.double, m.Box, m.Box()
    tree.write(m=LATER.format(factor=3))  # on the live globals, LIMIT is "ten": "ten" * 3
    report = hotswap.update(m)
    assert not report.warnings and any("LIMIT = 10" in r for r in report.rerun)
    assert m.double is double and m.Box is box_class and box.size() == 3
    same_as_fresh(tree, "[pkg.m.DOUBLE, pkg.m.LIMIT, pkg.m.double(), pkg.m.Box().size()]")


CONFIGURED = '''
CONFIG = {{"size": 1}}
SIZE = CONFIG["size"] * {factor}
def size():
    return SIZE
'''


def test_a_changed_statement_failing_on_live_state_runs_the_whole_module(
        tree: Tree, caplog: pytest.LogCaptureFixture) -> None:
    tree.write(m=CONFIGURED.format(factor=2))
    m = tree.load("m")
    size = m.size
    del m.CONFIG["size"]  # the program changed the state the changed statement reads
    tree.write(m=CONFIGURED.format(factor=3))
    report = hotswap.update(m)
    assert any("whole module ran again" in w and "KeyError" in w for w in report.warnings)
    assert any("whole module ran again" in r.getMessage() for r in caplog.records
               if r.levelname == "WARNING")
    assert m.size is size
    # CONFIG, bound by an unchanged statement, keeps the live value the program changed
    assert m.CONFIG == {} and m.size() == tree.fresh("pkg.m.size()") == 3


def test_a_source_broken_for_a_fresh_process_too_is_refused_changing_nothing(
        tree: Tree) -> None:
    tree.write(log="CALLS = []\n", m="from . import log\nlog.CALLS.append(1)\nX = 1\n")
    m = tree.load("m")
    log = tree.load("log")
    tree.write(m="from . import log\nlog.CALLS.append(1)\nX = 1\nY = X + missing\nX = 'x'\n")
    with pytest.raises(hotswap.UpdateError) as info:
        hotswap.update(m)
    assert info.value.filename == str(tree.path("m")) and ":4:" in str(info.value)
    assert "missing" in str(info.value)
    assert m.X == 1 and not hasattr(m, "Y") and log.CALLS == [1]


# -- case 1: names re-exported with `from .sub import *` -------------------------------------

def test_a_definition_moved_between_star_imported_modules(tree: Tree) -> None:
    tree.write(__init__="from .a import *\nfrom .b import *\n",
               a="import math\n__all__ = ['f', 'g']\n"
                 "def f():\n    return math.floor(2.5)\ndef g():\n    return 'g'\n",
               b="__all__ = ['h']\ndef h():\n    return 'h'\n",
               user="from . import f\ndef use():\n    return f()\n")
    pkg = tree.load()
    user = tree.load("user")
    tree.write(a="__all__ = ['g']\ndef g():\n    return 'g'\n",
               b="import math\n__all__ = ['h', 'f']\n"
                 "def h():\n    return 'h'\ndef f():\n    return math.floor(3.5)\n")
    hotswap.update_many([pkg.a, pkg.b])
    assert user.use() == 3 and pkg.f is pkg.b.f
    same_as_fresh(tree, "[pkg.f(), pkg.user.use(), pkg.g(), pkg.h(), hasattr(pkg.a, 'f')]")


def test_a_name_added_to_and_removed_from_all_of_a_star_imported_module(tree: Tree) -> None:
    tree.write(__init__="from .a import *\nfrom .b import *\nLATE = 'own'\n",
               a="__all__ = ['f']\ndef f():\n    return 1\nLATE = 'a'\n_hidden = 1\n",
               b="X = 1\n")
    pkg = tree.load()
    probe = ("sorted(k for k in vars(pkg) if not k.startswith('__') and k not in ('a', 'b'))"
             " + [pkg.LATE]")
    tree.write(a="__all__ = ['f', 'g', 'LATE', '_hidden']\ndef f():\n    return 1\n"
                 "def g():\n    return 2\nLATE = 'a'\n_hidden = 1\n")
    report = hotswap.update(pkg.a)
    assert pkg.g() == 2
    assert any(f"{pkg.__name__}.g added" in n for n in report.notes)
    same_as_fresh(tree, probe)
    tree.write(a="__all__ = ['g']\ndef f():\n    return 1\ndef g():\n    return 2\n"
                 "LATE = 'a'\n_hidden = 1\n")
    hotswap.update(pkg.a)
    same_as_fresh(tree, probe)
    tree.write(b="X = 2\nY = 3\n_private = 4\n")  # no __all__: its public names
    hotswap.update(pkg.b)
    same_as_fresh(tree, probe + " + [pkg.X, pkg.Y]")


# -- case 6: instances built by the old __init__ lack what the new one sets ------------------

COUNTER = '''
class Counter:
    def __init__(self, start):
        self.count = start
{extra}    def over(self):
        return {body}
class Sub(Counter):
    pass
BUILT = [Counter(1), Counter(2), Sub(3)]
'''


def test_old_instances_lacking_what_a_new_init_sets_are_reported(
        tree: Tree, caplog: pytest.LogCaptureFixture) -> None:
    tree.write(m=COUNTER.format(extra="", body="False"))
    m = tree.load("m")
    built = list(m.BUILT)
    tree.write(m=COUNTER.format(extra="        self.max_count = 10\n        self.name = 'c'\n",
                                body="self.count > self.max_count"))
    report = hotswap.update(m)
    warned = [w for w in report.warnings if "Counter" in w]
    assert len(warned) == 1 and "3 instance(s)" in warned[0]
    assert "max_count, name" in warned[0] and "__hotswap_migrate__" in warned[0]
    assert any("max_count" in r.getMessage() for r in caplog.records
               if r.levelname == "WARNING")
    assert report.heap_walks == 1
    # what the report warns about is what differs from a fresh process: the old objects
    assert tree.fresh("[c.over() for c in pkg.m.BUILT]") == [False, False, False]
    with pytest.raises(AttributeError):
        built[0].over()


def test_a_plain_body_edit_of_init_walks_no_heap_and_warns_nothing(tree: Tree) -> None:
    tree.write(m=COUNTER.format(extra="", body="False"))
    m = tree.load("m")
    tree.write(m=COUNTER.format(extra="", body="False").replace("self.count = start",
                                                                  "self.count = start + 1"))
    report = hotswap.update(m)
    assert report.heap_walks == 0 and not report.warnings


def test_a_class_with_a_migration_hook_is_not_warned_about(tree: Tree) -> None:
    hook = "    def __hotswap_migrate__(self):\n        self.max_count = 10\n"
    tree.write(m=COUNTER.format(extra=hook, body="False"))
    m = tree.load("m")
    built = list(m.BUILT)
    tree.write(m=COUNTER.format(extra="        self.max_count = 10\n" + hook,
                                body="self.count > self.max_count"))
    report = hotswap.update(m)
    assert not report.warnings
    assert [c.over() for c in built] == tree.fresh("[c.over() for c in pkg.m.BUILT]")


# -- case 5: unchanged statements deriving from a changed definition -------------------------

STATS = '''
class Stats:
    def __init__(self, data):
        self.data = data
    def _calc_total(self):
        return sum(self.data)
{extra}
for _name in [n for n in vars(Stats) if n.startswith("_calc_")]:
    globals()[_name[6:]] = getattr(Stats, _name)
    delattr(Stats, _name)
REGISTRY = {{}}
def register(cls):
    REGISTRY[cls.__name__] = sorted(vars(cls))
register(Stats)
'''
MODE = "    def _calc_mode(self):\n        return max(set(self.data), key=self.data.count)\n"


def test_a_statement_publishing_a_changed_class_s_members_runs_again(
        tree: Tree, caplog: pytest.LogCaptureFixture) -> None:
    tree.write(m=STATS.format(extra=""))
    m = tree.load("m")
    stats = m.Stats([1, 2, 2])
    tree.write(m=STATS.format(extra=MODE))
    report = hotswap.update(m)
    assert any("reads Stats, which changed" in r for r in report.rerun)
    probe = ("[pkg.m.total(pkg.m.Stats([1, 2, 2])), pkg.m.mode(pkg.m.Stats([1, 2, 2])), "
             "sorted(k for k in vars(pkg.m.Stats) if k.startswith('_calc'))]")
    same_as_fresh(tree, probe)
    assert m.mode(stats) == 2
    # the registration is not safe to run again (it calls the program's own code): named
    warned = [w for w in report.warnings if "reads `Stats`" in w]
    assert len(warned) == 1 and "line 16 of m.py" in warned[0] and "register" in warned[0]
    assert any("line 16 of m.py" in r.getMessage() for r in caplog.records
               if r.levelname == "WARNING")
    hotswap.rollback(m)
    assert not hasattr(m, "mode") and "_calc_mode" not in vars(m.Stats)


def test_a_plain_method_body_edit_reruns_and_warns_nothing(tree: Tree) -> None:
    tree.write(m=STATS.format(extra=MODE))
    m = tree.load("m")
    tree.write(m=STATS.format(extra=MODE.replace("max(", "min(")))
    report = hotswap.update(m)
    assert not report.warnings and not report.rerun and report.heap_walks == 0


def test_a_statement_reading_what_it_rebinds_itself_reads_the_import_time_value(
        tree: Tree) -> None:
    source = "import functools\nNAMES = ['a']\nNAMES = NAMES + [{new!r}]\nCOUNT = len(NAMES)\n"
    tree.write(m=source.format(new="b"))
    m = tree.load("m")
    tree.write(m=source.format(new="c"))
    hotswap.update(m)
    same_as_fresh(tree, "[pkg.m.NAMES, pkg.m.COUNT]")  # not ['a', 'b', 'c']


def test_a_method_edit_of_a_self_annotated_class_stays_on_the_fast_path(tree: Tree) -> None:
    source = '''
        from __future__ import annotations
        class Node:
            def __init__(self, parent: Node | None = None) -> None:
                self.parent = parent
            def depth(self) -> int:
                return {body}
            def link(self, other: Later) -> Later:
                return other
        class Later:
            pass
        ROOT = Node()
    '''
    tree.write(m=source.format(body="0"))
    m = tree.load("m")
    root = m.ROOT
    tree.write(m=source.format(body="0 if self.parent is None else 1 + self.parent.depth()"))
    report = hotswap.update(m)
    assert not report.warnings and m.ROOT is root
    assert report.functions == [f"{m.__name__}.Node.depth"]
    same_as_fresh(tree, "pkg.m.Node(pkg.m.Node()).depth()")


def test_the_whole_module_fallback_reads_no_live_value_a_fresh_import_lacks(
        tree: Tree) -> None:
    source = '''
        def wrap(fn):
            return lambda *a: ("wrapped", fn(*a))
        len = wrap(len)
        CONFIG = {{"size": 1}}
        SIZE = CONFIG["size"] * {factor} + len("ab")[1]
    '''
    tree.write(m=source.format(factor=2))
    m = tree.load("m")
    del m.CONFIG["size"]  # the changed statement fails on the live state: whole module
    tree.write(m=source.format(factor=3))
    report = hotswap.update(m)
    assert any("whole module" in n for n in report.warnings)
    same_as_fresh(tree, "[pkg.m.SIZE, pkg.m.len('ab')]")  # wrapped once, not twice


def test_a_dataclass_field_without_a_default_is_reported_one_with_a_default_filled(
        tree: Tree) -> None:
    source = ("import dataclasses\n@dataclasses.dataclass\nclass Point:\n    x: int\n"
              "{extra}    def __post_init__(self):\n        self.norm = abs(self.x)\n"
              "ORIGIN = Point(0)\n")
    tree.write(m=source.format(extra=""))
    m = tree.load("m")
    origin = m.ORIGIN
    tree.write(m=source.format(extra="    y: int = dataclasses.field()\n    z: int = 5\n"))
    report = hotswap.update(m)
    warned = [w for w in report.warnings if "Point" in w]
    assert len(warned) == 1 and "lack y, which the new __init__ sets" in warned[0]
    assert origin.z == 5 and not hasattr(origin, "y")


def test_a_changed_class_statement_reads_a_module_name_rebound_below(tree: Tree) -> None:
    source = "LIMIT = 10\nclass Box:\n    SIZE = LIMIT * {k}\n    def size(self):\n" \
             "        return self.SIZE\nLIMIT = 'ten'\n"
    tree.write(m=source.format(k=2))
    m = tree.load("m")
    box = m.Box()
    tree.write(m=source.format(k=3))
    report = hotswap.update(m)
    assert not report.warnings and box.size() == 30
    same_as_fresh(tree, "[pkg.m.Box().size(), pkg.m.LIMIT]")


# -- the whole-module fallback ------------------------------------------------------------

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


# -- derived statements run again ---------------------------------------------------------

PUBLISHED_STATS = '''
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
    return PUBLISHED_STATS.format(other="registry", extra=extra, publish=publish)


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


# -- a class-body temporary named like a module global ------------------------------------

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


# -- an old statement's effect on an object, changed in place, stays ---------------------------

HANDLERS = '''
HANDLERS = []
TABLE = {{}}
def h1():
    return 1
def h2():
    return 2
def h3():
    return 3
{first}
HANDLERS.append(h2)
TABLE["a"] = {value}
'''


def test_a_changed_call_that_appended_is_named_where_the_list_differs_from_fresh(
        tree: Tree) -> None:
    """`HANDLERS.append(h1)` become `HANDLERS.append(h3)`: the new call runs, nothing can
    take the old one's append back, so the live list differs from a fresh import's. The
    report says so, naming the old statement and the list (it said only that the new
    statement ran)."""
    tree.write(m=HANDLERS.format(first="HANDLERS.append(h1)", value="h1"))
    m = tree.load("m")
    tree.write(m=HANDLERS.format(first="HANDLERS.append(h3)", value="h1"))
    report = hotswap.update(m)
    probe = "[f() for f in pkg.m.HANDLERS]"
    assert tree.live(probe) == [1, 2, 3] and tree.fresh(probe) == [3, 2]
    assert len(report.warnings) == 1, report.warnings
    assert "`HANDLERS.append(h1)` (line 10 of the previous source)" in report.warnings[0]
    assert "changed HANDLERS in place" in report.warnings[0]


def test_an_item_set_again_by_the_new_source_is_no_stale_effect(tree: Tree) -> None:
    """`TABLE["a"] = h1` become `TABLE["a"] = h2`: the new statement sets the same item,
    so nothing of the old one stays, and nothing is reported; a statement removed that
    had appended is."""
    tree.write(m=HANDLERS.format(first="HANDLERS.append(h1)", value="h1"))
    m = tree.load("m")
    tree.write(m=HANDLERS.format(first="HANDLERS.append(h1)", value="h2"))
    report = hotswap.update(m)
    assert not report.warnings, report.warnings
    same_as_fresh(tree, "[pkg.m.TABLE['a'](), [f() for f in pkg.m.HANDLERS]]")
    tree.write(m=HANDLERS.format(first="", value="h2"))
    report = hotswap.update(m)
    assert [w.split(" (")[0] for w in report.warnings] == ["`HANDLERS.append(h1)`"]
