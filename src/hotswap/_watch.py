"""Watching files and applying what changed: at a safe point (``poll``), on a thread
(``start``), or when a signal arrives (``on_signal``), in this process and its workers.

An unchanged file costs one ``stat``. A changed stat leads to a read and a content hash,
so a touch or an editor's save of identical bytes does nothing. Editors that save by
writing a new file and renaming it over the old one change the inode, which the stat
notices. A file caught mid-write (its stat moved during the read) is left for the next
poll. All modules changed at once are updated as one transaction, in dependency order. A
broken file is logged and remembered: its module (and the changed modules importing it)
keep their old code and wait, retried with every later change, while the other modules
apply.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal without its enums
import importlib.util
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from . import _apply
from ._engine import CheckFailed, transaction
from ._imports import imported
from ._log import log
from ._errors import UpdateError
from ._plain import dataclass
from ._report import Report
from ._sources import REGISTRY, source_path
from ._trust import Trust
from ._warm import Warmer

try:  # what hashlib.blake2b is, without hashlib's import of OpenSSL (3 ms)
    from _blake2 import blake2b
except ImportError:  # a build without it
    from hashlib import blake2b


ENV = "HOTSWAP_WATCH"  # how a Watcher reaches spawned worker processes
Target = ModuleType | str | os.PathLike[str]


@dataclass
class _File:
    module: str
    key: tuple[int, ...] | None  # (mtime_ns, size, inode, mode, owner) at the last look
    digest: bytes | None  # content hash of the version the module runs (or last failed)
    refused: bytes | None = None  # content hash last refused by the ownership rule


def _stat_key(path: str) -> tuple[int, ...] | None:
    """What a stat says about a file (through symlinks): a change to any part means look
    again. Mode and owner are in it so that fixing a refused file's permissions is noticed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode, st.st_uid)


def _decode(data: bytes) -> str | None:
    try:
        return importlib.util.decode_source(data)
    except (SyntaxError, UnicodeDecodeError):
        return None


def _digest(data: bytes) -> bytes:
    return blake2b(data, digest_size=16).digest()


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# An editor that saves in place empties the file, then writes it: a poll between the two
# reads an empty module, which is valid Python and would remove every name. A file found
# empty within this many nanoseconds of its last write is taken at a later poll; one left
# empty longer was emptied on purpose.
EMPTY_SETTLES_NS = 500_000_000


def _being_written(data: bytes, key: tuple[int, ...]) -> bool:
    """Whether `data`, just read, is a file an editor has emptied to write it again."""
    return not data and time.time_ns() - key[0] < EMPTY_SETTLES_NS


