"""Threads: calls running in other threads never see half an update, and updates from
several threads are serialized."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import hotswap

HAMMER = """
    VERSION = {n}


    def f():
        return {n}


    def g():
        return G_VERSION


    G_VERSION = {n}


    class K:
        def m(self):
            return {n}


    def compute():
        return (VERSION, f(), K().m(), g())
"""

WORKERS = 4
UPDATES = 200
V_A, V_B = 7_100_001, 7_100_002  # not small ints: no other module holds these objects


def test_workers_never_see_a_mixed_version(modules):
    mf = modules(HAMMER.format(n=V_A))
    mod = mf.module
    compute = mod.compute
    assert compute() == (V_A,) * 4

    stop = threading.Event()
    started = threading.Barrier(WORKERS + 1)
    seen: list[dict[tuple, int]] = [{} for _ in range(WORKERS)]
    after_stop: list[object] = [None] * WORKERS
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        counts = seen[i]

        def record(result: tuple) -> None:
            counts[result] = counts.get(result, 0) + 1

        try:
            started.wait()
            while not stop.is_set():
                record(mod.compute())
            # this call starts after the final update returned: it must run the final version
            after_stop[i] = mod.compute()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(WORKERS)]
    # More thread switches than the default makes a torn update likelier, and the test faster.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    reports = []
    try:
        for t in threads:
            t.start()
        started.wait()
        for k in range(UPDATES):
            mf.write(HAMMER.format(n=V_B if k % 2 == 0 else V_A))
            reports.append(hotswap.update(mod))
        final = V_B if (UPDATES - 1) % 2 == 0 else V_A
        stop.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        stop.set()
        sys.setswitchinterval(interval)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert [r.generation for r in reports] == list(range(1, UPDATES + 1))
    observed: dict[tuple, int] = {}
    for counts in seen:
        for result, count in counts.items():
            observed[result] = observed.get(result, 0) + count
    torn = [n for r in reports for n in r.notes if "still running the module's code" in n]
    # a stall of the updating thread longer than its hold (the machine preempting it while
    # it applies) is the one way a call can see part of an update, and it is reported
    stalled = [n for r in reports for n in r.notes if "was stalled while applying" in n]
    mixed = {r: c for r, c in observed.items() if len(set(r)) != 1}
    noted = [(r.generation, r.notes) for r in reports if r.notes]
    assert not mixed or stalled, (f"calls saw half an update: {mixed}; {len(torn)} torn "
                                  f"update(s); notes of the updates that had any: {noted[:5]}")
    # an update is applied only when no worker is inside the module's code
    assert torn == [], f"{len(torn)} of {UPDATES} updates applied with workers inside: {torn[0]}"
    assert {(V_A,) * 4, (V_B,) * 4} <= set(observed)  # both versions were seen
    assert all(set(r) <= {V_A, V_B} for r in observed)  # and nothing else
    assert all(counts for counts in seen)  # every worker got to run
    assert after_stop == [(final,) * 4] * WORKERS
    assert compute() == (final,) * 4
    assert hotswap.generation(mod) == UPDATES


SERIAL = """
    def version():
        return {n}


    class Box:
        def version(self):
            return {n}
"""


def test_updates_from_two_threads_are_serialized(modules):
    rounds = 25
    files = [modules(SERIAL.format(n=0)), modules(SERIAL.format(n=0))]
    boxes = [mf.module.Box() for mf in files]
    start = threading.Barrier(len(files))
    guard = threading.Lock()
    inside = [0]
    overlap = [0]
    reports: list[list[hotswap.Report]] = [[] for _ in files]
    errors: list[BaseException] = []

    def check(mf, n: int) -> None:
        with guard:
            inside[0] += 1
            overlap[0] = max(overlap[0], inside[0])
        try:
            time.sleep(0.002)  # an unserialized update from the other thread would land here
            assert mf.module.version() == n
        finally:
            with guard:
                inside[0] -= 1

    def updater(i: int) -> None:
        mf = files[i]
        try:
            start.wait()
            for n in range(1, rounds + 1):
                mf.write(SERIAL.format(n=n * 10 + i))
                reports[i].append(hotswap.update(mf.module, check=lambda: check(mf, n * 10 + i)))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=updater, args=(i,)) for i in range(len(files))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert overlap[0] == 1  # never two updates (with their checks) at once
    for i, mf in enumerate(files):
        assert [r.module for r in reports[i]] == [mf.name] * rounds
        assert [r.generation for r in reports[i]] == list(range(1, rounds + 1))
        assert all(r.changed and f"{mf.name}.version" in r.functions for r in reports[i])
        assert hotswap.generation(mf.module) == rounds
        assert mf.module.version() == rounds * 10 + i
        assert boxes[i].version() == rounds * 10 + i


SLOTTED = """
    class Point:
        __slots__ = SLOTS

        def __init__(self, x):
            self.x = x

        def version(self):
            return VERSION
