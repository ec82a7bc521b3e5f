"""What runs inside each process of the cluster: the client, the scheduler, every worker.

Each step is one plain function the client calls through ``client.run`` (workers) or
``client.run_on_scheduler``; each answers an `Outcome` (plain data) and never raises for a
refusal, so the client sees every process's answer, not just the first error. This module
imports nothing from ``distributed``: the functions receive the worker object when
distributed passes it (``dask_worker``).

Where a worker's modules come from: every file a cluster update ships is written to a
folder of hotswap's own inside the worker's local directory (``<local_directory>/hotswap``),
put first on ``sys.path``, like ``client.upload_file`` does with the local directory itself.
A module the worker already imported (from that folder or from its own installation) is
updated in place from the shipped text; the modules the client named are imported if the
worker has not imported them yet. A scheduler in a process of its own is treated the same
way: it unpickles the task graphs, so it imports the user's modules too. The client's
process (and a LocalCluster's scheduler, which runs in it) only updates what it already
imported: its files are the source.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._engine import rollback as _rollback
from .._engine import transaction
from .._errors import UpdateError, failure
from .._report import Report
from .._sources import REGISTRY
from ._bundle import Bundle

FOLDER = "hotswap"  # inside the worker's local directory
_KEEP = 16  # cluster updates each process can still undo


@dataclass
class Outcome:
    """One process's answer to one step."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    reports: list[Report] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)  # modules imported for the first time
    error: str | None = None  # the refusal or failure, with file and line
    duration: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.placed) or any(r.changed for r in self.reports)


@dataclass
class _Record:
    """What one applied cluster update changed in this process, to undo it."""

    updated: list[str] = field(default_factory=list)  # engine updates, in applied order
    imported: list[str] = field(default_factory=list)
    files: dict[str, bytes | None] = field(default_factory=dict)  # path -> before (None: new)


_RECORDS: OrderedDict[str, _Record] = OrderedDict()


def identity(dask_scheduler: Any = None) -> tuple[str, int]:
    """(host, pid) of this process."""
    return socket.gethostname(), os.getpid()


def folder(worker: Any) -> str:
    """hotswap's folder of this worker, first on sys.path (made on first use)."""
    path = os.path.join(worker.local_directory, FOLDER)
    os.makedirs(path, exist_ok=True)
    if path not in sys.path:
        sys.path.insert(0, path)
    return path


def _worker(server: Any) -> Any:
    """`server` if it is a worker or a separate scheduler process (distributed hands the
    scheduler to a function's ``dask_worker`` argument too), else None. The scheduler
    unpickles the task graphs, so it must import the user's modules as workers do."""
    from distributed import Scheduler, Worker

    return server if isinstance(server, Worker | Scheduler) else None


def _loaded(bundle: Bundle) -> list[str]:
    return [name for name in bundle.files if name in sys.modules]


def _fresh(bundle: Bundle, worker: Any) -> list[str]:
    """The modules a worker must import: those the client named or has loaded."""
    return [] if worker is None else [n for n in bundle.load if n not in sys.modules]


def _texts(bundle: Bundle) -> dict[str, str]:
    return {name: text for name, (_rel, text) in bundle.files.items()}


def prepare(bundle: Bundle, dask_worker: Any = None) -> Outcome:
    """Phase one: stage and plan every module of `bundle` this process would change, as a
    dry run that changes nothing; the outcome's error is this process's refusal."""
    start = time.perf_counter()
    outcome, dask_worker = Outcome(), _worker(dask_worker)
    try:
        for name in _fresh(bundle, dask_worker):  # to be imported: a compile is all we can try
            rel, text = bundle.files[name]
            try:
                compile(text, rel, "exec")
            except SyntaxError as exc:
                raise failure(name, rel, exc, "cannot compile the new source of") from exc
        loaded = _loaded(bundle)
        if loaded:
            outcome.reports = transaction(loaded, dry_run=True, texts=_texts(bundle))
    except (UpdateError, ImportError) as exc:
        outcome.error = str(exc)
    outcome.duration = time.perf_counter() - start
    return outcome


