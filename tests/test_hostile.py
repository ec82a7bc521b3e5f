"""Hostile heaps: an update that walks the heap meets objects that fight back.

Each heap-walking edit (a changed nested function with live closures, a class with a
``__hotswap_migrate__`` hook, a ``__slots__`` change that replaces a class, a dataclass
that gains a field) is applied while the heap, the module's globals, its class bodies and
its changing module-level tables hold objects whose ``__eq__``, ``__hash__``, ``__bool__``,
``__getattr__``, ``__getattribute__``, ``__class__`` or ``__dict__`` raise or lie; mocks
(which record every call and grow a child on every attribute read); a numpy-like object
whose ``__eq__`` returns something whose truth value raises; C objects; a list of a
million ints; weak references (dead ones too) and weak dictionaries; objects whose
``__del__`` resurrects them, creates instances and raises, collected in the middle of the
update.

Every hostile hook counts its calls in ``CALLS``: the update must call none of them,
leave every hostile object as it was, and still apply correctly to everything else.
"""

from __future__ import annotations

import array
import collections
import functools
import gc
import importlib.util
import io
import itertools
import operator
import re
import sys
import textwrap
import types
import weakref
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest

import hotswap

from helpers import hostile
from helpers.hostile import (CALLS, GRAVE, HOSTILE_KINDS, UNRAISABLE, ArrayLike, ClassLiar,
                             ClassRaiser, DictLiar, DictRaiser, EqMeta, GetattrLiar,
                             HostileError, MetaHeld, Phoenix, Raiser, hit)

@pytest.fixture
def zoo_module(monkeypatch):
    """helpers/hostile.py, importable as ``hs_zoo`` by the modules under test; counters
    reset."""
    monkeypatch.setitem(sys.modules, "hs_zoo", hostile)
    CALLS.clear()
    GRAVE.clear()
    UNRAISABLE.clear()
    monkeypatch.setattr(sys, "unraisablehook",
                        lambda u: UNRAISABLE.append(f"{type(u.exc_value).__name__}: {u.exc_value}"))
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()
    GRAVE.clear()


# -- the module under update --------------------------------------------------------------

V1 = '''
import dataclasses
import weakref
from unittest import mock

from hs_zoo import (ArrayLike, ClassLiar, ClassRaiser, DictLiar, DictRaiser, GetattrLiar,
                    Raiser, start_collecting)

# hostile objects in the module's own globals
RAISER = Raiser()
ARRAY = ArrayLike(1, 2, 3)
MOCK = mock.MagicMock(name="module mock")
NC_MOCK = mock.NonCallableMagicMock(name="module nc mock")
GHOST = GetattrLiar()
LIAR_TYPE = ClassLiar(type)
DICT_LIAR = DictLiar()
DEAD = weakref.proxy(mock.MagicMock())  # dead at once: every use raises ReferenceError

# module-level tables that change, holding hostile values
TABLE = {"raiser": Raiser(), "array": ArrayLike(4), "mock": MOCK, "version": 1,
         "handler": lambda x: x + 1, "dead": DEAD, "state": None}
ROWS = [ArrayLike(5), Raiser(), ClassRaiser(), "v1"]


def make_counter(start):
    box = [start]

    def step(by=1):
        box[0] += by
        return box[0]
    return step


class Hooked:
    BYSTANDER = Raiser()  # hostile class attribute
    ARRAY = ArrayLike(7)  # hostile class attribute
    MOCK = mock.NonCallableMagicMock(name="class body mock")  # hostile class attribute
    GHOST = GetattrLiar()  # hostile class attribute
    LIAR = ClassLiar(type)  # hostile class attribute
    RAISER_CLASS = ClassRaiser()  # hostile class attribute
    DICT_RAISER = DictRaiser()  # hostile class attribute

    def __init__(self, x):
        self.x = x

    def __hotswap_migrate__(self):
        self.migrated = self.__dict__.get("migrated", 0) + 1

    def value(self):
        return ("v1", self.x)


class Slotted:
    __slots__ = ("a",)
    BYSTANDER = Raiser()  # hostile class attribute
    ARRAY = ArrayLike(8)  # hostile class attribute
    MOCK = mock.MagicMock(name="slotted body mock")  # hostile class attribute

    def __init__(self, a):
        self.a = a

    def get(self):
        return ("v1", self.a)


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0

    def norm(self):
        return abs(self.x) + abs(self.y)
'''

