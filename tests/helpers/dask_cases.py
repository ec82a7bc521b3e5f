"""The cluster cases of tests/test_dask.py, run by it in a pytest process of their own.

hotswap.dask on a real distributed.LocalCluster of worker processes (no threads, no
mocks). One cluster serves the whole file; each test uses modules of its own names, so the
workers' imports of one test never meet another's. The workers do not share the client's
sys.path for these modules: they get them only through hotswap.dask.update, as a remote
worker would.

Why a process of their own: once a process has used a distributed client, its heap holds
what makes tests/test_heap.py's scans take minutes instead of seconds (measured: 4.5 s
alone, over 3 minutes after one `Client` connected and closed), so the cluster never runs
inside the main test process. This file is not collected by itself: it lives among the
helpers, where pytest does not look, and test_dask.py names it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import distributed
import pytest

import hotswap
import hotswap.dask as hd

from helpers.files import write

WORKERS = 2


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=2,
                                       processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


def load(folder: Path, name: str, source: str) -> tuple[ModuleType, Path]:
    import importlib

    path = write(folder, f"{name}.py", source)
    importlib.invalidate_caches()
    return importlib.import_module(name), path


def workers(client: Any) -> list[str]:
    return sorted(client.scheduler_info()["workers"])


def on_each(client: Any, func: Callable[..., Any], *args: Any) -> list[Any]:
    """`func(*args)` as a task on every worker, one each."""
    return [client.submit(func, *args, workers=[w], pure=False).result(timeout=60)
            for w in workers(client)]


def pid_of(client: Any, address: str) -> int:
    return client.run(os.getpid, workers=[address])[address]


V1 = """
    import os

    def f(x):
        return x + 1

    class Counter:
        def __init__(self):
            self.n = 0

        def add(self, k):
            self.n += k
            return self.n
"""


def test_function_and_method_edits_reach_tasks_and_actors(client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_edits", V1)
    first = hd.update(client, mod)  # places the module on the workers
    assert all(first.placed[w] == ["hsd_edits"] for w in workers(client))
    actor = client.submit(mod.Counter, actor=True, workers=workers(client)[:1]).result()
    assert actor.add(2).result() == 2
    assert on_each(client, mod.f, 1) == [2] * WORKERS

    path.write_text(textwrap.dedent(V1).replace("x + 1", "x + 100")
                    .replace("return self.n", "return self.n * 10"))
    report = hd.update(client, mod)

    assert on_each(client, mod.f, 1) == [101] * WORKERS == [mod.f(1)] * WORKERS
    assert actor.add(1).result() == 30  # the actor's state kept (n=3), new method
    assert report.generation == 2
    assert set(report.reports) == {*workers(client), "client"}
    for address in workers(client):
        (one,) = report.reports[address]
        assert one.functions == ["hsd_edits.f", "hsd_edits.Counter.add"]
    assert report.summary().startswith(f"updated hsd_edits on 1 scheduler + {WORKERS} workers")
    # a fresh interpreter running the new source answers what the cluster answers
    fresh = subprocess.run([sys.executable, "-c", "import hsd_edits; print(hsd_edits.f(1))"],
                           cwd=folder, capture_output=True, text=True, check=True)
    assert int(fresh.stdout) == 101


POINTS = """
    class Point:
        def __init__(self, x):
            self.x = x

        def size(self):
            return abs(self.x)

    def make(n):
        return [Point(-i) for i in range(n)]

    def ident(points):
        return [id(p) for p in points]

    def check(points):
        return [isinstance(p, Point) and p.size() for p in points]
