"""What a call gives, as a value two programs' answers can be compared by: the live
program after an update and a fresh import of the new source must give equal outcomes,
a raised exception included (its type and message, not its identity)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def outcome(fn: Callable[..., Any], *args: Any,
            clean: Callable[[str], str] = str) -> tuple[Any, ...]:
    """``("ok", fn(*args))``, or ``("raised", type name, clean(message))``: a failure is
    compared, not hidden."""
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - a failure is compared, not hidden
        return ("raised", type(exc).__name__, clean(str(exc)))


def unmoduled(text: str) -> str:
    """`text` without module names: the live and the fresh module have different ones
    (Python 3.13 names a class with its module in some messages)."""
    return re.sub(r"\bhs_mod_\d+\.", "", text)
