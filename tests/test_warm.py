"""Getting ready ahead of time changes when the work is done, never what an update does.

`hotswap.prepare` (and a `Watcher`, which does it on a thread of its own) loads the engine
and parses the source each module was built from before the first edit. The first update
after it must give exactly the report and the results it gives without it, in a fresh
interpreter each way; and it must find that parse done (the work is really moved).

A process forked while a `Watcher` warms up can still update: the warm-up thread never
imports (a dead thread's import lock would hang the child), and the locks it takes are
made afresh in a child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hotswap
from hotswap import _diff

from helpers.processes import run_python

V1 = """
import collections

COUNT = 0
Point = collections.namedtuple("Point", "x y")


def area(w, h):
    return w * h


class Shape:
    sides = 3

    def describe(self):
        return f"{self.sides} sides"


class Slotted:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def bump():
    global COUNT
    COUNT += 1
    return COUNT
"""

V2 = """
import collections

COUNT = 0
Point = collections.namedtuple("Point", "x y")


def area(w, h):
    return w * h * 2


def perimeter(w, h):
    return 2 * (w + h)


class Shape:
    sides = 4

    def describe(self):
        return f"a shape of {self.sides} sides"


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a
        self.b = -a


def bump():
    global COUNT
    COUNT += 10
    return COUNT
"""

PROGRAM = """
import json, os, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, {folder!r})
import hotswap
import warmmod
how = {how!r}
shape = warmmod.Shape()
slotted = [warmmod.Slotted(i) for i in range(3)]
area = warmmod.area
warmmod.bump(); warmmod.bump()
watcher = None
if how == "prepare":
    assert hotswap.prepare([warmmod]) == 1
elif how == "watcher":
    watcher = hotswap.Watcher([warmmod])
    assert watcher.ready(60)
path = warmmod.__file__
with open(path, "w") as f:
    f.write({v2!r})
st = os.stat(path)
os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
if watcher is not None:
    (report,) = watcher.poll()
else:
    report = hotswap.update(warmmod)
report.duration = 0.0
text = str(report).replace("in 0.0 ms", "")
results = [area(2, 3), warmmod.perimeter(2, 3), shape.describe(), warmmod.bump(),
           [(type(s) is warmmod.Slotted, s.a, getattr(s, "b", "unset")) for s in slotted],
           warmmod.COUNT]
fields = {{k: repr(v) for k, v in vars(report).items() if k != "duration"}}
print("RESULT " + json.dumps([text, results, fields]))
"""


def _run(tmp_path, how: str) -> list:
    folder = tmp_path / how
    folder.mkdir()
    (folder / "warmmod.py").write_text(textwrap.dedent(V1))
    code = PROGRAM.format(folder=str(folder), how=how, v2=textwrap.dedent(V2))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("how", ["prepare", "watcher"])
def test_the_first_update_after_a_warm_up_is_the_one_without_it(tmp_path, how: str) -> None:
    cold = _run(tmp_path, "cold")
    warm = _run(tmp_path, how)
    assert warm == cold
    text, results, _ = cold
    assert results[:4] == [12, 10, "a shape of 4 sides", 12]
    assert results[4] == [[True, i, "unset"] for i in range(3)]  # moved, as without it
    assert "Slotted" in text


def test_prepare_parses_the_baseline_the_first_update_then_needs_not(modules,
                                                                      monkeypatch) -> None:
    mf = modules("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    calls: list[str] = []
    real = _diff.segment

    def counted(text: str, filename: str) -> _diff.Segmentation:
        calls.append(filename)
        return real(text, filename)
    monkeypatch.setattr(_diff, "segment", counted)
    from hotswap import _engine
    monkeypatch.setattr(_engine, "segment", counted)

    assert hotswap.prepare([mf.name]) == 1
    assert calls == [str(mf.path)]
    from hotswap import _imports  # what it imports from which, learnt too (lines moving)

    assert _imports._PARSED[mf.name][1] == []
    report = mf.update("def f():\n    return 10\n\n\ndef g():\n    return 2\n")
    assert calls == [str(mf.path)]  # the first update parsed only what changed
    assert mf.module.f() == 10 and report.functions
    assert hotswap.prepare([mf.module]) == 1 and len(calls) == 1  # ready since the update


def test_a_module_without_a_known_source_is_not_ready(modules) -> None:
    mf = modules("X = 1\n")
    from hotswap import _sources

    _sources.REGISTRY._baselines.pop(mf.name)
    assert hotswap.prepare([mf.module, "no.such.module"]) == 0


def test_a_watcher_readies_the_modules_it_picks_up_later(modules) -> None:
    first = modules("A = 1\n", name="warmpkg.a")
    watcher = hotswap.Watcher(["warmpkg"])
    assert watcher.ready(60)
    from hotswap import _engine

    assert _engine._STATES[first.name].segmentation is not None
    later = modules("B = 2\n", name="warmpkg.b")
    assert later.name in watcher.files.values()
    assert watcher.ready(60)
    assert _engine._STATES[later.name].segmentation.text == "B = 2\n"


def test_import_hotswap_still_does_not_load_the_engine() -> None:
    code = ("import sys, hotswap\n"
            "assert 'hotswap._engine' not in sys.modules\n"
            "assert 'hotswap._warm' not in sys.modules\n"
            "hotswap.prepare([])\nassert 'hotswap._engine' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


# -- a fork while a Watcher warms up ------------------------------------------------------

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")


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
    out = run_python(FORK_AFTER_WATCHER.format(delay=delay), tmp_path)
    assert out.returncode == 0, out.stderr
    assert "CHILD 0" in out.stdout, out.stdout + out.stderr


def test_the_warm_up_thread_imports_nothing(tmp_path: Path) -> None:
    """Whatever the thread would import is imported before the Watcher returns."""
    (tmp_path / "quietmod.py").write_text("# -*- coding: utf-8 -*-\nX = 1\n")
    out = run_python("""
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


def test_the_first_body_edit_after_a_warm_up_imports_nothing(tmp_path: Path) -> None:
    """What the first update would import late is imported by the warm-up: an import at
    the first update is paid on the hot path (``hotswap._frames``, imported by the first
    update that patched a function, made it 2x the later ones)."""
    (tmp_path / "firstmod.py").write_text(
        "def f():\n    return 1\n\n\nclass C:\n    def m(self):\n        return 2\n")
    out = run_python("""
        import pathlib, sys
        import hotswap, firstmod
        watcher = hotswap.Watcher([firstmod])
        assert watcher.ready(60)
        before = set(sys.modules)
        path = pathlib.Path(firstmod.__file__)
        path.write_text(path.read_text().replace("return 1", "return 10")
                        .replace("return 2", "return 20"))
        report = hotswap.update(firstmod)
        assert report.functions and firstmod.f() == 10 and firstmod.C().m() == 20, report
        assert set(sys.modules) == before, sorted(set(sys.modules) - before)
    """, tmp_path)
    assert out.returncode == 0, out.stderr


@needs_fork
def test_a_forked_child_makes_afresh_the_locks_a_dead_thread_held(tmp_path: Path) -> None:
    """A thread holds the warmer's lock and the source registry's as the process forks:
    the child (where that thread is gone) can still import, warm up and update."""
    (tmp_path / "lockmod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "latermod.py").write_text("Y = 2\n")
    out = run_python("""
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
    out = run_python("""
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
