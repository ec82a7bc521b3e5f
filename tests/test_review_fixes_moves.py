"""Fixes from a review of the warm-up and of moving instances to a new layout.

- A process forked while a `Watcher` warms up can still update: the warm-up thread never
  imports (a dead thread's import lock would hang the child), and the locks it takes are
  made afresh in a child.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
