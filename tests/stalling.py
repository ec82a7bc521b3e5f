"""A thread that keeps running Python code, and a stall of the current thread that keeps
the interpreter lock without running any: as a machine that preempts a thread does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_per_item: list[float] = []


def stall(seconds: float) -> None:
    """Hold the interpreter lock for at least `seconds` in one C call (``sum`` over a
    range), where no other thread can take it: a waiter's request for it is only seen
    after the call returns."""
    if not _per_item:
        n = 200_000
        best = min(_timed(n) for _ in range(3))
        _per_item.append(best / n)
    sum(range(int(2 * seconds / _per_item[0]) + 1))  # twice over: a faster CPU still stalls


def _timed(n: int) -> float:
    start = time.perf_counter()
    sum(range(n))
    return time.perf_counter() - start


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