EDITS = {
    "closure": [("        box[0] += by\n", "        box[0] += by * 10\n")],
    "hook": [('        return ("v1", self.x)', '        return ("v2", self.x)'),
             ("    def __hotswap_migrate__(self):\n",
              "    TAG = ArrayLike(9)  # hostile class attribute\n\n"
              "    def __hotswap_migrate__(self):\n")],
    "slots": [('    __slots__ = ("a",)', '    __slots__ = ("a", "b")'),
              ('        return ("v1", self.a)',
               '        return ("v2", self.a, getattr(self, "b", None))')],
    "dataclass": [("    y: int = 0\n", "    y: int = 0\n    z: int = 7\n")],
}
TABLE_EDIT = [('"version": 1,', '"version": 2,'), ("lambda x: x + 1", "lambda x: x + 2"),
              ('"state": None}', '"state": start_collecting()}'),
              ('ROWS = [ArrayLike(5), Raiser(), ClassRaiser(), "v1"]',
               'ROWS = [ArrayLike(6), Raiser(), DictRaiser(), "v2"]')]


def edited(kinds: list[str], class_bodies: bool = True) -> str:
    src = V1
    for kind in kinds:
        for old, new in EDITS[kind] + (TABLE_EDIT if kind == kinds[0] else []):
            assert src.count(old) == 1, old
            src = src.replace(old, new)
    return src if class_bodies else without_class_hostiles(src)


def without_class_hostiles(src: str) -> str:
    return "".join(line for line in src.splitlines(keepends=True)
                   if "# hostile class attribute" not in line)


# -- the hostile heap ---------------------------------------------------------------------

def real_state(obj: Any) -> list[int]:
    """What an object holds (the ids of its attribute values), read without running any
    of its code; the same whether CPython keeps the values inline or in a dict."""
    out = []
    for r in gc.get_referents(obj):
        if type(r) is dict:
            out.extend(id(v) for v in r.values())
        else:
            out.append(id(r))
    return sorted(out)


@dataclass
class Heap:
    """Live state and the hostile objects around it, built before the update."""

    mod: types.ModuleType
    steps: list[Any]
    hooked: list[Any]
    points: list[Any]
    slotted_list: list[Any]  # plain list: these can move to the new layout
    slotted_tuple: tuple[Any, ...]  # a tuple cannot be rewritten: this one stays
    hostile: list[Any] = field(default_factory=list)
    mocks: list[Any] = field(default_factory=list)
    c_objects: list[Any] = field(default_factory=list)
    weak: dict[str, Any] = field(default_factory=dict)
    big: list[Any] = field(default_factory=list)
    bigdict: dict[Any, Any] = field(default_factory=dict)
    liar_hooked: Any = None
    before: dict[int, Any] = field(default_factory=dict)
    mock_before: list[Any] = field(default_factory=list)


