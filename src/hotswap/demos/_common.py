"""What every demo shares: a scratch module on disk, headings, and the verdict."""

from __future__ import annotations

import importlib
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType


def heading(text: str) -> None:
    print(f"\n== {text} ==")


def indented(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


@contextmanager
def scratch_module(name: str, source: str) -> Iterator[tuple[ModuleType, Path]]:
    """`source` written as module `name` in a temporary directory and imported; all of it
    is undone afterwards. A stale .pyc must never shadow a rewritten file (same size, same
    mtime second), so no bytecode is written meanwhile."""
    saved_flag = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    with tempfile.TemporaryDirectory(prefix="hotswap-demo-") as tmp:
        path = Path(tmp) / f"{name}.py"
        path.write_text(source)
        sys.path.insert(0, tmp)
        importlib.invalidate_caches()
        sys.modules.pop(name, None)
        try:
            yield importlib.import_module(name), path
        finally:
            sys.path.remove(tmp)
            sys.modules.pop(name, None)
            sys.dont_write_bytecode = saved_flag


def guarded(play: Callable[[], int]) -> int:
    """Run a demo body. Still a smoke test when the engine breaks in a way no check
    foresaw: an unexpected error is printed and the demo fails."""
    try:
        return play()
    except Exception:
        traceback.print_exc()
        print("\n== FAILED: the demo raised an unexpected error (traceback above) ==")
        return 1


def verdict(failures: list[str], checks: int) -> int:
    """Print the closing line; 0 if every claim the demo printed was true."""
    if failures:
        heading(f"FAILED: {len(failures)} of {checks} checks")
        for claim in failures:
            print(f"  not true: {claim}")
        return 1
    heading(f"Done: all {checks} checks passed")
    return 0
