"""The heap pass (`hotswap._heap.referrers`): whichever way it asks the heap (CPython's
``gc.get_referrers``, a scan by the targets' types, a scan by their ids), it finds what
``gc.get_referrers`` finds; and an update moving many instances uses it."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import subprocess
import sys
import sysconfig
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hotswap
from hotswap import _heap

HUGE = 10**9


@contextlib.contextmanager
def thresholds(by_type: int, by_id: int) -> Iterator[None]:
    saved = _heap.BY_TYPE_FROM, _heap.BY_ID_FROM
    _heap.BY_TYPE_FROM, _heap.BY_ID_FROM = by_type, by_id
    try:
        yield
    finally:
        _heap.BY_TYPE_FROM, _heap.BY_ID_FROM = saved


class Slotted:
    __slots__ = ("x",)


class Plain:
    pass


def _target(kind: str) -> Any:
    return {"slotted": Slotted, "plain": Plain, "list": list, "function": lambda: lambda: 0,
            "cell": lambda: types.CellType(0)}[kind]()


def _holder(kind: str, held: list[Any]) -> Any:
    if kind == "list":
        return list(held)
    if kind == "tuple":
        return tuple(held)
    if kind == "dict values":
        return {i: t for i, t in enumerate(held)}
    if kind == "dict keys":
        return {t: i for i, t in enumerate(held) if type(t) in (Slotted, Plain)}
    if kind == "instance":
        obj = Plain()
        obj.__dict__.update({f"a{i}": t for i, t in enumerate(held)})
        return obj
    if kind == "slots":
        obj = Slotted()
        if held:
            obj.x = held[0]
        return obj
    return types.CellType(held[0] if held else None)


graphs = st.tuples(
    st.lists(st.sampled_from(["slotted", "plain", "list", "function", "cell"]), max_size=12),
    st.lists(st.tuples(st.sampled_from(["list", "tuple", "dict values", "dict keys",
                                        "instance", "slots", "cell"]),
                       st.lists(st.integers(0, 11), max_size=5)), max_size=20))


def _get_referrers(targets: list[Any]) -> tuple[list[Any], tuple[Any, ...]]:
    args = tuple(targets)
    return [r for r in gc.get_referrers(*args) if r is not args], args


@settings(max_examples=60, deadline=None)
@given(graph=graphs, kinds_only=st.booleans())
def test_every_way_finds_what_get_referrers_finds(graph: Any, kinds_only: bool) -> None:
    kinds, holding = graph
    if kinds_only:  # instances of classes only: the case the scan by type is for
        kinds = [k for k in kinds if k in ("slotted", "plain")]
    targets = [_target(k) for k in kinds]
    holders = [_holder(kind, [targets[i] for i in picks if i < len(targets)])
               for kind, picks in holding]
    if not targets:
        return
    want, args = _get_referrers(targets)
    ways = {"referrers": _heap.referrers(targets), "scan by id": _heap.scan(targets, False)}
    if _heap._accel is not None:
        ways["in C"] = _heap._accel.referrers(tuple(targets), ())
    if kinds_only:
        ways["scan by type"] = _heap.scan(targets, True)
    ours = {id(targets), id(want), id(args), id(holders), id(ways), *map(id, ways.values())}
    for way, got in ways.items():
        assert {id(r) for r in got} - ours == {id(r) for r in want} - ours, way
        assert len(got) == len({id(r) for r in got}), way  # each referrer once


needs_c = pytest.mark.skipif(_heap._accel is None, reason="hotswap._scan was not built "
                             "here, or HOTSWAP_PURE_PYTHON is set")


@needs_c
@settings(max_examples=60, deadline=None)
@given(graph=graphs, also_ids=st.booleans())
def test_the_pass_in_c_finds_what_holds_an_object_of_a_type(graph: Any, also_ids: bool) -> None:
    kinds, holding = graph
    targets = [_target(k) for k in kinds]
    holders = [_holder(kind, [targets[i] for i in picks if i < len(targets)])
               for kind, picks in holding]
    asked = [t for t in targets if type(t) not in (Slotted, Plain)] if also_ids else []
    args = tuple(asked)
    got = _heap._accel.referrers(args, (Slotted,))
    # The answer from CPython's own pass: whatever refers to a Slotted instance (found as
    # the referrers of the class that are its instances) or to one of `asked`.
    slotted = [o for o in gc.get_referrers(Slotted) if type(o) is Slotted]
    probe = (*slotted, *asked)
    want = [o for o in gc.get_referrers(*probe) if o is not args and o is not probe]
    ours = {id(targets), id(holders), id(asked), id(got), id(slotted), id(probe), id(want)}
    assert {id(r) for r in got} - ours == {id(r) for r in want} - ours
    assert len(got) == len({id(r) for r in got})  # each referrer once


def _hostile(calls: list[str]) -> type:
    """A class whose metaclass and instances compare and hash in the program's own code,
    which says so in `calls`."""
    class Meta(type):
        def __eq__(cls, other: object) -> bool:
            calls.append("eq")
            return NotImplemented

        def __hash__(cls) -> int:
            calls.append("hash")
            return 1

    class Odd(metaclass=Meta):
        def __eq__(self, other: object) -> bool:
            calls.append("instance eq")
            return NotImplemented

        def __hash__(self) -> int:
            calls.append("instance hash")
            return 1
    return Odd


@needs_c
def test_the_pass_in_c_runs_none_of_the_programs_code(monkeypatch) -> None:
    calls: list[str] = []
    Odd = _hostile(calls)
    objects = [Odd() for _ in range(3)]
    holder = [objects[1]]
    # Nor a gc.get_objects the program replaced (3.11's pass lists the heap with it).
    monkeypatch.setattr(gc, "get_objects", lambda *a: calls.append("get_objects"))
    by_id = _heap._accel.referrers(tuple(objects), ())
    by_type = _heap._accel.referrers((), (Odd,))
    assert any(f is holder for f in by_id) and any(f is holder for f in by_type)
    assert calls == []


def test_the_pass_in_c_is_built_where_it_can_be() -> None:
    """Where a compiler and Python's headers are, the install builds hotswap._scan (it is
    optional, so a failed build would otherwise go unseen, leaving the passes in Python)."""
    cc = (sysconfig.get_config_var("CC") or "").split()
    header = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not (cc and shutil.which(cc[0]) and header.exists()):
        pytest.skip("no C compiler or Python headers here: hotswap walks the heap in Python")
    # HOTSWAP_PURE_PYTHON turns it off (how CI runs the passes in Python too).
    turned_off = bool(os.environ.get("HOTSWAP_PURE_PYTHON"))
    assert (_heap._accel is None) is turned_off and _heap.one_pass() is not turned_off
    import hotswap._scan  # noqa: F401  (built, either way)


@pytest.mark.parametrize("by_type", [True, False])
def test_a_target_that_holds_another_target_is_found(by_type: bool) -> None:
    inner = Plain()
    outer = Plain()
    outer.inner = inner
    found = _heap.scan([inner, outer], by_type)
    assert any(f is outer.__dict__ or f is outer for f in found)


def test_the_argument_tuple_of_get_referrers_is_not_a_referrer() -> None:
    """3.13 lists the tuple that ``gc.get_referrers(*targets)`` was called with."""
    targets = [Slotted()]
    holder = [targets[0]]
    found = [r for r in _heap.referrers(targets) if r is not targets]
    assert len(found) == 1 and found[0] is holder


def test_a_metaclass_with_its_own_hash_makes_the_scan_ask_ids_and_never_runs_it() -> None:
    calls: list[str] = []
    Odd = _hostile(calls)
    objects = [Odd() for _ in range(3)]
    holder = [objects[1]]
    assert not _heap._identity_hashing()
    with thresholds(by_type=0, by_id=0):  # a scan, by type if it were allowed
        found = _heap.referrers(objects)
    assert any(f is holder for f in found)
    assert calls == []


def test_a_fresh_interpreter_hashes_every_class_by_identity() -> None:
    code = "from hotswap import _heap; assert _heap._identity_hashing()"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("in_c", [True, False], ids=["pass in C", "passes in Python"])
def test_thousands_of_instances_move_to_a_new_layout_with_every_holder_rewritten(
        modules, monkeypatch, in_c):
    count = max(_heap.BY_TYPE_FROM, _heap.BY_ID_FROM) + 50  # their holders: found by a scan
    accel = _heap._accel
    if in_c:
        if accel is None:  # test_the_pass_in_c_is_built_where_it_can_be says why
            pytest.skip("hotswap._scan was not built here, or HOTSWAP_PURE_PYTHON is set")
        monkeypatch.setattr(_heap, "_accel", types.SimpleNamespace(
            referrers=lambda *args: (passes.update(["in C"]), accel.referrers(*args))[1],
            Index=accel.Index, copy_state=accel.copy_state, one_walk=accel.one_walk,
            sort=accel.sort))
    else:
        monkeypatch.setattr(_heap, "_accel", None)
    src = """
        class Vec:
            __slots__ = SLOTS

            def __init__(self, x):
                self.x = x

            def get(self):
                return self.x * FACTOR
    """
    mf = modules(src.replace("SLOTS", "('x',)").replace("FACTOR", "1"))
    Vec = mf.module.Vec
    crowd = [Vec(i) for i in range(count)]
    by_key = {v: v.x for v in crowd}
    by_value = {v.x: v for v in crowd}
    chosen = set(crowd[::2])
    first = crowd[0]  # a cell: read by keeper

    def keeper() -> Any:
        return first
    pinned = (crowd[1],)  # a tuple: not rewritable, so that one stays on the old class

    passes = Counter()
    real = gc.get_referrers, gc.get_objects

    def counted(name: str, fn: Any) -> Any:
        def call(*args: Any) -> Any:
            passes[name] += 1
            return fn(*args)
        return call
    gc.get_referrers, gc.get_objects = counted("referrers", real[0]), counted("objects", real[1])
    try:
        report = mf.update(src.replace("SLOTS", "('x', 'y')").replace("FACTOR", "10"))
    finally:
        gc.get_referrers, gc.get_objects = real
    if in_c:  # instances and their holders found at once
        assert passes == {"in C": 1} and report.heap_walks == 1
    else:  # instances found, then their holders
        assert passes == {"referrers": 1, "objects": 1} and report.heap_walks == 2

    New = mf.module.Vec  # (`Vec` may be a cell here, which the update rewrites too)
    assert f"{mf.name}.Vec" in report.replaced
    moved = [v for v in crowd if type(v) is New]
    assert len(moved) == count - 1 and type(crowd[1]) is not New
    assert [v.get() for v in crowd[2:5]] == [20, 30, 40]
    assert all(type(k) is New and by_key[k] == k.x for k in by_key if k is not crowd[1])
    assert all(by_value[i] is crowd[i] for i in range(count))
    assert keeper() is crowd[0] is first and type(first) is New
    assert {id(v) for v in chosen} == {id(v) for v in crowd[::2]} and crowd[0] in chosen
    crowd[7].y = 1
    assert pinned[0].get() == 1  # the old class keeps its code for it, as the report says
    assert any("1 live instance(s) keep the old class" in why for _, why in report.skipped)
    assert f"{mf.name}.Vec ({count - 1} moved to the new layout)" in report.instances


def test_a_key_whose_hash_fails_when_its_dict_is_rebuilt_leaves_the_dict_as_it_was(modules):
    """Moving an instance that keys a dict rebuilds the dict, hashing every key again. A
    key whose ``__hash__`` raises then fails the update, which must leave the dict whole,
    in its order, and the instance where it was."""
    class Fragile:
        hashed = 0

        def __hash__(self) -> int:
            Fragile.hashed += 1
            if Fragile.hashed > 1:
                raise RuntimeError("hashed once only")
            return 1

    src = "class Vec:\n    __slots__ = SLOTS\n"
    mf = modules(src.replace("SLOTS", "('x',)"))
    vecs = [mf.module.Vec()]  # no local name of this frame holds it: it can move
    table = {"first": 0, vecs[0]: 1, Fragile(): 2, "last": 3}

    with pytest.raises(hotswap.UpdateError, match=f"{mf.path.name}.*hashed once only"):
        mf.update(src.replace("SLOTS", "('x', 'y')"))

    keys = list(table)
    assert list(table.values()) == [0, 1, 2, 3] and keys[0] == "first" and keys[3] == "last"
    assert keys[1] is vecs[0] and type(keys[2]) is Fragile
    assert table[vecs[0]] == 1 and table["last"] == 3
    assert type(vecs[0]) is mf.module.Vec and mf.module.Vec.__slots__ == ("x",)


REWRITABLE = {"list", "dict values", "dict keys", "set", "cell", "instance"}
holdings = st.lists(st.tuples(
    st.sampled_from(sorted(REWRITABLE | {"tuple", "frozenset"})),
    st.lists(st.integers(0, 5), min_size=1, max_size=3)), max_size=10)


def _contents(kind: str, holder: Any) -> list[Any]:
    if kind in ("list", "tuple", "set", "frozenset"):
        return list(holder)
    if kind == "dict values":
        return list(holder.values())
    if kind == "dict keys":
        return list(holder)
    if kind == "instance":
        return list(vars(holder).values())
    return [holder.cell_contents]


def _make(kind: str, held: list[Any]) -> Any:
    if kind == "set":
        return set(held)
    if kind == "frozenset":
        return frozenset(held)
    if kind == "dict keys":
        return dict.fromkeys(held, 0)
    return _holder(kind, held)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 6), holding=holdings)
def test_an_instance_moves_with_all_its_holders_or_stays_with_all_of_them(
        modules, count: int, holding: list[tuple[str, list[int]]]) -> None:
    """After a layout change, each instance is one object everywhere: moved (every holder
    rewritten) when all its holders are rewritable, left on the old class otherwise."""
    src = "class Vec:\n    __slots__ = SLOTS\n\n    def __init__(self, n):\n        self.n = n\n"
    mf = modules(src.replace("SLOTS", "('n',)"))
    crowd = [mf.module.Vec(n) for n in range(count)]
    holders = [(kind, _make(kind, [crowd[i % count] for i in picks]))
               for kind, picks in holding]
    pinned = {o.n for kind, h in holders if kind not in REWRITABLE for o in _contents(kind, h)}

    mf.update(src.replace("SLOTS", "('n', 'extra')"))

    new = mf.module.Vec
    assert [o.n for o in crowd] == list(range(count))
    assert [type(o) is new for o in crowd] == [n not in pinned for n in range(count)]
    for kind, h in holders:
        for obj in _contents(kind, h):
            assert obj is crowd[obj.n], f"{kind} holds another object than the crowd's"


@needs_c
def test_the_index_answers_a_repeated_object_with_its_first_place() -> None:
    """`Index` asks first at the place after its last answer (holders mostly keep the
    order of olds); an object olds holds twice must still get its first place, whatever
    order the lookups come in."""
    a, b, c = object(), object(), object()
    index = _heap._accel.Index([a, b, a, c], ["A", "B", "second A", "C"])
    holder = [a, b, a, c, b, a]
    assert index.swap(holder) is True
    assert holder == ["A", "B", "A", "C", "B", "A"]
    in_order = [a, b, c]
    assert _heap._accel.Index([a, b, c], [1, 2, 3]).swap(in_order) and in_order == [1, 2, 3]
    backwards = [c, b, a, c]
    assert _heap._accel.Index([a, b, c], [1, 2, 3]).swap(backwards)
    assert backwards == [3, 2, 1, 3]