class Watcher:
    """Keeps modules in step with their files.

    `targets` are modules (objects or dotted names), packages (all their submodules,
    including those imported later) or directories (every module loaded from inside).
    A changed file is applied only if the ownership rule of `Trust` allows it or it lies
    under one of the `trust` paths.
    """

    def __init__(self, targets: Iterable[Target] | Target, *,
                 check: Callable[[], Any] | None = None,
                 trust: Iterable[str | os.PathLike[str]] = (),
                 trust_policy: Trust | None = None) -> None:
        if isinstance(targets, (ModuleType, str, os.PathLike)):
            targets = [targets]
        self._names: list[str] = []
        self._dirs: list[str] = []
        # a list now: mypy keeps ModuleType in the union past the isinstance above
        for t in targets:  # type: ignore[union-attr]
            if isinstance(t, ModuleType):
                self._names.append(t.__name__)
            elif isinstance(t, os.PathLike) or (isinstance(t, str) and os.sep in t):
                self._dirs.append(os.path.realpath(os.fspath(t)) + os.sep)
            elif isinstance(t, str) and os.path.isdir(t) and t not in sys.modules:
                self._dirs.append(os.path.realpath(t) + os.sep)
            else:
                self._names.append(str(t))
        self.check = check
        self.trust = trust_policy or Trust(trust)
        self.reports: deque[Report] = deque(maxlen=100)
        self.errors: deque[UpdateError] = deque(maxlen=100)
        self._files: dict[str, _File] = {}
        self._pending: dict[str, tuple[str, bytes, str | None]] = {}
        self._seen_modules = -1
        self._thread: threading.Thread | None = None
        self._interval: float | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._poll_lock = threading.Lock()
        # The engine loaded now and the watched modules' baselines parsed on a thread of
        # their own, so that the first update costs what later ones do (see _warm).
        self._warmer = Warmer()
        self._refresh()

    # -- which files ------------------------------------------------------------------

    def _wanted(self, name: str, module: ModuleType) -> str | None:
        path = source_path(module)
        if path is None:
            return None
        if any(name == n or name.startswith(n + ".") for n in self._names):
            return path
        if self._dirs:
            real = os.path.realpath(path)
            inside = [d for d in self._dirs if real.startswith(d)]
            # A directory never drags in the standard library or site-packages (a venv
            # inside a project, say) unless that library directory is itself the target.
            if inside and (not REGISTRY.is_library(real)
                           or any(REGISTRY.is_library(d) for d in inside)):
                return path
        return None

    def _refresh(self) -> None:
        """Pick up modules imported since the last look (cheap: only when sys.modules grew)."""
        if len(sys.modules) == self._seen_modules:
            return
        self._seen_modules = len(sys.modules)
        fresh = []
        for name, module in list(sys.modules.items()):
            if module is None or not isinstance(module, ModuleType):
                continue
            path = self._wanted(name, module)
            if path is None or path in self._files:
                continue
            self._files[path] = self._initial(name, module, path)
            fresh.append(module)
        self._warmer.add(fresh)

    @staticmethod
    def _initial(name: str, module: ModuleType, path: str) -> _File:
        key = _stat_key(path)
        try:
            data = _read(path)
        except OSError:
            return _File(name, key, None)
        baseline = REGISTRY.baseline(name, module)
        if baseline is not None and baseline != _decode(data):
            return _File(name, None, None)  # edited before we started: the first poll applies
        return _File(name, key, _digest(data))

    def ready(self, timeout: float | None = None) -> bool:
        """Wait until the engine is loaded and the watched modules' baselines are parsed
        (begun when the watcher was made, and for modules it picks up later, on a thread
        of their own); whether they are. Never needed: an update made sooner does what is
        left itself."""
        return self._warmer.ready(timeout)

    @property
    def files(self) -> dict[str, str]:
        """Watched source files and the module each one is."""
        self._refresh()
        return {path: f.module for path, f in self._files.items()}

    # -- polling ----------------------------------------------------------------------

    def poll(self) -> list[Report]:
        """Check every watched file now and apply what changed; return the reports.

        Call it from a game loop or a service's main loop at a point where no handler is
        half-way through its work: that is the safe point.
        """
        with self._poll_lock:
            self._refresh()
            changed: dict[str, tuple[str, bytes, str | None]] = {}
            for path, entry in self._files.items():
                key = _stat_key(path)
                if key is None or key == entry.key:
                    continue  # unchanged, or missing for a moment while an editor saves
                real = os.path.realpath(path)
                try:
                    data = _read(path)
                except OSError:
                    continue
                if _stat_key(path) != key or os.path.realpath(path) != real:
                    continue  # written or relinked while we read: take it at the next poll
                if _being_written(data, key):
                    continue  # emptied to be written again: take it at a later poll
                entry.key = key
                digest = _digest(data)
                if digest == entry.digest:
                    continue  # touched, or saved with identical content
                refusal = self.trust.refusal(real)
                if refusal is not None:
                    if digest != entry.refused:  # said once per version
                        self._refuse(path, entry, digest, refusal)
                    continue
                entry.refused = None
                changed[path] = (entry.module, digest, _decode(data))
            if not changed:
                return []
            # A refused module (and the modules of the batch importing it) waits for its
            # next change, retried with every later one; the others apply now.
            batch = {**self._pending, **changed}
            reports, self._pending, held = self._apply(batch)
            for path, (_, digest, _) in batch.items():
                self._files[path].digest = digest  # not retried until something changes
            changed_reports = [r for r in reports if r.changed]
            for r in changed_reports:
                r.notes.extend(held)
            self.reports.extend(changed_reports)
            return changed_reports

    def _apply(self, batch: dict[str, tuple[str, bytes, str | None]]
               ) -> tuple[list[Report], dict[str, tuple[str, bytes, str | None]], list[str]]:
        """Apply `batch` (path: (module, digest, text)) as one transaction; when one module
        is refused, that module and those of the batch importing it are held back and the
        rest is tried again, so one refusal never stalls the modules that do not depend
        on it. Returns the reports, what is held back (pending), and a line per module
        held back saying why (each is also logged, every time)."""
        held: dict[str, tuple[str, bytes, str | None]] = {}
        why: list[str] = []
        batch = dict(batch)
        while batch:
            names = [m for m, _, _ in batch.values() if m in sys.modules]
            texts = {m: t for m, _, t in batch.values() if t is not None}
            try:
                return transaction(names, check=self.check, texts=texts), held, why
            except UpdateError as exc:
                log.error("hotswap: update refused, the old code keeps running: %s", exc)
                self.errors.append(exc)
                out = _held_with(batch, exc)
                for path in out:
                    held[path] = batch.pop(path)
                module = exc.module or "the edit"
                for path in out:
                    name = held[path][0]
                    reason = str(exc) if name == exc.module else \
                        f"it is linked by imports to {module}, whose update was refused"
                    why.append(f"held back: {name} keeps its old code ({reason}); "
                               "retried when a watched file changes")
                    if name != exc.module:
                        log.warning("hotswap: %s", why[-1])
        return [], held, why

    def _refuse(self, path: str, entry: _File, digest: bytes, why: str) -> None:
        err = UpdateError(f"{self.trust.describe(path)}: refused to apply, the old code keeps "
                          f"running: {why} (trust the path explicitly to allow it)",
                          module=entry.module, filename=path)
        log.error("hotswap: %s", err)
        self.errors.append(err)
        entry.refused = digest  # not said again until the file (or its mode) changes

    # -- background thread ------------------------------------------------------------

    def start(self, interval: float | None = 1.0) -> Watcher:
        """Poll on a daemon thread every `interval` seconds (None: only when woken by
        `on_signal`). Worker processes forked or spawned later keep watching too."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._interval = interval
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="hotswap-watcher", daemon=True)
        self._thread.start()
        _RUNNING.add(self)
        import json

        os.environ[ENV] = json.dumps({"names": self._names, "dirs": self._dirs,
                                      "interval": interval, "trust": self.trust.trusted})
        return self

    def stop(self) -> None:
        """End the background thread (and stop handing the watch to new workers)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        _RUNNING.discard(self)
        if not _RUNNING:
            os.environ.pop(ENV, None)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - a watcher thread must never die
                log.exception("hotswap: watcher poll failed")

    def on_signal(self, signum: int = getattr(_signal, "SIGHUP", _signal.SIGINT)) -> Watcher:
        """Update when `signum` arrives (SIGHUP by default): the handler only wakes the
        watcher thread, which applies the change at a quiet moment; nothing runs inside
        the signal handler itself. Starts the thread (signal-only) if it is not running."""
        import signal

        def handler(_signum: int, _frame: Any) -> None:
            self._wake.set()
        signal.signal(signum, handler)
        if not self.running:
            self.start(interval=None)
        return self

    # -- after fork --------------------------------------------------------------------

    def _restart_in_child(self) -> None:
        self._thread = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._poll_lock = threading.Lock()
        self.start(self._interval)


