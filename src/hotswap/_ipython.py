"""``%load_ext hotswap``: bring changed user modules up to date before each IPython cell.

A drop-in for ``%autoreload 2`` with hotswap's guarantees: functions get their new code
through every reference, classes keep their identity, instances keep their state,
unchanged statements do not run again, and a broken source changes nothing (its error is
printed, with file and line, and the cell runs on the old code).

Watched are the *user modules*: those loaded from ``.py`` files outside the standard
library and site-packages, including the ones imported after the extension was loaded.
Checking them costs one ``stat`` per file before each cell.

``%hotswap`` shows the status; ``%hotswap on|off`` resumes or pauses the updates;
``%hotswap quiet|verbose`` hides or shows the one-line note about each applied update
(errors are always shown); ``%hotswap trust PATH`` applies files under PATH even when
the ownership rule would refuse them.

This module is imported only by ``load_ipython_extension``: importing hotswap never
imports IPython.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
import weakref
from collections import deque
from types import ModuleType
from typing import Any

from ._errors import UpdateError
from ._report import Report
from ._sources import REGISTRY, source_path
from ._trust import Trust
from ._watch import Watcher

log = logging.getLogger("hotswap")

MAGIC = "hotswap"
USAGE = ("%hotswap [on | off | quiet | verbose | trust PATH]\n"
         "  (no argument)  show the status: on/off, watched modules, last updates and errors\n"
         "  on / off       resume / pause updating changed modules before each cell\n"
         "  quiet          do not print a note for applied updates (errors are still printed)\n"
         "  verbose        print a one-line note for each applied update (the default)\n"
         "  trust PATH     apply files under PATH even when the ownership rule refuses them")

_NEVER = ("__main__", "__mp_main__")  # the running script / notebook: never re-run in place
_SELF = __name__.rpartition(".")[0]  # hotswap does not update itself while it runs
_LIBRARY_DIRS = ("site-packages", "dist-packages")

class UserModules(Watcher):
    """A Watcher over every user module, those imported later included.

    The base class re-scans ``sys.modules`` only when it grew; this one remembers which
    files are library files, so a re-scan costs a dictionary look-up per module rather
    than a ``realpath``.
    """

    def __init__(self) -> None:
        self._library: dict[str, bool] = {}  # path -> is a library file
        super().__init__([])

    def _wanted(self, name: str, module: ModuleType) -> str | None:
        if name in _NEVER or name == _SELF or name.startswith(_SELF + "."):
            return None
        path = source_path(module)
        if path is None:
            return None
        library = self._library.get(path)
        if library is None:
            real = os.path.realpath(path)
            library = REGISTRY.is_library(real) or any(
                part in _LIBRARY_DIRS for part in real.split(os.sep))
            self._library[path] = library
        return None if library else path

    @property
    def modules(self) -> list[str]:
        """Names of the watched modules, sorted."""
        return sorted(set(self.files.values()))


class _Silenced(logging.Filter):
    """Drops the watcher's own log records while the extension prints them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