def build_heap(mod: types.ModuleType) -> Heap:
    steps = [mod.make_counter(0), mod.make_counter(100)]
    hooked = [mod.Hooked(i) for i in range(6)]
    points = [mod.Point(i, 1) for i in range(3)]
    heap = Heap(mod, steps, hooked, points, [mod.Slotted(i) for i in range(3)],
                (mod.Slotted(10),))
    targets = dict(step=steps[0], inst=hooked[0], point=points[0], cls=mod.Hooked,
                   dcls=mod.Point, bound=hooked[1].value)
    # hostile objects holding (and so found as referrers of) the targets
    heap.hostile = [kind(**targets) for kind in (Raiser, ClassRaiser, DictLiar, DictRaiser,
                                                 GetattrLiar)]
    heap.hostile += [ClassLiar(mod.Hooked, **targets), ClassLiar(type, **targets),
                     ArrayLike(hooked[2], steps[1], points[1])]
    # lies about being a Hooked instance: must not be offered the hook
    heap.liar_hooked = ClassLiar(mod.Hooked, x=99)
    heap.hostile.append(heap.liar_hooked)
    # mocks: plain, non-callable, spec'd on the dataclass, and claiming (through an
    # assigned __class__) to be a Hooked instance: isinstance believes them
    for kind in (mock.MagicMock, mock.NonCallableMagicMock):
        for spec in (None, mod.Point, "claims Hooked"):
            m = kind(spec=spec) if spec != "claims Hooked" else kind()
            if spec == "claims Hooked":
                m.__class__ = mod.Hooked
                assert isinstance(m, mod.Hooked)
            object.__setattr__(m, "held", [hooked[3], steps[0], points[2]])
            heap.mocks.append(m)
    # C objects holding targets
    gen_source = (lambda s, h: (yield s, h))
    suspended = gen_source(steps[1], hooked[4])
    next(suspended)
    heap.c_objects = [
        collections.deque([steps[0], hooked[4], points[0]]), functools.partial(steps[1], 1),
        iter([hooked[5], steps[0]]), suspended, types.MappingProxyType({"i": hooked[5]}),
        array.array("i", range(1000)), memoryview(bytearray(b"x" * 64)), io.BytesIO(b"abc"),
        re.compile("x+"), itertools.count(), operator.attrgetter("x"), hooked[3].value,
        collections.OrderedDict(i=hooked[4]), map(str, [hooked[2]]),
    ]
    # weak references, live and dead
    doomed = mod.Hooked(-5)
    heap.weak = {
        "ref": weakref.ref(hooked[0], lambda r: hit("weakref callback")),
        "proxy": weakref.proxy(hooked[1]),
        "dead_proxy": weakref.proxy(doomed),
        "dead_ref": weakref.ref(doomed),
        "values": weakref.WeakValueDictionary({"a": hooked[2], "p": points[1]}),
        "keys": weakref.WeakKeyDictionary({hooked[3]: "k"}),
        "set": weakref.WeakSet(hooked),
        "method": weakref.WeakMethod(hooked[4].value),
        "finalize": weakref.finalize(hooked[5], hit, "finalizer"),
    }
    del doomed
    # huge containers with targets at the far end
    heap.big = list(range(10**6))
    heap.big += [hooked[1], steps[1], points[2]]
    heap.big.append(heap.slotted_list[2])
    heap.bigdict = {i: i for i in range(200_000)}
    heap.bigdict["inst"] = hooked[2]
    # what the hostile objects hold now, by identity
    heap.before = {id(o): real_state(o) for o in heap.hostile}
    heap.mock_before = [mock_snapshot(m) for m in heap.mocks]
    return heap


def mock_snapshot(m: Any) -> tuple[Any, ...]:
    d = object.__getattribute__(m, "__dict__")
    return (list(d["_mock_mock_calls"]), list(d["method_calls"]), sorted(d["_mock_children"]),
            {k: id(v) for k, v in d.items()})


def make_phoenixes(mod: types.ModuleType, heap: Heap, n: int = 6) -> None:
    """Unreachable cycles holding live targets, to be collected during the update."""
    for i in range(n):
        Phoenix(lambda: mod.Hooked(-1), inst=heap.hooked[i % 6], step=heap.steps[i % 2],
                point=heap.points[i % 3])


def module_hostiles(mod: types.ModuleType) -> dict[str, Any]:
    names = ["RAISER", "ARRAY", "MOCK", "NC_MOCK", "GHOST", "LIAR_TYPE", "DICT_LIAR", "DEAD"]
    out = {n: vars(mod)[n] for n in names}
    for cls in (mod.Hooked, mod.Slotted):
        for k, v in cls.__dict__.items():
            if issubclass(type(v), HOSTILE_KINDS) or type(v).__module__ == "unittest.mock":
                out[f"{cls.__name__}.{k}"] = v
    return out


# -- checks ---------------------------------------------------------------------------------

