"""No leaks: memory stays flat over hundreds of updates, old versions become garbage once
the bounded rollback history lets go of them, and a module dropped by the program is not
kept alive by hotswap (whose source registry keeps a module's *text*, by name, not the
module).
"""

from __future__ import annotations

import gc
import sys
import textwrap
import tracemalloc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import hotswap

DEFAULT_HISTORY = 8  # hotswap's documented default


@pytest.fixture
def history() -> Iterator[Any]:
    yield hotswap.set_history_limit
    hotswap.set_history_limit(DEFAULT_HISTORY)


PLAIN = textwrap.dedent('''
    CONST = {n}


    def helper(x):
        return x + {n}


    class Item:
        def __init__(self, x):
            self.x = x

        def value(self):
            return self.x * 10 + {n}
''')

WALKING = textwrap.dedent('''
    CONST = {n}


    def make_step(start):
        box = [start]

        def step():
            box[0] += {n}
            return box[0]
        return step


    class Item:
        def __init__(self, x):
            self.x = x

        def __hotswap_migrate__(self):
            self.generation = {n}

        def value(self):
            return self.x * 10 + {n}
''')


def test_memory_stays_flat_over_300_alternating_updates(modules, history):
    """300 updates, alternating between two versions of a module whose class has 1,000
    live instances: traced memory after 300 is what it was after 100."""
    history(2)
    mf = modules(PLAIN.format(n=1))
    mod = mf.module
    items = [mod.Item(i) for i in range(1000)]
    versions = [PLAIN.format(n=2), PLAIN.format(n=1)]
    for text in versions:  # warm up: every cache hotswap fills once is filled now
        mf.update(text)
    gc.collect()
    tracemalloc.start()
    try:
        marks = {}
        for i in range(300):
            report = mf.update(versions[i % 2])
            assert report.changed
            if i + 1 in (100, 300):
                gc.collect()
                marks[i + 1] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    growth = marks[300] - marks[100]
    assert growth < 64_000, f"traced memory grew by {growth} bytes over 200 updates"
    assert items[7].value() == 71 and mod.helper(1) == 2 and mod.CONST == 1
    assert hotswap.generation(mod) == 302


def test_memory_stays_flat_over_updates_that_walk_the_heap(modules, history):
    """The same with a heap walk in every update (1,000 instances offered a migration
    hook, 100 live closures of a changed nested function): the number of live objects
    and of allocated memory blocks after 90 updates is what it was after 30. (Counted
    without tracemalloc, which would make each heap walk several times slower.)"""
    history(2)
    mf = modules(WALKING.format(n=1))
    mod = mf.module
    items = [mod.Item(i) for i in range(1000)]
    steps = [mod.make_step(i) for i in range(100)]
    versions = [WALKING.format(n=2), WALKING.format(n=1)]
    for text in versions:
        mf.update(text)
    marks = {}
    for i in range(90):
        report = mf.update(versions[i % 2])
        assert report.heap_walks == 1
        if i + 1 in (30, 90):
            gc.collect()
            marks[i + 1] = (len(gc.get_objects()), sys.getallocatedblocks())

    objects, blocks = marks[90][0] - marks[30][0], marks[90][1] - marks[30][1]
    assert objects < 200, f"{objects} more live objects after 60 more updates"
    assert blocks < 1_000, f"{blocks} more allocated blocks after 60 more updates"
    assert items[7].value() == 71 and items[7].generation == 1
    before = steps[3]()
    assert steps[3]() == before + 1
    assert hotswap.generation(mod) == 92


SLOTS_V1 = textwrap.dedent('''
    class Slot:
        __slots__ = ("a",)

        def __init__(self, a):
            self.a = a

        def get(self):
            return self.a
''')
SLOTS_V2 = SLOTS_V1.replace('__slots__ = ("a",)', '__slots__ = ("a", "b")')


def _replace_class(mf: Any) -> tuple[weakref.ref[Any], list[Any]]:
    holder = [mf.module.Slot(i) for i in range(10)]
    old = weakref.ref(mf.module.Slot)
    report = mf.update(SLOTS_V2)
    assert report.replaced == [f"{mf.name}.Slot"]
    assert all(type(s) is mf.module.Slot for s in holder)  # every instance moved
    assert mf.module.Slot is not old()
    return old, holder


def test_replaced_class_is_collected_once_history_is_trimmed(modules, history):
    mf = modules(SLOTS_V1)
    old, holder = _replace_class(mf)
    gc.collect()
    assert old() is not None  # the undo log keeps it, so a rollback can bring it back

    history(0)
    gc.collect()

    assert old() is None, _referrers(old())
    assert [s.get() for s in holder] == list(range(10))


