"""Running a test of moving instances (or of the heap pass) twice: with the pass in C
(``hotswap._scan``) as built, and in Python only; and a dict key that makes a move fail
half-way through."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from hotswap import _heap

IN_C = pytest.mark.parametrize("in_c", [True, False], ids=["pass in C", "in Python"])


@contextlib.contextmanager
def heap_pass(in_c: bool) -> Iterator[None]:
    """The pass in C as built (`in_c`), or hotswap without it. The C case is skipped where
    ``hotswap._scan`` was not built or HOTSWAP_PURE_PYTHON is set."""
    if in_c and _heap._accel is None:
        pytest.skip("hotswap._scan was not built here, or HOTSWAP_PURE_PYTHON is set")
    with pytest.MonkeyPatch.context() as patch:
        if not in_c:
            patch.setattr(_heap, "_accel", None)
        yield


class Fragile:
    """A key whose hash raises once its dict is rebuilt (the first hash is its insertion)."""

    def __init__(self) -> None:
        self.hashed = 0

    def __hash__(self) -> int:
        self.hashed += 1
        if self.hashed > 1:
            raise RuntimeError("hashed once only")
        return 1