def check_untouched(heap: Heap) -> None:
    assert dict(CALLS) == {}, f"hostile code ran during the update: {dict(CALLS)}"
    for o in heap.hostile:
        assert real_state(o) == heap.before[id(o)], f"{type(o).__name__} was changed"
    for m, before in zip(heap.mocks, heap.mock_before):
        assert mock_snapshot(m) == before, "a mock was called or grew a child"
    assert "migrated" not in object.__getattribute__(heap.liar_hooked, "__dict__")
    assert len(heap.big) == 10**6 + 4 and heap.big[:5] == [0, 1, 2, 3, 4]
    assert heap.big[999_999] == 999_999
    assert len(heap.bigdict) == 200_001


def check_applied(heap: Heap, kinds: list[str], report: hotswap.Report) -> None:
    mod = heap.mod
    if "closure" in kinds:
        a, b = heap.steps
        before = a(0), b(0)
        assert (a(1), b(2)) == (before[0] + 10, before[1] + 20)
        assert heap.c_objects[1]() == before[1] + 20 + 10  # partial(step, 1)
        assert heap.big[10**6 + 1] is b
    if "hook" in kinds:
        for h in heap.hooked:
            assert type(h) is mod.Hooked
            assert h.value() == ("v2", h.x)
            assert h.migrated == 1, f"Hooked({h.x}) offered the hook {h.migrated} times"
        assert heap.weak["proxy"].value() == ("v2", 1)
        assert heap.weak["method"]()() == ("v2", 4)
        assert heap.c_objects[11]() == ("v2", 3)  # a bound method taken before
        if "TAG" in mod.Hooked.__dict__:
            assert type(mod.Hooked.__dict__["TAG"]) is ArrayLike
    if "slots" in kinds:
        new = mod.Slotted
        assert new.__slots__ == ("a", "b")
        for i, s in enumerate(heap.slotted_list):
            assert type(s) is new, "an instance held only by a list was not moved"
            assert s.get() == ("v2", i, None)
        assert heap.big[-1] is heap.slotted_list[2]  # the million-int list was rewritten too
        (kept,) = heap.slotted_tuple
        assert type(kept) is not new and kept.a == 10 and kept.get()[1] == 10
        assert any("Slotted" in name for name, _ in report.skipped)
    if "dataclass" in kinds:
        assert [f for f in mod.Point.__dataclass_fields__] == ["x", "y", "z"]
        for i, p in enumerate(heap.points):
            assert type(p) is mod.Point and (p.x, p.y, p.z) == (i, 1, 7)
            assert p.norm() == i + 1
        assert mod.Point(1) == mod.Point(1, 0, 7)
    assert mod.TABLE["version"] == 2 and mod.TABLE["handler"](1) == 3
    assert mod.TABLE["state"] == "collecting"
    assert mod.ROWS[-1] == "v2" and isinstance(mod.ROWS[2], DictRaiser)


ALL = ["closure", "hook", "slots", "dataclass"]


@pytest.mark.parametrize("class_bodies", [False, True],
                         ids=["hostile heap and globals", "also in class bodies"])
@pytest.mark.parametrize("kinds", [["closure"], ["hook"], ["slots"], ["dataclass"], ALL],
                         ids=["closure", "hook", "slots", "dataclass", "all"])
def test_heap_walk_among_hostile_objects(modules, zoo_module, kinds, class_bodies):
    """The hostile heap, hostile module globals and a hostile changing table always; with
    `class_bodies`, hostile class attributes in the classes being updated as well."""
    mf = modules(V1 if class_bodies else without_class_hostiles(V1))
    mod = mf.module
    globals_before = module_hostiles(mod)
    heap = build_heap(mod)
    gc.collect()
    gc.disable()  # the phoenixes stay young and unreachable until the update runs
    make_phoenixes(mod, heap)
    CALLS.clear()

    report = mf.update(edited(kinds, class_bodies))

    gc.set_threshold(700, 10, 10)
    gc.enable()
    check_untouched(heap)
    assert report.heap_walks >= 1
    after = module_hostiles(mod)
    for name, obj in globals_before.items():
        if not name.startswith("Slotted."):  # (a replaced class: its body ran again)
            assert after[name] is obj, f"{name} was rebound"
    check_applied(heap, kinds, report)
    assert len(GRAVE) >= 12, "the phoenixes were not collected during the update"
    assert all(u.startswith("HostileError") for u in UNRAISABLE)
    assert dict(CALLS) == {}


