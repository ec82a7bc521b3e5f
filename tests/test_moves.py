"""Moving instances to a new layout stays exact, with the work per instance in C or not.

A slot added to ``__slots__`` replaces the class, and every instance becomes a new object
of the new layout; the containers that held an instance (lists, dicts by key and by
value, sets, cells, attribute dicts) are rewritten, each reference to an old instance now
to its new one and nothing else changed. An instance something else holds (a tuple)
stays, working, on the old class, and the report says how many. A failure half-way
through (a key whose hash raises when its dict is rebuilt) leaves everything as it was.
The same heap gives the same result with the pass in C (``hotswap._scan``: its `Index`
counts and swaps, its `copy_state` copies slots) and without it.

A moved instance takes its attribute dict with it, the dict object itself: links from its
attributes to itself and to other moved instances follow the move (they are rewritten
with every other holder), and a reference to the dict is one to its dict. State that
changes its home on a move is carried: an attribute kept in the dict goes to the new slot
of its name, a slot the new class has not to its dict; what has no place in the new
layout is named in the report. An instance a weak reference reaches stays on the old
class (reported): the weak reference is no counted reference and would reach the old
object, never its new one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
import weakref
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hotswap
from hotswap import _heap

from helpers.moves import IN_C, Fragile, heap_pass
from helpers.processes import run_python


SRC = """
class Vec:
    __slots__ = SLOTS

    def __init__(self, n):
        self.n = n
        if n % 2:
            self.tag = f"t{n}"

    def get(self):
        return self.n * FACTOR
