"""Fixes from a review of the warm-up and of moving instances to a new layout.

- A process forked while a `Watcher` warms up can still update: the warm-up thread never
  imports (a dead thread's import lock would hang the child), and the locks it takes are
  made afresh in a child.
- A moved instance takes its attribute dict with it, the dict object itself: links from
  its attributes to itself and to other moved instances follow the move (they are
  rewritten with every other holder), and a reference to the dict is one to its dict.
- State that changes its home on a move is carried: an attribute kept in the dict goes to
  the new slot of its name, a slot the new class has not to its dict; what has no place
  in the new layout is named in the report.
- An instance a weak reference reaches stays on the old class (reported): the weak
  reference is no counted reference and would reach the old object, never its twin.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hotswap
from hotswap import _heap

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")


def _python(code: str, folder: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter with `folder` importable; a hang fails (timeout)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=folder)


# A child forked `delay` seconds after the Watcher was made updates a module; it dumps its
# threads and exits 9 if the update has not returned after 30 s (it hung).
FORK_AFTER_WATCHER = """
    import faulthandler, os, sys, time, warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
    sys.dont_write_bytecode = True
    import hotswap, forkmod
    watcher = hotswap.Watcher([forkmod])
    time.sleep({delay})
    pid = os.fork()
    if pid == 0:
        faulthandler.dump_traceback_later(30, exit=True)
        with open(forkmod.__file__, "w") as f:
            f.write("def f():\\n    return 2\\n")
        try:
            hotswap.update(forkmod)
            os._exit(0 if forkmod.f() == 2 else 3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert watcher.ready(60)
    print("CHILD", os.waitstatus_to_exitcode(status))
"""


@needs_fork
@pytest.mark.parametrize("delay", [0, 0.002, 0.005, 0.01, 0.03])
def test_a_child_forked_while_a_watcher_warms_up_can_update(tmp_path: Path,
                                                           delay: float) -> None:
    (tmp_path / "forkmod.py").write_text("def f():\n    return 1\n")
    out = _python(FORK_AFTER_WATCHER.format(delay=delay), tmp_path)
    assert out.returncode == 0, out.stderr
    assert "CHILD 0" in out.stdout, out.stdout + out.stderr


def test_the_warm_up_thread_imports_nothing(tmp_path: Path) -> None:
    """Whatever the thread would import is imported before the Watcher returns."""
    (tmp_path / "quietmod.py").write_text("# -*- coding: utf-8 -*-\nX = 1\n")
    out = _python("""
        import sys
        import hotswap, quietmod
        assert "hotswap._engine" not in sys.modules
        watcher = hotswap.Watcher([quietmod])
        before = set(sys.modules)
        assert watcher.ready(60)
        assert set(sys.modules) == before, sorted(set(sys.modules) - before)
        from hotswap import _engine
        assert _engine._STATES["quietmod"].segmentation is not None
    """, tmp_path)
    assert out.returncode == 0, out.stderr


@needs_fork
def test_a_forked_child_makes_afresh_the_locks_a_dead_thread_held(tmp_path: Path) -> None:
    """A thread holds the warmer's lock and the source registry's as the process forks:
    the child (where that thread is gone) can still import, warm up and update."""
    (tmp_path / "lockmod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "latermod.py").write_text("Y = 2\n")
    out = _python("""
        import faulthandler, os, sys, threading, time, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        sys.dont_write_bytecode = True
        import hotswap, lockmod
        from hotswap import _sources
        watcher = hotswap.Watcher([lockmod])
        assert watcher.ready(60)
        warmer = watcher._warmer
        held, release = threading.Event(), threading.Event()

        def hold():
            with warmer._lock, _sources.REGISTRY._lock:
                held.set()
                release.wait()
        thread = threading.Thread(target=hold)
        thread.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            faulthandler.dump_traceback_later(30, exit=True)
            import latermod  # the registry notes its source
            warmer.add([latermod])
            assert warmer.ready(30)
            with open(lockmod.__file__, "w") as f:
                f.write("def f():\\n    return 2\\n")
            hotswap.update(lockmod)
            os._exit(0 if lockmod.f() == 2 and latermod.Y == 2 else 3)
        release.set()
        thread.join()
        _, status = os.waitpid(pid, 0)
        print("CHILD", os.waitstatus_to_exitcode(status))
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "CHILD 0" in out.stdout, out.stdout + out.stderr


@needs_fork
def test_a_forked_child_finishes_the_warm_up_its_parent_had_left(tmp_path: Path) -> None:
    """The parent's thread had taken a module and died with the fork, half-way: the
    child's `ready` parses it on a thread of the child's own."""
    (tmp_path / "leftmod.py").write_text("Z = 3\n")
    out = _python("""
        import faulthandler, os, sys, threading, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        import hotswap, leftmod
        from hotswap import _engine, _warm
        warmer = _warm.Warmer()
        warmer.add([])
        assert warmer.ready(60)
        inside, release = threading.Event(), threading.Event()
        real = _warm.ready_one

        def slow(module):
            inside.set()
            release.wait()
            return real(module)
        _warm.ready_one = slow
        warmer.add([leftmod])
        inside.wait()
        pid = os.fork()
        if pid == 0:
            faulthandler.dump_traceback_later(30, exit=True)
            _warm.ready_one = real
            ok = warmer.ready(30) and _engine._STATES["leftmod"].segmentation is not None
            os._exit(0 if ok else 3)
        release.set()
        assert warmer.ready(60)
        _, status = os.waitpid(pid, 0)
        print("CHILD", os.waitstatus_to_exitcode(status))
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "CHILD 0" in out.stdout, out.stdout + out.stderr


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


@contextlib.contextmanager
def _in_c(in_c: bool) -> Iterator[None]:
    """The pass in C as built (`in_c`), or hotswap without it."""
    if in_c and _heap._accel is None:
        pytest.skip("hotswap._scan was not built here, or HOTSWAP_PURE_PYTHON is set")
    with pytest.MonkeyPatch.context() as patch:
        if not in_c:
            patch.setattr(_heap, "_accel", None)
        yield


IN_C = pytest.mark.parametrize("in_c", [True, False], ids=["pass in C", "in Python"])


@IN_C
def test_a_moved_instance_keeps_its_attribute_dict_and_its_links(modules, in_c: bool) -> None:
    mf = modules(_linked(LINKED_OLD))
    olds = (mf.module.Node,)  # a tuple: a tracer's copy of the locals (3.11) is a dict
    a, b, c = olds[0](1), olds[0](2), olds[0](3)
    a.me, a.other, b.other, a.kids, c.parent = a, b, a, [b, c], a
    dicts = [vars(a), vars(b), vars(c)]  # a dict object held on its own
    crowd = [a, b, c]
    del a, b, c
    with _in_c(in_c):
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
    fragile = {b: 0, _Fragile(): 1}  # its rehash fails: the move is undone
    crowd = [a, b]
    del a, b
    with _in_c(in_c), pytest.raises(hotswap.UpdateError, match="hashed once only"):
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
    with _in_c(in_c):
        mf.update(_linked(LINKED_NEW))
        assert type(crowd[0]) is not olds[0]
        crowd[1].seen = True  # the state stays, as for any instance kept in place
        hotswap.rollback(mf.module)
    a, b = crowd
    assert type(a) is olds[0] and type(b) is olds[0] and mf.module.Node is olds[0]
    assert vars(a) is dicts[0] and vars(b) is dicts[1]
    assert a.me is a and a.other is b and b.other is a and b.seen and a.name() == "a1"


class _Fragile:
    """A key whose hash raises once its dict is rebuilt (the first hash is its insertion)."""

    def __init__(self) -> None:
        self.hashed = 0

    def __hash__(self) -> int:
        self.hashed += 1
        if self.hashed > 1:
            raise RuntimeError("hashed once only")
        return 1


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
    with _in_c(in_c):
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
    with _in_c(in_c):
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
    with _in_c(in_c):
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
    fragile = {kept[0]: 0, _Fragile(): 1}
    with _in_c(in_c), pytest.raises(hotswap.UpdateError, match="hashed once only"):
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
    live = _python(f"""
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
    fresh = _python("""
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
    with _in_c(in_c):
        report = mf.update(WEAK.replace("SLOTS", "('n', 'extra', '__weakref__')"))
    new = mf.module.E
    assert [type(o) is olds[0] for o in crowd] == [True, True, True, False]
    assert list(members) == [crowd[0]] and by_key[1] is crowd[1] and ref() is crowd[2]
    assert [o.n for o in crowd] == [0, 1, 2, 3] and type(crowd[3]) is new
    assert f"{mf.name}.E (1 moved to the new layout)" in report.instances
    assert any("3 live instance(s) keep the old class" in why and "weak reference" in why
               for _, why in report.skipped), report.skipped
