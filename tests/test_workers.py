"""A Watcher started in the parent keeps pool workers up to date, forked or spawned."""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid

import pytest

import hotswap

ENV = "HOTSWAP_WATCH"
WORKERS = 4
DEADLINE = 20.0

TARGET_V1 = '''\
def value():
    return "v1"
'''

TARGET_V2 = '''\
def value():
    return "v2 from the parent's edit"
'''

# The task lives in a module of its own, next to the target, so that spawned workers can
# import it (a function of this test file would drag pytest's test module into them).
TASK = '''\
import os
import subprocess
import time

import hotswap
import {target}


def task(delay):
    time.sleep(delay)
    fn = {target}.value
    return os.getpid(), fn(), id(fn)
'''


def _run_round(pool, task, deadline: float, n: int = 2 * WORKERS, delay: float = 0.02):
    """One round of tasks; a worker that died with a task would make map() wait forever,
    so the wait is bounded by the test's deadline."""
    timeout = max(deadline - time.monotonic(), 1.0)
    try:
        return pool.map_async(task, [delay] * n, chunksize=1).get(timeout)
    except multiprocessing.TimeoutError:
        codes = [(p.pid, p.exitcode) for p in getattr(pool, "_pool", [])]
        pytest.fail(f"the pool stopped answering within {timeout:.1f} s (workers: {codes})")


# Forking while the watcher thread runs is the point of the test; Python 3.12+ warns
# about any fork of a multi-threaded process.
@pytest.mark.filterwarnings("ignore:.*multi-threaded.*:DeprecationWarning")
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pool_workers_pick_up_an_edit_made_in_the_parent(tmp_path, method):
    assert ENV not in os.environ
    tag = uuid.uuid4().hex[:12]
    target_name, task_name = f"hs_wtarget_{tag}", f"hs_wtask_{tag}"
    target_path = tmp_path / f"{target_name}.py"
    target_path.write_text(TARGET_V1)
    (tmp_path / f"{task_name}.py").write_text(TASK.format(target=target_name))

    sys.path.insert(0, str(tmp_path))  # spawned children get the parent's sys.path
    importlib.invalidate_caches()
    watcher = None
    pool = None
    try:
        target = importlib.import_module(target_name)
        task = importlib.import_module(task_name).task
        parent_fn = target.value

        watcher = hotswap.Watcher(target)
        watcher.start(interval=0.05)
        assert ENV in os.environ
        pool = multiprocessing.get_context(method).Pool(WORKERS)

        # every worker answers with the old code first (and, spawned, has imported it)
        first: dict[int, tuple[str, int]] = {}
        deadline = time.monotonic() + DEADLINE
        while len(first) < WORKERS and time.monotonic() < deadline:
            for pid, value, fn_id in _run_round(pool, task, deadline):
                assert value == "v1"
                first.setdefault(pid, (value, fn_id))
        assert len(first) == WORKERS, f"only {len(first)} workers answered"
        assert os.getpid() not in first

        target_path.write_text(TARGET_V2)

        latest: dict[int, str] = {}
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            for pid, value, fn_id in _run_round(pool, task, deadline):
                assert pid in first  # the same workers: updated in place, not replaced
                assert fn_id == first[pid][1]  # the function object kept its identity
                if latest.get(pid) == "v2 from the parent's edit":
                    assert value == "v2 from the parent's edit"  # never back to old code
                latest[pid] = value
            if len(latest) == WORKERS and set(latest.values()) == {"v2 from the parent's edit"}:
                break
        assert latest == {pid: "v2 from the parent's edit" for pid in first}

        # the parent's own watcher applied it too, in place
        deadline = time.monotonic() + DEADLINE
        while target.value() != "v2 from the parent's edit" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert target.value is parent_fn
        assert parent_fn() == "v2 from the parent's edit"
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if watcher is not None:
            watcher.stop()
        sys.path.remove(str(tmp_path))
        for name in (target_name, task_name):
            sys.modules.pop(name, None)
    assert watcher is not None and not watcher.running
    assert ENV not in os.environ


# An application usually imports hotswap in its main module, and the task functions live
# there too. A spawned worker re-imports that module (as __mp_main__) while it is being
# prepared, before it reads its first task: the watch must reach those workers as well.
APP = '''\
import json
import multiprocessing
import os
import subprocess
import sys
import time

import hotswap
import {target}

NEW = "v2 from the parent's edit"


def task(delay):
    time.sleep(delay)
    return os.getpid(), {target}.value()


def rounds(pool, deadline):
    timeout = max(deadline - time.monotonic(), 1.0)
    return pool.map_async(task, [0.02] * 8, chunksize=1).get(timeout)


if __name__ == "__main__":
    watcher = hotswap.Watcher({target}).start(interval=0.05)
    pool = multiprocessing.get_context("spawn").Pool(4)
    latest = {{}}
    try:
        deadline = time.monotonic() + 20
        first = {{}}
        while len(first) < 4 and time.monotonic() < deadline:
            first.update(rounds(pool, deadline))
        assert set(first.values()) == {{"v1"}}, first
        with open({target}.__file__, "w") as f:
            f.write("def value():\\n    return " + repr(NEW) + "\\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            latest.update(rounds(pool, deadline))
            if len(latest) == 4 and set(latest.values()) == {{NEW}}:
                break
        # the parent's own watcher polls on its own clock: it may apply after the workers
        while {target}.value() != NEW and time.monotonic() < deadline:
            time.sleep(0.01)
        print(json.dumps({{"first": sorted(first), "latest": latest,
                          "parent": {target}.value()}}))
    finally:
        pool.terminate()
        pool.join()
        watcher.stop()
    sys.exit(0 if latest and set(latest.values()) == {{NEW}} and len(latest) == 4 else 3)
'''


def test_spawned_workers_of_a_main_script_that_imports_hotswap_follow_the_edit(tmp_path):
    tag = uuid.uuid4().hex[:12]
    target = f"hs_apptarget_{tag}"
    (tmp_path / f"{target}.py").write_text(TARGET_V1)
    script = tmp_path / "app.py"
    script.write_text(APP.format(target=target))
    env = {k: v for k, v in os.environ.items() if k != ENV}

    proc = subprocess.run([sys.executable, "-B", str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=90)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["parent"] == "v2 from the parent's edit"
    assert sorted(int(pid) for pid in result["latest"]) == result["first"]
    assert set(result["latest"].values()) == {"v2 from the parent's edit"}
