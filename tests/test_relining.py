"""Line numbers of statements that did not change but run again, after lines moved.

A statement below an edit keeps the syntax it was parsed with (only its line range
shifts). When it runs again because it reads a name the update rebinds (here: an import
gaining a name), what it compiles must start where a fresh import has it.
"""

from __future__ import annotations

import inspect
from typing import Any


def _first_line(obj: Any) -> int:
    """Where the plain function under `obj` (under any decorators) says it starts."""
    return inspect.unwrap(obj).__code__.co_firstlineno


CLASS = """\
from json import {names}
X = 1
{above}
class B(JSONEncoder):
    def m(self):
        return 1
    def n(self):
        return 2
"""


def test_methods_of_a_class_run_again_move_once(modules: Any) -> None:
    """The class statement runs again (its base's name was rebound) one line higher: its
    methods were moved by the whole-statement shift and once more as if they had moved
    inside the class (the second method ended two lines low)."""
    mf = modules(CLASS.format(names="JSONEncoder", above="Y = 2\n"))
    mf.update(CLASS.format(names="JSONEncoder, JSONDecoder", above=""))
    fresh = modules.fresh(CLASS.format(names="JSONEncoder, JSONDecoder", above=""))
    for name in ("m", "n"):
        got = _first_line(getattr(mf.module.B, name))
        assert got == _first_line(getattr(fresh.B, name)), name


DECORATED = """\
from functools import {names}
X = 1
{above}
@cache
def f(x):
    return x
"""


def test_a_function_decorated_again_starts_where_it_is_now(modules: Any) -> None:
    """Decorated again (its decorator's name was rebound) one line lower: the function
    took code compiled at its old lines, and being patched it was not re-lined."""
    mf = modules(DECORATED.format(names="cache", above=""))
    mf.update(DECORATED.format(names="cache, partial", above="Y = 2\n"))
    fresh = modules.fresh(DECORATED.format(names="cache, partial", above="Y = 2\n"))
    assert _first_line(mf.module.f) == _first_line(fresh.f)


PROPERTY = """\
from json import {names}
X = 1
{above}
class B:
    @property
    def x(self, kind=JSONEncoder):
        return 1
    @x.setter
    def x(self, value, kind=JSONEncoder):
        pass
"""


def test_methods_run_again_in_a_moved_class_keep_their_identity(modules: Any) -> None:
    """Guards the pairing that the fix above relies on: a class moved by an earlier update
    runs again, and so do its getter and setter (their defaults read the rebound name).
    Defs sharing a name are told apart by their live line; the moved syntax must not
    make them look new (they would be replaced instead of patched)."""
    mf = modules(PROPERTY.format(names="JSONEncoder", above=""))
    getter, setter = mf.module.B.x.fget, mf.module.B.x.fset
    mf.update(PROPERTY.format(names="JSONEncoder", above="Y = 2\n"))
    mf.update(PROPERTY.format(names="JSONEncoder, JSONDecoder", above="Y = 2\n"))
    fresh = modules.fresh(PROPERTY.format(names="JSONEncoder, JSONDecoder", above="Y = 2\n"))
    assert mf.module.B.x.fget is getter and mf.module.B.x.fset is setter
    assert _first_line(getter) == _first_line(fresh.B.x.fget)
    assert _first_line(setter) == _first_line(fresh.B.x.fset)


DECO = """\
{above}import functools

def deco(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper
"""


def test_wrappers_another_module_holds_are_re_lined_when_their_decorator_moves(modules):
    """A decorator's wrappers are closures it made: when lines are inserted above the
    decorator, those held by a module that imports it (``@deco`` applied there) start
    where a fresh import has them, still without walking the heap."""
    base = modules(DECO.format(above=""), name="hs_relining_pkg.base")
    user = modules("from .base import deco\n\n@deco\ndef f(x):\n    return x\n",
                   name="hs_relining_pkg.user")
    wrapper = user.module.f
    report = base.update(DECO.format(above="X = 1\nY = 2\n"))
    fresh = modules(DECO.format(above="X = 1\nY = 2\n"))
    fresh_wrapper = fresh.module.deco(lambda x: x)
    assert report.heap_walks == 0
    assert wrapper.__code__.co_firstlineno == fresh_wrapper.__code__.co_firstlineno
    assert user.module.f is wrapper and wrapper(3) == 3


OVERLOADS = """\
import functools
{above}
@functools.singledispatch
def show(x):
    return "object"

@show.register(int)
def _(x):
    return "int"

@show.register(str)
def _(x):
    return "str"

class Shape:
    @functools.singledispatchmethod
    def fit(self, x):
        return "any"

    @fit.register(int)
    def _(self, x):
        return "int"

    @fit.register(str)
    def _(self, x):
        return "str"
"""


def test_overloads_held_only_by_their_registry_move_with_their_lines(modules: Any) -> None:
    """An overload named ``_`` that a later ``_`` shadows is held by its dispatcher's
    registry alone: it is found there, and its lines move like the others', so its
    tracebacks point where a fresh import's would (and an edit later finds it there)."""
    mf = modules(OVERLOADS.format(above="X = 1\nY = 2\n"))
    mf.update(OVERLOADS.format(above=""))
    fresh = modules.fresh(OVERLOADS.format(above=""))
    m = mf.module
    methods = (m.Shape.__dict__["fit"].dispatcher, fresh.Shape.__dict__["fit"].dispatcher)
    for live, new in ((m.show, fresh.show), methods):
        for t in (object, int, str):
            assert _first_line(live.registry[t]) == _first_line(new.registry[t]), (live, t)


def test_an_overload_retyped_after_lines_moved_leaves_its_old_type(modules: Any) -> None:
    """The retyped overload is found in the registry by the lines its code has, which must
    have followed the lines its statement moved to (here: five lines up)."""
    mf = modules(OVERLOADS.format(above="A = 1\nB = 2\nC = 3\nD = 4\nE = 5\n"))
    mf.update(OVERLOADS.format(above=""))
    mf.update(OVERLOADS.format(above="").replace("show.register(int)", "show.register(bytes)"))
    show = mf.module.show
    assert (show(1), show(b"x"), show("a")) == ("object", "int", "str")
    assert set(show.registry) == {object, bytes, str}


DECORATED_NOW = """\
import functools
{above}
def deco(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper


{decorator}
def f(x):
    return 0
"""


def test_a_wrapper_made_by_a_moved_decorator_in_the_same_update_starts_where_it_is_now(
        modules: Any) -> None:
    """A line is inserted above the decorator and `f` is decorated with it in one edit.
    Staging runs the live decorator, whose code still has the old lines: the wrapper it
    makes is moved with it (found by the stateful test)."""
    mf = modules(DECORATED_NOW.format(above="", decorator=""))
    new = DECORATED_NOW.format(above="K = 0\n", decorator="@deco")
    mf.update(new)
    fresh = modules.fresh(new)
    assert mf.module.f.__code__.co_firstlineno == fresh.f.__code__.co_firstlineno
    assert mf.module.deco.__code__.co_firstlineno == fresh.deco.__code__.co_firstlineno
    assert mf.module.f(1) == 0