"""


@contextlib.contextmanager
def _another_thread() -> Iterator[None]:
    """Another thread exists (idle): updates then wait for a quiet moment and check that
    their plan is not stale."""
    idle = threading.Event()
    bystander = threading.Thread(target=idle.wait, daemon=True)
    bystander.start()
    try:
        yield
    finally:
        idle.set()
        bystander.join()


def _update_with_a_thread_acting_before_each_apply(mf, monkeypatch, act) -> tuple[Any, list]:
    """Update `mf` to the slot layout ("x", "y"), calling `act(n)` between the n-th planning
    and its apply: what a worker thread would do right after the heap walk."""
    from hotswap import _engine

    real_apply = _engine.apply
    calls: list[object] = []

    def apply_after_another_thread_ran(plan, *args, **kwargs):
        calls.append(kwargs.get("stale_ok"))
        act(len(calls))
        return real_apply(plan, *args, **kwargs)

    monkeypatch.setattr(_engine, "apply", apply_after_another_thread_ran)
    with _another_thread():
        report = mf.update(SLOTTED.replace("SLOTS", '("x", "y")').replace("VERSION", "2"))
    return report, calls


def test_instances_made_while_an_update_is_planned_get_the_new_class(modules, monkeypatch):
    """The heap walk (here: for the instances of a class whose layout changed) is made
    before the quiet moment. An instance another thread makes in between would be missed:
    the update notices (the old class gained a reference), plans again, and moves it too."""
    mf = modules(SLOTTED.replace("SLOTS", '("x",)').replace("VERSION", "1"))
    Old = mf.module.Point
    old = (Old,)  # a tuple: the update rewrites references to a replaced class elsewhere
    made = [Old(1)]

    def make(n: int) -> None:
        if n == 1:
            made.append(old[0](2))

    report, calls = _update_with_a_thread_acting_before_each_apply(mf, monkeypatch, make)

    New = mf.module.Point
    assert New is not old[0]
    assert calls == [False, False]  # planned twice, applied the second time
    assert [type(p) for p in made] == [New, New]
    assert [(p.x, p.version()) for p in made] == [(1, 2), (2, 2)]
    assert any(n.startswith("planned 2 times") for n in report.notes)


def test_an_instance_made_while_a_slot_removal_is_planned_loses_the_slot_too(
        modules, monkeypatch):
    """A slot removed in place is emptied in the instances the heap walk found. One that
    another thread makes (and fills) before the update applies would keep the value, to
    come back if the slot does: the update notices and plans again."""
    mf = modules(SLOTTED.replace("SLOTS", '("x", "y", "z")').replace("VERSION", "1"))
    Point = mf.module.Point
    made: list[Any] = []

    def make(n: int) -> None:
        if n == 1:
            made.append(Point(1))
            made[0].z = "filled"

    report, calls = _update_with_a_thread_acting_before_each_apply(mf, monkeypatch, make)

    assert mf.module.Point is Point and report.replaced == []
    assert calls == [False, False]  # planned twice, applied the second time
    assert not hasattr(made[0], "z") and made[0].version() == 2
    mf.update(SLOTTED.replace("SLOTS", '("x", "y", "z")').replace("VERSION", "3"))
    assert not hasattr(made[0], "z")  # given back empty


def test_a_reference_taken_to_an_instance_while_its_move_is_planned_follows_the_move(
        modules, monkeypatch):
    """Moving an instance to a new layout rewrites every reference the plan found. One that
    another thread takes before the update applies would keep the old object beside its
    twin, two identities for one instance: the update notices and plans again."""
    mf = modules(SLOTTED.replace("SLOTS", '("x",)').replace("VERSION", "1"))
    made = [mf.module.Point(1)]
    taken: list[object] = []

    def take(n: int) -> None:
        if n == 1:
            taken.append(made[0])

    _, calls = _update_with_a_thread_acting_before_each_apply(mf, monkeypatch, take)

    assert calls == [False, False]  # planned twice, applied the second time
    assert taken[0] is made[0]
    assert type(made[0]) is mf.module.Point and made[0].version() == 2


def test_an_instance_another_thread_keeps_taking_stays_whole_on_the_old_class(
        modules, monkeypatch):
    """Planned three times, and each time another thread took, where it cannot be rewritten
    (a tuple), a reference to an instance the plan would move: the update applies the
    third time, leaving that instance, in one piece, on the old class."""
    mf = modules(SLOTTED.replace("SLOTS", '("x",)').replace("VERSION", "1"))
    made = [mf.module.Point(n) for n in range(4)]
    taken: list[tuple[object]] = []

    report, calls = _update_with_a_thread_acting_before_each_apply(
        mf, monkeypatch, lambda n: taken.append((made[n - 1],)))

    assert calls == [False, False, True]  # the last time applied, stale or not
    new = mf.module.Point
    assert [type(p) is new for p in made] == [False, False, False, True]
    assert [t[0] is p for t, p in zip(taken, made)] == [True] * 3
    assert made[2].version() == 1 and made[2].x == 2  # the old class, working
    assert made[3].version() == 2 and made[3].x == 3
    assert f"{mf.name}.Point (1 moved to the new layout)" in report.instances
    assert any("1 live instance(s)" in why and "another thread took a reference" in why
               for _, why in report.skipped)


def test_an_instance_moved_within_its_list_after_planning_is_swapped_where_it_is_now(
        modules, monkeypatch):
    """The plan found the instance at index 0; another thread then inserted before it.
    The swap is made by identity when the update applies: nothing else is overwritten."""
    mf = modules(SLOTTED.replace("SLOTS", '("x",)').replace("VERSION", "1"))
    made = [mf.module.Point(1)]
    other = object()

    def insert_first(n: int) -> None:
        if n == 1:
            made.insert(0, other)

    report, calls = _update_with_a_thread_acting_before_each_apply(mf, monkeypatch,
                                                                   insert_first)

    assert calls == [False] and made[0] is other
    assert type(made[1]) is mf.module.Point and made[1].x == 1 and made[1].version() == 2


def test_an_instance_changed_after_planning_moves_with_its_state_of_then(modules, monkeypatch):
    mf = modules(SLOTTED.replace("SLOTS", '("x",)').replace("VERSION", "1"))
    made = [mf.module.Point(1)]

    def change(n: int) -> None:
        made[0].x = 41

    _update_with_a_thread_acting_before_each_apply(mf, monkeypatch, change)

    assert type(made[0]) is mf.module.Point and made[0].x == 41


def test_the_hold_while_applying_covers_a_move_of_thousands_of_instances(modules, monkeypatch):
    """One operation moves them all: the switch interval is sized by the work it does,
    not by the number of operations, so no other thread runs in the middle of it."""
    from hotswap import _apply

    mf = modules(SLOTTED.replace("SLOTS", '("x",)').replace("VERSION", "1"))
    made = [mf.module.Point(n) for n in range(3000)]
    intervals: list[float] = []
    real = sys.setswitchinterval

    def record(seconds: float) -> None:
        intervals.append(seconds)
        real(seconds)

    monkeypatch.setattr(_apply.sys, "setswitchinterval", record)
    with _another_thread():
        mf.update(SLOTTED.replace("SLOTS", '("x", "y")').replace("VERSION", "2"))

    assert all(type(p) is mf.module.Point for p in made)
    assert max(intervals) >= _apply._OP_COST * 2 * len(made)
