"""One update as a straight line: sources -> diff -> stage -> plan -> apply -> report.

Each step hands the next plain data. Anything that goes wrong before `apply` leaves the
program untouched; anything that goes wrong during or after it (a failing check) replays
the undo log. The undo logs of applied updates are kept, boundedly, for `rollback`.
"""

from __future__ import annotations

import linecache
import logging
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import _plan
from ._apply import LOCK, apply, undo_all
from ._diff import Segmentation, diff, segment
from ._errors import UpdateError, failure
from ._ops import Undo
from ._report import Report
from ._sources import REGISTRY, read_source, source_path
from ._stage import stage

log = logging.getLogger("hotswap")

DEFAULT_HISTORY = 8


@dataclass
class _Applied:
    """What rollback needs to undo one applied update."""

    undo: list[Undo]
    text: str | None
    segmentation: Segmentation | None


@dataclass
class _ModuleState:
    segmentation: Segmentation | None = None
    generation: int = 0
    history: deque[_Applied] = field(default_factory=lambda: deque(maxlen=DEFAULT_HISTORY))


_STATES: dict[str, _ModuleState] = {}


def _resolve(target: ModuleType | str) -> ModuleType:
    if isinstance(target, ModuleType):
        return target
    if isinstance(target, str):
        module = sys.modules.get(target)
        if module is None:
            raise UpdateError(f"module {target!r} is not imported", module=target)
        return module
    raise TypeError(f"update() takes a module or a dotted module name, not {type(target).__name__}")


def _state(name: str) -> _ModuleState:
    state = _STATES.get(name)
    if state is None:
        state = _STATES[name] = _ModuleState()
    return state


def generation(target: ModuleType | str) -> int:
    """How many updates of the module are applied now (rollbacks count down)."""
    return _state(_resolve(target).__name__).generation


def run(target: ModuleType | str, *, dry_run: bool = False,
        check: Callable[[], Any] | None = None) -> Report:
    start = time.perf_counter()
    with LOCK:
        module = _resolve(target)
        name = module.__name__
        path = source_path(module)
        if path is None:
            raise UpdateError(f"module {name!r} has no Python source file to update from",
                              module=name)
        state = _state(name)
        report = Report(name, dry_run=dry_run, generation=state.generation)
        try:
            text = read_source(path)
        except (OSError, SyntaxError, UnicodeDecodeError) as exc:
            raise failure(name, path, exc, "cannot read the new source of") from exc
        baseline = REGISTRY.baseline(name, module)
        if baseline is not None and text == baseline:
            report.notes.append("source unchanged: nothing to do")
            return _finish(report, start)
        old = state.segmentation
        if old is None or baseline is None or old.text != baseline:
            old = None
            if baseline is not None:
                try:
                    old = segment(baseline, path)
                except SyntaxError:
                    old = None
        if old is None:
            report.notes.append("the source this module was built from is unknown: every "
                                "statement was re-run in staging; identities were kept")
        try:
            d = diff(old, text, path)
        except SyntaxError as exc:
            raise failure(name, path, exc, "cannot compile the new source of") from exc
        try:
            staged = stage(module, path, d)
            plan = _plan.build(module, d, staged, report, baseline_known=old is not None)
        except UpdateError:
            raise
        except Exception as exc:
            raise failure(name, path, exc, "the new source failed while staging") from exc
        report.rerun.extend(staged.rerun)
        report.changed = not d.empty
        if not report.changed:
            report.notes.append("no code changed (comments, formatting or layout only)")
        if dry_run:
            return _finish(report, start)
        try:
            undo, inside = apply(plan, [module.__dict__])
        except Exception as exc:
            raise failure(name, path, exc, "applying the update failed for") from exc
        if inside:
            report.notes.append("applied while other threads were still running the "
                                f"module's code ({'; '.join(inside)}): those calls may "
                                "finish on a mix of old and new code")
        if check is not None:
            try:
                check()
            except Exception as exc:
                undo_all(undo)
                err = UpdateError(f"{path}: the check after updating {name!r} failed "
                                  f"({type(exc).__name__}: {exc}); the update was rolled back",
                                  module=name, filename=path)
                raise err from exc
        if report.changed:
            state.history.append(_Applied(undo, baseline, old))
            state.generation += 1
        state.segmentation = d.new
        REGISTRY.set_text(name, path, text)
        linecache.checkcache(path)
        report.generation = state.generation
        return _finish(report, start)


def rollback(target: ModuleType | str) -> Report:
    """Undo the last applied update of a module (call again to go further back)."""
    start = time.perf_counter()
    with LOCK:
        module = _resolve(target)
        name = module.__name__
        state = _state(name)
        if not state.history:
            raise UpdateError(f"no update of {name!r} to roll back", module=name)
        applied = state.history.pop()
        undo_all(applied.undo)
        state.generation -= 1
        state.segmentation = applied.segmentation
        path = source_path(module)
        if path is not None and applied.text is not None:
            REGISTRY.set_text(name, path, applied.text)
        report = Report(name, changed=True, generation=state.generation)
        report.notes.append(f"rolled back to generation {state.generation}")
        return _finish(report, start)


def _finish(report: Report, start: float) -> Report:
    report.duration = time.perf_counter() - start
    log.info("%s", report)
    return report