def test_hostile_objects_in_sys_modules(modules, zoo_module, monkeypatch):
    """Test suites and lazy loaders put odd objects in sys.modules (a mock standing in for
    a package, a stub whose attribute access raises). An update that rebinds a global
    (which makes hotswap look for ``from mod import NAME`` in other modules) must neither
    crash on them nor run their code."""
    mf = modules("X = 1\n\ndef f():\n    return X\n")
    f = mf.module.f
    stub_mock = mock.MagicMock(name="stub package")
    monkeypatch.setitem(sys.modules, "hs_stub_raiser", Raiser())
    monkeypatch.setitem(sys.modules, "hs_stub_dict_raiser", DictRaiser())
    monkeypatch.setitem(sys.modules, "hs_stub_ghost", GetattrLiar())
    monkeypatch.setitem(sys.modules, "hs_stub_mock", stub_mock)
    CALLS.clear()

    report = mf.update("X = 2\n\ndef f():\n    return X\n")

    assert f() == 2 and mf.module.X == 2
    assert f"{mf.name}.X" in report.rebound
    assert dict(CALLS) == {}
    assert stub_mock.mock_calls == [] and not stub_mock._mock_children


def test_annotated_class_attribute_with_array_like_metadata(modules, zoo_module):
    """A class attribute annotated with numpy-style metadata (``Annotated[int, array]``):
    changing its default re-runs the annotated assignment, so the class's annotations hold
    a new, equal-looking object. Comparing it with the old one asks an array for its truth
    value, which raises; the (perfectly valid) update must still apply."""
    src = '''
        from typing import Annotated
        from hs_zoo import ArrayLike

        class Model:
            weights: Annotated[list, ArrayLike(0.5, 0.5)] = None
            bias: float = 0.0

            def describe(self):
                return ("v1", self.bias)
    '''
    mf = modules(src)
    Model = mf.module.Model
    m = Model()
    CALLS.clear()

    mf.update(src.replace("= None", "= ()").replace('("v1"', '("v2"'))

    assert mf.module.Model is Model
    assert Model.weights == () and m.describe() == ("v2", 0.0)
    assert list(Model.__annotations__) == ["weights", "bias"]
    assert dict(CALLS) == {}


@pytest.mark.parametrize("attr", ["ShyRaiser()", "GetattrLiar()", "ArrayLike()", "DictRaiser()",
                                  "mock.MagicMock()", "mock.NonCallableMagicMock()"])
def test_rebuilt_dataclass_with_hostile_class_attribute(modules, zoo_module, attr):
    """A dataclass that gains a field is rebuilt (the whole class statement runs again in
    staging, its entries move into the live class, old instances get the new default). A
    hostile object or a mock among its class attributes must not stop that, be called, or
    (a mock) grow children."""
    src = textwrap.dedent(f'''
        import dataclasses
        import typing
        from unittest import mock
        from hs_zoo import ArrayLike, DictRaiser, GetattrLiar, ShyRaiser

        @dataclasses.dataclass
        class Config:
            HELPER: typing.ClassVar = {attr}
            name: str = "x"
    ''')
    mf = modules(src)
    Config = mf.module.Config
    helper = Config.__dict__["HELPER"]
    old = Config("old")
    before = mock_snapshot(helper) if issubclass(type(helper), mock.Base) else None
    CALLS.clear()

    report = mf.update(src + "    retries: int = 3\n")

    assert mf.module.Config is Config  # (HELPER itself was made again: the class re-ran)
    assert (old.name, old.retries) == ("old", 3)
    assert Config("n") == Config("n", 3)
    assert report.heap_walks == 1
    assert dict(CALLS) == {}
    if before is not None:
        assert mock_snapshot(helper) == before, "the mock was called or grew children"


