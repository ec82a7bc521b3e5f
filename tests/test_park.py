"""Threads caught as their outermost call into a module returns, while an update waits for
a quiet moment (sys.monitoring, 3.12+; on 3.11 nothing is caught)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import hotswap
from hotswap import _park
from hotswap._park import Park

from helpers.waiting import wait_for

MONITORING = sys.version_info >= (3, 12)

CODE = """
def inner():
    return 1

def outer():
    return inner() + 1

def through(callback):
    return callback()

def numbers():
    n = 0
    while True:
        n += 1
        yield n
"""


@pytest.fixture
def ns() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "parked"}
    exec(compile(CODE, "<parked>", "exec"), namespace)
    return namespace




class Caller:
    """A thread that calls `fn` once and keeps the result."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.done = threading.Event()

        def run() -> None:
            self.result = fn()
            self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()


@pytest.fixture
def park(ns: dict[str, Any]) -> Iterator[Park]:
    p = Park({id(ns)}, threading.get_ident())
    try:
        yield p
    finally:
        p.close()


def _tools() -> list[int]:
    return [t for t in _park._TOOL_IDS if sys.monitoring.get_tool(t) == "hotswap"]


def test_a_thread_waits_as_its_outermost_call_returns_with_its_result_made(ns, park):
    park.watch([ns["outer"].__code__, ns["inner"].__code__])
    caller = Caller(ns["outer"])
    if not MONITORING:  # 3.11: nothing to catch with
        assert caller.done.wait(5) and caller.result == 2 and park.caught == set()
        return
    assert wait_for(lambda: caller.thread.ident in park.caught)
    assert not caller.done.is_set()
    # caught returning from outer (inner had returned inside it, and went on)
    names = []
    frame = sys._current_frames()[caller.thread.ident]
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    assert "outer" in names and "inner" not in names
    park.close()
    assert caller.done.wait(5) and caller.result == 2
    assert park.caught == set()


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_a_call_into_the_module_from_inside_it_is_not_caught(ns, park):
    # outer's code is watched, but here it runs inside through(): the thread is still in
    # the module when outer returns, so it is caught only as through() returns
    park.watch([ns["outer"].__code__, ns["through"].__code__])
    caller = Caller(lambda: ns["through"](ns["outer"]))
    assert wait_for(lambda: caller.thread.ident in park.caught)
    frame = sys._current_frames()[caller.thread.ident]
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    assert "through" in names and "outer" not in names


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_a_caught_thread_goes_on_by_itself_after_HOLD(ns, park, monkeypatch):
    monkeypatch.setattr(_park, "HOLD", 0.5)
    park.watch([ns["outer"].__code__])
    caller = Caller(ns["outer"])
    assert wait_for(lambda: caller.thread.ident in park.caught)  # it was caught
    assert caller.done.wait(5) and caller.result == 2  # never let go by close()
    assert park.caught == set()


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_the_updating_thread_is_never_caught(ns, monkeypatch):
    monkeypatch.setattr(_park, "HOLD", 30.0)  # caught, it would wait that long
    with Park({id(ns)}, threading.get_ident()) as p:
        p.watch([ns["outer"].__code__])
        started = time.monotonic()
        assert ns["outer"]() == 2
        assert time.monotonic() - started < 10
        assert p.caught == set()


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_close_takes_the_events_off_and_frees_the_tool_id(ns, monkeypatch):
    monkeypatch.setattr(_park, "HOLD", 30.0)
    p = Park({id(ns)}, -1)  # no thread is exempt: the main thread would be caught
    p.watch([ns["outer"].__code__])
    assert len(_tools()) == 1
    p.close()
    assert _tools() == []
    started = time.monotonic()
    assert ns["outer"]() == 2  # no event left: returns at once, not after HOLD
    assert time.monotonic() - started < 10
    assert p.caught == set()


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_without_a_free_tool_id_nothing_is_caught(ns, park):
    taken = []
    for tool in _park._TOOL_IDS:
        if sys.monitoring.get_tool(tool) is None:
            sys.monitoring.use_tool_id(tool, "someone else")
            taken.append(tool)
    try:
        park.watch([ns["outer"].__code__])
        caller = Caller(ns["outer"])
        assert caller.done.wait(5) and caller.result == 2
        assert park.caught == set()
    finally:
        for tool in taken:
            sys.monitoring.free_tool_id(tool)


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_watching_after_close_catches_nothing(ns):
    p = Park({id(ns)}, -1)
    p.close()
    p.watch([ns["outer"].__code__])
    assert _tools() == []
    assert ns["outer"]() == 2