"""
OLD, NEW = ("('n', 'tag')", "1"), ("('n', 'tag', 'extra')", "10")
KINDS = ["list", "dict values", "dict keys", "dict keys and values", "set", "cell",
         "attribute", "tuple"]
OTHER = ["a", 7, None, 2.5]  # held beside the instances: must stay as they are


def _source(which: tuple[str, str]) -> str:
    return SRC.replace("SLOTS", which[0]).replace("FACTOR", which[1])


class Box:
    """Holds things in its attribute dict."""


def _make(kind: str, items: list[Any], key_by: str) -> Any:
    """A holder of `kind` holding `items` (instances and others), dict keys as `key_by`
    says: strings and ints (hashed again without running code) or objects."""
    if kind == "list":
        return list(items)
    if kind == "tuple":
        return tuple(items)
    if kind == "set":
        return {x for x in items if x is not None}
    if kind == "cell":
        return types.CellType(items[0])
    if kind == "attribute":
        box = Box()
        box.__dict__.update({f"a{i}": x for i, x in enumerate(items)})
        return box
    keys: list[Any] = [f"k{i}" if key_by == "str" else i if key_by == "int" else Box()
                       for i in range(len(items))]
    if kind == "dict values":
        return dict(zip(keys, items, strict=True))
    if kind == "dict keys":
        return {x: i for i, x in enumerate(items)}
    return {x: items[-1 - i] for i, x in enumerate(items)}  # keys and values


def _contents(kind: str, holder: Any) -> list[Any]:
    """Everything `holder` holds, in order (a set: compared sorted, see `_described`)."""
    if kind in ("list", "tuple"):
        return list(holder)
    if kind == "set":
        return list(holder)
    if kind == "cell":
        return [holder.cell_contents]
    if kind == "attribute":
        return list(vars(holder).items())
    return list(holder.items())


def _describe(x: Any, kinds: tuple[type, ...]) -> Any:
    """What an item is, holding no reference to an instance: ("vec", n) for an instance
    (a tuple of them: a tuple of those), ("same", id) for anything else."""
    if type(x) is tuple:
        return tuple(_describe(y, kinds) for y in x)
    return ("vec", x.n) if type(x) in kinds else ("same", id(x))


def _described(kind: str, holder: Any, kinds: tuple[type, ...]) -> list[Any]:
    """What `holder` holds, described (sorted for a set, whose order may change)."""
    out = [_describe(x, kinds) for x in _contents(kind, holder)]
    return sorted(out, key=repr) if kind == "set" else out


holdings = st.lists(st.tuples(st.sampled_from(KINDS),
                              st.lists(st.integers(-len(OTHER), 7), min_size=1, max_size=4),
                              st.sampled_from(["str", "int", "object"])), max_size=8)


@IN_C
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 8), holding=holdings, fragile=st.booleans())
def test_a_move_rewrites_every_holder_exactly_or_changes_nothing(
        modules, in_c: bool, count: int, holding: list[tuple[str, list[int], str]],
        fragile: bool) -> None:
    if in_c and _heap._accel is None:
        pytest.skip("hotswap._scan was not built here, or HOTSWAP_PURE_PYTHON is set")
    mf = modules(_source(OLD))
    olds = (mf.module.Vec,)  # a tuple: a tracer's copy of the locals (3.11) is a dict
    crowd = [olds[0](n) for n in range(count)]
    holders = []
    for kind, picks, key_by in holding:
        items = [crowd[p % count] if p >= 0 else OTHER[p] for p in picks]
        if kind in ("dict keys", "dict keys and values") or key_by == "object":
            items = [x if x is not None else Box() for x in items]  # hashable, distinct
        holders.append((kind, _make(kind, items, key_by)))
    pinned = {o.n for kind, h in holders if kind == "tuple" for o in h if type(o) is olds[0]}
    free = [o for o in crowd if o.n not in pinned]
    fragile = fragile and bool(free)
    if fragile:  # a dict keyed by an instance that moves and by a key that fails its rehash
        holders.append(("dict keys", {free[0]: 0, Fragile(): 1}))
    del free
    kinds = (olds[0],)
    before = [_described(kind, h, kinds) for kind, h in holders]
    state = [(o.n, getattr(o, "tag", None)) for o in crowd]

    with heap_pass(in_c):
        if fragile:
            with pytest.raises(hotswap.UpdateError, match="hashed once only"):
                mf.update(_source(NEW))
        else:
            report = mf.update(_source(NEW))

    News = (mf.module.Vec,)
    if fragile:  # nothing changed: every instance on the old class, where it was
        assert News[0] is olds[0]
    else:
        assert News[0] is not olds[0]
    kinds = (olds[0], News[0])
    for (kind, h), was in zip(holders, before, strict=True):
        # `crowd` is a list too: rewritten, it names each instance as it is now
        assert _described(kind, h, kinds) == was, kind
        for x in _contents(kind, h):
            for y in (x if type(x) is tuple else (x,)):
                if type(y) in kinds:
                    assert y is crowd[y.n], f"{kind} holds another object than the crowd's"
    for n, obj in enumerate(crowd):
        stays = fragile or n in pinned
        assert type(obj) is (olds[0] if stays else News[0])
        assert (obj.n, getattr(obj, "tag", None)) == state[n]
        assert obj.get() == n * (1 if stays else 10)
        assert not hasattr(obj, "extra")
    if fragile:
        return
    moved = count - len(pinned)
    entry = f"{mf.name}.Vec ({moved} moved to the new layout)"
    assert (entry in report.instances) == (moved > 0)
    assert any(f"{len(pinned)} live instance(s) keep the old class" in why
               for _, why in report.skipped) == bool(pinned)


def _heap_and_report(env: dict[str, str]) -> str:
    code = r"""
import os, sys, tempfile, textwrap, importlib
import hotswap
d = tempfile.mkdtemp(); sys.path.insert(0, d)
src = "class P:\n    __slots__ = SLOTS\n    def __init__(self, i):\n        self.a = i\n"
p = os.path.join(d, "mvmod.py")
open(p, "w").write(src.replace("SLOTS", "('a', 'b')"))
import mvmod
ps = [mvmod.P(i) for i in range(3000)]
by_key = {x: x.a for x in ps[::3]}
by_str = {str(x.a): x for x in ps}
pinned = (ps[5], ps[6])
def keep():
    first = ps[0]
    return lambda: first