def _held_with(batch: dict[str, tuple[str, bytes, str | None]], exc: UpdateError
               ) -> list[str]:
    """The paths of `batch` a refusal holds back: the refused module and the modules of
    the batch linked to it by imports, either way and in turn (those importing it may
    use its new names; those it imports may have dropped the old names its old code
    still calls); every path when the refusal is not one module's (a failed check
    judges the edit as a whole)."""
    names = {path: name for path, (name, _, _) in batch.items()}
    if isinstance(exc, CheckFailed) or exc.module is None or exc.module not in names.values():
        return list(batch)
    links: dict[str, set[str]] = {name: set() for name in names.values()}
    for name, _, text in batch.values():
        module = sys.modules.get(name)
        if text is None or module is None:
            continue
        found = imported(text, getattr(module, "__package__", None))
        for other in links:
            if other != name and any(f == other or f.startswith(other + ".") for f in found):
                links[name].add(other)
                links[other].add(name)
    out = {exc.module}
    todo = [exc.module]
    while todo:
        for other in links[todo.pop()] - out:
            out.add(other)
            todo.append(other)
    return [path for path, name in names.items() if name in out]


_RUNNING: weakref.WeakSet[Watcher] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """Threads do not survive fork: restart every watcher that ran in the parent."""
    reinit = getattr(_apply.LOCK, "_at_fork_reinit", None)
    if reinit is not None:
        reinit()
    for watcher in list(_RUNNING):
        watcher._restart_in_child()


def resume_in_spawned_worker() -> Watcher | None:
    """In a worker process started by multiprocessing's spawn or forkserver method, start
    the watch its parent had running (handed over through the environment)."""
    spec = os.environ.get(ENV)
    mp = sys.modules.get("multiprocessing")
    # While a spawned worker imports its main module, parent_process() is not set yet,
    # but the process object is marked as still inheriting from its parent.
    worker = mp is not None and (
        mp.parent_process() is not None
        or getattr(mp.current_process(), "_inheriting", False))
    if not spec or not worker or _RUNNING:
        return None
    import json
    from pathlib import Path

    try:
        data = json.loads(spec)
        targets: list[Target] = [*data["names"], *(Path(d) for d in data["dirs"])]
        return Watcher(targets, trust=data.get("trust", ())).start(data["interval"])
    except (ValueError, KeyError, TypeError):
        log.warning("hotswap: ignoring a malformed %s", ENV)
        return None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
