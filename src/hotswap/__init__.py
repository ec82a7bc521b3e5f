"""hotswap: change a running program's code without restarting it or losing its state.

``hotswap.update(mod)`` brings every live function, class and instance that came from
``mod`` to the module's new source, keeping their identities; a broken source changes
nothing. See the README for the guarantees and the limits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from . import _sources
from ._engine import generation, rollback, run, set_history_limit, transaction
from ._errors import UpdateError
from ._report import Report
from ._watch import Watcher, resume_in_spawned_worker

_sources.install()
resume_in_spawned_worker()

__all__ = ["Report", "UpdateError", "Watcher", "generation", "plan", "rollback", "set_history_limit",
           "update", "update_many"]
__version__ = "0.1.0"


def update(module: ModuleType | str, *, check: Callable[[], Any] | None = None) -> Report:
    """Bring the live program to `module`'s current source file.

    `module` is a module object or its dotted name. If `check` is given it runs after the
    change is applied; if it raises, the update is undone and UpdateError raised.
    Raises UpdateError (changing nothing) when the new source cannot be applied.
    """
    return run(module, check=check)


def plan(module: ModuleType | str) -> Report:
    """What `update` would do, as a report, without changing the live program."""
    return run(module, dry_run=True)


def update_many(modules: Sequence[ModuleType | str], *,
                check: Callable[[], Any] | None = None) -> list[Report]:
    """Update several modules as one transaction, each before the modules importing it.

    If any of them cannot be applied (or `check` raises), none is. Returns one report per
    module, in the order given.
    """
    return transaction(modules, check=check)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext hotswap``: update changed modules before each cell (IPython is only
    imported by this path)."""
    from ._ipython import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from ._ipython import unload

    unload(ipython)
