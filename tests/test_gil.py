"""The interpreter-lock hold the applier relies on (`hotswap._gil`): after
`hold_afresh()` no other thread runs Python code for one switch interval."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from hotswap import _gil


def _spinner() -> tuple[list[int], threading.Event, threading.Thread]:
    ticks = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    while ticks[0] == 0:
        time.sleep(0.001)
    return ticks, stop, thread


def _busy_python(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_no_other_thread_runs_during_a_fresh_hold():
    ticks, stop, thread = _spinner()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.05)
    starts = []
    try:
        interrupted = 0
        for _ in range(20):
            _gil.hold_afresh()
            starts.append(ticks[0])
            _busy_python(0.005)  # a tenth of the interval, in Python code
            interrupted += ticks[0] != starts[-1]
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        thread.join()
    assert interrupted == 0
    # and the spinner did run between the holds: the lock really changed hands
    assert len(set(starts)) > 1


def test_the_relay_thread_is_not_counted_as_another_thread():
    _gil.hold_afresh()  # makes sure the relay exists
    relay = _gil._relay.thread
    assert relay.is_alive()
    assert _gil.other_threads() is any(t is not relay for t in threading.enumerate()
                                       if t is not threading.current_thread())
    ticks, stop, thread = _spinner()
    try:
        assert _gil.other_threads()
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_makes_its_own_relay():
    _gil.hold_afresh()
    ticks, stop, thread = _spinner()
    try:
        pid = os.fork()
        if pid == 0:  # the child: the parent's relay and spinner threads are gone
            code = 1
            try:
                _gil.hold_afresh()
                code = 0 if _gil._relay is not None and _gil._relay.thread.is_alive() else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        stop.set()
        thread.join()
    assert os.waitstatus_to_exitcode(status) == 0
