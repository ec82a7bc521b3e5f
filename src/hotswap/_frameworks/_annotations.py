"""Whether a type annotation names a class (``list[Item] | None`` names ``Item``)."""

from __future__ import annotations

import typing
from typing import Any


def mentions(annotation: Any, targets: set[int], depth: int = 0) -> bool:
    if id(annotation) in targets:
        return True
    if depth > 6:
        return False
    parts = [*typing.get_args(annotation), typing.get_origin(annotation)]
    return any(p is not None and mentions(p, targets, depth + 1) for p in parts)
