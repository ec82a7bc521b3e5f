"""A stall of the applying thread (the machine preempting it) longer than the switch
interval lets other threads run in the middle of its hold; it can tell by the clock. A
stall before the plan starts costs another attempt; one while the plan runs is reported."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import hotswap
from hotswap import _apply, _gil
from hotswap._ops import Op, Plan, Undo

from helpers.stalling import Spinner, spinning, stall


class Note(Op):
    """An op that notes how far the spinner had got when it ran, and can stall."""

    def __init__(self, spinner: Spinner, stall_for: float = 0.0) -> None:
        self.spinner, self.stall_for = spinner, stall_for
        self.ran_at: list[int] = []

    def apply(self) -> Undo:
        self.ran_at.append(self.spinner.ticks)
        if self.stall_for:
            stall(self.stall_for)
        return lambda: None


def _plan(*ops: Op) -> Plan:
    plan = Plan(ops=list(ops))
    plan.seal()
    return plan


@pytest.fixture
def spinner() -> Iterator[Spinner]:
    with spinning() as s:
        yield s


@pytest.fixture
def holds(spinner: Spinner, monkeypatch) -> list[int]:
    """The spinner's ticks as each hold of the applier began."""
    began: list[int] = []
    real = _apply.hold_afresh

    def hold_afresh() -> _gil.Hold:
        hold = real()
        began.append(spinner.ticks)
        return hold

    monkeypatch.setattr(_apply, "hold_afresh", hold_afresh)
    return began


def test_a_stall_before_the_plan_starts_costs_another_hold(spinner, holds, monkeypatch):
    stalls = []
    real_busy = _apply._busy

    def busy(*args: Any) -> Any:
        found = real_busy(*args)
        if len(stalls) < 2:  # (3.12+ takes the lock twice before it applies)
            stalls.append(sys.getswitchinterval())
            stall(1.5 * stalls[-1])  # the spinner asks for the lock meanwhile, and gets it
        return found

    monkeypatch.setattr(_apply, "_busy", busy)
    op = Note(spinner)
    applied = _apply.apply(_plan(op), [{}])
    assert len(stalls) == 2 and op.ran_at
    # the plan ran in a hold no other thread had run in since it began: not in the one
    # the stall broke into
    assert op.ran_at == [holds[-1]]
    assert len(holds) > len(stalls)
    assert applied.stalled is None


def test_a_stall_while_the_plan_runs_is_reported(spinner, holds):
    first, second = Note(spinner, stall_for=1.5 * _apply._WIDE_WINDOW), Note(spinner)
    applied = _apply.apply(_plan(first, second), [{}])
    assert applied.stalled is not None
    held, interval = applied.stalled
    assert held >= interval
    assert first.ran_at == [holds[-1]]  # the plan began in a hold nothing else ran in
    assert len(second.ran_at) == 1  # and went on: what other threads saw is not undone


def test_a_plan_that_runs_within_its_hold_reports_no_stall(spinner):
    # (a real stall of the machine here, longer than 2 ms in a few microseconds, would be
    # reported: it is the best of three)
    results = [_apply.apply(_plan(Note(spinner)), [{}]).stalled for _ in range(3)]
    assert None in results


def test_the_report_of_a_stalled_update_says_so(modules, monkeypatch):
    mf = modules("def f():\n    return 1\n")
    real_run = _apply._run

    def run(plan: Plan) -> Any:
        log = real_run(plan)
        stall(1.5 * sys.getswitchinterval())
        return log

    monkeypatch.setattr(_apply, "_run", run)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        report = mf.update("def f():\n    return 2\n")
    finally:
        stop.set()
        other.join(5)
    assert mf.module.f() == 2
    notes = [n for n in report.notes if "stalled" in n]
    assert len(notes) == 1 and "may have seen part of it" in notes[0], report.notes
