"""One update's worth of random edits, and how a history of them reads, shared by the
class-model strategies."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

M = TypeVar("M")
Edit = Callable[[Any, Any], "str | None"]


def draw_edits(draw: Callable[[st.SearchStrategy[Any]], Any], model: M, edits: Sequence[Edit],
               normalize: Callable[[M], Any], max_edits: int, tries: int) -> tuple[M, list[str]]:
    """A copy of `model` with 1..`max_edits` edits applied, and their labels. An edit that
    does not apply to the model returns None and is skipped, `tries` times per edit wanted,
    so that a small model still gets its edits without drawing forever."""
    new = copy.deepcopy(model)
    labels: list[str] = []
    wanted = draw(st.integers(1, max_edits))
    for _ in range(tries * wanted):
        label = draw(st.sampled_from(list(edits)))(draw, new)
        if label is not None:
            labels.append(label)
            normalize(new)
            if len(labels) == wanted:
                break
    return new, labels


def versions_text(sources: Sequence[str], labels: Sequence[Sequence[str]]) -> str:
    """Every version's source under a line naming the edits that made it: what a failing
    example shows, rather than the model's data."""
    parts = [f"--- v0 ---\n{sources[0]}"]
    for i in range(1, len(sources)):
        parts.append(f"--- v{i} ({'; '.join(labels[i - 1])}) ---\n{sources[i]}")
    return "\n".join(parts)
