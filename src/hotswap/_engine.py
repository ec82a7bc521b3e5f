"""Updates as a straight line: sources -> diff -> stage -> plan -> apply -> report.

Each step hands the next plain data. Anything that goes wrong before `apply` leaves the
program untouched; anything that goes wrong during or after it (a hook, a failing check,
a later module of the same transaction) replays the undo logs. The undo logs of applied
updates are kept, boundedly, for `rollback`.
"""

from __future__ import annotations

import copy
import functools
import linecache
import sys
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from . import _plan, _report
from ._apply import LOCK, Applied, Stale, apply, undo_all
from ._diff import ModuleDiff, Segmentation, diff, segment, whole
from ._errors import UpdateError, _text, failure
from ._imports import dependency_order, follow_stars, layout_of, rebind_importers
from ._log import log
from ._ops import MISSING, Plan, SetItem, Undo
from ._plain import dataclass, field
from ._report import Report
from ._sources import REGISTRY, read_source, source_path
from ._stage import Staged, stage


_history_limit = 8
_REPLANS = 2  # plans made again when other threads keep changing what the heap walk found


class CheckFailed(UpdateError):
    """The user's check failed after the modules of a transaction applied (all undone):
    the edit as a whole is refused, not one module of it."""


@dataclass
class _HistoryEntry:
    """What rollback needs to undo one applied update."""

    undo: list[Undo]
    text: str | None
    segmentation: Segmentation | None


@dataclass
class _ModuleState:
    segmentation: Segmentation | None = None
    generation: int = 0
    history: deque[_HistoryEntry] = field(default_factory=lambda: deque(maxlen=_history_limit))
    owner: weakref.ref[ModuleType] | None = None


_STATES: dict[str, _ModuleState] = {}


def set_history_limit(limit: int) -> None:
    """How many applied updates per module `rollback` can undo (default 8).

    Each kept update holds its undo log, which keeps the previous code objects alive: the
    bound is what keeps memory flat over thousands of updates.
    """
    global _history_limit
    if limit < 0:
        raise ValueError("the history limit cannot be negative")
    with LOCK:
        _history_limit = limit
        for state in list(_STATES.values()):  # freeing a log may drop a module
            state.history = deque(state.history, maxlen=limit)


def _resolve(target: ModuleType | str) -> ModuleType:
    if isinstance(target, ModuleType):
        return target
    if isinstance(target, str):
        module = sys.modules.get(target)
        if module is None:
            raise UpdateError(f"module {target!r} is not imported", module=target)
        return module
    raise TypeError(f"expected a module or a dotted module name, not {type(target).__name__}")


def _state(name: str, module: ModuleType | None = None) -> _ModuleState:
    state = _STATES.get(name)
    if state is None:
        state = _STATES[name] = _ModuleState()
        if module is not None:
            # Parsed statements and undo logs are many objects: they go with the module.
            state.owner = weakref.ref(module, functools.partial(_forget, name))
    return state


def _undo_cells() -> frozenset[int]:
    """The ids of the cells the undo logs of earlier updates close over. A class this
    update replaces may sit in one (the value an undo puts back): rewriting it would gain
    nothing (undoing goes newest first, so the later update's own undo has put the old
    class back by then) and would keep the log, and every class it held, alive through
    this update's undo log, with each later update finding and rewriting more of them."""
    cells: list[Any] = []
    for state in list(_STATES.values()):
        for entry in list(state.history):
            for undo in entry.undo:
                fn = getattr(undo, "__func__", undo)
                cells += getattr(fn, "__closure__", None) or ()
    return frozenset(map(id, cells))


def _forget(name: str, ref: weakref.ref[ModuleType]) -> None:
    if not isinstance(_STATES, dict):  # the interpreter is shutting down: globals are None
        return
    state = _STATES.get(name)
    if state is not None and state.owner is ref:
        del _STATES[name]