class Extension:
    """The state of the extension in one shell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.enabled = True
        self.verbose = True
        self.watcher = UserModules()
        self.updates: deque[tuple[float, Report]] = deque(maxlen=5)
        self.failures: deque[tuple[float, UpdateError]] = deque(maxlen=5)

    # -- before each cell -------------------------------------------------------------

    def pre_run_cell(self, info: Any = None) -> None:
        if not self.enabled:
            return
        try:
            reports, errors = self.check()
        except Exception:  # noqa: BLE001 - never stop the user's cell
            print("hotswap: internal error while checking for changes; the cell runs on "
                  "the code it had:\n" + traceback.format_exc(), file=sys.stderr)
            return
        for err in errors:
            print(f"hotswap: not applied, the cell runs on the old code: {err}",
                  file=sys.stderr)
        if self.verbose:
            for report in reports:
                lines = [report.summary(timing=False)]
                lines += [f"  left on the old version: {n}: {why}" for n, why in report.skipped]
                lines += [f"  note: {n}" for n in report.notes]
                print("\n".join(lines))

    def check(self) -> tuple[list[Report], list[UpdateError]]:
        """Apply what changed now; return the applied reports and the new errors."""
        seen = self.watcher.errors[-1] if self.watcher.errors else None
        # With no logging configured, the watcher's log.error would reach stderr through
        # logging's last resort as well as through our own print: say it once.
        silence = None if log.hasHandlers() else _Silenced()
        if silence is not None:
            log.addFilter(silence)
        try:
            reports = self.watcher.poll()
        finally:
            if silence is not None:
                log.removeFilter(silence)
        errors: list[UpdateError] = []
        for err in reversed(self.watcher.errors):
            if err is seen:
                break
            errors.append(err)
        errors.reverse()
        now = time.time()
        self.updates.extend((now, r) for r in reports)
        self.failures.extend((now, e) for e in errors)
        return reports, errors

    # -- %hotswap ---------------------------------------------------------------------

    def magic(self, line: str) -> None:
        """Update changed user modules before each cell, keeping identities and state.

        %hotswap [on | off | quiet | verbose | trust PATH]

          (no argument)  show the status: on/off, watched modules, last updates and errors
          on / off       resume / pause updating changed modules before each cell
          quiet          do not print a note for applied updates (errors are still printed)
          verbose        print a one-line note for each applied update (the default)
          trust PATH     apply files under PATH even when the ownership rule refuses them
        """
        words = line.split(maxsplit=1)
        command = words[0].lower() if words else ""
        if command == "":
            print(self.status())
        elif command in ("on", "off") and len(words) == 1:
            self.enabled = command == "on"
            print(f"hotswap: {command}")
        elif command in ("quiet", "verbose") and len(words) == 1:
            self.verbose = command == "verbose"
            print(f"hotswap: {command}")
        elif command == "trust" and len(words) == 2:
            path = os.path.expanduser(words[1].strip().strip("'\""))
            self.watcher.trust = Trust([*self.watcher.trust.trusted, path])
            print(f"hotswap: trusting {os.path.realpath(path)} "
                  "(files there changed from now on are applied)")
        else:
            from IPython.core.error import UsageError

            raise UsageError(f"unknown %hotswap argument {line.strip()!r}\n{USAGE}")

    def status(self) -> str:
        names = self.watcher.modules
        state = (f"on ({'verbose' if self.verbose else 'quiet'})" if self.enabled
                 else "off (%hotswap on resumes)")
        watched = f"{len(names)} user module{'' if len(names) == 1 else 's'} watched"
        lines = [f"hotswap: {state}; {watched}" + (", checked before each cell"
                                                   if self.enabled else "")]
        if names:
            shown = ", ".join(names[:10]) + (f", ... ({len(names) - 10} more)"
                                             if len(names) > 10 else "")
            lines.append(f"  watched: {shown}")
        if self.watcher.trust.trusted:
            lines.append(f"  trusted: {', '.join(self.watcher.trust.trusted)}")
        if self.updates:
            lines.append("last updates:")
            lines += [f"  {_clock(t)} {r.summary(timing=False).removeprefix('hotswap: ')}"
                      for t, r in self.updates]
        else:
            lines.append("no updates applied yet")
        if self.failures:
            lines.append("last errors (those modules kept their old code):")
            lines += [f"  {_clock(t)} {e}" for t, e in self.failures]
        return "\n".join(lines)


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


_LOADED: weakref.WeakKeyDictionary[Any, Extension] = weakref.WeakKeyDictionary()


def load(shell: Any) -> Extension:
    """Register the pre-cell update and the ``%hotswap`` magic (idempotent)."""
    ext = _LOADED.get(shell)
    if ext is not None:
        return ext
    ext = Extension(shell)
    shell.events.register("pre_run_cell", ext.pre_run_cell)
    shell.register_magic_function(ext.magic, "line", MAGIC)
    _LOADED[shell] = ext
    loaded = getattr(getattr(shell, "extension_manager", None), "loaded", ())
    if {"autoreload", "IPython.extensions.autoreload"} & set(loaded):
        print("hotswap: %autoreload is loaded too; turn it off (%autoreload 0) so that "
              "modules are updated in place rather than reloaded", file=sys.stderr)
    return ext


def unload(shell: Any) -> None:
    """Remove the pre-cell update and the ``%hotswap`` magic."""
    ext = _LOADED.pop(shell, None)
    if ext is None:
        return
    try:
        shell.events.unregister("pre_run_cell", ext.pre_run_cell)
    except ValueError:
        pass  # already removed by hand
    manager = shell.magics_manager
    if manager.magics["line"].get(MAGIC) == ext.magic:
        del manager.magics["line"][MAGIC]
        if getattr(manager.user_magics, MAGIC, None) == ext.magic:
            delattr(manager.user_magics, MAGIC)