def test_replaced_class_is_collected_once_later_updates_push_it_out(modules, history):
    history(2)
    mf = modules(SLOTS_V1)
    old, holder = _replace_class(mf)
    for i in range(3):  # unrelated updates: the replacement leaves the history
        mf.update(SLOTS_V2 + f"\nCOUNT = {i}\n")
    gc.collect()

    assert old() is None, _referrers(old())
    assert holder[4].get() == 4


def test_a_removed_slot_frees_its_values_and_a_class_hiding_one_is_collected(modules, history):
    """A slot removed in place (see _patch/slots) is emptied in every instance: its values
    live on only in the undo log. The class keeps the hidden slot's descriptor, which
    refers back to the class: a cycle, collected with the module, not a root that pins
    every class that ever hid a slot."""
    history(0)
    mf = modules(SLOTS_V2)

    class Payload:
        pass
    payload = Payload()
    value = weakref.ref(payload)
    held = (mf.module.Slot(1),)  # a tuple: the instance keeps its identity, never moves
    held[0].b = payload
    del payload
    report = mf.update(SLOTS_V1)
    assert report.replaced == [] and type(held[0]) is mf.module.Slot
    cls = weakref.ref(mf.module.Slot)
    gc.collect()

    assert value() is None, _referrers(value())
    del held
    del sys.modules[mf.name]
    mf = None  # type: ignore[assignment]
    assert not _dead({"class hiding a slot": cls})


def test_old_code_and_rebound_values_are_collected_once_out_of_history(modules, history):
    history(1)
    src = textwrap.dedent('''
        class Config:
            def __init__(self, level):
                self.level = level

        CONFIG = Config({n})

        def f():
            return CONFIG.level + {n}
    ''')
    mf = modules(src.format(n=1))
    f = mf.module.f
    old_code = weakref.ref(f.__code__)
    old_config = weakref.ref(mf.module.CONFIG)
    mf.update(src.format(n=2))
    gc.collect()
    assert old_code() is not None and old_config() is not None  # history: rollback possible
    assert f() == 4

    mf.update(src.format(n=3))
    gc.collect()

    assert old_code() is None and old_config() is None
    assert f() == 6
    hotswap.rollback(mf.module)  # the one kept update can still be undone
    assert f() == 4
    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(mf.module)


def test_history_limit_bounds_rollback(modules, history):
    history(3)
    mf = modules("def f():\n    return 0\n")
    f = mf.module.f
    for n in range(1, 8):
        mf.update(f"def f():\n    return {n}\n")
    for n in (6, 5, 4):
        hotswap.rollback(mf.module)
        assert f() == n
    with pytest.raises(hotswap.UpdateError):
        hotswap.rollback(mf.module)
    assert f() == 4


DROPPED = textwrap.dedent('''
    import dataclasses


    def make_step(start):
        box = [start]

        def step():
            box[0] += {n}
            return box[0]
        return step


    class Hooked:
        def __init__(self, x):
            self.x = x

        def __hotswap_migrate__(self):
            self.seen = {n}

        def value(self):
            return self.x + {n}


    class Slot:
        __slots__ = {slots}

        def __init__(self, a):
            self.a = a


    @dataclasses.dataclass
    class Point:
        x: int
        {field}

    TABLE = {{"n": {n}, "f": lambda: {n}}}
''')


def _version(n: int) -> str:
    return DROPPED.format(n=n, slots='("a", "__weakref__")' if n % 2 else '("a", "b", "__weakref__")',
                          field="y: int = 0" if n == 1 else f"y{n}: int = {n}")


def _make_update_and_drop(modules: Any, updates: int) -> dict[str, weakref.ref[Any]]:
    """A module with every kind of object hotswap works on, updated `updates` times with
    heap walks each time, then dropped by the program. Returns weak references only."""
    mf = modules(_version(1))
    mod = mf.module
    objs = {
        "module": mod, "function": mod.make_step, "class": mod.Hooked, "instance": mod.Hooked(1),
        "closure": mod.make_step(5), "slot class": mod.Slot, "slot instance": mod.Slot(1),
        "dataclass": mod.Point, "dataclass instance": mod.Point(1), "table": mod.TABLE,
        "lambda": mod.TABLE["f"],
    }
    holders = [[objs["slot instance"]]]
    originals = {f"{k} (first version)": weakref.ref(objs[k]) for k in ("slot class", "lambda")}
    for n in range(2, 2 + updates):
        report = mf.update(_version(n))
        assert report.heap_walks >= 1 and not report.skipped, report
    assert objs["instance"].seen == 1 + updates and objs["closure"]() == 5 + 1 + updates
    assert originals["slot class (first version)"]() is not mod.Slot
    refs = {k: weakref.ref(v) for k, v in objs.items() if k != "table"}  # (no weakref to a dict)
    refs.update(originals)
    refs["slot instance (moved)"] = weakref.ref(holders[0][0])
    del sys.modules[mf.name]
    return refs


