"""Making one framework object become another of its type, in place."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def transplant(old: Any, new: Any, keep: Iterable[str] = ()) -> Callable[[], None]:
    """Give `old` the instance state of `new` (but the attributes named in `keep`, which
    stay `old`'s own: what other statements added to it since, like a group's
    subcommands). Whoever holds `old` then sees the new object. Returns the undo."""
    state = old.__dict__
    before = dict(state)
    kept = {k: state[k] for k in keep if k in state}
    state.clear()
    state.update(new.__dict__)
    state.update(kept)

    def undo() -> None:
        state.clear()
        state.update(before)
    return undo
