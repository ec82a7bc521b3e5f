"""Applying a plan: one update at a time, all of it or none of it.

Updates are serialized by one process-wide lock. While a plan's operations run, the
interpreter's thread switch interval is raised so that other threads (which never take
the lock: they just call the module's functions) do not run in the middle of it; the
operations are plain assignments that do not block, so the window stays short. If an
operation fails, the ones already applied are undone in reverse order.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ._ops import Plan, Undo

LOCK = threading.RLock()

_LONG_SWITCH = 10.0  # seconds; far longer than any plan takes to apply


@contextmanager
def _no_thread_switch() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(_LONG_SWITCH)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def undo_all(log: list[Undo]) -> None:
    """Replay an undo log backwards. Every undo runs even if one of them fails."""
    errors: list[BaseException] = []
    with _no_thread_switch():
        for undo in reversed(log):
            try:
                undo()
            except BaseException as exc:  # noqa: BLE001 - keep undoing, report after
                errors.append(exc)
    if errors:
        raise errors[0]


def apply(plan: Plan) -> list[Undo]:
    """Run every operation of `plan`; on failure undo what ran and re-raise."""
    log: list[Undo] = []
    try:
        with _no_thread_switch():
            for op in plan.ops:
                log.append(op.apply())
    except BaseException:
        undo_all(log)
        raise
    return log
