"""Holding the interpreter lock for a known stretch of time, from pure Python.

CPython's lock passes between threads in one way only while a thread runs Python code: a
thread that wants it waits one switch interval, and if no other thread took the lock in
that time it asks the holder to let go. The count of hand-overs is what it checks, so a
waiter whose wait began before the lock last changed hands has to start over, and a hold
that *begins with a change of holder* is safe from interruption for one full interval.

A thread that merely releases the lock and takes it back (``sleep(0)``) gets no such
guarantee: if nobody else took the lock meanwhile there was no change of holder, and a
waiter that had been waiting for most of an interval interrupts it at once. Whether
another thread did run is invisible from Python (sampling other threads' frames misses
it: a thread interrupted at the same loop instruction looks the same each time). So the
change of holder is made certain instead: a helper thread of our own takes the lock and
hands it back, through two plain locks.
"""

from __future__ import annotations

import os
import threading


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

    def hand_over(self) -> None:
        self._go.release()
        self._back.acquire()  # returns holding the interpreter lock, taken from another thread


_relay: _Relay | None = None
_guard = threading.Lock()


def _relay_thread() -> threading.Thread | None:
    return _relay.thread if _relay is not None else None


def other_threads() -> bool:
    """Whether any thread but this one (and the relay) could run Python code."""
    relay = _relay_thread()
    alive = threading.active_count() - (1 if relay is not None and relay.is_alive() else 0)
    return alive > 1


def hold_afresh() -> None:
    """Return holding the interpreter lock after a change of holder: for one switch
    interval from now no other thread runs Python code, unless this one blocks."""
    global _relay
    with _guard:
        if _relay is None or not _relay.thread.is_alive():
            _relay = _Relay()
        relay = _relay
    relay.hand_over()


def _forget_in_child() -> None:
    """The relay thread does not survive fork; the child makes its own when it needs one."""
    global _relay, _guard
    _relay = None
    _guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