def generation(target: ModuleType | str) -> int:
    """How many updates of the module are applied now (rollbacks count down)."""
    return _state(_resolve(target).__name__).generation


@dataclass
class _Done:
    """One module of a transaction, applied but not yet committed."""

    module: ModuleType
    path: str
    text: str
    baseline: str | None
    old: Segmentation | None
    new: Segmentation
    undo: list[Undo]
    report: Report
    # importers whose ``from this import X`` was rebound: module name -> the names
    followers: dict[str, set[str]] = field(default_factory=dict)
    riders: list[_Done] = field(default_factory=list)  # importers refreshed because of it
    followed: frozenset[str] = frozenset()  # its globals rebound by an earlier module


def _source(module: ModuleType, text: str | None = None) -> tuple[str, str]:
    name = module.__name__
    path = source_path(module)
    if path is None:
        raise UpdateError(f"module {name!r} has no Python source file to update from",
                          module=name)
    if text is not None:
        return path, text
    try:
        return path, read_source(path)
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise failure(name, path, exc, "cannot read the new source of") from exc


def _one(module: ModuleType, path: str, text: str, dry_run: bool,
         batch: Sequence[ModuleType], stale: frozenset[str] = frozenset()) -> _Done | Report:
    """Diff, stage, plan and (unless `dry_run`) apply one module of a transaction.

    `stale` are its globals an earlier module of the transaction rebound (see
    `stage`): with them, an unchanged source still runs the statements reading them."""
    start = time.perf_counter()
    name = module.__name__
    state = _state(name, module)
    report = Report(name, dry_run=dry_run, generation=state.generation)
    baseline = REGISTRY.baseline(name, module)
    if baseline is not None and text == baseline and not stale:
        report.notes.append(_report.SOURCE_UNCHANGED)
        return _finish(report, start)
    old = _baseline_segmentation(state.segmentation, baseline, path)
    if old is None:
        report.notes.append(_report.BASELINE_UNKNOWN)
    try:
        module_diff = diff(old, text, path)
    except SyntaxError as exc:
        raise failure(name, path, exc, "cannot compile the new source of") from exc
    staged, module_diff = _stage_or_whole(module, path, module_diff, stale, report)
    outcome = _plan_and_apply(module, path, module_diff, staged, report, old is not None,
                              stale, dry_run, batch)
    if isinstance(outcome, Report):
        return _finish(outcome, start)
    applied, report, followers = outcome
    if applied.inside:
        report.notes.append(_report.applied_inside(applied.inside))
    if applied.stalled:
        report.notes.append(_report.stalled(*applied.stalled))
    undo = applied.undo
    undo.insert(0, staged.handed.restore)  # undone last: decorators had set them before it all
    report.duration = time.perf_counter() - start
    return _Done(module, path, text, baseline, old, module_diff.new, undo, report, followers,
                 followed=stale)


def _baseline_segmentation(kept: Segmentation | None, baseline: str | None,
                           path: str) -> Segmentation | None:
    """The segmentation of the source the module was built from: the one kept, if it is
    of that text, else parsed again (None: the baseline is unknown or does not parse)."""
    if kept is not None and baseline is not None and kept.text == baseline:
        return kept
    if baseline is None:
        return None
    try:
        return segment(baseline, path)
    except SyntaxError:
        return None


