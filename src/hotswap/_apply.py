"""Applying a plan: one update at a time, all of it or none of it, seen whole by threads.

Updates are serialized by one process-wide lock. Other threads never take it: they just
call the module's functions. Two things keep them from seeing half an update:

- *A quiet moment.* The plan is applied only when no other thread is executing code of the
  modules being changed (their frames are inspected), so no call straddles the change:
  every call runs entirely on the old version or entirely on the new one. On 3.12+ a
  thread found inside waits, from then on, as its outermost call into them returns (see
  `_park`), so that busy threads need not all be outside at once by chance. If the
  modules never go quiet within `busy_timeout`, the update is applied anyway and the
  report names the threads that were inside.
- *An unbroken hold of the interpreter lock.* The check for a quiet moment and the whole
  plan run in one hold that began with a change of holder (see `_gil`), with a switch
  interval sized to cover them and the cyclic collector paused (a full collection in a big
  heap outlasts any interval), so no other thread runs in between.
  Where busy threads are held at the modules' exit (3.12+), once a quiet moment is found
  the lock is handed over and taken once more under a wider interval (`_WIDE_WINDOW`),
  and the check repeated (the threads held stay held): every thread waiting then waits
  that long, where a waiter that began under the short interval of the search could ask
  for the lock after a few milliseconds of stall. On 3.11, where nothing holds the
  threads that went out, the hand-over would let them back in nearly every time.
- *A clock on the hold.* A stall of this thread (the machine preempting it) longer than
  the interval lets other threads run in the middle of the hold, and only this thread can
  tell, by the time the hold has lasted. A stall before the plan starts (during the check)
  costs one more attempt; one while the plan runs cannot be taken back from the threads
  that may have seen it, and is reported (`Applied.stalled`).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Collection, Iterable
from types import CodeType
from typing import Any, NamedTuple

from ._gil import hold_afresh, other_threads
from ._ops import Plan, Undo
from ._park import Park

LOCK = threading.RLock()

_OP_COST = 2e-5  # seconds per operation, generously: sizes the switch interval
_MIN_WINDOW = 0.002  # the switch interval while an update waits for a quiet moment
# The switch interval of the hold that applies. A thread that began waiting for the lock
# during a shorter one could ask for it back after that long; with every waiter's wait
# begun under this one, a stall of the applying thread shorter than this (the machine
# preempting it, a virtual CPU descheduled) still lets no other thread in mid-update.
_WIDE_WINDOW = 0.02
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


def _busy(namespaces: set[int], frames: dict[int, Any],
          caught: Collection[int] = ()) -> list[tuple[str, CodeType]]:
    """Other threads currently executing code whose globals are one of `namespaces`
    (but not those `caught` as that code returned): each thread's name with the innermost
    such function, and the code of its outermost call into the modules."""
    me = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    inside = []
    for ident, frame in frames.items():
        if ident == me or ident in caught:
            continue
        f, label, outer = frame, None, None
        while f is not None:
            if id(f.f_globals) in namespaces:
                label = label or f"{names.get(ident, ident)} in {f.f_code.co_qualname}"
                outer = f.f_code
            f = f.f_back
        if label is not None and outer is not None:
            inside.append((label, outer))
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


class Applied(NamedTuple):
    """A plan applied: its undo log, and what the report must say about other threads."""

    undo: list[Undo]
    # the threads still inside the modules' code when the wait for a quiet moment timed out
    inside: list[str]
    # how long the hold had lasted when the plan finished, if longer than the switch
    # interval that kept other threads out (a stall): they may have run in the middle
    stalled: tuple[float, float] | None = None  # (seconds held, the interval)


class Stale(Exception):
    """Another thread made, since the plan was made, an object the plan's heap walk would
    have found (see `Plan.guards`): nothing was applied; plan again."""


def apply(plan: Plan, namespaces: Iterable[dict[str, object]] = (),
          busy_timeout: float = BUSY_TIMEOUT,
          stale_ok: bool = False) -> Applied:
    """Run every operation of `plan` at a quiet moment; on failure undo what ran.

    Raises `Stale` instead of applying a stale plan, unless `stale_ok`.
    """
    ids = {id(ns) for ns in namespaces}
    if not other_threads():
        return Applied(_run(plan), [])
    before = sys.getswitchinterval()
    collecting = gc.isenabled()
    # twice the plan's generous estimate: a plan may start with half the interval gone
    window = max(_MIN_WINDOW, 2 * _OP_COST * plan.weight())
    sys.setswitchinterval(window)
    deadline = time.monotonic() + busy_timeout
    wide = False
    try:
        with Park(ids, threading.get_ident()) as park:  # let go once the plan has run
            while True:
                if collecting:
                    gc.enable()  # collect between attempts if need be, never within one
                hold = hold_afresh()
                gc.disable()
                inside = _busy(ids, sys._current_frames(), park.caught) if ids else []
                late = time.monotonic() > deadline
                if inside and not late:
                    park.watch(code for _, code in inside)
                    if wide:  # a thread went in during the hand-over: short holds again
                        wide = False
                        sys.setswitchinterval(window)
                    continue
                if not wide and park.can_hold():  # quiet: take the lock again, waits long
                    wide = True
                    sys.setswitchinterval(max(window, _WIDE_WINDOW))
                    continue
                if not stale_ok and plan.stale():
                    raise Stale
                if hold.left() < hold.interval / 2 and not late:
                    continue  # stalled already: the plan might not finish within the hold
                log = _run(plan)
                held = hold.interval - hold.left()
                stalled = (held, hold.interval) if held >= hold.interval else None
                return Applied(log, [label for label, _ in inside], stalled)
    finally:
        if collecting:
            gc.enable()
        sys.setswitchinterval(before)
        if wide:
            time.sleep(0)  # the threads kept waiting long by the wide window go on now
