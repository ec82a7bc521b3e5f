"""Holding the interpreter lock for a known stretch of time, from pure Python.

CPython's lock passes between threads in one way only while a thread runs Python code: a
thread that wants it waits one switch interval, and if no other thread took the lock in
that time it asks the holder to let go. The count of hand-overs is what it checks
(``take_gil`` in Python/ceval_gil.c sets the drop request after a timed-out wait only if
``gil->switch_number`` did not move), so a waiter whose wait began before the lock last
changed hands has to start over, and a hold that *begins with a change of holder* is safe
from interruption for one full interval.

A thread that merely releases the lock and takes it back (``sleep(0)``) gets no such
guarantee: if nobody else took the lock meanwhile there was no change of holder, and a
waiter that had been waiting for most of an interval interrupts it at once. Whether
another thread did run is invisible from Python (sampling other threads' frames misses
it: a thread interrupted at the same loop instruction looks the same each time). So the
change of holder is made certain instead: a helper thread of our own takes the lock and
hands it back, through two plain locks.

The promise holds only while this thread runs: if the machine stalls it (preempts it, a
virtual CPU is descheduled) for longer than the interval, a waiter asks for the lock, and it
passes at the next point where Python code can switch threads. Such a stall is invisible to
other threads, but not to this one: a hold that has lasted less than one interval, by the
clock, was not interrupted (`Hold.left`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref

from ._plain import dataclass


class _Relay:
    """A daemon thread whose only job is to hold the interpreter lock for a moment."""

    def __init__(self) -> None:
        self._go = threading.Lock()
        self._back = threading.Lock()
        self._go.acquire()
        self._back.acquire()
        self.thread = threading.Thread(target=self._serve, name="hotswap-relay", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            self._go.acquire()  # sleeps without the interpreter lock
            self._back.release()  # runs holding it: the applier's next hold follows ours

    def hand_over(self) -> float:
        self._go.release()
        self._back.acquire()  # returns holding the interpreter lock, taken from another thread
        return time.perf_counter()


@dataclass(frozen=True)
class Hold:
    """A hold of the interpreter lock that began with a change of holder, at `began`.

    Every other thread then either waits since before it (and starts its wait over) or began
    waiting after it, under a switch interval of `interval`: none can ask for the lock before
    `began + interval`. `began` is read just after the lock was taken (a few instructions
    later at most, and if the lock passed at those it was taken afresh once more, before).
    """

    began: float
    interval: float

    def left(self) -> float:
        """Seconds until another thread may take the lock (negative: one may have)."""
        return self.began + self.interval - time.perf_counter()


_relay: _Relay | None = None
_guard = threading.Lock()


def _relay_thread() -> threading.Thread | None:
    return _relay.thread if _relay is not None else None


# hotswap's own helper threads that never run the program's code (the warm-up, see
# _warm.Warmer): an update need not keep them out, as it keeps the relay's out.
HELPERS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def other_threads() -> bool:
    """Whether any thread but this one (and the relay, and hotswap's `HELPERS`) could run
    Python code."""
    relay = _relay_thread()
    alive = threading.active_count() - (1 if relay is not None and relay.is_alive() else 0)
    alive -= sum(1 for t in list(HELPERS) if t.is_alive())
    return alive > 1


def hold_afresh() -> Hold:
    """Return holding the interpreter lock after a change of holder: for one switch
    interval from now no other thread runs Python code, unless this one blocks or stalls."""
    global _relay
    with _guard:
        if _relay is None or not _relay.thread.is_alive():
            _relay = _Relay()
        relay = _relay
    return Hold(relay.hand_over(), sys.getswitchinterval())


def _forget_in_child() -> None:
    """The relay thread does not survive fork; the child makes its own when it needs one."""
    global _relay, _guard
    _relay = None
    _guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