def _plan_and_apply(module: ModuleType, path: str, module_diff: ModuleDiff, staged: Staged,
                    report: Report, baseline_known: bool, stale: frozenset[str],
                    dry_run: bool, batch: Sequence[ModuleType]
                    ) -> Report | tuple[Applied, Report, dict[str, set[str]]]:
    """Plan the update and apply it: planned again (from a copy of the report as staging
    left it) when another thread made objects the heap walk missed, up to `_REPLANS`
    times. A dry run returns its report once planned."""
    before = copy.deepcopy(report)  # what planning starts from, each time it runs
    for attempt in range(_REPLANS + 1):
        if attempt:
            report = copy.deepcopy(before)
        plan, followers = _planned(module, path, module_diff, staged, report,
                                   baseline_known, stale)
        if dry_run:
            staged.restore()
            report.notes.extend(_report.followers_not_staged(followers))
            return report
        plan.seal()
        try:
            applied = apply(plan, [m.__dict__ for m in batch], stale_ok=attempt == _REPLANS)
        except Stale:  # another thread made objects the heap walk missed: walk again
            del plan  # before the next walk, which must not see what this one holds
            continue
        except Exception as exc:
            staged.restore()
            raise failure(module.__name__, path, exc,
                          "applying the update failed for") from exc
        break
    if attempt:
        report.notes.append(_report.replanned(attempt + 1, attempt == _REPLANS))
    return applied, report, followers


def _stage_or_whole(module: ModuleType, path: str, module_diff: ModuleDiff, stale: frozenset[str],
                    report: Report) -> tuple[Staged, ModuleDiff]:
    """Stage the changed statements; when that fails, the whole module (see `whole`).

    Running only what changed is the fast path, not the contract: a statement may fail on
    the live globals (a value the program has since changed, a name a later statement
    rebinds) where a fresh import of the new source succeeds. Then every statement runs,
    in order, in staging, and the update is planned from that, identities kept. Only a
    source that fails that way too is refused, with the error a fresh import would give.
    """
    name = module.__name__
    verdict: list[bool] = []
    try:
        return stage(module, path, module_diff, stale, verdict=verdict), module_diff
    except UpdateError:
        raise
    except (Exception, SystemExit) as exc:  # a module that exits while staging is broken too
        if module_diff.old is None or isinstance(exc, SyntaxError) or any(verdict):
            # (a __future__ change; or a failure a fresh import has too, see `_fresh`:
            # running the unchanged statements again would only repeat their effects)
            raise failure(name, path, exc, "the new source failed while staging") from exc
        first = f"{type(exc).__name__}: {_text(exc)}"
    full = whole(module_diff)
    try:
        staged = stage(module, path, full, stale, whole=True)
    except UpdateError:
        raise
    except (Exception, SystemExit) as exc:
        raise failure(name, path, exc, "the new source failed while staging") from exc
    report.warnings.append(_report.whole_module_ran(first, staged.for_report.again))
    return staged, full


def _planned(module: ModuleType, path: str, module_diff: ModuleDiff, staged: Staged, report: Report,
             baseline_known: bool, stale: frozenset[str]) -> tuple[Plan, dict[str, set[str]]]:
    """The plan of one module's update (and the importers that follow its rebound names),
    from what staging produced: made again when the heap changed before it could apply."""
    name = module.__name__
    try:
        plan = _plan.build(module, module_diff, staged, report, baseline_known=baseline_known,
                           kept=_undo_cells)
    except UpdateError:
        staged.restore()
        raise
    except (Exception, SystemExit) as exc:
        staged.restore()
        raise failure(name, path, exc, "the new source failed while staging") from exc
    # Names a module it star-imports from changed, and names its own source stopped
    # binding (a star import may give them now): each takes what a fresh import binds.
    dropped = _dropped(name, report) if module_diff.old is not None else frozenset()
    if stale or dropped:
        layout = layout_of(module, [n for s in module_diff.new.stmts for n in s.nodes])
        for alias, (before, after) in follow_stars(module, stale | dropped, plan,
                                                   layout).items():
            if alias in dropped:
                report.removed.remove(f"{name}.{alias}")
            if before is after:
                continue  # kept: a star import gives what its own statement gave
            if after is MISSING:
                report.removed.append(f"{name}.{alias}")
            else:
                (report.added if before is MISSING else report.rebound).append(
                    f"{name}.{alias}")
                if before is not MISSING:
                    plan.rebound[alias] = (before, after)
    report.rerun.extend(staged.for_report.rerun)
    report.unchanged = module_diff.unchanged - staged.for_report.refreshed
    # Modules of the same batch are rebound too: their unchanged `from a import X` does
    # not run again, and their own staging (after this one is applied) sees the new X.
    followers = rebind_importers(name, plan.rebound, plan, module.__dict__)
    # (a star importer follows later, at its own turn: it is named in a note then)
    planned = {(id(op.container), op.key) for op in plan.ops if type(op) is SetItem}
    report.rebound.extend(f"{m}.{a}" for m, names in followers.items() for a in sorted(names)
                          if (id(getattr(sys.modules.get(m), "__dict__", None)), a) in planned)
    report.changed = not module_diff.empty or bool(stale and plan.ops)
    if not report.changed:
        report.notes.append(_report.NO_CODE_CHANGED)
    return plan, followers


