"""Drawing one update's worth of random edits, shared by the class-model strategies."""

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
