"""Running frames that an update cannot change: they finish on the code they started
with (a thread inside a loop, a suspended coroutine, a generator half-way through).

New calls run the new code; this says how many frames still run the old version of each
changed function, so the report can name them. Threads' stacks are read directly (cheap);
suspended coroutines and generators are found by the objects that refer to the old code,
in one pass, and only when a changed function is a coroutine or generator function.
"""

from __future__ import annotations

import gc
import sys
import types
from collections import Counter
from collections.abc import Iterable

# inspect.CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR (inspect itself costs an import)
_SUSPENDABLE = 0x20 | 0x80 | 0x200


def _kind(obj: object) -> tuple[str, types.FrameType | None, types.CodeType | None] | None:
    if isinstance(obj, types.CoroutineType):
        return "suspended coroutine", obj.cr_frame, obj.cr_code
    if isinstance(obj, types.GeneratorType):
        return "generator", obj.gi_frame, obj.gi_code
    if isinstance(obj, types.AsyncGeneratorType):
        return "async generator", obj.ag_frame, obj.ag_code
    return None


def old_frames(functions: Iterable[tuple[str, types.CodeType]]) -> dict[str, Counter[str]]:
    """For each (name, old code) about to be replaced: how many running frames of each
    kind ("thread", "suspended coroutine", "generator") still execute that code."""
    by_code = {id(code): (name, code) for name, code in functions}
    if not by_code:
        return {}
    out: dict[str, Counter[str]] = {}
    seen: set[int] = set()  # frames counted (a running generator's frame is a thread's too)
    for frame in sys._current_frames().values():
        while frame is not None:
            hit = by_code.get(id(frame.f_code))
            if hit is not None and frame.f_code is hit[1]:
                seen.add(id(frame))
                out.setdefault(hit[0], Counter())["thread"] += 1
            frame = frame.f_back  # type: ignore[assignment]
    codes = [code for _, code in by_code.values() if code.co_flags & _SUSPENDABLE]
    if codes:
        for obj in gc.get_referrers(*codes):
            kind = _kind(obj)
            if kind is None or kind[1] is None or id(kind[1]) in seen:
                continue
            hit = by_code.get(id(kind[2]))
            if hit is not None and kind[2] is hit[1]:
                out.setdefault(hit[0], Counter())[kind[0]] += 1
    return out


def describe(counts: Counter[str]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(counts.items()))
    return (f"{total} running frame(s) still execute the old version ({parts}); new calls "
            "run the new code")
