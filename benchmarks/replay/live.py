"""One live process: a library's versions replayed into it with one tool.

    python -m benchmarks.replay.live DIST TOOL WORK OUT.json VERSION... [--oracle]

The first version is laid into WORK and imported; then, for each version, its files are
laid over the last (only changed files rewritten), the tool brings the loaded modules up
to date, and the version's own suite runs here, against the live package. Modules the
release deleted are forgotten (removed from ``sys.modules`` and from their package), as a
restart would: their file is gone and a fresh process cannot import them. Modules it
added are not imported by the harness: the updated code imports them when it needs them
(the import system's caches are invalidated first). With ``--oracle`` the same suite also
runs in a fresh interpreter on the same files after every step (twice: see run_fresh),
and, once non-Python files changed, once more on a copy holding the first release's
versions of them: the data the live process read when it started (see
`layout.with_old_data`).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import cache
from .catalogue import Library, library
from .layout import lay, with_old_data
from .outcomes import run_fresh, run_suite
from .updaters import TOOLS, StepLog, Updater


def replay(lib: Library, tool: Updater, work: Path, versions: tuple[str, ...],
           oracle: bool) -> list[dict[str, Any]]:
    """Replay `versions` of `lib` into this process with `tool`; one record per version."""
    sys.dont_write_bytecode = True
    os.chdir(work)
    sys.path.insert(0, str(work))
    steps: list[dict[str, Any]] = []
    data_since_first: set[str] = set()
    for i, version in enumerate(versions):
        started = time.perf_counter()
        changes = lay(lib, cache.unpacked(lib, version), work)
        importlib.invalidate_caches()
        log = StepLog()
        if i == 0:
            tool.start(work, lib.packages)
            _import_first(lib, work)
        else:
            _forget(changes.removed)
            log = tool.update([n for n in changes.changed if n in sys.modules])
        update_s = time.perf_counter() - started
        live = run_suite(lib, work)
        tool.settle()
        fresh, unstable = run_fresh(lib, work) if oracle else (None, None)
        if i > 0:
            data_since_first.update(changes.data_paths)
        old_data = (_fresh_with_old_data(lib, work, versions[0], sorted(data_since_first))
                    if oracle and data_since_first else None)
        steps.append({"version": version, "changes": asdict(changes), "log": asdict(log),
                      "update_s": round(update_s, 3), "live": live.outcomes,
                      "messages": live.messages,
                      "fresh": fresh, "unstable": unstable, "fresh_old_data": old_data})
    return steps


def _fresh_with_old_data(lib: Library, work: Path, first: str,
                         paths: list[str]) -> dict[str, str]:
    """The suite in a fresh interpreter on this release's code with the first release's
    data files: what a process that read the data when it started (gettext caches a
    catalogue for good) and runs the new code would give, so a live failure it repeats
    is the data's doing."""
    control = with_old_data(lib, work, cache.unpacked(lib, first), paths)
    try:
        outcomes, _ = run_fresh(lib, control, runs=1)
    finally:
        shutil.rmtree(control, ignore_errors=True)
    return outcomes


def _import_first(lib: Library, work: Path) -> None:
    """Import the library's top-level names and check they come from the work folder (a
    copy installed elsewhere, already imported, would make the replay meaningless)."""
    for name in lib.packages:
        module = importlib.import_module(name)
        where = getattr(module, "__file__", "") or ""
        if not where.startswith(str(work)):
            raise RuntimeError(f"{name} was imported from {where}, not from {work}")


def _forget(removed: list[str]) -> None:
    for name in removed:
        if sys.modules.pop(name, None) is not None:
            parent, _, leaf = name.rpartition(".")
            if parent in sys.modules and hasattr(sys.modules[parent], leaf):
                delattr(sys.modules[parent], leaf)


def main(argv: list[str]) -> None:
    oracle = "--oracle" in argv
    dist, tool_name, work, out, *versions = [a for a in argv if a != "--oracle"]
    lib = library(dist)
    tool = TOOLS[tool_name]()
    steps = replay(lib, tool, Path(work), tuple(versions), oracle)
    Path(out).write_text(json.dumps(steps))


if __name__ == "__main__":
    main(sys.argv[1:])