def _dropped(modname: str, report: Report) -> frozenset[str]:
    """The module's globals the plan removes, its source binding them no more."""
    prefix = f"{modname}."
    return frozenset(e[len(prefix):] for e in report.removed
                     if e.startswith(prefix) and "." not in e[len(prefix):])


def transaction(targets: Sequence[ModuleType | str], *, dry_run: bool = False,
                check: Callable[[], Any] | None = None,
                texts: dict[str, str] | None = None) -> list[Report]:
    """Update several modules as one: in dependency order, all of them or none.

    `texts` gives sources already read (by a watcher that verified a consistent
    snapshot), so the file is not read a second time.
    """
    with LOCK:
        modules = list({id(m): m for m in map(_resolve, targets)}.values())
        batch = _Batch(modules, {m.__name__: _source(m, (texts or {}).get(m.__name__))
                                 for m in modules})
        try:
            for name in batch.queue:  # grows with importers that must be refreshed
                path, text = batch.sources[name]
                result = _one(batch.by_name[name], path, text, dry_run, modules,
                              frozenset(batch.stale.pop(name, ())))
                if isinstance(result, Report):
                    batch.reports[name] = result
                    continue
                batch.add(name, result)
            if check is not None and batch.done:
                _check(check, batch.done)
        except BaseException:
            for done in reversed(batch.done):
                undo_all(done.undo)
            raise
        for done in batch.done:
            _commit(done, rider=done.module.__name__ in batch.cause)
        return [batch.reports[m.__name__] for m in modules]


class _Batch:
    """The modules of one transaction, in the order they are updated: the modules asked
    for, in dependency order, and the importers refreshed because of them (*riders*)."""

    def __init__(self, modules: list[ModuleType], sources: dict[str, tuple[str, str]]
                 ) -> None:
        self.sources = sources  # module name -> (path, text)
        self.by_name = {m.__name__: m for m in modules}
        self.queue = [m.__name__ for m in modules]
        if len(modules) > 1:
            self.queue = dependency_order([(m.__name__, sources[m.__name__][1],
                                            getattr(m, "__package__", None))
                                           for m in modules])
        self.done: list[_Done] = []
        self.reports: dict[str, Report] = {}
        self.stale: dict[str, set[str]] = {}  # module -> globals rebound by an earlier one
        # an importer refreshed outside the batch (a rider) -> the module of the batch
        # whose update caused it, followed back to the first: it carries the rider's undo
        self.cause: dict[str, _Done] = {}

    def add(self, name: str, result: _Done) -> None:
        """`name` was applied: queue the importers that follow the names it rebound."""
        self.done.append(result)
        self.reports[name] = result.report
        if name in self.cause:
            self.cause[name].riders.append(result)
        queue = self.queue
        for other, names in result.followers.items():
            if other in queue[:queue.index(name) + 1]:
                continue  # already updated in this transaction (an import cycle)
            if other not in self.by_name and not _ride(other, self.sources, self.by_name):
                continue
            if other not in queue:
                queue.append(other)
                self.cause[other] = self.cause.get(name, result)
                # before the modules of the batch that import it: they must read it
                # refreshed, as a fresh import of the program would
                here = queue.index(name) + 1
                queue[here:] = _in_dependency_order(queue[here:], self.sources, self.by_name)
            self.stale.setdefault(other, set()).update(names)


