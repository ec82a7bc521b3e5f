"""Applying a plan: one update at a time, all of it or none of it, seen whole by threads.

Updates are serialized by one process-wide lock. Other threads never take it: they just
call the module's functions. Two things keep them from seeing half an update:

- *A quiet moment.* The plan is applied only when no other thread is executing code of the
  modules being changed (their frames are inspected), so no call straddles the change:
  every call runs entirely on the old version or entirely on the new one. If the modules
  never go quiet within `busy_timeout`, the update is applied anyway and the report names
  the threads that were inside.
- *An unbroken hold of the interpreter lock.* A thread waiting for CPython's lock asks the
  holder to drop it only after waiting a full switch interval with no change of holder in
  between. So the applying thread yields (``sleep(0)``) and applies only once it has seen
  another thread make progress meanwhile: it then took the lock *from* another thread,
  and every waiter owes it at least one full interval, which is sized to cover the plan.
  While waiting for a quiet moment the interval is short, so other threads are sampled
  often.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

from ._ops import Plan, Undo

LOCK = threading.RLock()

_OP_COST = 2e-5  # seconds per operation, generously: sizes the switch interval
_MIN_WINDOW = 0.001  # the switch interval while an update waits and applies
_IDLE_ROUNDS = 3
BUSY_TIMEOUT = 5.0


def undo_all(log: list[Undo]) -> None:
    """Replay an undo log backwards. Every undo runs even if one of them fails."""
    errors: list[BaseException] = []
    for undo in reversed(log):
        try:
            undo()
        except BaseException as exc:  # noqa: BLE001 - keep undoing, report after
            errors.append(exc)
    if errors:
        raise errors[0]


def _busy(namespaces: set[int], frames: dict[int, Any]) -> list[str]:
    """Other threads currently executing code whose globals are one of `namespaces`."""
    me = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    inside = []
    for ident, frame in frames.items():
        if ident == me:
            continue
        f = frame
        while f is not None:
            if id(f.f_globals) in namespaces:
                inside.append(f"{names.get(ident, ident)} in {f.f_code.co_qualname}")
                break
            f = f.f_back
    return inside


def _run(plan: Plan) -> list[Undo]:
    log: list[Undo] = []
    try:
        for op in plan.ops:
            log.append(op.apply())
    except BaseException:
        undo_all(log)
        raise
    return log


def _progress(frames: dict[int, object]) -> dict[int, tuple[int, int]]:
    me = threading.get_ident()
    return {ident: (id(f), f.f_lasti) for ident, f in frames.items()  # type: ignore[attr-defined]
            if ident != me}


def apply(plan: Plan, namespaces: Iterable[dict[str, object]] = (),
          busy_timeout: float = BUSY_TIMEOUT) -> tuple[list[Undo], list[str]]:
    """Run every operation of `plan` at a quiet moment; on failure undo what ran.

    Returns the undo log and the threads that were still inside the modules' code when the
    wait for a quiet moment timed out (normally empty).
    """
    ids = {id(ns) for ns in namespaces}
    if threading.active_count() == 1:
        return _run(plan), []
    before = sys.getswitchinterval()
    sys.setswitchinterval(max(_MIN_WINDOW, _OP_COST * len(plan.ops)))
    deadline = time.monotonic() + busy_timeout
    try:
        last = _progress(sys._current_frames())
        idle = 0
        while True:
            time.sleep(0)  # let the others run; take the lock back
            frames = sys._current_frames()
            now = _progress(frames)
            idle = 0 if now != last else idle + 1
            last = now
            # No progress for a few rounds: the other threads are blocked, not waiting.
            handed_over = idle == 0 or idle >= _IDLE_ROUNDS
            inside = _busy(ids, frames) if ids else []
            if handed_over and not inside:
                return _run(plan), []
            if time.monotonic() > deadline:
                return _run(plan), inside
    finally:
        sys.setswitchinterval(before)