def apply(bundle: Bundle, check: Callable[[], Any] | None = None,
          dask_worker: Any = None) -> Outcome:
    """Phase two: apply `bundle` here, remembering how to undo it (`undo`). A failure
    leaves this process as it was and comes back as the outcome's error."""
    start = time.perf_counter()
    outcome, record, dask_worker = Outcome(), _Record(), _worker(dask_worker)
    try:
        if dask_worker is not None:
            record.files = _write(folder(dask_worker), bundle)
        loaded = _loaded(bundle)
        if loaded:
            outcome.reports = transaction(loaded, check=check, texts=_texts(bundle))
            record.updated = [r.module for r in outcome.reports if r.changed]
        for name in _fresh(bundle, dask_worker):
            importlib.import_module(name)
            record.imported.append(name)
            outcome.placed.append(name)
            if REGISTRY.known_text(name) != bundle.files[name][1]:  # found elsewhere first
                outcome.reports += transaction([name], check=check, texts=_texts(bundle))
                record.updated.append(name)
    except BaseException as exc:  # noqa: B036 - whatever happened, undo what was done
        _undo(record)
        outcome.error = _describe(exc)
        if not isinstance(exc, Exception):
            raise
    else:
        _RECORDS[bundle.token] = record
        while len(_RECORDS) > _KEEP:
            _RECORDS.popitem(last=False)
    outcome.duration = time.perf_counter() - start
    return outcome


def undo(token: str, dask_worker: Any = None) -> Outcome:
    """Undo the cluster update `token` applied here (nothing if it never applied here)."""
    start = time.perf_counter()
    outcome = Outcome()
    record = _RECORDS.pop(token, None)
    if record is not None:
        try:
            outcome.reports = _undo(record)
        except Exception as exc:
            outcome.error = _describe(exc)
    outcome.duration = time.perf_counter() - start
    return outcome


def revert(token: str, previous: dict[str, tuple[str, str]],
           dask_worker: Any = None) -> Outcome:
    """Roll back cluster update `token`: undo it where it applied; a process that joined
    later (and got that version from the plugin) is updated to the `previous` texts."""
    if token in _RECORDS:
        return undo(token, dask_worker)
    bundle = Bundle("", previous, (), token)
    if not any(name in sys.modules for name in previous):
        return Outcome()
    outcome = apply(bundle, None, dask_worker)
    _RECORDS.pop(token, None)
    return outcome


def install(files: dict[str, tuple[str, str]], load: tuple[str, ...], worker: Any) -> None:
    """The worker plugin's setup: bring this worker to the cluster's current sources
    before it runs a task (a worker that joined later, or one the nanny restarted)."""
    bundle = Bundle("", files, load, "install")
    stale = [n for n in _loaded(bundle) if REGISTRY.known_text(n) != files[n][1]]
    fresh = _fresh(bundle, worker)
    if not stale and not fresh:
        _write(folder(worker), bundle)
        return
    outcome = apply(bundle, None, worker)
    _RECORDS.pop("install", None)
    if outcome.error is not None:
        raise UpdateError(f"hotswap could not bring this worker to the cluster's sources: "
                          f"{outcome.error}")


def _write(where: str, bundle: Bundle) -> dict[str, bytes | None]:
    """Write the bundle's files under `where`; answer what each file held before. The
    cached bytecode is dropped with the old text: it could match a same-size rewrite."""
    before: dict[str, bytes | None] = {}
    for rel, text in bundle.files.values():
        path = os.path.join(where, *rel.split("/"))
        data = text.encode("utf-8")
        try:
            with open(path, "rb") as f:
                old: bytes | None = f.read()
        except FileNotFoundError:
            old = None
        if old == data:
            continue
        before[path] = old
        _put(path, data)
    importlib.invalidate_caches()
    return before


def _put(path: str, data: bytes | None) -> None:
    cached = importlib.util.cache_from_source(path)
    if os.path.exists(cached):
        os.remove(cached)
    if data is None:
        os.remove(path)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = f"{path}.hotswap-{os.getpid()}"
    with open(temp, "wb") as f:
        f.write(data)
    os.replace(temp, path)  # a worker importing it meanwhile reads one version or the other


def _undo(record: _Record) -> list[Report]:
    """Put this process back as it was before `record`: engine rollbacks, imports
    forgotten, files restored, newest first."""
    reports = [_rollback(name) for name in reversed(record.updated)]
    for name in reversed(record.imported):
        sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if parent and parent in sys.modules and hasattr(sys.modules[parent], child):
            delattr(sys.modules[parent], child)
    for path, old in record.files.items():
        _put(path, old)
    importlib.invalidate_caches()
    return reports


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UpdateError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