def test_unknown_baseline_with_hostile_class_body(modules, zoo_module):
    """A module loaded without the import system's finders (spec_from_file_location) has
    no recorded baseline: hotswap re-runs every statement in staging and decides what the
    source defined by looking at the live values, class bodies included. Hostile class
    attributes must not break that or be run."""
    mf = modules(V1)
    path = mf.path
    name = f"{mf.name}_untracked"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    modules.created.append(name)
    spec.loader.exec_module(mod)
    hooked = mod.Hooked(1)
    globals_before = module_hostiles(mod)
    CALLS.clear()

    mf.write(edited(["hook"]))
    report = hotswap.update(mod)

    assert any("unknown" in n for n in report.notes)
    assert dict(CALLS) == {}
    assert type(hooked) is mod.Hooked
    assert hooked.value() == ("v2", 1) and hooked.migrated == 1
    for key in ("MOCK", "NC_MOCK", "Hooked.MOCK"):  # (re-run statements made new ones)
        old = globals_before[key]
        assert old.mock_calls == [] and not old._mock_children


def test_instance_of_hooked_class_with_hostile_dunders(modules, zoo_module):
    """Instances of a hooked class (a subclass defined elsewhere) whose ``__eq__`` and
    ``__hash__`` raise, whose metaclass compares by raising, held in odd places: each gets
    the hook exactly once, and none of those dunders runs."""
    mf = modules('''
        class Base:
            def __init__(self, x):
                self.x = x

            def __hotswap_migrate__(self):
                self.seen = self.__dict__.get("seen", 0) + 1

            def twice(self):
                return self.x * 2
    ''')
    Base = mf.module.Base

    class Odd(Base, metaclass=EqMeta):
        def __eq__(self, other: Any) -> bool:
            hit("Odd.__eq__")
            raise HostileError("eq")

        def __hash__(self) -> int:
            hit("Odd.__hash__")
            raise HostileError("hash")

        def __bool__(self) -> bool:
            hit("Odd.__bool__")
            raise HostileError("bool")

    class Odder(Odd):
        pass

    objs = [Odd(1), Odder(2), Base(3), Odd(4)]
    holders = ([objs[0]], {"k": objs[1]}, (objs[2],), collections.deque([objs[3]]))
    big = list(range(300_000)) + objs
    CALLS.clear()

    mf.update('''
        class Base:
            def __init__(self, x):
                self.x = x

            def __hotswap_migrate__(self):
                self.seen = self.__dict__.get("seen", 0) + 1

            def twice(self):
                return self.x * 3
    ''')

    assert dict(CALLS) == {}, dict(CALLS)
    assert [o.twice() for o in objs] == [3, 6, 9, 12]
    assert [o.__dict__["seen"] for o in objs] == [1, 1, 1, 1]
    assert holders[0][0] is objs[0] and big[-1] is objs[3]


def test_referrer_with_hostile_metaclass_during_slots_move(modules, zoo_module):
    """Moving instances to a new ``__slots__`` layout counts and rewrites every reference
    to them, so every referrer is asked for its attribute dict. A referrer whose metaclass
    overrides ``__getattribute__`` must be looked at without running it."""
    mf = modules('''
        class Slot:
            __slots__ = ("a",)

            def __init__(self, a):
                self.a = a
    ''')
    holder = [mf.module.Slot(1)]
    watcher = MetaHeld(cls=mf.module.Slot)
    shy = MetaHeld()
    object.__setattr__(shy, "inst", holder[0])
    CALLS.clear()

    report = mf.update('''
        class Slot:
            __slots__ = ("a", "b")

            def __init__(self, a):
                self.a = a
    ''')

    assert dict(CALLS) == {}, dict(CALLS)
    assert report.replaced == [f"{mf.name}.Slot"]
    moved = type(holder[0]) is mf.module.Slot
    kept = object.__getattribute__(shy, "inst")
    assert (kept is holder[0]) if moved else (type(kept) is type(holder[0]))
    assert holder[0].a == 1
    assert object.__getattribute__(watcher, "cls") in (mf.module.Slot, type(kept))