cell = keep()
box = type("Box", (), {})(); box.p = ps[9]
open(p, "w").write(src.replace("SLOTS", "('a', 'b', 'c')"))
r = hotswap.update(mvmod)
new = mvmod.P
assert all(type(ps[i]) is (mvmod.P if i not in (5, 6) else type(pinned[0])) for i in range(3000))
assert all(by_str[str(i)] is ps[i] for i in range(3000)) and cell() is ps[0] and box.p is ps[9]
assert all(k is ps[k.a] for k in by_key)
print(sorted(r.instances), sorted(r.skipped), r.heap_walks)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_same_move_reports_the_same_with_or_without_the_pass_in_c() -> None:
    in_c = _heap_and_report({})
    in_python = _heap_and_report({"HOTSWAP_PURE_PYTHON": "1"})
    assert "2998 moved to the new layout" in in_c and "2 live instance(s)" in in_c
    walks_c, walks_py = in_c.split()[-1], in_python.split()[-1]
    assert in_c.rsplit(" ", 1)[0] == in_python.rsplit(" ", 1)[0]
    if _heap._accel is not None:
        assert (walks_c, walks_py) == ("1", "2")


def test_the_pass_in_c_walks_the_collector_lists_itself_on_every_python() -> None:
    """One pass: on 3.11 too, the collector's generations are walked directly (no listing
    by gc.get_objects() first), and find what gc.get_referrers finds."""
    if _heap._accel is None:
        pytest.skip("hotswap._scan was not built here, or HOTSWAP_PURE_PYTHON is set")
    assert _heap._accel.one_walk()

    class Target:
        pass
    target = Target()
    holders = [[target], {"k": target}, types.CellType(target)]
    found = _heap._accel.referrers((target,), ())
    assert {id(h) for h in holders} <= {id(f) for f in found}
    want = {id(r) for r in __import__("gc").get_referrers(target)}
    assert {id(f) for f in found} == want - {id(sys._getframe())}


def test_the_lists_way_is_still_there_and_agrees() -> None:
    """HOTSWAP_SCAN_LISTS turns the direct walk off (3.11: the listing first, as where the
    collector's layout could not be confirmed); the answer is the same."""
    if _heap._accel is None:
        pytest.skip("hotswap._scan was not built here, or HOTSWAP_PURE_PYTHON is set")
    code = ("import hotswap._scan as s, gc\nclass T: pass\nt = T()\nh = [[t], {1: t}]\n"
            "f = s.referrers((t,), ())\nassert all(any(x is y for y in f) for x in h)\n"
            "print(s.one_walk())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "HOTSWAP_SCAN_LISTS": "1"}, check=True)
    assert out.stdout.strip() == ("False" if sys.version_info < (3, 12) else "True")


# -- moves: an instance's attribute dict goes with it ------------------------------------

LINKED = """
class Node:
    __slots__ = SLOTS

    def __init__(self, n):
        self.n = n

    def name(self):
        return PREFIX + str(self.n)
"""
LINKED_OLD, LINKED_NEW = ("('n', '__dict__')", "'a'"), ("('n', 'extra', '__dict__')", "'b'")


def _linked(which: tuple[str, str]) -> str:
    return LINKED.replace("SLOTS", which[0]).replace("PREFIX", which[1])


@IN_C
def test_a_moved_instance_keeps_its_attribute_dict_and_its_links(modules, in_c: bool) -> None:
    mf = modules(_linked(LINKED_OLD))
    olds = (mf.module.Node,)  # a tuple: a tracer's copy of the locals (3.11) is a dict
    a, b, c = olds[0](1), olds[0](2), olds[0](3)
    a.me, a.other, b.other, a.kids, c.parent = a, b, a, [b, c], a
    dicts = [vars(a), vars(b), vars(c)]  # a dict object held on its own
    crowd = [a, b, c]
    del a, b, c
    with heap_pass(in_c):
        report = mf.update(_linked(LINKED_NEW))
    new = mf.module.Node
    a, b, c = crowd
    assert new is not olds[0] and all(type(x) is new for x in crowd), report
    assert a.me is a and a.other is b and b.other is a and c.parent is a
    assert a.kids == [b, c] and a.kids[0] is b and a.kids[1] is c
    assert [vars(x) for x in crowd] == dicts and all(
        vars(x) is d for x, d in zip(crowd, dicts, strict=True))
    assert a.me.name() == "b1" and a.other.other.name() == "b1" and c.parent.kids[1].name() == "b3"
    assert not any(type(v) is olds[0] for x in crowd for v in vars(x).values())


@IN_C
def test_a_move_undone_half_way_gives_each_instance_its_own_dict_back(modules,
                                                                     in_c: bool) -> None:
    mf = modules(_linked(LINKED_OLD))
    olds = (mf.module.Node,)
    a, b = olds[0](1), olds[0](2)
    a.me, a.other, b.other = a, b, a
    dicts = [vars(a), vars(b)]
    contents = [dict(d) for d in dicts]
    fragile = {b: 0, Fragile(): 1}  # its rehash fails: the move is undone
    crowd = [a, b]
    del a, b
    with heap_pass(in_c), pytest.raises(hotswap.UpdateError, match="hashed once only"):
        mf.update(_linked(LINKED_NEW))
    a, b = crowd
    assert mf.module.Node is olds[0] and type(a) is olds[0] and type(b) is olds[0]
    assert vars(a) is dicts[0] and vars(b) is dicts[1]
    assert [dict(d) for d in dicts] == contents
    assert a.me is a and a.other is b and b.other is a and list(fragile)[0] is b


@IN_C
def test_a_rolled_back_move_gives_the_old_instances_their_dict_holding_them(
        modules, in_c: bool) -> None:
    mf = modules(_linked(LINKED_OLD))
    olds = (mf.module.Node,)
    a, b = olds[0](1), olds[0](2)
    a.me, a.other, b.other = a, b, a
    dicts = [vars(a), vars(b)]
    crowd = [a, b]
    del a, b
    with heap_pass(in_c):
        mf.update(_linked(LINKED_NEW))
        assert type(crowd[0]) is not olds[0]
        crowd[1].seen = True  # the state stays, as for any instance kept in place
        hotswap.rollback(mf.module)
    a, b = crowd
    assert type(a) is olds[0] and type(b) is olds[0] and mf.module.Node is olds[0]
    assert vars(a) is dicts[0] and vars(b) is dicts[1]
    assert a.me is a and a.other is b and b.other is a and b.seen and a.name() == "a1"


links = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5),
                           st.sampled_from(["p", "q", "r"])), max_size=12)