def _check(check: Callable[[], Any], done: list[_Done]) -> None:
    """Run the user's check on the updated program; its failure undoes the transaction."""
    try:
        check()
    except Exception as exc:
        updated = ", ".join(repr(one.module.__name__) for one in done)
        raise CheckFailed(
            f"{done[-1].path}: the check after updating {updated} failed "
            f"({type(exc).__name__}: {exc}); the update was rolled back",
            module=done[-1].module.__name__, filename=done[-1].path) from exc


def _in_dependency_order(names: list[str], sources: dict[str, tuple[str, str]],
                         by_name: dict[str, ModuleType]) -> list[str]:
    return dependency_order([(n, sources[n][1], getattr(by_name[n], "__package__", None))
                             for n in names])


def _ride(name: str, sources: dict[str, tuple[str, str]],
          by_name: dict[str, ModuleType]) -> bool:
    """Add an importer outside the transaction, to run again the statements reading the
    names it follows, from the source it was built from (not a newer file on disk: only
    the modules asked for are updated). False when that source is unknown."""
    module = sys.modules.get(name)
    path = source_path(module) if isinstance(module, ModuleType) else None
    text = REGISTRY.known_text(name) if path is not None else None
    if module is None or path is None or text is None:
        return False
    by_name[name] = module
    sources[name] = (path, text)
    return True


def _commit(done: _Done, rider: bool = False) -> None:
    """Make an applied module the new baseline. A rider (an importer refreshed because of
    another module) keeps its generation: its undo goes with the update that caused it."""
    name = done.module.__name__
    state = _state(name)
    if done.riders:
        done.report.notes.extend(
            f"{r.module.__name__} ran again "
            f"{len(r.report.rerun) + len(r.report.functions)} statement(s) reading names "
            f"it imported ({', '.join(sorted(r.followed))})" + _followed(r.report)
            for r in done.riders)
    if done.report.changed and not rider:
        undo = done.undo + [u for r in done.riders for u in r.undo]
        state.history.append(_HistoryEntry(undo, done.baseline, done.old))
        state.generation += 1
    state.segmentation = done.new
    REGISTRY.set_text(name, done.path, done.text)
    linecache.checkcache(done.path)
    done.report.generation = state.generation
    _log(done.report)


def _followed(report: Report) -> str:
    """What an importer's own names did as it followed (a star import's names)."""
    done = [*(f"{n} rebound" for n in report.rebound), *(f"{n} added" for n in report.added),
            *(f"{n} removed" for n in report.removed)]
    return f"; {', '.join(done)}" if done else ""


def run(target: ModuleType | str, *, dry_run: bool = False,
        check: Callable[[], Any] | None = None) -> Report:
    if not dry_run:
        return transaction([target], check=check)[0]
    try:
        return transaction([target], dry_run=True)[0]
    except UpdateError as exc:
        name = exc.module or getattr(target, "__name__", str(target))
        return Report(str(name), dry_run=True, error=str(exc))


def rollback(target: ModuleType | str) -> Report:
    """Undo the last applied update of a module (call again to go further back)."""
    start = time.perf_counter()
    with LOCK:
        module = _resolve(target)
        name = module.__name__
        state = _state(name)
        if not state.history:
            raise UpdateError(f"no applied update of {name!r} left to roll back "
                              f"(history keeps the last {_history_limit})", module=name)
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
    _log(report)
    return report


def _log(report: Report) -> None:
    log.info("%s", report)
    for warning in report.warnings:
        log.warning("hotswap: %s: %s", report.module, warning)