BUSY = """
    import time

    def step():
        # busy for 2 ms: a thread calling this in a loop is inside nearly all the time
        start = time.perf_counter()
        while time.perf_counter() - start < 0.002:
            pass
        return {n}
"""


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+: on 3.11 the wait "
                    "relies on chance (README, Limits)")
def test_an_update_applies_at_once_while_a_thread_is_inside_nearly_all_the_time(modules):
    mf = modules(BUSY.format(n=1))
    mod = mf.module
    stop = threading.Event()
    results: list[int] = []

    def worker() -> None:
        while not stop.is_set():
            results.append(mod.step())

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: len(results) > 3)
        for n in (2, 3, 4):
            report = mf.update(BUSY.format(n=n))
            # without the catch the wait found no quiet moment and timed out after 5 s,
            # applying with the worker inside (this note)
            assert not [x for x in report.notes if "other threads" in x], report.notes
            count = len(results)
            assert wait_for(lambda: len(results) > count + 2)
            assert results[-1] == n
    finally:
        stop.set()
        thread.join(5)
    assert _tools() == []


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_catching_stops_CATCHING_seconds_after_it_began(ns, park, monkeypatch):
    # an update that cannot apply (a thread never leaves) must not slow the others for
    # all of its wait
    monkeypatch.setattr(_park, "HOLD", 30.0)
    monkeypatch.setattr(_park, "CATCHING", 0.5)
    park.watch([ns["outer"].__code__])
    first = Caller(ns["outer"])
    assert wait_for(lambda: first.thread.ident in park.caught)  # caught while catching
    assert first.done.wait(10) and first.result == 2  # let go when catching ends
    later = Caller(ns["outer"])
    assert later.done.wait(10) and later.result == 2  # not caught: would wait 30 s
    assert park.caught == set()


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_a_thread_is_caught_as_a_generator_of_the_module_yields(ns, park):
    # between two values the consumer is outside the module: that is a way out too
    park.watch([ns["numbers"].__code__])
    got: list[int] = []
    caller = Caller(lambda: [got.append(n) for n, _ in zip(ns["numbers"](), range(3))])
    assert wait_for(lambda: caller.thread.ident in park.caught)
    assert got == []  # held at the first yield, before the consumer took the value
    park.close()
    assert caller.done.wait(5) and got == [1, 2, 3]


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_once_catching_is_over_a_watched_return_costs_no_more_calls(ns, monkeypatch):
    calls: list[str] = []

    class Counting(Park):
        def _returning(self, code: Any, offset: int, value: Any) -> Any:
            calls.append(code.co_name)
            return super()._returning(code, offset, value)

    monkeypatch.setattr(_park, "CATCHING", 0.01)
    with Counting({id(ns)}, -1) as p:  # the main thread is not exempt
        p.watch([ns["outer"].__code__])
        time.sleep(0.05)
        assert [ns["outer"]() for _ in range(3)] == [2, 2, 2]
        assert calls == ["outer"]  # the first return turned that place off
    # a later park watches the same code afresh
    monkeypatch.setattr(_park, "CATCHING", 30.0)
    monkeypatch.setattr(_park, "HOLD", 30.0)
    with Park({id(ns)}, threading.get_ident()) as again:
        again.watch([ns["outer"].__code__])
        caller = Caller(ns["outer"])
        assert wait_for(lambda: caller.thread.ident in again.caught)
    assert caller.done.wait(5) and caller.result == 2
