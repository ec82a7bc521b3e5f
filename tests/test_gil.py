"""The interpreter-lock hold the applier relies on (`hotswap._gil`): after
`hold_afresh()` no other thread runs Python code for one switch interval."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from hotswap import _gil

from helpers.stalling import spinning, stall


def _busy_python(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_no_other_thread_runs_during_a_fresh_hold():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.05)
    starts = []
    try:
        with spinning() as spinner:
            interrupted = 0
            for _ in range(20):
                _gil.hold_afresh()
                starts.append(spinner.ticks)
                _busy_python(0.005)  # a tenth of the interval, in Python code
                interrupted += spinner.ticks != starts[-1]
    finally:
        sys.setswitchinterval(interval)
    assert interrupted == 0
    # and the spinner did run between the holds: the lock really changed hands
    assert len(set(starts)) > 1


def test_the_relay_thread_is_not_counted_as_another_thread():
    _gil.hold_afresh()  # makes sure the relay exists
    relay = _gil._relay.thread
    assert relay.is_alive()
    assert _gil.other_threads() is any(t is not relay for t in threading.enumerate()
                                       if t is not threading.current_thread())
    with spinning():
        assert _gil.other_threads()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_makes_its_own_relay():
    _gil.hold_afresh()
    with spinning():
        pid = os.fork()
        if pid == 0:  # the child: the parent's relay and spinner threads are gone
            code = 1
            try:
                _gil.hold_afresh()
                code = 0 if _gil._relay is not None and _gil._relay.thread.is_alive() else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_hold_knows_when_it_has_outlasted_its_interval():
    with spinning() as spinner:
        hold = _gil.hold_afresh()
        assert 0 < hold.left() <= hold.interval == sys.getswitchinterval()
        start = spinner.ticks
        stall(1.5 * hold.interval)  # the spinner asks for the lock meanwhile
        assert hold.left() < 0
        # it gets the lock at the next switch point (though it may be descheduled as soon
        # as it has it, and give it back before counting: so, until it has counted)
        end = time.perf_counter() + 5
        while spinner.ticks == start and time.perf_counter() < end:
            pass
        assert spinner.ticks != start
