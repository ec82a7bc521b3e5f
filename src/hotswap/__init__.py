"""hotswap: change a running program's code without restarting it or losing its state.

``hotswap.update(mod)`` brings every live function, class and instance that came from
``mod`` to the module's new source, keeping their identities; a broken source changes
nothing. See the README for the guarantees and the limits.

Importing hotswap only starts keeping the sources of modules (cheap: a stat per loaded
module); the engine itself is imported on first use, so a process that never updates pays
almost nothing.
"""

from __future__ import annotations

import os

# Read first, before anything else is imported (see _frozen); the old name stays for tests.
from ._frozen import AT_IMPORT as _FROZEN_AT_IMPORT  # noqa: F401
from . import _sources

TYPE_CHECKING = False  # typing itself is not imported: it costs more than all the rest
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any
    from types import ModuleType

    from ._errors import UpdateError
    from ._frameworks import Adapter
    from ._report import Report
    from ._watch import Watcher

_sources.install()
if os.environ.get("HOTSWAP_WATCH"):  # a worker whose parent process was watching
    from ._watch import resume_in_spawned_worker

    resume_in_spawned_worker()

__all__ = ["Adapter", "Report", "UpdateError", "Watcher", "generation", "plan", "prepare",
           "register_adapter", "rollback", "set_history_limit", "unregister_adapter", "update",
           "update_many"]
__version__ = "0.1.0"

_LAZY = {"Report": "._report", "UpdateError": "._errors", "Watcher": "._watch",
         "Adapter": "._frameworks"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hotswap' has no attribute {name!r}")


def update(module: ModuleType | str, *, check: Callable[[], Any] | None = None) -> Report:
    """Bring the live program to `module`'s current source file.

    `module` is a module object or its dotted name. If `check` is given it runs after the
    change is applied, on the live program (other threads already run the new code while
    it runs); if it raises, the update is undone and UpdateError raised. Raises
    UpdateError (changing nothing) when the new source cannot be applied.
    """
    from ._engine import run

    return run(module, check=check)


def prepare(modules: Iterable[ModuleType | str] | None = None) -> int:
    """Get ready to update `modules` (module objects or dotted names; None: every module
    of the program's own, loaded from outside the standard library and site-packages)
    before the first edit, so that the first `update` costs what later ones do: load the
    engine and parse the source each module was built from, which the first update would
    otherwise do. Changes nothing else. Returns how many modules are ready.

    For a program that calls `update` itself; a `Watcher` (and ``python -m hotswap run``,
    ``%load_ext hotswap``) does it on a thread of its own as it starts.
    """
    from ._warm import prepare as _prepare

    return _prepare(modules)


def plan(module: ModuleType | str) -> Report:
    """What `update` would do, as a report, without changing the live program."""
    from ._engine import run

    return run(module, dry_run=True)


def update_many(modules: Sequence[ModuleType | str], *,
                check: Callable[[], Any] | None = None) -> list[Report]:
    """Update several modules as one transaction, each before the modules importing it.

    If any of them cannot be applied (or `check` raises), none is. Returns one report per
    module, in the order given.
    """
    from ._engine import transaction

    return transaction(modules, check=check)


def rollback(module: ModuleType | str) -> Report:
    """Undo the last applied update of `module`; call again to go further back."""
    from ._engine import rollback as _rollback

    return _rollback(module)


def generation(module: ModuleType | str) -> int:
    """How many updates of `module` are applied now (each rollback counts one down)."""
    from ._engine import generation as _generation

    return _generation(module)


def set_history_limit(limit: int) -> None:
    """How many applied updates per module `rollback` can undo (default 8)."""
    from ._engine import set_history_limit as _set

    _set(limit)


def register_adapter(adapter: Adapter) -> None:
    """Teach hotswap what your own framework derives from definitions (see
    docs/frameworks.md): `adapter` is a `hotswap.Adapter` subclass's instance, used while
    its ``module`` is imported."""
    from ._frameworks import register

    register(adapter)


def unregister_adapter(adapter: Adapter) -> None:
    from ._frameworks import unregister

    unregister(adapter)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext hotswap``: update changed modules before each cell (IPython is only
    imported by this path)."""
    from ._ipython import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from ._ipython import unload

    unload(ipython)
