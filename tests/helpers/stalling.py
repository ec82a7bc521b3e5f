"""A thread that keeps running Python code, and a stall of the current thread that keeps
the interpreter lock without running any: as a machine that preempts a thread does."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# libc's usleep called through PyDLL, which (unlike CDLL) keeps the interpreter lock: the
# thread sleeps holding it, as one the machine has descheduled
_usleep = ctypes.PyDLL(None).usleep
_usleep.argtypes = [ctypes.c_uint]


def stall(seconds: float) -> None:
    """Hold the interpreter lock for at least `seconds` in one C call, where no other
    thread can take it: a waiter's request for it is only seen after the call returns."""
    end = time.perf_counter() + seconds
    _usleep(int(seconds * 1e6) + 1)
    assert time.perf_counter() >= end


class Spinner:
    """A daemon thread counting in Python code, outside any module being updated: `ticks`
    moves only while it holds the interpreter lock."""

    def __init__(self) -> None:
        self.ticks = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self) -> None:
        while not self._stop.is_set():
            self.ticks += 1


@contextmanager
def spinning() -> Iterator[Spinner]:
    spinner = Spinner()
    spinner.thread.start()
    while spinner.ticks < 1000:
        time.sleep(0.001)
    try:
        yield spinner
    finally:
        spinner._stop.set()
        spinner.thread.join(5)
