"""Moving instances to a new layout stays exact, with the work per instance in C or not.

A slot added to ``__slots__`` replaces the class, and every instance becomes a new object
of the new layout; the containers that held an instance (lists, dicts by key and by
value, sets, cells, attribute dicts) are rewritten, each reference to an old instance now
to its new one and nothing else changed. An instance something else holds (a tuple)
stays, working, on the old class, and the report says how many. A failure half-way
through (a key whose hash raises when its dict is rebuilt) leaves everything as it was.
The same heap gives the same result with the pass in C (``hotswap._scan``: its `Index`
counts and swaps, its `copy_state` copies slots) and without it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hotswap
from hotswap import _heap

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


class Fragile:
    """A key whose hash raises once its dict is rebuilt (the first hash is its insertion)."""

    def __init__(self) -> None:
        self.hashed = 0

    def __hash__(self) -> int:
        self.hashed += 1
        if self.hashed > 1:
            raise RuntimeError("hashed once only")
        return 1


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


@contextlib.contextmanager
def _in_c(in_c: bool) -> Iterator[None]:
    """The pass in C as built (`in_c`), or hotswap without it."""
    with pytest.MonkeyPatch.context() as patch:
        if not in_c:
            patch.setattr(_heap, "_accel", None)
        yield


@pytest.mark.parametrize("in_c", [True, False], ids=["pass in C", "in Python"])
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

    with _in_c(in_c):
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