"""


def test_persisted_instances_keep_identity_and_follow_the_new_class(
        client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_points", POINTS)
    hd.update(client, mod)
    held = [client.submit(mod.make, 3, workers=[w], pure=False) for w in workers(client)]
    ids = [client.submit(mod.ident, h).result() for h in held]
    assert [client.submit(mod.check, h).result() for h in held] == [[0, 1, 2]] * WORKERS

    path.write_text(textwrap.dedent(POINTS).replace("abs(self.x)", "abs(self.x) * 100"))
    hd.update(client, mod)

    assert [client.submit(mod.ident, h).result() for h in held] == ids
    assert [client.submit(mod.check, h).result() for h in held] == [[0, 100, 200]] * WORKERS


def test_refused_update_changes_nothing_on_any_process(client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_refused", V1)
    before = hd.update(client, mod).generation
    victim = workers(client)[-1]
    refusing = textwrap.dedent(V1).replace("x + 1", "x + 2") + textwrap.dedent(f"""
        assert os.getpid() != {pid_of(client, victim)}, "this worker cannot take it"
    """)
    path.write_text(refusing)
    with pytest.raises(hd.ClusterUpdateError) as caught:
        hd.update(client, mod)

    assert list(caught.value.reasons) == [victim]
    assert "this worker cannot take it" in str(caught.value)
    assert on_each(client, mod.f, 1) == [2] * WORKERS and mod.f(1) == 2
    # the first update only placed the module: no process has applied an update since
    assert hotswap.generation(mod) == 0
    assert on_each(client, hotswap.generation, "hsd_refused") == [0] * WORKERS
    path.write_text(textwrap.dedent(V1).replace("x + 1", "x + 3"))
    assert hd.update(client, mod).generation == before + 1  # the cluster is not stuck


def test_failure_while_applying_on_one_worker_rolls_back_the_others(
        client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_apply_fails", V1)
    hd.update(client, mod)
    victim = pid_of(client, workers(client)[0])
    path.write_text(textwrap.dedent(V1).replace("x + 1", "x + 2") + textwrap.dedent(f"""
        def healthy():
            if os.getpid() == {victim}:
                raise RuntimeError("injected failure on one worker")
    """))
    name = mod.__name__

    with pytest.raises(hd.ClusterUpdateError) as caught:
        hd.update(client, mod, check=lambda: sys.modules[name].healthy())

    assert list(caught.value.reasons) == [workers(client)[0]]
    assert "injected failure" in str(caught.value)
    assert "rolled back" in str(caught.value)
    # the client, last in line, never applied it: its report is the dry run's
    assert [r.dry_run for r in caught.value.report.reports["client"]] == [True]
    assert on_each(client, mod.f, 1) == [2] * WORKERS and mod.f(1) == 2
    assert on_each(client, hotswap.generation, name) == [0] * WORKERS


def test_rollback_undoes_the_last_update_everywhere(client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_rollback", POINTS)
    hd.update(client, mod)
    held = client.submit(mod.make, 3, pure=False)
    ids = client.submit(mod.ident, held).result()
    path.write_text(textwrap.dedent(POINTS).replace("abs(self.x)", "-abs(self.x)"))
    assert hd.update(client, mod).generation == 2
    assert client.submit(mod.check, held).result() == [0, -1, -2]

    report = hd.rollback(client, mod)

    assert report.generation == 1
    assert report.summary().startswith("rolled back hsd_rollback on 1 scheduler")
    assert client.submit(mod.check, held).result() == [0, 1, 2]
    assert client.submit(mod.ident, held).result() == ids
    assert on_each(client, hotswap.generation, "hsd_rollback") == [0] * WORKERS
    assert mod.Point(-4).size() == 4
    hd.rollback(client, mod)  # the first update, which placed the module, goes too
    assert client.run(lambda: "hsd_rollback" in sys.modules) == {w: False for w in
                                                                 workers(client)}
    with pytest.raises(hotswap.UpdateError, match="no cluster update of 'hsd_rollback'"):
        hd.rollback(client, mod)


def test_package_with_several_changed_modules(client: Any, folder: Path) -> None:
    import importlib

    write(folder, "hsd_pkg/__init__.py", "")
    a = write(folder, "hsd_pkg/a.py", "def base():\n    return 1\n")
    b = write(folder, "hsd_pkg/b.py",
              "from hsd_pkg.a import base\n\ndef twice():\n    return base() * 2\n")
    importlib.invalidate_caches()
    pkg_b = importlib.import_module("hsd_pkg.b")
    hd.update(client, "hsd_pkg")
    assert on_each(client, pkg_b.twice) == [2] * WORKERS

    a.write_text("def base():\n    return 10\n")
    b.write_text("from hsd_pkg.a import base\n\ndef twice():\n    return base() * 3\n")
    report = hd.update(client, folder / "hsd_pkg")

    assert on_each(client, pkg_b.twice) == [30] * WORKERS == [pkg_b.twice()] * WORKERS
    for address in workers(client):
        changed = {r.module for r in report.reports[address] if r.changed}
        assert changed == {"hsd_pkg.a", "hsd_pkg.b"}


def test_worker_added_after_the_update_runs_the_new_code(client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_late", V1)
    hd.update(client, mod)
    path.write_text(textwrap.dedent(V1).replace("x + 1", "x + 7"))
    hd.update(client, mod)
    old = set(workers(client))
    sys.path.remove(str(folder))  # a new worker process would inherit it: not on a cluster
    try:
        client.cluster.scale(WORKERS + 1)
        client.wait_for_workers(WORKERS + 1, timeout=60)
        (late,) = set(workers(client)) - old
        assert client.submit(mod.f, 1, workers=[late], pure=False).result(timeout=60) == 8
        assert client.run(hotswap.generation, "hsd_late", workers=[late])[late] == 0
        assert client.run(where, "hsd_late", workers=[late])[late] == "hotswap"
    finally:
        sys.path.insert(0, str(folder))
        client.cluster.scale(WORKERS)
        _wait(lambda: len(workers(client)) == WORKERS)


def where(name: str) -> str:
    """The folder a module was loaded from (on a worker: "hotswap", hotswap's own)."""
    return Path(sys.modules[name].__file__ or "").parent.name


def test_worker_killed_mid_update_is_reported_and_the_rest_converge(
        client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_killed", V1)
    hd.update(client, mod)
    victim = workers(client)[0]
    path.write_text(textwrap.dedent(V1).replace("x + 1", "x + 5") + textwrap.dedent(f"""
        def __hotswap_migrate__(old):
            if os.getpid() == {pid_of(client, victim)}:
                os._exit(1)   # dies while applying
    """))

    sys.path.remove(str(folder))  # the restarted worker would inherit it: not on a cluster
    try:
        report = hd.update(client, mod)

        assert list(report.lost) == [victim] and "apply" in report.lost[victim]
        assert mod.f(1) == 6
        # the nanny restarts the worker; the plugin brings it to the new source
        _wait(lambda: victim not in workers(client) and len(workers(client)) == WORKERS)
        assert on_each(client, mod.f, 1) == [6] * WORKERS
        assert set(client.run(where, "hsd_killed").values()) == {"hotswap"}
    finally:
        sys.path.insert(0, str(folder))


RUNNING = """
    from distributed import Event

    def long(started, go):
        Event(started).set()
        Event(go).wait(60)
        return "old"
"""


def test_running_tasks_finish_on_their_code_and_later_tasks_run_the_new(
        client: Any, folder: Path) -> None:
    mod, path = load(folder, "hsd_running", RUNNING)
    hd.update(client, mod)
    running = client.submit(mod.long, "hsd-started", "hsd-go", pure=False)
    from distributed import Event

    assert Event("hsd-started").wait(30)
    path.write_text(textwrap.dedent(RUNNING).replace('"old"', '"new"'))

    hd.update(client, mod)
    Event("hsd-go").set()

    assert running.result(timeout=60) == "old"
    later = client.submit(mod.long, "hsd-started", "hsd-go", pure=False)
    assert later.result(timeout=60) == "new"


def _wait(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the cluster did not settle"
        time.sleep(0.1)