def _dead(refs: dict[str, weakref.ref[Any]]) -> dict[str, str]:
    gc.collect()
    gc.collect()
    return {k: _referrers(r()) for k, r in refs.items() if r() is not None}


def _referrers(obj: Any) -> str:
    if obj is None:
        return ""
    return ", ".join(sorted({type(r).__name__ for r in gc.get_referrers(obj)}))


def test_dropped_module_is_collected_without_history(modules, history):
    history(0)
    refs = _make_update_and_drop(modules, updates=3)

    alive = _dead(refs)

    assert not alive, f"kept alive after the program dropped the module: {alive}"
    assert gc.garbage == []


def test_dropped_module_is_collected_once_its_history_is_trimmed(modules, history):
    refs = _make_update_and_drop(modules, updates=3)  # default history: undo logs kept

    history(0)
    alive = _dead(refs)

    assert not alive, f"kept alive after the program dropped the module: {alive}"


def test_failed_updates_leave_nothing_behind(modules, history):
    """A refused update (staged objects, a half-built plan, an exception with its
    traceback) keeps none of the module's objects alive."""
    history(0)
    mf = modules(_version(1))
    mod = mf.module
    inst = mod.Hooked(1)
    refs = {"class": weakref.ref(mod.Hooked), "instance": weakref.ref(inst),
            "module": weakref.ref(mod)}
    for i in range(20):
        with pytest.raises(hotswap.UpdateError):
            mf.update(_version(2) + f"\nraise RuntimeError('refused {i}')\n")
    del inst, mod
    del sys.modules[mf.name]

    alive = _dead(refs)

    assert not alive, f"kept alive by refused updates: {alive}"


def _big_module(n: int) -> str:
    return "\n\n".join(f"def f{i}(x):\n    return x + {i}\n\n\nclass C{i}:\n    A = {i}\n"
                       for i in range(n)) + "\n"


def _cycle(modules: Any, tag: str) -> None:
    mf = modules(_big_module(150))
    mf.update(_big_module(150).replace("return x + 7\n", f"return x + 7  # {tag}\n")
              .replace("A = 3\n", "A = 33\n"))
    mf.update(_big_module(150).replace("A = 3\n", "A = 333\n"))
    del sys.modules[mf.name]


def test_dropped_module_leaves_no_objects_behind(modules, history):
    """Of a module the program dropped, hotswap may keep the text, by name (a string).
    Nothing else it kept for the module (its parsed statements, its undo logs, its
    staging) should remain as live objects: a process that loads many modules under new
    names (plugins, notebooks, test suites) would pile them up, and every later heap walk
    and collection would pay for them."""
    history(0)
    _cycle(modules, "warm-up")  # whatever hotswap sets up once is set up now
    gc.collect()
    before = len(gc.get_objects())

    _cycle(modules, "measured")
    gc.collect()

    grown = len(gc.get_objects()) - before
    assert grown < 100, f"{grown} objects left behind by a dropped 300-statement module"


def _slotted(k: int) -> str:
    """The Slot class with a slot it never had before: each version replaces the last."""
    return SLOTS_V1.replace('__slots__ = ("a",)', f'__slots__ = ("a", "b{k}")')


def test_repeated_class_replacements_leave_no_old_class_behind(modules, history):
    """Forty updates that each replace the class (a slot it never had): with a history of
    2, only the classes of the last updates stay alive, and the live objects stay flat.
    hotswap's own records of an update (its staging namespace, the lists the heap walk
    was given, the cells of undo logs) hold the class it replaces; found by the next
    update's walk and rewritten as holders, they joined its undo log, which kept them
    alive to be rewritten by the update after: every old class lived on, and each update
    was slower than the one before."""
    history(2)
    mf = modules(_slotted(0))
    holder = [mf.module.Slot(i) for i in range(10)]
    live: dict[int, int] = {}
    for k in range(1, 41):
        report = mf.update(_slotted(k))
        assert report.replaced == [f"{mf.name}.Slot"]
        if k in (10, 40):
            gc.collect()
            live[k] = len(gc.get_objects())
    versions = [o for o in gc.get_objects()
                if type(o) is type and o.__name__ == "Slot" and o.__module__ == mf.name]
    assert len(versions) <= 4, f"{len(versions)} versions of the class alive"
    assert live[40] - live[10] < 200, f"{live[40] - live[10]} more live objects"
    assert all(type(s) is mf.module.Slot for s in holder)
    assert [s.get() for s in holder] == list(range(10))
