"""The tools that bring a live process to new sources: hotswap and its peers.

Each tool does what its user would do after saving files: hotswap calls ``update_many``
on the changed modules; ``importlib.reload`` reloads them in dependency order; IPython's
autoreload runs ``ModuleReloader.check`` as ``%autoreload 2`` does before a cell; jurigged
refreshes each changed file's ``CodeFile`` as its watcher does. Each returns a StepLog:
the refusals (errors) and the report entries that say what stayed old.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .order import dependency_order


@dataclass
class StepLog:
    """What a tool said about one step: refusals, report entries, full reports."""

    refusals: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)  # left old, notes and warnings
    reports: list[str] = field(default_factory=list)  # the full text, for the record


class Updater:
    """The interface: `start` before the library is imported, `settle` after each test
    run (a tool that notices files by time records what is loaded now), `update` after
    new files are laid, with the loaded modules whose files changed."""

    name = "none"

    def start(self, work: Path, packages: tuple[str, ...]) -> None:
        self.work = work

    def settle(self) -> None:
        pass

    def update(self, changed: list[str]) -> StepLog:
        raise NotImplementedError


class Hotswap(Updater):
    """One ``update_many`` transaction; if it is refused, each module alone (in
    dependency order) so the refusal of one does not hold back the others, as a watcher
    retrying file by file would. Every refusal is recorded."""

    name = "hotswap"

    def start(self, work: Path, packages: tuple[str, ...]) -> None:
        super().start(work, packages)
        import hotswap  # noqa: F401  (keeps each module's source from its import on)

    def update(self, changed: list[str]) -> StepLog:
        import hotswap

        log = StepLog()
        if not changed:
            return log
        try:
            reports = hotswap.update_many(changed)
        except hotswap.UpdateError as exc:
            log.refusals.append(f"update_many: {exc}")
            reports = []
            for name in dependency_order(changed):
                try:
                    reports.append(hotswap.update(name))
                except hotswap.UpdateError as one:
                    log.refusals.append(f"{name}: {one}")
        for report in reports:
            log.reports.append(str(report))
            log.entries.extend(f"{report.module}: left old: {name}: {why}"
                               for name, why in report.skipped)
            log.entries.extend(f"{report.module}: note: {note}" for note in report.notes)
            log.entries.extend(f"{report.module}: warning: {w}" for w in report.warnings)
        return log


class Reload(Updater):
    """``importlib.reload`` of each changed module, leaves first."""

    name = "importlib.reload"

    def update(self, changed: list[str]) -> StepLog:
        log = StepLog()
        for name in dependency_order(changed):
            try:
                importlib.reload(sys.modules[name])
            except Exception as exc:
                log.refusals.append(f"{name}: {type(exc).__name__}: {exc}")
        return log


class Autoreload(Updater):
    """IPython's ``ModuleReloader`` in ``%autoreload 2`` mode (every module, by mtime)."""

    name = "autoreload"

    def start(self, work: Path, packages: tuple[str, ...]) -> None:
        super().start(work, packages)
        from IPython.extensions.autoreload import ModuleReloader

        self.reloader: Any = ModuleReloader()
        self.reloader.enabled = True
        self.reloader.check_all = True
        self.reloader.hide_errors = True

    def settle(self) -> None:
        # before the next cell: modules imported by this one get their mtimes recorded
        self.reloader.check(check_all=True, do_reload=False)

    def update(self, changed: list[str]) -> StepLog:
        before = dict(self.reloader.failed)
        self.reloader.check(check_all=True)
        log = StepLog()
        for path, mtime in self.reloader.failed.items():
            if before.get(path) != mtime:
                log.refusals.append(f"{path}: reload failed")
        return log


class Jurigged(Updater):
    """jurigged: sources registered as modules import, ``CodeFile.refresh()`` on change."""

    name = "jurigged"

    def start(self, work: Path, packages: tuple[str, ...]) -> None:
        super().start(work, packages)
        from jurigged import registry  # type: ignore[import-untyped]

        roots = tuple(str(work / p) for p in packages)
        self.registry: Any = registry
        registry.auto_register(filter=lambda filename: filename.startswith(roots))

    def update(self, changed: list[str]) -> StepLog:
        log = StepLog()
        for name in changed:
            filename = sys.modules[name].__file__
            codefile = self.registry.get(filename)
            if codefile is None:
                log.refusals.append(f"{name}: not registered")
                continue
            try:
                codefile.refresh()
            except Exception as exc:
                log.refusals.append(f"{name}: {type(exc).__name__}: {exc}")
        return log


TOOLS: dict[str, type[Updater]] = {
    tool.name: tool for tool in (Hotswap, Reload, Autoreload, Jurigged)}


def installed(name: str) -> bool:
    """Whether the tool `name` can run here (the peers are optional)."""
    module = {"autoreload": "IPython", "jurigged": "jurigged"}.get(name)
    if module is None:
        return True
    return importlib.util.find_spec(module) is not None
