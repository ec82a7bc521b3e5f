"""Line numbers of code that did not change but moved.

Tracebacks, debuggers and ``inspect`` read a function's line numbers from its code object.
When lines are inserted above a definition, its code is unchanged but sits lower: the live
functions get a copy of their code shifted by the same amount (nested code included).
They are found without a heap walk: in the module's globals and its classes, through
decorators and descriptors, and matched by the line they start on, which also catches
functions made at import time by a helper (``__add__, __radd__ = _fallbacks(...)``).
"""

from __future__ import annotations

import bisect
import types
from collections.abc import Iterator
from typing import Any

from .._ops import Plan, SetFunction
from .._safe import functions_in, instance_dict, is_a
from .functions import shift_code

Shift = tuple[int, int, int]  # first line, last line (of the live code), delta


def _functions(live: dict[str, Any]) -> Iterator[types.FunctionType]:
    modname = live.get("__name__")
    seen: set[int] = set()
    todo: list[tuple[Any, int]] = [(v, 0) for v in list(live.values())]
    while todo:
        value, depth = todo.pop()
        if id(value) in seen or depth > 6:
            continue
        seen.add(id(value))
        if type(value) is types.FunctionType:
            if value.__globals__ is live:
                yield value
            wrapped = (instance_dict(value) or {}).get("__wrapped__")
            if wrapped is not None:
                todo.append((wrapped, depth + 1))
        elif is_a(value, type):
            if value.__module__ == modname:
                todo.extend((v, depth + 1) for v in list(value.__dict__.values()))
        else:
            todo.extend((f, depth + 1) for f in functions_in(value))
            wrapped = (instance_dict(value) or {}).get("__wrapped__")
            if wrapped is not None:
                todo.append((wrapped, depth + 1))


def reline(live: dict[str, Any], shifts: list[Shift], patched: set[int], plan: Plan) -> int:
    """Plan the line moves of every live function starting inside a shifted range."""
    if not shifts:
        return 0
    shifts = sorted(shifts)
    starts = [lo for lo, _, _ in shifts]
    count = 0
    for fn in _functions(live):
        if id(fn) in patched:
            continue
        line = fn.__code__.co_firstlineno
        i = bisect.bisect_right(starts, line) - 1
        if i >= 0 and shifts[i][0] <= line <= shifts[i][1]:
            plan.add(SetFunction(fn, {"__code__": shift_code(fn.__code__, shifts[i][2])}))
            patched.add(id(fn))
            count += 1
    return count
