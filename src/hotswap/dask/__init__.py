"""Update every process of a dask.distributed cluster as one transaction.

``hotswap.dask.update(client, mod)`` reads ``mod``'s current source on the client's
machine, ships it to the scheduler and every worker through the client's own connection,
and brings every process to it with ``hotswap.update_many`` semantics: live objects keep
their identity and state, actors run the new methods. Two phases: every process first
stages and plans the update (a dry run that changes nothing); if any refuses, none
applies. Then every process applies; if one fails, those that applied roll back.

Only imported by ``import hotswap.dask`` (``import hotswap`` never imports distributed).
Trust: code travels only as ``client.run`` calls, which the scheduler accepts from the
clients connected to it (with the cluster's TLS and credentials when it uses them);
hotswap opens no port of its own. See docs/dask.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from .._errors import UpdateError
from . import _ledger, _process
from ._bundle import read_bundle
from ._process import Outcome
from ._result import ClusterReport, ClusterUpdateError

__all__ = ["ClusterReport", "ClusterUpdateError", "rollback", "update"]

Target = ModuleType | str | os.PathLike[str]
_WAIT = 0.05  # seconds between asks while another update holds the cluster


def update(client: Any, target: Target, *, check: Callable[[], Any] | None = None,
           timeout: float = 120.0) -> ClusterReport:
    """Bring the client, the scheduler and every worker to `target`'s current source.

    `target` is a module, a dotted name, or a ``.py`` file or package folder (a package
    ships all its files; each process updates the modules it has loaded, as one
    transaction). `check`, if given, runs in every process after its change applied; if it
    raises anywhere, the update is undone everywhere. Raises ClusterUpdateError (nothing
    changed on any process) when a process refuses or fails; workers that die meanwhile
    are reported in the result's ``lost`` and come back on the new sources.
    """
    start = time.perf_counter()
    bundle = read_bundle(target)
    report = ClusterReport(bundle.root)
    with _holding(client, bundle.token, timeout, report) as shared:
        cluster = _Cluster(client, report, shared)
        with report.timed("prepare"):
            refusals = cluster.step("prepare", _process.prepare, bundle)
        if refusals:
            raise _error(report, "refused", refusals, "no process changed")
        with report.timed("apply"):
            failures = cluster.step("apply", _process.apply, bundle, check)
        if failures:
            undone = cluster.undo(bundle.token)
            raise _error(report, "failed while applying", failures, undone)
        with report.timed("commit"):
            files, load, report.generation = client.run_on_scheduler(
                _ledger.commit, bundle.token, bundle.root, bundle.files, bundle.load)
            report.notes += _publish(client, files, load)
    report.duration = time.perf_counter() - start
    return report


def rollback(client: Any, module: ModuleType | str, *, timeout: float = 120.0) -> ClusterReport:
    """Undo the last cluster update that shipped `module`, on every process (the ones that
    applied it replay their undo logs; workers that joined later are updated back to the
    previous sources). Raises UpdateError when no such update is left."""
    start = time.perf_counter()
    name = module.__name__ if isinstance(module, ModuleType) else str(module)
    report = ClusterReport(name, action="rolled back")
    found = client.run_on_scheduler(_ledger.last, name)
    if found is None:
        raise UpdateError(f"no cluster update of {name!r} left to roll back", module=name)
    token, report.module, previous = found
    with _holding(client, token, timeout, report) as shared:
        failures = _Cluster(client, report, shared).step("rollback", _process.revert,
                                                         token, previous)
        files, load, report.generation = client.run_on_scheduler(_ledger.forget, token)
        report.notes += _publish(client, files, load)
    report.duration = time.perf_counter() - start
    if failures:
        raise _error(report, "could not be rolled back", failures, "the others were")
    return report


class _Cluster:
    """The processes of one update: the workers, the scheduler (unless it runs in the
    client's process, as a LocalCluster's does) and the client, each stepped in turn."""

    def __init__(self, client: Any, report: ClusterReport, shared: bool) -> None:
        self.client = client
        self.report = report
        self.scheduler = client.scheduler.address
        self.workers: list[str] | None = None  # None: every worker the scheduler knows
        self.shared = shared  # a LocalCluster's scheduler runs in the client's process

    def step(self, label: str, func: Callable[..., Outcome], *args: Any) -> dict[str, str]:
        """Run `func` in every process still in the update; answer address -> reason for
        the processes that refused or failed. Workers run it in parallel, the client
        last, and not at all in the apply step once another process failed (it would
        only run the new code until the undo)."""
        answers: dict[str, Outcome | BaseException] = {}
        with ThreadPoolExecutor(1) as pool:  # the scheduler's part meanwhile
            scheduler = None if self.shared else pool.submit(
                _guard, self.client.run_on_scheduler, func, *args)
            answers.update(self.client.run(func, *args, workers=self.workers,
                                           on_error="return"))
            if scheduler is not None:
                answers[self.scheduler] = scheduler.result()
        reasons = self._read(label, answers)
        if not (reasons and label == "apply"):
            reasons.update(self._read(label, {"client": _guard(func, *args)}))
        return reasons

    def _read(self, label: str, answers: dict[str, Outcome | BaseException]
              ) -> dict[str, str]:
        reasons: dict[str, str] = {}
        for address, answer in answers.items():
            role = _role(address, self.scheduler, self.shared)
            if isinstance(answer, OSError | TimeoutError) and role == "worker":
                self.report.lost[address] = f"lost during {label}: {_why(answer)}"
                continue
            if isinstance(answer, BaseException):
                reasons[address] = _why(answer)
                continue
            if answer.error is not None:
                reasons[address] = answer.error
            self.report.roles[address] = role
            if label != "prepare" or address not in self.report.reports:
                self.report.reports[address] = answer.reports
            if answer.placed:
                self.report.placed[address] = answer.placed
        if "client" not in answers:
            self.workers = [a for a, r in self.report.roles.items() if r == "worker"]
        return reasons

    def undo(self, token: str) -> str:
        """Undo update `token` wherever it applied; say how that went."""
        answers = dict(self.client.run(_process.undo, token, workers=self.workers,
                                       on_error="return"))
        if not self.shared:
            answers[self.scheduler] = _guard(self.client.run_on_scheduler,
                                             _process.undo, token)
        answers["client"] = _guard(_process.undo, token)
        # a worker that died meanwhile holds nothing to undo: not stuck
        stuck = {a: (_why(o) if isinstance(o, BaseException) else o.error)
                 for a, o in answers.items()
                 if not (isinstance(o, OSError) and a in (self.workers or ()))
                 and (isinstance(o, BaseException) or o.error is not None)}
        if not stuck:
            return "the processes that had applied it rolled back"
        return "rolling back failed on " + "; ".join(f"{a}: {w}" for a, w in stuck.items())


def _guard(func: Callable[..., Outcome], *args: Any) -> Outcome | BaseException:
    try:
        return func(*args)
    except Exception as exc:  # the scheduler is gone, or a bug: a reason, not a crash
        return exc


def _role(address: str, scheduler: str, shared: bool) -> str:
    if address == "client":
        return "client+scheduler" if shared else "client"
    return "scheduler" if address == scheduler else "worker"


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _error(report: ClusterReport, what: str, reasons: dict[str, str],
           outcome: str) -> ClusterUpdateError:
    listed = "\n".join(f"  {address}: {why}" for address, why in reasons.items())
    return ClusterUpdateError(
        f"cluster update of {report.module!r} {what} on {len(reasons)} process(es); "
        f"{outcome}:\n{listed}", module=report.module, reasons=reasons, report=report)


def _publish(client: Any, files: _ledger.Files, load: tuple[str, ...]) -> list[str]:
    """Register the worker plugin with the cluster's current sources, so a worker that
    joins later gets them before its first task; answer notes for workers it failed on."""
    from ._plugin import NAME, SourcesPlugin

    if not files:
        client.unregister_worker_plugin(NAME)
        return []
    answers = client.register_plugin(SourcesPlugin(files, load), name=NAME) or {}
    return [f"worker {a} could not be brought to the current sources: "
            f"{answer.get('exception', answer)}"
            for a, answer in answers.items()
            if isinstance(answer, dict) and answer.get("status") == "error"]


@contextmanager
def _holding(client: Any, token: str, timeout: float,
             report: ClusterReport) -> Iterator[bool]:
    """One cluster update at a time, across clients (see `_ledger.acquire`). Yields
    whether the scheduler runs in this process (a LocalCluster's does): that process is
    then stepped once, as the client."""
    deadline = time.monotonic() + timeout
    with report.timed("lock"):
        while True:
            other, where = client.run_on_scheduler(_ledger.acquire, token, timeout)
            if other is None:
                break
            if time.monotonic() > deadline:
                raise UpdateError(f"another cluster update ({other}) held the cluster "
                                  f"for {timeout:.0f} s")
            time.sleep(_WAIT)
    try:
        yield where == _process.identity()
    finally:
        client.run_on_scheduler(_ledger.release, token)

