"""The hold that applies a plan outlasts a stall of a few milliseconds (3.12+): the lock
is taken afresh under a wide switch interval once a quiet moment is found."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from hotswap import _apply
from hotswap._ops import Op, Plan, Undo

from helpers.stalling import Spinner, spinning

STALL = 0.006  # longer than the search's short interval (2 ms), well within the wide one


class Stall(Op):
    """An op that keeps running Python code for `STALL` seconds (as a thread preempted by
    the machine would hold the lock without progress), noting whether another thread ran
    meanwhile."""

    def __init__(self, spinner: Spinner) -> None:
        self.spinner = spinner
        self.ran_meanwhile: int | None = None

    def apply(self) -> Undo:
        before = self.spinner.ticks
        end = time.perf_counter() + STALL
        while time.perf_counter() < end:
            pass
        self.ran_meanwhile = self.spinner.ticks - before
        return lambda: None


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11 has no wide hold: the threads "
                    "that went out would come back in during the hand-over (README, Limits)")
def test_a_thread_outside_the_module_does_not_run_during_a_stalled_apply():
    with spinning() as spinner:  # outside any module being updated: never waited for
        for _ in range(3):
            op = Stall(spinner)
            plan = Plan(ops=[op])
            plan.seal()
            interval = sys.getswitchinterval()
            applied = _apply.apply(plan, [{}])
            assert sys.getswitchinterval() == interval  # put back
            # with the short interval the spinning thread asked for the lock after 2 ms
            # and ran in the middle of the op
            assert op.ran_meanwhile == 0
            assert applied.stalled is None


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the wide hold is 3.12+")
def test_without_a_free_tool_id_the_apply_keeps_the_short_hold(monkeypatch):
    # nothing could hold the threads that went out: a second hand-over would let them
    # back in nearly every time, as on 3.11
    from hotswap import _park

    taken = []
    for tool in _park._TOOL_IDS:
        if sys.monitoring.get_tool(tool) is None:
            sys.monitoring.use_tool_id(tool, "someone else")
            taken.append(tool)
    intervals: list[float] = []
    real_run = _apply._run

    def run(plan: Plan) -> Any:
        intervals.append(sys.getswitchinterval())
        return real_run(plan)

    monkeypatch.setattr(_apply, "_run", run)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)  # another thread exists
    thread.start()
    try:
        _apply.apply(Plan(ops=[]), [{}])
        assert intervals == [_apply._MIN_WINDOW]
        for tool in taken:
            sys.monitoring.free_tool_id(tool)
        taken = []
        _apply.apply(Plan(ops=[]), [{}])
        assert intervals[-1] == _apply._WIDE_WINDOW  # with a tool id free, it widens
    finally:
        stop.set()
        thread.join(5)
        for tool in taken:
            sys.monitoring.free_tool_id(tool)
