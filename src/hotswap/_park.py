"""Holding threads at the exit of a module's code while an update waits for a quiet moment.

An update applies only when no other thread is inside the changed modules' code (see
`_apply`). A thread that keeps calling into them is inside most of the time, and waiting
for every such thread to be outside at the same instant is a matter of luck, which can
take hundreds of attempts each handing the interpreter lock around (measured in
benchmarks/README.md, "Other measurements"). So while an update waits, a
thread found inside is caught as its outermost call into the modules returns: its result
is already computed, all of it on the old version, and it waits there, without the
interpreter lock, until the update has applied or `HOLD` seconds have passed (so that a
thread another one depends on is never held for long). A caught thread counts as outside.
Catching ends `CATCHING` seconds after it began: an update that still cannot apply then
(a thread never leaves the modules) waits on, by chance, without slowing the others.

The catch is a ``PY_RETURN`` and ``PY_YIELD`` event of `sys.monitoring` (Python 3.12+:
a generator or coroutine of the modules that yields leaves them too) on the code objects
the busy threads' outermost module frames run, set only while the update waits and taken
off after. On 3.11, or when every free tool id is taken, nothing is caught and the wait
relies on chance alone.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterable
from typing import Any

HOLD = 0.1  # seconds a caught thread waits at most for the update, each time it is caught
# Seconds after the first catch when catching stops: if the update still cannot apply (a
# thread that never leaves the modules), the others are not slowed for all of the wait.
CATCHING = 0.5
# The tool ids PEP 669 names for no one (0 debuggers, 1 coverage, 2 profilers, 5 optimizers).
_TOOL_IDS = (4, 3)
_NAME = "hotswap"


def _events() -> tuple[int, ...]:
    """The events that catch: a call returning, a generator or coroutine yielding."""
    events = sys.monitoring.events  # type: ignore[attr-defined]  # 3.12+; mypy checks 3.11
    return (events.PY_RETURN, events.PY_YIELD)


class Park:
    """Where threads wait, each as its outermost call into `namespaces` returns, while the
    thread `me` applies an update. Inert until `watch` is given code; `close` lets every
    caught thread go and takes the events off."""

    def __init__(self, namespaces: set[int], me: int) -> None:
        self.namespaces, self.me = namespaces, me
        self.caught: set[int] = set()  # idents of the threads waiting here now
        self._released = threading.Event()
        self._watched: dict[int, types.CodeType] = {}
        self._tool: int | None = None
        self._until = 0.0  # when catching stops (set by the first `watch`)

    def can_hold(self) -> bool:
        """Whether threads can be caught here (3.12+, with a tool id free, claimed now):
        then a caught thread stays caught while the updating thread hands the interpreter
        lock over and takes it back."""
        return self._tool is not None or self._claim()

    def __enter__(self) -> Park:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def watch(self, codes: Iterable[types.CodeType]) -> None:
        """Catch threads as calls running one of `codes` return (from now on)."""
        if self._released.is_set():
            return
        new = [c for c in codes if id(c) not in self._watched]
        if not new or not self.can_hold():
            return
        if not self._until:
            self._until = time.monotonic() + CATCHING
        monitoring = sys.monitoring  # type: ignore[attr-defined]  # 3.12+, as above
        mask = 0
        for event in _events():
            mask |= event
        for code in new:
            try:
                monitoring.set_local_events(self._tool, code, mask)
            except ValueError:  # not a code object monitoring can instrument
                continue
            self._watched[id(code)] = code

    def close(self) -> None:
        self._released.set()  # first: a thread caught from here on returns at once
        if self._tool is None:
            return
        monitoring = sys.monitoring  # type: ignore[attr-defined]  # 3.12+, as above
        for code in self._watched.values():
            monitoring.set_local_events(self._tool, code, 0)
        for event in _events():
            monitoring.register_callback(self._tool, event, None)
        monitoring.free_tool_id(self._tool)
        self._tool, self._watched = None, {}

    def _claim(self) -> bool:
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is None:
            return False
        for tool in _TOOL_IDS:
            try:
                monitoring.use_tool_id(tool, _NAME)
            except ValueError:  # another tool has it
                continue
            for event in _events():
                monitoring.register_callback(tool, event, self._returning)
            self._tool = tool
            return True
        return False

    def _returning(self, code: types.CodeType, offset: int, value: Any) -> Any:
        """In the thread whose call of `code` is returning (or yielding): wait here if that
        call is its outermost one into the modules."""
        if self._released.is_set() or threading.get_ident() == self.me:
            return None
        left = self._until - time.monotonic()
        if left <= 0:  # catching is over: this place costs nothing more until `close`
            return sys.monitoring.DISABLE  # type: ignore[attr-defined]  # 3.12+, as above
        frame = sys._getframe(1).f_back  # the returning frame's caller
        while frame is not None:
            if id(frame.f_globals) in self.namespaces:
                return None  # still inside the modules below: caught when that one returns
            frame = frame.f_back
        ident = threading.get_ident()
        self.caught.add(ident)
        try:
            self._released.wait(min(HOLD, left))
        finally:
            self.caught.discard(ident)
        return None