@IN_C
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 6), edges=links)
def test_links_between_moved_instances_through_their_dicts_all_follow(
        modules, in_c: bool, count: int, edges: list[tuple[int, int, str]]) -> None:
    mf = modules(_linked(LINKED_OLD))
    crowd = [mf.module.Node(n) for n in range(count)]
    for i, j, attr in edges:
        setattr(crowd[i % count], attr, crowd[j % count])
    want = [{k: (v.n if hasattr(v, "n") else v) for k, v in vars(x).items()} for x in crowd]
    with heap_pass(in_c):
        mf.update(_linked(LINKED_NEW))
    new = mf.module.Node
    assert all(type(x) is new for x in crowd)
    assert [{k: v.n for k, v in vars(x).items()} for x in crowd] == want
    for x in crowd:
        for v in vars(x).values():
            assert v is crowd[v.n]


# -- moves: state that changes its home (attribute dict <-> slot) ------------------------


@IN_C
def test_attributes_in_the_dict_reach_the_slots_a_class_gains(modules, in_c: bool) -> None:
    """A class without __slots__ gains them: what its instances kept in their dict is in
    the slot of that name; what has no place in the new layout is named in the report."""
    mf = modules("class P:\n    def __init__(self, a):\n        self.a = a\n")
    olds = (mf.module.P,)
    crowd = [olds[0](1), olds[0]("x")]
    crowd[1].a = crowd[0]  # one that moves too: the slot holds its twin
    crowd[1].extra = 5  # no slot of that name, no dict: reported
    with heap_pass(in_c):
        report = mf.update("class P:\n    __slots__ = ('a',)\n\n"
                           "    def __init__(self, a):\n        self.a = a\n")
    first, second = crowd
    assert type(first) is mf.module.P and type(second) is mf.module.P
    assert first.a == 1 and second.a is first
    assert not hasattr(second, "__dict__")
    assert any("'extra' (1)" in why and "not carried over" in why
               for _, why in report.skipped), report.skipped
    assert not any("'a'" in why for _, why in report.skipped)


