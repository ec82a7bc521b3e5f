"""A counterexample a property test once found, kept as a test of its own that runs only
that example (one test per counterexample, so that each is reported on its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st


def as_test(found: Any, *, base: settings, histories: Callable[[], st.SearchStrategy[Any]],
            replay: Callable[[Any, Any], None]) -> Callable[..., None]:
    """The property ``replay(modules, history)`` over `histories()` as a test that runs
    only `found`, under the property's own settings `base`."""
    @settings(base, phases=[Phase.explicit])
    @example(history=found)
    @given(history=histories())
    def test(modules: Any, history: Any) -> None:
        replay(modules, history)
    return test