@IN_C
def test_a_slot_the_new_class_has_not_goes_to_its_dict_and_comes_back_on_undo(
        modules, in_c: bool) -> None:
    src = "class Q:\n    __slots__ = SLOTS\n"
    mf = modules(src.replace("SLOTS", "('a', '__dict__')"))
    olds = (mf.module.Q,)
    crowd = [olds[0](), olds[0]()]
    crowd[0].a, crowd[0].b = 1, 2
    crowd[1].b = 3  # its slot `a` unset: nothing to carry
    with heap_pass(in_c):
        report = mf.update(src.replace("SLOTS", "('c', '__dict__')"))
    first, second = crowd
    assert type(first) is mf.module.Q and (first.a, first.b) == (1, 2)
    assert vars(first) == {"a": 1, "b": 2} and vars(second) == {"b": 3}
    assert not hasattr(second, "a") and not report.skipped
    # The other way, undone half-way: the old dicts are as they were.
    mf2 = modules(src.replace("SLOTS", "('a', '__dict__')"))
    olds2 = (mf2.module.Q,)
    kept = [olds2[0]()]
    kept[0].a = 7
    fragile = {kept[0]: 0, Fragile(): 1}
    with heap_pass(in_c), pytest.raises(hotswap.UpdateError, match="hashed once only"):
        mf2.update(src.replace("SLOTS", "('c', '__dict__')"))
    assert type(kept[0]) is olds2[0] and kept[0].a == 7 and vars(kept[0]) == {}
    assert list(fragile)[0] is kept[0]


def test_a_class_gaining_slots_behaves_as_a_fresh_start_of_the_new_source(tmp_path) -> None:
    """Compared with a fresh interpreter running the new source on the same inputs."""
    v1 = "class P:\n    def __init__(self, a):\n        self.a = a\n"
    v2 = ("class P:\n    __slots__ = ('a', 'b')\n\n    def __init__(self, a):\n"
          "        self.a = a\n        self.b = a * 2\n\n    def show(self):\n"
          "        return (self.a, getattr(self, 'b', None))\n")
    (tmp_path / "gainmod.py").write_text(v1)
    live = run_python(f"""
        import sys
        sys.dont_write_bytecode = True
        import hotswap, gainmod
        ps = [gainmod.P(i) for i in range(3)]
        open(gainmod.__file__, "w").write({v2!r})
        hotswap.update(gainmod)
        print([p.show() for p in ps], [type(p) is gainmod.P for p in ps],
              [hasattr(p, "__dict__") for p in ps])
    """, tmp_path)
    assert live.returncode == 0, live.stderr
    (tmp_path / "gainmod.py").write_text(v2)
    fresh = run_python("""
        import gainmod
        ps = [gainmod.P(i) for i in range(3)]
        for p in ps:
            del p.b  # the old instances never ran the new __init__
        print([p.show() for p in ps], [True] * 3, [False] * 3)
    """, tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert live.stdout == fresh.stdout


# -- moves: an instance a weak reference reaches stays ------------------------------------

WEAK = """
class E:
    __slots__ = SLOTS

    def __init__(self, n):
        self.n = n
"""


@IN_C
def test_an_instance_a_weak_reference_reaches_stays_on_the_old_class(modules,
                                                                     in_c: bool) -> None:
    """A weak reference is no counted reference and cannot be rewritten: the instances it
    reaches stay (working, reported); the others move."""
    mf = modules(WEAK.replace("SLOTS", "('n', '__weakref__')"))
    olds = (mf.module.E,)
    crowd = [olds[0](n) for n in range(4)]
    members = weakref.WeakSet([crowd[0]])
    by_key = weakref.WeakValueDictionary({1: crowd[1]})
    ref = weakref.ref(crowd[2])
    with heap_pass(in_c):
        report = mf.update(WEAK.replace("SLOTS", "('n', 'extra', '__weakref__')"))
    new = mf.module.E
    assert [type(o) is olds[0] for o in crowd] == [True, True, True, False]
    assert list(members) == [crowd[0]] and by_key[1] is crowd[1] and ref() is crowd[2]
    assert [o.n for o in crowd] == [0, 1, 2, 3] and type(crowd[3]) is new
    assert f"{mf.name}.E (1 moved to the new layout)" in report.instances
    assert any("3 live instance(s) keep the old class" in why and "weak reference" in why
               for _, why in report.skipped), report.skipped
